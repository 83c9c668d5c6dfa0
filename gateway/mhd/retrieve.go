package mhd

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// ParseRetrieveQuery reads the query of an ITI-68 URL of this node's
// own documents; see ParseRetrieveRef.
func ParseRetrieveQuery(q url.Values) (repositoryUniqueID, uniqueID string, err error) {
	ref, err := ParseRetrieveRef(q)
	if err == nil && ref.HomeCommunityID != "" {
		return "", "", fhir.NewError(http.StatusBadRequest, fhir.IssueNotSupported, retrieveParamHome, "unknown parameter %s", retrieveParamHome)
	}
	return ref.RepositoryUniqueID, ref.UniqueID, err
}

// RetrieveRef names a document to retrieve: where it is held and its
// uniqueId.
type RetrieveRef struct {
	// HomeCommunityID is the community that holds it (urn:oid:…); "" for
	// this node's own.
	HomeCommunityID    string
	RepositoryUniqueID string
	UniqueID           string
}

// ParseRetrieveRef reads the query of an ITI-68 URL (as RetrieveURL
// builds it): exactly one repositoryUniqueId (an OID) and one uniqueId
// (printable ASCII, at most 128 characters), at most one homeCommunityId
// (urn:oid:…, a document another community holds), nothing else. Errors
// are *Error (400) naming the parameter.
func ParseRetrieveRef(q url.Values) (RetrieveRef, error) {
	var (
		repositoryUniqueID, uniqueID string
		e                            errs
	)
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != retrieveParamRepository && name != retrieveParamDocument && name != retrieveParamHome && !e.full() {
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
	var home string
	if vs := q[retrieveParamHome]; len(vs) > 0 {
		home = one(retrieveParamHome)
		if oidPart, ok := strings.CutPrefix(home, "urn:oid:"); home != "" && (!ok || !registry.ValidOID(oidPart)) {
			e.add(http.StatusBadRequest, fhir.IssueValue, retrieveParamHome, "parameter %s: not urn:oid: and an OID", retrieveParamHome)
		}
	}
	if err := e.err(); err != nil {
		return RetrieveRef{}, err
	}
	return RetrieveRef{HomeCommunityID: home, RepositoryUniqueID: repositoryUniqueID, UniqueID: uniqueID}, nil
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
