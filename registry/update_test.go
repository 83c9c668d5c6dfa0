package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/registry"
	"pjd/registry/ebrim"
)

const (
	updateErr    = registry.ErrCodeMetadataUpdateError
	versionErr   = registry.ErrCodeMetadataVersionError
	operationErr = registry.ErrCodeMetadataUpdateOperationError
	reconcileErr = registry.ErrCodePatientIDReconciliationError
)

// lifecycle is a registry with a few registered objects to update:
//
//	S1 (patient1): D1 and Folder F1 holding D1;
//	S2 (patient1): D2, in no folder;
//	S3 (patient2): D3.
type lifecycle struct {
	e          *env
	d1, d2, d3 *registry.DocumentEntry
	f1         *registry.Folder
	s1         *registry.SubmissionSet
	seq        uint64
}

func newLifecycle(t *testing.T, open func(t *testing.T) registry.Store, opts ...envOption) *lifecycle {
	t.Helper()
	e := newEnvOn(t, open, opts...)
	e.register(sample(1, registry.SampleOptions{Patient: patient1, Folder: true}))
	e.register(sample(2, registry.SampleOptions{Patient: patient1}))
	e.register(sample(3, registry.SampleOptions{Patient: patient2}))
	l := &lifecycle{e: e, seq: 100}
	l.reload()
	return l
}

// reload reads the fixture objects again (their latest versions).
func (l *lifecycle) reload() {
	l.d1 = l.latest(registry.SampleUniqueID(1, 0))
	l.d2 = l.latest(registry.SampleUniqueID(2, 0))
	l.d3 = l.latest(registry.SampleUniqueID(3, 0))
	l.f1 = l.latestFolder(registry.SampleUniqueID(1, -2))
	l.s1 = l.e.submissionSet(registry.SampleUniqueID(1, -1))
}

func (l *lifecycle) latest(uid string) *registry.DocumentEntry {
	l.e.t.Helper()
	docs, err := l.e.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{uid}, LatestOnly: true})
	if err != nil || len(docs) != 1 {
		l.e.t.Fatalf("latest version of %s: %d, %v", uid, len(docs), err)
	}
	return docs[0]
}

func (l *lifecycle) latestFolder(uid string) *registry.Folder {
	l.e.t.Helper()
	fs, err := l.e.reg.Reader().Folders(context.Background(), registry.FolderFilter{UniqueIDs: []string{uid}, LatestOnly: true})
	if err != nil || len(fs) != 1 {
		l.e.t.Fatalf("latest version of folder %s: %d, %v", uid, len(fs), err)
	}
	return fs[0]
}

func (l *lifecycle) next() uint64 { l.seq++; return l.seq }

// update runs sub and fails the test unless it succeeds.
func (l *lifecycle) update(sub *registry.Submission) *registry.UpdateResult {
	l.e.t.Helper()
	res, err := l.e.reg.Update(context.Background(), sub)
	if err != nil {
		l.e.t.Fatalf("Update: %v", err)
	}
	return res
}

// newVersion builds the request for a new version of d.
func (l *lifecycle) newVersion(d *registry.DocumentEntry, mod func(*registry.DocumentEntry)) *registry.Submission {
	return registry.SampleUpdate(l.next(), d, mod)
}

func (l *lifecycle) status(patient, target, from, to string) *registry.Submission {
	return registry.SampleStatusUpdate(l.next(), patient, target, from, to)
}

// submit builds a SubmitAssociation request adding a (registered ends).
func (l *lifecycle) submit(patient string, a *registry.Association) *registry.Submission {
	sub := l.status(patient, "", "", "")
	a.ID = "New01"
	sub.Associations = []*registry.Association{
		{ID: "Submit01", Type: registry.AssocSubmitAssociation, Source: sub.SubmissionSet.ID, Target: a.ID},
		a,
	}
	return sub
}

// newFolderVersion builds the request for a new version of f.
func (l *lifecycle) newFolderVersion(f *registry.Folder, mod func(*registry.Folder)) *registry.Submission {
	sub := l.status(f.PatientID, "", "", "")
	c := *f
	c.ID, c.Status, c.Version, c.LastUpdateTime, c.HomeCommunityID = "Folder01v", "", "", "", ""
	if mod != nil {
		mod(&c)
	}
	sub.Folders = []*registry.Folder{&c}
	sub.Associations = []*registry.Association{{ID: "HasMemberF", Type: registry.AssocHasMember, Source: sub.SubmissionSet.ID, Target: c.ID,
		SubmissionSetStatus: registry.SubmissionSetStatusOriginal, Extra: []registry.Slot{{Name: registry.SlotPreviousVersion, Values: []string{f.Version}}}}}
	return sub
}

// query runs a stored query with LeafClass and returns the result.
func (l *lifecycle) query(id string, params ...registry.Slot) *registry.QueryResult {
	l.e.t.Helper()
	res, err := l.e.reg.Query(context.Background(), &registry.Query{ID: id, ReturnType: registry.ReturnLeafClass, Params: params})
	if err != nil {
		l.e.t.Fatalf("query %s: %v", registry.StoredQueryName(id), err)
	}
	return res
}

func docIDs(res *registry.QueryResult) []string {
	var out []string
	for _, d := range res.Documents {
		out = append(out, d.ID)
	}
	sort.Strings(out)
	return out
}

