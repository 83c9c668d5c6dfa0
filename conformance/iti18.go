package conformance

import (
	"context"
	"fmt"
	"slices"

	"pjd/registry"
)

// ITI-18 Registry Stored Query: the 14 stored queries with exact result
// counts over a fixture each scenario registers for its own patient, in
// LeafClass and ObjectRef, and the query errors.

const tx18 = "ITI-18"

// queryFixture is what every query scenario registers first:
//
//	SubmissionSet 1: DE1 (A00-1, referenceIdList REF), DE2 (A00-1),
//	                 Folder F holding DE1
//	                 a1 SS1→DE1, a2 SS1→DE2, a3 SS1→F, a4 F→DE1, a5 SS1→a4
//	SubmissionSet 2: DE3 (E00-1) replacing DE2 (so DE2 is Deprecated)
//	                 b1 SS2→DE3, b2 DE3 RPLC DE2
type queryFixture struct {
	patient       string
	refID         string
	ss1, ss2      *registry.SubmissionSet
	folder        *registry.Folder
	de1, de2, de3 *registry.DocumentEntry
}

func (t *T) queryFixture(ctx context.Context) (*queryFixture, error) {
	fx := &queryFixture{patient: t.NewPatient()}
	fx.refID = "REF-" + NewOID() + "^^^&2.999.578.4&ISO^urn:ihe:iti:xds:2013:order"
	sub1, _ := t.Submission(fx.patient, 2, false)
	sub1.Documents[0].ReferenceIDs = []string{fx.refID}
	sub1.Folders = []*registry.Folder{{ID: "Folder01", UniqueID: NewOID(), PatientID: CX(fx.patient),
		Title: "Konformansemappe", Codes: []registry.Code{registry.SampleClassEpikrise}}}
	sub1.Associations = append(sub1.Associations,
		hasMember("HasMemberFolder", "SubmissionSet01", "Folder01", registry.SubmissionSetStatusOriginal),
		hasMember("FolderMember01", "Folder01", "Document01", ""),
		hasMember("FolderMember01InSet", "SubmissionSet01", "FolderMember01", ""))
	if err := t.Register(ctx, sub1); err != nil {
		return nil, fmt.Errorf("registering the query fixture: %w", err)
	}
	de2, err := t.EntryByUniqueID(ctx, sub1.Documents[1].UniqueID)
	if err != nil {
		return nil, err
	}
	sub2, _ := t.Submission(fx.patient, 1, false)
	sub2.SubmissionSet.ContentType = registry.SampleClassBilde
	sub2.Documents[0].Class, sub2.Documents[0].Type = registry.SampleClassBilde, registry.SampleTypeBildesvar
	sub2.Associations = append(sub2.Associations, relation("Replace", registry.AssocReplace, "Document01", de2.ID))
	if err := t.Register(ctx, sub2); err != nil {
		return nil, fmt.Errorf("registering the query fixture: %w", err)
	}
	docs, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).List(registry.ParamDocumentEntryUniqueID,
		sub1.Documents[0].UniqueID, sub1.Documents[1].UniqueID, sub2.Documents[0].UniqueID))
	if err != nil {
		return nil, err
	}
	fx.de1 = docByUniqueID(docs.Documents, sub1.Documents[0].UniqueID)
	fx.de2 = docByUniqueID(docs.Documents, sub1.Documents[1].UniqueID)
	fx.de3 = docByUniqueID(docs.Documents, sub2.Documents[0].UniqueID)
	if fx.de1 == nil || fx.de2 == nil || fx.de3 == nil {
		return nil, fmt.Errorf("GetDocuments did not find the fixture's three documents (got %v)", uniqueIDs(docs.Documents))
	}
	if fx.folder, err = t.folderByUniqueID(ctx, sub1.Folders[0].UniqueID); err != nil {
		return nil, err
	}
	sets, err := t.Query(ctx, NewQuery(registry.QueryFindSubmissionSets, registry.ReturnLeafClass).
		Str(registry.ParamSubmissionSetPatientID, CX(fx.patient)).List(registry.ParamSubmissionSetStatus, registry.StatusApproved))
	if err != nil {
		return nil, err
	}
	for _, s := range sets.SubmissionSets {
		switch s.UniqueID {
		case sub1.SubmissionSet.UniqueID:
			fx.ss1 = s
		case sub2.SubmissionSet.UniqueID:
			fx.ss2 = s
		}
	}
	if fx.ss1 == nil || fx.ss2 == nil {
		return nil, fmt.Errorf("FindSubmissionSets did not find the fixture's two SubmissionSets")
	}
	return fx, nil
}

