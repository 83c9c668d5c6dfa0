package trust

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"pjd/registry/oid"
)

// XUA attribute names as NHN's national gateway writes them (the case of
// the S-KJ38 sample; the reader matches case-insensitively).
const (
	mintHomeCommunityNo = "urn:no:ehelse:saml:1.0:subject:homeCommunityId"
	mintPurposeOfUse    = "urn:oasis:names:tc:xspa:1.0:subject:purposeOfUse"
	mintSecurityLevel   = "urn:no:ehelse:saml:1.0:subject:SecurityLevel"
	mintScope           = "urn:no:ehelse:saml:1.0:subject:Scope"
	mintAuthnMethod     = "urn:no:ehelse:saml:1.0:subject:Authentication_method"
	mintHomeCommunity   = "urn:ihe:iti:xca:2010:homeCommunityId"
	mintACP             = "urn:ihe:iti:xua:2012:acp"
	mintBPPCDocID       = "urn:ihe:iti:bppc:2007:docid"
	// attrTFResDepartment carries the patient's department: like the
	// practitioner's (attrTFDepartment), no published NHN name exists
	// [judgement: research digest §3.3 — pjd's own name in the trust
	// framework's pattern, read back by SAMLVerifier; NHN's consumers
	// ignore attributes they do not know].
	attrTFResDepartment = "urn:nhn:trust-framework:1.0:ext:resource:department"

	nsHL7   = "urn:hl7-org:v3"
	nsWSSE  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	samlFmt = "2006-01-02T15:04:05.000Z"

	// NHNScope is the Scope value NHN's national gateway writes for a
	// health worker (research digest §3.3 #8); pjd writes it when the
	// principal carries no scope of its own.
	NHNScope = "journaldokumenter_helsepersonell"
	// DefaultXUAAudience is the audience NHN's responding gateways expect.
	DefaultXUAAudience = "nhn:dokumentdeling-saml"
)

// Errors of XUAMinter.Mint.
var (
	// ErrMintSystem: a system principal (mTLS, --dev loopback) gets no
	// assertion. A system's outbound hop authenticates with the gateway's
	// own client certificate (mutual TLS) only: an XUA assertion names a
	// person, and pjd does not invent one for a machine.
	ErrMintSystem = errors.New("trust: a system principal gets no XUA assertion; the outbound hop uses mutual TLS")
	// ErrMintNotPerson: the principal is neither a health worker with an
	// attestation nor a citizen (client credentials, compliance staff).
	ErrMintNotPerson = errors.New("trust: only a health worker with an attestation or a citizen can be given an XUA assertion")
	// ErrMintExpired: the credential or attestation the assertion would
	// stand for has already expired.
	ErrMintExpired = errors.New("trust: the credential or its attestation has expired; no assertion can be minted")
)

// XUAMinter mints the XUA SAML 2.0 assertions pjd's initiating gateway
// sends on an outbound hop (ITI-38/39), mirroring NHN's national gateway
// (research digest §3.2–3.5, the S-KJ38 sample): the attribute names,
// their order and NHN's duplicates; signed with SAMLSigner (exclusive
// C14N, RSA-SHA256, the signature right after Issuer). It is safe for
// concurrent use.
type XUAMinter struct {
	Signer *SAMLSigner
	// Issuer is the assertion's Issuer (--xua-issuer).
	Issuer string
	// HomeCommunityID is the initiating community (urn:oid:…), written
	// into the homeCommunityId attributes.
	HomeCommunityID string
	// Lifetime caps NotOnOrAfter after now; default 5 minutes.
	Lifetime time.Duration
	Now      func() time.Time
	// Cache, when set, hands back an assertion minted earlier for the
	// very same principal and audience during the first half of its
	// validity instead of signing a new one (see XUACache).
	Cache *XUACache
}

// MaxXUALifetime is how long after its minting an assertion is valid at
// most: a short hop, not a session.
const MaxXUALifetime = 5 * time.Minute

// attestationLife is how long an attestation lasts after its toa (TR
// ATT-58): minting never extends it.
const attestationLife = 60 * time.Minute

