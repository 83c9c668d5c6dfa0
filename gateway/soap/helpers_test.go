package soap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

const (
	testAction   = "urn:ihe:iti:2007:RegistryStoredQuery"
	testAction41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
	testAction43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
	testMsgID    = "urn:uuid:5b7e0f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
	testdataDir  = "../../testdata/soap/"
)

// envelope builds a SOAP 1.2 request with the given header blocks and body.
func envelope(header, body string) string {
	return `<env:Envelope xmlns:env="` + NSEnvelope + `" xmlns:wsa="` + NSAddressing + `"><env:Header>` +
		header + `</env:Header><env:Body>` + body + `</env:Body></env:Envelope>`
}

// wsaHeaders are the WS-Addressing headers of a valid request.
func wsaHeaders(action string) string {
	return `<wsa:Action env:mustUnderstand="true">` + action + `</wsa:Action><wsa:MessageID>` + testMsgID +
		`</wsa:MessageID><wsa:ReplyTo><wsa:Address>` + AnonymousAddress + `</wsa:Address></wsa:ReplyTo>`
}

const queryBody = `<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"><query:ResponseOption returnType="LeafClass"/></query:AdhocQueryRequest>`

// result is what the capture server saw for one request.
type result struct {
	req   *Request
	err   error          // from ReadRequest or from reading parts
	parts []partSummary  // parts read, in order
	body  *etree.Element // Body() of the request
	sec   *etree.Element // Security()
	addr  Addressing     //
	incs  []Include      //
}

type partSummary struct {
	ContentID, ContentType string
	Size                   int64
	SHA256                 string
}

func (p partSummary) String() string {
	return fmt.Sprintf("%s\t%s\t%d\t%s", p.ContentID, p.ContentType, p.Size, p.SHA256)
}

func summarize(p *Part) (partSummary, error) {
	h := sha256.New()
	n, err := io.Copy(h, p.Body)
	return partSummary{p.ContentID, p.ContentType, n, hex.EncodeToString(h.Sum(nil))}, err
}

// captureServer reads each request with ReadRequest, reads every part,
// answers a fault or a small response, and reports what it saw.
func captureServer(t *testing.T, lim Limits) (string, <-chan result) {
	t.Helper()
	ch := make(chan result, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res result
		req, err := ReadRequest(r, lim)
		if err == nil {
			res.req, res.body, res.sec, res.addr, res.incs = req, req.Body(), req.Security(), req.Addressing, req.Includes()
			for {
				p, perr := req.NextPart()
				if perr == io.EOF {
					break
				}
				if perr != nil {
					err = perr
					break
				}
				s, perr := summarize(p)
				if perr != nil {
					err = perr
					break
				}
				res.parts = append(res.parts, s)
			}
		}
		res.err = err
		if err != nil {
			var f *Fault
			if !errors.As(err, &f) {
				t.Errorf("ReadRequest error %T is not a *Fault: %v", err, err)
				f = ReceiverFault("internal", err)
			}
			if werr := WriteFault(w, f); werr != nil {
				t.Errorf("WriteFault: %v", werr)
			}
		} else {
			ack := etree.NewElement("ack")
			ack.SetText("ok")
			if werr := WriteResponse(w, req.Addressing.Action+"Response", req.Addressing.MessageID, ack); werr != nil {
				t.Errorf("WriteResponse: %v", werr)
			}
		}
		ch <- res
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func post(t *testing.T, url, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// wireFault is a fault as found on the wire, read independently of the
// package's own fault parser.
type wireFault struct {
	Status      int
	ContentType string
	Action      string
	RelatesTo   string
	Code        string   // "{ns}local"
	Subcodes    []string // "{ns}local"
	Reason      string
	Lang        string
	Detail      *etree.Element
	Header      *etree.Element
	Raw         string
}

func readWireFault(t *testing.T, resp *http.Response) wireFault {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	wf := wireFault{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Raw: string(raw)}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatalf("fault response is not XML: %v\n%s", err, raw)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" {
		t.Fatalf("fault response has no Envelope:\n%s", raw)
	}
	for _, c := range env.ChildElements() {
		switch c.Tag {
		case "Header":
			wf.Header = c
			for _, h := range c.ChildElements() {
				switch {
				case h.Tag == "Action" && h.NamespaceURI() == NSAddressing:
					wf.Action = strings.TrimSpace(h.Text())
				case h.Tag == "RelatesTo" && h.NamespaceURI() == NSAddressing:
					wf.RelatesTo = strings.TrimSpace(h.Text())
				}
			}
		case "Body":
			f := c.ChildElements()[0]
			if f.Tag != "Fault" {
				t.Fatalf("body is <%s>, not a Fault", f.Tag)
			}
			if f.NamespaceURI() == NSEnvelope11 {
				wf.Code = qn(f.SelectElement("faultcode"), f.SelectElement("faultcode").Text())
				wf.Reason = f.SelectElement("faultstring").Text()
				return wf
			}
			code := f.SelectElement("Code")
			wf.Code = qn(code.SelectElement("Value"), code.SelectElement("Value").Text())
			for sc := code.SelectElement("Subcode"); sc != nil; sc = sc.SelectElement("Subcode") {
				wf.Subcodes = append(wf.Subcodes, qn(sc.SelectElement("Value"), sc.SelectElement("Value").Text()))
			}
			txt := f.SelectElement("Reason").SelectElement("Text")
			wf.Reason = txt.Text()
			wf.Lang = txt.SelectAttrValue("xml:lang", "")
			wf.Detail = f.SelectElement("Detail")
		}
	}
	return wf
}

// qn resolves a prefixed QName in text content to "{ns}local".
func qn(e *etree.Element, text string) string {
	prefix, local, ok := strings.Cut(strings.TrimSpace(text), ":")
	if !ok {
		return "{}" + text
	}
	for x := e; x != nil; x = x.Parent() {
		for _, a := range x.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return "{" + a.Value + "}" + local
			}
		}
	}
	return "{?" + prefix + "}" + local
}

