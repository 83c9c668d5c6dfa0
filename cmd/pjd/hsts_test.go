package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"pjd/conformance/testenv"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files in dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pjd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// With --tls-cert every response carries Strict-Transport-Security — the
// operational endpoints, the API's errors, the UI — and without it none
// does (a plain-HTTP response must not carry it).
func TestHSTSWithTLS(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"with --tls-cert", true}, {"without", false}} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--dev", "--listen", "127.0.0.1:" + strconv.Itoa(port), "--data", t.TempDir(), "--demo-data=false", "--sweep-interval=0"}
			if tc.tls {
				args = append(args, "--tls-cert", certFile, "--tls-key", keyFile)
			}
			fs := newFlagSet("serve", io.Discard)
			c := defineServeFlags(fs)
			if err := loadConfig(fs, args, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			a, err := buildApp(context.Background(), c, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			for _, path := range []string{"/healthz", "/fhir/R4/DocumentReference?patient.identifier=x", "/mhd/document", "/ui/", "/no/such/path"} {
				rec := httptest.NewRecorder()
				a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				got := rec.Header().Get("Strict-Transport-Security")
				switch {
				case tc.tls && got != "max-age=31536000; includeSubDomains":
					t.Errorf("GET %s (%d): Strict-Transport-Security %q", path, rec.Code, got)
				case !tc.tls && got != "":
					t.Errorf("GET %s over plain HTTP carries Strict-Transport-Security %q", path, got)
				}
			}
		})
	}
}