// Mint returns a signed assertion for p, restricted to audience. The
// assertion is a detached element (its own namespace declarations); put
// it into a WS-Security header with SecurityHeader, and never re-indent
// it after signing.
//
// NotOnOrAfter = min(now + Lifetime, toa + 60 min, the credential's
// expiry). The responding side (SAMLVerifier) takes IssueInstant as the
// time of attestation, which is why the attestation's own 60 minutes
// bound NotOnOrAfter here [judgement: research digest §3.5 step 4].
//
// With a Cache, an assertion minted for the same principal and audience
// in the last half of its lifetime is returned (a copy, same ID and
// signature) instead of a new one.
func (m *XUAMinter) Mint(p *Principal, audience string) (*etree.Element, error) {
	if m.Signer == nil || m.Issuer == "" {
		return nil, errors.New("trust: XUAMinter needs a Signer and an Issuer")
	}
	if audience == "" {
		return nil, errors.New("trust: XUA audience is empty")
	}
	if p == nil {
		return nil, ErrMintNotPerson
	}
	if p.Kind == System {
		return nil, ErrMintSystem
	}
	citizen := p.Kind == Citizen
	if !citizen && (p.Kind != HealthWorker || !p.HasAttestation) {
		return nil, ErrMintNotPerson
	}
	if !ValidNIN(p.Subject) {
		return nil, fmt.Errorf("%w: the subject is not a national identity number", ErrMintNotPerson)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	issued := now().UTC().Truncate(time.Millisecond)
	life := m.Lifetime
	if life <= 0 || life > MaxXUALifetime {
		life = MaxXUALifetime
	}
	until := issued.Add(life)
	if !citizen && !p.AttestedAt.IsZero() && p.AttestedAt.Add(attestationLife).Before(until) {
		until = p.AttestedAt.Add(attestationLife)
	}
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	until = until.UTC().Truncate(time.Millisecond)
	if !until.After(issued) {
		return nil, ErrMintExpired
	}
	var key [32]byte
	cache := false
	if m.Cache != nil {
		if key, cache = m.xuaKey(p, audience); cache {
			if a := m.Cache.get(key, issued); a != nil {
				return a, nil
			}
		}
	}

	doc := etree.NewDocument()
	a := doc.CreateElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsSAML)
	a.CreateAttr("xmlns:xsi", nsXSI)
	a.CreateAttr("ID", "_"+uuid.NewString())
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", issued.Format(samlFmt))
	a.CreateElement("saml:Issuer").SetText(m.Issuer)

	subj := a.CreateElement("saml:Subject")
	subj.CreateElement("saml:NameID").SetText(p.Subject)
	subj.CreateElement("saml:SubjectConfirmation").CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", issued.Format(samlFmt))
	cond.CreateAttr("NotOnOrAfter", until.Format(samlFmt))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)

	st := a.CreateElement("saml:AttributeStatement")
	if citizen {
		m.citizenAttributes(st, p)
	} else {
		m.healthWorkerAttributes(st, p)
	}

	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", issued.Format(samlFmt))
	authn.CreateAttr("SessionNotOnOrAfter", until.Format(samlFmt))
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").
		SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:X509")

	if err := m.Signer.Sign(a); err != nil {
		return nil, err
	}
	if cache {
		m.Cache.put(key, a, issued, until, issued)
	}
	return a, nil
}

