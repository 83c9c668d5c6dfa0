package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

func quote(s string) string { return "'" + s + "'" }

func getAll(patient, returnType string) *registry.Query {
	st := "('" + registry.StatusApproved + "')"
	return &registry.Query{ID: registry.QueryGetAll, ReturnType: returnType, Params: []registry.Slot{
		{Name: registry.ParamPatientID, Values: []string{quote(cx(patient))}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{st}},
		{Name: registry.ParamSubmissionSetStatus, Values: []string{st}},
		{Name: registry.ParamFolderStatus, Values: []string{st}},
	}}
}

func getDocuments(returnType string, uniqueIDs ...string) *registry.Query {
	var q []string
	for _, u := range uniqueIDs {
		q = append(q, quote(u))
	}
	return &registry.Query{ID: registry.QueryGetDocuments, ReturnType: returnType, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryUniqueID, Values: []string{"(" + strings.Join(q, ",") + ")"}}}}
}

// closed checks that every association in res names only objects in res
// (documents, sets, folders or other associations it holds): a hidden
// document, and every association that leads to it, is left out.
func closed(t *testing.T, ids map[string]bool, assocs []*registry.Association) {
	t.Helper()
	for _, a := range assocs {
		if !ids[a.Source] || !ids[a.Target] {
			t.Errorf("association %s (%s → %s) names an object the result does not hold", a.ID, a.Source, a.Target)
		}
	}
}

// query runs an ITI-18 query as p and returns what the guard returned
// and the one audit record it wrote.
func (e *env) query(t *testing.T, p *trust.Principal, q *registry.Query) (*registry.QueryResult, audit.Record, error) {
	t.Helper()
	return recorded(t, e, func() (*registry.QueryResult, error) { return e.guard.Query(e.ctx, call(p, audit.TxITI18), q) })
}

