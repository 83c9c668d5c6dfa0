package soap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beevik/etree"
)

func newServer(t *testing.T, mux *Mux) string {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func TestCallPlainRoundTrip(t *testing.T) {
	var seen Addressing
	mux := &Mux{}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		seen = r.Addressing
		if r.MTOM() {
			t.Error("plain request seen as MTOM")
		}
		if _, err := r.NextPart(); err != io.EOF {
			t.Errorf("NextPart on plain request: %v", err)
		}
		resp := mustElement(t, `<query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"><rim:RegistryObjectList xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"/></query:AdhocQueryResponse>`)
		if err := WriteResponse(w, testAction+"Response", r.Addressing.MessageID, resp); err != nil {
			t.Error(err)
		}
	})
	url := newServer(t, mux)

	c := &Client{}
	resp, err := c.Call(context.Background(), url, testAction, mustElement(t, queryBody))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if seen.Action != testAction || !strings.HasPrefix(seen.MessageID, "urn:uuid:") || seen.ReplyTo != AnonymousAddress || seen.To != url {
		t.Errorf("server saw %+v", seen)
	}
	if resp.Addressing.Action != testAction+"Response" || resp.Addressing.RelatesTo != seen.MessageID ||
		resp.Addressing.To != AnonymousAddress || !strings.HasPrefix(resp.Addressing.MessageID, "urn:uuid:") ||
		resp.Addressing.MessageID == seen.MessageID {
		t.Errorf("response addressing %+v", resp.Addressing)
	}
	if resp.Body().Tag != "AdhocQueryResponse" || resp.Body().SelectAttrValue("status", "") == "" || resp.Body().NamespaceURI() != "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" {
		t.Errorf("body %s", elementString(t, resp.Body()))
	}
	if resp.StatusCode != 200 || resp.MTOM() {
		t.Errorf("status %d mtom %v", resp.StatusCode, resp.MTOM())
	}
}

