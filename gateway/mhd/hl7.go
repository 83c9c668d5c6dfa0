package mhd

import (
	"cmp"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// HL7 v2 data types as XDS metadata carries them.
//
// XDS → FHIR: CX, XCN, XON and XTN are read with the registry's types.
// Rendering shows what a value holds even when it breaks a structure rule
// (the registry's parsers return the parts they could read with the
// error), so the errors are ignored here; the registry checks the rules
// when the metadata is registered.
//
// FHIR → XDS: values that come from FHIR are text in every component, so
// every delimiter, '&' included, is escaped (registry.HL7Escape). The
// registry's String methods keep a '&' outside an HD as a subcomponent
// separator, which would change such a value, so they are not used here.

func readCX(s string) registry.CX   { x, _ := registry.ParseCX(s); return x }
func readXCN(s string) registry.XCN { x, _ := registry.ParseXCN(s); return x }
func readXON(s string) registry.XON { x, _ := registry.ParseXON(s); return x }

// orgID is an XON's organisation identifier: XON.10, or the deprecated
// XON.3 when XON.10 is empty.
func orgID(x registry.XON) string { return cmp.Or(x.OrganizationIdentifier, x.IDNumber) }

// components splits an HL7 v2 value on ^ (not unescaped: sub-components
// may still need splitting), for the types the registry has no type for
// (XPN and XAD in sourcePatientInfo).
func components(s string) []string { return strings.Split(s, "^") }

func comp(c []string, i int) string {
	if i < len(c) {
		return c[i]
	}
	return ""
}

// trimComponents joins components with ^ and drops trailing empty ones.
func trimComponents(c []string) string {
	n := len(c)
	for n > 0 && c[n-1] == "" {
		n--
	}
	return strings.Join(c[:n], "^")
}

// isoAuthority is the assigning authority of an ISO OID.
func isoAuthority(oid string) registry.HD {
	return registry.HD{UniversalID: oid, UniversalIDType: "ISO"}
}

// cxValue renders a CX from FHIR values: id^^^authority[^idType].
func cxValue(id string, authority registry.HD, idType string) string {
	v := registry.HL7Escape(id) + "^^^" + authority.String()
	if idType != "" {
		v += "^" + registry.HL7Escape(idType)
	}
	return v
}

// patientCX is the XDS patientId for an identifier (from FHIR) in an ISO
// OID domain.
func patientCX(id, oid string) string { return cxValue(id, isoAuthority(oid), "") }

// contactPoint maps an XTN to a FHIR ContactPoint.
func contactPoint(xtn string) fhir.ContactPoint {
	x, _ := registry.ParseXTN(xtn)
	number := cmp.Or(x.UnformattedNumber, x.LocalNumber, x.Number)
	cp := fhir.ContactPoint{}
	switch {
	case x.Email != "" || strings.EqualFold(x.EquipmentType, "Internet"):
		cp.System, cp.Value = "email", x.Email
	case strings.EqualFold(x.EquipmentType, "FX"):
		cp.System, cp.Value = "fax", number
	case strings.EqualFold(x.EquipmentType, "BP"):
		cp.System, cp.Value = "pager", number
	default:
		cp.System, cp.Value = "phone", number
	}
	switch strings.ToUpper(x.UseCode) {
	case "WPN":
		cp.Use = "work"
	case "PRN", "ORN":
		cp.Use = "home"
	}
	if strings.EqualFold(x.EquipmentType, "CP") {
		cp.Use = "mobile"
	}
	return cp
}

// xtnFromContactPoint maps a FHIR ContactPoint back to an XTN.
func xtnFromContactPoint(cp fhir.ContactPoint) string {
	switch cp.System {
	case "email":
		return "^NET^Internet^" + registry.HL7Escape(cp.Value)
	case "fax":
		return "^WPN^FX^^^^^^^^^" + registry.HL7Escape(cp.Value)
	}
	equip := "PH"
	if cp.Use == "mobile" {
		equip = "CP"
	}
	use := "WPN"
	if cp.Use == "home" {
		use = "PRN"
	}
	return "^" + use + "^" + equip + "^^^^^^^^^" + registry.HL7Escape(cp.Value)
}
