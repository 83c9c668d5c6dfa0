package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ITI-62 Remove Metadata (the RMD profile's name for the Delete Document
// Set transaction, wire action urn:ihe:iti:2010:DeleteDocumentSet). The
// rules are those of the research digest for issue 13 (§5), from the NIST
// registry simulator (RMSim), the NIST testkit 30001–30009 and the Gazelle
// OCL rules of the MU supplement; the RMD text itself was not available.
//
// Removal is physical: the rows go, and nothing reads them again. What
// must outlive them does not point at them: audit records copy every
// identifier they show, and the repository's sweeper asks whether any
// DocumentEntry (any version) still names a document's (uniqueId,
// repositoryUniqueId) — once the last one is removed the blob is an
// orphan and the next sweep deletes it.

// RemoveResult is what one ITI-62 request removed.
type RemoveResult struct {
	// Removed are the objects removed, as they were (for the audit record).
	Removed []RemovedObject
	// Unreferenced are the documents no DocumentEntry refers to any more:
	// the repository may delete their blobs (ITI-86, or its sweeper).
	Unreferenced []DocumentRef
}

// RemovedObject identifies one removed registry object.
type RemovedObject struct {
	Kind      string // "DocumentEntry", "SubmissionSet", "Folder" or "Association"
	ID        string
	LogicalID string // DocumentEntry and Folder
	UniqueID  string // DocumentEntry, SubmissionSet and Folder
	PatientID string // DocumentEntry, SubmissionSet and Folder, as stored
	Type      string // Association: its type
}

// DocumentRef names a document in a repository.
type DocumentRef struct {
	RepositoryUniqueID string
	UniqueID           string
}

// Remove removes the registry objects ids (entryUUIDs of DocumentEntries,
// SubmissionSets, Folders and Associations) atomically, or nothing when
// any rule fails. Who may remove what is the gateway's decision
// (RemoveScope).
//
// Errors, as a registry.ErrorList (every problem found):
//   - UnresolvedReferenceException: an id names no registry object;
//   - ReferencesExistException: an association that is not removed names
//     an object that is (e.g. removing a SubmissionSet alone, NIST testkit
//     30001 remove_submissionset);
//   - XDSUnreferencedObjectException: an object that stays would be left
//     without any association (removing a DocumentEntry and its HasMember
//     but not the SubmissionSet, 30001 remove_doc_and_association);
//   - XDSMetadataModelException: the removal breaks a document
//     relationship — a relationship association removed while both its
//     documents stay, or the replacing document of an RPLC/XFRM_RPLC
//     removed while the document it replaced (Deprecated by it) stays
//     (testkit 30009 remove_branches). No enumeration defines the code;
//     the testkit expects it;
//   - XDSRegistryError: no ids, too many ids, an id that is not text.
//
// Every version is its own object: removing a logical document means
// naming each version (and what references it). When the latest version
// is removed, the newest remaining one becomes the latest.
func (r *Registry) Remove(ctx context.Context, ids []string) (*RemoveResult, error) {
	var unique []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	switch {
	case len(unique) == 0:
		return nil, ErrorList{Errorf(ErrCodeRegistryError, "the request names no object to remove")}
	case len(unique) > r.maxResults:
		return nil, ErrorList{Errorf(ErrCodeRegistryError, "the request names %d objects; at most %d are removed at once", len(unique), r.maxResults)}
	}
	v := &validation{}
	v.text("the request", unique)
	if len(v.errs) > 0 {
		return nil, ErrorList{Errorf(ErrCodeRegistryError, "an object id is not valid text")}
	}
	var res *RemoveResult
	err := r.store.Update(ctx, func(tx Tx) error {
		var err error
		res, err = removeIn(ctx, tx, unique)
		return err
	})
	if err != nil {
		if l, ok := AsErrors(err); ok {
			return nil, l
		}
		if errors.Is(err, ErrConflict) {
			return nil, ErrorList{Errorf(ErrCodeRegistryBusy, "the registry is busy with concurrent changes; try again")}
		}
		return nil, fmt.Errorf("registry: remove: %w", err)
	}
	return res, nil
}

// removeIn is the Store.Update callback of Remove.
func removeIn(ctx context.Context, tx Tx, ids []string) (*RemoveResult, error) {
	var errs ErrorList
	add := func(code, format string, args ...any) { errs = append(errs, Errorf(code, format, args...)) }
	st, err := loadState(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	removed := map[string]bool{}
	for _, id := range ids {
		if st.kindOf(id) == "" {
			add(ErrCodeUnresolvedReference, "%s is not an object of the registry", id)
			continue
		}
		removed[id] = true
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := checkRemoval(ctx, tx, st, ids, removed, &errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, sortedErrors(errs)
	}
	return applyRemoval(ctx, tx, st, ids)
}

// checkRemoval applies the referential-integrity rules to a removal whose
// ids all resolve (st).
func checkRemoval(ctx context.Context, tx Tx, st *registryState, ids []string, removed map[string]bool, errs *ErrorList) error {
	add := func(code, format string, args ...any) { *errs = append(*errs, Errorf(code, format, args...)) }
	// Every association that names a removed object must be removed too.
	refs, err := tx.Associations(ctx, AssociationFilter{SourceOrTarget: ids})
	if err != nil {
		return err
	}
	for _, a := range refs {
		if removed[a.ID] {
			continue
		}
		for _, end := range []string{a.Source, a.Target} {
			if removed[end] {
				add(ErrCodeReferencesExist, "%s %s is referenced by Association %s (%s), which is not removed", st.kindOf(end), end, a.ID, shortType(a.Type))
			}
		}
	}

	// What stays must stay referenced, and document relationships whole.
	var survivors []string
	for _, id := range ids {
		a := st.assocs[id]
		if a == nil {
			continue
		}
		for _, end := range []string{a.Source, a.Target} {
			if !removed[end] {
				survivors = append(survivors, end)
			}
		}
	}
	survivors = uniqueStrings(survivors)
	if len(survivors) == 0 {
		return nil
	}
	ends, err := loadState(ctx, tx, survivors)
	if err != nil {
		return err
	}
	left, err := tx.Associations(ctx, AssociationFilter{SourceOrTarget: survivors})
	if err != nil {
		return err
	}
	referenced := map[string]bool{}
	for _, a := range left {
		if !removed[a.ID] {
			referenced[a.Source], referenced[a.Target] = true, true
		}
	}
	for _, id := range survivors {
		if k := ends.kindOf(id); k != "" && k != kindAssociation && !referenced[id] {
			add(ErrCodeUnreferencedObject, "%s %s would be left without any association", k, id)
		}
	}
	for _, id := range ids {
		a := st.assocs[id]
		if a == nil || !IsRelationship(a.Type) {
			continue
		}
		srcStays, tgtStays := !removed[a.Source] && ends.docs[a.Source] != nil, !removed[a.Target] && ends.docs[a.Target] != nil
		switch {
		case srcStays && tgtStays:
			add(ErrCodeMetadataModel, "Association %s (%s) is removed while both its DocumentEntries stay; withdraw a relationship with ITI-57 (deprecate it)",
				a.ID, shortType(a.Type))
		case (a.Type == AssocReplace || a.Type == AssocTransformReplace) && tgtStays:
			add(ErrCodeMetadataModel, "DocumentEntry %s, replaced by %s (%s), would stay Deprecated without its replacement; remove it too",
				a.Target, a.Source, shortType(a.Type))
		}
	}
	return nil
}

// applyRemoval deletes ids (all resolved in st) and reports what went and
// which documents no DocumentEntry names any more.
func applyRemoval(ctx context.Context, tx Tx, st *registryState, ids []string) (*RemoveResult, error) {
	res := &RemoveResult{}
	var uids []string
	for _, id := range ids {
		switch st.kindOf(id) {
		case kindDocument:
			d := st.docs[id]
			res.Removed = append(res.Removed, RemovedObject{Kind: kindDocument, ID: id, LogicalID: d.LogicalID, UniqueID: d.UniqueID, PatientID: d.PatientID})
			uids = append(uids, d.UniqueID)
		case kindFolder:
			f := st.folders[id]
			res.Removed = append(res.Removed, RemovedObject{Kind: kindFolder, ID: id, LogicalID: f.LogicalID, UniqueID: f.UniqueID, PatientID: f.PatientID})
		case kindSubmissionSet:
			s := st.sets[id]
			res.Removed = append(res.Removed, RemovedObject{Kind: kindSubmissionSet, ID: id, UniqueID: s.UniqueID, PatientID: s.PatientID})
		case kindAssociation:
			res.Removed = append(res.Removed, RemovedObject{Kind: kindAssociation, ID: id, Type: st.assocs[id].Type})
		}
	}
	if err := tx.DeleteObjects(ctx, ids); err != nil {
		return nil, err
	}
	if len(uids) > 0 {
		left, err := tx.Documents(ctx, DocumentFilter{UniqueIDs: uniqueStrings(uids)})
		if err != nil {
			return nil, err
		}
		still := map[DocumentRef]bool{}
		for _, d := range left {
			still[DocumentRef{d.RepositoryUniqueID, d.UniqueID}] = true
		}
		done := map[DocumentRef]bool{}
		for _, id := range ids {
			if d := st.docs[id]; d != nil {
				ref := DocumentRef{d.RepositoryUniqueID, d.UniqueID}
				if !still[ref] && !done[ref] {
					done[ref] = true
					res.Unreferenced = append(res.Unreferenced, ref)
				}
			}
		}
	}
	return res, nil
}

// RemoveScope returns the registered DocumentEntries, Folders and
// SubmissionSets an ITI-62 request names (or whose associations it
// names), each with who registered it, for the gateway's authorization.
// Ids the registry does not hold are left out (Remove reports them).
func (r *Registry) RemoveScope(ctx context.Context, ids []string) ([]*Registered, error) {
	st, err := loadStateWithEnds(ctx, r.store, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: remove scope: %w", err)
	}
	var out []*Registered
	var firstErr error
	seen := map[string]bool{}
	lid := func(l string) {
		if seen[l] {
			return
		}
		seen[l] = true
		reg, err := r.RegisteredBy(ctx, l)
		switch {
		case err == nil:
			out = append(out, reg)
		case errors.Is(err, ErrNotFound):
		case firstErr == nil:
			firstErr = err
		}
	}
	for _, d := range st.docs {
		lid(d.LogicalID)
	}
	for _, f := range st.folders {
		lid(f.LogicalID)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for _, s := range st.sets {
		reg := &Registered{Kind: kindSubmissionSet, LogicalID: s.ID, PatientID: s.PatientID}
		for _, a := range s.Authors {
			reg.Institutions = append(reg.Institutions, a.Institutions...)
		}
		out = append(out, reg)
	}
	slices.SortFunc(out, func(a, b *Registered) int { return strings.Compare(a.Kind+a.LogicalID, b.Kind+b.LogicalID) })
	return out, nil
}

// DocumentReferenced reports whether some DocumentEntry (any version, any
// status) still names the document (repositoryUniqueId, uniqueId): what
// ITI-86 Remove Documents must check before the repository deletes a
// document, and what the sweeper's "is it registered" question is.
func (r *Registry) DocumentReferenced(ctx context.Context, ref DocumentRef) (bool, error) {
	docs, err := r.store.Documents(ctx, DocumentFilter{UniqueIDs: []string{ref.UniqueID}})
	if err != nil {
		return false, fmt.Errorf("registry: document referenced: %w", err)
	}
	for _, d := range docs {
		if d.RepositoryUniqueID == ref.RepositoryUniqueID {
			return true, nil
		}
	}
	return false, nil
}

func uniqueStrings(s []string) []string {
	out := s[:0:0]
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