func queryScenarios() []Scenario {
	s := func(name string, run func(context.Context, *T, *queryFixture) error) Scenario {
		return scenario(tx18, name, func(ctx context.Context, t *T) error {
			fx, err := t.queryFixture(ctx)
			if err != nil {
				return err
			}
			return run(ctx, t, fx)
		})
	}
	plain := scenariosOf(tx18)
	out := []Scenario{
		s("FindDocuments-approved-leafclass", qFindDocumentsApproved),
		s("FindDocuments-all-statuses-objectref", qFindDocumentsObjectRef),
		s("FindDocuments-classcode-filter", qFindDocumentsClass),
		s("FindDocumentsByReferenceId", qFindByReferenceID),
		s("FindSubmissionSets", qFindSubmissionSets),
		s("FindFolders-leafclass-and-objectref", qFindFolders),
		s("GetAll-leafclass", qGetAll),
		s("GetAll-objectref", qGetAllObjectRef),
		s("GetDocuments-by-uniqueid-and-uuid", qGetDocuments),
		s("GetFolders", qGetFolders),
		s("GetAssociations", qGetAssociations),
		s("GetDocumentsAndAssociations", qGetDocumentsAndAssociations),
		s("GetSubmissionSets", qGetSubmissionSets),
		s("GetSubmissionSetAndContents", qGetSubmissionSetAndContents),
		s("GetFolderAndContents", qGetFolderAndContents),
		s("GetFoldersForDocument", qGetFoldersForDocument),
		s("GetRelatedDocuments", qGetRelatedDocuments),
		s("result-not-single-patient", qNotSinglePatient),
	}
	out = append(out, rowScenarios(tx18, queryRejections())...)
	return append(out, plain("too-many-results", qTooMany))
}

// A queryRejection is a stored query the registry must refuse with code,
// returning nothing.
type queryRejection struct {
	name, what string
	query      func(t *T) *Q
	code       string
}

func queryRejections() []queryRejection {
	return []queryRejection{
		{"missing-param-status", "FindDocuments without $XDSDocumentEntryStatus", func(t *T) *Q {
			return NewQuery(registry.QueryFindDocuments, registry.ReturnLeafClass).Str(registry.ParamDocumentEntryPatientID, CX(t.NewPatient()))
		}, registry.ErrCodeStoredQueryMissingParam},
		{"missing-param-one-of", "GetDocuments without an id parameter", func(*T) *Q {
			return NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass)
		}, registry.ErrCodeStoredQueryMissingParam},
		{"param-number-repeated", "FindDocuments with $XDSDocumentEntryPatientId twice", func(t *T) *Q {
			return NewQuery(registry.QueryFindDocuments, registry.ReturnLeafClass).
				Str(registry.ParamDocumentEntryPatientID, CX(t.NewPatient())).
				Str(registry.ParamDocumentEntryPatientID, CX(t.NewPatient())).
				List(registry.ParamDocumentEntryStatus, registry.StatusApproved)
		}, registry.ErrCodeStoredQueryParamNumber},
		{"param-number-one-of", "GetDocuments with both $XDSDocumentEntryEntryUUID and $XDSDocumentEntryUniqueId", func(*T) *Q {
			return NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).
				List(registry.ParamDocumentEntryEntryUUID, NewUUID()).List(registry.ParamDocumentEntryUniqueID, NewOID())
		}, registry.ErrCodeStoredQueryParamNumber},
		{"unknown-stored-query", "an unknown stored query id", func(t *T) *Q {
			return NewQuery(NewUUID(), registry.ReturnLeafClass).Str(registry.ParamDocumentEntryPatientID, CX(t.NewPatient()))
		}, registry.ErrCodeUnknownStoredQuery},
	}
}

