package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
)

// TestFindReadsALargeAnswer: pjd find lists every document of a patient
// with more documents than the old client read: it stopped at 200,000 XML
// elements (~3,570 entries) and said "no answer from the server". Its
// limits are now derived from the most a registry answers
// (registry.DefaultMaxResults; xdsclient's TestResponseLimitsHoldMaxResults
// checks the arithmetic for a full answer, which is too heavy for -race
// here).
func TestFindReadsALargeAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 4,000 entries: skipped with -short")
	}
	const n = 4000
	s := startServer(t, backendEmbedded)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fnr := registry.SyntheticFnr(3570)
	cx := registry.NewPatientCX(fnr, oid.FNR).String()
	// Registered through the registry's API, in one submission: the
	// entries' metadata is what matters, not how they arrived.
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx, Documents: n, Seq: 42})
	for _, d := range sub.Documents {
		d.RepositoryUniqueID = s.cfg.repositoryID
	}
	if l, err := s.app.reg.Register(ctx, sub); err != nil || l.Failed() {
		t.Fatalf("registering %d entries: %v %v", n, l, err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"find", "--url", s.URL, "--patient", fnr}, &stdout, &stderr); code != 0 {
		t.Fatalf("pjd find: exit %d\n%s", code, stderr.String())
	}
	if want := fmt.Sprintf("%d document(s)\n", n); !strings.HasSuffix(stdout.String(), want) {
		t.Fatalf("pjd find printed %q at the end, want %q", lastLine(stdout.String()), want)
	}
	if lines := strings.Count(stdout.String(), "\n"); lines != n+2 {
		t.Fatalf("pjd find printed %d lines, want a header, %d documents and the count", lines, n)
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
