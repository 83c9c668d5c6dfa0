package soap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

var fuzzLimits = Limits{MaxEnvelope: 1 << 20, MaxRequest: 4 << 20, MaxDepth: 32, MaxElements: 5000, MaxAttrs: 32, MaxParts: 64}.withDefaults()

// fixtureSeeds returns (Content-Type, body) of every request fixture in
// testdata/soap, plus the plain envelopes there.
func fixtureSeeds(t testing.TB) (cts []string, bodies [][]byte) {
	files, err := filepath.Glob(testdataDir + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, ".xml"):
			cts, bodies = append(cts, ct12), append(bodies, raw)
		case strings.HasSuffix(name, ".http") && bytes.HasPrefix(raw, []byte("POST ")):
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			cts, bodies = append(cts, req.Header.Get("Content-Type")), append(bodies, b)
		}
	}
	return cts, bodies
}

func depthOf(e *etree.Element) int {
	d := 0
	for _, c := range e.ChildElements() {
		d = max(d, depthOf(c))
	}
	return d + 1
}

// FuzzParseEnvelope feeds arbitrary bytes to the XML safety pass and the
// envelope checks. Whatever the input: no panic, every error a *Fault, and
// anything accepted stays within the limits and has a Body.
func FuzzParseEnvelope(f *testing.F) {
	_, bodies := fixtureSeeds(f)
	for _, b := range bodies {
		if i := bytes.Index(b, []byte("Envelope")); i > 0 {
			if j := bytes.LastIndex(b, []byte("Envelope>")); j > i {
				f.Add(b[bytes.LastIndexByte(b[:i], '<') : j+len("Envelope>")])
			}
		}
	}
	for _, s := range []string{
		envelope(wsaHeaders(testAction), queryBody),
		billionLaughs(),
		envelope(wsaHeaders(testAction)+`<x:H xmlns:x="urn:x" env:mustUnderstand="1"/>`, queryBody),
		envelope(wsaHeaders(testAction41), `<x:D xmlns:x="urn:x"><xop:Include xmlns:xop="`+NSXOP+`" href="cid:a%40b"/></x:D>`),
		"<a><![CDATA[x]]><!--c--><b a='1' b=\"2\">&amp;&#x41;</b></a>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseXML(data, fuzzLimits)
		var fault *Fault
		if err != nil {
			if !errors.As(err, &fault) {
				t.Fatalf("parseXML error %T %v is not a *Fault", err, err)
			}
			return
		}
		if d := depthOf(doc.Root()); d > fuzzLimits.MaxDepth {
			t.Fatalf("accepted depth %d > %d", d, fuzzLimits.MaxDepth)
		}
		// What we accepted, serialized by etree, must be accepted again:
		// the two parsers agree on what the document is.
		out, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseXML(out, fuzzLimits); err != nil {
			t.Fatalf("re-serialized document refused: %v\n%q\n%q", err, data, out)
		}
		m, err := parseEnvelope(doc, true)
		if err != nil {
			if !errors.As(err, &fault) {
				t.Fatalf("parseEnvelope error %T %v is not a *Fault", err, err)
			}
			return
		}
		if m.Body() == nil || m.Addressing.Action == "" || m.Addressing.MessageID == "" {
			t.Fatalf("accepted without body or addressing: %+v", m.Addressing)
		}
		for _, inc := range m.Includes() {
			if inc.ContentID == "" {
				t.Fatal("include without content id")
			}
		}
	})
}

// FuzzReadMultipart feeds arbitrary MTOM bodies (and Content-Types) to
// ReadRequest and reads every part. No panic, no hang, errors are *Fault,
// and the parts never yield more bytes than the body held.
func FuzzReadMultipart(f *testing.F) {
	cts, bodies := fixtureSeeds(f)
	for i := range cts {
		f.Add(cts[i], bodies[i])
	}
	f.Add(`multipart/related; type="application/xop+xml"; boundary=b; start="<r>"`,
		[]byte("--b\r\nContent-ID: <r>\r\nContent-Type: application/xop+xml\r\n\r\n"+
			envelope(wsaHeaders(testAction41), `<x:D xmlns:x="urn:x"><xop:Include xmlns:xop="`+NSXOP+`" href="cid:p"/></x:D>`)+
			"\r\n--b\r\nContent-ID: <p>\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		req, err := ReadRequest(r, fuzzLimits)
		var fault *Fault
		if err != nil {
			if !errors.As(err, &fault) {
				t.Fatalf("ReadRequest error %T %v is not a *Fault", err, err)
			}
			return
		}
		var total int64
		for range fuzzLimits.MaxParts + 2 {
			p, err := req.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.As(err, &fault) {
					t.Fatalf("NextPart error %T %v is not a *Fault", err, err)
				}
				return
			}
			n, err := io.Copy(io.Discard, p.Body)
			total += n
			if err != nil && !errors.As(err, &fault) {
				t.Fatalf("part read error %T %v is not a *Fault", err, err)
			}
			if total > int64(len(body))*2 { // base64/QP never expand; 2x is slack
				t.Fatalf("parts yielded %d bytes from a %d-byte body", total, len(body))
			}
			if err != nil {
				return
			}
		}
		t.Fatal("NextPart never ended")
	})
}
