package conformance

import (
	"context"
	"fmt"

	"pjd/registry"
	"pjd/registry/oid"
)

// ITI-42 Register Document Set-b: valid submissions of every object type
// and relationship, and every error code the registry emits. Each
// scenario registers for its own fresh patient.

const tx42 = "ITI-42"

func registerScenarios() []Scenario {
	s := scenariosOf(tx42)
	out := []Scenario{
		s("register-one-document", registerOne),
		s("register-several-documents", registerSeveral),
		s("register-folder-with-documents", registerFolder),
		s("register-empty-folder", registerEmptyFolder),
		s("add-registered-document-to-registered-folder", addRegisteredToFolder),
		s("add-new-document-to-registered-folder", addNewToFolder),
		s("reference-member", referenceMember),
		s("rplc-replaces-and-deprecates", relationScenario(registry.AssocReplace, true)),
		s("apnd-keeps-original", relationScenario(registry.AssocAppend, false)),
		s("xfrm-keeps-original", relationScenario(registry.AssocTransform, false)),
		s("xfrm-rplc-deprecates", relationScenario(registry.AssocTransformReplace, true)),
		s("signs-in-same-submission", signsScenario),
		s("preassigned-uuids-kept", preassignedUUIDs),
	}
	return append(out, rowScenarios(tx42, registerRejections())...)
}

// contents returns GetSubmissionSetAndContents of the SubmissionSet with
// uniqueId uid.
func (t *T) contents(ctx context.Context, uid string) (*registry.QueryResult, error) {
	return t.Query(ctx, NewQuery(registry.QueryGetSubmissionSetAndContents, registry.ReturnLeafClass).
		Str(registry.ParamSubmissionSetUniqueID, uid))
}

// folderByUniqueID returns the registered Folder with uniqueId uid.
func (t *T) folderByUniqueID(ctx context.Context, uid string) (*registry.Folder, error) {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetFolders, registry.ReturnLeafClass).List(registry.ParamFolderUniqueID, uid))
	if err != nil {
		return nil, err
	}
	if len(res.Folders) != 1 {
		return nil, fmt.Errorf("GetFolders %s found %d folders, want 1", uid, len(res.Folders))
	}
	return res.Folders[0], nil
}

// registered registers a fresh submission of docs documents for patient
// and returns the registered entries (in submission order).
func (t *T) registered(ctx context.Context, patient string, docs int, folder bool) (*registry.Submission, []*registry.DocumentEntry, error) {
	sub, _ := t.Submission(patient, docs, folder)
	if err := t.Register(ctx, sub); err != nil {
		return nil, nil, err
	}
	var out []*registry.DocumentEntry
	for _, d := range sub.Documents {
		e, err := t.EntryByUniqueID(ctx, d.UniqueID)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
	return sub, out, nil
}

func registerOne(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 1, false)
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := t.contents(ctx, sub.SubmissionSet.UniqueID)
	if err != nil {
		return err
	}
	if err := wantCounts("GetSubmissionSetAndContents", res, counts{1, 1, 0, 1}); err != nil {
		return err
	}
	d, sent := res.Documents[0], sub.Documents[0]
	switch {
	case d.UniqueID != sent.UniqueID || d.PatientID != CX(p):
		return fmt.Errorf("registered entry has uniqueId %s patient %s, want %s %s", d.UniqueID, d.PatientID, sent.UniqueID, CX(p))
	case d.Status != registry.StatusApproved:
		return fmt.Errorf("registered entry has status %s, want Approved", d.Status)
	case !isUUID(d.ID):
		return fmt.Errorf("the registry kept the symbolic id %q; it must assign a urn:uuid", d.ID)
	case d.Hash != sent.Hash || d.Size == nil || *d.Size != *sent.Size:
		return fmt.Errorf("registered hash/size %s/%v differ from the submitted %s/%d", d.Hash, d.Size, sent.Hash, *sent.Size)
	case d.Class.Code != sent.Class.Code || d.Type.Code != sent.Type.Code:
		return fmt.Errorf("registered class/type %s/%s, want %s/%s", d.Class.Code, d.Type.Code, sent.Class.Code, sent.Type.Code)
	}
	a := res.Associations[0]
	if a.Type != registry.AssocHasMember || a.Source != res.SubmissionSets[0].ID || a.Target != d.ID || a.SubmissionSetStatus != registry.SubmissionSetStatusOriginal {
		return fmt.Errorf("unexpected association %+v", a)
	}
	return nil
}

