package trust

import (
	"pjd/registry/oid"
	"strconv"
	"strings"
	"unicode"

	"github.com/beevik/etree"
)

// XUA (IHE ITI-40), XSPA/XACML, NHN (urn:no:ehelse, urn:nhn:trust-framework)
// and helsenorge attribute names. Matching is case-insensitive: helsenorge
// writes purposeofuse where HelseID writes purposeOfUse.
const (
	attrSubjectID        = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
	attrSubjectID10      = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
	attrRole             = "urn:oasis:names:tc:xspa:1.0:subject:role"
	attrRole20           = "urn:oasis:names:tc:xacml:2.0:subject:role"
	attrPurposeOfUse     = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
	attrActionPurpose    = "urn:oasis:names:tc:xacml:2.0:action:purpose"
	attrNPI              = "urn:oasis:names:tc:xspa:1.0:subject:npi"
	attrNPI20            = "urn:oasis:names:tc:xspa:2.0:subject:npi"
	attrProviderID       = "urn:ihe:iti:xua:2017:subject:provider-identifier"
	attrOrganization     = "urn:oasis:names:tc:xspa:1.0:subject:organization"
	attrOrganizationID   = "urn:oasis:names:tc:xspa:1.0:subject:organization-id"
	attrChildOrg         = "urn:oasis:names:tc:xspa:1.0:subject:child-organization"
	attrHomeCommunity    = "urn:ihe:iti:xca:2010:homecommunityid"
	attrHomeCommunityNo  = "urn:no:ehelse:saml:1.0:subject:homecommunityid"
	attrResourceID       = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
	attrResourceID10     = "urn:oasis:names:tc:xacml:1.0:resource:resource-id"
	attrSecurityLevel    = "urn:no:ehelse:saml:1.0:subject:securitylevel"
	attrSecurityLevelHN  = "securitylevel"
	attrScope            = "urn:no:ehelse:saml:1.0:subject:scope"
	attrScopeHN          = "scope"
	attrClientID         = "urn:no:ehelse:saml:1.0:subject:client_id"
	attrClientIDHN       = "client_id"
	attrHealthcareSvc11  = "urn:no:ehelse:saml:1.1:subject:healthcareservice"
	attrTFChildOrgName   = "urn:nhn:trust-framework:1.0:ext:subject:child-organization-name"
	attrTFDepartment     = "urn:nhn:trust-framework:1.0:ext:subject:department"
	attrTFDepartmentName = "urn:nhn:trust-framework:1.0:ext:subject:department-name"
	attrTFResDeptName    = "urn:nhn:trust-framework:1.0:ext:resource:department-name"
	attrTFResChildOrg    = "urn:nhn:trust-framework:1.0:ext:resource:child-organization"
	attrTFResChildOrgID  = "urn:nhn:trust-framework:1.0:ext:resource:child-organization-id"
	attrTFResChildOrgNm  = "urn:nhn:trust-framework:1.0:ext:resource:child-organization-name"
	attrTFHealthcareSvc  = "urn:nhn:trust-framework:1.0:ext:care-relationship:healthcare-service"
	attrTFPurposeDetails = "urn:nhn:trust-framework:1.0:ext:care-relationship:purpose-of-use-details"
	attrTFDecisionRef    = "urn:nhn:trust-framework:1.0:ext:care-relationship:decision-ref"
)

// maxEmbeddedXML bounds the escaped XML fragments some attribute values hold.
const maxEmbeddedXML = 16 << 10

// samlValue is one AttributeValue: text, or an element (either a child
// element or escaped XML in the text, as NHN sends it).
type samlValue struct {
	text string
	el   *etree.Element
}

type samlAttrs map[string][]samlValue

func attrsErr(desc, detail string) *Error { return newErr(KindSAMLAttributes, desc, detail) }

// readSAMLAttributes collects every attribute of every AttributeStatement.
func readSAMLAttributes(a *etree.Element) (samlAttrs, error) {
	out := samlAttrs{}
	for _, st := range samlChildren(a, "AttributeStatement") {
		for _, at := range samlChildren(st, "Attribute") {
			name := strings.ToLower(strings.TrimSpace(at.SelectAttrValue("Name", "")))
			if name == "" {
				return nil, attrsErr("a SAML attribute has no Name", "")
			}
			for _, av := range samlChildren(at, "AttributeValue") {
				if isNil(av) {
					continue
				}
				val, err := readValue(av)
				if err != nil {
					return nil, err
				}
				if val.text == "" && val.el == nil {
					continue
				}
				out[name] = append(out[name], val)
			}
		}
	}
	return out, nil
}