func sortedIDs(docs ...*registry.DocumentEntry) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.ID)
	}
	sort.Strings(out)
	return out
}

func findDocs(pid, status string, extra ...registry.Slot) []registry.Slot {
	return append([]registry.Slot{p(registry.ParamDocumentEntryPatientID, quote(pid)), p(registry.ParamDocumentEntryStatus, status)}, extra...)
}

// TestUpdateDocumentEntry: a new version of a DocumentEntry, what the
// stored queries show at both $MetadataLevels, its history, and the
// folder membership carried to it.
func TestUpdateDocumentEntry(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		l := newLifecycle(t, open)
		ctx := context.Background()
		v1 := l.d1
		l.e.advance(time.Hour)
		res := l.update(l.newVersion(v1, func(d *registry.DocumentEntry) { d.Title = "Epikrise (korrigert)" }))

		if len(res.NewVersions) != 1 || res.SubmissionSet == nil || len(res.StatusChanges) != 1 {
			t.Fatalf("result %+v", res)
		}
		v2 := res.NewVersions[0]
		if v2.LogicalID != v1.ID || v2.ID == v1.ID || v2.Version != "2" || v2.UniqueID != v1.UniqueID ||
			v2.Status != registry.StatusApproved || v2.Title != "Epikrise (korrigert)" {
			t.Errorf("new version %+v", v2)
		}
		if sc := res.StatusChanges[0]; sc != (registry.StatusChange{Kind: "DocumentEntry", ID: v1.ID, LogicalID: v1.ID,
			From: registry.StatusApproved, To: registry.StatusDeprecated}) {
			t.Errorf("status change %+v", sc)
		}
		versions, err := l.e.reg.Versions(ctx, v1.ID)
		if err != nil || len(versions) != 2 {
			t.Fatalf("Versions: %d, %v", len(versions), err)
		}
		if versions[0].ID != v1.ID || versions[0].Version != "1" || versions[0].Status != registry.StatusDeprecated ||
			versions[1].ID != v2.ID || versions[1].Version != "2" || versions[1].Status != registry.StatusApproved {
			t.Errorf("versions: %s %s %s, %s %s %s", versions[0].ID, versions[0].Version, versions[0].Status,
				versions[1].ID, versions[1].Version, versions[1].Status)
		}
		if !reflect.DeepEqual(versions[1], l.latest(v1.UniqueID)) {
			t.Error("the stored new version differs from the result")
		}

		// Level 1 (default) shows the newest version only, whatever the
		// status list; level 2 every version.
		want := sortedIDs(v2, l.d2)
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, approvedOnly)...)); !reflect.DeepEqual(got, want) {
			t.Errorf("FindDocuments Approved: %v, want %v", got, want)
		}
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, anyStatus)...)); !reflect.DeepEqual(got, want) {
			t.Errorf("FindDocuments any status, level 1: %v, want %v", got, want)
		}
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, anyStatus, level2)...)); !reflect.DeepEqual(got, sortedIDs(v1, v2, l.d2)) {
			t.Errorf("FindDocuments any status, level 2: %v", got)
		}
		byUID := p(registry.ParamDocumentEntryUniqueID, list(v1.UniqueID))
		if got := docIDs(l.query(registry.QueryGetDocuments, byUID)); !reflect.DeepEqual(got, sortedIDs(v2)) {
			t.Errorf("GetDocuments by uniqueId, level 1: %v", got)
		}
		if got := docIDs(l.query(registry.QueryGetDocuments, byUID, level2)); !reflect.DeepEqual(got, sortedIDs(v1, v2)) {
			t.Errorf("GetDocuments by uniqueId, level 2: %v", got)
		}
		if got := docIDs(l.query(registry.QueryGetDocuments, p(registry.ParamDocumentEntryLogicalID, list(v1.ID)), level2)); !reflect.DeepEqual(got, sortedIDs(v1, v2)) {
			t.Errorf("GetDocuments by logicalID: %v", got)
		}
		if got := docIDs(l.query(registry.QueryGetDocuments, p(registry.ParamDocumentEntryEntryUUID, list(v1.ID)))); got != nil {
			t.Errorf("GetDocuments of the old entryUUID at level 1: %v, want nothing", got)
		}

		// The folder holds the new version (AssociationPropagation) and
		// has a new lastUpdateTime.
		fc := l.query(registry.QueryGetFolderAndContents, p(registry.ParamFolderEntryUUID, quote(l.f1.ID)))
		if got := docIDs(fc); !reflect.DeepEqual(got, sortedIDs(v2)) {
			t.Errorf("folder contents: %v, want the new version", got)
		}
		if f := l.latestFolder(l.f1.UniqueID); f.LastUpdateTime != registry.FormatDTM(t0.Add(time.Hour)) {
			t.Errorf("folder lastUpdateTime %s, want the update's time", f.LastUpdateTime)
		}
		// The update's SubmissionSet holds the new version; SubmissionSets
		// and Associations carry no version of their own.
		sc := l.query(registry.QueryGetSubmissionSetAndContents, p(registry.ParamSubmissionSetEntryUUID, quote(res.SubmissionSet.ID)))
		if got := docIDs(sc); !reflect.DeepEqual(got, sortedIDs(v2)) || len(sc.Associations) != 1 {
			t.Errorf("the update's SubmissionSet: docs %v, %d associations", got, len(sc.Associations))
		}

		// And a third version.
		l.reload()
		v3 := l.update(l.newVersion(l.d1, nil)).NewVersions[0]
		if v3.Version != "3" || v3.LogicalID != v1.ID {
			t.Errorf("third version %s of %s", v3.Version, v3.LogicalID)
		}
		if n := len(l.query(registry.QueryFindDocuments, findDocs(patient1, anyStatus)...).Documents); n != 2 {
			t.Errorf("level 1 after three versions: %d documents, want 2", n)
		}
	})
}