func isUUID(id string) bool {
	return len(id) == len("urn:uuid:")+36 && id[:9] == "urn:uuid:"
}

func registerSeveral(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 3, false)
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	docs, err := t.FindDocuments(ctx, p)
	if err != nil {
		return err
	}
	return wantUniqueIDs("FindDocuments", docs, sub.Documents[0].UniqueID, sub.Documents[1].UniqueID, sub.Documents[2].UniqueID)
}

func registerFolder(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 2, true)
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	f, err := t.folderByUniqueID(ctx, sub.Folders[0].UniqueID)
	if err != nil {
		return err
	}
	if f.Status != registry.StatusApproved || f.LastUpdateTime == "" || f.PatientID != CX(p) {
		return fmt.Errorf("registered folder: status %s, lastUpdateTime %q, patient %s", f.Status, f.LastUpdateTime, f.PatientID)
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryGetFolderAndContents, registry.ReturnLeafClass).Str(registry.ParamFolderUniqueID, f.UniqueID))
	if err != nil {
		return err
	}
	return wantCounts("GetFolderAndContents", res, counts{2, 0, 1, 2})
}

func registerEmptyFolder(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 1, true)
	sub.Documents = nil
	sub.Associations = []*registry.Association{hasMember("HasMemberFolder", "SubmissionSet01", "Folder01", registry.SubmissionSetStatusOriginal)}
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryFindFolders, registry.ReturnLeafClass).
		Str(registry.ParamFolderPatientID, CX(p)).List(registry.ParamFolderStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	return wantCounts("FindFolders", res, counts{0, 0, 1, 0})
}

// folderPlus registers a Folder holding one document, and returns the
// Folder and that entry.
func (t *T) folderPlus(ctx context.Context, patient string) (*registry.Folder, *registry.DocumentEntry, error) {
	sub, docs, err := t.registered(ctx, patient, 1, true)
	if err != nil {
		return nil, nil, err
	}
	f, err := t.folderByUniqueID(ctx, sub.Folders[0].UniqueID)
	if err != nil {
		return nil, nil, err
	}
	return f, docs[0], nil
}

func folderContents(ctx context.Context, t *T, f *registry.Folder) (*registry.QueryResult, error) {
	return t.Query(ctx, NewQuery(registry.QueryGetFolderAndContents, registry.ReturnLeafClass).Str(registry.ParamFolderEntryUUID, f.ID))
}

func addRegisteredToFolder(ctx context.Context, t *T) error {
	p := t.NewPatient()
	f, _, err := t.folderPlus(ctx, p)
	if err != nil {
		return err
	}
	_, other, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	sub, _ := t.Submission(p, 1, false)
	sub.Documents = nil
	sub.Associations = []*registry.Association{
		hasMember("FolderMember", f.ID, other[0].ID, ""),
		hasMember("FolderMemberInSet", "SubmissionSet01", "FolderMember", ""),
	}
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := folderContents(ctx, t, f)
	if err != nil {
		return err
	}
	return wantCounts("GetFolderAndContents after adding a registered document", res, counts{2, 0, 1, 2})
}

