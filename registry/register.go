package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Register validates and stores one ITI-42 submission atomically. A protocol
// failure is returned as a registry.ErrorList error (every problem found, each with
// the right XDS code and a codeContext naming the object and value); warnings
// (Severity Warning) come back in the first result with a nil error; any other
// error is internal (database down …) and must be reported as XDSRegistryError
// by the caller without its text.
//
// Register does not modify sub. Symbolic ids are replaced by UUIDs in what
// is stored; a pre-assigned "urn:uuid:" id is kept. Every new object gets
// status Approved, DocumentEntries and Folders lid = id and version "1",
// Folders a lastUpdateTime of now. All checks that depend on the registry's
// content and all writes run in one Store.Update, so concurrent
// submissions cannot both claim the same uniqueId and a rejected
// submission leaves nothing behind.
//
// Choices where IPF and NIST differ (xds_metadata.md "Ambiguities"):
//   - a relationship (RPLC, APND, XFRM, XFRM_RPLC, signs) whose source is
//     not a DocumentEntry of the submission, or any reference to an object
//     neither in the submission nor in the registry:
//     UnresolvedReferenceException (IPF; NIST: XDSRegistryMetadataError /
//     XDSRegistryError);
//   - an association that references a Deprecated DocumentEntry:
//     XDSRegistryDeprecatedDocumentError for every association type (IPF
//     names it for APND/XFRM, NIST rejects every association to a
//     Deprecated object but with XDSRegistryError);
//   - uniqueId twice in the message: XDSRegistryDuplicateUniqueIdInMessage
//     (IPF); SubmissionSet/Folder uniqueId already registered:
//     XDSDuplicateUniqueIdInRegistry (ITI TF-3 Table 4.2.4.1-2);
//   - a pre-assigned entryUUID already in the registry, and a wrong
//     objectType: XDSRegistryMetadataError (NIST; IPF default code);
//   - SubmissionSetStatus is mandatory on SubmissionSet→DocumentEntry
//     HasMember (IPF; NIST does not enforce it): Original for a
//     DocumentEntry of the submission, Reference for one already
//     registered; a Reference member is exempt from the one-patient rule
//     (NIST associationPatientIdRules);
//   - the retries of the store running out (ErrConflict) is reported as
//     XDSRegistryBusy.
func (r *Registry) Register(ctx context.Context, sub *Submission) (warnings ErrorList, err error) {
	if sub == nil {
		return nil, ErrorList{Errorf(ErrCodeRegistryMetadataError, "empty submission")}
	}
	v, err := r.stateless(ctx, sub)
	if err != nil {
		return nil, err
	}
	p := r.newPlan(sub, v.errs)
	now := FormatDTM(r.now())
	err = r.store.Update(ctx, func(tx Tx) error { return p.run(ctx, tx, now) })
	if err != nil {
		if l, ok := AsErrors(err); ok {
			return nil, l
		}
		if errors.Is(err, ErrConflict) {
			return nil, ErrorList{Errorf(ErrCodeRegistryBusy, "the registry is busy with concurrent submissions; try again")}
		}
		return nil, fmt.Errorf("registry: register: %w", err)
	}
	return nil, nil
}

// Object kinds, as codeContexts name them.
const (
	kindSubmissionSet = "SubmissionSet"
	kindDocument      = "DocumentEntry"
	kindFolder        = "Folder"
	kindAssociation   = "Association"
)

// plan is a submission with its ids resolved and its final objects built:
// everything Register can prepare outside the transaction. run may be
// called several times (store retries) and only reads the plan.
type plan struct {
	r    *Registry
	base ErrorList // stateless errors

	ss      *SubmissionSet
	docs    []*DocumentEntry
	folders []*Folder
	assocs  []*Association

	// orig maps a final id back to the id the source sent (for messages).
	orig map[string]string
	// kind of every submission object by final id.
	kind map[string]string
	// preassigned are the urn:uuid: ids the source chose for new objects.
	preassigned []string
	// refs are the ids of registry objects the associations name.
	refs []string
	// unresolved: association ends that are neither in the submission nor
	// a UUID (reported in run, with the other reference problems).
	unresolved ErrorList
	// persons resolves patient ids through the patient links, set by run.
	persons *persons
}