// TestUpdateStatus: Approved ↔ Deprecated of a DocumentEntry, a new
// version and a status in one request, Folder status, association status
// (leaving a folder), submitted associations.
func TestUpdateStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		l := newLifecycle(t, open)

		// Deprecate D2, and back.
		res := l.update(l.status(patient1, l.d2.ID, registry.StatusApproved, registry.StatusDeprecated))
		if len(res.StatusChanges) != 1 || res.StatusChanges[0].To != registry.StatusDeprecated {
			t.Errorf("status changes %+v", res.StatusChanges)
		}
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, approvedOnly)...)); !reflect.DeepEqual(got, sortedIDs(l.d1)) {
			t.Errorf("after deprecating D2: %v", got)
		}
		if got := docIDs(l.query(registry.QueryFindDocuments, findDocs(patient1, list(registry.StatusDeprecated))...)); !reflect.DeepEqual(got, sortedIDs(l.d2)) {
			t.Errorf("Deprecated latest version at level 1: %v", got)
		}
		l.update(l.status(patient1, l.d2.ID, registry.StatusDeprecated, registry.StatusApproved))
		if got := l.latest(l.d2.UniqueID).Status; got != registry.StatusApproved {
			t.Errorf("D2 after re-approval: %s", got)
		}
		// The operations are on record for GetAssociations, not as
		// relationships in GetDocumentsAndAssociations.
		if n := len(l.query(registry.QueryGetAssociations, p(registry.ParamUUID, list(l.d2.ID))).Associations); n != 3 {
			t.Errorf("GetAssociations of D2: %d, want its HasMember and the two UpdateAvailabilityStatus", n)
		}
		if n := len(l.query(registry.QueryGetDocumentsAndAssociations, p(registry.ParamDocumentEntryEntryUUID, list(l.d2.ID))).Associations); n != 1 {
			t.Errorf("GetDocumentsAndAssociations of D2: %d associations, want only its HasMember", n)
		}

		// New version and status in one request (Gazelle ITI57-015): the
		// new version gets the status; the old one is Deprecated by the
		// versioning.
		sub := l.newVersion(l.d2, nil)
		sub.Associations = append(sub.Associations, &registry.Association{ID: "Status01", Type: registry.AssocUpdateAvailabilityStatus,
			Source: sub.SubmissionSet.ID, Target: l.d2.ID, Extra: []registry.Slot{
				{Name: registry.SlotOriginalStatus, Values: []string{registry.StatusApproved}},
				{Name: registry.SlotNewStatus, Values: []string{registry.StatusDeprecated}}}})
		res = l.update(sub)
		if v := res.NewVersions[0]; v.Status != registry.StatusDeprecated || l.latest(l.d2.UniqueID).ID != v.ID {
			t.Errorf("new version %s with status %s", v.ID, v.Status)
		}
		if old := l.e.doc(l.d2.UniqueID); old.Status != registry.StatusDeprecated {
			t.Errorf("old version %s", old.Status)
		}

		// D1 leaves F1: its HasMember is deprecated; gone at level 1, there
		// at level 2; the folder's lastUpdateTime moves.
		fd := l.e.assocs(registry.AssociationFilter{Sources: []string{l.f1.ID}, Targets: []string{l.d1.ID}})
		if len(fd) != 1 {
			t.Fatalf("F1→D1: %d", len(fd))
		}
		l.e.advance(2 * time.Hour)
		l.update(l.status(patient1, fd[0].ID, registry.StatusApproved, registry.StatusDeprecated))
		folderParam := p(registry.ParamFolderEntryUUID, quote(l.f1.ID))
		if got := l.query(registry.QueryGetFolderAndContents, folderParam); len(got.Documents) != 0 || len(got.Associations) != 0 {
			t.Errorf("folder at level 1: %d documents, %d associations", len(got.Documents), len(got.Associations))
		}
		if got := l.query(registry.QueryGetFolderAndContents, folderParam, level2); len(got.Documents) != 1 || len(got.Associations) != 1 {
			t.Errorf("folder at level 2: %d documents, %d associations", len(got.Documents), len(got.Associations))
		}
		if f := l.latestFolder(l.f1.UniqueID); f.LastUpdateTime != registry.FormatDTM(t0.Add(2*time.Hour)) {
			t.Errorf("folder lastUpdateTime %s", f.LastUpdateTime)
		}

		// D1 joins F1 again by a submitted association.
		l.e.advance(time.Hour)
		res = l.update(l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d1.ID}))
		if len(res.NewAssociation) != 1 || res.NewAssociation[0].Status != registry.StatusApproved {
			t.Errorf("submitted %+v", res.NewAssociation)
		}
		if got := docIDs(l.query(registry.QueryGetFolderAndContents, folderParam)); !reflect.DeepEqual(got, sortedIDs(l.d1)) {
			t.Errorf("folder after SubmitAssociation: %v", got)
		}
		if f := l.latestFolder(l.f1.UniqueID); f.LastUpdateTime != registry.FormatDTM(t0.Add(3*time.Hour)) {
			t.Errorf("folder lastUpdateTime %s", f.LastUpdateTime)
		}
		// The submitting SubmissionSet shows the operation and what it added.
		sc := l.query(registry.QueryGetSubmissionSetAndContents, p(registry.ParamSubmissionSetEntryUUID, quote(res.SubmissionSet.ID)))
		if len(sc.Associations) != 2 || len(sc.Documents) != 0 {
			t.Errorf("the SubmitAssociation's SubmissionSet: %d associations, %d documents", len(sc.Associations), len(sc.Documents))
		}

		// An appendix relationship between two registered documents.
		l.e.register(sample(50, registry.SampleOptions{Patient: patient1}))
		d4 := l.latest(registry.SampleUniqueID(50, 0))
		l.update(l.submit(patient1, &registry.Association{Type: registry.AssocAppend, Source: d4.ID, Target: l.d1.ID}))
		rel := l.query(registry.QueryGetRelatedDocuments, p(registry.ParamDocumentEntryEntryUUID, quote(l.d1.ID)),
			p(registry.ParamAssociationTypes, list(registry.AssocAppend)))
		if len(rel.Documents) != 2 {
			t.Errorf("related documents of D1: %d", len(rel.Documents))
		}

		// Folder status: a Deprecated Folder is hidden at level 1 even
		// when asked for by status.
		l.update(l.status(patient1, l.f1.ID, registry.StatusApproved, registry.StatusDeprecated))
		findFolders := func(extra ...registry.Slot) []registry.Slot {
			return append([]registry.Slot{p(registry.ParamFolderPatientID, quote(patient1)), p(registry.ParamFolderStatus, anyStatus)}, extra...)
		}
		if n := len(l.query(registry.QueryFindFolders, findFolders()...).Folders); n != 0 {
			t.Errorf("FindFolders at level 1: %d Deprecated folders", n)
		}
		if n := len(l.query(registry.QueryFindFolders, findFolders(level2)...).Folders); n != 1 {
			t.Errorf("FindFolders at level 2: %d folders", n)
		}
	})
}