func addNewToFolder(ctx context.Context, t *T) error {
	p := t.NewPatient()
	f, _, err := t.folderPlus(ctx, p)
	if err != nil {
		return err
	}
	sub, _ := t.Submission(p, 1, false)
	sub.Associations = append(sub.Associations,
		hasMember("FolderMember", f.ID, "Document01", ""),
		hasMember("FolderMemberInSet", "SubmissionSet01", "FolderMember", ""))
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := folderContents(ctx, t, f)
	if err != nil {
		return err
	}
	if err := wantCounts("GetFolderAndContents after adding a new document", res, counts{2, 0, 1, 2}); err != nil {
		return err
	}
	if docByUniqueID(res.Documents, sub.Documents[0].UniqueID) == nil {
		return fmt.Errorf("the new document is not in the folder")
	}
	return nil
}

func referenceMember(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	sub, _ := t.Submission(p, 1, false)
	sub.Associations = append(sub.Associations, hasMember("RefMember", "SubmissionSet01", docs[0].ID, registry.SubmissionSetStatusReference))
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryGetSubmissionSets, registry.ReturnLeafClass).List(registry.ParamUUID, docs[0].ID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetSubmissionSets of the referenced document", res, counts{0, 2, 0, 2}); err != nil {
		return err
	}
	c, err := t.contents(ctx, sub.SubmissionSet.UniqueID)
	if err != nil {
		return err
	}
	return wantCounts("GetSubmissionSetAndContents of the referencing set", c, counts{2, 1, 0, 2})
}

// relationScenario registers a document, then a new one related to it by
// typ; deprecates says whether the original must become Deprecated.
func relationScenario(typ string, deprecates bool) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p := t.NewPatient()
		_, orig, err := t.registered(ctx, p, 1, false)
		if err != nil {
			return err
		}
		sub, _ := t.Submission(p, 1, false)
		sub.Associations = append(sub.Associations, relation("Rel", typ, "Document01", orig[0].ID))
		if err := t.Register(ctx, sub); err != nil {
			return err
		}
		newUID := sub.Documents[0].UniqueID
		approved, err := t.FindDocuments(ctx, p)
		if err != nil {
			return err
		}
		want := []string{orig[0].UniqueID, newUID}
		if deprecates {
			want = []string{newUID}
		}
		if err := wantUniqueIDs("FindDocuments (Approved)", approved, want...); err != nil {
			return err
		}
		old, err := t.EntryByUniqueID(ctx, orig[0].UniqueID)
		if err != nil {
			return err
		}
		wantStatus := registry.StatusApproved
		if deprecates {
			wantStatus = registry.StatusDeprecated
		}
		if old.Status != wantStatus {
			return fmt.Errorf("original after %s: status %s, want %s", shortType(typ), old.Status, wantStatus)
		}
		rel, err := t.Query(ctx, NewQuery(registry.QueryGetRelatedDocuments, registry.ReturnLeafClass).
			Str(registry.ParamDocumentEntryUniqueID, newUID).List(registry.ParamAssociationTypes, typ))
		if err != nil {
			return err
		}
		if err := wantCounts("GetRelatedDocuments", rel, counts{2, 0, 0, 1}); err != nil {
			return err
		}
		a := rel.Associations[0]
		if a.Type != typ || a.Target != orig[0].ID {
			return fmt.Errorf("relationship association is %s → %s, want %s → %s", a.Type, a.Target, typ, orig[0].ID)
		}
		return nil
	}
}

func shortType(t string) string {
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == ':' {
			return t[i+1:]
		}
	}
	return t
}

func signsScenario(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 1, false)
	sig := addDocument(sub, "Signature01")
	sig.Title = "Signatur"
	sub.Associations = append(sub.Associations, relation("Signs", registry.AssocSigns, "Signature01", "Document01"))
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	rel, err := t.Query(ctx, NewQuery(registry.QueryGetRelatedDocuments, registry.ReturnLeafClass).
		Str(registry.ParamDocumentEntryUniqueID, sig.UniqueID).List(registry.ParamAssociationTypes, registry.AssocSigns))
	if err != nil {
		return err
	}
	if err := wantCounts("GetRelatedDocuments (signs)", rel, counts{2, 0, 0, 1}); err != nil {
		return err
	}
	docs, err := t.FindDocuments(ctx, p)
	if err != nil {
		return err
	}
	return wantUniqueIDs("FindDocuments: signing does not deprecate", docs, sub.Documents[0].UniqueID, sig.UniqueID)
}

