package mhd

import (
	"regexp"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

// Coded values: an XDS codingScheme becomes a FHIR system by
// fhir.SystemFor, and a FHIR system (or one of its canonical aliases) maps
// back by fhir.SchemeFor.

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(s string) bool { return uuidRE.MatchString(s) }

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

func (o RenderOptions) coding(attr string, c registry.Code) fhir.Coding {
	out := fhir.Coding{System: fhir.SystemFor(c.Scheme), Code: c.Code, Display: c.Display}
	if out.Display == "" && o.Display != nil {
		out.Display = o.Display(attr, c.Scheme, c.Code)
	}
	return out
}

func (o RenderOptions) concept(attr string, c registry.Code) *fhir.CodeableConcept {
	if c.Code == "" {
		return nil
	}
	return &fhir.CodeableConcept{Coding: []fhir.Coding{o.coding(attr, c)}}
}

// codeFromCoding maps a FHIR Coding to an XDS code.
func codeFromCoding(c fhir.Coding) registry.Code {
	return registry.Code{Code: c.Code, Scheme: fhir.SchemeFor(c.System), Display: c.Display}
}

// Norwegian person identifiers.

// personOIDs are the identifier systems a patient may be searched by.
var personOIDs = map[string]string{
	oid.FNR: "F-nr",
	oid.DNR: "D-nr",
	oid.HNR: "H-nr",
}