func (r queryRejection) label() string { return r.name }

func (r queryRejection) run(ctx context.Context, t *T) error {
	return queryError(ctx, t, r.what, r.query(t), r.code)
}

func findDocs(fx *queryFixture, rt string, statuses ...string) *Q {
	return NewQuery(registry.QueryFindDocuments, rt).Str(registry.ParamDocumentEntryPatientID, CX(fx.patient)).
		List(registry.ParamDocumentEntryStatus, statuses...)
}

func qFindDocumentsApproved(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, findDocs(fx, registry.ReturnLeafClass, registry.StatusApproved))
	if err != nil {
		return err
	}
	if err := wantCounts("FindDocuments", res, counts{2, 0, 0, 0}); err != nil {
		return err
	}
	return wantUniqueIDs("FindDocuments (Approved)", res.Documents, fx.de1.UniqueID, fx.de3.UniqueID)
}

func qFindDocumentsObjectRef(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, findDocs(fx, registry.ReturnObjectRef, registry.StatusApproved, registry.StatusDeprecated))
	if err != nil {
		return err
	}
	return wantRefs("FindDocuments (ObjectRef)", res, []string{fx.de1.ID, fx.de2.ID, fx.de3.ID})
}

func qFindDocumentsClass(ctx context.Context, t *T, fx *queryFixture) error {
	c := registry.SampleClassBilde
	res, err := t.Query(ctx, findDocs(fx, registry.ReturnLeafClass, registry.StatusApproved, registry.StatusDeprecated).
		List(registry.ParamDocumentEntryClassCode, c.Code+"^^"+c.Scheme))
	if err != nil {
		return err
	}
	return wantUniqueIDs("FindDocuments (classCode E00-1)", res.Documents, fx.de3.UniqueID)
}

func qFindByReferenceID(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryFindDocumentsByReferenceID, registry.ReturnLeafClass).
		Str(registry.ParamDocumentEntryPatientID, CX(fx.patient)).
		List(registry.ParamDocumentEntryStatus, registry.StatusApproved, registry.StatusDeprecated).
		List(registry.ParamDocumentEntryReferenceIDList, fx.refID))
	if err != nil {
		return err
	}
	return wantUniqueIDs("FindDocumentsByReferenceId", res.Documents, fx.de1.UniqueID)
}

func qFindSubmissionSets(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryFindSubmissionSets, registry.ReturnLeafClass).
		Str(registry.ParamSubmissionSetPatientID, CX(fx.patient)).List(registry.ParamSubmissionSetStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	if err := wantCounts("FindSubmissionSets", res, counts{0, 2, 0, 0}); err != nil {
		return err
	}
	c := registry.SampleClassBilde
	res, err = t.Query(ctx, NewQuery(registry.QueryFindSubmissionSets, registry.ReturnObjectRef).
		Str(registry.ParamSubmissionSetPatientID, CX(fx.patient)).List(registry.ParamSubmissionSetStatus, registry.StatusApproved).
		List(registry.ParamSubmissionSetContentType, c.Code+"^^"+c.Scheme))
	if err != nil {
		return err
	}
	return wantRefs("FindSubmissionSets (contentType E00-1, ObjectRef)", res, []string{fx.ss2.ID})
}