// TestUpdateFolder: a new Folder version keeps the uniqueId, deprecates
// the old one, carries its members, and answers GetFolders by logicalID.
func TestUpdateFolder(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		l := newLifecycle(t, open)
		l.e.advance(time.Hour)
		res := l.update(l.newFolderVersion(l.f1, func(f *registry.Folder) { f.Title = "Innleggelse (omdøpt)" }))
		if len(res.NewFolders) != 1 {
			t.Fatalf("result %+v", res)
		}
		f2 := res.NewFolders[0]
		if f2.LogicalID != l.f1.ID || f2.Version != "2" || f2.UniqueID != l.f1.UniqueID || f2.LastUpdateTime != registry.FormatDTM(t0.Add(time.Hour)) {
			t.Errorf("new folder version %+v", f2)
		}
		if got := l.latestFolder(l.f1.UniqueID); got.ID != f2.ID || got.Title != "Innleggelse (omdøpt)" {
			t.Errorf("latest folder %+v", got)
		}
		if got := docIDs(l.query(registry.QueryGetFolderAndContents, p(registry.ParamFolderEntryUUID, quote(f2.ID)))); !reflect.DeepEqual(got, sortedIDs(l.d1)) {
			t.Errorf("new folder version holds %v", got)
		}
		if n := len(l.query(registry.QueryGetFolders, p(registry.ParamFolderLogicalID, list(l.f1.ID)), level2).Folders); n != 2 {
			t.Errorf("GetFolders by logicalID: %d versions", n)
		}
		if n := len(l.query(registry.QueryGetFolders, p(registry.ParamFolderUniqueID, list(l.f1.UniqueID))).Folders); n != 1 {
			t.Errorf("GetFolders by uniqueId at level 1: %d", n)
		}
		reg, err := l.e.reg.RegisteredBy(context.Background(), l.f1.ID)
		if err != nil || reg.Kind != "Folder" || len(reg.Institutions) == 0 {
			t.Errorf("RegisteredBy folder: %+v, %v", reg, err)
		}
	})
}

// TestUpdateWithoutPropagation: AssociationPropagation=no leaves the old
// version's associations where they are.
func TestUpdateWithoutPropagation(t *testing.T) {
	l := newLifecycle(t, openSQLite)
	sub := l.newVersion(l.d1, nil)
	sub.Associations[0].Extra = append(sub.Associations[0].Extra, registry.Slot{Name: registry.SlotAssociationPropagation, Values: []string{"no"}})
	l.update(sub)
	if n := len(l.query(registry.QueryGetFolderAndContents, p(registry.ParamFolderEntryUUID, quote(l.f1.ID))).Documents); n != 0 {
		t.Errorf("folder holds %d documents at level 1, want none (the old version is not the latest, the new one was not added)", n)
	}
}