func (r *Registry) newPlan(sub *Submission, base ErrorList) *plan {
	p := &plan{r: r, base: base, orig: map[string]string{}, kind: map[string]string{}}
	idMap := map[string]string{}
	mapID := func(id, kind string) string {
		if id == "" {
			return ""
		}
		if final, ok := idMap[id]; ok {
			return final
		}
		final := id
		if isUUIDURN(id) {
			p.preassigned = append(p.preassigned, id)
		} else {
			final = r.newUUID()
		}
		idMap[id] = final
		p.orig[final] = id
		p.kind[final] = kind
		return final
	}
	if s := sub.SubmissionSet; s != nil {
		c := *s
		c.ID = mapID(s.ID, kindSubmissionSet)
		c.Status = StatusApproved
		c.HomeCommunityID = ""
		p.ss = &c
	}
	for _, f := range sub.Folders {
		if f == nil {
			continue
		}
		c := *f
		c.ID = mapID(f.ID, kindFolder)
		if f.LogicalID != "" && f.LogicalID != f.ID {
			p.base = append(p.base, Errorf(ErrCodeRegistryMetadataError,
				"%s: logicalID %s differs from the entryUUID; a new version is a metadata update (ITI-57), not ITI-42", label(kindFolder, f.ID), f.LogicalID))
		}
		c.LogicalID, c.Version, c.Status, c.HomeCommunityID = c.ID, "1", StatusApproved, ""
		p.folders = append(p.folders, &c)
	}
	for _, d := range sub.Documents {
		if d == nil {
			continue
		}
		c := *d
		c.ID = mapID(d.ID, kindDocument)
		if d.LogicalID != "" && d.LogicalID != d.ID {
			p.base = append(p.base, Errorf(ErrCodeRegistryMetadataError,
				"%s: logicalID %s differs from the entryUUID; a new version is a metadata update (ITI-57), not ITI-42", label(kindDocument, d.ID), d.LogicalID))
		}
		c.LogicalID, c.Version, c.Status, c.HomeCommunityID = c.ID, "1", StatusApproved, ""
		c.Hash = strings.ToLower(c.Hash) // the model keeps SHA-1 in lower-case hex
		p.docs = append(p.docs, &c)
	}
	var sent []*Association // the associations as the source sent them
	for _, a := range sub.Associations {
		if a == nil {
			continue
		}
		c := *a
		c.ID = mapID(a.ID, kindAssociation)
		c.Status = StatusApproved
		p.assocs = append(p.assocs, &c)
		sent = append(sent, a)
	}
	// Association ends: an id of the submission, or the UUID of a
	// registry object.
	refs := map[string]bool{}
	for i, a := range p.assocs {
		src := sent[i]
		resolve := func(end, which string) string {
			if end == "" {
				return ""
			}
			if final, ok := idMap[end]; ok {
				return final
			}
			if isUUIDURN(end) {
				if !refs[end] {
					refs[end] = true
					p.refs = append(p.refs, end)
				}
				return end
			}
			p.unresolved = append(p.unresolved, Errorf(ErrCodeUnresolvedReference,
				"%s: %s %s is neither an object of the submission nor the UUID of a registry object", label(kindAssociation, src.ID), which, end))
			return ""
		}
		a.Source = resolve(src.Source, "sourceObject")
		a.Target = resolve(src.Target, "targetObject")
	}
	return p
}

// name is how a codeContext names an object of the submission: by the id
// the source sent.
func (p *plan) name(id string) string {
	if o, ok := p.orig[id]; ok {
		return label(p.kind[id], o)
	}
	return id
}

// registryState is what run read from the store about the objects the
// submission references.
type registryState struct {
	docs    map[string]*DocumentEntry
	folders map[string]*Folder
	sets    map[string]*SubmissionSet
	assocs  map[string]*Association
}