func preassignedUUIDs(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, 1, false)
	ssID, docID, aID := NewUUID(), NewUUID(), NewUUID()
	sub.SubmissionSet.ID, sub.Documents[0].ID = ssID, docID
	sub.Associations[0].ID, sub.Associations[0].Source, sub.Associations[0].Target = aID, ssID, docID
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocumentsAndAssociations, registry.ReturnLeafClass).
		List(registry.ParamDocumentEntryEntryUUID, docID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetDocumentsAndAssociations by the pre-assigned entryUUID", res, counts{1, 0, 0, 1}); err != nil {
		return err
	}
	if res.Associations[0].ID != aID || res.Associations[0].Source != ssID {
		return fmt.Errorf("association ids %s/%s, want the pre-assigned %s/%s", res.Associations[0].ID, res.Associations[0].Source, aID, ssID)
	}
	return nil
}

// --- errors ---

// A registerRejection is a submission the registry must refuse: a fresh
// submission of docs documents (and a Folder) for a new patient, broken
// by breaks — which may register what it needs first — and refused with
// exactly code, every codeContext fragment named; nothing of it is
// stored.
type registerRejection struct {
	name   string
	docs   int
	folder bool
	code   string
	breaks func(ctx context.Context, t *T, p string, sub *registry.Submission) (refused, error)
}

// refused is what breaking a submission expects of its refusal: the
// codeContext fragments, and a check of what must hold afterwards.
type refused struct {
	contexts []string
	then     func(context.Context) error
	// registeredSet: the SubmissionSet's uniqueId is already registered
	// (by design of the row), so then checks what was not stored.
	registeredSet bool
}

// named is a refusal whose codeContext names fragments.
func named(fragments ...string) (refused, error) { return refused{contexts: fragments}, nil }