// TestUpdateRejections has one row per ITI-57 rejection: the exact codes,
// and nothing stored.
func TestUpdateRejections(t *testing.T) {
	A, D := registry.StatusApproved, registry.StatusDeprecated
	const freshUUID = "urn:uuid:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"
	tests := []struct {
		name  string
		setup func(l *lifecycle)
		build func(l *lifecycle) *registry.Submission
		codes []string
	}{
		// Structure.
		{name: "no SubmissionSet", codes: sorted(updateErr, metaErr), build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.SubmissionSet = nil
			return s
		}},
		{name: "no operation", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, "", "", "")
			s.Associations = nil
			return s
		}},
		{name: "a DocumentEntry without HasMember", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations = nil
			return s
		}},
		{name: "an initial version (HasMember without PreviousVersion)", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations[0].Extra = nil
			return s
		}},
		{name: "lid missing", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.LogicalID = "" })
		}},
		{name: "lid equals id", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.ID, d.LogicalID = freshUUID, freshUUID })
			s.Associations[0].Target = freshUUID
			return s
		}},
		{name: "lid symbolic", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.LogicalID = "Epikrise-1" })
		}},
		{name: "PreviousVersion not a number", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations[0].Extra[0].Values = []string{"v1"}
			return s
		}},
		{name: "PreviousVersion twice", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations[0].Extra[0].Values = []string{"1", "1"}
			return s
		}},
		{name: "the same lid twice", codes: sorted(metaErr, dupInMessage), build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			d := *s.Documents[0]
			d.ID = "Document02v"
			s.Documents = append(s.Documents, &d)
			hm := *s.Associations[0]
			hm.ID, hm.Target = "HasMember02", d.ID
			s.Associations = append(s.Associations, &hm)
			return s
		}},
		{name: "SubmissionSetStatus Reference", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations[0].SubmissionSetStatus = registry.SubmissionSetStatusReference
			return s
		}},
		{name: "AssociationPropagation maybe", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations[0].Extra = append(s.Associations[0].Extra, registry.Slot{Name: registry.SlotAssociationPropagation, Values: []string{"maybe"}})
			return s
		}},
		{name: "an association of no operation", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations = append(s.Associations, &registry.Association{ID: "Rel", Type: registry.AssocAppend, Source: l.d2.ID, Target: l.d1.ID})
			return s
		}},
		{name: "a SubmissionSet HasMember to a registered document", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations = append(s.Associations, &registry.Association{ID: "Ref", Type: registry.AssocHasMember, Source: s.SubmissionSet.ID,
				Target: l.d2.ID, SubmissionSetStatus: registry.SubmissionSetStatusReference})
			return s
		}},
		{name: "unknown association type (ELGA NonVersioningUpdate)", codes: []string{metaErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Associations = append(s.Associations, &registry.Association{ID: "NV", Type: "urn:elga-bes:AssociationType:NonVersioningUpdate",
				Source: s.SubmissionSet.ID, Target: l.d1.ID})
			return s
		}},
		// New versions against the registry.
		{name: "unknown logicalID", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.LogicalID = freshUUID })
		}},
		{name: "latest version not Approved", codes: []string{updateErr},
			setup: func(l *lifecycle) { l.update(l.status(patient1, l.d1.ID, A, D)) },
			build: func(l *lifecycle) *registry.Submission { return l.newVersion(l.d1, nil) }},
		{name: "uniqueId changed", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.UniqueID = "2.999.578.1.77.2.1" })
		}},
		{name: "objectType changed (and On-Demand refused as in ITI-42)", codes: sorted(updateErr, metaErr), build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.ObjectType = registry.ObjectTypeOnDemand })
		}},
		{name: "PreviousVersion is not the latest", codes: []string{versionErr},
			setup: func(l *lifecycle) { l.update(l.newVersion(l.d1, nil)) },
			build: func(l *lifecycle) *registry.Submission { return l.newVersion(l.d1, nil) }}, // l.d1 is still version 1
		{name: "patientId changed", codes: []string{reconcileErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.PatientID, d.SourcePatientID = patient2, patient2 })
			s.SubmissionSet.PatientID = patient2
			return s
		}},
		{name: "hash changed", codes: []string{registry.ErrCodeNonIdenticalHash}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.Hash = "0000000000000000000000000000000000000000" })
		}},
		{name: "size changed", codes: []string{registry.ErrCodeNonIdenticalSize}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { n := *d.Size + 1; d.Size = &n })
		}},
		{name: "repositoryUniqueId changed", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.RepositoryUniqueID = "2.999.578.3.9" })
		}},
		{name: "authorInstitution changed", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) {
				d.Authors = []registry.Author{{Person: d.Authors[0].Person, Institutions: []string{"Annet sykehus^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^974633574"}}}
			})
		}},
		{name: "metadata invalid as in ITI-42", codes: []string{metaErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.MimeType = "pdf" })
		}},
		{name: "DocumentEntry of another patient than the SubmissionSet", codes: sorted(pidMismatch), build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.SubmissionSet.PatientID = patient2
			return s
		}},
		{name: "SubmissionSet uniqueId already registered", codes: []string{dupInRegistry}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.SubmissionSet.UniqueID = l.s1.UniqueID
			return s
		}},
		{name: "pre-assigned id already used", codes: []string{metaErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d1, nil)
			s.Documents[0].ID, s.Associations[0].Target = l.d2.ID, l.d2.ID
			return s
		}},
		{name: "folder: PreviousVersion is not the latest", codes: []string{versionErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newFolderVersion(l.f1, nil)
			s.Associations[0].Extra[0].Values = []string{"7"}
			return s
		}},
		{name: "folder: uniqueId changed", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newFolderVersion(l.f1, func(f *registry.Folder) { f.UniqueID = "2.999.578.1.77.3" })
		}},
		{name: "folder: unknown logicalID", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.newFolderVersion(l.f1, func(f *registry.Folder) { f.LogicalID = freshUUID })
		}},
		// Status operations.
		{name: "status: OriginalStatus missing", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, l.d1.ID, A, D)
			s.Associations[0].Extra = s.Associations[0].Extra[1:]
			return s
		}},
		{name: "status: NewStatus not a status", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, l.d1.ID, A, "Deprecated")
		}},
		{name: "status: the same value twice", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, l.d1.ID, A, A)
		}},
		{name: "status: two OriginalStatus values", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, l.d1.ID, A, D)
			s.Associations[0].Extra[0].Values = []string{A, D}
			return s
		}},
		{name: "status: a PreviousVersion slot", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, l.d1.ID, A, D)
			s.Associations[0].Extra = append(s.Associations[0].Extra, registry.Slot{Name: registry.SlotPreviousVersion, Values: []string{"1"}})
			return s
		}},
		{name: "status: OriginalStatus is not the current one", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, l.d1.ID, D, A)
		}},
		{name: "status: not the latest version", codes: []string{updateErr},
			setup: func(l *lifecycle) { l.update(l.newVersion(l.d1, nil)) },
			build: func(l *lifecycle) *registry.Submission { return l.status(patient1, l.d1.ID, D, A) }},
		{name: "status: a SubmissionSet", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, l.s1.ID, A, D)
		}},
		{name: "status: a SubmissionSet's HasMember", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			hm := l.e.assocs(registry.AssociationFilter{Sources: []string{l.s1.ID}, Targets: []string{l.d1.ID}})
			return l.status(patient1, hm[0].ID, A, D)
		}},
		{name: "status: an unknown object", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, freshUUID, A, D)
		}},
		{name: "status: a symbolic target", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient1, "Document01", A, D)
		}},
		{name: "status: not from the SubmissionSet", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, l.d1.ID, A, D)
			s.Associations[0].Source = l.d2.ID
			return s
		}},
		{name: "status: the same target twice", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.status(patient1, l.d1.ID, A, D)
			a := *s.Associations[0]
			a.ID = "StatusUpdate02"
			s.Associations = append(s.Associations, &a)
			return s
		}},
		{name: "status: re-approving a replaced document", codes: []string{updateErr},
			setup: func(l *lifecycle) {
				s := sample(l.next(), registry.SampleOptions{Patient: patient1})
				relation(s, registry.AssocReplace, l.d2.ID)
				l.e.register(s)
			},
			build: func(l *lifecycle) *registry.Submission { return l.status(patient1, l.d2.ID, D, A) }},
		{name: "status: the SubmissionSet is of another patient", codes: []string{pidMismatch}, build: func(l *lifecycle) *registry.Submission {
			return l.status(patient2, l.d1.ID, A, D)
		}},
		// Submitted associations.
		{name: "submit: target not in the request", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d2.ID})
			s.Associations = s.Associations[:1]
			return s
		}},
		{name: "submit: folder and document of two patients", codes: []string{reconcileErr}, build: func(l *lifecycle) *registry.Submission {
			return l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d3.ID})
		}},
		{name: "submit: a Deprecated document", codes: []string{updateErr},
			setup: func(l *lifecycle) { l.update(l.status(patient1, l.d2.ID, A, D)) },
			build: func(l *lifecycle) *registry.Submission {
				return l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d2.ID})
			}},
		{name: "submit: the association exists", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d1.ID})
		}},
		{name: "submit: RPLC between registered documents", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.submit(patient1, &registry.Association{Type: registry.AssocReplace, Source: l.d2.ID, Target: l.d1.ID})
		}},
		{name: "submit: HasMember from a document to a folder", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.d2.ID, Target: l.f1.ID})
		}},
		{name: "submit: an end that is not registered", codes: []string{updateErr}, build: func(l *lifecycle) *registry.Submission {
			return l.submit(patient1, &registry.Association{Type: registry.AssocHasMember, Source: l.f1.ID, Target: freshUUID})
		}},
		{name: "submit: with a propagating new version of an end (NIST 20006)", codes: []string{operationErr}, build: func(l *lifecycle) *registry.Submission {
			s := l.newVersion(l.d2, nil)
			s.Associations = append(s.Associations,
				&registry.Association{ID: "Submit01", Type: registry.AssocSubmitAssociation, Source: s.SubmissionSet.ID, Target: "New01"},
				&registry.Association{ID: "New01", Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d2.ID})
			return s
		}},
		// Patient identity.
		{name: "a patient id replaced by a link", codes: []string{unknownPID},
			setup: func(l *lifecycle) {
				if _, err := l.e.reg.LinkPatient(context.Background(), patient1, registry.SamplePatientID(9), "test", "merge"); err != nil {
					l.e.t.Fatal(err)
				}
			},
			build: func(l *lifecycle) *registry.Submission { return l.newVersion(l.d1, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t, openSQLite)
			if tt.setup != nil {
				tt.setup(l)
			}
			sub := tt.build(l)
			before := l.e.counts()
			_, err := l.e.reg.Update(context.Background(), sub)
			if got := codesOf(t, err); !reflect.DeepEqual(got, tt.codes) {
				t.Fatalf("codes %v, want %v\n%v", got, tt.codes, err)
			}
			if after := l.e.counts(); after != before {
				t.Errorf("objects %+v after a refused update, %+v before", after, before)
			}
		})
	}
}