func TestClientSecurityHeader(t *testing.T) {
	var sec *etree.Element
	mux := &Mux{}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		sec = r.Security()
		_ = WriteResponse(w, testAction+"Response", r.Addressing.MessageID, mustElement(t, `<ok/>`))
	})
	url := newServer(t, mux)
	c := &Client{Headers: func(ctx context.Context, action string) ([]*etree.Element, error) {
		return []*etree.Element{mustElement(t, `<wsse:Security xmlns:wsse="`+NSSecurity+`" xmlns:env="`+NSEnvelope+`" env:mustUnderstand="true"><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1">`+action+`</saml2:Assertion></wsse:Security>`)}, nil
	}}
	resp, err := c.Call(context.Background(), url, testAction, mustElement(t, queryBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	if sec == nil || sec.FindElement("./Assertion").Text() != testAction {
		t.Fatalf("Security header not delivered")
	}

	c.Headers = func(context.Context, string) ([]*etree.Element, error) {
		return []*etree.Element{etree.NewElement("wsse:Security")}, nil // prefix not declared
	}
	if _, err := c.Call(context.Background(), url, testAction, mustElement(t, queryBody)); err == nil {
		t.Fatal("header with undeclared prefix accepted")
	}
}

// pnr builds a ProvideAndRegister-shaped body with one Document per id,
// each holding a fresh xop:Include.
func pnr(ids ...string) (*etree.Element, []string) {
	body := newElement("urn:ihe:iti:xds-b:2007", "xdsb", "ProvideAndRegisterDocumentSetRequest")
	var cids []string
	for _, id := range ids {
		d := body.CreateElement("xdsb:Document")
		d.CreateAttr("id", id)
		inc, cid := NewInclude()
		d.AddChild(inc)
		cids = append(cids, cid)
	}
	return body, cids
}

func TestCallMTOMRoundTrip(t *testing.T) {
	docs := [][]byte{
		nil, // an empty document is still a document
		[]byte("\r\n--\r\n--" + strings.Repeat("\r\n", 10)),
		randomBytes(3<<20+17, 1),
	}
	back := [][]byte{randomBytes(1<<20, 2), []byte("<ClinicalDocument/>\r\n")}

	var got []partSummary
	var incDocs []string
	mux := &Mux{}
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		if !r.MTOM() {
			t.Error("not MTOM")
		}
		for _, inc := range r.Includes() {
			incDocs = append(incDocs, inc.Element.Parent().SelectAttrValue("id", ""))
		}
		for i := 0; ; i++ {
			p, err := r.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("NextPart: %v", err)
				_ = WriteFault(w, err.(*Fault))
				return
			}
			if id := p.Include.Parent().SelectAttrValue("id", ""); id != fmt.Sprintf("D%d", i+1) {
				t.Errorf("part %d belongs to %q", i, id)
			}
			s, err := summarize(p)
			if err != nil {
				t.Errorf("part: %v", err)
			}
			got = append(got, s)
		}
		body, cids := pnr("R1", "R2")
		body.Tag = "RetrieveDocumentSetResponse"
		mw := NewMTOMWriter(w, testAction41+"Response", r.Addressing.MessageID)
		if err := mw.WriteEnvelope(body); err != nil {
			t.Error(err)
			return
		}
		for i, b := range back {
			if n, err := mw.WriteAttachment(cids[i], "application/octet-stream", bytes.NewReader(b)); err != nil || n != int64(len(b)) {
				t.Errorf("WriteAttachment: %d %v", n, err)
				return
			}
		}
		if err := mw.Close(); err != nil {
			t.Error(err)
		}
	})
	url := newServer(t, mux)

	body, cids := pnr("D1", "D2", "D3")
	var atts []Attachment
	for i, d := range docs {
		atts = append(atts, Attachment{ContentID: cids[i], ContentType: "text/xml", Body: bytes.NewReader(d)})
	}
	resp, err := (&Client{}).CallMTOM(context.Background(), url, testAction41, body, atts)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()

	if strings.Join(incDocs, ",") != "D1,D2,D3" {
		t.Errorf("includes in %v", incDocs)
	}
	if len(got) != len(docs) {
		t.Fatalf("server got %d parts", len(got))
	}
	for i, d := range docs {
		if got[i].ContentID != cids[i] || got[i].ContentType != "text/xml" || got[i].Size != int64(len(d)) || got[i].SHA256 != sum(d) {
			t.Errorf("part %d: %+v", i, got[i])
		}
	}

	if !resp.MTOM() || resp.Body().Tag != "RetrieveDocumentSetResponse" {
		t.Fatalf("response %v", resp.Body().Tag)
	}
	byCID := map[string]int{}
	for i, inc := range resp.Includes() {
		byCID[inc.ContentID] = i
	}
	n := 0
	for {
		p, err := resp.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i, ok := byCID[p.ContentID]
		if !ok {
			t.Fatalf("unexpected part %q", p.ContentID)
		}
		s, err := summarize(p)
		if err != nil || s.SHA256 != sum(back[i]) {
			t.Errorf("response part %d: %+v %v", i, s, err)
		}
		n++
	}
	if n != len(back) {
		t.Errorf("client got %d parts", n)
	}
}

func TestRelatesToChecked(t *testing.T) {
	mux := &Mux{}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		_ = WriteResponse(w, testAction+"Response", "urn:uuid:someone-else", mustElement(t, `<ok/>`))
	})
	url := newServer(t, mux)
	_, err := (&Client{}).Call(context.Background(), url, testAction, mustElement(t, queryBody))
	if !errors.Is(err, ErrRelatesTo) {
		t.Fatalf("err %v, want ErrRelatesTo", err)
	}
}

