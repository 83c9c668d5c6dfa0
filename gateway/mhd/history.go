package mhd

import (
	"net/http"
	"strconv"

	"pjd/gateway/audit"
	"pjd/gateway/fhir"
	"pjd/registry"
)

// DocumentReference history (ITI-57 versions; research digest §4):
//
//   - GET /fhir/R4/DocumentReference/[id]/_history: a Bundle of type
//     history, newest first; each entry has fullUrl, the resource (id =
//     the logical document's, meta.versionId = the XDS version, status
//     current or superseded), and request/response as FHIR R4 history
//     bundles require (POST for version 1, PUT for later ones).
//   - GET /fhir/R4/DocumentReference/[id]/_history/[vid]: one version
//     (vread).
//
// Policy, concealment and audit are those of a search of the document's
// patient (the Guard's DocumentVersions): a document the caller may not
// see answers 404 exactly as one that does not exist.

// history is GET DocumentReference/[id]/_history[/vid].
func (m *Endpoints) history(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxITI67, audit.ActionQuery, scopesSearch)
	if !ok {
		return
	}
	id := r.PathValue("id")
	vid := r.PathValue("vid")
	if !fhirIDRE.MatchString(id) {
		fhir.WriteError(w, fhir.NotFound("no such document"))
		return
	}
	versions, err := m.Guard.DocumentVersions(r.Context(), m.call(r, p, audit.TxITI67), "urn:uuid:"+id, headerPatient(r))
	if err != nil {
		m.guardError(w, r, err)
		return
	}
	opts := m.renderOptions()
	if vid != "" {
		for _, d := range versions {
			if versionOf(d) == vid {
				m.Metrics.Transaction("ITI-67", "Success")
				w.Header().Set("ETag", `W/"`+vid+`"`)
				fhir.Write(w, http.StatusOK, DocumentReferenceFrom(d, nil, opts), false)
				return
			}
		}
		fhir.WriteError(w, fhir.NotFound("no version %s of this document", vid))
		return
	}
	total := len(versions)
	b := fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "history", Total: &total,
		Link: []fhir.BundleLink{{Relation: "self", URL: m.BaseURL + r.URL.Path}}}
	for _, d := range versions {
		dr := DocumentReferenceFrom(d, nil, opts)
		method := http.MethodPut
		if versionOf(d) == "1" {
			method = http.MethodPost
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{
			FullURL:  m.BaseURL + "/fhir/R4/DocumentReference/" + id + "/_history/" + versionOf(d),
			Resource: &fhir.Resource{Value: &dr},
			Request:  &fhir.BundleRequest{Method: method, URL: "DocumentReference/" + id},
			Response: &fhir.BundleResponse{Status: "200"},
		})
	}
	m.Metrics.Transaction("ITI-67", "Success")
	fhir.Write(w, http.StatusOK, b, false)
}

// versionOf is d's version as text ("1" when unset).
func versionOf(d *registry.DocumentEntry) string {
	if n, err := strconv.Atoi(d.Version); err == nil && n > 0 {
		return strconv.Itoa(n)
	}
	return "1"
}
