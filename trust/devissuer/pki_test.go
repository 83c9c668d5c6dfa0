package devissuer_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"pjd/trust/devissuer"
)

// TestXUASigner: the --dev XUA signer is an RSA key with a self-signed
// signing certificate for it, valid two years, made once and then loaded.
func TestXUASigner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "xua")
	key, cert, err := devissuer.LoadOrCreateXUASigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("key %T, want RSA-2048", key.Public())
	}
	if !pub.Equal(cert.PublicKey) {
		t.Error("the certificate is not for the key")
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("IsCA %v, KeyUsage %v; want a signing certificate", cert.IsCA, cert.KeyUsage)
	}
	// NotBefore is an hour before the certificate was made, NotAfter two
	// years after (certificate times have whole seconds).
	if d := cert.NotAfter.Sub(cert.NotBefore.Add(time.Hour).AddDate(2, 0, 0)); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("valid %v to %v, want two years", cert.NotBefore, cert.NotAfter)
	}
	again, cert2, err := devissuer.LoadOrCreateXUASigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert2.Raw, cert.Raw) || !pub.Equal(again.Public()) {
		t.Error("a second call made a new signer instead of loading the first")
	}
}
