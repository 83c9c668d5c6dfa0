package trust

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Namespaces.
const (
	nsSAML       = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP      = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig       = "http://www.w3.org/2000/09/xmldsig#"
	nsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

var (
	allowedSAMLSignatureMethods = []string{
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
		"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
	}
	allowedSAMLDigestMethods = []string{
		"http://www.w3.org/2001/04/xmlenc#sha256",
		"http://www.w3.org/2001/04/xmldsig-more#sha384",
		"http://www.w3.org/2001/04/xmlenc#sha512",
	}
	xmlIDPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// SAMLConfig configures a SAMLVerifier.
type SAMLConfig struct {
	// TrustedCertificates sign assertions we accept. A certificate sent in
	// KeyInfo is used only if it is one of these (byte-for-byte).
	TrustedCertificates []*x509.Certificate
	// Issuers is the allow-list of assertion Issuer values, e.g.
	// https://helseid-xdssaml.test.nhn.no, sikkerhet.helsenorge.no.
	Issuers []string
	// Audiences we answer to, e.g. nhn:dokumentdeling-saml.
	Audiences []string

	Now               func() time.Time
	Skew              time.Duration // NotBefore/NotOnOrAfter tolerance; default 5 s
	AttestationMaxAge time.Duration // IssueInstant counts as toa; default 60 min

	// CacheSize bounds how many verified assertions are remembered until
	// their NotOnOrAfter (see samlCache); 0 means DefaultSAMLCacheSize, a
	// negative value turns the cache off.
	CacheSize int
}

// SAMLVerifier verifies XUA SAML 2.0 assertions carried in a WS-Security
// header and builds the Principal. It is safe for concurrent use.
type SAMLVerifier struct {
	cfg   SAMLConfig
	cache *samlCache
}

// NewSAMLVerifier checks cfg and returns a SAMLVerifier.
func NewSAMLVerifier(cfg SAMLConfig) (*SAMLVerifier, error) {
	if len(cfg.TrustedCertificates) == 0 {
		return nil, errors.New("trust: no trusted SAML signing certificate configured")
	}
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("trust: no SAML issuer allowed")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("trust: no SAML audience configured")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.AttestationMaxAge <= 0 {
		cfg.AttestationMaxAge = 60 * time.Minute
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultSAMLCacheSize
	}
	// The verifier's own copies: what it trusts is fixed when it is made,
	// which is what its cache of verified assertions relies on.
	cfg.TrustedCertificates = slices.Clone(cfg.TrustedCertificates)
	cfg.Issuers = slices.Clone(cfg.Issuers)
	cfg.Audiences = slices.Clone(cfg.Audiences)
	return &SAMLVerifier{cfg: cfg, cache: newSAMLCache(cfg.CacheSize)}, nil
}

// CacheStats reports the verified assertions v remembers and how many
// times one was used (tests, metrics).
func (v *SAMLVerifier) CacheStats() (entries int, hits int64) { return v.cache.stats() }

func samlErr(k Kind, desc, detail string) *Error { return newErr(k, desc, detail) }

// Verify authenticates the assertion in security (the wsse:Security header
// element). The assertion must be the only one in the header, a direct
// child of it (or of a samlp:Response that is), and carry its own enveloped
// signature with exclusive C14N referencing its ID, made by a trusted
// certificate. Everything after the signature check — issuer, conditions,
// attributes — is read from the element the signature covers, as
// re-parsed from the verified canonical bytes, never from the request tree.
// The same assertion presented again before its NotOnOrAfter is answered
// from a cache of verified assertions (samlCache says what it never
// skips); where it sits in the message is checked every time.
func (v *SAMLVerifier) Verify(ctx context.Context, security *etree.Element) (*Principal, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Kind: KindInternal, Description: "internal error", Err: err}
	}
	if security == nil {
		return nil, samlErr(KindSAMLMissing, "no WS-Security header", "")
	}
	assertion, err := findAssertion(security)
	if err != nil {
		return nil, err
	}
	if err := checkUniqueID(security, assertion); err != nil {
		return nil, err
	}
	// Detach with the namespace declarations in scope, so the canonical
	// form does not depend on where the assertion sits in the envelope.
	nsctx, err := etreeutils.NSBuildParentContext(assertion)
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML assertion's namespaces are invalid", Err: err}
	}
	detached, err := etreeutils.NSDetatch(nsctx, assertion)
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML assertion's namespaces are invalid", Err: err}
	}
	sum, cacheable := [32]byte{}, false
	if v.cache != nil {
		if sum, cacheable = assertionSum(detached); cacheable {
			if p, ok := v.cache.get(sum, v.cfg.Now(), v.cfg.TrustedCertificates); ok {
				return p, nil
			}
		}
	}
	verified, cert, err := v.verifySignature(detached)
	if err != nil {
		return nil, err
	}
	p, err := v.principal(verified)
	if err != nil {
		return nil, err
	}
	if cacheable {
		exp := p.ExpiresAt // NotOnOrAfter
		if p.Kind == HealthWorker {
			exp = minTime(exp, p.IssuedAt.Add(v.cfg.AttestationMaxAge))
		}
		v.cache.put(sum, p, cert, minTime(exp, cert.NotAfter), v.cfg.Now())
	}
	return p, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// findAssertion locates the single assertion and checks where it sits.