func isNil(av *etree.Element) bool {
	for _, at := range av.Attr {
		if at.Key == "nil" && (at.Value == "true" || at.Value == "1") {
			if at.Space == "" || av.SelectAttr(at.Space+":nil") != nil {
				return true
			}
		}
	}
	return false
}

func readValue(av *etree.Element) (samlValue, error) {
	if kids := av.ChildElements(); len(kids) > 0 {
		return samlValue{el: kids[0]}, nil
	}
	text := strings.TrimSpace(fullText(av))
	if strings.HasPrefix(text, "<") {
		if len(text) > maxEmbeddedXML {
			return samlValue{}, attrsErr("a SAML attribute value is too large", "")
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromString(text); err != nil || doc.Root() == nil {
			return samlValue{}, &Error{Kind: KindSAMLAttributes, Description: "a SAML attribute value holds malformed XML", Err: err}
		}
		return samlValue{el: doc.Root()}, nil
	}
	return samlValue{text: text}, nil
}

// values returns the values of the first of names that is present, and
// checks that all names present agree.
func (s samlAttrs) values(names ...string) []samlValue {
	var out []samlValue
	for _, n := range names {
		out = append(out, s[n]...)
	}
	return out
}

// oneText returns the single text value across names; differing values
// are an error (a signed assertion that contradicts itself is refused).
func (s samlAttrs) oneText(names ...string) (string, error) {
	got := ""
	for _, v := range s.values(names...) {
		t := v.text
		if v.el != nil {
			t = strings.TrimSpace(fullText(v.el))
		}
		if t == "" {
			continue
		}
		if got != "" && got != t {
			return "", attrsErr("the SAML assertion's attributes contradict each other", names[0])
		}
		got = t
	}
	return got, nil
}

// oneCoding returns the single HL7 CE value across names (code,
// codeSystem, displayName). When wantSystem is set, values from other
// systems are ignored (XUA allows several roles from different systems).
func (s samlAttrs) oneCoding(wantSystem string, names ...string) (Coding, error) {
	var got Coding
	for _, v := range s.values(names...) {
		if v.el == nil {
			return Coding{}, attrsErr("a coded SAML attribute is not an HL7 CE value", names[0])
		}
		c := Coding{
			Code:   strings.TrimSpace(v.el.SelectAttrValue("code", "")),
			System: oidURN(v.el.SelectAttrValue("codeSystem", "")),
			Text:   v.el.SelectAttrValue("displayName", ""),
		}
		if c.Code == "" {
			return Coding{}, attrsErr("a coded SAML attribute has no code", names[0])
		}
		if wantSystem != "" && !SameSystem(c.System, wantSystem) {
			continue
		}
		if !got.IsZero() && (got.Code != c.Code || !SameSystem(got.System, c.System)) {
			return Coding{}, attrsErr("the SAML assertion's attributes contradict each other", names[0])
		}
		if got.IsZero() || got.Text == "" {
			got = c
		}
	}
	return got, nil
}

// oneII returns the single HL7 II value (extension, root) across names;
// a plain-text value is taken as an organisation number.
func (s samlAttrs) oneII(names ...string) (Identifier, error) {
	var got Identifier
	for _, v := range s.values(names...) {
		var id Identifier
		if v.el != nil {
			id = Identifier{ID: strings.TrimSpace(v.el.SelectAttrValue("extension", "")), System: oidURN(v.el.SelectAttrValue("root", ""))}
		} else {
			id = Identifier{ID: v.text}
			if ValidOrgNr(v.text) {
				id.System = "urn:oid:" + oid.OrgNr
			}
		}
		if id.ID == "" {
			return Identifier{}, attrsErr("an identifier SAML attribute has no extension", names[0])
		}
		if !got.IsZero() && (got.ID != id.ID || !SameSystem(got.System, id.System)) {
			return Identifier{}, attrsErr("the SAML assertion's attributes contradict each other", names[0])
		}
		got = id
	}
	return got, nil
}

// oidURN writes bare OIDs as urn:oid:…, as the JSON attestation does.
func oidURN(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(strings.ToLower(s), "urn:") || strings.Contains(s, "://") {
		return s
	}
	for _, r := range s {
		if r != '.' && !unicode.IsDigit(r) {
			return s
		}
	}
	return "urn:oid:" + s
}

// parseCX reads an HL7 v2 CX patient id "id^^^&oid&ISO" (NHN sends the
// ampersands escaped once more than XML needs: &amp;amp;).
func parseCX(s string) (Identifier, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "&amp;", "&")
	comps := strings.Split(s, "^")
	if len(comps) < 4 || comps[0] == "" {
		return Identifier{}, false
	}
	sub := strings.Split(comps[3], "&")
	if len(sub) < 2 || sub[1] == "" {
		return Identifier{}, false
	}
	if len(sub) >= 3 && sub[2] != "" && sub[2] != "ISO" {
		return Identifier{}, false
	}
	return Identifier{ID: comps[0], System: oidURN(sub[1])}, true
}

