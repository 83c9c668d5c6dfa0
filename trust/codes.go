package trust

import (
	"pjd/registry/oid"
	"strings"
)

// Scopes of the PJD API (reference/norway.md). ScopeCitizen, ScopeAudit and
// ScopeRegister are pjd's own: there are no published names for them (NHN's
// repository API uses nhn:phr-repo/mhd/create under audience nhn:phr-repo).
const (
	ScopeReadDocumentReferences   = "nhn:phr/mhd/read-documentreferences"
	ScopeReadDocumentReferencesKJ = "nhn:phr/mhd/read-documentreferences/kjernejournalforskriften"
	ScopeReadDocument             = "nhn:phr/mhd/read-document"
	ScopeCitizen                  = "nhn:phr/citizen"
	ScopeAudit                    = "nhn:phr/audit"
	ScopeRegister                 = "nhn:phr/mhd/create"
	// pjd's own scopes of the document lifecycle (issue 13): ITI-51
	// Multi-Patient Stored Query and ITI-104 Patient Identity Feed FHIR,
	// for systems only.
	ScopeMultiPatientQuery   = "nhn:pjd/multi-patient-query"
	ScopePatientIdentityFeed = "nhn:pjd/patient-identity-feed"
)

// AttestationType is the authorization_details type (and claim name) of the
// trust-framework attestation.
const AttestationType = "nhn:tillitsrammeverk:parameters"

// Code systems of the attestation that are pjd's own or not OIDs; the
// OIDs of identifier and code systems are in registry/oid.
const (
	SystemCareRelation     = "urn:AuditEventHL7Norway/CodeSystem/carerelation"
	SystemDecisionTemplate = "https://terminology.dips.com/decisiontemplate"
)

// Purposes of use accepted in an attestation.
const (
	PurposeTreat   = "TREAT"
	PurposeETreat  = "ETREAT"
	PurposeCOC     = "COC"
	PurposeBTG     = "BTG"
	PurposeCitizen = "13" // ISO 14265 "subject of care uses" (helsenorge SAML)
)

// healthcareServiceLists are the Volven lists a healthcare_service may come from.
var healthcareServiceLists = []string{"8655", "8451", "8668", "8663", "8662", "8664", "8666", "7750", "8254"}

// bareOID strips a "urn:oid:" prefix (and white space) so "urn:oid:X" and
// "X" compare equal.
func bareOID(s string) string { return oid.Bare(strings.TrimSpace(s)) }

// SameSystem reports whether two code-system / identifier-system values
// name the same system, treating "urn:oid:X" and "X" as equal.
func SameSystem(a, b string) bool { return bareOID(a) == bareOID(b) }

// ValidNIN reports whether s is a well-formed Norwegian national identity
// number (F-nr, D-nr, H-nr, synthetic test numbers included): eleven digits
// with valid check digits. Following the rules in force from 2032, the first
// check digit may leave a remainder of 0–3 (older numbers always leave 0).
func ValidNIN(s string) bool {
	if len(s) != 11 {
		return false
	}
	var d [11]int
	for i := 0; i < 11; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d[i] = int(c - '0')
	}
	w1 := [10]int{3, 7, 6, 1, 8, 9, 4, 5, 2, 1}
	w2 := [11]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1}
	s1, s2 := 0, 0
	for i := 0; i < 10; i++ {
		s1 += w1[i] * d[i]
	}
	for i := 0; i < 11; i++ {
		s2 += w2[i] * d[i]
	}
	return s1%11 <= 3 && s2%11 == 0
}

// ValidOrgNr reports whether s is a nine-digit organisation number with a
// valid modulus-11 check digit.
func ValidOrgNr(s string) bool {
	if len(s) != 9 {
		return false
	}
	w := [8]int{3, 2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i := 0; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 8 {
			sum += w[i] * int(s[i]-'0')
		}
	}
	k := 11 - sum%11
	if k == 11 {
		k = 0
	}
	return k != 10 && k == int(s[8]-'0')
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