func TestClientRejectsNonSOAP(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		kind   error
	}{
		{"HTML error page", 502, "text/html", "<html>Bad gateway</html>", ErrUnexpectedResponse},
		{"error status without fault", 500, ct12, envelope(`<wsa:RelatesTo>x</wsa:RelatesTo>`, `<ok/>`), ErrUnexpectedResponse},
		{"SOAP 1.1 response", 200, "text/xml", `<s:Envelope xmlns:s="` + NSEnvelope11 + `"><s:Body><ok/></s:Body></s:Envelope>`, ErrUnexpectedResponse},
		{"DOCTYPE in response", 200, ct12, `<!DOCTYPE x [<!ENTITY a "b">]>` + envelope("", "<ok/>"), ErrForbiddenXML},
		{"truncated MTOM", 200, `multipart/related; type="application/xop+xml"; boundary=b`, "--b\r\nContent-Type: application/xop+xml\r\n\r\n<env:Envelope", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			_, err := (&Client{}).Call(context.Background(), srv.URL, testAction, mustElement(t, queryBody))
			if !errors.Is(err, tc.kind) || !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
			var f *Fault
			if errors.As(err, &f) {
				t.Errorf("a response we could not read is reported as a remote fault: %v", err)
			}
		})
	}
}

func TestFaultsReachClient(t *testing.T) {
	secret := errors.New("pq: relation \"documents\" does not exist at /srv/pjd/db.go:42")
	mux := &Mux{}
	mux.Handle(testAction, func(w http.ResponseWriter, r *Request) {
		f := ReceiverFault("The registry is not available", secret)
		f.RelatesTo = r.Addressing.MessageID
		_ = WriteFault(w, f)
	})
	url := newServer(t, mux)
	c := &Client{}

	_, err := c.Call(context.Background(), url, testAction, mustElement(t, queryBody))
	var f *Fault
	if !errors.As(err, &f) || f.Code != CodeReceiver || !errors.Is(err, ErrReceiver) {
		t.Fatalf("err %v", err)
	}
	if f.Reason != "The registry is not available" || strings.Contains(f.Error(), "pq:") || f.RelatesTo == "" {
		t.Errorf("fault %+v", f)
	}

	_, err = c.Call(context.Background(), url, "urn:ihe:iti:2007:Unknown", mustElement(t, queryBody))
	if !errors.As(err, &f) || !errors.Is(err, ErrActionNotSupported) {
		t.Fatalf("err %v", err)
	}
}

// TestEarlyFaultDuringUpload: the server refuses the Action after reading
// only the envelope of a large upload. The client gets the fault, stops
// sending and returns; nothing hangs.
func TestEarlyFaultDuringUpload(t *testing.T) {
	mux := &Mux{}
	url := newServer(t, mux)
	body, cids := pnr("D1")
	var sent atomic.Int64
	att := Attachment{ContentID: cids[0], ContentType: "application/pdf", Body: &patternReader{left: 256 << 20, sent: &sent}}
	_, err := (&Client{}).CallMTOM(context.Background(), url, "urn:ihe:iti:2007:Unknown", body, []Attachment{att})
	if !errors.Is(err, ErrActionNotSupported) {
		t.Fatalf("err %v, want the server's ActionNotSupported fault", err)
	}
	if sent.Load() == 256<<20 {
		t.Errorf("client sent the whole attachment to a server that had refused it")
	}
}

func TestMaxRequestAcrossParts(t *testing.T) {
	var partErr error
	var firstOK bool
	mux := &Mux{Limits: Limits{MaxRequest: 1 << 20}}
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		for i := 0; ; i++ {
			p, err := r.NextPart()
			if err == nil {
				_, err = io.Copy(io.Discard, p.Body)
			}
			if err != nil {
				partErr = err
				_ = WriteFault(w, err.(*Fault))
				return
			}
			if i == 0 {
				firstOK = true
			}
		}
	})
	url := newServer(t, mux)
	body, cids := pnr("D1", "D2")
	atts := []Attachment{
		{ContentID: cids[0], Body: bytes.NewReader(randomBytes(600<<10, 3))},
		{ContentID: cids[1], Body: bytes.NewReader(randomBytes(600<<10, 4))},
	}
	_, err := (&Client{}).CallMTOM(context.Background(), url, testAction41, body, atts)
	if !firstOK || !errors.Is(partErr, ErrTooLarge) {
		t.Fatalf("first part ok %v, part error %v", firstOK, partErr)
	}
	var f *Fault
	if !errors.As(err, &f) || f.Code != CodeSender {
		t.Errorf("client err %v", err)
	}
}

