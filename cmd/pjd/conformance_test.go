package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pjd/conformance"
	"pjd/trust/devissuer"
)

// Limits the conformance servers run with, so that XDSTooManyResults and
// the over-size document scenarios run in-process.
const (
	confMaxResults  = 30
	confMaxDocument = 1 << 20
)

func conformanceServer(t *testing.T, backend string) (*testServer, conformance.Target) {
	t.Helper()
	s := startServer(t, backend, "--max-results=30", "--max-document-size=1MiB")
	mint, err := conformance.KeyDirMinter(devissuer.DevMode(true), s.URL+"/dev/helseid", filepath.Join(s.Data, "dev-issuer"), s.cfg.audience)
	if err != nil {
		t.Fatal(err)
	}
	return s, conformance.Target{BaseURL: s.URL, MaxResults: confMaxResults, MaxDocumentSize: confMaxDocument, Mint: mint,
		AddBlock: blocksAdder(s.cfg.databaseAddr()), XUA: conformance.MinterXUA(s.app.xua, s.cfg.respondingHome()),
		HomeCommunityID: s.cfg.respondingHome()}
}

// notInProcess are the scenarios that cannot run against an in-process
// --dev server: a credential-less SOAP call from loopback is a trusted
// source there by design. The refusal they check (no credential from a
// non-loopback address, or without --dev) is covered in package gateway
// (TestXDSNoCredential), and the scenarios run with pjd conformance
// --url against a server that does not trust loopback.
var notInProcess = map[string]bool{
	"refusal/ITI-18-no-credential": true,
	"refusal/ITI-43-no-credential": true,
	"refusal/ITI-38-no-credential": true,
	"refusal/ITI-39-no-credential": true,
}

// runConformanceSuite runs every scenario against backend as a subtest.
func runConformanceSuite(t *testing.T, backend string) {
	if n := conformance.Count("ITI-42") + conformance.Count("ITI-18"); n < 40 {
		t.Fatalf("%d ITI-42/ITI-18 scenarios, want at least 40", n)
	}
	_, target := conformanceServer(t, backend)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runScenarios(t, ctx, target, "in-process", notInProcess)
}

// runScenarios runs every scenario but those in except against target,
// one subtest each. The server target names has everything a scenario can
// need (a dev issuer, its keys, the UI), so a skip fails too: it would
// mean a scenario silently stopped testing anything. where says which
// server that is.
func runScenarios(t *testing.T, ctx context.Context, target conformance.Target, where string, except map[string]bool) {
	t.Helper()
	env, err := conformance.NewEnv(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if !env.DevIssuer() {
		t.Fatalf("the suite sees no dev issuer %s", where)
	}
	for _, s := range conformance.Scenarios() {
		if except[s.Name] {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			r := env.RunOne(ctx, s)
			switch r.Outcome {
			case conformance.Fail:
				t.Fatalf("%s (%s): %s", s.Name, s.Transaction, r.Detail)
			case conformance.Skip:
				t.Fatalf("%s skipped %s: %s", s.Name, where, r.Detail)
			}
		})
	}
}

// TestConformanceEmbedded runs the suite against SQLite and local files.
func TestConformanceEmbedded(t *testing.T) { runConformanceSuite(t, backendEmbedded) }

// TestConformanceProduction runs the suite against PostgreSQL, S3
// (versitygw) and Redis.
func TestConformanceProduction(t *testing.T) { runConformanceSuite(t, backendProduction) }

// TestConformanceCommand runs pjd conformance --url against a started
// server: the table, the JSON and the exit status.
func TestConformanceCommand(t *testing.T) {
	s, _ := conformanceServer(t, backendEmbedded)
	ctx := context.Background()
	keys := filepath.Join(s.Data, "dev-issuer")

	var out, errb bytes.Buffer
	code := run(ctx, []string{"conformance", "--url", s.URL, "--run", `^(ITI-42/register-one-document|ITI-18/GetAll-leafclass|ITI-67/expired-attestation-denied)$`,
		"--dev-issuer-keys", keys}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"SCENARIO", "ITI-42/register-one-document", "ITI-18/GetAll-leafclass", "ITI-67/expired-attestation-denied",
		"conformance: 3 passed, 0 failed, 0 skipped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// The responding gateway's scenarios against the URL: the home
	// community found out, XUA minted with the server's dev XUA key.
	out.Reset()
	errb.Reset()
	code = run(ctx, []string{"conformance", "--url", s.URL, "--run", `^(ITI-38/(unknown-community|xua-person|GetAll-objectref)|ITI-39/retrieve-byte-for-byte)$`,
		"--xua-signing-key", filepath.Join(keys, devissuer.FileDevXUAKey), "--xua-signing-cert", filepath.Join(keys, devissuer.FileDevXUACert),
		"--xua-issuer", s.URL + devXUAPath, "--xua-audience", "nhn:dokumentdeling-saml"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "conformance: 4 passed, 0 failed, 0 skipped") {
		t.Fatalf("XCA scenarios: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}

	// Without the issuer's key the minted-token scenario skips; skipping
	// is not failing.
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"conformance", "--url", s.URL, "--run", `^ITI-67/expired-attestation-denied$`, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var results []conformance.Result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if len(results) != 1 || results[0].Outcome != conformance.Skip || !strings.Contains(results[0].Detail, "dev-issuer-keys") {
		t.Fatalf("results %+v, want one skip naming --dev-issuer-keys", results)
	}

	// A wrong claim about the server (it caps at 30, not 1) makes the
	// XDSTooManyResults scenario fail, and the command exit 1.
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"conformance", "--url", s.URL, "--run", `^ITI-18/too-many-results$`, "--max-results", "1"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "0 passed, 1 failed") || !strings.Contains(errb.String(), "1 of 1 scenario(s) failed") {
		t.Fatalf("output:\n%s\nstderr:\n%s", out.String(), errb.String())
	}

	// Bad flags are reported together, as a usage error.
	errb.Reset()
	if code := run(ctx, []string{"conformance", "--url", s.URL, "--run", "(", "--client-cert", "x.pem"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--run") || !strings.Contains(errb.String(), "--client-key") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// An unreachable server is an error, not a pass.
	errb.Reset()
	if code := run(ctx, []string{"conformance", "--url", "http://127.0.0.1:1"}, &out, &errb); code != 1 {
		t.Fatalf("unreachable server: exit %d: %s", code, errb.String())
	}
}
