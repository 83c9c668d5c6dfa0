package registrytest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"pjd/registry"
)

// Storage scenarios of the document lifecycle (issue 13): versions and
// the latest flag, status changes of Folders and Associations, physical
// removal, and patient identity links.

// version returns version n of the logical document of fixture base: its
// own entryUUID, the lid and uniqueId of base.
func version(base, n int, patient string) *registry.DocumentEntry {
	d := Document(base*100+n, patient)
	d.LogicalID = id('d', base*100+1)
	d.UniqueID = fmt.Sprintf("2.16.578.1.12.4.1.7.3.%d", base)
	d.Version = fmt.Sprint(n)
	return d
}

func folderVersion(base, n int, patient string) *registry.Folder {
	f := Folder(base*100+n, patient)
	f.LogicalID = id('f', base*100+1)
	f.UniqueID = fmt.Sprintf("2.16.578.1.12.4.1.7.5.%d", base)
	f.Version = fmt.Sprint(n)
	return f
}

func testVersions(t *testing.T, st registry.Store) {
	ctx := context.Background()
	v1, other := version(1, 1, p1), Document(2, p1)
	insert(t, st, v1, other)
	latest := registry.DocumentFilter{LatestOnly: true}
	checkIDs(t, ids(mustDocuments(t, st, latest)), []string{v1.ID, other.ID})

	// A new version (with the previous one deprecated, as the registry
	// does) is the latest; the old one stays readable.
	v2 := version(1, 2, p1)
	err := st.Update(ctx, func(tx registry.Tx) error {
		return errors.Join(tx.SetDocumentStatus(ctx, v1.ID, registry.StatusDeprecated), tx.InsertDocument(ctx, v2))
	})
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, ids(mustDocuments(t, st, latest)), []string{other.ID, v2.ID})
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}})), []string{v1.ID, v2.ID})
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}, LatestOnly: true})), []string{v2.ID})
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{UniqueIDs: []string{v1.UniqueID}, LatestOnly: true})), []string{v2.ID})
	got := mustDocuments(t, st, registry.DocumentFilter{IDs: []string{v2.ID}})
	if len(got) != 1 || got[0].Version != "2" || got[0].LogicalID != v1.LogicalID {
		t.Errorf("version 2 read back as %+v", got)
	}

	// The same (lid, version) twice is a conflict, whatever else differs.
	dup := version(1, 2, p1)
	dup.ID = id('d', 199)
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, dup) }); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("a second version 2: got %v, want ErrConflict", err)
	}

	// Folders the same way; versions share the uniqueId, another lid may
	// not take it as its version 1.
	f1 := folderVersion(3, 1, p1)
	insert(t, st, f1)
	f2 := folderVersion(3, 2, p1)
	insert(t, st, f2)
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LatestOnly: true})), []string{f2.ID})
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{UniqueIDs: []string{f1.UniqueID}})), []string{f1.ID, f2.ID})
	thief := Folder(4, p1)
	thief.UniqueID = f1.UniqueID
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertFolder(ctx, thief) }); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("another folder's uniqueId as version 1: got %v, want ErrConflict", err)
	}

	// Invalid versions and a missing lid are refused.
	for name, mod := range map[string]func(d *registry.DocumentEntry){
		"version 0":         func(d *registry.DocumentEntry) { d.Version = "0" },
		"version not a num": func(d *registry.DocumentEntry) { d.Version = "1.1" },
		"version with zero": func(d *registry.DocumentEntry) { d.Version = "01" },
		"no logicalID":      func(d *registry.DocumentEntry) { d.LogicalID = "" },
	} {
		d := Document(50, p1)
		mod(d)
		err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertDocument(ctx, d) })
		if err == nil || errors.Is(err, registry.ErrConflict) {
			t.Errorf("%s: got %v, want an invalid-input error", name, err)
		}
	}
}

// testConcurrentVersion: several transactions each read the latest
// version of one lid and insert the next; exactly one succeeds, and the
// others, re-run by Update, see the new version (the registry then
// answers XDSMetadataVersionError).
func testConcurrentVersion(t *testing.T, st registry.Store) {
	v1 := version(1, 1, p1)
	insert(t, st, v1)
	const n = 6
	errs := raceUpdates(t, st, n,
		func(ctx context.Context, tx registry.Tx) (bool, error) {
			got, err := tx.Documents(ctx, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}, LatestOnly: true})
			if err != nil {
				return false, err
			}
			if len(got) != 1 {
				return false, fmt.Errorf("%d latest versions", len(got))
			}
			return got[0].Version != "1", nil
		},
		func(ctx context.Context, tx registry.Tx, i int) error {
			v := version(1, 2, p1)
			v.ID = id('d', 300+i)
			v.Title = fmt.Sprintf("update %d", i)
			if err := tx.SetDocumentStatus(ctx, v1.ID, registry.StatusDeprecated); err != nil {
				return err
			}
			return tx.InsertDocument(ctx, v)
		})
	checkOneWinner(t, errs)
	all := mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}})
	if len(all) != 2 {
		t.Fatalf("%d versions stored, want 2", len(all))
	}
	if latest := mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}, LatestOnly: true}); len(latest) != 1 || latest[0].Version != "2" {
		t.Errorf("latest: %+v", latest)
	}
}

