package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"pjd/gateway/mhd"
)

// mhdRequest sends one FHIR request (the lifecycle's: DocumentReference
// _history, Consent, Patient) with the persona's DPoP token and prints
// the status and the body: pjd mhd request METHOD PATH [BODY-FILE].
func mhdRequest(ctx context.Context, m *mhdFlags, args []string, stdout io.Writer) error {
	method := strings.ToUpper(args[0])
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return usageErrorf("METHOD: %q is not GET, POST, PUT or DELETE", args[0])
	}
	path := args[1]
	if !strings.HasPrefix(path, "/fhir/R4/") {
		return usageErrorf("PATH: %q does not start with /fhir/R4/", path)
	}
	var body io.Reader
	if len(args) == 3 {
		b, err := os.ReadFile(args[2])
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", args[2], err)
		}
		body = bytes.NewReader(b)
	}
	tok, err := m.token(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(m.url, "/")+path, body)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if m.patient != "" {
		req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	}
	resp, err := m.httpClient(tok).Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", m.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "HTTP %s\n", resp.Status)
	if len(b) > 0 {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(b))
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	return nil
}
