package main

import (
	"testing"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway/ui/uitest"
)

// TestUIBrowserAgainstServer drives the embedded UI in real headless
// Chromium against a real pjd serve --dev with its demo data: launch from
// the demo host, list, filter, open a PDF and a text document, keyboard
// navigation, the compliance search and CSV export, the citizen's access
// log, the CSP and frame-ancestors headers, and the single-use launch URL.
// Screenshots go to $PJD_ARTIFACTS (or a temp dir).
func TestUIBrowserAgainstServer(t *testing.T) {
	s := startServer(t, backendEmbedded, "--demo-data=true")
	res := uitest.Run(t, uitest.Target{
		BaseURL:    s.URL,
		Patient:    demo.Patients()[0].ID,
		Clinician:  "fastlege",
		Compliance: "compliance",
		Citizen:    "citizen",
	})
	if res != nil && len(res.ExportCSV) == 0 {
		t.Error("the compliance export downloaded nothing")
	}
}
