package registrytest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"pjd/registry"
)

// Opener returns a new, empty, migrated Store for one test. Run closes it.
type Opener func(t *testing.T) registry.Store

// Waiting reports how many Updates on st wait for another transaction's
// lock, or for SQLite's single writer connection, as the database or the
// driver sees it. Each backend's test gives it (from pg_stat_activity, or
// the writer pool's wait count), so that CancelBlockedUpdate proves the
// state it cancels was reached.
type Waiting func(ctx context.Context, st registry.Store) (int, error)

// Run runs every storage scenario against the Store that open returns.
// Each scenario gets its own store and runs in parallel with the others.
func Run(t *testing.T, open Opener, waiting Waiting) {
	newStore := func(t *testing.T) registry.Store {
		t.Helper()
		st := open(t)
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return st
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, st registry.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"RegistrationOrder", testRegistrationOrder},
		{"DocumentFilters", func(t *testing.T, st registry.Store) { testFilters(t, st, 'd', documentCases(), st.Documents) }},
		{"SubmissionSetFilters", func(t *testing.T, st registry.Store) {
			testFilters(t, st, 's', submissionSetCases(), st.SubmissionSets)
		}},
		{"FolderFilters", func(t *testing.T, st registry.Store) { testFilters(t, st, 'f', folderCases(), st.Folders) }},
		{"AssociationFilters", func(t *testing.T, st registry.Store) { testFilters(t, st, 'a', associationCases(), st.Associations) }},
		{"EmptySliceMatchesNothing", testEmptySlices},
		{"LargeIDList", testLargeIDList},
		{"ValuesAreNeverSQL", testValuesAreNeverSQL},
		{"DocumentStatus", testDocumentStatus},
		{"FolderLastUpdateTime", testFolderLastUpdateTime},
		{"NotFound", testNotFound},
		{"Rollback", testRollback},
		{"ErrorsFromFnUnchanged", testErrorsUnchanged},
		{"SwallowedWriteError", testSwallowedWriteError},
		{"ReadOwnWrites", testReadOwnWrites},
		{"ConcurrentSubmissionSetUniqueID", testConcurrentSubmissionSet},
		{"ConcurrentDocumentUniqueID", testConcurrentDocument},
		{"ConflictRetriesBounded", testConflictBounded},
		{"InvalidInput", testInvalidInput},
		{"Ping", testPing},
		{"Cancellation", testCancellation},
		{"CancelBlockedUpdate", func(t *testing.T, st registry.Store) { testCancelBlockedUpdate(t, st, waiting) }},
		{"Migrate", testMigrate},
		{"Versions", testVersions},
		{"ConcurrentVersion", testConcurrentVersion},
		{"FolderAndAssociationStatus", testFolderAndAssociationStatus},
		{"DeleteObjects", testDeleteObjects},
		{"PatientLinks", testPatientLinks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// insert registers objects in one Update, in the order given.
func insert(t *testing.T, st registry.Store, objs ...any) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx registry.Tx) error {
		for _, o := range objs {
			var err error
			switch o := o.(type) {
			case *registry.DocumentEntry:
				err = tx.InsertDocument(ctx, o)
			case *registry.SubmissionSet:
				err = tx.InsertSubmissionSet(ctx, o)
			case *registry.Folder:
				err = tx.InsertFolder(ctx, o)
			case *registry.Association:
				err = tx.InsertAssociation(ctx, o)
			default:
				return fmt.Errorf("registrytest: cannot insert %T", o)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
}

func loadCorpus(t *testing.T, st registry.Store) {
	t.Helper()
	var objs []any
	for _, d := range corpusDocuments() {
		objs = append(objs, d)
	}
	for _, s := range corpusSubmissionSets() {
		objs = append(objs, s)
	}
	for _, f := range corpusFolders() {
		objs = append(objs, f)
	}
	for _, a := range corpusAssociations() {
		objs = append(objs, a)
	}
	// Two transactions, so order across commits is covered too.
	insert(t, st, objs[:5]...)
	insert(t, st, objs[5:]...)
}

// ids returns the ids of objects in order.
func ids[T any](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		switch o := any(o).(type) {
		case *registry.DocumentEntry:
			out = append(out, o.ID)
		case *registry.SubmissionSet:
			out = append(out, o.ID)
		case *registry.Folder:
			out = append(out, o.ID)
		case *registry.Association:
			out = append(out, o.ID)
		}
	}
	return out
}

// names maps fixture ids back to corpus names (d1, s2 …) for messages.
func names(got []string) []string {
	out := make([]string, len(got))
	for i, g := range got {
		out[i] = g
		for _, k := range []byte("dsfa") {
			for n := 0; n < 1000; n++ {
				if id(k, n) == g {
					out[i] = fmt.Sprintf("%c%d", k, n)
				}
			}
		}
	}
	return out
}

func wantIDs(kind byte, ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = id(kind, n)
	}
	return out
}

func checkIDs(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", names(got), names(want))
	}
}

// SameJSON fails t unless got and want encode to the same JSON (what a
// store keeps of an object), showing both.
func SameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// equalJSON fails unless got and want are deeply equal, showing both.
func equalJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs:\ngot  %s\nwant %s", what, g, w)
	}
}

// mustRead calls one of Reader's list methods and fails t on an error.
func mustRead[F, T any](t *testing.T, what string, read func(context.Context, F) ([]T, error), f F) []T {
	t.Helper()
	got, err := read(context.Background(), f)
	if err != nil {
		t.Fatalf("%s(%+v): %v", what, f, err)
	}
	return got
}

func mustDocuments(t *testing.T, r registry.Reader, f registry.DocumentFilter) []*registry.DocumentEntry {
	t.Helper()
	return mustRead(t, "Documents", r.Documents, f)
}

func mustSubmissionSets(t *testing.T, r registry.Reader, f registry.SubmissionSetFilter) []*registry.SubmissionSet {
	t.Helper()
	return mustRead(t, "SubmissionSets", r.SubmissionSets, f)
}

func mustFolders(t *testing.T, r registry.Reader, f registry.FolderFilter) []*registry.Folder {
	t.Helper()
	return mustRead(t, "Folders", r.Folders, f)
}

func mustAssociations(t *testing.T, r registry.Reader, f registry.AssociationFilter) []*registry.Association {
	t.Helper()
	return mustRead(t, "Associations", r.Associations, f)
}

// counts returns how many objects of each type the store holds.
func counts(t *testing.T, r registry.Reader) [4]int {
	t.Helper()
	return [4]int{
		len(mustDocuments(t, r, registry.DocumentFilter{})),
		len(mustSubmissionSets(t, r, registry.SubmissionSetFilter{})),
		len(mustFolders(t, r, registry.FolderFilter{})),
		len(mustAssociations(t, r, registry.AssociationFilter{})),
	}
}
