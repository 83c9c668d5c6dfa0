package devissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of a PKI folder (see LoadOrCreatePKI).
const (
	FileCA        = "ca.pem"
	FileCAKey     = "ca-key.pem"
	FileIssuer    = "issuer.pem" // the dev issuer's HTTPS certificate
	FileIssuerKey = "issuer-key.pem"
	FileServer    = "server.pem" // for pjd serve --tls-cert
	FileServerKey = "server-key.pem"
	FileSource    = "source.pem" // a document source's client certificate
	FileSourceKey = "source-key.pem"
	FileXUA       = "xua.pem" // signs XUA assertions (pjd serve --saml-cert)
	FileXUAKey    = "xua-key.pem"
)

// PKI is the dev issuer's own certificate authority and what it issued,
// in one folder, for running pjd serve in production mode (TLS, source
// mutual TLS, XUA, a non-dev issuer) on one machine without the real
// HelseID, Buypass or Commfides. Everything in it is synthetic and only
// for tests; trust ca.pem nowhere else.
type PKI struct {
	Dir string
	CA  *x509.Certificate
	// SourceOrgNr is the organisation number in the source certificate.
	SourceOrgNr string
}

// Path is the path of one of the PKI's files (FileCA …).
func (p *PKI) Path(file string) string { return filepath.Join(p.Dir, file) }

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// LoadOrCreatePKI opens the PKI in dir, creating what is missing: the CA,
// an HTTPS certificate for the issuer and one for pjd serve (both for
// hosts: IP addresses or DNS names), a source system's client certificate
// for organisation number sourceOrg (in organizationIdentifier,
// "NTRNO-<orgnr>", as Norwegian enterprise certificates carry it), and an
// XUA signing certificate. Existing files are kept, so the CA survives a
// restart; delete the folder to start over.
func LoadOrCreatePKI(dir string, hosts []string, sourceOrg string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	p := &PKI{Dir: dir, SourceOrgNr: sourceOrg}
	ca, caKey, err := p.loadOrCreateCA()
	if err != nil {
		return nil, err
	}
	p.CA = ca
	var ips []net.IP
	var names []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			names = append(names, h)
		}
	}
	leaves := []struct {
		cert, key string
		tpl       func() *x509.Certificate
		rsa       bool
	}{
		{FileIssuer, FileIssuerKey, func() *x509.Certificate {
			return serverTemplate("pjd dev issuer", names, ips)
		}, false},
		{FileServer, FileServerKey, func() *x509.Certificate {
			return serverTemplate("pjd (production-mode test)", names, ips)
		}, false},
		{FileSource, FileSourceKey, func() *x509.Certificate {
			return &x509.Certificate{
				Subject: pkix.Name{CommonName: "Syntetisk EPJ (test source)", Organization: []string{"Testsykehuset HF"}, Country: []string{"NO"},
					ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidOrganizationIdentifier, Value: "NTRNO-" + sourceOrg}}},
				KeyUsage:    x509.KeyUsageDigitalSignature,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}
		}, false},
		{FileXUA, FileXUAKey, func() *x509.Certificate {
			return &x509.Certificate{Subject: pkix.Name{CommonName: "pjd dev issuer XUA signer"}, KeyUsage: x509.KeyUsageDigitalSignature}
		}, true},
	}
	for _, l := range leaves {
		if exists(p.Path(l.cert)) && exists(p.Path(l.key)) {
			continue
		}
		if err := p.issue(ca, caKey, l.tpl(), l.cert, l.key, l.rsa); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func serverTemplate(cn string, names []string, ips []net.IP) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    names,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func (p *PKI) loadOrCreateCA() (*x509.Certificate, crypto.Signer, error) {
	return loadOrCreateSelfSigned(p.Path(FileCA), p.Path(FileCAKey), false, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "pjd dev issuer CA (synthetic, for tests only)"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	})
}

// loadOrCreateSelfSigned opens the certificate and key at certPath and
// keyPath or, when either is missing, makes a key (RSA-2048 or P-256) and
// a certificate from tpl, self-signed and valid for two years, and writes
// both.
func loadOrCreateSelfSigned(certPath, keyPath string, useRSA bool, tpl *x509.Certificate) (*x509.Certificate, crypto.Signer, error) {
	if exists(certPath) && exists(keyPath) {
		cert, err := readCert(certPath)
		if err != nil {
			return nil, nil, err
		}
		key, err := readKey(keyPath)
		if err != nil {
			return nil, nil, err
		}
		return cert, key, nil
	}
	key, err := newKey(useRSA)
	if err != nil {
		return nil, nil, err
	}
	tpl.SerialNumber = serialNumber()
	tpl.NotBefore = time.Now().Add(-time.Hour)
	tpl.NotAfter = time.Now().AddDate(2, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writeCertPEM(certPath, der); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// newKey returns a new RSA-2048 or P-256 key.
func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func (p *PKI) issue(ca *x509.Certificate, caKey crypto.Signer, tpl *x509.Certificate, certFile, keyFile string, useRSA bool) error {
	key, err := newKey(useRSA)
	if err != nil {
		return err
	}
	tpl.SerialNumber = serialNumber()
	tpl.NotBefore = time.Now().Add(-time.Hour)
	tpl.NotAfter = time.Now().AddDate(1, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("devissuer: issuing %s: %w", certFile, err)
	}
	if err := writePEM(p.Path(keyFile), key); err != nil {
		return err
	}
	return writeCertPEM(p.Path(certFile), der)
}

func serialNumber() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func writePEM(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func writeCertPEM(path string, der []byte) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFile writes atomically (temporary file, then rename).
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("devissuer: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("devissuer: %s holds no certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("devissuer: %s holds no key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devissuer: %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("devissuer: " + path + " is not a signing key")
	}
	return s, nil
}

// Files of the XUA signing key pjd serve --dev generates in its
// dev-issuer folder (LoadOrCreateXUASigner): the certificate is what
// another server trusts through --saml-cert.
const (
	FileDevXUACert = "xua-cert.pem"
	FileDevXUAKey  = "xua-signing-key.pem"
)

// LoadOrCreateXUASigner opens the XUA signing key and its self-signed
// certificate in dir (FileDevXUAKey, FileDevXUACert), creating both when
// either is missing: an RSA-2048 key (XUA signatures are RSA-SHA256) and a
// certificate valid for two years. Synthetic, for --dev only.
func LoadOrCreateXUASigner(dir string) (crypto.Signer, *x509.Certificate, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("devissuer: %w", err)
	}
	cert, key, err := loadOrCreateSelfSigned(filepath.Join(dir, FileDevXUACert), filepath.Join(dir, FileDevXUAKey), true,
		&x509.Certificate{
			Subject:  pkix.Name{CommonName: "pjd serve --dev XUA signer (synthetic, for tests only)"},
			KeyUsage: x509.KeyUsageDigitalSignature,
		})
	return key, cert, err
}
