package trust

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// SAMLSigner signs a SAML element (an assertion, or a protocol message)
// with an enveloped XML signature as SAMLVerifier expects one: exclusive
// C14N, RSA-SHA256, the "ds" prefix, KeyInfo with the signing certificate,
// and the ds:Signature placed right after the element's Issuer (first
// when it has none), as SAML 2.0 core §5.4.1 requires. It is what XUA
// assertions are minted with, and what the tests sign their assertions
// with, so both make the same signature.
type SAMLSigner struct {
	// Key signs; Cert is its certificate, carried in KeyInfo.
	Key  crypto.Signer
	Cert *x509.Certificate
	// Hash replaces SHA-256, Canonicalizer exclusive C14N, when set (a
	// test making a signature the verifier must refuse).
	Hash          crypto.Hash
	Canonicalizer dsig.Canonicalizer
	// OmitKeyInfo leaves KeyInfo out: the verifier then tries every
	// trusted certificate.
	OmitKeyInfo bool
}

// Sign signs el in place, replacing any signature it carries. el must have
// the ID attribute the signature refers to; namespaces declared on its
// ancestors are taken into the signed content.
func (s *SAMLSigner) Sign(el *etree.Element) error {
	if s.Key == nil || s.Cert == nil {
		return errors.New("trust: SAMLSigner needs Key and Cert")
	}
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			el.RemoveChild(c)
		}
	}
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return fmt.Errorf("trust: signing SAML: %w", err)
	}
	ctx.Prefix = "ds"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if s.Canonicalizer != nil {
		ctx.Canonicalizer = s.Canonicalizer
	}
	if s.Hash != 0 {
		ctx.Hash = s.Hash
	}
	nsctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return fmt.Errorf("trust: signing SAML: %w", err)
	}
	detached, err := etreeutils.NSDetatch(nsctx, el)
	if err != nil {
		return fmt.Errorf("trust: signing SAML: %w", err)
	}
	sig, err := ctx.ConstructSignature(detached, true)
	if err != nil {
		return fmt.Errorf("trust: signing SAML: %w", err)
	}
	if s.OmitKeyInfo {
		for _, c := range sig.ChildElements() {
			if c.Tag == "KeyInfo" {
				sig.RemoveChild(c)
			}
		}
	}
	at := 0
	for _, c := range el.ChildElements() {
		if c.Tag == "Issuer" && c.NamespaceURI() == nsSAML {
			at = c.Index() + 1
			break
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}
