package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"pjd/trust"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// Test certificates, generated when a test needs them and never written
// to disk: a CA for source (client) certificates, leaves under it, and an
// XUA signing key.

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial struct {
	sync.Mutex
	n int64
}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(serial.n)
}

// issue creates the certificate tpl describes (with the next serial
// number) for pub, signed by parent's key, or self-signed when parent is
// nil.
func issue(t *testing.T, tpl *x509.Certificate, pub, key any, parent *x509.Certificate) *x509.Certificate {
	t.Helper()
	tpl.SerialNumber = nextSerial()
	if parent == nil {
		parent = tpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newECKey(t)
	cert := issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"pjd test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, &key.PublicKey, key, nil)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// clientCert issues a TLS client certificate for subject. Norwegian
// enterprise certificates carry the organisation number in
// organizationIdentifier ("NTRNO-<orgnr>") or in serialNumber.
func (ca *testCA) clientCert(t *testing.T, subject pkix.Name) tls.Certificate {
	t.Helper()
	key := newECKey(t)
	cert := issue(t, &x509.Certificate{
		Subject:     subject,
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &key.PublicKey, ca.key, ca.cert)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
}

func orgSubject(cn, org, orgIdentifier, serialNumber string) pkix.Name {
	n := pkix.Name{CommonName: cn, Country: []string{"NO"}, SerialNumber: serialNumber}
	if org != "" {
		n.Organization = []string{org}
	}
	if orgIdentifier != "" {
		n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidOrganizationIdentifier, Value: orgIdentifier}}
	}
	return n
}

// xuaSigner signs XUA assertions with a self-signed certificate.
type xuaSigner struct {
	*trust.SAMLSigner
	cert *x509.Certificate
}

func newXUASigner(t *testing.T) *xuaSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "pjd test XUA signer"},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}, &key.PublicKey, key, nil)
	return &xuaSigner{SAMLSigner: &trust.SAMLSigner{Key: key, Cert: cert}, cert: cert}
}

// sign replaces a's signature with trust.SAMLSigner's.
func (s *xuaSigner) sign(t *testing.T, a *etree.Element) {
	t.Helper()
	if err := s.Sign(a); err != nil {
		t.Fatal(err)
	}
}
