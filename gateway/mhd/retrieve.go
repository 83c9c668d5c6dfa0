package mhd

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// ParseRetrieveQuery reads the query of an ITI-68 URL (as RetrieveURL
// builds it): exactly one repositoryUniqueId (an OID) and one uniqueId
// (printable ASCII, at most 128 characters), nothing else. Errors are
// *Error (400) naming the parameter.
func ParseRetrieveQuery(q url.Values) (repositoryUniqueID, uniqueID string, err error) {
	var e errs
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != retrieveParamRepository && name != retrieveParamDocument && !e.full() {
			e.add(http.StatusBadRequest, fhir.IssueNotSupported, name, "unknown parameter %s", name)
		}
	}
	one := func(name string) string {
		vs := q[name]
		switch {
		case len(vs) == 0 || vs[0] == "":
			e.add(http.StatusBadRequest, fhir.IssueRequired, name, "parameter %s is required", name)
		case len(vs) > 1:
			e.add(http.StatusBadRequest, fhir.IssueValue, name, "parameter %s: given more than once", name)
		default:
			return vs[0]
		}
		return ""
	}
	repositoryUniqueID, uniqueID = one(retrieveParamRepository), one(retrieveParamDocument)
	if repositoryUniqueID != "" && !registry.ValidOID(repositoryUniqueID) {
		e.add(http.StatusBadRequest, fhir.IssueValue, retrieveParamRepository, "parameter %s: not an OID", retrieveParamRepository)
	}
	if uniqueID != "" && !printableASCII(uniqueID, 128) {
		e.add(http.StatusBadRequest, fhir.IssueValue, retrieveParamDocument, "parameter %s: not a document uniqueId (printable ASCII, at most 128 characters)", retrieveParamDocument)
	}
	if err := e.err(); err != nil {
		return "", "", err
	}
	return repositoryUniqueID, uniqueID, nil
}

func printableASCII(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Headers of the PJD consumer API besides nhn-patient-nin
// (reference/norway.md); the gateway's policy and audit read them.
const (
	HeaderSourceSystem = "nhn-source-system"
	HeaderEventID      = "nhn-event-id"
	HeaderAccessBasis  = "nhn-access-basis"
	// HeaderNorsCount is the response header that reports how many NORS
	// ("sperret") documents were hidden from the answer.
	HeaderNorsCount = "NHN-SecurityLabel-Nors-Count"
)

// DocumentETag is the strong ETag of an ITI-68 response: the document's
// SHA-1 (registered, lower-case hex), quoted. Stable across gateway nodes
// and restarts, since a registered document never changes. "" for a hash
// that is not 40 hex digits.
func DocumentETag(sha1Hex string) string {
	if len(sha1Hex) != 40 {
		return ""
	}
	for i := 0; i < len(sha1Hex); i++ {
		c := sha1Hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return ""
		}
	}
	return `"sha1-` + strings.ToLower(sha1Hex) + `"`
}