func findAssertion(security *etree.Element) (*etree.Element, error) {
	var found []*etree.Element
	ok := walk(security, func(el *etree.Element) {
		if (el.Tag == "Assertion" || el.Tag == "EncryptedAssertion") && el.NamespaceURI() == nsSAML {
			found = append(found, el)
		}
	})
	if !ok {
		return nil, errTooComplex
	}
	switch {
	case len(found) == 0:
		return nil, samlErr(KindSAMLMissing, "no SAML assertion in the WS-Security header", "")
	case len(found) > 1:
		return nil, samlErr(KindSAMLWrapping, "the WS-Security header must carry exactly one SAML assertion", fmt.Sprintf("%d assertions", len(found)))
	}
	a := found[0]
	if a.Tag == "EncryptedAssertion" {
		return nil, samlErr(KindSAMLMalformed, "encrypted assertions are not supported", "")
	}
	parent := a.Parent()
	switch {
	case parent == security:
	case parent != nil && parent.Parent() == security && parent.Tag == "Response" && parent.NamespaceURI() == nsSAMLP:
	default:
		return nil, samlErr(KindSAMLWrapping, "the SAML assertion is not where XUA puts it", "parent "+tagOf(parent))
	}
	return a, nil
}

func tagOf(el *etree.Element) string {
	if el == nil {
		return "<none>"
	}
	return el.FullTag()
}

// Limits on the XML walked before the signature is checked, so that a
// hostile message cannot make verification arbitrarily expensive.
const (
	maxXMLElements = 1 << 20
	maxXMLDepth    = 512
)

// walk visits el and its descendants in document order (iteratively: the
// depth of the tree does not grow the Go stack). It stops and reports false
// when the tree has more than maxXMLElements elements or is deeper than
// maxXMLDepth.
func walk(el *etree.Element, fn func(*etree.Element)) bool {
	type item struct {
		el    *etree.Element
		depth int
	}
	stack := []item{{el, 0}}
	n := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		if n > maxXMLElements || it.depth > maxXMLDepth {
			return false
		}
		fn(it.el)
		kids := it.el.ChildElements()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, item{kids[i], it.depth + 1})
		}
	}
	return true
}

var errTooComplex = samlErr(KindSAMLMalformed, "the SOAP message is too large or too deeply nested", "")

func root(el *etree.Element) *etree.Element {
	for el.Parent() != nil {
		el = el.Parent()
	}
	return el
}

// checkUniqueID checks the assertion a has a valid ID that no other
// element of the message security sits in claims.
func checkUniqueID(security, a *etree.Element) error {
	id := a.SelectAttrValue("ID", "")
	if id == "" || !xmlIDPattern.MatchString(id) {
		return samlErr(KindSAMLMalformed, "the SAML assertion has no valid ID", "")
	}
	dups := 0
	ok := walk(root(security), func(el *etree.Element) {
		for _, at := range el.Attr {
			if (at.Key == "ID" || at.Key == "Id" || at.Key == "id") && at.Value == id {
				dups++
			}
		}
	})
	if !ok {
		return errTooComplex
	}
	if dups != 1 {
		return samlErr(KindSAMLWrapping, "the SAML assertion's ID is not unique in the message", "")
	}
	return nil
}

// verifySignature checks the signature's structure and algorithms, then
// verifies it with goxmldsig against the trusted certificates, and returns
// the verified assertion and the certificate that verified it. a is the
// assertion detached from the message with the namespaces in scope.
func (v *SAMLVerifier) verifySignature(a *etree.Element) (*etree.Element, *x509.Certificate, error) {
	id := a.SelectAttrValue("ID", "")
	var sigs []*etree.Element
	walk(a, func(el *etree.Element) {
		if el.Tag == "Signature" && el.NamespaceURI() == nsDSig {
			sigs = append(sigs, el)
		}
	})
	switch {
	case len(sigs) == 0:
		return nil, nil, samlErr(KindSAMLUnsigned, "the SAML assertion is not signed", "")
	case len(sigs) > 1:
		return nil, nil, samlErr(KindSAMLWrapping, "the SAML assertion carries more than one signature", "")
	case sigs[0].Parent() != a:
		return nil, nil, samlErr(KindSAMLWrapping, "the SAML assertion's signature is not its own", "")
	}
	sig := sigs[0]
	if err := checkSignatureShape(sig, id); err != nil {
		return nil, nil, err
	}

	candidates, err := v.certificates(sig)
	if err != nil {
		return nil, nil, err
	}
	now := v.cfg.Now()
	var lastErr error
	for _, cert := range candidates {
		vc := &dsig.ValidationContext{
			CertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}},
			IdAttribute:      "ID",
			Clock:            dsig.NewFakeClockAt(now),
		}
		verified, err := vc.Validate(a)
		if err == nil {
			return verified, cert, nil
		}
		lastErr = err
	}
	return nil, nil, &Error{Kind: KindSAMLSignature, Description: "the SAML assertion's signature does not verify", Err: lastErr}
}