func TestQueryPerson(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	hidden := e.entry(uidNORS).ID
	R, H := audit.DocReturned, audit.DocHidden
	permit := wantRecord{tx: audit.TxITI18, action: audit.ActionQuery, outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare,
		patient: patientP, actor: audit.ActorHealthWorker, hiddenNORS: 1,
		docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}}

	t.Run("LeafClass", func(t *testing.T) {
		res, rec, err := e.query(t, healthWorker(patientP), getAll(patientP, registry.ReturnLeafClass))
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, rec, permit)
		if got, want := uids(res.Documents), sorted(uidNormal, uidLab, uidNotCitizen); !slices.Equal(got, want) {
			t.Fatalf("documents %v, want %v", got, want)
		}
		if len(res.SubmissionSets) != 3 || len(res.Folders) != 1 || len(res.Refs) != 0 || res.ReturnType != registry.ReturnLeafClass {
			t.Fatalf("sets %d folders %d refs %d (%s), want 3, 1, 0 (LeafClass)", len(res.SubmissionSets), len(res.Folders), len(res.Refs), res.ReturnType)
		}
		ids := map[string]bool{}
		for _, d := range res.Documents {
			ids[d.ID] = true
		}
		for _, s := range res.SubmissionSets {
			ids[s.ID] = true
		}
		for _, f := range res.Folders {
			ids[f.ID] = true
		}
		for _, a := range res.Associations {
			ids[a.ID] = true
		}
		if ids[hidden] {
			t.Fatal("the NORS document is in the result")
		}
		closed(t, ids, res.Associations)
		// What a system sees, less what leads to the NORS document.
		all, err := e.reg.Query(e.ctx, getAll(patientP, registry.ReturnLeafClass))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(all.Associations) - len(res.Associations); n != 3 {
			t.Errorf("%d associations left out, want 3 (set→NORS, folder→NORS and set→(folder→NORS))", n)
		}
	})

	t.Run("ObjectRef", func(t *testing.T) {
		res, rec, err := e.query(t, healthWorker(patientP), getAll(patientP, registry.ReturnObjectRef))
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, rec, permit)
		if res.ReturnType != registry.ReturnObjectRef || len(res.Documents)+len(res.SubmissionSets)+len(res.Folders)+len(res.Associations) != 0 {
			t.Fatalf("ObjectRef result carries objects: %+v", res)
		}
		all, err := e.reg.Query(e.ctx, getAll(patientP, registry.ReturnLeafClass))
		if err != nil {
			t.Fatal(err)
		}
		refs := map[string]bool{}
		for _, r := range res.Refs {
			if refs[r] {
				t.Errorf("ref %s twice", r)
			}
			refs[r] = true
		}
		if refs[hidden] {
			t.Fatal("the NORS document's id is among the refs")
		}
		var assocs []*registry.Association
		for _, a := range all.Associations {
			if refs[a.ID] {
				assocs = append(assocs, a)
			}
		}
		closed(t, refs, assocs)
		if want := all.Len() - 4; len(res.Refs) != want {
			t.Errorf("%d refs, want %d (all but the NORS document and the three associations leading to it)", len(res.Refs), want)
		}
	})

	t.Run("query naming no patient decides on the result's", func(t *testing.T) {
		res, rec, err := e.query(t, healthWorker(""), getDocuments(registry.ReturnLeafClass, uidNormal, uidNORS))
		if err != nil {
			t.Fatal(err)
		}
		if got := uids(res.Documents); !slices.Equal(got, []string{uidNormal}) {
			t.Fatalf("documents %v, want only %s", got, uidNormal)
		}
		checkRecord(t, rec, wantRecord{tx: audit.TxITI18, action: audit.ActionQuery, outcome: audit.OutcomePermit,
			rule: policy.RuleHealthWorkerCare, patient: patientP, actor: audit.ActorHealthWorker, hiddenNORS: 1,
			docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H}})
	})

	for _, c := range []struct {
		name string
		p    *trust.Principal
		q    *registry.Query
		rule string
	}{
		{"nurse", healthWorker(patientP, nurse), getAll(patientP, registry.ReturnLeafClass), policy.RuleAuthorizationNotAllowed},
		{"attested for another patient", healthWorker(patientQ), getAll(patientP, registry.ReturnObjectRef), policy.RuleAttestationPatientBinding},
		{"citizen asking about someone else", citizen(patientQ), getAll(patientP, registry.ReturnLeafClass), policy.RuleCitizenOtherPatient},
		{"another patient's document by uniqueId", healthWorker(patientP), getDocuments(registry.ReturnLeafClass, uidOther), policy.RuleDocumentPatientMismatch},
	} {
		t.Run("denied: "+c.name, func(t *testing.T) {
			res, rec, err := e.query(t, c.p, c.q)
			var d *access.Denied
			if !errors.As(err, &d) || d.Rule != c.rule || res != nil {
				t.Fatalf("Query = %v, %v; want a denial by %s and no result", res, err, c.rule)
			}
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != c.rule || rec.Transaction != audit.TxITI18 {
				t.Fatalf("record %s %s %s, want a deny by %s", rec.Transaction, rec.Outcome, rec.Rule, c.rule)
			}
			for _, doc := range rec.Documents {
				if doc.Disposition == audit.DocReturned {
					t.Fatalf("a denial recorded document %s as returned", doc.UniqueID)
				}
			}
		})
	}

	// A query the registry rejects is recorded for a person as it is for
	// a system, and the rejection comes back as RegistryErrors.
	t.Run("rejected query", func(t *testing.T) {
		bad := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{quote(cx(patientP))}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
			{Name: registry.ParamDocumentEntryClassCode, Values: []string{"('A00-1')"}}, // a code without its scheme
		}}
		for _, p := range []*trust.Principal{healthWorker(patientP), source()} {
			res, rec, err := e.query(t, p, bad)
			if l, ok := registry.AsErrors(err); !ok || !l.Failed() || res != nil {
				t.Fatalf("%s: Query = %v, %v; want RegistryErrors", p.Kind, res, err)
			}
			if rec.Outcome != audit.OutcomeDeny || rec.PatientID != patientP || len(rec.Documents) != 0 {
				t.Fatalf("%s: record %+v, want a deny for %s without documents", p.Kind, rec, patientP)
			}
		}
	})
}