func qFindFolders(ctx context.Context, t *T, fx *queryFixture) error {
	q := func(rt string) *Q {
		return NewQuery(registry.QueryFindFolders, rt).Str(registry.ParamFolderPatientID, CX(fx.patient)).
			List(registry.ParamFolderStatus, registry.StatusApproved)
	}
	res, err := t.Query(ctx, q(registry.ReturnLeafClass))
	if err != nil {
		return err
	}
	if err := wantCounts("FindFolders", res, counts{0, 0, 1, 0}); err != nil {
		return err
	}
	if res.Folders[0].UniqueID != fx.folder.UniqueID {
		return fmt.Errorf("FindFolders found %s, want %s", res.Folders[0].UniqueID, fx.folder.UniqueID)
	}
	res, err = t.Query(ctx, q(registry.ReturnObjectRef))
	if err != nil {
		return err
	}
	return wantRefs("FindFolders (ObjectRef)", res, []string{fx.folder.ID})
}

func getAll(fx *queryFixture, rt string) *Q {
	return NewQuery(registry.QueryGetAll, rt).Str(registry.ParamPatientID, CX(fx.patient)).
		List(registry.ParamDocumentEntryStatus, registry.StatusApproved, registry.StatusDeprecated).
		List(registry.ParamSubmissionSetStatus, registry.StatusApproved).
		List(registry.ParamFolderStatus, registry.StatusApproved)
}

func qGetAll(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, getAll(fx, registry.ReturnLeafClass))
	if err != nil {
		return err
	}
	return wantCounts("GetAll", res, counts{3, 2, 1, 7})
}

func qGetAllObjectRef(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, getAll(fx, registry.ReturnObjectRef))
	if err != nil {
		return err
	}
	if len(res.Refs) != 13 {
		return fmt.Errorf("GetAll (ObjectRef): %d refs, want 13 (3 DocumentEntries, 2 SubmissionSets, 1 Folder, 7 Associations)", len(res.Refs))
	}
	// Approved DocumentEntries only: DE2 and the two associations
	// naming it drop out.
	res, err = t.Query(ctx, NewQuery(registry.QueryGetAll, registry.ReturnObjectRef).Str(registry.ParamPatientID, CX(fx.patient)).
		List(registry.ParamDocumentEntryStatus, registry.StatusApproved).
		List(registry.ParamSubmissionSetStatus, registry.StatusApproved).
		List(registry.ParamFolderStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	if len(res.Refs) != 10 {
		return fmt.Errorf("GetAll (Approved DocumentEntries, ObjectRef): %d refs, want 10", len(res.Refs))
	}
	return nil
}

func qGetDocuments(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).
		List(registry.ParamDocumentEntryUniqueID, fx.de1.UniqueID, fx.de3.UniqueID))
	if err != nil {
		return err
	}
	if err := wantUniqueIDs("GetDocuments by uniqueId", res.Documents, fx.de1.UniqueID, fx.de3.UniqueID); err != nil {
		return err
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnObjectRef).
		List(registry.ParamDocumentEntryEntryUUID, fx.de2.ID, NewUUID()))
	if err != nil {
		return err
	}
	return wantRefs("GetDocuments by entryUUID (one unknown)", res, []string{fx.de2.ID})
}

func qGetFolders(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetFolders, registry.ReturnLeafClass).List(registry.ParamFolderEntryUUID, fx.folder.ID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetFolders", res, counts{0, 0, 1, 0}); err != nil {
		return err
	}
	if res.Folders[0].UniqueID != fx.folder.UniqueID {
		return fmt.Errorf("GetFolders returned folder %s, want %s", res.Folders[0].UniqueID, fx.folder.UniqueID)
	}
	return nil
}

func qGetAssociations(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetAssociations, registry.ReturnLeafClass).List(registry.ParamUUID, fx.de1.ID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetAssociations of DE1 (SS1→DE1, F→DE1)", res, counts{0, 0, 0, 2}); err != nil {
		return err
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetAssociations, registry.ReturnObjectRef).List(registry.ParamUUID, fx.de2.ID, fx.de3.ID))
	if err != nil {
		return err
	}
	if len(res.Refs) != 3 {
		return fmt.Errorf("GetAssociations of DE2 and DE3 (SS1→DE2, SS2→DE3, DE3 RPLC DE2): %d refs, want 3", len(res.Refs))
	}
	return nil
}