func registerRejections() []registerRejection {
	meta := registry.ErrCodeRegistryMetadataError
	return []registerRejection{
		{"metadata-error-document-not-in-submissionset", 2, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Associations = sub.Associations[:1] // Document02 has no HasMember
			return named("Document02")
		}},
		{"metadata-error-missing-submissionset-status", 1, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Associations[0].SubmissionSetStatus = ""
			return named("SubmissionSetStatus")
		}},
		{"metadata-error-missing-classcode", 1, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Documents[0].Class = registry.Code{}
			return named("classCode")
		}},
		{"metadata-error-unknown-code-named", 1, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Documents[0].Type = registry.Code{Code: "Z99-9", Scheme: oid.Volven9602, Display: "Finnes ikke"}
			return named("Z99-9")
		}},
		{"metadata-error-bad-creation-time", 1, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Documents[0].CreationTime = "2024-01-15T10:00"
			return named("creationTime")
		}},
		{"metadata-error-relation-target-in-submission", 2, false, meta, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Associations = append(sub.Associations, relation("Rel", registry.AssocReplace, "Document02", "Document01"))
			return named("RPLC")
		}},
		{"unresolved-reference-hasmember", 1, false, registry.ErrCodeUnresolvedReference, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			ghost := NewUUID()
			sub.Associations = append(sub.Associations, hasMember("Ghost", "SubmissionSet01", ghost, registry.SubmissionSetStatusReference))
			return named(ghost)
		}},
		{"unresolved-reference-rplc-target", 1, false, registry.ErrCodeUnresolvedReference, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			ghost := NewUUID()
			sub.Associations = append(sub.Associations, relation("Rel", registry.AssocReplace, "Document01", ghost))
			return named(ghost)
		}},
		{"patient-id-does-not-match-document", 1, false, registry.ErrCodePatientIDDoesNotMatch, func(_ context.Context, t *T, _ string, sub *registry.Submission) (refused, error) {
			other := t.NewPatient()
			sub.Documents[0].PatientID = CX(other)
			return refused{contexts: []string{other}, then: func(ctx context.Context) error {
				docs, err := t.FindDocuments(ctx, other)
				if err != nil {
					return err
				}
				return wantUniqueIDs("the other patient's documents", docs)
			}}, nil
		}},
		{"patient-id-does-not-match-rplc", 1, false, registry.ErrCodePatientIDDoesNotMatch, func(ctx context.Context, t *T, _ string, sub *registry.Submission) (refused, error) {
			_, orig, err := t.registered(ctx, t.NewPatient(), 1, false)
			if err != nil {
				return refused{}, err
			}
			sub.Associations = append(sub.Associations, relation("Rel", registry.AssocReplace, "Document01", orig[0].ID))
			return refused{then: func(ctx context.Context) error {
				e, err := t.EntryByUniqueID(ctx, orig[0].UniqueID)
				if err != nil {
					return err
				}
				if e.Status != registry.StatusApproved {
					return fmt.Errorf("the other patient's document became %s", e.Status)
				}
				return nil
			}}, nil
		}},
		{"patient-id-does-not-match-folder-member", 1, false, registry.ErrCodePatientIDDoesNotMatch, func(ctx context.Context, t *T, _ string, sub *registry.Submission) (refused, error) {
			f, _, err := t.folderPlus(ctx, t.NewPatient())
			if err != nil {
				return refused{}, err
			}
			sub.Associations = append(sub.Associations,
				hasMember("FolderMember", f.ID, "Document01", ""),
				hasMember("FolderMemberInSet", "SubmissionSet01", "FolderMember", ""))
			return refused{}, nil
		}},
		{"unknown-patient-id", 1, false, registry.ErrCodeUnknownPatientID, func(_ context.Context, _ *T, p string, sub *registry.Submission) (refused, error) {
			// A well-formed CX whose assigning authority is no Norwegian
			// person register: the registry cannot know the patient.
			unknown := registry.NewPatientCX(p, "2.999.578.99").String()
			sub.SubmissionSet.PatientID = unknown
			sub.Documents[0].PatientID = unknown
			sub.Documents[0].SourcePatientID = unknown
			return refused{}, nil
		}},
		{"duplicate-uniqueid-in-message", 2, false, registry.ErrCodeRegistryDuplicateUniqueIDInMessage, func(_ context.Context, _ *T, _ string, sub *registry.Submission) (refused, error) {
			sub.Documents[1].UniqueID = sub.Documents[0].UniqueID
			return named(sub.Documents[0].UniqueID)
		}},
		{"duplicate-uniqueid-in-registry", 1, false, registry.ErrCodeDuplicateUniqueIDInRegistry, func(ctx context.Context, t *T, p string, sub *registry.Submission) (refused, error) {
			first, _, err := t.registered(ctx, p, 1, false)
			if err != nil {
				return refused{}, err
			}
			sub.SubmissionSet.UniqueID = first.SubmissionSet.UniqueID
			return refused{contexts: []string{first.SubmissionSet.UniqueID}, registeredSet: true, then: func(ctx context.Context) error {
				docs, err := t.FindDocuments(ctx, p)
				if err != nil {
					return err
				}
				return wantUniqueIDs("FindDocuments after the rejected resubmission", docs, first.Documents[0].UniqueID)
			}}, nil
		}},
		{"non-identical-hash", 1, false, registry.ErrCodeNonIdenticalHash, nonIdentical(true)},
		{"non-identical-size", 1, false, registry.ErrCodeNonIdenticalSize, nonIdentical(false)},
		{"deprecated-document-error", 1, false, registry.ErrCodeRegistryDeprecatedDocumentError, func(ctx context.Context, t *T, p string, sub *registry.Submission) (refused, error) {
			_, orig, err := t.registered(ctx, p, 1, false)
			if err != nil {
				return refused{}, err
			}
			repl, _ := t.Submission(p, 1, false)
			repl.Associations = append(repl.Associations, relation("Rel", registry.AssocReplace, "Document01", orig[0].ID))
			if err := t.Register(ctx, repl); err != nil {
				return refused{}, err
			}
			sub.Associations = append(sub.Associations, relation("Rel", registry.AssocAppend, "Document01", orig[0].ID))
			return named(orig[0].ID)
		}},
		{"rejected-submission-leaves-nothing", 3, true, meta, func(_ context.Context, t *T, p string, sub *registry.Submission) (refused, error) {
			sub.Documents[2].Class = registry.Code{Code: "Z99-1", Scheme: oid.Volven9602}
			return refused{contexts: []string{"Z99-1"}, then: func(ctx context.Context) error { return t.nothingOf(ctx, p) }}, nil
		}},
	}
}