func testFolderAndAssociationStatus(t *testing.T, st registry.Store) {
	ctx := context.Background()
	f, d := Folder(1, p1), Document(1, p1)
	a := Association(1, f.ID, d.ID)
	insert(t, st, f, d, a)
	err := st.Update(ctx, func(tx registry.Tx) error {
		return errors.Join(tx.SetFolderStatus(ctx, f.ID, registry.StatusDeprecated),
			tx.SetAssociationStatus(ctx, a.ID, registry.StatusDeprecated))
	})
	if err != nil {
		t.Fatal(err)
	}
	dep := []string{registry.StatusDeprecated}
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{Statuses: dep})), []string{f.ID})
	checkIDs(t, ids(mustAssociations(t, st, registry.AssociationFilter{Statuses: dep})), []string{a.ID})
	wantF, wantA := Folder(1, p1), Association(1, f.ID, d.ID)
	wantF.Status, wantA.Status = registry.StatusDeprecated, registry.StatusDeprecated
	equalJSON(t, "deprecated Folder", mustFolders(t, st, registry.FolderFilter{})[0], wantF)
	equalJSON(t, "deprecated Association", mustAssociations(t, st, registry.AssociationFilter{})[0], wantA)

	// And back.
	err = st.Update(ctx, func(tx registry.Tx) error {
		return errors.Join(tx.SetFolderStatus(ctx, f.ID, registry.StatusApproved),
			tx.SetAssociationStatus(ctx, a.ID, registry.StatusApproved))
	})
	if err != nil {
		t.Fatal(err)
	}
	equalJSON(t, "re-approved Folder", mustFolders(t, st, registry.FolderFilter{})[0], Folder(1, p1))
	equalJSON(t, "re-approved Association", mustAssociations(t, st, registry.AssociationFilter{})[0], Association(1, f.ID, d.ID))

	for name, fn := range map[string]func(tx registry.Tx) error{
		"folder status of unknown id": func(tx registry.Tx) error { return tx.SetFolderStatus(ctx, id('f', 99), registry.StatusDeprecated) },
		"folder status of a document": func(tx registry.Tx) error { return tx.SetFolderStatus(ctx, d.ID, registry.StatusDeprecated) },
		"association status of unknown id": func(tx registry.Tx) error {
			return tx.SetAssociationStatus(ctx, id('a', 99), registry.StatusDeprecated)
		},
		"association status of a folder id": func(tx registry.Tx) error { return tx.SetAssociationStatus(ctx, f.ID, registry.StatusDeprecated) },
	} {
		if err := st.Update(ctx, fn); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}
	for name, fn := range map[string]func(tx registry.Tx) error{
		"empty folder status":       func(tx registry.Tx) error { return tx.SetFolderStatus(ctx, f.ID, "") },
		"NUL in association status": func(tx registry.Tx) error { return tx.SetAssociationStatus(ctx, a.ID, "x\x00") },
	} {
		if err := st.Update(ctx, fn); err == nil || errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrConflict) {
			t.Errorf("%s: got %v, want an invalid-input error", name, err)
		}
	}
}

func testDeleteObjects(t *testing.T, st registry.Store) {
	ctx := context.Background()
	v1, v2, keep := version(1, 1, p1), version(1, 2, p1), Document(2, p1)
	v2.Authors = []registry.Author{{Person: authorPer}}
	v2.Events = []registry.Code{event2}
	s := SubmissionSet(1, p1)
	s.Authors = []registry.Author{{Person: authorOla}}
	f1, f2 := folderVersion(3, 1, p1), folderVersion(3, 2, p1)
	a1, a2 := Association(1, s.ID, v2.ID), Association(2, f2.ID, v2.ID)
	insert(t, st, v1, keep, s, f1)
	insert(t, st, v2, f2, a1, a2)

	// Removing the latest version makes the one before it the latest,
	// and takes the child rows with it (no author or event matches).
	err := st.Update(ctx, func(tx registry.Tx) error {
		return tx.DeleteObjects(ctx, []string{v2.ID, s.ID, f2.ID, a1.ID, a2.ID, id('d', 999)})
	})
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{})), []string{v1.ID, keep.ID})
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}, LatestOnly: true})), []string{v1.ID})
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LatestOnly: true})), []string{f1.ID})
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{AuthorPersons: []string{"%Pettersen%"}})), nil)
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{Events: []registry.CodeSet{cs(event2)}})), nil)
	checkIDs(t, ids(mustSubmissionSets(t, st, registry.SubmissionSetFilter{})), nil)
	checkIDs(t, ids(mustSubmissionSets(t, st, registry.SubmissionSetFilter{AuthorPersons: []string{"%Hansen%"}})), nil)
	checkIDs(t, ids(mustAssociations(t, st, registry.AssociationFilter{})), nil)

	// A removed version number may be used again.
	again := version(1, 2, p1)
	again.ID = id('d', 198)
	insert(t, st, again)
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{LogicalIDs: []string{v1.LogicalID}, LatestOnly: true})), []string{again.ID})

	// Removing an older version leaves the latest alone; a rolled back
	// removal removes nothing.
	insert(t, st, f2)
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.DeleteObjects(ctx, []string{f1.ID}) }); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, ids(mustFolders(t, st, registry.FolderFilter{LatestOnly: true})), []string{f2.ID})
	err = st.Update(ctx, func(tx registry.Tx) error {
		if err := tx.DeleteObjects(ctx, []string{keep.ID, again.ID}); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("got %v, want errBoom", err)
	}
	checkIDs(t, ids(mustDocuments(t, st, registry.DocumentFilter{})), []string{v1.ID, keep.ID, again.ID})
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.DeleteObjects(ctx, []string{"x\x00"}) }); err == nil {
		t.Error("a NUL in an id was accepted")
	}
}

