package registry_test

import (
	"context"
	"reflect"
	"testing"

	"pjd/registry"
)

// submissionObjects returns the ids of a registered sample submission:
// its SubmissionSet, the HasMember associations from it, and its
// DocumentEntries (no folder).
func submissionObjects(t *testing.T, e *env, seq uint64) (ss string, hms []string, docs []*registry.DocumentEntry) {
	t.Helper()
	ss = e.submissionSet(registry.SampleUniqueID(seq, -1)).ID
	for _, a := range e.assocs(registry.AssociationFilter{Sources: []string{ss}}) {
		hms = append(hms, a.ID)
	}
	docs, err := e.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{registry.SampleUniqueID(seq, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return ss, hms, docs
}

func TestRemove(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		l := newLifecycle(t, open)
		ctx := context.Background()
		ss, hms, docs := submissionObjects(t, l.e, 2) // D2 with its SubmissionSet S2
		before := l.e.counts()
		res, err := l.e.reg.Remove(ctx, append(append([]string{ss}, hms...), docs[0].ID))
		if err != nil {
			t.Fatal(err)
		}
		if after := l.e.counts(); after != (counts{before.docs - 1, before.sets - 1, before.folders, before.assocs - 1}) {
			t.Errorf("counts %+v after removing one submission, %+v before", after, before)
		}
		if len(res.Removed) != 3 || res.Removed[2] != (registry.RemovedObject{Kind: "DocumentEntry", ID: l.d2.ID, LogicalID: l.d2.ID,
			UniqueID: l.d2.UniqueID, PatientID: patient1}) {
			t.Errorf("removed %+v", res.Removed)
		}
		ref := registry.DocumentRef{RepositoryUniqueID: l.d2.RepositoryUniqueID, UniqueID: l.d2.UniqueID}
		if !reflect.DeepEqual(res.Unreferenced, []registry.DocumentRef{ref}) {
			t.Errorf("unreferenced %+v", res.Unreferenced)
		}
		// The repository's sweeper asks the registry by uniqueId: nothing.
		if docs, err := l.e.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{l.d2.UniqueID}}); err != nil || len(docs) != 0 {
			t.Errorf("the removed document is still found by uniqueId: %d, %v", len(docs), err)
		}
		if ok, err := l.e.reg.DocumentReferenced(ctx, ref); err != nil || ok {
			t.Errorf("DocumentReferenced after removal: %v, %v", ok, err)
		}
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, anyStatus, level2)...)); !reflect.DeepEqual(got, sortedIDs(l.d1)) {
			t.Errorf("FindDocuments after removal: %v", got)
		}

		// Removing the latest version of D1 (made by an update outside any
		// folder membership: propagation off) leaves version 1 as the
		// latest, and the document referenced.
		sub := l.newVersion(l.d1, nil)
		sub.Associations[0].Extra = append(sub.Associations[0].Extra, registry.Slot{Name: registry.SlotAssociationPropagation, Values: []string{"no"}})
		up := l.update(sub)
		v2 := up.NewVersions[0]
		hm := l.e.assocs(registry.AssociationFilter{Sources: []string{up.SubmissionSet.ID}})
		res, err = l.e.reg.Remove(ctx, []string{up.SubmissionSet.ID, hm[0].ID, v2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Unreferenced) != 0 {
			t.Errorf("unreferenced %+v, but version 1 names the document", res.Unreferenced)
		}
		if got := l.latest(l.d1.UniqueID); got.ID != l.d1.ID || got.Status != registry.StatusDeprecated {
			t.Errorf("latest version after removing version 2: %s (%s)", got.ID, got.Status)
		}
		if ok, err := l.e.reg.DocumentReferenced(ctx, registry.DocumentRef{RepositoryUniqueID: l.d1.RepositoryUniqueID, UniqueID: l.d1.UniqueID}); err != nil || !ok {
			t.Errorf("DocumentReferenced with version 1 left: %v, %v", ok, err)
		}
	})
}