func TestQuerySystem(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	for _, rt := range []string{registry.ReturnLeafClass, registry.ReturnObjectRef} {
		t.Run(rt, func(t *testing.T) {
			res, rec, err := e.query(t, source(), getAll(patientP, rt))
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.reg.Query(e.ctx, getAll(patientP, rt))
			if err != nil {
				t.Fatal(err)
			}
			if res.Len() != want.Len() {
				t.Fatalf("a system's query returned %d objects, the registry has %d", res.Len(), want.Len())
			}
			if rec.Outcome != audit.OutcomePermit || rec.Rule != "system-credential" || rec.Actor.Kind != audit.ActorSystem ||
				rec.PatientID != patientP || rec.Transaction != audit.TxITI18 {
				t.Fatalf("record %+v", rec)
			}
			if rt == registry.ReturnLeafClass && len(rec.Documents) != 4 {
				t.Fatalf("record names %d documents, want the 4 returned", len(rec.Documents))
			}
		})
	}
}

func TestFindLists(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	R, H := audit.DocReturned, audit.DocHidden
	req := access.ListsRequest{PatientID: patientP, PatientOID: oid.FNR,
		SubmissionSets: &registry.SubmissionSetFilter{Statuses: []string{registry.StatusApproved}},
		Folders:        &registry.FolderFilter{Statuses: []string{registry.StatusApproved}}}

	res, rec, err := recorded(t, e, func() (*access.ListsResult, error) {
		return e.guard.FindLists(e.ctx, call(healthWorker(patientP), audit.TxITI66), req)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRecord(t, rec, wantRecord{tx: audit.TxITI66, action: audit.ActionQuery, outcome: audit.OutcomePermit,
		rule: policy.RuleHealthWorkerCare, patient: patientP, actor: audit.ActorHealthWorker, hiddenNORS: 1,
		docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}})
	if len(res.SubmissionSets) != 3 || len(res.Folders) != 1 || res.HiddenNORS != 1 {
		t.Fatalf("%d sets, %d folders, %d NORS hidden; want 3, 1, 1", len(res.SubmissionSets), len(res.Folders), res.HiddenNORS)
	}
	hidden := e.entry(uidNORS).ID
	if res.Documents[hidden] || len(res.Documents) != 3 {
		t.Fatalf("visible member documents %v (the NORS one is %s)", res.Documents, hidden)
	}
	lists := map[string]bool{res.Folders[0].ID: true}
	for _, s := range res.SubmissionSets {
		lists[s.ID] = true
	}
	for _, a := range res.Members {
		if a.Type != registry.AssocHasMember || !lists[a.Source] || a.Target == hidden {
			t.Fatalf("member %+v", a)
		}
		if !res.Documents[a.Target] && !lists[a.Target] {
			t.Fatalf("member %s → %s is neither a visible document nor a listed folder", a.Source, a.Target)
		}
	}
	// 3 set → visible document, set → folder, folder → normal epikrise.
	if len(res.Members) != 5 {
		t.Fatalf("%d members, want 5: %+v", len(res.Members), res.Members)
	}

	// Only folders.
	onlyFolders := req
	onlyFolders.SubmissionSets = nil
	res, err = e.guard.FindLists(e.ctx, call(healthWorker(patientP), audit.TxITI66), onlyFolders)
	if err != nil || len(res.SubmissionSets) != 0 || len(res.Folders) != 1 || len(res.Members) != 1 {
		t.Fatalf("folders only: %+v, %v", res, err)
	}

	for _, c := range []struct {
		name string
		p    *trust.Principal
		rule string
	}{
		{"nurse", healthWorker(patientP, nurse), policy.RuleAuthorizationNotAllowed},
		{"other patient attested", healthWorker(patientQ), policy.RuleAttestationPatientBinding},
		{"no principal", nil, policy.RuleNoPrincipal},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, rec, err := recorded(t, e, func() (*access.ListsResult, error) { return e.guard.FindLists(e.ctx, call(c.p, audit.TxITI66), req) })
			var d *access.Denied
			if !errors.As(err, &d) || d.Rule != c.rule || res != nil {
				t.Fatalf("FindLists = %v, %v; want a denial by %s", res, err, c.rule)
			}
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != c.rule || len(rec.Documents) != 0 {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}