// TestUpdateConcurrent: two updates of the same logicalID at once, from
// two goroutines in real concurrent transactions, give exactly one new
// version; the other gets XDSMetadataVersionError. The store wrapper
// holds the first transaction open until the second has called Update,
// proving both reached the store while the other was open (the second
// then waits: on SQLite's write lock, on PostgreSQL's key lock on the
// logicalID, registry/internal/sqlstore/locks.go).
func TestUpdateConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		g := &gateStore{n: 2}
		l := newLifecycle(t, func(t *testing.T) registry.Store {
			g.Store = open(t)
			return g
		})
		g.arm()
		subs := []*registry.Submission{
			l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.Title = "Fra kilde A" }),
			l.newVersion(l.d1, func(d *registry.DocumentEntry) { d.Title = "Fra kilde B" }),
		}
		errs := make([]error, 2)
		done := make(chan int, 2)
		for i := range subs {
			go func() {
				_, errs[i] = l.e.reg.Update(context.Background(), subs[i])
				done <- i
			}()
		}
		for range subs {
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("concurrent updates did not finish")
			}
		}
		if got := g.updates(); got < 2 {
			t.Fatalf("the store saw %d Update calls, want both", got)
		}
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			if got := codesOf(t, err); !reflect.DeepEqual(got, []string{versionErr}) {
				t.Errorf("update %d: %v, want XDSMetadataVersionError", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d updates succeeded: %v", won, errs)
		}
		versions, err := l.e.reg.Versions(context.Background(), l.d1.ID)
		if err != nil || len(versions) != 2 || versions[1].Version != "2" {
			t.Fatalf("versions after the race: %d, %v", len(versions), err)
		}
		if !g.overlapped() {
			t.Error("the two transactions never overlapped in the store")
		}
	})
}

