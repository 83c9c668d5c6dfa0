package devissuer_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"pjd/trust"
	"pjd/trust/devissuer"
)

// TestStandaloneIssuer: pjd dev-issuer's issuer serves HTTPS with its own
// CA, and its tokens carry no development marks, so a production verifier
// (no AllowDevIssuer) accepts them — but only when it trusts that CA; with
// the system roots alone it cannot even fetch the metadata.
func TestStandaloneIssuer(t *testing.T) {
	dir := t.TempDir()
	pki, err := devissuer.LoadOrCreatePKI(dir, []string{"127.0.0.1", "localhost"}, "991919198")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(pki.Path(devissuer.FileIssuer), pki.Path(devissuer.FileIssuerKey))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	base := "https://" + ln.Addr().String()
	iss, err := devissuer.New(devissuer.Standalone(), devissuer.Options{Issuer: base, KeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", iss)
	var v *trust.Verifier
	mux.HandleFunc("/protected", func(w http.ResponseWriter, r *http.Request) {
		p, err := v.VerifyRequest(r.Context(), r, trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: base + "/protected"})
		if err != nil {
			http.Error(w, trust.Description(err), trust.HTTPStatus(err))
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	srv.Config.Handler = mux
	srv.StartTLS()
	t.Cleanup(srv.Close)

	pool := x509.NewCertPool()
	pool.AddCert(pki.CA)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	md := map[string]any{}
	resp, err := trusting.Get(iss.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if _, marked := md["pjd_dev_issuer"]; marked || md["issuer"] != base {
		t.Fatalf("standalone metadata %v", md)
	}

	ctx := context.Background()
	tok, err := (&devissuer.Client{HTTP: trusting, Issuer: base}).Token(ctx, "fastlege", patient, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		status int
	}{
		{"trusting the dev issuer's CA", trusting, http.StatusOK},
		{"system roots only", &http.Client{}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err = trust.NewVerifier(trust.Config{Issuers: []trust.IssuerConfig{{MetadataURL: iss.MetadataURL()}},
				Audience: devissuer.DefaultAudience, Replay: trust.NewMemoryReplayCache(nil, 0), HTTPClient: tc.client})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: tok.Transport(trusting.Transport)}
			resp, err := c.Get(base + "/protected")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("a production verifier %s: %d, want %d", tc.name, resp.StatusCode, tc.status)
			}
		})
	}

	// Standalone is HTTPS only.
	if _, err := devissuer.New(devissuer.Standalone(), devissuer.Options{Issuer: "http://127.0.0.1:1", KeyDir: dir}); err == nil {
		t.Fatal("a standalone issuer over plain http was built")
	}
}

// TestPKI: the certificates verify against the CA for their use, the
// source certificate names its organisation as Norwegian enterprise
// certificates do, and a second load keeps the CA.
func TestPKI(t *testing.T) {
	dir := t.TempDir()
	pki, err := devissuer.LoadOrCreatePKI(dir, []string{"127.0.0.1", "pjd.test"}, "991919198")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(pki.CA)
	leaf := func(file string) *x509.Certificate {
		c, err := tls.LoadX509KeyPair(pki.Path(file), pki.Path(file[:len(file)-4]+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, f := range []string{devissuer.FileIssuer, devissuer.FileServer} {
		for _, host := range []string{"127.0.0.1", "pjd.test"} {
			if _, err := leaf(f).Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
				t.Errorf("%s for %s: %v", f, host, err)
			}
		}
	}
	src := leaf(devissuer.FileSource)
	if _, err := src.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("source certificate: %v", err)
	}
	found := false
	for _, n := range src.Subject.Names {
		if n.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 97}) && n.Value == "NTRNO-991919198" {
			found = true
		}
	}
	if !found {
		t.Errorf("the source certificate does not carry organizationIdentifier NTRNO-991919198: %v", src.Subject)
	}
	if fi, err := os.Stat(pki.Path(devissuer.FileCAKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v %v", fi, err)
	}
	again, err := devissuer.LoadOrCreatePKI(dir, nil, "991919198")
	if err != nil || !again.CA.Equal(pki.CA) {
		t.Fatalf("the CA changed on reload (%v)", err)
	}
}