func (r registerRejection) label() string { return r.name }

// run registers the broken submission and checks the refusal.
func (r registerRejection) run(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, _ := t.Submission(p, r.docs, r.folder)
	want, err := r.breaks(ctx, t, p, sub)
	if err != nil {
		return err
	}
	errs, err := t.RegisterErr(ctx, sub)
	if err != nil {
		return err
	}
	if err := wantErrors("ITI-42", errs, []string{r.code}, want.contexts...); err != nil {
		return err
	}
	if !want.registeredSet {
		if err := t.notStored(ctx, p, sub.SubmissionSet.UniqueID); err != nil {
			return err
		}
	}
	if want.then != nil {
		return want.then(ctx)
	}
	return nil
}

// notStored checks that no SubmissionSet of patient with uniqueId uid was
// stored.
func (t *T) notStored(ctx context.Context, patient, uid string) error {
	found, err := t.Query(ctx, NewQuery(registry.QueryFindSubmissionSets, registry.ReturnLeafClass).
		Str(registry.ParamSubmissionSetPatientID, CX(patient)).List(registry.ParamSubmissionSetStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	for _, s := range found.SubmissionSets {
		if s.UniqueID == uid {
			return fmt.Errorf("the rejected SubmissionSet %s was stored", s.UniqueID)
		}
	}
	return nil
}

// nonIdentical registers a document, then breaks sub into a resubmission
// of its uniqueId with another hash or size.
func nonIdentical(hash bool) func(context.Context, *T, string, *registry.Submission) (refused, error) {
	return func(ctx context.Context, t *T, p string, sub *registry.Submission) (refused, error) {
		first, _, err := t.registered(ctx, p, 1, false)
		if err != nil {
			return refused{}, err
		}
		d := sub.Documents[0]
		d.UniqueID = first.Documents[0].UniqueID
		d.Hash, d.Size = first.Documents[0].Hash, first.Documents[0].Size
		if hash {
			d.Hash = "0000000000000000000000000000000000000000"
		} else {
			n := *d.Size + 1
			d.Size = &n
		}
		return named(d.UniqueID)
	}
}

// nothingOf checks that the patient has nothing registered: no document,
// and no object at all (GetAll).
func (t *T) nothingOf(ctx context.Context, p string) error {
	docs, err := t.FindDocuments(ctx, p, registry.StatusApproved, registry.StatusDeprecated)
	if err != nil {
		return err
	}
	if err := wantUniqueIDs("FindDocuments after a rejected submission", docs); err != nil {
		return err
	}
	res, err := t.Query(ctx, NewQuery(registry.QueryGetAll, registry.ReturnObjectRef).Str(registry.ParamPatientID, CX(p)).
		List(registry.ParamDocumentEntryStatus, registry.StatusApproved, registry.StatusDeprecated).
		List(registry.ParamSubmissionSetStatus, registry.StatusApproved).
		List(registry.ParamFolderStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	return wantRefs("GetAll after a rejected submission", res, nil)
}