// TestTruncatedMTOMResponse: the server's attachment source fails after the
// envelope went out. The handler returns without Close, and the client
// must see the attachment as broken, not as a short document.
func TestTruncatedMTOMResponse(t *testing.T) {
	mux := &Mux{}
	mux.Handle(testAction43, func(w http.ResponseWriter, r *Request) {
		body, cids := pnr("R1")
		mw := NewMTOMWriter(w, testAction43+"Response", r.Addressing.MessageID)
		if err := mw.WriteEnvelope(body); err != nil {
			t.Error(err)
			return
		}
		src := io.MultiReader(bytes.NewReader(randomBytes(100<<10, 5)), errReader{errors.New("S3: connection reset")})
		if _, err := mw.WriteAttachment(cids[0], "application/pdf", src); err == nil {
			t.Error("WriteAttachment hid the source error")
		}
		if err := mw.Close(); err == nil {
			t.Error("Close after a failed attachment succeeded")
		}
	})
	resp, p := firstPart(t, mux)
	_, err := io.Copy(io.Discard, p.Body)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("reading truncated part: %v", err)
	}
	if _, err := resp.NextPart(); err == nil || err == io.EOF {
		t.Errorf("NextPart after truncation: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestWriteRefusesBadInput(t *testing.T) {
	bad := etree.NewElement("rs:RegistryResponse") // rs not declared
	tests := []struct {
		name  string
		write func(w http.ResponseWriter) error
	}{
		{"undeclared prefix", func(w http.ResponseWriter) error { return WriteResponse(w, testAction, "", bad) }},
		{"undeclared attribute prefix", func(w http.ResponseWriter) error {
			e := mustElement(t, `<ok/>`)
			e.CreateAttr("xsi:type", "x")
			return WriteResponse(w, testAction, "", e)
		}},
		{"nil body", func(w http.ResponseWriter) error { return WriteResponse(w, testAction, "", nil) }},
		{"empty action", func(w http.ResponseWriter) error { return WriteResponse(w, "", "", mustElement(t, `<ok/>`)) }},
		{"action with newline", func(w http.ResponseWriter) error {
			return WriteResponse(w, "a\r\nX-Injected: 1", "", mustElement(t, `<ok/>`))
		}},
		{"MTOM include to a file", func(w http.ResponseWriter) error {
			e := mustElement(t, `<x:D xmlns:x="urn:x"><xop:Include xmlns:xop="`+NSXOP+`" href="file:///etc/passwd"/></x:D>`)
			return NewMTOMWriter(w, testAction43, "").WriteEnvelope(e)
		}},
		{"MTOM cid not header-safe", func(w http.ResponseWriter) error {
			e := mustElement(t, `<x:D xmlns:x="urn:x"><xop:Include xmlns:xop="`+NSXOP+`" href="cid:a%0D%0AX-Injected:%201"/></x:D>`)
			return NewMTOMWriter(w, testAction43, "").WriteEnvelope(e)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := tc.write(rec); err == nil {
				t.Fatal("accepted")
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Errorf("something was written: %v %q", rec.Header(), rec.Body.String())
			}
		})
	}
}

func TestMTOMWriterMisuse(t *testing.T) {
	body, cids := pnr("A", "B")
	rec := httptest.NewRecorder()
	mw := NewMTOMWriter(rec, testAction43+"Response", "urn:uuid:x")
	if _, err := mw.WriteAttachment(cids[0], "text/plain", strings.NewReader("x")); err == nil {
		t.Error("attachment before envelope accepted")
	}
	if err := mw.WriteEnvelope(body); err != nil {
		t.Fatal(err)
	}
	if err := mw.WriteEnvelope(body); err == nil {
		t.Error("second envelope accepted")
	}
	if _, err := mw.WriteAttachment("nobody@pjd", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("attachment without include accepted")
	}
	if _, err := mw.WriteAttachment(cids[0], "not a media type", strings.NewReader("x")); err == nil {
		t.Error("bad content type accepted")
	}
	if _, err := mw.WriteAttachment(cids[0], "text/plain", nil); err == nil {
		t.Error("nil reader accepted")
	}
	if _, err := mw.WriteAttachment(cids[0], "text/plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := mw.WriteAttachment(cids[0], "text/plain", strings.NewReader("x")); err == nil {
		t.Error("attachment written twice")
	}
	if err := mw.Close(); err == nil {
		t.Error("Close with an include unanswered succeeded")
	}
	if strings.Contains(rec.Body.String(), "--\r\n") && strings.HasSuffix(strings.TrimSpace(rec.Body.String()), "--") {
		t.Error("closing boundary written for an incomplete message")
	}
}

func TestCallMTOMChecksAttachments(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	body, cids := pnr("D1", "D2")
	c := &Client{}
	for name, atts := range map[string][]Attachment{
		"missing":   {{ContentID: cids[0], Body: strings.NewReader("a")}},
		"unknown":   {{ContentID: cids[0], Body: strings.NewReader("a")}, {ContentID: "x@y", Body: strings.NewReader("b")}},
		"too many":  {{ContentID: cids[0]}, {ContentID: cids[1]}, {ContentID: "x@y"}},
		"duplicate": {{ContentID: cids[0], Body: strings.NewReader("a")}, {ContentID: cids[0], Body: strings.NewReader("b")}},
		"nil body":  {{ContentID: cids[0], Body: strings.NewReader("a")}, {ContentID: cids[1]}},
	} {
		if _, err := c.CallMTOM(context.Background(), srv.URL, testAction41, body, atts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("server contacted %d times", hits.Load())
	}
}

func TestPartReadAll(t *testing.T) {
	mux := &Mux{}
	var small []byte
	var bigErr error
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		p, _ := r.NextPart()
		small, _ = p.ReadAll(64)
		p, _ = r.NextPart()
		_, bigErr = p.ReadAll(64)
		_ = WriteResponse(w, testAction41+"Response", r.Addressing.MessageID, mustElement(t, `<ok/>`))
	})
	url := newServer(t, mux)
	body, cids := pnr("S", "B")
	_, err := (&Client{}).CallMTOM(context.Background(), url, testAction41, body, []Attachment{
		{ContentID: cids[0], Body: strings.NewReader("small")},
		{ContentID: cids[1], Body: strings.NewReader(strings.Repeat("b", 65))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(small) != "small" || !errors.Is(bigErr, ErrTooLarge) {
		t.Errorf("small %q big %v", small, bigErr)
	}
}

// patternReader produces left bytes of a repeating pseudo-random block
// without allocating them, hashing what it produces.
type patternReader struct {
	left int64
	off  int
	sent *atomic.Int64
	hash interface{ Write([]byte) (int, error) }
}

var patternBlock = randomBytes(64<<10, 42)

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], patternBlock[p.off:])
		p.off = (p.off + c) % len(patternBlock)
		n += c
	}
	p.left -= int64(n)
	if p.sent != nil {
		p.sent.Add(int64(n))
	}
	if p.hash != nil {
		p.hash.Write(b[:n])
	}
	return n, nil
}