// healthWorkerAttributes writes S-KJ38's 25 attributes in its order
// (research digest §3.3), then the trust-framework ones it lacks.
func (m *XUAMinter) healthWorkerAttributes(st *etree.Element, p *Principal) {
	text := func(name, v string) {
		if v != "" {
			attrText(st, name, v)
		}
	}
	role := ""
	if !p.Authorization.IsZero() {
		role = hl7CE("Role", p.Authorization, "Kategori helsepersonell")
	}
	purpose := ""
	if !p.PurposeOfUse.IsZero() {
		purpose = hl7CE("PurposeOfUse", p.PurposeOfUse, "PurposeOfUse (HL7)")
	}
	home := oid.Bare(m.HomeCommunityID)
	patient := ""
	var pt AttestedPatient
	if len(p.Patients) > 0 {
		pt = p.Patients[0]
		patient = cx(pt.Identifier)
	}

	text(attrSubjectID, p.Name)                            // 1
	text(attrRole, role)                                   // 2
	text(mintHomeCommunityNo, home)                        // 3
	text(attrNPI20, p.HPRNumber)                           // 4
	text(mintPurposeOfUse, purpose)                        // 5
	text(attrResourceID, patient)                          // 6
	text(mintSecurityLevel, strconv.Itoa(p.SecurityLevel)) // 7
	text(mintScope, scopeValue(p))                         // 8
	attrNil(st, mintAuthnMethod)                           // 9
	text(attrSubjectID10, p.Name)                          // 10
	text(attrOrganization, p.LegalEntity.Name)             // 11
	text(attrOrganizationID, hl7II(p.LegalEntity))         // 12
	if !p.PointOfCare.IsZero() && p.PointOfCare != p.LegalEntity {
		text(attrChildOrg, hl7II(p.PointOfCare)) // 13
	}
	text(attrRole20, role)        // 14
	text(mintHomeCommunity, home) // 15
	text(attrNPI, p.HPRNumber)    // 16
	if p.HPRNumber != "" {        // 17
		text(attrProviderID, hl7Element("id", [][2]string{{"type", "II"}, {"extension", p.HPRNumber}, {"root", oid.HPR}, {"displayable", "false"}}))
	}
	text(attrResourceID10, patient) // 18
	text(attrClientID, p.Client.ID) // 19
	if !p.PointOfCare.IsZero() && p.PointOfCare != p.LegalEntity {
		text(attrTFChildOrgName, p.PointOfCare.Name) // 20
	}
	if !p.PurposeOfUse.IsZero() { // 21
		text(attrActionPurpose, hl7CE("Purpose", p.PurposeOfUse, "PurposeOfUse (HL7)"))
	}
	if !p.HealthcareService.IsZero() { // 22
		text(attrTFHealthcareSvc, hl7CE("HealthcareService", p.HealthcareService, ""))
	}
	if p.DecisionRef.ID != "" { // 23
		d := etree.NewDocument()
		dr := d.CreateElement("decision-ref")
		dr.CreateElement("id").CreateAttr("value", p.DecisionRef.ID)
		us := "False"
		if p.DecisionRef.UserSelected {
			us = "True" // .NET-style, as NHN writes it
		}
		dr.CreateElement("user-selected").CreateAttr("value", us)
		s, _ := d.WriteToString()
		text(attrTFDecisionRef, s)
	}
	attrNil(st, mintACP)       // 24
	attrNil(st, mintBPPCDocID) // 25

	// Elements S-KJ38 does not carry but NHN's list names (digest §3.3).
	if !p.PurposeOfUseDetails.IsZero() {
		text(attrTFPurposeDetails, hl7CE("purpose-of-use-details", p.PurposeOfUseDetails, ""))
	}
	if !pt.PointOfCare.IsZero() {
		text(attrTFResChildOrg, hl7II(pt.PointOfCare))
		text(attrTFResChildOrgNm, pt.PointOfCare.Name)
	}
	// Departments: pjd-owned names (no NHN name exists; digest §3.3).
	if !p.Department.IsZero() {
		text(attrTFDepartment, hl7II(p.Department))
		text(attrTFDepartmentName, p.Department.Name)
	}
	if !pt.Department.IsZero() {
		text(attrTFResDepartment, hl7II(pt.Department))
		text(attrTFResDeptName, pt.Department.Name)
	}
}

// citizenAttributes writes the helsenorge shape (research digest §3.4,
// S-HN38): the citizen's own F-nr as npi, provider-identifier and
// resource-id, purpose of use 13 (ISO 14265), no attestation attributes.
func (m *XUAMinter) citizenAttributes(st *etree.Element, p *Principal) {
	text := func(name, v string) {
		if v != "" {
			attrText(st, name, v)
		}
	}
	purpose := p.PurposeOfUse
	if purpose.IsZero() {
		purpose = Coding{Code: PurposeCitizen, System: oid.ISO14265, Text: "Subject of care uses"}
	}
	text(attrSubjectID, p.Name)
	text(attrOrganization, p.LegalEntity.Name)
	if p.LegalEntity.ID != "" {
		text(attrOrganizationID, p.LegalEntity.ID)
	}
	text(mintHomeCommunity, oid.URNPrefix+oid.Bare(m.HomeCommunityID))
	text(attrNPI20, p.Subject)
	text(attrProviderID, hl7Element("id", [][2]string{{"type", "II"}, {"extension", p.Subject}, {"root", oid.FNR}, {"displayable", "false"}}))
	text(attrPurposeOfUse, hl7Element("PurposeOfUse", [][2]string{{"xsi:type", "CE"}, {"code", purpose.Code},
		{"codeSystem", oid.Bare(purpose.System)}, {"codeSystemName", "ISO 14265 Classification of Purposes for processing personal health information"},
		{"displayName", purpose.Text}}))
	text(attrResourceID, cx(Identifier{ID: p.Subject, System: oid.FNR}))
	text("SecurityLevel", strconv.Itoa(p.SecurityLevel))
	text("Scope", strings.Join(p.Scopes, ","))
	text("client_id", p.Client.ID)
}

