package registry

import (
	"context"
	"fmt"
)

// The 14 ITI-18 stored queries (ITI TF-2 3.18.4.1.2.3.7), composed from the
// Store's four read methods. Which associations each query returns follows
// the NIST registry simulator (…/sim/reg/sq/*Sim.java), which implements
// the TF text:
//   - GetAll: the patient's DocumentEntries, SubmissionSets and Folders
//     (each with its own status list) and the Associations linking two of
//     the returned objects (also SubmissionSet→(Folder→DocumentEntry));
//   - GetSubmissionSetAndContents / GetFolderAndContents: the package,
//     its members (DocumentEntries after the format/confidentiality/type
//     filters) and the HasMember associations among what is returned;
//   - GetDocumentsAndAssociations / GetAssociations: every Association
//     whose source or target is one of the given objects;
//   - GetSubmissionSets: the SubmissionSets holding the given objects and
//     those HasMember associations;
//   - GetRelatedDocuments: the DocumentEntry, the DocumentEntries at the
//     other end of associations of the requested types, and those
//     associations — nothing when there is no related document.
//
// $MetadataLevel (ITI-57 Metadata Update option; Gazelle ITI18-MU-001…006)
// is honoured by every query: at level 1, the default, only the latest
// version of each DocumentEntry and Folder is returned, no DocumentEntry
// whose documentAvailability is Offline, no Deprecated Folder and no
// Deprecated Association; level 2 returns every version ("as is
// appropriate for the individual Stored Query"). $XDSDocumentEntryLogicalID
// and $XDSFolderLogicalID need level 2 (XDSRegistryError otherwise, as
// NIST). A Deprecated DocumentEntry (replaced, or deprecated by ITI-57) is
// returned at level 1 when it is the latest version of its lid and the
// status list asks for it. The UpdateAvailabilityStatus and
// SubmitAssociation associations an ITI-57 SubmissionSet holds are
// returned by GetAssociations and GetSubmissionSetAndContents only, so
// that the change stays traceable without showing up as a relationship
// elsewhere (a local choice; NIST returns what it saved).
//
// Patient identity links (links.go): a patientId parameter finds the
// documents of every identifier of the same person, and every result
// presents its patientId as the person's current identifier; the one
// patient rule of LeafClass results is judged on those.
//
// The request's homeCommunityId is not interpreted here (the XCA gateway
// routes on it).

type querySpec struct {
	name   string
	params map[string]paramSpec
	oneOf  [][]string
	// atLeastOne: groups of which at least one parameter must be given
	// (ITI-51).
	atLeastOne [][]string
	// multi marks the ITI-51 Multi-Patient queries: run only by
	// MultiPatientQuery, and LeafClass results may span patients.
	multi bool
	run   func(ctx context.Context, r *Registry, p *queryParams) (*result, error)
}

var (
	optString     = paramSpec{kind: kindSingleString}
	optTime       = paramSpec{kind: kindTime}
	optCodes      = paramSpec{kind: kindCodeList}
	optCodesAndOr = paramSpec{kind: kindCodeAndOr}
	optStrings    = paramSpec{kind: kindStringList}
	optEntryTypes = paramSpec{kind: kindEntryTypeList}
	reqPatient    = paramSpec{kind: kindPatientID, required: true}
	optPatients   = paramSpec{kind: kindPatientIDList}
	reqStatus     = paramSpec{kind: kindStatusList, required: true}
	reqStrings    = paramSpec{kind: kindStringList, required: true}
)

func params(kv ...any) map[string]paramSpec {
	m := map[string]paramSpec{ParamMetadataLevel: {kind: kindNumber}}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(paramSpec)
	}
	return m
}

func findDocumentsParams(extra ...any) map[string]paramSpec {
	return params(append([]any{
		ParamDocumentEntryPatientID, reqPatient,
		ParamDocumentEntryStatus, reqStatus,
		ParamDocumentEntryClassCode, optCodes,
		ParamDocumentEntryTypeCode, optCodes,
		ParamDocumentEntryPracticeSettingCode, optCodes,
		ParamDocumentEntryFacilityTypeCode, optCodes,
		ParamDocumentEntryFormatCode, optCodes,
		ParamDocumentEntryEventCodeList, optCodesAndOr,
		ParamDocumentEntryConfidentialityCode, optCodesAndOr,
		ParamDocumentEntryCreationTimeFrom, optTime,
		ParamDocumentEntryCreationTimeTo, optTime,
		ParamDocumentEntryServiceStartTimeFrom, optTime,
		ParamDocumentEntryServiceStartTimeTo, optTime,
		ParamDocumentEntryServiceStopTimeFrom, optTime,
		ParamDocumentEntryServiceStopTimeTo, optTime,
		ParamDocumentEntryAuthorPerson, optStrings,
		ParamDocumentEntryType, optEntryTypes,
	}, extra...)...)
}

// contentsParams: the document filters of GetAll and the *AndContents
// queries.
func contentsParams(extra ...any) map[string]paramSpec {
	return params(append([]any{
		ParamDocumentEntryFormatCode, optCodes,
		ParamDocumentEntryConfidentialityCode, optCodesAndOr,
		ParamDocumentEntryType, optEntryTypes,
	}, extra...)...)
}

