package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// captureTransport keeps the request it is given and sends nothing.
type captureTransport struct {
	contentType string
	body        []byte
}

var errCaptured = errors.New("captured, not sent")

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.contentType, c.body = r.Header.Get("Content-Type"), b
	return nil, errCaptured
}

// An ITI-41 whose MTOM body ends before its closing MIME boundary (the
// source's connection dropped mid-document, a proxy cut it) is the
// sender's error: a SOAP Sender fault (400) that says the message ended
// early — never a RegistryResponse "internal error", never logged at
// ERROR — and nothing is registered.
func TestXDSProvideTruncatedMTOM(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, options{devLoopback: true})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9301})
	doc := registry.SampleDocument(9301, 0, cx(patientP))
	ct := &captureTransport{}
	c := xdsclient.New(h.base, &http.Client{Transport: ct})
	if _, err := c.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain", Body: bytes.NewReader(doc)}}); err == nil || ct.body == nil {
		t.Fatalf("capturing the request: %v", err)
	}
	full := ct.body
	closing := bytes.LastIndex(full, []byte("\r\n--"))
	if closing < 0 || !bytes.Contains(full, doc) {
		t.Fatal("the captured request is not MTOM with the document")
	}
	for name, body := range map[string][]byte{
		"cut inside the document":              full[:bytes.Index(full, doc)+len(doc)/2],
		"cut just before the closing boundary": full[:closing],
	} {
		t.Run(name, func(t *testing.T) {
			before := strings.Count(h.logs.String(), `"level":"ERROR"`)
			resp := h.postSOAP(t, "/xds/repository", ct.contentType, body, nil)
			if resp.status != http.StatusBadRequest || resp.code != "Sender" {
				st, codes := registryErrors(resp.body)
				t.Fatalf("status %d, fault code %q, want a 400 Sender fault; got %s %v:\n%s", resp.status, resp.code, st, codes, resp.raw)
			}
			if !strings.Contains(resp.reason, "ended before its closing MIME boundary") {
				t.Errorf("fault reason %q does not say the message was cut short", resp.reason)
			}
			if n := strings.Count(h.logs.String(), `"level":"ERROR"`); n != before {
				t.Errorf("a truncated request was logged at ERROR")
			}
			ds, err := h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{sub.Documents[0].UniqueID}})
			if err != nil || len(ds) != 0 {
				t.Fatalf("registered after a truncated request: %d, %v", len(ds), err)
			}
		})
	}
	// The whole request is accepted.
	resp := h.postSOAP(t, "/xds/repository", ct.contentType, full, nil)
	if st, codes := registryErrors(resp.body); resp.status != http.StatusOK || st != registry.ResponseSuccess {
		t.Fatalf("the whole request: %d %s %v", resp.status, st, codes)
	}
}
