package trust_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"pjd/trust"
)

const (
	sampleKJ       = "saml/xca_iti38_request_helseid_saml_trustframework_kj.xml"
	sampleRetrieve = "saml/xca_iti39_request_helseid_saml_kj.xml"
	sampleCitizen  = "saml/xca_iti38_request_helsenorge_citizen_saml_hn.xml"

	nsSAML = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig = "http://www.w3.org/2000/09/xmldsig#"
)

// Instants inside the samples' validity.
var (
	kjNow      = time.Date(2025, 7, 31, 19, 0, 0, 0, time.UTC) // iti38/iti39: 18:49:15–19:49:15
	citizenNow = time.Date(2025, 8, 29, 9, 50, 0, 0, time.UTC) // 09:41:56–10:01:56
)

// signer is a test SAML signing key with a self-signed certificate.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	signersOnce sync.Once
	signers     []*signer
)

// testSigners returns [trusted, untrusted, expired-cert] signers.
func testSigners() []*signer {
	signersOnce.Do(func() {
		rk, _ := testKeys()
		mk := func(k *rsa.PrivateKey, cn string, from, to time.Time) *signer {
			tpl := &x509.Certificate{
				SerialNumber: big.NewInt(time.Now().UnixNano()),
				Subject:      pkix.Name{CommonName: cn, Organization: []string{"pjd test"}},
				NotBefore:    from,
				NotAfter:     to,
				KeyUsage:     x509.KeyUsageDigitalSignature,
			}
			der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
			if err != nil {
				panic(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			return &signer{key: k, cert: c}
		}
		long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		end := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
		signers = []*signer{
			mk(rk[0], "pjd test XUA signer", long, end),
			mk(rk[1], "untrusted signer", long, end),
			mk(rk[2], "expired signer", long, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		}
	})
	return signers
}

func parseDoc(t testing.TB, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return doc
}

// security finds wsse:Security in doc.
func security(t testing.TB, doc *etree.Document) *etree.Element {
	t.Helper()
	var found *etree.Element
	walkEl(doc.Root(), func(el *etree.Element) {
		if el.Tag == "Security" && found == nil {
			found = el
		}
	})
	if found == nil {
		t.Fatal("no Security header")
	}
	return found
}

func walkEl(el *etree.Element, fn func(*etree.Element)) {
	fn(el)
	for _, c := range el.ChildElements() {
		walkEl(c, fn)
	}
}

func assertionOf(t testing.TB, doc *etree.Document) *etree.Element {
	t.Helper()
	var found *etree.Element
	walkEl(doc.Root(), func(el *etree.Element) {
		if el.Tag == "Assertion" && el.NamespaceURI() == nsSAML && found == nil {
			found = el
		}
	})
	if found == nil {
		t.Fatal("no assertion")
	}
	return found
}

func samlChildEl(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

func removeSignature(a *etree.Element) {
	for _, c := range a.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			a.RemoveChild(c)
		}
	}
}

type signOpts struct {
	hash          crypto.Hash
	canonicalizer dsig.Canonicalizer
	noKeyInfo     bool
}

// sign (re-)signs the assertion in place: the old signature is removed,
// mutate runs, and trust.SAMLSigner signs it.
func sign(t testing.TB, a *etree.Element, s *signer, o signOpts, mutate func(a *etree.Element)) {
	t.Helper()
	removeSignature(a)
	if mutate != nil {
		mutate(a)
	}
	ss := &trust.SAMLSigner{Key: s.key, Cert: s.cert, Hash: o.hash, Canonicalizer: o.canonicalizer, OmitKeyInfo: o.noKeyInfo}
	if err := ss.Sign(a); err != nil {
		t.Fatal(err)
	}
}

// wire serialises doc and parses it again, as a receiver would.
func wire(t testing.TB, doc *etree.Document) *etree.Document {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return parseDoc(t, b)
}

func samlVerifier(t testing.TB, now time.Time, certs ...*x509.Certificate) *trust.SAMLVerifier {
	t.Helper()
	if len(certs) == 0 {
		certs = []*x509.Certificate{testSigners()[0].cert}
	}
	v, err := trust.NewSAMLVerifier(trust.SAMLConfig{
		TrustedCertificates: certs,
		Issuers:             []string{"https://helseid-xdssaml.test.nhn.no", "sikkerhet.helsenorge.no"},
		Audiences:           []string{"nhn:dokumentdeling-saml", "https://xds-web.test.nhn.no/"},
		Now:                 func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sampleCert is the certificate embedded in a sample's KeyInfo.
func sampleCert(t testing.TB, doc *etree.Document) *x509.Certificate {
	t.Helper()
	var text string
	walkEl(doc.Root(), func(el *etree.Element) {
		if el.Tag == "X509Certificate" {
			text = el.Text()
		}
	})
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The NHN samples were edited after signing: with their own (NHN test)
// certificate trusted and the clock inside their validity they must be
// refused as tampered — never as anything weaker.
func TestSAMLSamplesAsPublishedAreTampered(t *testing.T) {
	for _, c := range []struct {
		file string
		now  time.Time
	}{{sampleKJ, kjNow}, {sampleRetrieve, kjNow}, {sampleCitizen, citizenNow}} {
		t.Run(c.file, func(t *testing.T) {
			doc := parseDoc(t, readFixture(t, c.file))
			v := samlVerifier(t, c.now, sampleCert(t, doc))
			p, err := v.Verify(context.Background(), security(t, doc))
			if p != nil {
				t.Fatalf("principal from a tampered assertion: %+v", p)
			}
			wantKind(t, err, trust.KindSAMLSignature)

			// Not trusting NHN's certificate refuses it earlier.
			_, err = samlVerifier(t, c.now).Verify(context.Background(), security(t, doc))
			wantKind(t, err, trust.KindSAMLUntrustedCert)
		})
	}
}

// Re-signed with a trusted test key, the same assertions yield the
// Principal their attributes describe.
func TestSAMLSamplesResigned(t *testing.T) {
	for _, c := range []struct {
		file, golden string
		now          time.Time
		kind         trust.PrincipalKind
	}{
		{sampleKJ, "principal_saml_iti38_kj.json", kjNow, trust.HealthWorker},
		{sampleRetrieve, "principal_saml_iti39_kj.json", kjNow, trust.HealthWorker},
		{sampleCitizen, "principal_saml_iti38_citizen.json", citizenNow, trust.Citizen},
	} {
		t.Run(c.file, func(t *testing.T) {
			doc := parseDoc(t, readFixture(t, c.file))
			sign(t, assertionOf(t, doc), testSigners()[0], signOpts{}, nil)
			doc = wire(t, doc)
			p, err := samlVerifier(t, c.now).Verify(context.Background(), security(t, doc))
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != c.kind || p.Credential != trust.CredentialXUASAML {
				t.Fatalf("principal %+v", p)
			}
			golden(t, c.golden, p)
		})
	}
}

type samlRow struct {
	name string
	kind trust.Kind
	now  time.Time // default kjNow
	// build returns the Security element to verify.
	build func(t *testing.T) *etree.Element
	certs []*x509.Certificate
}

// signedKJ returns the KJ sample re-signed by the trusted signer, after
// mutate (applied before signing).
func signedKJ(t *testing.T, mutate func(a *etree.Element)) *etree.Document {
	doc := parseDoc(t, readFixture(t, sampleKJ))
	sign(t, assertionOf(t, doc), testSigners()[0], signOpts{}, mutate)
	return wire(t, doc)
}

// afterSigning mutates the signed document (the attack), then goes over the wire.
func afterSigning(mut func(t *testing.T, doc *etree.Document, a *etree.Element)) func(t *testing.T) *etree.Element {
	return func(t *testing.T) *etree.Element {
		doc := signedKJ(t, nil)
		mut(t, doc, assertionOf(t, doc))
		doc = wire(t, doc)
		return security(t, doc)
	}
}

func attributeValue(a *etree.Element, name string) *etree.Element {
	var found *etree.Element
	walkEl(a, func(el *etree.Element) {
		if el.Tag == "Attribute" && el.SelectAttrValue("Name", "") == name && found == nil {
			found = samlChildEl(el, "AttributeValue")
		}
	})
	return found
}

// evil returns a copy of the signed assertion with the role changed to the
// attacker's liking, its signature removed, and (optionally) a new ID.
func evil(a *etree.Element, id string) *etree.Element {
	e := a.Copy()
	removeSignature(e)
	if id != "" {
		e.CreateAttr("ID", id)
	}
	if v := attributeValue(e, "urn:oasis:names:tc:xspa:1.0:subject:subject-id"); v != nil {
		v.SetText("MALLORY")
	}
	return e
}

// swap puts e where a stands, leaving a detached, and returns their
// parent.
func swap(a, e *etree.Element) *etree.Element {
	parent := a.Parent()
	idx := a.Index()
	parent.RemoveChild(a)
	parent.InsertChildAt(idx, e)
	return parent
}

func samlRejections() []samlRow {
	return []samlRow{
		{name: "no Security header", kind: trust.KindSAMLMissing, build: func(t *testing.T) *etree.Element { return nil }},
		{name: "no assertion", kind: trust.KindSAMLMissing, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			a.Parent().RemoveChild(a)
		})},
		{name: "unsigned", kind: trust.KindSAMLUnsigned, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			removeSignature(a)
		})},
		{name: "tampered attribute (role)", kind: trust.KindSAMLSignature, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			v := attributeValue(a, "urn:oasis:names:tc:xspa:1.0:subject:role")
			v.SetText(strings.Replace(v.Text(), `code="LE"`, `code="SP"`, 1))
		})},
		{name: "tampered subject NameID", kind: trust.KindSAMLSignature, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			samlChildEl(samlChildEl(a, "Subject"), "NameID").SetText("03916840089")
		})},
		{name: "tampered NotOnOrAfter", kind: trust.KindSAMLSignature, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			samlChildEl(a, "Conditions").CreateAttr("NotOnOrAfter", "2035-07-31T19:49:15.333Z")
		})},
		{name: "tampered signature value", kind: trust.KindSAMLSignature, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			sv := samlChildEl(samlChildEl(a, "Signature"), "SignatureValue")
			b := []byte(sv.Text())
			b[10] ^= 0x01
			sv.SetText(string(b))
		})},
		// Signature wrapping (Somorovsky et al., "On Breaking SAML", XSW1–8 adapted to XUA).
		{name: "XSW evil assertion before the signed one", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			a.Parent().InsertChildAt(a.Index(), evil(a, "_evil"))
		})},
		{name: "XSW evil assertion after the signed one", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			a.Parent().InsertChildAt(a.Index()+1, evil(a, "_evil"))
		})},
		{name: "XSW signed assertion wrapped inside the evil one", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			e := evil(a, "_evil")
			swap(a, e)
			e.AddChild(a)
		})},
		{name: "XSW signed assertion in the evil one's Advice, same ID", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			e := evil(a, "")
			swap(a, e)
			e.CreateElement("saml:Advice").AddChild(a)
		})},
		{name: "XSW signed assertion in the signature's Object of the evil one", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			e := evil(a, "")
			sig := samlChildEl(a, "Signature").Copy()
			e.InsertChildAt(1, sig)
			swap(a, e)
			sig.CreateElement("ds:Object").AddChild(a)
		})},
		{name: "XSW evil assertion carrying the copied signature, original moved to another header", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			e := evil(a, "")
			e.InsertChildAt(1, samlChildEl(a, "Signature").Copy())
			ext := swap(a, e).Parent().CreateElement("x:Extra")
			ext.CreateAttr("xmlns:x", "urn:example:extra")
			ext.AddChild(a)
		})},
		{name: "XSW evil assertion carrying the copied signature alone", kind: trust.KindSAMLSignature, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			e := evil(a, "")
			e.InsertChildAt(1, samlChildEl(a, "Signature").Copy())
			swap(a, e)
		})},
		{name: "XSW duplicate ID elsewhere in the envelope", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			body := doc.Root().SelectElement("s:Body")
			d := body.CreateElement("x:Decoy")
			d.CreateAttr("xmlns:x", "urn:example:decoy")
			d.CreateAttr("ID", a.SelectAttrValue("ID", ""))
		})},
		{name: "XSW signature referencing another element", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			ref := samlChildEl(samlChildEl(samlChildEl(a, "Signature"), "SignedInfo"), "Reference")
			ref.CreateAttr("URI", "#_timestamp")
		})},
		{name: "XSW signature with two references", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			si := samlChildEl(samlChildEl(a, "Signature"), "SignedInfo")
			ref := samlChildEl(si, "Reference").Copy()
			ref.CreateAttr("URI", "#_other")
			si.AddChild(ref)
		})},
		{name: "XSW signature moved out of the assertion", kind: trust.KindSAMLUnsigned, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			sig := samlChildEl(a, "Signature")
			a.RemoveChild(sig)
			a.Parent().AddChild(sig)
		})},
		{name: "XSW second signature nested in the assertion", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			sig := samlChildEl(a, "Signature").Copy()
			samlChildEl(a, "Subject").AddChild(sig)
		})},
		{name: "XSW assertion hidden in another header element", kind: trust.KindSAMLWrapping, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			sec := a.Parent()
			sec.RemoveChild(a)
			w := sec.CreateElement("x:Wrapper")
			w.CreateAttr("xmlns:x", "urn:example:wrap")
			w.AddChild(a)
		})},
		{name: "signed response with an unsigned assertion", kind: trust.KindSAMLUnsigned, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			a := assertionOf(t, doc)
			removeSignature(a)
			sec := a.Parent()
			sec.RemoveChild(a)
			resp := sec.CreateElement("samlp:Response")
			resp.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
			resp.CreateAttr("ID", "_response")
			resp.CreateAttr("Version", "2.0")
			resp.AddChild(a)
			sec.RemoveChild(resp)
			sec.InsertChildAt(0, resp)
			// Sign the Response (as an IdP would), not the assertion.
			s := testSigners()[0]
			if err := (&trust.SAMLSigner{Key: s.key, Cert: s.cert}).Sign(resp); err != nil {
				t.Fatal(err)
			}
			return security(t, wire(t, doc))
		}},
		{name: "expired", kind: trust.KindSAMLExpired, now: kjNow.Add(time.Hour), build: afterSigning(func(*testing.T, *etree.Document, *etree.Element) {})},
		{name: "not yet valid", kind: trust.KindSAMLNotYetValid, now: kjNow.Add(-time.Hour), build: afterSigning(func(*testing.T, *etree.Document, *etree.Element) {})},
		{name: "wrong audience", kind: trust.KindSAMLAudience, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				walkEl(a, func(el *etree.Element) {
					if el.Tag == "Audience" {
						el.SetText("urn:someone-else")
					}
				})
			}))
		}},
		{name: "no audience restriction", kind: trust.KindSAMLAudience, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				c := samlChildEl(a, "Conditions")
				c.RemoveChild(samlChildEl(c, "AudienceRestriction"))
			}))
		}},
		{name: "issuer not on the allow-list", kind: trust.KindSAMLIssuer, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				samlChildEl(a, "Issuer").SetText("https://idp.evil.example")
			}))
		}},
		{name: "untrusted certificate in KeyInfo", kind: trust.KindSAMLUntrustedCert, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			sign(t, assertionOf(t, doc), testSigners()[1], signOpts{}, nil)
			return security(t, wire(t, doc))
		}},
		{name: "untrusted key without KeyInfo", kind: trust.KindSAMLSignature, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			sign(t, assertionOf(t, doc), testSigners()[1], signOpts{noKeyInfo: true}, nil)
			return security(t, wire(t, doc))
		}},
		{name: "trusted certificate expired", kind: trust.KindSAMLUntrustedCert, certs: []*x509.Certificate{testSigners()[2].cert}, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			sign(t, assertionOf(t, doc), testSigners()[2], signOpts{}, nil)
			return security(t, wire(t, doc))
		}},
		{name: "rsa-sha1", kind: trust.KindSAMLAlgorithm, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			sign(t, assertionOf(t, doc), testSigners()[0], signOpts{hash: crypto.SHA1}, nil)
			return security(t, wire(t, doc))
		}},
		{name: "inclusive C14N 1.1", kind: trust.KindSAMLAlgorithm, build: func(t *testing.T) *etree.Element {
			doc := parseDoc(t, readFixture(t, sampleKJ))
			sign(t, assertionOf(t, doc), testSigners()[0], signOpts{canonicalizer: dsig.MakeC14N11Canonicalizer()}, nil)
			return security(t, wire(t, doc))
		}},
		{name: "security level 3", kind: trust.KindSecurityLevel, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				attributeValue(a, "urn:no:ehelse:saml:1.0:subject:SecurityLevel").SetText("3")
			}))
		}},
		{name: "contradicting roles", kind: trust.KindSAMLAttributes, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				v := attributeValue(a, "urn:oasis:names:tc:xacml:2.0:subject:role")
				v.SetText(strings.Replace(v.Text(), `code="LE"`, `code="PS"`, 1))
			}))
		}},
		{name: "malformed decision-ref", kind: trust.KindAttestationDecisionRef, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				attributeValue(a, "urn:nhn:trust-framework:1.0:ext:care-relationship:decision-ref").SetText(`<decision-ref><id value="not-a-uuid"/><user-selected value="True"/></decision-ref>`)
			}))
		}},
		{name: "unknown purpose of use", kind: trust.KindAttestationPurpose, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				for _, n := range []string{"urn:oasis:names:tc:xspa:1.0:subject:purposeOfUse", "urn:oasis:names:tc:xacml:2.0:action:purpose"} {
					v := attributeValue(a, n)
					v.SetText(strings.Replace(v.Text(), `code="TREAT"`, `code="HMARKT"`, 1))
				}
			}))
		}},
		{name: "missing legal entity", kind: trust.KindAttestationInvalid, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				walkEl(a, func(el *etree.Element) {
					if el.Tag == "Attribute" && el.SelectAttrValue("Name", "") == "urn:oasis:names:tc:xspa:1.0:subject:organization-id" {
						el.Parent().RemoveChild(el)
					}
				})
			}))
		}},
		{name: "subject not a national identity number", kind: trust.KindSAMLAttributes, build: func(t *testing.T) *etree.Element {
			return security(t, signedKJ(t, func(a *etree.Element) {
				samlChildEl(samlChildEl(a, "Subject"), "NameID").SetText("12345678901")
			}))
		}},
		{name: "header nested too deeply", kind: trust.KindSAMLMalformed, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			el := a.Parent().CreateElement("x:Deep")
			el.CreateAttr("xmlns:x", "urn:example:deep")
			for i := 0; i < 600; i++ {
				el = el.CreateElement("x:Deep")
			}
		})},
		{name: "encrypted assertion", kind: trust.KindSAMLMalformed, build: afterSigning(func(t *testing.T, doc *etree.Document, a *etree.Element) {
			sec := a.Parent()
			sec.RemoveChild(a)
			sec.CreateElement("saml:EncryptedAssertion").CreateAttr("xmlns:saml", nsSAML)
		})},
	}
}

