package trust

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadSAMLSigner reads a SAML signing certificate and its private key
// (PEM files; the key PKCS#8, PKCS#1 RSA or SEC 1 EC), as pjd serve
// --xua-signing-cert/--xua-signing-key name them, and checks that they
// belong together.
func LoadSAMLSigner(certPath, keyPath string) (*SAMLSigner, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(cb)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	block, _ = pem.Decode(kb)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", keyPath)
	}
	var k any
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New(keyPath + " is not a signing key")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := s.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	return &SAMLSigner{Key: s, Cert: cert}, nil
}