// TestRemoveRejections has one row per ITI-62 rule: exact codes, nothing
// removed.
func TestRemoveRejections(t *testing.T) {
	tests := []struct {
		name  string
		setup func(l *lifecycle)
		ids   func(l *lifecycle) []string
		codes []string
	}{
		{name: "no object", codes: []string{registry.ErrCodeRegistryError}, ids: func(*lifecycle) []string { return nil }},
		{name: "too many objects", codes: []string{registry.ErrCodeRegistryError}, ids: func(*lifecycle) []string {
			ids := make([]string, 6)
			for i := range ids {
				ids[i] = "urn:uuid:00000000-0000-4000-8000-00000000000" + string(rune('0'+i))
			}
			return ids
		}},
		{name: "an id that is not text", codes: []string{registry.ErrCodeRegistryError}, ids: func(*lifecycle) []string { return []string{"urn:uuid:\x00"} }},
		{name: "unknown id", codes: []string{unresolved}, ids: func(l *lifecycle) []string {
			return []string{l.d2.ID, "urn:uuid:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"}
		}},
		{name: "a SubmissionSet alone (30001 remove_submissionset)", codes: []string{registry.ErrCodeReferencesExist}, ids: func(l *lifecycle) []string {
			ss, _, _ := submissionObjects(l.e.t, l.e, 2)
			return []string{ss}
		}},
		{name: "a document without the folder's HasMember", codes: []string{registry.ErrCodeReferencesExist}, ids: func(l *lifecycle) []string {
			hm := l.e.assocs(registry.AssociationFilter{Sources: []string{l.s1.ID}, Targets: []string{l.d1.ID}})
			return []string{l.d1.ID, hm[0].ID}
		}},
		{name: "document and HasMember, SubmissionSet left empty (30001 remove_doc_and_association)", codes: []string{registry.ErrCodeUnreferencedObject},
			ids: func(l *lifecycle) []string {
				_, hms, docs := submissionObjects(l.e.t, l.e, 2)
				return append(hms, docs[0].ID)
			}},
		{name: "an APND association alone (30009)", codes: []string{registry.ErrCodeMetadataModel},
			setup: func(l *lifecycle) {
				s := sample(61, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocAppend, l.d1.ID)
				l.e.register(s)
			},
			ids: func(l *lifecycle) []string {
				return []string{l.e.assocs(registry.AssociationFilter{Types: []string{registry.AssocAppend}})[0].ID}
			}},
		{name: "the replacing document, leaving the replaced one (30009 remove_rplc_set)", codes: []string{registry.ErrCodeMetadataModel},
			setup: func(l *lifecycle) {
				s := sample(60, registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocReplace, l.d2.ID)
				l.e.register(s)
			},
			ids: func(l *lifecycle) []string {
				ss, hms, docs := submissionObjects(l.e.t, l.e, 60)
				rplc := l.e.assocs(registry.AssociationFilter{Types: []string{registry.AssocReplace}})
				return append([]string{ss, docs[0].ID, rplc[0].ID}, hms...)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t, openSQLite, withMaxResults(5))
			if tt.setup != nil {
				tt.setup(l)
			}
			ids := tt.ids(l)
			before := l.e.counts()
			_, err := l.e.reg.Remove(context.Background(), ids)
			if got := codesOf(t, err); !reflect.DeepEqual(got, tt.codes) {
				t.Fatalf("codes %v, want %v\n%v", got, tt.codes, err)
			}
			if after := l.e.counts(); after != before {
				t.Errorf("objects %+v after a refused removal, %+v before", after, before)
			}
		})
	}
}

func TestRemoveScope(t *testing.T) {
	l := newLifecycle(t, openSQLite)
	ss, hms, docs := submissionObjects(t, l.e, 2)
	scope, err := l.e.reg.RemoveScope(context.Background(), append(append([]string{ss}, hms...), docs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(scope) != 2 || scope[0].Kind != "DocumentEntry" || scope[0].LogicalID != l.d2.ID || scope[1].Kind != "SubmissionSet" ||
		len(scope[0].Institutions) == 0 || len(scope[1].Institutions) == 0 {
		t.Errorf("RemoveScope = %+v", scope)
	}
}