var storedQueries = map[string]*querySpec{
	QueryFindDocuments: {
		name: "FindDocuments", params: findDocumentsParams(), run: runFindDocuments,
	},
	QueryFindDocumentsByReferenceID: {
		name:   "FindDocumentsByReferenceId",
		params: findDocumentsParams(ParamDocumentEntryReferenceIDList, paramSpec{kind: kindStringAndOr, required: true}),
		run:    runFindDocuments,
	},
	QueryFindSubmissionSets: {
		name: "FindSubmissionSets",
		params: params(
			ParamSubmissionSetPatientID, reqPatient,
			ParamSubmissionSetStatus, reqStatus,
			ParamSubmissionSetSourceID, optStrings,
			ParamSubmissionSetSubmissionTimeFrom, optTime,
			ParamSubmissionSetSubmissionTimeTo, optTime,
			ParamSubmissionSetAuthorPerson, optString,
			ParamSubmissionSetContentType, optCodes,
		),
		run: runFindSubmissionSets,
	},
	QueryFindFolders: {
		name: "FindFolders",
		params: params(
			ParamFolderPatientID, reqPatient,
			ParamFolderStatus, reqStatus,
			ParamFolderLastUpdateTimeFrom, optTime,
			ParamFolderLastUpdateTimeTo, optTime,
			ParamFolderCodeList, optCodesAndOr,
		),
		run: runFindFolders,
	},
	QueryGetAll: {
		name: "GetAll",
		params: contentsParams(
			ParamPatientID, reqPatient,
			ParamDocumentEntryStatus, reqStatus,
			ParamSubmissionSetStatus, reqStatus,
			ParamFolderStatus, reqStatus,
		),
		run: runGetAll,
	},
	QueryGetDocuments: {
		name:   "GetDocuments",
		params: params(ParamDocumentEntryEntryUUID, optStrings, ParamDocumentEntryUniqueID, optStrings, ParamDocumentEntryLogicalID, optStrings),
		oneOf:  [][]string{{ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID, ParamDocumentEntryLogicalID}},
		run:    runGetDocuments,
	},
	QueryGetFolders: {
		name:   "GetFolders",
		params: params(ParamFolderEntryUUID, optStrings, ParamFolderUniqueID, optStrings, ParamFolderLogicalID, optStrings),
		oneOf:  [][]string{{ParamFolderEntryUUID, ParamFolderUniqueID, ParamFolderLogicalID}},
		run:    runGetFolders,
	},
	QueryGetAssociations: {
		name: "GetAssociations", params: params(ParamUUID, reqStrings), run: runGetAssociations,
	},
	QueryGetDocumentsAndAssociations: {
		name:   "GetDocumentsAndAssociations",
		params: params(ParamDocumentEntryEntryUUID, optStrings, ParamDocumentEntryUniqueID, optStrings),
		oneOf:  [][]string{{ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID}},
		run:    runGetDocumentsAndAssociations,
	},
	QueryGetSubmissionSets: {
		name: "GetSubmissionSets", params: params(ParamUUID, reqStrings), run: runGetSubmissionSets,
	},
	QueryGetSubmissionSetAndContents: {
		name:   "GetSubmissionSetAndContents",
		params: contentsParams(ParamSubmissionSetEntryUUID, optString, ParamSubmissionSetUniqueID, optString),
		oneOf:  [][]string{{ParamSubmissionSetEntryUUID, ParamSubmissionSetUniqueID}},
		run:    runGetSubmissionSetAndContents,
	},
	QueryGetFolderAndContents: {
		name:   "GetFolderAndContents",
		params: contentsParams(ParamFolderEntryUUID, optString, ParamFolderUniqueID, optString),
		oneOf:  [][]string{{ParamFolderEntryUUID, ParamFolderUniqueID}},
		run:    runGetFolderAndContents,
	},
	QueryGetFoldersForDocument: {
		name:   "GetFoldersForDocument",
		params: params(ParamDocumentEntryEntryUUID, optString, ParamDocumentEntryUniqueID, optString),
		oneOf:  [][]string{{ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID}},
		run:    runGetFoldersForDocument,
	},
	QueryGetRelatedDocuments: {
		name: "GetRelatedDocuments",
		params: params(
			ParamDocumentEntryEntryUUID, optString,
			ParamDocumentEntryUniqueID, optString,
			ParamAssociationTypes, reqStrings,
			ParamDocumentEntryType, optEntryTypes,
		),
		oneOf: [][]string{{ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID}},
		run:   runGetRelatedDocuments,
	},
}