// gateStore wraps a Store so that, once armed, the first attempts of two
// Update transactions overlap: the first waits inside its transaction
// until the second has called Update. It records whether the overlap
// happened.
type gateStore struct {
	registry.Store
	n int

	mu      sync.Mutex
	armed   bool
	calls   int
	second  chan struct{}
	overlap bool
}

func (g *gateStore) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	g.second = make(chan struct{})
}

func (g *gateStore) updates() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

func (g *gateStore) overlapped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.overlap
}

// gateWait bounds a wait for the other transaction, so a broken gate fails
// the test (overlapped reports false) instead of hanging it.
const gateWait = 30 * time.Second

func (g *gateStore) Update(ctx context.Context, fn func(tx registry.Tx) error) error {
	g.mu.Lock()
	if !g.armed {
		g.mu.Unlock()
		return g.Store.Update(ctx, fn)
	}
	g.calls++
	call := g.calls
	if call == g.n {
		close(g.second)
	}
	g.mu.Unlock()
	first := true
	return g.Store.Update(ctx, func(tx registry.Tx) error {
		if !first || call != 1 {
			return fn(tx)
		}
		first = false
		select {
		case <-g.second:
			g.mu.Lock()
			g.overlap = true
			g.mu.Unlock()
		case <-time.After(gateWait):
		}
		return fn(tx)
	})
}

