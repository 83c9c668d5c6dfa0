package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// An authenticated request whose path cannot be checked against the DPoP
// htu (longer than 4,096 bytes, or not a URL path once decoded) is the
// client's error: 400 with an OperationOutcome, never 500.
func TestUncheckableRequestURL(t *testing.T) {
	h := newHarness(t, options{})
	epj := h.tokenAs(mustPersona("sykehus-epj"), "")
	for name, path := range map[string]string{
		"path over 4,096 bytes":            "/fhir/R4/" + strings.Repeat("a", 4200),
		"path that decodes to no URL path": "/fhir/R4/%25zz",
	} {
		t.Run(name, func(t *testing.T) {
			resp := h.do(epj, http.MethodPost, path, strings.NewReader("{}"), http.Header{"Content-Type": {"application/fhir+json"}})
			b := readBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"OperationOutcome"`) {
				t.Fatalf("status %d, want 400 with an OperationOutcome: %.300s", resp.StatusCode, b)
			}
			if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
				t.Errorf("a client's bad URL was logged at ERROR")
			}
		})
	}
}
