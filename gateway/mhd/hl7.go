package mhd

import (
	"strings"
)

// HL7 v2 data types as XDS metadata carries them (CX, CXi, XCN, XON, XTN),
// split into their parts and built from them. Only what the MHD mapping
// needs; the registry validates the full rules.

// hl7Unescape undoes the HL7 v2 escape sequences for the delimiters.
func hl7Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\S\`, "^", `\T\`, "&", `\F\`, "|", `\R\`, "~", `\E\`, `\`)
	return r.Replace(s)
}

// hl7Escape escapes the HL7 v2 delimiters in a component value.
func hl7Escape(s string) string {
	if !strings.ContainsAny(s, `^&|~\`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\E\`, "^", `\S\`, "&", `\T\`, "|", `\F\`, "~", `\R\`)
	return r.Replace(s)
}

// components splits an HL7 v2 value on ^ (not unescaped: sub-components
// may still need splitting).
func components(s string) []string { return strings.Split(s, "^") }

func comp(c []string, i int) string {
	if i < len(c) {
		return c[i]
	}
	return ""
}

// hd is an HL7 v2 HD (hierarchic designator): namespace&universalId&type.
type hd struct {
	Namespace, UniversalID, Type string
}

func parseHD(s string) hd {
	p := strings.Split(s, "&")
	return hd{
		Namespace:   hl7Unescape(comp(p, 0)),
		UniversalID: hl7Unescape(comp(p, 1)),
		Type:        hl7Unescape(comp(p, 2)),
	}
}

// cx is an HL7 v2 CX as XDS uses it: patient ids (id^^^&OID&ISO) and the
// CXi of referenceIdList (id^^^AA^idType).
type cx struct {
	ID        string
	Authority hd
	IDType    string
}

func parseCX(s string) cx {
	c := components(s)
	return cx{ID: hl7Unescape(comp(c, 0)), Authority: parseHD(comp(c, 3)), IDType: hl7Unescape(comp(c, 4))}
}

// String renders the CX: id^^^ns&OID&ISO[^idType].
func (x cx) String() string {
	var b strings.Builder
	b.WriteString(hl7Escape(x.ID))
	b.WriteString("^^^")
	if x.Authority != (hd{}) {
		b.WriteString(hl7Escape(x.Authority.Namespace))
		if x.Authority.UniversalID != "" || x.Authority.Type != "" {
			b.WriteString("&" + hl7Escape(x.Authority.UniversalID) + "&" + hl7Escape(x.Authority.Type))
		}
	}
	if x.IDType != "" {
		b.WriteString("^" + hl7Escape(x.IDType))
	}
	return b.String()
}

// patientCX is the XDS patientId for an identifier in an ISO OID domain.
func patientCX(id, oid string) string {
	return cx{ID: id, Authority: hd{UniversalID: oid, Type: "ISO"}}.String()
}

// xcn is an HL7 v2 XCN (a person): 1 id, 2 family, 3 given, 4 further
// given, 5 suffix, 6 prefix, 9 assigning authority.
type xcn struct {
	ID, Family, Given, Middle, Suffix, Prefix string
	Authority                                 hd
}

func parseXCN(s string) xcn {
	c := components(s)
	return xcn{
		ID:        hl7Unescape(comp(c, 0)),
		Family:    hl7Unescape(comp(c, 1)),
		Given:     hl7Unescape(comp(c, 2)),
		Middle:    hl7Unescape(comp(c, 3)),
		Suffix:    hl7Unescape(comp(c, 4)),
		Prefix:    hl7Unescape(comp(c, 5)),
		Authority: parseHD(comp(c, 8)),
	}
}

func (x xcn) String() string {
	c := []string{hl7Escape(x.ID), hl7Escape(x.Family), hl7Escape(x.Given), hl7Escape(x.Middle), hl7Escape(x.Suffix), hl7Escape(x.Prefix), "", "", ""}
	if x.Authority != (hd{}) {
		c[8] = hl7Escape(x.Authority.Namespace) + "&" + hl7Escape(x.Authority.UniversalID) + "&" + hl7Escape(x.Authority.Type)
	}
	return trimComponents(c)
}

// xon is an HL7 v2 XON (an organisation): 1 name, 6 assigning authority,
// 10 organisation identifier (3 is the deprecated id number).
type xon struct {
	Name, ID  string
	Authority hd
}

func parseXON(s string) xon {
	c := components(s)
	id := hl7Unescape(comp(c, 9))
	if id == "" {
		id = hl7Unescape(comp(c, 2))
	}
	return xon{Name: hl7Unescape(comp(c, 0)), ID: id, Authority: parseHD(comp(c, 5))}
}

func (x xon) String() string {
	c := make([]string, 10)
	c[0] = hl7Escape(x.Name)
	if x.ID != "" {
		if x.Authority != (hd{}) {
			c[5] = hl7Escape(x.Authority.Namespace) + "&" + hl7Escape(x.Authority.UniversalID) + "&" + hl7Escape(x.Authority.Type)
		}
		c[9] = hl7Escape(x.ID)
	}
	return trimComponents(c)
}

// trimComponents joins components with ^ and drops trailing empty ones.
func trimComponents(c []string) string {
	n := len(c)
	for n > 0 && c[n-1] == "" {
		n--
	}
	return strings.Join(c[:n], "^")
}

// xtn is an HL7 v2 XTN: 2 use code, 3 equipment type, 4 e-mail, 7 local
// number, 12 unformatted number.
type xtn struct {
	Use, Equipment, Email, Number string
}

func parseXTN(s string) xtn {
	c := components(s)
	n := hl7Unescape(comp(c, 11))
	if n == "" {
		n = hl7Unescape(comp(c, 6))
	}
	if n == "" {
		n = hl7Unescape(comp(c, 0))
	}
	return xtn{Use: hl7Unescape(comp(c, 1)), Equipment: hl7Unescape(comp(c, 2)), Email: hl7Unescape(comp(c, 3)), Number: n}
}

// contactPoint maps an XTN to a FHIR ContactPoint.
func (x xtn) contactPoint() ContactPoint {
	cp := ContactPoint{}
	switch {
	case x.Email != "" || strings.EqualFold(x.Equipment, "Internet"):
		cp.System, cp.Value = "email", x.Email
	case strings.EqualFold(x.Equipment, "FX"):
		cp.System, cp.Value = "fax", x.Number
	case strings.EqualFold(x.Equipment, "BP"):
		cp.System, cp.Value = "pager", x.Number
	default:
		cp.System, cp.Value = "phone", x.Number
	}
	switch strings.ToUpper(x.Use) {
	case "WPN":
		cp.Use = "work"
	case "PRN", "ORN":
		cp.Use = "home"
	}
	if strings.EqualFold(x.Equipment, "CP") {
		cp.Use = "mobile"
	}
	return cp
}

// xtnFromContactPoint maps a FHIR ContactPoint back to an XTN.
func xtnFromContactPoint(cp ContactPoint) string {
	switch cp.System {
	case "email":
		return "^NET^Internet^" + hl7Escape(cp.Value)
	case "fax":
		return "^WPN^FX^^^^^^^^^" + hl7Escape(cp.Value)
	}
	equip := "PH"
	if cp.Use == "mobile" {
		equip = "CP"
	}
	use := "WPN"
	if cp.Use == "home" {
		use = "PRN"
	}
	return "^" + use + "^" + equip + "^^^^^^^^^" + hl7Escape(cp.Value)
}
