package mhd

import (
	"regexp"
	"strings"

	"pjd/registry"
	"pjd/registry/oid"
)

// Coded values: an XDS codingScheme becomes a FHIR system "urn:oid:<OID>"
// when it is an OID, and is used as it is when it is already a URI (for
// example a "urn:…" scheme); a FHIR system maps back the same way. For
// searches and ITI-65 input the canonical FHIR URLs of the few code systems
// that also have an OID are accepted too (aliases), so
// "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R" finds what
// was registered with scheme 2.16.840.1.113883.5.25.

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(s string) bool { return uuidRE.MatchString(s) }

// systemAliases maps canonical FHIR code system URLs to the OID XDS
// metadata uses for the same system.
var systemAliases = map[string]string{
	"http://terminology.hl7.org/CodeSystem/v3-Confidentiality": oid.HL7Confidentiality,
	"http://hl7.org/fhir/v3/Confidentiality":                   oid.HL7Confidentiality,
	"http://loinc.org":                                         "2.16.840.1.113883.6.1",
	"http://snomed.info/sct":                                   "2.16.840.1.113883.6.96",
}

// SystemFor returns the FHIR system for an XDS codingScheme.
func SystemFor(scheme string) string {
	if registry.ValidOID(scheme) {
		return "urn:oid:" + scheme
	}
	return scheme
}

// SchemeFor returns the XDS codingScheme for a FHIR system.
func SchemeFor(system string) string {
	if s, ok := strings.CutPrefix(system, "urn:oid:"); ok {
		return s
	}
	if oid, ok := systemAliases[system]; ok {
		return oid
	}
	return system
}

// Attribute names passed to RenderOptions.Display: the XDS attribute a
// code comes from.
const (
	AttrClassCode       = "classCode"
	AttrTypeCode        = "typeCode"
	AttrFormatCode      = "formatCode"
	AttrFacilityType    = "healthcareFacilityTypeCode"
	AttrPracticeSetting = "practiceSettingCode"
	AttrConfidentiality = "confidentialityCode"
	AttrEventCode       = "eventCodeList"
	AttrContentType     = "contentTypeCode"
	AttrFolderCode      = "codeList"
	AttrAuthorRole      = "authorRole"
	AttrAuthorSpecialty = "authorSpecialty"
)

func (o RenderOptions) coding(attr string, c registry.Code) Coding {
	out := Coding{System: SystemFor(c.Scheme), Code: c.Code, Display: c.Display}
	if out.Display == "" && o.Display != nil {
		out.Display = o.Display(attr, c.Scheme, c.Code)
	}
	return out
}

func (o RenderOptions) concept(attr string, c registry.Code) *CodeableConcept {
	if c.Code == "" {
		return nil
	}
	return &CodeableConcept{Coding: []Coding{o.coding(attr, c)}}
}

// codeFromCoding maps a FHIR Coding to an XDS code.
func codeFromCoding(c Coding) registry.Code {
	return registry.Code{Code: c.Code, Scheme: SchemeFor(c.System), Display: c.Display}
}

// Norwegian person identifiers.

// personOIDs are the identifier systems a patient may be searched by.
var personOIDs = map[string]string{
	oid.FNR: "F-nr",
	oid.DNR: "D-nr",
	oid.HNR: "H-nr",
}
