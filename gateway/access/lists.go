package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/trust/policy"
)

// ListsRequest is an ITI-66 search for one patient's SubmissionSets and/or
// Folders. A nil filter means that kind is not asked for; the Guard sets
// the filters' PatientID.
type ListsRequest struct {
	PatientID, PatientOID string
	SubmissionSets        *registry.SubmissionSetFilter
	Folders               *registry.FolderFilter
	MatchSubmissionSet    func(*registry.SubmissionSet) bool
	MatchFolder           func(*registry.Folder) bool
}

// ListsResult is what the principal may see: the lists and their HasMember
// associations, with every association to a document policy hides (and
// every document it hides) left out.
type ListsResult struct {
	SubmissionSets []*registry.SubmissionSet
	Folders        []*registry.Folder
	// Members are the HasMember associations whose source is one of the
	// lists and whose target is a visible document or a listed folder.
	Members []*registry.Association
	// Documents are the ids of the visible member documents.
	Documents  map[string]bool
	HiddenNORS int
}

// FindLists searches one patient's SubmissionSets and Folders (ITI-66).
// List membership would tell what documents exist, so member documents go
// through policy like a document search, and the search is audited.
func (g *Guard) FindLists(ctx context.Context, c Call, req ListsRequest) (*ListsResult, error) {
	patient := req.PatientID
	pre, err := g.decide(ctx, c, policy.ActionFind, patient, nil)
	if err != nil {
		return nil, err
	}
	if !pre.Permitted() {
		return g.listsDenied(ctx, c, patient, pre, nil)
	}
	cx := registry.NewPatientCX(patient, req.PatientOID).String()
	rd := g.reg.Reader()
	out := &ListsResult{Documents: map[string]bool{}}
	if req.SubmissionSets != nil {
		f := *req.SubmissionSets
		f.PatientID, f.Limit = cx, g.max+1
		out.SubmissionSets, err = rd.SubmissionSets(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("access: searching submission sets: %w", err)
		}
		if req.MatchSubmissionSet != nil {
			out.SubmissionSets = slices.DeleteFunc(out.SubmissionSets, func(s *registry.SubmissionSet) bool { return !req.MatchSubmissionSet(s) })
		}
	}
	if req.Folders != nil {
		f := *req.Folders
		f.PatientID, f.Limit = cx, g.max+1
		out.Folders, err = rd.Folders(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("access: searching folders: %w", err)
		}
		if req.MatchFolder != nil {
			out.Folders = slices.DeleteFunc(out.Folders, func(x *registry.Folder) bool { return !req.MatchFolder(x) })
		}
	}
	if len(out.SubmissionSets) > g.max || len(out.Folders) > g.max {
		_ = g.RecordError(ctx, c, audit.ActionQuery, patient, fmt.Sprintf("the search matched more than %d lists", g.max))
		return nil, ErrTooMany
	}
	var listIDs []string
	for _, s := range out.SubmissionSets {
		listIDs = append(listIDs, s.ID)
	}
	for _, f := range out.Folders {
		listIDs = append(listIDs, f.ID)
	}
	var members []*registry.Association
	var docs []*registry.DocumentEntry
	if len(listIDs) > 0 {
		members, err = rd.Associations(ctx, registry.AssociationFilter{Sources: listIDs, Types: []string{registry.AssocHasMember}})
		if err != nil {
			return nil, fmt.Errorf("access: reading list members: %w", err)
		}
		var targets []string
		for _, a := range members {
			targets = append(targets, a.Target)
		}
		if len(targets) > 0 {
			docs, err = rd.Documents(ctx, registry.DocumentFilter{IDs: targets,
				Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}})
			if err != nil {
				return nil, fmt.Errorf("access: reading list members: %w", err)
			}
		}
	}
	// Members of another patient (a Reference member) are not this
	// patient's to show.
	docs = slices.DeleteFunc(docs, func(d *registry.DocumentEntry) bool { return d.PatientID != cx })
	dec, err := g.decide(ctx, c, policy.ActionFind, patient, docs)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		return g.listsDenied(ctx, c, patient, dec, docs)
	}
	for _, d := range visibleEntries(docs, dec) {
		out.Documents[d.ID] = true
	}
	folders := map[string]bool{}
	for _, f := range out.Folders {
		folders[f.ID] = true
	}
	for _, a := range members {
		if out.Documents[a.Target] || folders[a.Target] {
			out.Members = append(out.Members, a)
		}
	}
	out.HiddenNORS = dec.HiddenNORS
	r := g.record(c, audit.ActionQuery)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.HiddenNORS = dec.HiddenNORS
	for _, d := range docs {
		disp := audit.DocHidden
		if out.Documents[d.ID] {
			disp = audit.DocReturned
		}
		r.Documents = append(r.Documents, auditDocument(d, disp))
	}
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return out, nil
}

// listsDenied answers a refused list search: a patient's block as a
// patient without lists (recorded as refused), anything else as an error.
func (g *Guard) listsDenied(ctx context.Context, c Call, patient string, dec policy.Decision, docs []*registry.DocumentEntry) (*ListsResult, error) {
	err := g.deny(ctx, c, audit.ActionQuery, patient, dec, docs)
	var d *Denied
	if concealBlock(dec) && errors.As(err, &d) {
		return &ListsResult{Documents: map[string]bool{}}, nil
	}
	return nil, err
}