// checkSignatureShape allows only what XUA needs: one Reference to the
// assertion, enveloped-signature + exclusive C14N, SHA-2 digests and
// RSA/ECDSA with SHA-2. No Object elements (a classic wrapping hideout).
func checkSignatureShape(sig *etree.Element, id string) error {
	signedInfo := dsigChildren(sig, "SignedInfo")
	if len(signedInfo) != 1 || len(dsigChildren(sig, "SignatureValue")) != 1 || len(dsigChildren(sig, "KeyInfo")) > 1 {
		return samlErr(KindSAMLMalformed, "the SAML signature is malformed", "")
	}
	if len(dsigChildren(sig, "Object")) > 0 {
		return samlErr(KindSAMLWrapping, "the SAML signature carries Object elements", "")
	}
	si := signedInfo[0]
	c14n := dsigChildren(si, "CanonicalizationMethod")
	if len(c14n) != 1 || c14n[0].SelectAttrValue("Algorithm", "") != algExcC14N {
		return samlErr(KindSAMLAlgorithm, "the SAML signature must use exclusive XML canonicalization", "")
	}
	sm := dsigChildren(si, "SignatureMethod")
	if len(sm) != 1 || !slices.Contains(allowedSAMLSignatureMethods, sm[0].SelectAttrValue("Algorithm", "")) {
		return samlErr(KindSAMLAlgorithm, "the SAML signature method is not allowed", "")
	}
	refs := dsigChildren(si, "Reference")
	if len(refs) != 1 {
		return samlErr(KindSAMLWrapping, "the SAML signature must have exactly one reference", fmt.Sprintf("%d references", len(refs)))
	}
	ref := refs[0]
	if ref.SelectAttrValue("URI", "") != "#"+id {
		return samlErr(KindSAMLWrapping, "the SAML signature does not reference the assertion", "")
	}
	dm := dsigChildren(ref, "DigestMethod")
	if len(dm) != 1 || !slices.Contains(allowedSAMLDigestMethods, dm[0].SelectAttrValue("Algorithm", "")) {
		return samlErr(KindSAMLAlgorithm, "the SAML digest method is not allowed", "")
	}
	transforms := dsigChildren(ref, "Transforms")
	if len(transforms) != 1 {
		return samlErr(KindSAMLAlgorithm, "the SAML signature's transforms are not allowed", "")
	}
	var enveloped, exc bool
	for _, t := range dsigChildren(transforms[0], "Transform") {
		switch t.SelectAttrValue("Algorithm", "") {
		case algEnveloped:
			enveloped = true
		case algExcC14N:
			exc = true
		default:
			return samlErr(KindSAMLAlgorithm, "the SAML signature's transforms are not allowed", "")
		}
	}
	if !enveloped || !exc {
		return samlErr(KindSAMLAlgorithm, "the SAML signature must be enveloped with exclusive C14N", "")
	}
	return nil
}

func dsigChildren(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == nsDSig {
			out = append(out, c)
		}
	}
	return out
}

// certificates returns the trusted certificates to try: the one in
// KeyInfo if it is trusted (an untrusted one is refused), otherwise all.
func (v *SAMLVerifier) certificates(sig *etree.Element) ([]*x509.Certificate, error) {
	now := v.cfg.Now()
	valid := func(c *x509.Certificate) bool { return !now.Before(c.NotBefore) && !now.After(c.NotAfter) }
	var sent *etree.Element
	for _, ki := range dsigChildren(sig, "KeyInfo") {
		for _, xd := range dsigChildren(ki, "X509Data") {
			if cs := dsigChildren(xd, "X509Certificate"); len(cs) > 0 {
				sent = cs[0]
				break
			}
		}
	}
	if sent == nil {
		var out []*x509.Certificate
		for _, c := range v.cfg.TrustedCertificates {
			if valid(c) {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			return nil, samlErr(KindSAMLUntrustedCert, "no trusted SAML signing certificate is valid now", "")
		}
		return out, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(fullText(sent)), ""))
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML signature's certificate is not base64", Err: err}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML signature's certificate cannot be parsed", Err: err}
	}
	for _, c := range v.cfg.TrustedCertificates {
		if c.Equal(cert) {
			if !valid(c) {
				return nil, samlErr(KindSAMLUntrustedCert, "the SAML signing certificate is not valid now", "")
			}
			return []*x509.Certificate{c}, nil
		}
	}
	return nil, samlErr(KindSAMLUntrustedCert, "the SAML assertion is signed by an untrusted certificate", "subject "+firstN(cert.Subject.String(), 200))
}

