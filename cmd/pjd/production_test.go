package main

// Production mode end to end (issue 9, item 15): pjd dev-issuer and pjd
// serve without --dev as child processes, on PostgreSQL, S3 and Redis.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pjd/conformance"
	"pjd/conformance/testenv"
	"pjd/trust"
	"pjd/trust/devissuer"
)

// launchProcess runs pjd with args (a whole command line) and waits until
// GET readyURL answers 200 through hc. The process is stopped when the
// test ends; its log is printed when the test failed. A port taken by
// someone else in the meantime is errPortTaken.
func launchProcess(t testing.TB, name string, args []string, readyURL string, hc *http.Client) (*pjdProcess, error) {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(pjdBinary(t), args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &pjdProcess{t: t, name: name, Pid: cmd.Process.Pid, logPath: logf.Name(), cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("log of %s (pid %d, %s), tail:\n%s", name, p.Pid, p.logPath, tailOf(p.logPath, 6000))
		}
	})
	var last error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.exited:
			log := tailOf(p.logPath, 4000)
			if strings.Contains(log, "address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("%s exited before it was ready: %v; log:\n%s", name, p.waitErr, log)
		default:
		}
		resp, err := hc.Get(readyURL)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
			err = fmt.Errorf("%s: %s", readyURL, resp.Status)
		}
		last = err
	}
	p.kill()
	log := tailOf(p.logPath, 4000)
	if strings.Contains(log, "address already in use") {
		return nil, errPortTaken
	}
	return nil, fmt.Errorf("%s not ready: %v; log:\n%s", name, last, log)
}

// startOnFreePort runs launchProcess with a free loopback port put into
// args (every "{port}"), retrying when the port was taken meanwhile.
func startOnFreePort(t *testing.T, name string, args []string, readyURL string, hc *http.Client) (*pjdProcess, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ps := strconv.Itoa(port)
		full := make([]string, len(args))
		for i, a := range args {
			full[i] = strings.ReplaceAll(a, "{port}", ps)
		}
		p, err := launchProcess(t, name, full, strings.ReplaceAll(readyURL, "{port}", ps), hc)
		if err == nil {
			p.URL = "https://127.0.0.1:" + ps
			return p, ps
		}
		if attempt >= 3 || !errors.Is(err, errPortTaken) {
			t.Fatalf("starting %s: %v", name, err)
		}
	}
}

func writeHexKey(t *testing.T, path string) {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// productionDeployment is pjd dev-issuer and pjd serve without --dev.
type productionDeployment struct {
	serve     *pjdProcess
	issuerURL string
	pki       string // the dev issuer's folder: CA, certificates, signing key
	trusting  *http.Client
	source    *http.Client
	// postgresURL is serve's database (the suite adds patients' blocks
	// there, as pjd conformance --blocks-db does).
	postgresURL string
}

// startProduction starts pjd dev-issuer (HTTPS, its own CA) and then pjd
// serve in production mode — no --dev: HTTPS with the dev issuer's
// server certificate, source mutual TLS against its CA, XUA with its
// signing certificate, the dev issuer as the one trusted token issuer
// (--issuer, --issuer-ca), PostgreSQL, S3 and Redis from testenv, and key
// files for the audit chain and the page tokens.
func startProduction(t *testing.T, extra ...string) *productionDeployment {
	t.Helper()
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "dev-issuer")
	// The CA is made by the dev issuer as it starts: until then nothing
	// is trusted, so readiness is first checked without verification of
	// a certificate that is then pinned through the CA file.
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	_, issPort := startOnFreePort(t, "dev-issuer", []string{"dev-issuer", "--listen", "127.0.0.1:{port}", "--dir", pkiDir},
		"https://127.0.0.1:{port}/.well-known/openid-configuration", insecure)
	d := &productionDeployment{issuerURL: "https://127.0.0.1:" + issPort, pki: pkiDir}
	pem, err := os.ReadFile(filepath.Join(pkiDir, devissuer.FileCA))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate from pjd dev-issuer")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	d.trusting = &http.Client{Transport: tr, Timeout: time.Minute}
	if resp, err := d.trusting.Get(d.issuerURL + "/.well-known/openid-configuration"); err != nil {
		t.Fatalf("the dev issuer's certificate does not verify against its CA: %v", err)
	} else {
		resp.Body.Close()
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, devissuer.FileSource), filepath.Join(pkiDir, devissuer.FileSourceKey))
	if err != nil {
		t.Fatal(err)
	}
	str := tr.Clone()
	str.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	d.source = &http.Client{Transport: str, Timeout: time.Minute}

	d.postgresURL = testenv.Postgres(t)
	auditKey, pageKey := filepath.Join(dir, "audit.key"), filepath.Join(dir, "page.key")
	writeHexKey(t, auditKey)
	writeHexKey(t, pageKey)
	pki := func(f string) string { return filepath.Join(pkiDir, f) }
	s3flags, _ := s3Deployment(t)
	args := append([]string{"serve", "--listen", "127.0.0.1:{port}", "--public-url", "https://127.0.0.1:{port}",
		"--data", filepath.Join(dir, "data"), "--log-format", "text", "--log-level", "warn", "--sweep-interval=0",
		"--tls-cert", pki(devissuer.FileServer), "--tls-key", pki(devissuer.FileServerKey), "--tls-client-ca", pki(devissuer.FileCA),
		"--issuer", d.issuerURL + "/.well-known/openid-configuration", "--issuer-ca", pki(devissuer.FileCA),
		"--saml-cert", pki(devissuer.FileXUA), "--saml-issuer", d.issuerURL, "--saml-audience", devissuer.DefaultAudience,
		"--postgres-url", d.postgresURL, "--redis-url", "redis://" + testenv.Redis(t) + "/0",
		"--repository-unique-id", devRepositoryID, "--audit-key-file", auditKey, "--page-key-file", pageKey,
		"--home-community-id", productionHome,
		"--allow-synthetic-patients=true"}, s3flags...)
	d.serve, _ = startOnFreePort(t, "serve", append(args, extra...), "https://127.0.0.1:{port}/readyz", d.trusting)
	return d
}