func qGetDocumentsAndAssociations(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocumentsAndAssociations, registry.ReturnLeafClass).
		List(registry.ParamDocumentEntryUniqueID, fx.de1.UniqueID))
	if err != nil {
		return err
	}
	return wantCounts("GetDocumentsAndAssociations of DE1", res, counts{1, 0, 0, 2})
}

func qGetSubmissionSets(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetSubmissionSets, registry.ReturnLeafClass).List(registry.ParamUUID, fx.de1.ID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetSubmissionSets of DE1", res, counts{0, 1, 0, 1}); err != nil {
		return err
	}
	if res.SubmissionSets[0].UniqueID != fx.ss1.UniqueID {
		return fmt.Errorf("GetSubmissionSets of DE1 returned %s, want SubmissionSet 1", res.SubmissionSets[0].UniqueID)
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetSubmissionSets, registry.ReturnObjectRef).List(registry.ParamUUID, fx.de1.ID, fx.de3.ID))
	if err != nil {
		return err
	}
	if len(res.Refs) != 4 {
		return fmt.Errorf("GetSubmissionSets of DE1 and DE3 (ObjectRef): %d refs, want 4 (2 SubmissionSets, 2 HasMember)", len(res.Refs))
	}
	return nil
}

func qGetSubmissionSetAndContents(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetSubmissionSetAndContents, registry.ReturnLeafClass).
		Str(registry.ParamSubmissionSetUniqueID, fx.ss1.UniqueID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetSubmissionSetAndContents of SS1", res, counts{2, 1, 1, 5}); err != nil {
		return err
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetSubmissionSetAndContents, registry.ReturnObjectRef).
		Str(registry.ParamSubmissionSetEntryUUID, fx.ss2.ID))
	if err != nil {
		return err
	}
	// SS2's members: DE3 and SS2→DE3; the RPLC is not a member.
	if len(res.Refs) != 3 || !slices.Contains(res.Refs, fx.ss2.ID) || !slices.Contains(res.Refs, fx.de3.ID) {
		return fmt.Errorf("GetSubmissionSetAndContents of SS2 (ObjectRef): got %v, want SS2, DE3 and their HasMember", res.Refs)
	}
	return nil
}

func qGetFolderAndContents(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetFolderAndContents, registry.ReturnLeafClass).
		Str(registry.ParamFolderUniqueID, fx.folder.UniqueID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetFolderAndContents", res, counts{1, 0, 1, 1}); err != nil {
		return err
	}
	return wantUniqueIDs("GetFolderAndContents", res.Documents, fx.de1.UniqueID)
}

func qGetFoldersForDocument(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetFoldersForDocument, registry.ReturnLeafClass).
		Str(registry.ParamDocumentEntryUniqueID, fx.de1.UniqueID))
	if err != nil {
		return err
	}
	if err := wantCounts("GetFoldersForDocument of DE1", res, counts{0, 0, 1, 0}); err != nil {
		return err
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetFoldersForDocument, registry.ReturnObjectRef).
		Str(registry.ParamDocumentEntryEntryUUID, fx.de3.ID))
	if err != nil {
		return err
	}
	return wantRefs("GetFoldersForDocument of DE3 (in no folder)", res, nil)
}