func testPatientLinks(t *testing.T, st registry.Store) {
	ctx := context.Background()
	dnr, fnr, other := PatientID(10), PatientID(11), PatientID(12)
	at := time.Date(2025, 3, 1, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))
	l := &registry.PatientLink{From: dnr, To: fnr, LinkedAt: at, LinkedBy: "pjd patients link (os-user:test)", Reason: "fødselsnummer tildelt"}
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertPatientLink(ctx, l) }); err != nil {
		t.Fatal(err)
	}
	want := *l
	want.LinkedAt = at.UTC()
	for _, f := range []registry.PatientLinkFilter{
		{Patients: []string{dnr}}, {Patients: []string{fnr}, Active: true}, {From: []string{dnr}}, {},
	} {
		got, err := st.PatientLinks(ctx, f)
		if err != nil || len(got) != 1 {
			t.Fatalf("PatientLinks(%+v): %d, %v", f, len(got), err)
		}
		equalJSON(t, "link", got[0], &want)
	}
	for _, f := range []registry.PatientLinkFilter{
		{Patients: []string{other}}, {From: []string{fnr}}, {Patients: []string{}}, {From: []string{}},
	} {
		if got, err := st.PatientLinks(ctx, f); err != nil || len(got) != 0 {
			t.Errorf("PatientLinks(%+v): %d, %v; want none", f, len(got), err)
		}
	}

	// One active link from an identifier.
	dup := &registry.PatientLink{From: dnr, To: other, LinkedAt: at, LinkedBy: "x"}
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertPatientLink(ctx, dup) }); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("a second active link: got %v, want ErrConflict", err)
	}

	// Ending it; then it is history, and a new one may be made.
	end := at.Add(time.Hour)
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.EndPatientLink(ctx, dnr, end, "os-user:test", "feil kobling") }); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.EndPatientLink(ctx, dnr, end, "x", "") }); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("ending an ended link: got %v, want ErrNotFound", err)
	}
	if got, err := st.PatientLinks(ctx, registry.PatientLinkFilter{Patients: []string{dnr}, Active: true}); err != nil || len(got) != 0 {
		t.Errorf("active links after unlink: %d, %v", len(got), err)
	}
	want.UnlinkedAt, want.UnlinkedBy, want.UnlinkReason = end.UTC(), "os-user:test", "feil kobling"
	got, err := st.PatientLinks(ctx, registry.PatientLinkFilter{Patients: []string{dnr}})
	if err != nil || len(got) != 1 {
		t.Fatalf("history: %d, %v", len(got), err)
	}
	equalJSON(t, "ended link", got[0], &want)
	if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertPatientLink(ctx, dup) }); err != nil {
		t.Fatalf("a new link after unlink: %v", err)
	}
	got, err = st.PatientLinks(ctx, registry.PatientLinkFilter{From: []string{dnr}, Limit: 1})
	if err != nil || len(got) != 1 || got[0].To != fnr {
		t.Errorf("oldest first with a limit: %+v, %v", got, err)
	}

	for name, l := range map[string]*registry.PatientLink{
		"nil":           nil,
		"without from":  {To: fnr, LinkedAt: at, LinkedBy: "x"},
		"without time":  {From: other, To: fnr, LinkedBy: "x"},
		"NUL in reason": {From: other, To: fnr, LinkedAt: at, LinkedBy: "x", Reason: "\x00"},
	} {
		if err := st.Update(ctx, func(tx registry.Tx) error { return tx.InsertPatientLink(ctx, l) }); err == nil || errors.Is(err, registry.ErrConflict) {
			t.Errorf("%s: got %v, want an invalid-input error", name, err)
		}
	}
	if _, err := st.PatientLinks(ctx, registry.PatientLinkFilter{Limit: -1}); err == nil {
		t.Error("a negative limit was accepted")
	}
}