// productionHome is the community of the production-mode server's
// responding gateway.
const productionHome = "urn:oid:2.999.578.9"

// TestConformanceProductionMode runs the conformance suite once against
// pjd serve in production mode (see startProduction) with the source's
// client certificate for the source transactions and tokens from pjd
// dev-issuer. Unlike the --dev runs, the scenarios that need a caller
// without any credential run too, and none may skip.
func TestConformanceProductionMode(t *testing.T) {
	d := startProduction(t, "--max-results=30", "--max-document-size=1MiB")
	mint, err := conformance.KeyDirMinter(devissuer.Standalone(), d.issuerURL, d.pki, devissuer.DefaultAudience)
	if err != nil {
		t.Fatal(err)
	}
	target := conformance.Target{BaseURL: d.serve.URL, HTTP: d.trusting, IssuerURL: d.issuerURL, Source: d.source,
		SourceOrgNr: "991919198", MaxResults: confMaxResults, MaxDocumentSize: confMaxDocument, Mint: mint,
		AddBlock: blocksAdder(databaseAddr{postgresURL: d.postgresURL}), HomeCommunityID: productionHome}
	// XUA as pjd dev-issuer's XUA certificate signs it (the server's
	// --saml-cert).
	signer, err := trust.LoadSAMLSigner(filepath.Join(d.pki, devissuer.FileXUA), filepath.Join(d.pki, devissuer.FileXUAKey))
	if err != nil {
		t.Fatal(err)
	}
	target.XUA = conformance.MinterXUA(&trust.XUAMinter{Signer: signer, Issuer: d.issuerURL}, devissuer.DefaultAudience)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	runScenarios(t, ctx, target, "in production mode", nil)

	// The same through pjd conformance and its flags.
	t.Run("command", func(t *testing.T) {
		pki := func(f string) string { return filepath.Join(d.pki, f) }
		var out, errb bytes.Buffer
		code := run(ctx, []string{"conformance", "--url", d.serve.URL, "--ca", pki(devissuer.FileCA),
			"--client-cert", pki(devissuer.FileSource), "--client-key", pki(devissuer.FileSourceKey), "--source-org", "991919198",
			"--dev-issuer-url", d.issuerURL, "--dev-issuer-keys", d.pki,
			"--run", `^(ITI-42/register-one-document|refusal/ITI-18-no-credential|ITI-67/expired-attestation-denied)$`}, &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "conformance: 3 passed, 0 failed, 0 skipped") {
			t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
	})

	// A dev token (marked as a --dev server's) is refused by this server:
	// only the configured issuer is trusted.
	t.Run("dev-token-refused", func(t *testing.T) {
		iss, err := devissuer.New(devissuer.DevMode(true), devissuer.Options{Issuer: d.issuerURL, KeyDir: d.pki})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.IssueToken(ctx, "fastlege", devissuer.SyntheticPatients()[0])
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: tok.Transport(d.trusting.Transport), Timeout: time.Minute}
		req, _ := http.NewRequest(http.MethodGet, d.serve.URL+"/fhir/R4/DocumentReference?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|"+devissuer.SyntheticPatients()[0], nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a token marked as a --dev issuer's: %d, want 401", resp.StatusCode)
		}
	})
}