func (st *registryState) kindOf(id string) string {
	switch {
	case st.docs[id] != nil:
		return kindDocument
	case st.folders[id] != nil:
		return kindFolder
	case st.sets[id] != nil:
		return kindSubmissionSet
	case st.assocs[id] != nil:
		return kindAssociation
	}
	return ""
}

func loadState(ctx context.Context, tx Reader, ids []string) (*registryState, error) {
	st := &registryState{
		docs: map[string]*DocumentEntry{}, folders: map[string]*Folder{},
		sets: map[string]*SubmissionSet{}, assocs: map[string]*Association{},
	}
	if len(ids) == 0 { // a nil filter would match everything
		return st, nil
	}
	err := loadInto(ctx, tx.Documents, DocumentFilter{IDs: ids}, st.docs, func(d *DocumentEntry) string { return d.ID })
	if err == nil {
		err = loadInto(ctx, tx.Folders, FolderFilter{IDs: ids}, st.folders, func(f *Folder) string { return f.ID })
	}
	if err == nil {
		err = loadInto(ctx, tx.SubmissionSets, SubmissionSetFilter{IDs: ids}, st.sets, func(s *SubmissionSet) string { return s.ID })
	}
	if err == nil {
		err = loadInto(ctx, tx.Associations, AssociationFilter{IDs: ids}, st.assocs, func(a *Association) string { return a.ID })
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// loadInto reads the objects f selects through read (one of Reader's list
// methods) into m by their id.
func loadInto[F any, T any](ctx context.Context, read func(context.Context, F) ([]T, error), f F, m map[string]T, id func(T) string) error {
	objs, err := read(ctx, f)
	if err != nil {
		return err
	}
	for _, o := range objs {
		m[id(o)] = o
	}
	return nil
}

// loadStateWithEnds is loadState, plus the DocumentEntries, Folders and
// SubmissionSets at either end of the Associations it found.
func loadStateWithEnds(ctx context.Context, tx Reader, ids []string) (*registryState, error) {
	st, err := loadState(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var ends []string
	for _, a := range st.assocs {
		ends = append(ends, a.Source, a.Target)
	}
	more, err := loadState(ctx, tx, ends)
	if err != nil {
		return nil, err
	}
	maps.Copy(st.docs, more.docs)
	maps.Copy(st.folders, more.folders)
	maps.Copy(st.sets, more.sets)
	return st, nil
}

// run is the Store.Update callback: the state-dependent checks, then the
// writes. It depends only on the plan and on what it reads through tx.
func (p *plan) run(ctx context.Context, tx Tx, now string) error {
	errs := append(ErrorList(nil), p.base...)
	errs = append(errs, p.unresolved...)

	// Pre-assigned entryUUIDs must be new (NIST: metadata error).
	if len(p.preassigned) > 0 {
		st, err := loadState(ctx, tx, p.preassigned)
		if err != nil {
			return err
		}
		for _, id := range p.preassigned {
			if k := st.kindOf(id); k != "" {
				errs = append(errs, Errorf(ErrCodeRegistryMetadataError,
					"%s: id %s is already used by a %s in the registry", p.name(id), id, k))
			}
		}
	}

	if err := p.checkUniqueIDs(ctx, tx, &errs); err != nil {
		return err
	}

	st, err := loadState(ctx, tx, p.refs)
	if err != nil {
		return err
	}
	if err := p.checkPatientLinks(ctx, tx, st, &errs); err != nil {
		return err
	}
	eff := p.checkAssociations(st, &errs)

	if errs.Failed() {
		return errs
	}
	return p.write(ctx, tx, eff, now)
}

// checkUniqueIDs: SubmissionSet and Folder uniqueIds must be new
// (XDSDuplicateUniqueIdInRegistry); a DocumentEntry uniqueId already
// registered is a resubmission, accepted only with the same hash and size
// (XDSNonIdenticalHash / XDSNonIdenticalSize).
func (p *plan) checkUniqueIDs(ctx context.Context, tx Tx, errs *ErrorList) error {
	var pkgUIDs []string
	pkgOwner := map[string]string{}
	if p.ss != nil && p.ss.UniqueID != "" {
		pkgUIDs = append(pkgUIDs, p.ss.UniqueID)
		pkgOwner[p.ss.UniqueID] = p.name(p.ss.ID)
	}
	for _, f := range p.folders {
		if f.UniqueID != "" {
			pkgUIDs = append(pkgUIDs, f.UniqueID)
			pkgOwner[f.UniqueID] = p.name(f.ID)
		}
	}
	var docUIDs []string
	for _, d := range p.docs {
		if d.UniqueID != "" {
			docUIDs = append(docUIDs, d.UniqueID)
		}
	}
	all := append(append([]string(nil), pkgUIDs...), docUIDs...)
	if len(all) == 0 {
		return nil
	}
	taken := map[string]string{} // uniqueId → kind of the registry object holding it
	sets, err := tx.SubmissionSets(ctx, SubmissionSetFilter{UniqueIDs: all})
	if err != nil {
		return err
	}
	for _, s := range sets {
		taken[s.UniqueID] = kindSubmissionSet
	}
	folders, err := tx.Folders(ctx, FolderFilter{UniqueIDs: all})
	if err != nil {
		return err
	}
	for _, f := range folders {
		taken[f.UniqueID] = kindFolder
	}
	docs, err := tx.Documents(ctx, DocumentFilter{UniqueIDs: all})
	if err != nil {
		return err
	}
	regDocs := map[string][]*DocumentEntry{}
	for _, d := range docs {
		regDocs[d.UniqueID] = append(regDocs[d.UniqueID], d)
		if taken[d.UniqueID] == "" {
			taken[d.UniqueID] = kindDocument
		}
	}
	for _, uid := range pkgUIDs {
		if k := taken[uid]; k != "" {
			*errs = append(*errs, Errorf(ErrCodeDuplicateUniqueIDInRegistry,
				"%s: uniqueId %s is already registered (by a %s)", pkgOwner[uid], uid, k))
		}
	}
	for _, d := range p.docs {
		if d.UniqueID == "" {
			continue
		}
		if k := taken[d.UniqueID]; k == kindSubmissionSet || k == kindFolder {
			*errs = append(*errs, Errorf(ErrCodeRegistryMetadataError,
				"%s: uniqueId %s is already registered for a %s", p.name(d.ID), d.UniqueID, k))
			continue
		}
		hashDiff, sizeDiff := false, false
		for _, old := range regDocs[d.UniqueID] {
			if !strings.EqualFold(old.Hash, d.Hash) {
				hashDiff = true
			}
			if (old.Size == nil) != (d.Size == nil) || (old.Size != nil && d.Size != nil && *old.Size != *d.Size) {
				sizeDiff = true
			}
		}
		if hashDiff {
			*errs = append(*errs, Errorf(ErrCodeNonIdenticalHash,
				"%s: uniqueId %s is already registered with a different hash", p.name(d.ID), d.UniqueID))
		}
		if sizeDiff {
			*errs = append(*errs, Errorf(ErrCodeNonIdenticalSize,
				"%s: uniqueId %s is already registered with a different size", p.name(d.ID), d.UniqueID))
		}
	}
	return nil
}

// effects are the changes a valid submission makes to objects already in
// the registry.
type effects struct {
	replaced       []replacement // RPLC / XFRM_RPLC
	touchedFolders []string      // registry Folders gaining a member
}

type replacement struct {
	newDoc, oldDoc string
}

// end is one resolved association end.
type end struct {
	id      string
	kind    string // "" when not found
	inSub   bool
	patient string
	status  string
}

func (p *plan) resolveEnd(st *registryState, id string) end {
	e := end{id: id}
	if id == "" {
		return e
	}
	if k, ok := p.kind[id]; ok {
		e.kind, e.inSub, e.status = k, true, StatusApproved
		switch k {
		case kindDocument:
			for _, d := range p.docs {
				if d.ID == id {
					e.patient = d.PatientID
				}
			}
		case kindFolder:
			for _, f := range p.folders {
				if f.ID == id {
					e.patient = f.PatientID
				}
			}
		case kindSubmissionSet:
			e.patient = p.ss.PatientID
		}
		return e
	}
	switch e.kind = st.kindOf(id); e.kind {
	case kindDocument:
		e.patient, e.status = st.docs[id].PatientID, st.docs[id].Status
	case kindFolder:
		e.patient, e.status = st.folders[id].PatientID, st.folders[id].Status
	case kindSubmissionSet:
		e.patient, e.status = st.sets[id].PatientID, st.sets[id].Status
	case kindAssociation:
		e.status = st.assocs[id].Status
	}
	return e
}

// checkAssociations applies the association rules of ITI TF-3 4.1/4.2 and
// xds_metadata.md §4 and returns the effects on registry objects.
func (p *plan) checkAssociations(st *registryState, errs *ErrorList) effects {
	var eff effects
	add := func(code, format string, args ...any) { *errs = append(*errs, Errorf(code, format, args...)) }
	ssID := ""
	if p.ss != nil {
		ssID = p.ss.ID
	}
	members := map[string]bool{} // targets of SubmissionSet HasMember
	for _, a := range p.assocs {
		if a.Type == AssocHasMember && a.Source != "" && a.Source == ssID {
			members[a.Target] = true
		}
	}
	replacedBy := map[string]string{}
	touched := map[string]bool{}

	for _, a := range p.assocs {
		if a.Source == "" || a.Target == "" {
			continue // reported already (missing or unresolved)
		}
		obj := p.name(a.ID)
		src, tgt := p.resolveEnd(st, a.Source), p.resolveEnd(st, a.Target)
		if src.kind == "" {
			add(ErrCodeUnresolvedReference, "%s: sourceObject %s is neither in the submission nor in the registry", obj, a.Source)
		}
		if tgt.kind == "" {
			add(ErrCodeUnresolvedReference, "%s: targetObject %s is neither in the submission nor in the registry", obj, a.Target)
		}
		if src.kind == "" || tgt.kind == "" {
			continue
		}
		for _, e := range []end{src, tgt} {
			if !e.inSub && e.kind == kindDocument && e.status == StatusDeprecated {
				add(ErrCodeRegistryDeprecatedDocumentError, "%s references DocumentEntry %s, which is Deprecated", obj, e.id)
			}
		}
		switch a.Type {
		case AssocHasMember:
			p.checkHasMember(a, obj, src, tgt, ssID, members, touched, add)
		case AssocReplace, AssocAppend, AssocTransform, AssocTransformReplace, AssocSigns:
			if !src.inSub || src.kind != kindDocument {
				add(ErrCodeUnresolvedReference, "%s: the sourceObject of a %s association must be a DocumentEntry of the submission, not %s",
					obj, shortType(a.Type), p.name(a.Source))
				continue
			}
			if tgt.kind != kindDocument {
				add(ErrCodeRegistryMetadataError, "%s: the targetObject of a %s association must be a DocumentEntry, not a %s", obj, shortType(a.Type), tgt.kind)
				continue
			}
			if tgt.inSub && a.Type != AssocSigns {
				// NIST: the target of RPLC/APND/XFRM/XFRM_RPLC is already
				// registered; only a signature may sign a document of the
				// same submission.
				add(ErrCodeRegistryMetadataError, "%s: the targetObject of a %s association must be a DocumentEntry already in the registry, not %s",
					obj, shortType(a.Type), p.name(a.Target))
				continue
			}
			if !p.persons.same(src.patient, tgt.patient) {
				add(ErrCodePatientIDDoesNotMatch, "%s: %s has patientId %s but its targetObject %s has %s",
					obj, p.name(a.Source), src.patient, p.name(a.Target), tgt.patient)
			}
			if a.Type == AssocReplace || a.Type == AssocTransformReplace {
				if prev, dup := replacedBy[a.Target]; dup {
					add(ErrCodeRegistryMetadataError, "%s: DocumentEntry %s is replaced twice in one submission (also by %s)", obj, a.Target, p.name(prev))
					continue
				}
				replacedBy[a.Target] = a.Source
				eff.replaced = append(eff.replaced, replacement{newDoc: a.Source, oldDoc: a.Target})
			}
		}
	}

	// Every DocumentEntry and Folder of the submission is a member of its
	// SubmissionSet (NIST; ITI TF-3 4.1.4).
	if p.ss != nil {
		for _, d := range p.docs {
			if d.ID != "" && !members[d.ID] {
				add(ErrCodeRegistryMetadataError, "%s is not a member of the SubmissionSet (no HasMember association from it)", p.name(d.ID))
			}
		}
		for _, f := range p.folders {
			if f.ID != "" && !members[f.ID] {
				add(ErrCodeRegistryMetadataError, "%s is not a member of the SubmissionSet (no HasMember association from it)", p.name(f.ID))
			}
		}
	}
	for id := range touched {
		eff.touchedFolders = append(eff.touchedFolders, id)
	}
	return eff
}

func (p *plan) checkHasMember(a *Association, obj string, src, tgt end, ssID string, members, touched map[string]bool,
	add func(code, format string, args ...any)) {
	switch {
	case src.inSub && src.kind == kindSubmissionSet && src.id == ssID:
		switch {
		case tgt.kind == kindDocument && tgt.inSub:
			switch a.SubmissionSetStatus {
			case SubmissionSetStatusOriginal:
			case "":
				add(ErrCodeRegistryMetadataError, "%s: SubmissionSet→DocumentEntry HasMember needs a SubmissionSetStatus slot (Original)", obj)
			default:
				add(ErrCodeRegistryMetadataError, "%s: SubmissionSetStatus is %s but %s is in the submission (want Original)", obj, a.SubmissionSetStatus, p.name(tgt.id))
			}
		case tgt.kind == kindDocument:
			switch a.SubmissionSetStatus {
			case SubmissionSetStatusReference:
			case "":
				add(ErrCodeRegistryMetadataError, "%s: SubmissionSet→DocumentEntry HasMember needs a SubmissionSetStatus slot (Reference)", obj)
			default: // IPF MISSING_ORIGINAL
				add(ErrCodeRegistryMetadataError, "%s: SubmissionSetStatus is Original but DocumentEntry %s is not in the submission", obj, tgt.id)
			}
		case tgt.kind == kindFolder && tgt.inSub, tgt.kind == kindAssociation && tgt.inSub:
		default:
			add(ErrCodeRegistryMetadataError, "%s: a SubmissionSet may have as members its Folders and Associations and DocumentEntries, not %s %s",
				obj, strings.ToLower(tgt.kind), p.name(tgt.id))
		}
	case src.kind == kindFolder:
		if tgt.kind != kindDocument {
			add(ErrCodeRegistryMetadataError, "%s: a Folder may only have DocumentEntries as members, not %s %s", obj, strings.ToLower(tgt.kind), p.name(tgt.id))
			return
		}
		if !p.persons.same(src.patient, tgt.patient) {
			add(ErrCodePatientIDDoesNotMatch, "%s: %s has patientId %s but its member %s has %s", obj, p.name(src.id), src.patient, p.name(tgt.id), tgt.patient)
		}
		if !members[a.ID] {
			add(ErrCodeRegistryMetadataError, "%s: a Folder→DocumentEntry HasMember must itself be a member of the SubmissionSet", obj)
		}
		if !src.inSub {
			touched[src.id] = true
		}
	default:
		add(ErrCodeRegistryMetadataError, "%s: the sourceObject of a HasMember association must be the submission's SubmissionSet or a Folder, not %s %s",
			obj, strings.ToLower(src.kind), p.name(src.id))
	}
}

// checkPatientLinks reads the patient links of every patient the
// submission names or touches: a submission under an identifier a link
// has replaced is refused (replacedError), and association ends are
// compared as persons (a document registered under a D-nummer may be
// replaced by one under the fødselsnummer that replaced it).
func (p *plan) checkPatientLinks(ctx context.Context, tx Tx, st *registryState, errs *ErrorList) error {
	var pids []string
	if p.ss != nil {
		pids = append(pids, p.ss.PatientID)
	}
	for _, d := range p.docs {
		pids = append(pids, d.PatientID)
	}
	for _, f := range p.folders {
		pids = append(pids, f.PatientID)
	}
	own := len(pids)
	for _, d := range st.docs {
		pids = append(pids, d.PatientID)
	}
	for _, f := range st.folders {
		pids = append(pids, f.PatientID)
	}
	for _, s := range st.sets {
		pids = append(pids, s.PatientID)
	}
	var err error
	if p.persons, err = loadPersons(ctx, tx, pids); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, pid := range pids[:own] {
		if by := p.persons.replacedBy(pid); by != "" && !seen[pid] {
			seen[pid] = true
			*errs = append(*errs, replacedError("the submission", pid, by))
		}
	}
	return nil
}

func shortType(t string) string {
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// write stores the submission and applies its effects.
func (p *plan) write(ctx context.Context, tx Tx, eff effects, now string) error {
	if p.ss != nil {
		if err := tx.InsertSubmissionSet(ctx, p.ss); err != nil {
			return err
		}
	}
	for _, f := range p.folders {
		c := *f
		c.LastUpdateTime = now
		if err := tx.InsertFolder(ctx, &c); err != nil {
			return err
		}
	}
	for _, d := range p.docs {
		if err := tx.InsertDocument(ctx, d); err != nil {
			return err
		}
	}
	for _, a := range p.assocs {
		if err := tx.InsertAssociation(ctx, a); err != nil {
			return err
		}
	}
	touched := map[string]bool{}
	for _, id := range eff.touchedFolders {
		touched[id] = true
	}
	for _, rep := range eff.replaced {
		// The replaced document and, recursively, its addenda and
		// transformations become Deprecated (NIST deprecateDoc, §4).
		if err := deprecate(ctx, tx, rep.oldDoc, map[string]bool{}); err != nil {
			return err
		}
		// The replacement joins every Folder that held the original.
		has, err := tx.Associations(ctx, AssociationFilter{Targets: []string{rep.oldDoc}, Types: []string{AssocHasMember}})
		if err != nil {
			return err
		}
		var sources []string
		for _, a := range has {
			sources = append(sources, a.Source)
		}
		if len(sources) == 0 {
			continue
		}
		folders, err := tx.Folders(ctx, FolderFilter{IDs: sources})
		if err != nil {
			return err
		}
		for _, f := range folders {
			if p.hasMember(f.ID, rep.newDoc) {
				touched[f.ID] = true
				continue
			}
			a := &Association{ID: p.r.newUUID(), Type: AssocHasMember, Source: f.ID, Target: rep.newDoc, Status: StatusApproved}
			if err := tx.InsertAssociation(ctx, a); err != nil {
				return err
			}
			touched[f.ID] = true
		}
	}
	for id := range touched {
		if p.kind[id] == kindFolder {
			continue // new folder: lastUpdateTime already now
		}
		if err := tx.SetFolderLastUpdateTime(ctx, id, now); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) hasMember(folder, doc string) bool {
	for _, a := range p.assocs {
		if a.Type == AssocHasMember && a.Source == folder && a.Target == doc {
			return true
		}
	}
	return false
}

func deprecate(ctx context.Context, tx Tx, id string, seen map[string]bool) error {
	if seen[id] {
		return nil
	}
	seen[id] = true
	if err := tx.SetDocumentStatus(ctx, id, StatusDeprecated); err != nil {
		return err
	}
	children, err := tx.Associations(ctx, AssociationFilter{Targets: []string{id}, Types: []string{AssocAppend, AssocTransform}})
	if err != nil {
		return err
	}
	for _, a := range children {
		if err := deprecate(ctx, tx, a.Source, seen); err != nil {
			return err
		}
	}
	return nil
}
