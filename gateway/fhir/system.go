package fhir

import (
	"strings"

	"pjd/registry/oid"
)

// Coded values and identifiers: an OID system becomes the FHIR system
// "urn:oid:<OID>", and a system that is already a URI (for example a
// "urn:…" scheme or an http URL) is used as it is; a FHIR system maps back
// the same way. The canonical FHIR URLs of the few code systems that also
// have an OID are accepted for the OID (aliases), so
// "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R" finds what
// was registered with scheme 2.16.840.1.113883.5.25.

// systemAliases maps canonical FHIR code system URLs to the OID XDS
// metadata uses for the same system.
var systemAliases = map[string]string{
	"http://terminology.hl7.org/CodeSystem/v3-Confidentiality": oid.HL7Confidentiality,
	"http://hl7.org/fhir/v3/Confidentiality":                   oid.HL7Confidentiality,
	"http://loinc.org":                                         "2.16.840.1.113883.6.1",
	"http://snomed.info/sct":                                   "2.16.840.1.113883.6.96",
}

// SystemFor returns the FHIR system of an XDS codingScheme or identifier
// system: "urn:oid:" + an OID, anything else as it is.
func SystemFor(scheme string) string { return oid.URN(scheme) }

// SchemeFor returns the XDS codingScheme (a bare OID where there is one)
// of a FHIR system.
func SchemeFor(system string) string {
	if s, ok := strings.CutPrefix(system, oid.URNPrefix); ok {
		return s
	}
	if o, ok := systemAliases[system]; ok {
		return o
	}
	return system
}
