package soap

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

const ct12 = "application/soap+xml; charset=utf-8"

// TestReadRequestRejects has one row per way a request can be refused. Each
// row is posted over real HTTP to a server that calls ReadRequest; the row
// checks the error kind the server got and the fault the client received.
func TestReadRequestRejects(t *testing.T) {
	valid := envelope(wsaHeaders(testAction), queryBody)
	deep := strings.Repeat("<a>", 10_000) + strings.Repeat("</a>", 10_000)
	many := "<list>" + strings.Repeat("<i/>", 2_000) + "</list>"
	var attrs strings.Builder
	for i := range 200 {
		attrs.WriteString(" a" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `="1"`)
	}
	include := func(href string) string {
		return `<x:Doc xmlns:x="urn:x"><xop:Include xmlns:xop="` + NSXOP + `" href="` + href + `"/></x:Doc>`
	}
	soap11 := `<soapenv:Envelope xmlns:soapenv="` + NSEnvelope11 + `"><soapenv:Body>` + queryBody + `</soapenv:Body></soapenv:Envelope>`

	tests := []struct {
		name        string
		contentType string
		body        string
		lim         Limits
		kind        error
		status      int
		code        string
		subcodes    []string
		detail      string // substring of the Detail element
		relatesTo   string
	}{
		{name: "SOAP 1.1 text/xml", contentType: "text/xml; charset=utf-8", body: soap11,
			kind: ErrVersion, status: 500, code: "{" + NSEnvelope11 + "}VersionMismatch"},
		{name: "SOAP 1.1 envelope as soap+xml", contentType: ct12, body: soap11,
			kind: ErrVersion, status: 500, code: "{" + NSEnvelope11 + "}VersionMismatch"},
		{name: "unknown envelope namespace", contentType: ct12, body: `<e:Envelope xmlns:e="urn:other"><e:Body><x/></e:Body></e:Envelope>`,
			kind: ErrVersion, status: 500, code: env12("VersionMismatch")},
		{name: "JSON", contentType: "application/json", body: `{"a":1}`,
			kind: ErrMediaType, status: 415, code: env12("Sender")},
		{name: "no content type", contentType: "", body: valid,
			kind: ErrMediaType, status: 415, code: env12("Sender")},
		{name: "SwA multipart type", contentType: `multipart/related; type="application/soap+xml"; boundary=b`, body: "--b\r\n\r\nx\r\n--b--",
			kind: ErrMediaType, status: 415, code: env12("Sender")},
		{name: "Latin-1 charset", contentType: "application/soap+xml; charset=iso-8859-1", body: valid,
			kind: ErrMediaType, status: 400, code: env12("Sender")},
		{name: "Latin-1 XML declaration", contentType: ct12, body: `<?xml version="1.0" encoding="ISO-8859-1"?>` + valid,
			kind: ErrMediaType, status: 400, code: env12("Sender")},
		{name: "not well-formed", contentType: ct12, body: strings.TrimSuffix(valid, ">"),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "mismatched tags", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a><b></a></b>"),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "invalid UTF-8", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a>\xff\xfe</a>"),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "undeclared entity", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a>&lol;</a>"),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "empty body", contentType: ct12, body: "",
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "text after root", contentType: ct12, body: valid + "trailing",
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "two roots", contentType: ct12, body: valid + valid,
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "duplicate attribute", contentType: ct12, body: envelope(wsaHeaders(testAction), `<a ID="1" ID="2"/>`),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "DOCTYPE", contentType: ct12, body: `<!DOCTYPE Envelope SYSTEM "http://evil.example/x.dtd">` + valid,
			kind: ErrForbiddenXML, status: 400, code: env12("Sender")},
		{name: "external entity", contentType: ct12, body: `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + envelope(wsaHeaders(testAction), "<a>&x;</a>"),
			kind: ErrForbiddenXML, status: 400, code: env12("Sender")},
		{name: "processing instruction", contentType: ct12, body: envelope(wsaHeaders(testAction), `<a><?php evil() ?></a>`),
			kind: ErrForbiddenXML, status: 400, code: env12("Sender")},
		{name: "XML declaration not first", contentType: ct12, body: `<!-- c --><?xml version="1.0"?>` + valid,
			kind: ErrForbiddenXML, status: 400, code: env12("Sender")},
		{name: "deep nesting", contentType: ct12, body: envelope(wsaHeaders(testAction), deep),
			kind: ErrLimit, status: 400, code: env12("Sender")},
		{name: "too many elements", contentType: ct12, body: envelope(wsaHeaders(testAction), many), lim: Limits{MaxElements: 1000},
			kind: ErrLimit, status: 400, code: env12("Sender")},
		{name: "too many attributes", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a"+attrs.String()+"/>"),
			kind: ErrLimit, status: 400, code: env12("Sender")},
		{name: "envelope too large", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a>"+strings.Repeat("x", 10_000)+"</a>"), lim: Limits{MaxEnvelope: 4096},
			kind: ErrTooLarge, status: 400, code: env12("Sender")},
		{name: "body too large", contentType: ct12, body: envelope(wsaHeaders(testAction), "<a>"+strings.Repeat("x", 10_000)+"</a>"), lim: Limits{MaxRequest: 4096},
			kind: ErrTooLarge, status: 400, code: env12("Sender")},
		{name: "root is not Envelope", contentType: ct12, body: queryBody,
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "no Body", contentType: ct12, body: `<env:Envelope xmlns:env="` + NSEnvelope + `"><env:Header/></env:Envelope>`,
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "Header after Body", contentType: ct12, body: `<env:Envelope xmlns:env="` + NSEnvelope + `"><env:Body>` + queryBody + `</env:Body><env:Header/></env:Envelope>`,
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "empty Body", contentType: ct12, body: envelope(wsaHeaders(testAction), ""),
			kind: ErrMalformed, status: 400, code: env12("Sender"), relatesTo: testMsgID},
		{name: "two Body children", contentType: ct12, body: envelope(wsaHeaders(testAction), queryBody+queryBody),
			kind: ErrMalformed, status: 400, code: env12("Sender"), relatesTo: testMsgID},
		{name: "Fault as request", contentType: ct12, body: envelope(wsaHeaders(testAction), `<env:Fault/>`),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "missing Action", contentType: ct12, body: envelope(`<wsa:MessageID>`+testMsgID+`</wsa:MessageID>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("MessageAddressingHeaderRequired")},
			detail: "wsa:Action", relatesTo: testMsgID},
		{name: "empty Action", contentType: ct12, body: envelope(`<wsa:Action> </wsa:Action><wsa:MessageID>`+testMsgID+`</wsa:MessageID>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("InvalidCardinality")}},
		{name: "duplicate Action", contentType: ct12, body: envelope(wsaHeaders(testAction)+`<wsa:Action>`+testAction41+`</wsa:Action>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("InvalidCardinality")},
			detail: "wsa:Action", relatesTo: testMsgID},
		{name: "Action from WS-Addressing 2004/08", contentType: ct12, body: envelope(`<a:Action xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">`+testAction+`</a:Action><wsa:MessageID>`+testMsgID+`</wsa:MessageID>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("MessageAddressingHeaderRequired")}},
		{name: "missing MessageID", contentType: ct12, body: envelope(`<wsa:Action>`+testAction+`</wsa:Action>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("MessageAddressingHeaderRequired")}, detail: "wsa:MessageID"},
		{name: "duplicate MessageID", contentType: ct12, body: envelope(wsaHeaders(testAction)+`<wsa:MessageID>urn:uuid:x</wsa:MessageID>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("InvalidCardinality")}},
		{name: "ReplyTo not anonymous", contentType: ct12, body: envelope(`<wsa:Action>`+testAction+`</wsa:Action><wsa:MessageID>`+testMsgID+`</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://attacker.example/</wsa:Address></wsa:ReplyTo>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("OnlyAnonymousAddressSupported")},
			detail: "wsa:ReplyTo", relatesTo: testMsgID},
		{name: "FaultTo not anonymous", contentType: ct12, body: envelope(wsaHeaders(testAction)+`<wsa:FaultTo><wsa:Address>http://attacker.example/</wsa:Address></wsa:FaultTo>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("OnlyAnonymousAddressSupported")}},
		{name: "ReplyTo without Address", contentType: ct12, body: envelope(`<wsa:Action>`+testAction+`</wsa:Action><wsa:ReplyTo/>`, queryBody),
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("InvalidEPR")}},
		{name: "action parameter differs from wsa:Action", contentType: ct12 + `; action="` + testAction41 + `"`, body: valid,
			kind: ErrAddressing, status: 400, code: env12("Sender"), subcodes: []string{wsa("InvalidAddressingHeader"), wsa("ActionMismatch")}, relatesTo: testMsgID},
		{name: "unknown mustUnderstand header", contentType: ct12, body: envelope(wsaHeaders(testAction)+`<x:Tracking xmlns:x="urn:vendor" env:mustUnderstand="true">1</x:Tracking>`, queryBody),
			kind: ErrNotUnderstood, status: 500, code: env12("MustUnderstand")},
		{name: "mustUnderstand not boolean", contentType: ct12, body: envelope(`<wsa:Action env:mustUnderstand="yes">`+testAction+`</wsa:Action>`, queryBody),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "two Security headers", contentType: ct12, body: envelope(wsaHeaders(testAction)+`<wsse:Security xmlns:wsse="`+NSSecurity+`"/><wsse:Security xmlns:wsse="`+NSSecurity+`"/>`, queryBody),
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "xop:Include to a file", contentType: ct12, body: envelope(wsaHeaders(testAction41), include("file:///etc/passwd")),
			kind: ErrXOP, status: 400, code: env12("Sender"), relatesTo: testMsgID},
		{name: "xop:Include to a URL", contentType: ct12, body: envelope(wsaHeaders(testAction41), include("http://evil.example/x")),
			kind: ErrXOP, status: 400, code: env12("Sender")},
		{name: "xop:Include with siblings", contentType: ct12, body: envelope(wsaHeaders(testAction41), `<x:Doc xmlns:x="urn:x">text<xop:Include xmlns:xop="`+NSXOP+`" href="cid:a"/></x:Doc>`),
			kind: ErrXOP, status: 400, code: env12("Sender")},
		{name: "two includes for one part", contentType: ct12, body: envelope(wsaHeaders(testAction41), `<x:L xmlns:x="urn:x">`+include("cid:a")+include("cid:a")+`</x:L>`),
			kind: ErrXOP, status: 400, code: env12("Sender")},
		{name: "multipart without boundary", contentType: `multipart/related; type="application/xop+xml"`, body: valid,
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "multipart SOAP 1.1 start-info", contentType: `multipart/related; type="application/xop+xml"; boundary=b; start-info="text/xml"`, body: "--b\r\n\r\n" + valid + "\r\n--b--",
			kind: ErrVersion, status: 500, code: "{" + NSEnvelope11 + "}VersionMismatch"},
		{name: "multipart with no parts", contentType: `multipart/related; type="application/xop+xml"; boundary=b`, body: "--b--\r\n",
			kind: ErrMalformed, status: 400, code: env12("Sender")},
		{name: "root part not XOP", contentType: `multipart/related; type="application/xop+xml"; boundary=b`, body: "--b\r\nContent-Type: text/plain\r\n\r\n" + valid + "\r\n--b--",
			kind: ErrMediaType, status: 400, code: env12("Sender")},
		{name: "unknown transfer encoding", contentType: `multipart/related; type="application/xop+xml"; boundary=b`, body: "--b\r\nContent-Type: application/xop+xml\r\nContent-Transfer-Encoding: x-gzip\r\n\r\n" + valid + "\r\n--b--",
			kind: ErrMediaType, status: 400, code: env12("Sender")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, results := captureServer(t, tc.lim)
			resp := post(t, url, tc.contentType, strings.NewReader(tc.body))
			res := <-results
			if !errors.Is(res.err, tc.kind) {
				t.Fatalf("server error = %v, want kind %v", res.err, tc.kind)
			}
			wf := readWireFault(t, resp)
			if wf.Status != tc.status {
				t.Errorf("status = %d, want %d", wf.Status, tc.status)
			}
			if wf.Code != tc.code {
				t.Errorf("code = %s, want %s", wf.Code, tc.code)
			}
			if strings.Join(wf.Subcodes, " ") != strings.Join(tc.subcodes, " ") {
				t.Errorf("subcodes = %v, want %v", wf.Subcodes, tc.subcodes)
			}
			if tc.detail != "" && (wf.Detail == nil || !strings.Contains(elementString(t, wf.Detail), tc.detail)) {
				t.Errorf("detail does not mention %q:\n%s", tc.detail, wf.Raw)
			}
			if tc.relatesTo != "" && wf.RelatesTo != tc.relatesTo {
				t.Errorf("RelatesTo = %q, want %q", wf.RelatesTo, tc.relatesTo)
			}
			if strings.HasPrefix(tc.code, "{"+NSEnvelope11) {
				if !strings.HasPrefix(wf.ContentType, "text/xml") || !strings.Contains(wf.Raw, "Upgrade") {
					t.Errorf("SOAP 1.1 sender must get a SOAP 1.1 fault with Upgrade; got %q\n%s", wf.ContentType, wf.Raw)
				}
				return
			}
			if !strings.HasPrefix(wf.ContentType, MediaSOAP12) {
				t.Errorf("content type = %q", wf.ContentType)
			}
			if wf.Lang != "en" || wf.Reason == "" {
				t.Errorf("reason %q lang %q", wf.Reason, wf.Lang)
			}
			wantAction := ActionSOAPFault
			if len(tc.subcodes) > 0 {
				wantAction = ActionAddressingFault
			}
			if wf.Action != wantAction {
				t.Errorf("fault action = %q, want %q", wf.Action, wantAction)
			}
		})
	}
}

// TestMustUnderstandFault checks the NotUnderstood header block SOAP 1.2
// §5.4.8 asks for.
func TestMustUnderstandFault(t *testing.T) {
	url, results := captureServer(t, Limits{})
	body := envelope(wsaHeaders(testAction)+`<x:Tracking xmlns:x="urn:vendor" env:mustUnderstand="1">1</x:Tracking>`, queryBody)
	resp := post(t, url, ct12, strings.NewReader(body))
	<-results
	wf := readWireFault(t, resp)
	nu := wf.Header.FindElement("./NotUnderstood")
	if nu == nil {
		t.Fatalf("no NotUnderstood header:\n%s", wf.Raw)
	}
	if got := qn(nu, nu.SelectAttrValue("qname", "")); got != "{urn:vendor}Tracking" {
		t.Errorf("NotUnderstood qname = %s", got)
	}
}

// TestLenientContentType: parameters left unquoted although they hold
// tspecials, as some senders do, are still understood.
func TestLenientContentType(t *testing.T) {
	url, results := captureServer(t, Limits{})
	resp := post(t, url, "application/soap+xml;charset=UTF-8;action="+testAction, strings.NewReader(envelope(wsaHeaders(testAction), queryBody)))
	if res := <-results; res.err != nil || resp.StatusCode != 200 {
		t.Fatalf("unquoted action: %v", res.err)
	}
	mtom := "--uuid:b1\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\n\r\n" + envelope(wsaHeaders(testAction), queryBody) + "\r\n--uuid:b1--\r\n"
	resp = post(t, url, `multipart/related; type="application/xop+xml"; boundary=uuid:b1; start-info="application/soap+xml"`, strings.NewReader(mtom))
	if res := <-results; res.err != nil || resp.StatusCode != 200 {
		t.Fatalf("unquoted boundary: %v", res.err)
	}
	resp = post(t, url, `application/soap+xml; action=urn:a:b; action=urn:c:d`, strings.NewReader(envelope(wsaHeaders(testAction), queryBody)))
	if res := <-results; !errors.Is(res.err, ErrMediaType) || resp.StatusCode != 415 {
		t.Fatalf("repeated parameter: %v", res.err)
	}
}

// TestHeadersNotForUs: header blocks for another role, or optional ones,
// are ignored; a header mustUnderstand="false" is fine.
func TestHeadersNotForUs(t *testing.T) {
	url, results := captureServer(t, Limits{})
	hdr := wsaHeaders(testAction) +
		`<x:A xmlns:x="urn:vendor" env:mustUnderstand="true" env:role="http://www.w3.org/2003/05/soap-envelope/role/none"/>` +
		`<x:B xmlns:x="urn:vendor" env:mustUnderstand="true" env:role="urn:some-intermediary"/>` +
		`<x:C xmlns:x="urn:vendor" env:mustUnderstand="false"/>` +
		`<x:D xmlns:x="urn:vendor"/>`
	resp := post(t, url, ct12, strings.NewReader(envelope(hdr, queryBody)))
	res := <-results
	if res.err != nil || resp.StatusCode != 200 {
		t.Fatalf("err %v status %d", res.err, resp.StatusCode)
	}
}

// TestMuxActions covers dispatch on wsa:Action: a registered action reaches
// its handler, an unknown one gets wsa:ActionNotSupported naming it, and
// only POST is allowed.
func TestMuxActions(t *testing.T) {
	var got *Request
	mux := &Mux{}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		got = r
		_ = WriteResponse(w, testAction+"Response", r.Addressing.MessageID, mustElement(t, `<ok/>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp := post(t, srv.URL, ct12, strings.NewReader(envelope(wsaHeaders(testAction), queryBody)))
	if resp.StatusCode != 200 || got == nil || got.Body().Tag != "AdhocQueryRequest" {
		t.Fatalf("known action: status %d, request %v", resp.StatusCode, got)
	}

	const unknown = "urn:ihe:iti:2007:NoSuchTransaction"
	resp = post(t, srv.URL, ct12, strings.NewReader(envelope(wsaHeaders(unknown), queryBody)))
	wf := readWireFault(t, resp)
	if wf.Status != 400 || wf.Code != env12("Sender") || len(wf.Subcodes) != 1 || wf.Subcodes[0] != wsa("ActionNotSupported") {
		t.Fatalf("unknown action fault: %+v", wf)
	}
	if wf.Action != ActionAddressingFault || wf.RelatesTo != testMsgID {
		t.Errorf("action %q relatesTo %q", wf.Action, wf.RelatesTo)
	}
	pa := wf.Detail.FindElement("./ProblemAction/Action")
	if pa == nil || pa.Text() != unknown {
		t.Errorf("ProblemAction detail missing:\n%s", wf.Raw)
	}

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status %d", resp.StatusCode)
	}
}

// TestReadPlainWithSecurity reads a real Norwegian XCA ITI-38 request (a
// HelseID XUA assertion in wsse:Security) as plain SOAP 1.2.
func TestReadPlainWithSecurity(t *testing.T) {
	raw, err := os.ReadFile(testdataDir + "xca_iti38_request_helseid.xml")
	if err != nil {
		t.Fatal(err)
	}
	url, results := captureServer(t, Limits{})
	resp := post(t, url, ct12, strings.NewReader(string(raw)))
	res := <-results
	if res.err != nil {
		t.Fatalf("ReadRequest: %v", res.err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if res.addr.Action != "urn:ihe:iti:2007:CrossGatewayQuery" || res.addr.MessageID != "urn:uuid:c6fda90e-a5ec-4f8d-aa1b-14802f4bf68d" ||
		res.addr.ReplyTo != AnonymousAddress || !strings.HasPrefix(res.addr.To, "https://") {
		t.Errorf("addressing = %+v", res.addr)
	}
	if res.sec == nil || res.sec.FindElement("./Assertion/Issuer") == nil {
		t.Fatal("Security header with the SAML assertion not found")
	}
	if res.body.Tag != "AdhocQueryRequest" {
		t.Errorf("body = %s", res.body.Tag)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
}