// apply maps the attributes into p.
func (s samlAttrs) apply(p *Principal) error {
	var err error
	must := func(e error) {
		if err == nil {
			err = e
		}
	}
	var e error
	p.Name, e = s.oneText(attrSubjectID, attrSubjectID10)
	must(e)
	p.Authorization, e = s.oneCoding(oid.Volven9060, attrRole, attrRole20)
	must(e)
	p.PurposeOfUse, e = s.oneCoding("", attrPurposeOfUse, attrActionPurpose)
	must(e)
	p.LegalEntity, e = s.oneII(attrOrganizationID)
	must(e)
	p.LegalEntity.Name, e = s.oneText(attrOrganization)
	must(e)
	p.PointOfCare, e = s.oneII(attrChildOrg)
	must(e)
	if !p.PointOfCare.IsZero() {
		p.PointOfCare.Name, e = s.oneText(attrTFChildOrgName)
		must(e)
	}
	p.Department, e = s.oneII(attrTFDepartment)
	must(e)
	if !p.Department.IsZero() {
		p.Department.Name, e = s.oneText(attrTFDepartmentName)
		must(e)
	}
	p.HomeCommunityID, e = s.oneText(attrHomeCommunity, attrHomeCommunityNo)
	if e != nil {
		// The two names may differ only in the urn:oid: prefix.
		e = nil
		vals := s.values(attrHomeCommunity, attrHomeCommunityNo)
		for i := 1; i < len(vals); i++ {
			if bareOID(vals[i].text) != bareOID(vals[0].text) {
				e = attrsErr("the SAML assertion's attributes contradict each other", attrHomeCommunity)
			}
		}
		if len(vals) > 0 {
			p.HomeCommunityID = vals[0].text
		}
	}
	must(e)
	p.HealthcareService, e = s.oneCoding("", attrTFHealthcareSvc, attrHealthcareSvc11)
	must(e)
	p.PurposeOfUseDetails, e = s.oneCoding("", attrTFPurposeDetails)
	must(e)

	// HPR number: provider-identifier with the HPR root, else npi when it
	// is not a national identity number (helsenorge puts the F-nr there).
	prov, e := s.oneII(attrProviderID)
	must(e)
	npi, e := s.oneText(attrNPI, attrNPI20)
	must(e)
	switch {
	case SameSystem(prov.System, oid.HPR):
		p.HPRNumber = prov.ID
		if npi != "" && npi != prov.ID {
			must(attrsErr("the SAML assertion's attributes contradict each other", attrNPI))
		}
	case npi != "" && isDigits(npi) && len(npi) <= 9:
		p.HPRNumber = npi
	}

	// The patient the assertion was issued for.
	rid, e := s.oneText(attrResourceID, attrResourceID10)
	must(e)
	if rid != "" {
		id, ok := parseCX(rid)
		if !ok {
			must(attrsErr("the SAML resource-id is not a patient identifier", ""))
		}
		pt := AttestedPatient{Identifier: id}
		pt.PointOfCare, e = s.oneII(attrTFResChildOrg, attrTFResChildOrgID)
		must(e)
		if !pt.PointOfCare.IsZero() {
			pt.PointOfCare.Name, e = s.oneText(attrTFResChildOrgNm)
			must(e)
		}
		pt.Department, e = s.oneII(attrTFResDepartment)
		must(e)
		if !pt.Department.IsZero() {
			pt.Department.Name, e = s.oneText(attrTFResDeptName)
			must(e)
		}
		p.Patients = []AttestedPatient{pt}
	}

	level, e := s.oneText(attrSecurityLevel, attrSecurityLevelHN)
	must(e)
	if level != "" {
		n, e := strconv.Atoi(level)
		if e != nil {
			must(attrsErr("the SAML SecurityLevel is not a number", ""))
		}
		p.SecurityLevel = n
	}
	for _, v := range s.values(attrScope, attrScopeHN) {
		p.Scopes = append(p.Scopes, strings.FieldsFunc(v.text, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
	}
	p.Client.ID, e = s.oneText(attrClientID, attrClientIDHN)
	must(e)
	if d := s.values(attrTFDecisionRef); len(d) > 0 {
		dr, e := parseSAMLDecisionRef(d)
		must(e)
		p.DecisionRef = dr
	}
	return err
}

// parseSAMLDecisionRef reads <decision-ref><id value=…/><user-selected
// value=…/></decision-ref>.
func parseSAMLDecisionRef(vals []samlValue) (DecisionRef, error) {
	if len(vals) != 1 || vals[0].el == nil {
		return DecisionRef{}, newErr(KindAttestationDecisionRef, "the SAML decision-ref is malformed", "")
	}
	el := vals[0].el
	var d DecisionRef
	idEl := el.SelectElement("id")
	usEl := el.SelectElement("user-selected")
	if idEl == nil || usEl == nil {
		return DecisionRef{}, newErr(KindAttestationDecisionRef, "the SAML decision-ref is malformed", "")
	}
	d.ID = strings.TrimSpace(idEl.SelectAttrValue("value", ""))
	us, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(usEl.SelectAttrValue("value", ""))))
	if err != nil {
		return DecisionRef{}, newErr(KindAttestationDecisionRef, "the SAML decision-ref's user-selected is not a boolean", "")
	}
	d.UserSelected = us
	return d, nil
}

