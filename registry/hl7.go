package registry

import (
	"errors"
	"fmt"
	"pjd/registry/oid"
	"strings"
)

// HL7 v2 data types used by XDS metadata (CX, XCN, XON, XTN and the HD
// assigning authority inside them), with parse/format and the XDS format
// rules. The model keeps the wire strings; these types are for the rules
// that need the parts and for building new values.
//
// Encoding: components are separated by '^', subcomponents (inside HD) by
// '&'. Escape sequences \F\ \S\ \T\ \R\ \E\ are decoded when parsing and
// written again when formatting. A '&' in a component that is not an HD
// (e.g. the FN family-name subcomponents of XCN.2) is kept literally, so
// parse → String is the identity for values without escapes.

// ErrFormat is wrapped by every format error of this file and of dtm.go.
var ErrFormat = errors.New("invalid format")

// FormatError describes a value that does not follow its data type.
type FormatError struct {
	Type   string // "CX", "XCN", "XON", "XTN", "HD", "OID", "DTM" …
	Value  string
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Type, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(typ, value, reason string, args ...any) error {
	return &FormatError{Type: typ, Value: value, Reason: fmt.Sprintf(reason, args...)}
}

// An OID is valid with a first arc of 0–2 and no leading zeros (oid.Valid).
// IPF requires the first arc to be 1–9 and ≤64 characters; NIST allows 0–2
// and <256. We take the X.660 first arc (0–2, as NIST) and the XDS length
// limit of 64 (as IPF, and the uniqueId limit of ITI TF-3 4.2.3.2.26).

// ValidOID reports whether s is an OID in dotted form of at most 64
// characters.
func ValidOID(s string) bool {
	return len(s) <= 64 && oid.Valid(s)
}

// CheckOID returns a FormatError when s is not a valid OID.
func CheckOID(s string) error {
	if s == "" {
		return formatErr("OID", s, "empty")
	}
	if len(s) > 64 {
		return formatErr("OID", s, "longer than 64 characters")
	}
	if !oid.Valid(s) {
		return formatErr("OID", s, "not a dotted OID (first arc 0-2, no leading zeros)")
	}
	return nil
}

// --- escaping ---

// HL7Unescape decodes the escape sequences \F\ \S\ \T\ \R\ \E\ of an HL7 v2
// value (a component or subcomponent already split off).
func HL7Unescape(s string) string { return hl7Unescape(s) }

// HL7Escape escapes all five delimiters (| ^ & ~ \) of a value, '&'
// included, so that it reads back as itself in any component or
// subcomponent: for data from outside HL7 (FHIR), where a '&' is text.
// (The String methods of this file keep a '&' outside an HD as it is: a
// subcomponent separator, e.g. of XCN.2.)
func HL7Escape(s string) string { return hl7Escape(s, true) }

func hl7Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+2 < len(s) && s[i+2] == '\\' {
			switch s[i+1] {
			case 'F':
				b.WriteByte('|')
				i += 2
				continue
			case 'S':
				b.WriteByte('^')
				i += 2
				continue
			case 'T':
				b.WriteByte('&')
				i += 2
				continue
			case 'R':
				b.WriteByte('~')
				i += 2
				continue
			case 'E':
				b.WriteByte('\\')
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hl7Escape escapes the delimiters; '&' only when sub is true (inside an
// HD, where it separates subcomponents).
func hl7Escape(s string, sub bool) string {
	if !strings.ContainsAny(s, `\|^~&`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\E\`)
		case '|':
			b.WriteString(`\F\`)
		case '^':
			b.WriteString(`\S\`)
		case '~':
			b.WriteString(`\R\`)
		case '&':
			if sub {
				b.WriteString(`\T\`)
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// components splits s on '^' and decodes every component (HD components are
// decoded by parseHD, so they are returned raw in raw).
func components(s string) (decoded, raw []string) {
	raw = strings.Split(s, "^")
	decoded = make([]string, len(raw))
	for i, c := range raw {
		decoded[i] = hl7Unescape(c)
	}
	return decoded, raw
}

func comp(c []string, i int) string {
	if i < len(c) {
		return c[i]
	}
	return ""
}

// joinComponents joins already-encoded components, dropping trailing
// empty ones.
func joinComponents(c []string) string {
	n := len(c)
	for n > 0 && c[n-1] == "" {
		n--
	}
	return strings.Join(c[:n], "^")
}

// trimEmpty copies c without its trailing empty components (nil when
// nothing is left), so that parse → String → parse is stable.
func trimEmpty(c []string) []string {
	n := len(c)
	for n > 0 && c[n-1] == "" {
		n--
	}
	if n == 0 {
		return nil
	}
	return append([]string(nil), c[:n]...)
}

// --- HD ---

// HD is an HL7 v2 hierarchic designator (an assigning authority):
// NamespaceID&UniversalID&UniversalIDType, e.g. "&2.16.578.1.12.4.1.4.1&ISO".
type HD struct {
	NamespaceID     string
	UniversalID     string
	UniversalIDType string
}

// ParseHD parses the subcomponents of an HD. With an error it still
// returns the first three subcomponents (as every Parse function of this
// file returns, with an error, the parts it could read: for a renderer
// that shows what a value holds).
func ParseHD(s string) (HD, error) {
	parts := strings.Split(s, "&")
	h := HD{NamespaceID: hl7Unescape(parts[0])}
	if len(parts) > 1 {
		h.UniversalID = hl7Unescape(parts[1])
	}
	if len(parts) > 2 {
		h.UniversalIDType = hl7Unescape(parts[2])
	}
	if len(parts) > 3 {
		return h, formatErr("HD", s, "more than 3 subcomponents")
	}
	return h, nil
}

// IsZero reports whether no subcomponent is set.
func (h HD) IsZero() bool { return h == HD{} }

// String formats the HD ("&OID&ISO").
func (h HD) String() string {
	c := []string{hl7Escape(h.NamespaceID, true), hl7Escape(h.UniversalID, true), hl7Escape(h.UniversalIDType, true)}
	n := len(c)
	for n > 0 && c[n-1] == "" {
		n--
	}
	return strings.Join(c[:n], "&")
}

// checkISO checks the XDS rule for an assigning authority: universal id an
// OID and universal id type "ISO" (IPF HD_NEEDS_UNIVERSAL_ID,
// UNIVERSAL_ID_TYPE_MUST_BE_ISO).
func (h HD) checkISO(typ, value string) error {
	if h.UniversalID == "" {
		return formatErr(typ, value, "assigning authority has no universal id (OID)")
	}
	if !ValidOID(h.UniversalID) {
		return formatErr(typ, value, "assigning authority %q is not an OID", h.UniversalID)
	}
	if h.UniversalIDType != "ISO" {
		return formatErr(typ, value, "assigning authority type must be ISO, not %q", h.UniversalIDType)
	}
	return nil
}

// --- CX ---

// CX is an HL7 v2 extended composite id: patientId, sourcePatientId
// ("id^^^&OID&ISO") and referenceIdList entries (CXi).
type CX struct {
	ID                 string // CX.1
	CheckDigit         string // CX.2
	CheckDigitScheme   string // CX.3
	AssigningAuthority HD     // CX.4
	IdentifierTypeCode string // CX.5
	AssigningFacility  HD     // CX.6
	// Rest holds CX.7 … CX.10 as sent (encoded).
	Rest []string
}

// ParseCX parses a CX. It fails only on structure (empty value, too many
// components, bad HD), returning with the error the parts it could read;
// the XDS rules are checked by CheckPatientIDFormat and CheckCXi.
func ParseCX(s string) (CX, error) {
	if s == "" {
		return CX{}, formatErr("CX", s, "empty")
	}
	c, raw := components(s)
	aa, aaErr := ParseHD(comp(raw, 3))
	fac, facErr := ParseHD(comp(raw, 5))
	cx := CX{
		ID:                 comp(c, 0),
		CheckDigit:         comp(c, 1),
		CheckDigitScheme:   comp(c, 2),
		AssigningAuthority: aa,
		IdentifierTypeCode: comp(c, 4),
		AssigningFacility:  fac,
	}
	if len(raw) > 6 {
		cx.Rest = trimEmpty(raw[6:])
	}
	switch {
	case len(c) > 10:
		return cx, formatErr("CX", s, "more than 10 components")
	case aaErr != nil:
		return cx, formatErr("CX", s, "CX.4: %v", aaErr)
	case facErr != nil:
		return cx, formatErr("CX", s, "CX.6: %v", facErr)
	case cx.String() == "":
		return cx, formatErr("CX", s, "no component is set")
	}
	return cx, nil
}

// String formats the CX.
func (c CX) String() string {
	parts := []string{
		hl7Escape(c.ID, false), hl7Escape(c.CheckDigit, false), hl7Escape(c.CheckDigitScheme, false),
		c.AssigningAuthority.String(), hl7Escape(c.IdentifierTypeCode, false), c.AssigningFacility.String(),
	}
	parts = append(parts, c.Rest...)
	return joinComponents(parts)
}

// NewPatientCX returns the XDS patient id "id^^^&oid&ISO".
func NewPatientCX(id, oid string) CX {
	return CX{ID: id, AssigningAuthority: HD{UniversalID: oid, UniversalIDType: "ISO"}}
}

// CheckPatientIDFormat checks the XDS rule for patientId and
// sourcePatientId (IPF CX validation, NIST "&OID&ISO"): CX.1 present, CX.4
// an ISO assigning authority without namespace id, every other component
// empty.
func CheckPatientIDFormat(s string) error {
	cx, err := ParseCX(s)
	if err != nil {
		return err
	}
	if cx.ID == "" {
		return formatErr("CX", s, "CX.1 (id) is empty")
	}
	if cx.CheckDigit != "" || cx.CheckDigitScheme != "" || cx.IdentifierTypeCode != "" ||
		!cx.AssigningFacility.IsZero() || len(cx.Rest) > 0 {
		return formatErr("CX", s, "only CX.1 and CX.4 may be set (id^^^&OID&ISO)")
	}
	if cx.AssigningAuthority.NamespaceID != "" {
		return formatErr("CX", s, "CX.4 must not have a namespace id")
	}
	return cx.AssigningAuthority.checkISO("CX", s)
}

// CheckCXi checks a referenceIdList value (IPF CXi rules): CX.1 and CX.5
// (identifier type) required; CX.4, if present, is a namespace id or an
// ISO universal id.
func CheckCXi(s string) error {
	cx, err := ParseCX(s)
	if err != nil {
		return err
	}
	if cx.ID == "" {
		return formatErr("CXi", s, "CX.1 (id) is empty")
	}
	if cx.IdentifierTypeCode == "" {
		return formatErr("CXi", s, "CX.5 (identifier type code) is empty")
	}
	aa := cx.AssigningAuthority
	if !aa.IsZero() && aa.NamespaceID == "" {
		if err := aa.checkISO("CXi", s); err != nil {
			return err
		}
	}
	return nil
}

// --- XCN ---

// XCN is an HL7 v2 extended composite id and name for persons
// (authorPerson, legalAuthenticator), e.g.
// "100000001^Nordmann^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO".
type XCN struct {
	ID                 string // XCN.1
	FamilyName         string // XCN.2 (FN; '&' subcomponents kept literally)
	GivenName          string // XCN.3
	FurtherGivenNames  string // XCN.4
	Suffix             string // XCN.5
	Prefix             string // XCN.6
	Degree             string // XCN.7
	SourceTable        string // XCN.8
	AssigningAuthority HD     // XCN.9
	NameTypeCode       string // XCN.10
	CheckDigit         string // XCN.11
	CheckDigitScheme   string // XCN.12
	IdentifierTypeCode string // XCN.13
	// Rest holds XCN.14 … as sent (encoded).
	Rest []string
}

// ParseXCN parses an XCN (with an error, the parts it could read).
func ParseXCN(s string) (XCN, error) {
	if s == "" {
		return XCN{}, formatErr("XCN", s, "empty")
	}
	c, raw := components(s)
	aa, aaErr := ParseHD(comp(raw, 8))
	x := XCN{
		ID: comp(c, 0), FamilyName: comp(c, 1), GivenName: comp(c, 2), FurtherGivenNames: comp(c, 3),
		Suffix: comp(c, 4), Prefix: comp(c, 5), Degree: comp(c, 6), SourceTable: comp(c, 7),
		AssigningAuthority: aa, NameTypeCode: comp(c, 9), CheckDigit: comp(c, 10),
		CheckDigitScheme: comp(c, 11), IdentifierTypeCode: comp(c, 12),
	}
	if len(raw) > 13 {
		x.Rest = trimEmpty(raw[13:])
	}
	switch {
	case len(c) > 23:
		return x, formatErr("XCN", s, "more than 23 components")
	case aaErr != nil:
		return x, formatErr("XCN", s, "XCN.9: %v", aaErr)
	case x.String() == "":
		return x, formatErr("XCN", s, "no component is set")
	}
	return x, nil
}

// String formats the XCN.
func (x XCN) String() string {
	e := func(s string) string { return hl7Escape(s, false) }
	parts := []string{
		e(x.ID), e(x.FamilyName), e(x.GivenName), e(x.FurtherGivenNames), e(x.Suffix), e(x.Prefix),
		e(x.Degree), e(x.SourceTable), x.AssigningAuthority.String(), e(x.NameTypeCode),
		e(x.CheckDigit), e(x.CheckDigitScheme), e(x.IdentifierTypeCode),
	}
	parts = append(parts, x.Rest...)
	return joinComponents(parts)
}

// CheckXCN checks an XCN by the IPF rule: an id or a family name is
// required; when XCN.9 (assigning authority) is set, the id is required
// and the authority is an ISO OID. (NIST wants family and given name when
// there is no id; we follow IPF, see xds_metadata.md ambiguity 4.)
func CheckXCN(s string) error {
	x, err := ParseXCN(s)
	if err != nil {
		return err
	}
	if x.ID == "" && x.FamilyName == "" {
		return formatErr("XCN", s, "neither id (XCN.1) nor family name (XCN.2)")
	}
	if !x.AssigningAuthority.IsZero() {
		if x.ID == "" {
			return formatErr("XCN", s, "assigning authority without id")
		}
		if err := x.AssigningAuthority.checkISO("XCN", s); err != nil {
			return err
		}
	}
	return nil
}

// --- XON ---

// XON is an HL7 v2 extended composite name and id for organizations
// (authorInstitution), e.g.
// "Sykehuset HF^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^999999999".
type XON struct {
	OrganizationName       string // XON.1
	TypeCode               string // XON.2
	IDNumber               string // XON.3 (deprecated)
	CheckDigit             string // XON.4
	CheckDigitScheme       string // XON.5
	AssigningAuthority     HD     // XON.6
	IdentifierTypeCode     string // XON.7
	AssigningFacility      HD     // XON.8
	NameRepresentationCode string // XON.9
	OrganizationIdentifier string // XON.10
}

// ParseXON parses an XON (with an error, the parts it could read).
func ParseXON(s string) (XON, error) {
	if s == "" {
		return XON{}, formatErr("XON", s, "empty")
	}
	c, raw := components(s)
	aa, aaErr := ParseHD(comp(raw, 5))
	fac, facErr := ParseHD(comp(raw, 7))
	x := XON{
		OrganizationName: comp(c, 0), TypeCode: comp(c, 1), IDNumber: comp(c, 2), CheckDigit: comp(c, 3),
		CheckDigitScheme: comp(c, 4), AssigningAuthority: aa, IdentifierTypeCode: comp(c, 6),
		AssigningFacility: fac, NameRepresentationCode: comp(c, 8), OrganizationIdentifier: comp(c, 9),
	}
	switch {
	case len(c) > 10:
		return x, formatErr("XON", s, "more than 10 components")
	case aaErr != nil:
		return x, formatErr("XON", s, "XON.6: %v", aaErr)
	case facErr != nil:
		return x, formatErr("XON", s, "XON.8: %v", facErr)
	case x.String() == "":
		return x, formatErr("XON", s, "no component is set")
	}
	return x, nil
}

// String formats the XON.
func (x XON) String() string {
	e := func(s string) string { return hl7Escape(s, false) }
	return joinComponents([]string{
		e(x.OrganizationName), e(x.TypeCode), e(x.IDNumber), e(x.CheckDigit), e(x.CheckDigitScheme),
		x.AssigningAuthority.String(), e(x.IdentifierTypeCode), x.AssigningFacility.String(),
		e(x.NameRepresentationCode), e(x.OrganizationIdentifier),
	})
}

// CheckXON checks an XON by the IPF rule: XON.1 required; XON.2–5 and
// XON.7–9 empty; when XON.6 is set it is an ISO OID authority, otherwise an
// XON.10 that is set must itself be an OID.
func CheckXON(s string) error {
	x, err := ParseXON(s)
	if err != nil {
		return err
	}
	if x.OrganizationName == "" {
		return formatErr("XON", s, "organization name (XON.1) is empty")
	}
	if x.TypeCode != "" || x.IDNumber != "" || x.CheckDigit != "" || x.CheckDigitScheme != "" ||
		x.IdentifierTypeCode != "" || !x.AssigningFacility.IsZero() || x.NameRepresentationCode != "" {
		return formatErr("XON", s, "only XON.1, XON.6 and XON.10 may be set")
	}
	if !x.AssigningAuthority.IsZero() {
		return x.AssigningAuthority.checkISO("XON", s)
	}
	if x.OrganizationIdentifier != "" && !ValidOID(x.OrganizationIdentifier) {
		return formatErr("XON", s, "XON.10 without assigning authority must be an OID")
	}
	return nil
}

// --- XTN ---

// XTN is an HL7 v2 extended telecommunication number
// (authorTelecommunication, intendedRecipient), e.g. "^NET^Internet^kari@example.no".
type XTN struct {
	Number            string // XTN.1 (deprecated)
	UseCode           string // XTN.2
	EquipmentType     string // XTN.3
	Email             string // XTN.4
	CountryCode       string // XTN.5
	AreaCode          string // XTN.6
	LocalNumber       string // XTN.7
	Extension         string // XTN.8
	AnyText           string // XTN.9
	ExtensionPrefix   string // XTN.10
	SpeedDialCode     string // XTN.11
	UnformattedNumber string // XTN.12
}

// ParseXTN parses an XTN (with an error, the parts it could read).
func ParseXTN(s string) (XTN, error) {
	if s == "" {
		return XTN{}, formatErr("XTN", s, "empty")
	}
	c, _ := components(s)
	x := XTN{
		Number: comp(c, 0), UseCode: comp(c, 1), EquipmentType: comp(c, 2), Email: comp(c, 3),
		CountryCode: comp(c, 4), AreaCode: comp(c, 5), LocalNumber: comp(c, 6), Extension: comp(c, 7),
		AnyText: comp(c, 8), ExtensionPrefix: comp(c, 9), SpeedDialCode: comp(c, 10), UnformattedNumber: comp(c, 11),
	}
	switch {
	case len(c) > 12:
		return x, formatErr("XTN", s, "more than 12 components")
	case x.String() == "":
		return x, formatErr("XTN", s, "no component is set")
	}
	return x, nil
}

// String formats the XTN.
func (x XTN) String() string {
	e := func(s string) string { return hl7Escape(s, false) }
	return joinComponents([]string{
		e(x.Number), e(x.UseCode), e(x.EquipmentType), e(x.Email), e(x.CountryCode), e(x.AreaCode),
		e(x.LocalNumber), e(x.Extension), e(x.AnyText), e(x.ExtensionPrefix), e(x.SpeedDialCode),
		e(x.UnformattedNumber),
	})
}

// CheckXTN checks an XTN by the IPF rule (NIST accepts only e-mail, see
// xds_metadata.md ambiguity 4): either an e-mail address
// ("^NET^Internet^a@b", use code NET or empty) or a telephone (equipment
// type PH, CP or FX) with a local or unformatted number.
func CheckXTN(s string) error {
	x, err := ParseXTN(s)
	if err != nil {
		return err
	}
	switch x.EquipmentType {
	case "Internet", "X.400":
		if x.UseCode != "" && x.UseCode != "NET" {
			return formatErr("XTN", s, "e-mail address with use code %q (want NET)", x.UseCode)
		}
		if i := strings.IndexByte(x.Email, '@'); i <= 0 || i == len(x.Email)-1 {
			return formatErr("XTN", s, "XTN.4 is not an e-mail address")
		}
		return nil
	case "PH", "CP", "FX":
		if x.LocalNumber == "" && x.UnformattedNumber == "" {
			return formatErr("XTN", s, "telephone without local (XTN.7) or unformatted (XTN.12) number")
		}
		return nil
	case "":
		return formatErr("XTN", s, "equipment type (XTN.3) is empty")
	default:
		return formatErr("XTN", s, "unsupported equipment type %q (want Internet, PH, CP or FX)", x.EquipmentType)
	}
}