func TestRegisteredBy(t *testing.T) {
	l := newLifecycle(t, openSQLite)
	ctx := context.Background()
	reg, err := l.e.reg.RegisteredBy(ctx, l.d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Kind != "DocumentEntry" || reg.LogicalID != l.d1.ID || reg.PatientID != patient1 ||
		!reflect.DeepEqual(reg.Institutions, registry.SampleAuthor().Institutions) {
		t.Errorf("RegisteredBy = %+v", reg)
	}
	if _, err := l.e.reg.RegisteredBy(ctx, "urn:uuid:6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"); err == nil {
		t.Error("RegisteredBy of an unknown lid succeeded")
	}
	sub := l.newVersion(l.d1, nil)
	sub.Associations = append(sub.Associations,
		&registry.Association{ID: "S", Type: registry.AssocUpdateAvailabilityStatus, Source: sub.SubmissionSet.ID, Target: l.d2.ID},
		&registry.Association{ID: "Sub", Type: registry.AssocSubmitAssociation, Source: sub.SubmissionSet.ID, Target: "N"},
		&registry.Association{ID: "N", Type: registry.AssocHasMember, Source: l.f1.ID, Target: l.d3.ID})
	scope, err := l.e.reg.UpdateScope(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	var lids []string
	for _, r := range scope {
		lids = append(lids, fmt.Sprintf("%s %s", r.Kind, r.LogicalID))
	}
	sort.Strings(lids)
	want := []string{"DocumentEntry " + l.d1.ID, "DocumentEntry " + l.d2.ID, "DocumentEntry " + l.d3.ID, "Folder " + l.f1.ID}
	sort.Strings(want)
	if !reflect.DeepEqual(lids, want) {
		t.Errorf("UpdateScope = %v, want %v", lids, want)
	}
}

// TestUpdateIPFSamples runs IPF's ITI-57 sample messages (testdata/ebrim/ipf)
// through Update on an empty registry: the operations are recognised
// (a new version of lid 2074…, a status change of e098…) and refused for
// what the registry lacks, the two-versions-of-one-lid sample is refused
// as IPF's LOGICAL_ID_SAME, and the Austrian NonVersioningUpdate type as
// an unsupported association (NIST testkit 20001 submit_invalid_assoc).
func TestUpdateIPFSamples(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		file     string
		mentions [][]string // each: words one codeContext holds
		never    []string   // codes that must not appear
	}{
		{"SubmitObjectsRequest_ebrs30_update.xml", [][]string{
			{"no DocumentEntry has logicalID urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e"},
			{"urn:uuid:e0985823-dc50-45a5-a6c8-a11a829893bd", "is not a DocumentEntry, Folder or Association"},
		}, []string{operationErr, versionErr}},
		{"SubmitObjectsRequest_ebrs30_update_sameLid.xml", [][]string{
			{"logicalID urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e is also that of"},
		}, []string{operationErr}},
		{"SubmitObjectsRequest_ebrs30_update_nonstandard_association.xml", [][]string{
			{"urn:elga-bes:AssociationType:NonVersioningUpdate", "not supported"},
		}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "ebrim", "ipf", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(b); err != nil {
				t.Fatal(err)
			}
			sub, err := ebrim.ParseSubmitObjectsRequest(doc.Root())
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = e.reg.Update(context.Background(), sub)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, words := range tc.mentions {
				if !contextMentions(err, words...) {
					t.Errorf("no codeContext mentions %q:\n%v", words, err)
				}
			}
			l, _ := registry.AsErrors(err)
			for _, x := range l {
				for _, never := range tc.never {
					if x.Code == never {
						t.Errorf("unexpected %s: %s", x.Code, x.Context)
					}
				}
			}
			if c := e.counts(); c != (counts{}) {
				t.Errorf("stored %+v", c)
			}
		})
	}
}

// TestUpdateNorwegianFixture registers the objects that
// testdata/ebrim/no/update_epikrise.xml updates (under the entryUUIDs it
// names), then runs the decoded fixture through Update: all three
// operations succeed.
func TestUpdateNorwegianFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ebrim", "no", "update_epikrise.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	upd, err := ebrim.ParseSubmitObjectsRequest(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	v2 := upd.Documents[0]
	patient := v2.PatientID

	// The registered originals: the epikrise (version 1), a notat, a
	// folder, and a document to add to it.
	orig := *v2
	orig.ID, orig.LogicalID, orig.Version, orig.Title = v2.LogicalID, "", "", "Epikrise"
	reg := sample(1, registry.SampleOptions{Patient: patient, Documents: 2, Folder: true})
	reg.SubmissionSet.Authors = upd.SubmissionSet.Authors
	notat, other := reg.Documents[0], reg.Documents[1]
	notat.ID, other.ID = "urn:uuid:5c8d2e1f-3a4b-4c5d-9e6f-7a8b9c0d1e2f", "urn:uuid:6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
	reg.Folders[0].ID = "urn:uuid:f0e1d2c3-b4a5-4968-8776-655443322110"
	reg.Documents = append(reg.Documents, &orig)
	reg.Associations = []*registry.Association{
		{ID: "hm1", Type: registry.AssocHasMember, Source: reg.SubmissionSet.ID, Target: notat.ID, SubmissionSetStatus: registry.SubmissionSetStatusOriginal},
		{ID: "hm2", Type: registry.AssocHasMember, Source: reg.SubmissionSet.ID, Target: other.ID, SubmissionSetStatus: registry.SubmissionSetStatusOriginal},
		{ID: "hm3", Type: registry.AssocHasMember, Source: reg.SubmissionSet.ID, Target: orig.ID, SubmissionSetStatus: registry.SubmissionSetStatusOriginal},
		{ID: "hmf", Type: registry.AssocHasMember, Source: reg.SubmissionSet.ID, Target: reg.Folders[0].ID, SubmissionSetStatus: registry.SubmissionSetStatusOriginal},
	}
	e := newEnv(t)
	e.register(reg)

	res, err := e.reg.Update(context.Background(), upd)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(res.NewVersions) != 1 || res.NewVersions[0].Version != "2" || res.NewVersions[0].Title != "Epikrise (korrigert, ny tittel)" ||
		len(res.NewAssociation) != 1 || len(res.StatusChanges) != 2 {
		t.Errorf("result: %d versions, %d associations, %d status changes", len(res.NewVersions), len(res.NewAssociation), len(res.StatusChanges))
	}
	if got := e.doc(notat.UniqueID).Status; got != registry.StatusDeprecated {
		t.Errorf("notat %s", got)
	}
}
