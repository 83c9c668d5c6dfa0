package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"pjd/gateway/mhd"
	"pjd/registry"
)

// A document is served by ITI-68 as its source declared it — text/html,
// SVG, XML included — but in a sandbox with nothing allowed and never
// sniffed, so that opening its URL in a browser cannot run script in
// pjd's origin.
func TestMHDRetrieveSandboxesActiveContent(t *testing.T) {
	h := newHarness(t, options{})
	types := []string{"text/html", "image/svg+xml", "application/xml", "text/xml", "application/xhtml+xml",
		"application/javascript", "text/plain", "application/pdf"}
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: len(types), Seq: 9401})
	for i, d := range sub.Documents {
		d.MimeType = types[i]
	}
	h.provide(sub, 9401)
	tok := h.token("fastlege", patientP)
	for i, mt := range types {
		t.Run(mt, func(t *testing.T) {
			resp := h.do(tok, http.MethodGet, mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, sub.Documents[i].UniqueID), nil, nil)
			readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"sandbox", "default-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
				t.Errorf("Content-Security-Policy %q lets the document run script or act as pjd", csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != mt {
				t.Errorf("X-Content-Type-Options %q, Content-Type %q", resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Type"))
			}
		})
	}
}
