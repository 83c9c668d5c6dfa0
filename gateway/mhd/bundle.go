package mhd

import (
	"pjd/gateway/fhir"
	"strings"
)

// SearchSet builds the searchset Bundle of an ITI-67 or ITI-66 answer:
// total is the number of matches over all pages, self the URL of this
// page and next that of the following page ("" on the last one). Each
// entry gets search.mode match and a fullUrl made of self's path and the
// resource id; an OperationOutcome among entries (warnings) gets mode
// outcome and no fullUrl.
func SearchSet(entries []fhir.Resource, total int, self, next string) fhir.Bundle {
	b := fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "searchset", Total: &total}
	if self != "" {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "self", URL: self})
	}
	if next != "" {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: next})
	}
	base, _, _ := strings.Cut(self, "?")
	base = strings.TrimSuffix(strings.TrimSuffix(base, "/_search"), "/")
	b.Entry = make([]fhir.BundleEntry, 0, len(entries))
	for _, r := range entries {
		e := fhir.BundleEntry{Resource: &r, Search: &fhir.BundleSearch{Mode: "match"}}
		if r.Type() == "OperationOutcome" {
			e.Search.Mode = "outcome"
		} else if id := entryID(r); id != "" && base != "" {
			e.FullURL = base + "/" + id
		}
		b.Entry = append(b.Entry, e)
	}
	return b
}

func entryID(r fhir.Resource) string {
	switch r.Value.(type) {
	case *fhir.DocumentReference, *fhir.List:
		return r.ID()
	}
	return ""
}
