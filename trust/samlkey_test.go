package trust_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"pjd/trust"
)

// TestLoadSAMLSigner: a certificate with its key (PKCS#8 or PKCS#1) loads;
// a key of another certificate, a file without PEM, or a missing file is
// an error.
func TestLoadSAMLSigner(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, other := testSigners()[0], testSigners()[1]
	cert := write("cert.pem", "CERTIFICATE", s.cert.Raw)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	key8 := write("key8.pem", "PRIVATE KEY", pkcs8)
	key1 := write("key1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(s.key))
	otherKey := write("other.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(other.key))
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, cert, key string
		ok              bool
	}{
		{"PKCS#8", cert, key8, true},
		{"PKCS#1", cert, key1, true},
		{"another certificate's key", cert, otherKey, false},
		{"key file without PEM", cert, garbage, false},
		{"certificate file without PEM", garbage, key8, false},
		{"missing key", cert, filepath.Join(dir, "none.pem"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := trust.LoadSAMLSigner(c.cert, c.key)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && !got.Cert.Equal(s.cert) {
				t.Fatal("wrong certificate")
			}
		})
	}
}