// finish decides the kind of principal and applies the rules a
// credential of that kind must meet.
func (v *SAMLVerifier) finish(p *Principal, attrs samlAttrs) (*Principal, error) {
	if p.Subject == "" || !ValidNIN(p.Subject) {
		return nil, attrsErr("the SAML assertion's subject is not a national identity number", "")
	}
	if p.SecurityLevel != 4 {
		return nil, newErr(KindSecurityLevel, "the user must be authenticated at security level 4", "security level "+strconv.Itoa(p.SecurityLevel))
	}
	if p.PurposeOfUse.Code == PurposeCitizen && SameSystem(p.PurposeOfUse.System, oid.ISO14265) {
		p.Kind = Citizen
		return p, nil
	}
	p.Kind = HealthWorker
	att := &Attestation{
		PractitionerID:      Identifier{ID: p.Subject, System: "urn:oid:" + oid.FNR},
		HPRNumber:           Identifier{ID: p.HPRNumber, System: "urn:oid:" + oid.HPR},
		Authorization:       p.Authorization,
		LegalEntity:         p.LegalEntity,
		PointOfCare:         p.PointOfCare,
		Department:          p.Department,
		HealthcareService:   p.HealthcareService,
		PurposeOfUse:        p.PurposeOfUse,
		PurposeOfUseDetails: p.PurposeOfUseDetails,
		DecisionRef:         p.DecisionRef,
		Patients:            p.Patients,
		TOA:                 p.IssuedAt,
		hasCare:             true,
		hasPatients:         true,
		hasDecisionRef:      len(attrs.values(attrTFDecisionRef)) > 0,
	}
	if p.HPRNumber == "" {
		att.HPRNumber = Identifier{}
	}
	if att.PointOfCare.IsZero() {
		// Without a sub-unit the point of care is the legal entity.
		att.PointOfCare = att.LegalEntity
		p.PointOfCare = p.LegalEntity
	}
	if !att.Department.IsZero() && att.Department.System == "" {
		att.Department.System = "local"
	}
	if err := att.Validate(v.cfg.Now(), AttestationPolicy{MaxAge: v.cfg.AttestationMaxAge, Skew: v.cfg.Skew}); err != nil {
		return nil, err
	}
	p.HasAttestation = true
	p.AttestedAt = p.IssuedAt
	return p, nil
}