func init() {
	// ITI-51 (ITI TF-2 3.51.4.1.2): FindDocuments and FindFolders with a
	// list of patients, and at least one narrowing parameter.
	fd := findDocumentsParams()
	fd[ParamDocumentEntryPatientID] = optPatients
	storedQueries[QueryFindDocumentsForMultiplePatients] = &querySpec{
		name: "FindDocumentsForMultiplePatients", params: fd, multi: true, run: runFindDocuments,
		atLeastOne: [][]string{{ParamDocumentEntryPatientID, ParamDocumentEntryClassCode,
			ParamDocumentEntryEventCodeList, ParamDocumentEntryFacilityTypeCode}},
	}
	storedQueries[QueryFindFoldersForMultiplePatients] = &querySpec{
		name: "FindFoldersForMultiplePatients",
		params: params(
			ParamFolderPatientID, optPatients,
			ParamFolderStatus, reqStatus,
			ParamFolderLastUpdateTimeFrom, optTime,
			ParamFolderLastUpdateTimeTo, optTime,
			ParamFolderCodeList, optCodesAndOr,
		),
		multi: true, run: runFindFolders,
		atLeastOne: [][]string{{ParamFolderPatientID, ParamFolderCodeList}},
	}
}

// StoredQueryName returns the name of a stored query id ("FindDocuments"),
// or "" for an id the registry does not know.
func StoredQueryName(id string) string {
	if qs := storedQueries[id]; qs != nil {
		return qs.name
	}
	return ""
}

// Query runs one ITI-18 stored query (same error convention as Register:
// protocol problems as an ErrorList error, anything else internal).
//
// Errors: XDSUnknownStoredQuery, XDSStoredQueryMissingParam,
// XDSStoredQueryParamNumber (a single-valued parameter with several values
// or given twice; more than one of an "exactly one of" group),
// XDSRegistryError for a malformed value, an unsupported returnType or
// $MetadataLevel, or a logicalID parameter at $MetadataLevel 1,
// XDSTooManyResults above MaxResults objects, and
// XDSResultNotSinglePatient when a LeafClass result spans several patients
// (ObjectRef results may; patients linked by patient links are one).
//
// Parameters the stored query does not define are ignored and reported as
// Warnings in QueryResult.Warnings (parseParams). The ITI-51 ids are
// unknown here: they run through MultiPatientQuery only.
func (r *Registry) Query(ctx context.Context, q *Query) (*QueryResult, error) {
	return r.query(ctx, q, false)
}

// MultiPatientQuery runs one ITI-51 Multi-Patient Stored Query
// (FindDocumentsForMultiplePatients, FindFoldersForMultiplePatients),
// with the conventions of Query. $XDSDocumentEntryPatientId /
// $XDSFolderPatientId take a list; a query naming no patient must name a
// class code, event code or facility type (documents) or a folder code
// (XDSStoredQueryMissingParam), and queries with patient ids only are
// accepted (the PatientId Only Option). LeafClass results may span
// patients. Who may run it is the gateway's decision (system principals
// with a dedicated scope); the registry applies no policy.
func (r *Registry) MultiPatientQuery(ctx context.Context, q *Query) (*QueryResult, error) {
	return r.query(ctx, q, true)
}