// scopeValue is the Scope attribute: the principal's own scopes (so that
// a kjernejournalforskriften-only grant keeps its windows at the
// responding side), else NHN's fixed value [judgement: NHN writes a fixed
// value; pjd's scopes decide policy, so they travel].
func scopeValue(p *Principal) string {
	if len(p.Scopes) == 0 {
		return NHNScope
	}
	return strings.Join(p.Scopes, ",")
}

// attrText appends an Attribute with one text AttributeValue (no
// NameFormat, as NHN writes them).
func attrText(st *etree.Element, name, value string) {
	at := st.CreateElement("saml:Attribute")
	at.CreateAttr("Name", name)
	at.CreateElement("saml:AttributeValue").SetText(value)
}

// attrNil appends an Attribute whose value is xsi:nil.
func attrNil(st *etree.Element, name string) {
	at := st.CreateElement("saml:Attribute")
	at.CreateAttr("Name", name)
	at.CreateElement("saml:AttributeValue").CreateAttr("xsi:nil", "true")
}

// hl7Element serialises an empty HL7 v3 element with attrs, for the
// escaped-XML attribute values NHN writes (digest §3.3).
func hl7Element(tag string, attrs [][2]string) string {
	d := etree.NewDocument()
	el := d.CreateElement(tag)
	el.CreateAttr("xmlns", nsHL7)
	el.CreateAttr("xmlns:xsi", nsXSI)
	for _, kv := range attrs {
		if kv[1] != "" {
			el.CreateAttr(kv[0], kv[1])
		}
	}
	s, _ := d.WriteToString()
	return s
}

// hl7CE writes an HL7 v3 CE value.
func hl7CE(tag string, c Coding, systemName string) string {
	return hl7Element(tag, [][2]string{{"xsi:type", "CE"}, {"code", c.Code}, {"codeSystem", oidURN(c.System)},
		{"codeSystemName", systemName}, {"displayName", c.Text}})
}

// hl7II writes an HL7 v3 II value (organisation numbers and units).
func hl7II(id Identifier) string {
	if id.IsZero() {
		return ""
	}
	return hl7Element("id", [][2]string{{"xsi:type", "II"}, {"extension", id.ID}, {"root", oidURN(id.System)}, {"displayable", "true"}})
}

// cx writes an HL7 v2 CX patient id, its ampersands escaped once (by the
// XML writer), not twice as NHN does (digest §3.5 step 5).
func cx(id Identifier) string {
	if id.ID == "" {
		return ""
	}
	return id.ID + "^^^&" + oid.Bare(id.System) + "&ISO"
}

// SecurityHeader returns a wsse:Security header block holding assertion
// and a wsu:Timestamp (Created now, Expires at the assertion's
// NotOnOrAfter), without mustUnderstand, as NHN sends it (digest §3.1).
func SecurityHeader(assertion *etree.Element, now time.Time) *etree.Element {
	doc := etree.NewDocument()
	sec := doc.CreateElement("wsse:Security")
	sec.CreateAttr("xmlns:wsse", nsWSSE)
	sec.CreateAttr("xmlns:wsu", nsWSU)
	sec.AddChild(assertion)
	expires := now.Add(MaxXUALifetime)
	for _, c := range assertion.ChildElements() {
		if c.Tag == "Conditions" {
			if t, err := parseSAMLTime(c.SelectAttrValue("NotOnOrAfter", "")); err == nil {
				expires = t
			}
		}
	}
	ts := sec.CreateElement("wsu:Timestamp")
	ts.CreateElement("wsu:Created").SetText(now.UTC().Truncate(time.Millisecond).Format(samlFmt))
	ts.CreateElement("wsu:Expires").SetText(expires.UTC().Format(samlFmt))
	return sec
}