func qGetRelatedDocuments(ctx context.Context, t *T, fx *queryFixture) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetRelatedDocuments, registry.ReturnLeafClass).
		Str(registry.ParamDocumentEntryUniqueID, fx.de3.UniqueID).List(registry.ParamAssociationTypes, registry.AssocReplace))
	if err != nil {
		return err
	}
	if err := wantCounts("GetRelatedDocuments of DE3 (RPLC)", res, counts{2, 0, 0, 1}); err != nil {
		return err
	}
	if err := wantUniqueIDs("GetRelatedDocuments of DE3", res.Documents, fx.de2.UniqueID, fx.de3.UniqueID); err != nil {
		return err
	}
	res, err = t.Query(ctx, NewQuery(registry.QueryGetRelatedDocuments, registry.ReturnObjectRef).
		Str(registry.ParamDocumentEntryEntryUUID, fx.de1.ID).List(registry.ParamAssociationTypes, registry.AssocReplace, registry.AssocAppend))
	if err != nil {
		return err
	}
	return wantRefs("GetRelatedDocuments of DE1 (no relationship)", res, nil)
}

func qNotSinglePatient(ctx context.Context, t *T, fx *queryFixture) error {
	other := t.NewPatient()
	_, docs, err := t.registered(ctx, other, 1, false)
	if err != nil {
		return err
	}
	q := func(rt string) *Q {
		return NewQuery(registry.QueryGetDocuments, rt).List(registry.ParamDocumentEntryUniqueID, fx.de1.UniqueID, docs[0].UniqueID)
	}
	res, rr, err := t.QueryErr(ctx, q(registry.ReturnLeafClass))
	if err != nil {
		return err
	}
	if err := wantErrors("GetDocuments of two patients (LeafClass)", rr.Errors, []string{registry.ErrCodeResultNotSinglePatient}); err != nil {
		return err
	}
	if res != nil && res.Len() != 0 {
		return fmt.Errorf("XDSResultNotSinglePatient came with %d objects", res.Len())
	}
	res, err = t.Query(ctx, q(registry.ReturnObjectRef))
	if err != nil {
		return fmt.Errorf("the same query as ObjectRef must be answered: %w", err)
	}
	return wantRefs("GetDocuments of two patients (ObjectRef)", res, []string{fx.de1.ID, docs[0].ID})
}

// queryError runs q and checks its error codes.
func queryError(ctx context.Context, t *T, what string, q *Q, codes ...string) error {
	res, rr, err := t.QueryErr(ctx, q)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure {
		return fmt.Errorf("%s: status %s, want Failure", what, rr.Status)
	}
	if res != nil && res.Len() != 0 {
		return fmt.Errorf("%s: a failed query returned %d objects", what, res.Len())
	}
	return wantErrors(what, rr.Errors, codes)
}

// maxTooManyDocuments bounds what the XDSTooManyResults scenario
// registers: against a server with a larger cap it skips.
const maxTooManyDocuments = 200

func qTooMany(ctx context.Context, t *T) error {
	limit := t.Target().MaxResults
	switch {
	case limit == 0:
		return Skipf("the target's --max-results is not known (pjd conformance --max-results N)")
	case limit >= maxTooManyDocuments:
		return Skipf("the target's --max-results %d is too large to exceed cheaply (at most %d)", limit, maxTooManyDocuments-1)
	}
	p := t.NewPatient()
	sub, _ := t.Submission(p, limit+1, false)
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	for _, rt := range []string{registry.ReturnLeafClass, registry.ReturnObjectRef} {
		q := NewQuery(registry.QueryFindDocuments, rt).Str(registry.ParamDocumentEntryPatientID, CX(p)).
			List(registry.ParamDocumentEntryStatus, registry.StatusApproved)
		if err := queryError(ctx, t, fmt.Sprintf("FindDocuments matching %d documents (cap %d, %s)", limit+1, limit, rt), q,
			registry.ErrCodeTooManyResults); err != nil {
			return err
		}
	}
	// One fewer matches: answered.
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnObjectRef).
		List(registry.ParamDocumentEntryUniqueID, sub.Documents[0].UniqueID))
	if err != nil {
		return err
	}
	if len(res.Refs) != 1 {
		return fmt.Errorf("GetDocuments of one of them: %d refs, want 1", len(res.Refs))
	}
	return nil
}