func (r *Registry) query(ctx context.Context, q *Query, multi bool) (*QueryResult, error) {
	if q == nil {
		return nil, ErrorList{Errorf(ErrCodeRegistryError, "empty query")}
	}
	qs := storedQueries[q.ID]
	if qs == nil || qs.multi != multi {
		return nil, ErrorList{Errorf(ErrCodeUnknownStoredQuery, "stored query %s is not known", clip(q.ID))}
	}
	var errs ErrorList
	switch q.ReturnType {
	case ReturnLeafClass, ReturnObjectRef:
	default:
		errs = append(errs, Errorf(ErrCodeRegistryError, "returnType %q is not supported (LeafClass or ObjectRef)", q.ReturnType))
	}
	p, perrs := parseParams(qs, q)
	errs = append(errs, perrs...)
	if len(errs) == 0 && p.level1() {
		// NIST GetDocumentsSim: a logicalID asks for versions.
		for _, name := range []string{ParamDocumentEntryLogicalID, ParamFolderLogicalID} {
			if p.has(name) {
				errs = append(errs, Errorf(ErrCodeRegistryError, "%s cannot be specified with $MetadataLevel 1 (ask with $MetadataLevel 2)", name))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	res, err := qs.run(ctx, r, p)
	if err == nil {
		var out *QueryResult
		out, err = r.finish(ctx, q.ReturnType, res, p, qs.multi)
		if err == nil {
			out.Warnings = p.warnings
			return out, nil
		}
	}
	if l, ok := AsErrors(err); ok {
		return nil, l
	}
	return nil, fmt.Errorf("registry: %s: %w", qs.name, err)
}

// result collects the objects a query found, once each, in the order found.
type result struct {
	docs    []*DocumentEntry
	sets    []*SubmissionSet
	folders []*Folder
	assocs  []*Association
	ids     map[string]bool
	// tooMany is set when a store read hit its limit.
	tooMany bool
}

func newResult() *result { return &result{ids: map[string]bool{}} }

// addObjects appends to *list the objects of a store read not yet in the
// result, noting when the read (of at most limit objects) hit its limit.
func addObjects[T interface{ objectID() string }](res *result, limit int, list *[]T, objs []T) {
	res.tooMany = res.tooMany || len(objs) >= limit
	for _, o := range objs {
		if id := o.objectID(); !res.ids[id] {
			res.ids[id] = true
			*list = append(*list, o)
		}
	}
}

func (res *result) addDocs(limit int, ds []*DocumentEntry) { addObjects(res, limit, &res.docs, ds) }
func (res *result) addSets(limit int, ss []*SubmissionSet) { addObjects(res, limit, &res.sets, ss) }
func (res *result) addFolders(limit int, fs []*Folder)     { addObjects(res, limit, &res.folders, fs) }

func (res *result) addAssoc(a *Association) {
	if !res.ids[a.ID] {
		res.ids[a.ID] = true
		res.assocs = append(res.assocs, a)
	}
}

// addLinking adds the candidates whose source and target are both in the
// result, repeating so that an association between associations
// (SubmissionSet→(Folder→DocumentEntry)) follows the one it names.
func (res *result) addLinking(candidates []*Association) {
	for changed := true; changed; {
		changed = false
		for _, a := range candidates {
			if !res.ids[a.ID] && res.ids[a.Source] && res.ids[a.Target] {
				res.addAssoc(a)
				changed = true
			}
		}
	}
}

func (res *result) len() int {
	return len(res.docs) + len(res.sets) + len(res.folders) + len(res.assocs)
}

// finish applies the result limits and the return type, and presents
// every object with its patient's current identifier.
func (r *Registry) finish(ctx context.Context, returnType string, res *result, p *queryParams, multi bool) (*QueryResult, error) {
	if res.tooMany || res.len() > r.maxResults {
		return nil, ErrorList{Errorf(ErrCodeTooManyResults,
			"the query matches more than %d objects; narrow it down", r.maxResults)}
	}
	out := &QueryResult{ReturnType: returnType}
	if returnType == ReturnObjectRef {
		out.Refs = make([]string, 0, res.len())
		out.Refs = append(out.Refs, idsOf(res.docs)...)
		out.Refs = append(out.Refs, idsOf(res.sets)...)
		out.Refs = append(out.Refs, idsOf(res.folders)...)
		out.Refs = append(out.Refs, idsOf(res.assocs)...)
		return out, nil
	}
	if err := r.presentCurrent(ctx, p, res); err != nil {
		return nil, err
	}
	patients := map[string]bool{}
	for _, d := range res.docs {
		patients[d.PatientID] = true
	}
	for _, s := range res.sets {
		patients[s.PatientID] = true
	}
	for _, f := range res.folders {
		patients[f.PatientID] = true
	}
	if len(patients) > 1 && !multi {
		return nil, ErrorList{Errorf(ErrCodeResultNotSinglePatient,
			"the LeafClass result holds objects of %d patients; ask for ObjectRef or for one patient", len(patients))}
	}
	if r.home != "" {
		for _, d := range res.docs {
			d.HomeCommunityID = r.home
		}
		for _, s := range res.sets {
			s.HomeCommunityID = r.home
		}
		for _, f := range res.folders {
			f.HomeCommunityID = r.home
		}
	}
	out.Documents, out.SubmissionSets, out.Folders, out.Associations = res.docs, res.sets, res.folders, res.assocs
	return out, nil
}

// presentCurrent sets the patientId of every object of res to its
// person's current identifier (patient links), reading the links of the
// patients the query has not met yet.
func (r *Registry) presentCurrent(ctx context.Context, p *queryParams, res *result) error {
	var unknown []string
	seen := map[string]bool{}
	note := func(pid string) {
		if _, ok := p.current[pid]; !ok && pid != "" && !seen[pid] {
			seen[pid] = true
			unknown = append(unknown, pid)
		}
	}
	for _, d := range res.docs {
		note(d.PatientID)
	}
	for _, s := range res.sets {
		note(s.PatientID)
	}
	for _, f := range res.folders {
		note(f.PatientID)
	}
	if len(unknown) > 0 {
		comp, err := linkComponent(ctx, r.store, unknown)
		if err != nil {
			return err
		}
		for _, pid := range unknown {
			p.current[pid] = comp.current(pid)
		}
	}
	cur := func(pid string) string {
		if c := p.current[pid]; c != "" {
			return c
		}
		return pid
	}
	for _, d := range res.docs {
		d.PatientID = cur(d.PatientID)
	}
	for _, s := range res.sets {
		s.PatientID = cur(s.PatientID)
	}
	for _, f := range res.folders {
		f.PatientID = cur(f.PatientID)
	}
	return nil
}

// personIDs returns the patient ids a query for pids must match: every
// identifier of each person (active patient links), pid itself when it
// has no links. It notes each one's current identifier in p.
func (r *Registry) personIDs(ctx context.Context, p *queryParams, pids []string) ([]string, error) {
	canon := make([]string, len(pids))
	for i, pid := range pids {
		canon[i] = pid
		if c, err := CanonicalPatientID(pid); err == nil {
			canon[i] = c // links are kept in canonical form
		}
	}
	comp, err := linkComponent(ctx, r.store, canon)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for i, pid := range pids {
		cur := comp.current(canon[i])
		for _, id := range append([]string{pid, canon[i]}, comp.all(cur)...) {
			if !seen[id] {
				seen[id] = true
				p.current[id] = cur
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// patientFilter returns the PatientID / PatientIDs filter values for the
// patient parameter name: the single id when the person has no other
// (the plain equality the (patient_id, status, seq) index serves best),
// the list otherwise. ok is false when the parameter is absent.
func (r *Registry) patientFilter(ctx context.Context, p *queryParams, name string) (one string, many []string, ok bool, err error) {
	pids := p.list(name)
	if len(pids) == 0 {
		return "", nil, false, nil
	}
	ids, err := r.personIDs(ctx, p, pids)
	if err != nil {
		return "", nil, false, err
	}
	if len(ids) == 1 {
		return ids[0], nil, true, nil
	}
	return "", ids, true, nil
}

// withoutUpdateOperations drops the ITI-57 operation associations
// (UpdateAvailabilityStatus, SubmitAssociation) from a result list.
func withoutUpdateOperations(as []*Association) []*Association {
	out := as[:0:0]
	for _, a := range as {
		if a.Type != AssocUpdateAvailabilityStatus && a.Type != AssocSubmitAssociation {
			out = append(out, a)
		}
	}
	return out
}

// limit is the Limit of every store read: one more than MaxResults, so
// that "too many" is seen without reading everything.
func (r *Registry) limit() int { return r.maxResults + 1 }

// entryTypes is $XDSDocumentEntryType, Stable only when absent.
func entryTypes(p *queryParams) []string {
	if t := p.list(ParamDocumentEntryType); len(t) > 0 {
		return t
	}
	return []string{ObjectTypeStable}
}

func runFindDocuments(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	f := DocumentFilter{
		Statuses:         p.list(ParamDocumentEntryStatus),
		ObjectTypes:      entryTypes(p),
		Classes:          p.codeSet(ParamDocumentEntryClassCode),
		Types:            p.codeSet(ParamDocumentEntryTypeCode),
		PracticeSettings: p.codeSet(ParamDocumentEntryPracticeSettingCode),
		FacilityTypes:    p.codeSet(ParamDocumentEntryFacilityTypeCode),
		Formats:          p.codeSet(ParamDocumentEntryFormatCode),
		Events:           p.codeAndOr(ParamDocumentEntryEventCodeList),
		Confidentiality:  p.codeAndOr(ParamDocumentEntryConfidentialityCode),
		CreationTime:     p.timeRange(ParamDocumentEntryCreationTimeFrom, ParamDocumentEntryCreationTimeTo),
		ServiceStartTime: p.timeRange(ParamDocumentEntryServiceStartTimeFrom, ParamDocumentEntryServiceStartTimeTo),
		ServiceStopTime:  p.timeRange(ParamDocumentEntryServiceStopTimeFrom, ParamDocumentEntryServiceStopTimeTo),
		AuthorPersons:    p.list(ParamDocumentEntryAuthorPerson),
		Limit:            r.limit(),
	}
	// $XDSDocumentEntryReferenceIdList (FindDocumentsByReferenceId): the
	// first slot filters in the store; further slots (AND) filter the
	// entries it returned.
	refSlots := p.values[ParamDocumentEntryReferenceIDList]
	if len(refSlots) > 0 {
		f.ReferenceIDs = refSlots[0]
	}
	var err error
	if f.PatientID, f.PatientIDs, _, err = r.patientFilter(ctx, p, ParamDocumentEntryPatientID); err != nil {
		return nil, err
	}
	docs, err := r.store.Documents(ctx, p.docs(f))
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.tooMany = len(docs) >= f.Limit
	for _, d := range docs {
		if hasAllReferenceSets(d, refSlots) {
			res.addDocs(f.Limit, []*DocumentEntry{d})
		}
	}
	return res, nil
}

func hasAllReferenceSets(d *DocumentEntry, sets [][]string) bool {
	for _, set := range sets {
		found := false
		for _, want := range set {
			for _, have := range d.ReferenceIDs {
				if have == want {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func runFindSubmissionSets(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	f := SubmissionSetFilter{
		Statuses:       p.list(ParamSubmissionSetStatus),
		SourceIDs:      p.list(ParamSubmissionSetSourceID),
		SubmissionTime: p.timeRange(ParamSubmissionSetSubmissionTimeFrom, ParamSubmissionSetSubmissionTimeTo),
		ContentTypes:   p.codeSet(ParamSubmissionSetContentType),
		Limit:          r.limit(),
	}
	if a := p.single(ParamSubmissionSetAuthorPerson); a != "" {
		f.AuthorPersons = []string{a}
	}
	var err error
	if f.PatientID, f.PatientIDs, _, err = r.patientFilter(ctx, p, ParamSubmissionSetPatientID); err != nil {
		return nil, err
	}
	sets, err := r.store.SubmissionSets(ctx, f)
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.addSets(f.Limit, sets)
	return res, nil
}

func runFindFolders(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	f := FolderFilter{
		Statuses:       p.list(ParamFolderStatus),
		LastUpdateTime: p.timeRange(ParamFolderLastUpdateTimeFrom, ParamFolderLastUpdateTimeTo),
		Codes:          p.codeAndOr(ParamFolderCodeList),
		Limit:          r.limit(),
	}
	var err error
	if f.PatientID, f.PatientIDs, _, err = r.patientFilter(ctx, p, ParamFolderPatientID); err != nil {
		return nil, err
	}
	folders, err := r.store.Folders(ctx, p.folders(f))
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.addFolders(f.Limit, folders)
	return res, nil
}

func runGetAll(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	lim := r.limit()
	pid, pids, _, err := r.patientFilter(ctx, p, ParamPatientID)
	if err != nil {
		return nil, err
	}
	res := newResult()
	docs, err := r.store.Documents(ctx, p.docs(DocumentFilter{
		PatientID: pid, PatientIDs: pids, Statuses: p.list(ParamDocumentEntryStatus), ObjectTypes: entryTypes(p),
		Formats: p.codeSet(ParamDocumentEntryFormatCode), Confidentiality: p.codeAndOr(ParamDocumentEntryConfidentialityCode),
		Limit: lim,
	}))
	if err != nil {
		return nil, err
	}
	res.addDocs(lim, docs)
	sets, err := r.store.SubmissionSets(ctx, SubmissionSetFilter{PatientID: pid, PatientIDs: pids, Statuses: p.list(ParamSubmissionSetStatus), Limit: lim})
	if err != nil {
		return nil, err
	}
	res.addSets(lim, sets)
	folders, err := r.store.Folders(ctx, p.folders(FolderFilter{PatientID: pid, PatientIDs: pids, Statuses: p.list(ParamFolderStatus), Limit: lim}))
	if err != nil {
		return nil, err
	}
	res.addFolders(lim, folders)
	if res.tooMany || res.len() > r.maxResults || res.len() == 0 {
		return res, nil
	}
	assocs, err := r.store.Associations(ctx, p.assocs(AssociationFilter{SourceOrTarget: keys(res.ids), Limit: lim}))
	if err != nil {
		return nil, err
	}
	res.tooMany = len(assocs) >= lim
	res.addLinking(withoutUpdateOperations(assocs))
	return res, nil
}

// documentsByID reads the DocumentEntries named by an entryUUID or a
// uniqueId parameter (whichever is present), with extra filter fields.
func documentsByID(ctx context.Context, r *Registry, p *queryParams, f DocumentFilter) ([]*DocumentEntry, error) {
	var ok bool
	if f.IDs, f.UniqueIDs, f.LogicalIDs, ok = p.idLists(ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID, ParamDocumentEntryLogicalID); !ok {
		return nil, nil
	}
	f.Limit = r.limit()
	return r.store.Documents(ctx, p.docs(f))
}

// idLists reads whichever of the list parameters entryUUID, uniqueID and
// logicalID is present (in that order of preference) into ids, uniqueIDs
// or logicalIDs; ok is false when none is.
func (p *queryParams) idLists(entryUUID, uniqueID, logicalID string) (ids, uniqueIDs, logicalIDs []string, ok bool) {
	switch {
	case p.has(entryUUID):
		return p.list(entryUUID), nil, nil, true
	case p.has(uniqueID):
		return nil, p.list(uniqueID), nil, true
	case p.has(logicalID):
		return nil, nil, p.list(logicalID), true
	}
	return nil, nil, nil, false
}

// idOrUniqueID reads the single-valued entryUUID parameter, or else the
// uniqueID one, as a one-element list.
func (p *queryParams) idOrUniqueID(entryUUID, uniqueID string) (ids, uniqueIDs []string) {
	if id := p.single(entryUUID); id != "" {
		return []string{id}, nil
	}
	return nil, []string{p.single(uniqueID)}
}

func runGetDocuments(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	docs, err := documentsByID(ctx, r, p, DocumentFilter{})
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.addDocs(r.limit(), docs)
	return res, nil
}

func foldersByID(ctx context.Context, r *Registry, p *queryParams) ([]*Folder, error) {
	f := FolderFilter{Limit: r.limit()}
	var ok bool
	if f.IDs, f.UniqueIDs, f.LogicalIDs, ok = p.idLists(ParamFolderEntryUUID, ParamFolderUniqueID, ParamFolderLogicalID); !ok {
		return nil, nil
	}
	return r.store.Folders(ctx, p.folders(f))
}

func runGetFolders(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	folders, err := foldersByID(ctx, r, p)
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.addFolders(r.limit(), folders)
	return res, nil
}

func runGetAssociations(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	res := newResult()
	return res, res.addAssociationsOf(ctx, r, p, p.list(ParamUUID), true)
}

// addAssociationsOf adds every Association whose source or target is one
// of ids; the ITI-57 operation associations only when updateOps.
func (res *result) addAssociationsOf(ctx context.Context, r *Registry, p *queryParams, ids []string, updateOps bool) error {
	assocs, err := r.store.Associations(ctx, p.assocs(AssociationFilter{SourceOrTarget: ids, Limit: r.limit()}))
	if err != nil {
		return err
	}
	res.tooMany = res.tooMany || len(assocs) >= r.limit()
	if !updateOps {
		assocs = withoutUpdateOperations(assocs)
	}
	for _, a := range assocs {
		res.addAssoc(a)
	}
	return nil
}

// hasMember reads the HasMember associations whose source (fromSources)
// or else target is one of ids, noting in res when the read hit the
// limit. others are the objects at their other ends: none when there are
// no such associations or too many.
func (res *result) hasMember(ctx context.Context, r *Registry, p *queryParams, ids []string, fromSources bool) (has []*Association, others []string, err error) {
	f := AssociationFilter{Types: []string{AssocHasMember}, Limit: r.limit()}
	if fromSources {
		f.Sources = ids
	} else {
		f.Targets = ids
	}
	has, err = r.store.Associations(ctx, p.assocs(f))
	if err != nil {
		return nil, nil, err
	}
	res.tooMany = res.tooMany || len(has) >= r.limit()
	if len(has) == 0 || res.tooMany {
		return has, nil, nil
	}
	for _, a := range has {
		if fromSources {
			others = append(others, a.Target)
		} else {
			others = append(others, a.Source)
		}
	}
	return has, others, nil
}

func runGetDocumentsAndAssociations(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	docs, err := documentsByID(ctx, r, p, DocumentFilter{})
	if err != nil {
		return nil, err
	}
	res := newResult()
	res.addDocs(r.limit(), docs)
	if len(docs) == 0 || res.tooMany {
		return res, nil
	}
	return res, res.addAssociationsOf(ctx, r, p, idsOf(docs), false)
}

func runGetSubmissionSets(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	res := newResult()
	has, sources, err := res.hasMember(ctx, r, p, p.list(ParamUUID), false)
	if err != nil || len(sources) == 0 {
		return res, err
	}
	sets, err := r.store.SubmissionSets(ctx, SubmissionSetFilter{IDs: sources, Limit: r.limit()})
	if err != nil {
		return nil, err
	}
	res.addSets(r.limit(), sets)
	for _, a := range has {
		if res.ids[a.Source] {
			res.addAssoc(a)
		}
	}
	return res, nil
}

// contentsFilter is the document filter of the *AndContents queries.
func contentsFilter(p *queryParams, ids []string, limit int) DocumentFilter {
	return p.docs(DocumentFilter{
		IDs:             ids,
		Formats:         p.codeSet(ParamDocumentEntryFormatCode),
		Confidentiality: p.codeAndOr(ParamDocumentEntryConfidentialityCode),
		ObjectTypes:     entryTypes(p),
		Limit:           limit,
	})
}

func runGetSubmissionSetAndContents(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	lim := r.limit()
	f := SubmissionSetFilter{Limit: lim}
	f.IDs, f.UniqueIDs = p.idOrUniqueID(ParamSubmissionSetEntryUUID, ParamSubmissionSetUniqueID)
	sets, err := r.store.SubmissionSets(ctx, f)
	if err != nil {
		return nil, err
	}
	res := newResult()
	if len(sets) == 0 {
		return res, nil
	}
	res.addSets(lim, sets)
	if err := res.addUpdateOperations(ctx, r, p, idsOf(sets)); err != nil {
		return nil, err
	}
	has, targets, docs, err := res.addMemberDocs(ctx, r, p, idsOf(sets))
	if err != nil || len(targets) == 0 {
		return res, err
	}
	folders, err := r.store.Folders(ctx, p.folders(FolderFilter{IDs: targets, Limit: lim}))
	if err != nil {
		return nil, err
	}
	res.addFolders(lim, folders)
	// Associations that are members (Folder→DocumentEntry HasMember), and
	// the HasMember associations between the returned Folders and
	// DocumentEntries.
	candidates := append([]*Association(nil), has...)
	member, err := r.store.Associations(ctx, p.assocs(AssociationFilter{IDs: targets, Limit: lim}))
	if err != nil {
		return nil, err
	}
	candidates = append(candidates, member...)
	if len(folders) > 0 && len(docs) > 0 {
		inFolders, err := r.store.Associations(ctx, p.assocs(AssociationFilter{
			Sources: idsOf(folders), Targets: idsOf(docs), Types: []string{AssocHasMember}, Limit: lim}))
		if err != nil {
			return nil, err
		}
		res.tooMany = res.tooMany || len(inFolders) >= lim
		candidates = append(candidates, inFolders...)
	}
	res.addLinking(candidates)
	return res, nil
}

// addUpdateOperations adds the ITI-57 operations of the SubmissionSets
// ids: their UpdateAvailabilityStatus and SubmitAssociation associations,
// and the associations these submitted. Their other ends are registry
// objects the SubmissionSet changed, which the result need not hold.
func (res *result) addUpdateOperations(ctx context.Context, r *Registry, p *queryParams, ids []string) error {
	lim := r.limit()
	ops, err := r.store.Associations(ctx, p.assocs(AssociationFilter{
		Sources: ids, Types: []string{AssocUpdateAvailabilityStatus, AssocSubmitAssociation}, Limit: lim}))
	if err != nil {
		return err
	}
	res.tooMany = res.tooMany || len(ops) >= lim
	var submitted []string
	for _, a := range ops {
		res.addAssoc(a)
		if a.Type == AssocSubmitAssociation {
			submitted = append(submitted, a.Target)
		}
	}
	if len(submitted) == 0 {
		return nil
	}
	subs, err := r.store.Associations(ctx, p.assocs(AssociationFilter{IDs: submitted, Limit: lim}))
	if err != nil {
		return err
	}
	for _, a := range subs {
		res.addAssoc(a)
	}
	return nil
}

// addMemberDocs adds the DocumentEntries (after the *AndContents filters)
// that are HasMember targets of the packages ids, and returns those
// associations, all their targets and the entries.
func (res *result) addMemberDocs(ctx context.Context, r *Registry, p *queryParams, ids []string) (has []*Association, targets []string, docs []*DocumentEntry, err error) {
	has, targets, err = res.hasMember(ctx, r, p, ids, true)
	if err != nil || len(targets) == 0 {
		return has, nil, nil, err
	}
	docs, err = r.store.Documents(ctx, contentsFilter(p, targets, r.limit()))
	if err != nil {
		return nil, nil, nil, err
	}
	res.addDocs(r.limit(), docs)
	return has, targets, docs, nil
}

func runGetFolderAndContents(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	f := FolderFilter{Limit: r.limit()}
	f.IDs, f.UniqueIDs = p.idOrUniqueID(ParamFolderEntryUUID, ParamFolderUniqueID)
	folders, err := r.store.Folders(ctx, p.folders(f))
	if err != nil {
		return nil, err
	}
	res := newResult()
	if len(folders) == 0 {
		return res, nil
	}
	res.addFolders(r.limit(), folders)
	has, targets, _, err := res.addMemberDocs(ctx, r, p, idsOf(folders))
	if err != nil || len(targets) == 0 {
		return res, err
	}
	res.addLinking(has)
	return res, nil
}

// singleDocument reads the DocumentEntries of a single-valued entryUUID
// or uniqueId parameter (a uniqueId may name several entries: a
// resubmitted document).
func singleDocument(ctx context.Context, r *Registry, p *queryParams) ([]*DocumentEntry, error) {
	f := DocumentFilter{Limit: r.limit()}
	f.IDs, f.UniqueIDs = p.idOrUniqueID(ParamDocumentEntryEntryUUID, ParamDocumentEntryUniqueID)
	return r.store.Documents(ctx, p.docs(f))
}

func runGetFoldersForDocument(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	docs, err := singleDocument(ctx, r, p)
	if err != nil {
		return nil, err
	}
	res := newResult()
	if len(docs) == 0 {
		return res, nil
	}
	_, sources, err := res.hasMember(ctx, r, p, idsOf(docs), false)
	if err != nil || len(sources) == 0 {
		return res, err
	}
	folders, err := r.store.Folders(ctx, p.folders(FolderFilter{IDs: sources, Limit: r.limit()}))
	if err != nil {
		return nil, err
	}
	res.addFolders(r.limit(), folders)
	return res, nil
}

func runGetRelatedDocuments(ctx context.Context, r *Registry, p *queryParams) (*result, error) {
	lim := r.limit()
	focus, err := singleDocument(ctx, r, p)
	if err != nil {
		return nil, err
	}
	res := newResult()
	if len(focus) == 0 {
		return res, nil
	}
	focusIDs := map[string]bool{}
	for _, d := range focus {
		focusIDs[d.ID] = true
	}
	assocs, err := r.store.Associations(ctx, p.assocs(AssociationFilter{
		SourceOrTarget: idsOf(focus), Types: p.list(ParamAssociationTypes), Limit: lim}))
	if err != nil {
		return nil, err
	}
	if len(assocs) >= lim {
		res.tooMany = true
		return res, nil
	}
	var others []string
	for _, a := range assocs {
		if !focusIDs[a.Source] {
			others = append(others, a.Source)
		}
		if !focusIDs[a.Target] {
			others = append(others, a.Target)
		}
	}
	if len(others) == 0 {
		return res, nil
	}
	related, err := r.store.Documents(ctx, p.docs(DocumentFilter{IDs: others, ObjectTypes: entryTypes(p), Limit: lim}))
	if err != nil {
		return nil, err
	}
	if len(related) == 0 {
		return res, nil // no related document: nothing (NIST GetRelatedDocumentsSim)
	}
	res.addDocs(lim, focus)
	res.addDocs(lim, related)
	res.addLinking(assocs)
	return res, nil
}

func idsOf[T interface{ objectID() string }](objs []T) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.objectID()
	}
	return out
}

func (d *DocumentEntry) objectID() string { return d.ID }
func (s *SubmissionSet) objectID() string { return s.ID }
func (f *Folder) objectID() string        { return f.ID }
func (a *Association) objectID() string   { return a.ID }

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
