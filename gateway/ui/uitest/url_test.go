package uitest_test

import (
	"os"
	"testing"

	"pjd/gateway/ui/uitest"
)

// TestAgainstURL runs the browser flows against a running pjd (opt-in):
//
//	PJD_UI_URL=http://127.0.0.1:8080 PJD_UI_PATIENT=… PJD_UI_CLINICIAN=… \
//	PJD_UI_COMPLIANCE=… PJD_UI_CITIZEN=… go test ./gateway/ui/uitest -run TestAgainstURL
//
// The persona ids and the patient are the ones the demo host of that pjd
// offers. Without PJD_UI_URL there is nothing to test against.
func TestAgainstURL(t *testing.T) {
	base := os.Getenv("PJD_UI_URL")
	if base == "" {
		t.Skip("PJD_UI_URL is not set (point it at a running pjd serve --dev to run the browser flows against it)")
	}
	need := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			t.Fatalf("%s is required with PJD_UI_URL", name)
		}
		return v
	}
	uitest.Run(t, uitest.Target{
		BaseURL:    base,
		Patient:    need("PJD_UI_PATIENT"),
		Clinician:  need("PJD_UI_CLINICIAN"),
		Compliance: need("PJD_UI_COMPLIANCE"),
		Citizen:    need("PJD_UI_CITIZEN"),
	})
}