// fullText concatenates every character-data child of el (Text() stops at
// the first child element or comment).
func fullText(el *etree.Element) string {
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

// samlChildren returns el's children in the SAML assertion namespace.
func samlChildren(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == nsSAML {
			out = append(out, c)
		}
	}
	return out
}

func samlChild(el *etree.Element, tag string) (*etree.Element, error) {
	cs := samlChildren(el, tag)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	default:
		return nil, samlErr(KindSAMLMalformed, "the SAML assertion has more than one "+tag, "")
	}
}

func parseSAMLTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// principal reads the verified assertion: version, issuer, conditions,
// subject and attributes.
func (v *SAMLVerifier) principal(a *etree.Element) (*Principal, error) {
	if a.Tag != "Assertion" || a.NamespaceURI() != nsSAML || a.SelectAttrValue("Version", "") != "2.0" {
		return nil, samlErr(KindSAMLMalformed, "not a SAML 2.0 assertion", "")
	}
	now := v.cfg.Now()
	issuerEl, err := samlChild(a, "Issuer")
	if err != nil {
		return nil, err
	}
	if issuerEl == nil {
		return nil, samlErr(KindSAMLMalformed, "the SAML assertion has no Issuer", "")
	}
	issuer := strings.TrimSpace(fullText(issuerEl))
	if !slices.Contains(v.cfg.Issuers, issuer) {
		return nil, samlErr(KindSAMLIssuer, "the SAML assertion's issuer is not trusted", "issuer "+firstN(issuer, 128))
	}
	issued, err := parseSAMLTime(a.SelectAttrValue("IssueInstant", ""))
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML assertion's IssueInstant is invalid", Err: err}
	}
	if issued.After(now.Add(v.cfg.Skew)) {
		return nil, samlErr(KindSAMLNotYetValid, "the SAML assertion was issued in the future", "")
	}

	cond, err := samlChild(a, "Conditions")
	if err != nil {
		return nil, err
	}
	if cond == nil {
		return nil, samlErr(KindSAMLMalformed, "the SAML assertion has no Conditions", "")
	}
	notOnOrAfter, err := parseSAMLTime(cond.SelectAttrValue("NotOnOrAfter", ""))
	if err != nil {
		return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML assertion has no valid NotOnOrAfter", Err: err}
	}
	if !now.Add(-v.cfg.Skew).Before(notOnOrAfter) {
		return nil, samlErr(KindSAMLExpired, "the SAML assertion has expired", "NotOnOrAfter "+notOnOrAfter.Format(time.RFC3339))
	}
	if nb := cond.SelectAttrValue("NotBefore", ""); nb != "" {
		notBefore, err := parseSAMLTime(nb)
		if err != nil {
			return nil, &Error{Kind: KindSAMLMalformed, Description: "the SAML assertion's NotBefore is invalid", Err: err}
		}
		if now.Add(v.cfg.Skew).Before(notBefore) {
			return nil, samlErr(KindSAMLNotYetValid, "the SAML assertion is not valid yet", "NotBefore "+notBefore.Format(time.RFC3339))
		}
	}
	restrictions := samlChildren(cond, "AudienceRestriction")
	if len(restrictions) == 0 {
		return nil, samlErr(KindSAMLAudience, "the SAML assertion has no audience restriction", "")
	}
	for _, r := range restrictions {
		ok := false
		for _, au := range samlChildren(r, "Audience") {
			if slices.Contains(v.cfg.Audiences, strings.TrimSpace(fullText(au))) {
				ok = true
			}
		}
		if !ok {
			return nil, samlErr(KindSAMLAudience, "the SAML assertion is not meant for this service", "")
		}
	}

	p := &Principal{
		Credential: CredentialXUASAML,
		Issuer:     issuer,
		TokenID:    a.SelectAttrValue("ID", ""),
		IssuedAt:   issued,
		ExpiresAt:  notOnOrAfter,
	}
	subj, err := samlChild(a, "Subject")
	if err != nil {
		return nil, err
	}
	if subj != nil {
		nameID, err := samlChild(subj, "NameID")
		if err != nil {
			return nil, err
		}
		if nameID != nil {
			p.Subject = strings.TrimSpace(fullText(nameID))
		}
	}
	attrs, err := readSAMLAttributes(a)
	if err != nil {
		return nil, err
	}
	if err := attrs.apply(p); err != nil {
		return nil, err
	}
	return v.finish(p, attrs)
}
