package trust_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"pjd/trust"
)

// stripWhitespace removes the white-space-only text between elements
// (undoing a pretty-print) everywhere below el.
func stripWhitespace(el *etree.Element) {
	if len(el.ChildElements()) > 0 {
		for _, c := range append([]etree.Token(nil), el.Child...) {
			if cd, ok := c.(*etree.CharData); ok && strings.TrimSpace(cd.Data) == "" {
				el.RemoveChild(cd)
			}
		}
	}
	for _, c := range el.ChildElements() {
		stripWhitespace(c)
	}
}

// TestSAMLWhitespaceIsSigned is the regression test research digest §3.6
// asks for: NHN's S-KJ39 carries a genuine NHN signature over its compact
// form, and was pretty-printed after signing. With NHN's certificate
// trusted, the compact form verifies — so the signature is real — and the
// sample as published does not: pjd canonicalizes the bytes as received
// and never strips white space before checking (a verifier that did would
// accept content the signer never signed).
func TestSAMLWhitespaceIsSigned(t *testing.T) {
	raw := readFixture(t, sampleRetrieve)
	cert := sampleCert(t, parseDoc(t, raw))

	published := parseDoc(t, raw)
	_, err := samlVerifier(t, kjNow, cert).Verify(t.Context(), security(t, published))
	var te *trust.Error
	if !errors.As(err, &te) || te.Kind != trust.KindSAMLSignature {
		t.Fatalf("as published: err = %v, want %v", err, trust.KindSAMLSignature)
	}

	compact := parseDoc(t, raw)
	stripWhitespace(assertionOf(t, compact))
	p, err := samlVerifier(t, kjNow, cert).Verify(t.Context(), security(t, wire(t, compact)))
	if err != nil {
		t.Fatalf("the compact form does not verify with NHN's certificate (is the fixture still NHN's?): %v", err)
	}
	if p.Subject != "06828399789" {
		t.Fatalf("principal %+v", p)
	}
}
