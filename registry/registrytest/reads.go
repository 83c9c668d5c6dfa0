package registrytest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"pjd/registry"
)

func testRoundTrip(t *testing.T, st registry.Store) {
	doc, ss, fol, assoc := FullDocument(), FullSubmissionSet(), FullFolder(), FullAssociation()
	for _, v := range []any{doc, ss, fol, assoc} {
		if missing := unsetFields(reflect.ValueOf(v), ""); len(missing) > 0 {
			t.Fatalf("fixture %T leaves fields unset, fill them so the round trip covers them: %v", v, missing)
		}
	}
	// A minimal object round-trips too (nil slices and pointers stay nil).
	minimal := &registry.DocumentEntry{ID: id('d', 950), LogicalID: id('d', 950), Status: registry.StatusApproved, PatientID: PatientID(7)}
	insert(t, st, doc, ss, fol, assoc, minimal)

	d := readOne(t, "DocumentEntry", st.Documents, registry.DocumentFilter{IDs: []string{doc.ID}}, FullDocument())
	readOne(t, "minimal DocumentEntry", st.Documents, registry.DocumentFilter{IDs: []string{minimal.ID}}, minimal)
	readOne(t, "SubmissionSet", st.SubmissionSets, registry.SubmissionSetFilter{IDs: []string{ss.ID}}, FullSubmissionSet())
	readOne(t, "Folder", st.Folders, registry.FolderFilter{IDs: []string{fol.ID}}, FullFolder())
	readOne(t, "Association", st.Associations, registry.AssociationFilter{IDs: []string{assoc.ID}}, FullAssociation())

	// Reading twice gives fresh objects: changing a result must not
	// change what the store returns next.
	d.Title = "changed by the caller"
	again := mustDocuments(t, st, registry.DocumentFilter{IDs: []string{doc.ID}})
	equalJSON(t, "DocumentEntry read again", again[0], FullDocument())
}

// readOne reads what f selects, which must be one object deeply equal to
// want, and returns it.
func readOne[F, T any](t *testing.T, what string, read func(context.Context, F) ([]T, error), f F, want T) T {
	t.Helper()
	got := mustRead(t, what, read, f)
	if len(got) != 1 {
		t.Fatalf("%s: got %d, want 1", what, len(got))
	}
	equalJSON(t, what, got[0], want)
	return got[0]
}

// unsetFields lists the exported fields of v (recursively through
// pointers, structs and slice elements) holding their zero value, or
// empty slices.
func unsetFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unsetFields(v.Elem(), path)
	case reflect.Struct:
		var out []string
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, unsetFields(v.Field(i), path+"."+f.Name)...)
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for i := 0; i < v.Len(); i++ {
			out = append(out, unsetFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

func testRegistrationOrder(t *testing.T, st registry.Store) {
	// Ids sort in the opposite order of registration (see id), over
	// several transactions and within one.
	var docs []any
	for n := 1; n <= 6; n++ {
		docs = append(docs, Document(n, p1))
	}
	insert(t, st, docs[0])
	insert(t, st, docs[1:4]...)
	insert(t, st, docs[4:]...)
	insert(t, st, SubmissionSet(3, p1), SubmissionSet(1, p1))
	insert(t, st, SubmissionSet(2, p1))
	insert(t, st, Folder(2, p1), Folder(3, p1), Folder(1, p1))
	insert(t, st, Association(5, "x", "y"), Association(1, "x", "y"), Association(9, "x", "y"))

	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{})), wantIDs('d', []int{1, 2, 3, 4, 5, 6}))
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{IDs: []string{id('d', 5), id('d', 2), id('d', 4)}})), wantIDs('d', []int{2, 4, 5}))
	checkIDs(t, ids(mustSubmissionSets(t, st, registry.SubmissionSetFilter{PatientID: p1})), wantIDs('s', []int{3, 1, 2}))
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{})), wantIDs('f', []int{2, 3, 1}))
	checkIDs(t, ids(mustAssociations(t, st, registry.AssociationFilter{Sources: []string{"x"}})), wantIDs('a', []int{5, 1, 9}))
}

// testFilters runs a filter table over the corpus, through read (one of
// the store's list methods); kind is the id kind of the objects read.
func testFilters[F, T any](t *testing.T, st registry.Store, kind byte, cases []filterCase[F], read func(context.Context, F) ([]T, error)) {
	loadCorpus(t, st)
	checkFieldsCovered(t, cases)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkIDs(t, ids(mustRead(t, reflect.TypeFor[F]().Name(), read, c.f)), wantIDs(kind, c.want))
		})
	}
}