func env12(local string) string { return "{" + NSEnvelope + "}" + local }
func wsa(local string) string   { return "{" + NSAddressing + "}" + local }

func mustElement(t *testing.T, s string) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	return d.Root()
}

func elementString(t *testing.T, e *etree.Element) string {
	t.Helper()
	d := etree.NewDocument()
	d.SetRoot(e.Copy())
	s, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func etreeOK() *etree.Element { return etree.NewElement("ok") }

func newDoc() *etree.Document { return etree.NewDocument() }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// pnrInline is a SubmitObjectsRequest-shaped body with n DocumentEntries,
// each with the slots and classifications a real one carries.
func pnrInline(n int) string {
	var b strings.Builder
	b.WriteString(`<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>`)
	for i := range n {
		fmt.Fprintf(&b, `<rim:ExtrinsicObject id="Document%d" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">`, i)
		for _, slot := range []string{"creationTime", "languageCode", "sourcePatientId", "hash", "size", "repositoryUniqueId"} {
			fmt.Fprintf(&b, `<rim:Slot name="%s"><rim:ValueList><rim:Value>v%d</rim:Value></rim:ValueList></rim:Slot>`, slot, i)
		}
		for _, scheme := range []string{"41a5887f", "f4f85eac", "a09d5840", "f33fb8ac", "cccf5598", "f0306f51"} {
			fmt.Fprintf(&b, `<rim:Classification classificationScheme="urn:uuid:%s-0000-0000-0000-000000000000" classifiedObject="Document%d" id="cl%s%d" nodeRepresentation="code"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.578.1.12.4.1.1.9602</rim:Value></rim:ValueList></rim:Slot><rim:Name><rim:LocalizedString value="Epikrise"/></rim:Name></rim:Classification>`, scheme, i, scheme, i)
		}
		fmt.Fprintf(&b, `<rim:ExternalIdentifier id="ei%d" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="Document%d" value="12838549045^^^&amp;2.16.578.1.12.4.1.4.1&amp;ISO"><rim:Name><rim:LocalizedString value="XDSDocumentEntry.patientId"/></rim:Name></rim:ExternalIdentifier>`, i, i)
		b.WriteString(`</rim:ExtrinsicObject>`)
	}
	b.WriteString(`</rim:RegistryObjectList></lcm:SubmitObjectsRequest>`)
	return b.String()
}
