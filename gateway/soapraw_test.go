package gateway_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"pjd/gateway/soap"
)

// Raw SOAP exchanges: a request built from a fixture envelope, and the
// response read as XML, to check what the soap client would hide (the
// RelatesTo of a fault, the HTTP status, the exact fault codes).

func elementString(t *testing.T, el *etree.Element) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// envelope fills a fixture envelope.
func envelope(t *testing.T, fixture, action, messageID, body string) []byte {
	t.Helper()
	s := string(readFixture(t, "soap/"+fixture))
	s = strings.NewReplacer("{{ACTION}}", action, "{{MESSAGE_ID}}", messageID, "{{BODY}}", body).Replace(s)
	return []byte(s)
}

type rawResponse struct {
	status      int
	contentType string
	action      string
	relatesTo   string
	body        *etree.Element // the child of env:Body
	// For faults.
	code, subcode, reason string
	raw                   []byte
}

func (h *harness) postSOAP(t *testing.T, path, contentType string, payload []byte, hdr http.Header) rawResponse {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Content-Type", contentType)
	resp := h.do(nil, http.MethodPost, path, bytes.NewReader(payload), hdr)
	raw := readBody(t, resp)
	r := rawResponse{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: raw}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatalf("response is not XML (%d %s): %v\n%s", resp.StatusCode, r.contentType, err, raw)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != soap.NSEnvelope {
		t.Fatalf("response is not a SOAP 1.2 envelope:\n%s", raw)
	}
	if hd := env.SelectElement("Header"); hd != nil {
		if a := hd.SelectElement("Action"); a != nil {
			r.action = strings.TrimSpace(a.Text())
		}
		if a := hd.SelectElement("RelatesTo"); a != nil {
			r.relatesTo = strings.TrimSpace(a.Text())
		}
	}
	if b := env.SelectElement("Body"); b != nil && len(b.ChildElements()) > 0 {
		r.body = b.ChildElements()[0]
	}
	if r.body != nil && r.body.Tag == "Fault" {
		if v := r.body.FindElement("./Code/Value"); v != nil {
			r.code = localName(v.Text())
		}
		if v := r.body.FindElement("./Code/Subcode/Value"); v != nil {
			r.subcode = localName(v.Text())
		}
		if v := r.body.FindElement("./Reason/Text"); v != nil {
			r.reason = v.Text()
		}
	}
	return r
}

func localName(qname string) string {
	qname = strings.TrimSpace(qname)
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

func soap12(action string) string {
	return `application/soap+xml; charset=UTF-8; action="` + action + `"`
}

// registryErrors returns the errorCodes of a response body's
// RegistryErrorList and the status attribute.
func registryErrors(body *etree.Element) (status string, codes []string) {
	if body == nil {
		return "", nil
	}
	status = body.SelectAttrValue("status", "")
	for _, e := range body.FindElements(".//RegistryError") {
		codes = append(codes, e.SelectAttrValue("errorCode", ""))
	}
	return status, codes
}