func (p *patternReader) String() string { return fmt.Sprintf("pattern(%d left)", p.left) }

// TestUploadSourceFails: the client's attachment source fails half-way.
// The call reports that error and the server never takes the cut-off
// attachment for a complete document.
func TestUploadSourceFails(t *testing.T) {
	serverErr := make(chan error, 1)
	mux := &Mux{}
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		p, err := r.NextPart()
		if err == nil {
			_, err = io.Copy(io.Discard, p.Body)
		}
		if err == nil {
			_, err = r.NextPart()
		}
		serverErr <- err
		if f, ok := err.(*Fault); ok {
			_ = WriteFault(w, f)
		}
	})
	url := newServer(t, mux)
	body, cids := pnr("D1")
	srcErr := errors.New("blob store: connection reset")
	src := io.MultiReader(bytes.NewReader(randomBytes(1<<20, 6)), errReader{srcErr})
	_, err := (&Client{}).CallMTOM(context.Background(), url, testAction41, body, []Attachment{{ContentID: cids[0], Body: src}})
	if !errors.Is(err, srcErr) {
		t.Errorf("client err %v, want the source error", err)
	}
	if err := <-serverErr; !errors.Is(err, ErrMalformed) {
		t.Errorf("server saw %v, want a truncated message", err)
	}
}