// checkFieldsCovered fails when a filter field is never set in any row, so
// a field added to a filter type must get its own rows.
func checkFieldsCovered[F any](t *testing.T, cases []filterCase[F]) {
	t.Helper()
	seen := map[string]bool{}
	typ := reflect.TypeFor[F]()
	for _, c := range cases {
		v := reflect.ValueOf(c.f)
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).IsZero() {
				seen[typ.Field(i).Name] = true
			}
		}
	}
	for i := 0; i < typ.NumField(); i++ {
		if !seen[typ.Field(i).Name] {
			t.Errorf("%s.%s is not exercised by any row", typ.Name(), typ.Field(i).Name)
		}
	}
}

// testEmptySlices sets each slice field of each filter, in turn, to a
// non-nil empty slice: the result must be empty although every object
// matches the zero filter.
func testEmptySlices(t *testing.T, st registry.Store) {
	loadCorpus(t, st)
	emptySlices(t, st.Documents)
	emptySlices(t, st.SubmissionSets)
	emptySlices(t, st.Folders)
	emptySlices(t, st.Associations)
}

// emptySlices runs testEmptySlices for the filter type F of read.
func emptySlices[F, T any](t *testing.T, read func(context.Context, F) ([]T, error)) {
	t.Helper()
	ctx := context.Background()
	var zero F
	v := reflect.ValueOf(zero)
	if r, err := read(ctx, zero); err != nil || len(r) == 0 {
		t.Fatalf("%T{}: %d results, %v; the corpus must match the zero filter", zero, len(r), err)
	}
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Kind() != reflect.Slice {
			continue
		}
		var f F
		reflect.ValueOf(&f).Elem().Field(i).Set(reflect.MakeSlice(v.Field(i).Type(), 0, 0))
		r, err := read(ctx, f)
		if err != nil {
			t.Errorf("%s = empty: %v", v.Type().Field(i).Name, err)
		} else if len(r) != 0 {
			t.Errorf("%T.%s = empty slice matched %d objects, want none", zero, v.Type().Field(i).Name, len(r))
		}
	}
}

// testLargeIDList: lists longer than SQLite's bind-parameter limit (32766).
func testLargeIDList(t *testing.T, st registry.Store) {
	insert(t, st, Document(1, p1), Document(2, p1), Document(3, p2))
	list := make([]string, 0, 33_000)
	for n := 100; len(list) < 33_000; n++ {
		list = append(list, id('d', n))
	}
	list = append(list, id('d', 3), id('d', 1))
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{IDs: list})), wantIDs('d', []int{1, 3}))
	insert(t, st, Association(1, id('s', 1), id('d', 1)))
	checkIDs(t, ids(mustAssociations(t, st, registry.AssociationFilter{SourceOrTarget: list[len(list)-2000:]})), wantIDs('a', []int{1}))
}

// testValuesAreNeverSQL stores and finds values that would break SQL built
// by concatenation.
func testValuesAreNeverSQL(t *testing.T, st registry.Store) {
	evil := []string{
		`x'); DROP TABLE documents; --`,
		`' OR '1'='1`,
		`"; SELECT 1; --`,
		`\' OR 1=1 /*`,
		`$1 ? %s`,
	}
	var objs []any
	for i, e := range evil {
		d := Document(i+1, e)
		d.Title = e
		d.Class = registry.Code{Code: e, Scheme: e}
		d.Authors = []registry.Author{{Person: "O'Brien^" + e}}
		objs = append(objs, d)
	}
	insert(t, st, objs...)
	for i, e := range evil {
		got := mustDocuments(t, st, registry.DocumentFilter{
			PatientID: e, Classes: cs(registry.Code{Code: e, Scheme: e}), AuthorPersons: []string{"O'Brien^" + e},
		})
		checkIDs(t, ids(got), wantIDs('d', []int{i + 1}))
		if len(got) == 1 && got[0].Title != e {
			t.Errorf("title %q came back as %q", e, got[0].Title)
		}
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{AuthorPersons: []string{"O'Brien^' OR%"}})), wantIDs('d', []int{2}))
	if n := len(mustDocuments(t, st, registry.DocumentFilter{})); n != len(evil) {
		t.Errorf("%d documents after the queries, want %d", n, len(evil))
	}
}
