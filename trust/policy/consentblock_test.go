package policy_test

import (
	"testing"

	"pjd/trust/policy"
)

// A patient's own blocks (FHIR Consent) name no recipient: they hold for
// every health worker, on all documents, one document, or one source
// organisation's documents; and never for the patient.
func TestPatientsOwnBlocks(t *testing.T) {
	p := policy.Default()
	a := doc("a", "A00-1", day)
	b := doc("b", "A00-1", day)
	b.AuthorInstitutions = []string{"974589095"}
	for _, c := range []struct {
		name    string
		block   policy.Block
		rule    string   // the refusal of the whole search, or ""
		visible []string // else what is visible
	}{
		{"all sharing", policy.Block{ID: "1", PatientID: patient, Everyone: true}, policy.RulePatientBlock, nil},
		{"one document", policy.Block{ID: "2", PatientID: patient, Everyone: true, DocumentUniqueIDs: []string{"a"}}, "", []string{"b"}},
		{"one source", policy.Block{ID: "3", PatientID: patient, Everyone: true, SourceOrgNr: "974589095"}, "", []string{"a"}},
		{"a recipient block names someone else", policy.Block{ID: "4", PatientID: patient, HPRNumber: "1"}, "", []string{"a", "b"}},
		{"lifted", policy.Block{ID: "5", PatientID: patient, Everyone: true, ValidTo: now.Add(-day)}, "", []string{"a", "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := policy.Request{Principal: healthWorker(), Action: policy.ActionFind, PatientIDs: []string{patient},
				Documents: []policy.Document{a, b}, Blocks: []policy.Block{c.block}, Now: now}
			d := p.Decide(req)
			if c.rule != "" {
				if d.Permitted() || d.Rule != c.rule {
					t.Fatalf("decision %+v, want a refusal by %s", d, c.rule)
				}
				return
			}
			var got []string
			for _, v := range d.Visible {
				got = append(got, v.UniqueID)
			}
			if !d.Permitted() || len(got) != len(c.visible) || (len(got) > 0 && got[0] != c.visible[0]) {
				t.Fatalf("visible %v (%s), want %v", got, d.Rule, c.visible)
			}
		})
	}
}