func TestSAMLRejections(t *testing.T) {
	for _, row := range samlRejections() {
		t.Run(row.name, func(t *testing.T) {
			now := row.now
			if now.IsZero() {
				now = kjNow
			}
			v := samlVerifier(t, now, row.certs...)
			p, err := v.Verify(context.Background(), row.build(t))
			if p != nil {
				t.Errorf("principal returned with a rejection: %+v", p)
			}
			wantKind(t, err, row.kind)
		})
	}
}

// Only the signed content is read: a comment splitting the NameID (which
// exclusive C14N without comments ignores) does not truncate the subject.
func TestSAMLReadsOnlyTheCanonicalSignedContent(t *testing.T) {
	doc := signedKJ(t, nil)
	a := assertionOf(t, doc)
	nameID := samlChildEl(samlChildEl(a, "Subject"), "NameID")
	text := nameID.Text()
	nameID.SetText(text[:5])
	nameID.CreateComment("injected")
	nameID.CreateText(text[5:])
	doc = wire(t, doc)
	p, err := samlVerifier(t, kjNow).Verify(context.Background(), security(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != text {
		t.Fatalf("subject %q, want %q", p.Subject, text)
	}
}

// Without KeyInfo, every trusted certificate is tried.
func TestSAMLWithoutKeyInfoTriesTrustedCertificates(t *testing.T) {
	doc := parseDoc(t, readFixture(t, sampleKJ))
	sign(t, assertionOf(t, doc), testSigners()[0], signOpts{noKeyInfo: true}, nil)
	doc = wire(t, doc)
	v := samlVerifier(t, kjNow, testSigners()[1].cert, testSigners()[0].cert)
	if _, err := v.Verify(context.Background(), security(t, doc)); err != nil {
		t.Fatal(err)
	}
}

// The assertion may rely on namespace declarations of the envelope.
func TestSAMLInheritedNamespaces(t *testing.T) {
	doc := parseDoc(t, readFixture(t, sampleKJ))
	a := assertionOf(t, doc)
	for i, at := range a.Attr {
		if at.Space == "xmlns" && at.Key == "saml" {
			a.Attr = append(a.Attr[:i], a.Attr[i+1:]...)
			break
		}
	}
	doc.Root().CreateAttr("xmlns:saml", nsSAML)
	sign(t, a, testSigners()[0], signOpts{}, nil)
	doc = wire(t, doc)
	if _, err := samlVerifier(t, kjNow).Verify(context.Background(), security(t, doc)); err != nil {
		t.Fatal(err)
	}
}

// TestSAMLSigner: a signature made by SAMLSigner replaces the one the
// assertion carried, sits right after Issuer, and verifies; one without
// a key is refused.
func TestSAMLSigner(t *testing.T) {
	doc := parseDoc(t, readFixture(t, sampleKJ))
	a := assertionOf(t, doc)
	s := testSigners()[0]
	for range 2 {
		if err := (&trust.SAMLSigner{Key: s.key, Cert: s.cert}).Sign(a); err != nil {
			t.Fatal(err)
		}
	}
	var sigs []int
	for i, c := range a.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			sigs = append(sigs, i)
		}
	}
	if len(sigs) != 1 || a.ChildElements()[sigs[0]-1].Tag != "Issuer" {
		t.Fatalf("signatures at %v, want one right after Issuer", sigs)
	}
	p, err := samlVerifier(t, kjNow, s.cert).Verify(t.Context(), security(t, wire(t, doc)))
	if err != nil || p.Credential != trust.CredentialXUASAML {
		t.Fatalf("verifying the signed assertion: %+v %v", p, err)
	}
	if err := (&trust.SAMLSigner{Cert: s.cert}).Sign(a); err == nil {
		t.Fatal("signed without a key")
	}
}
