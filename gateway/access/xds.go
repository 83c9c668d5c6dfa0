package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/repository"
	"pjd/trust"
	"pjd/trust/policy"
)

// The rule and reason of the audit record of a system principal's query
// or retrieval.
const (
	ruleSystem   = "system-credential"
	reasonSystem = "Permitted: system credential for a source or role-to-role call."
)

// patientParams are the stored-query parameters that name the patient.
var patientParams = []string{
	registry.ParamDocumentEntryPatientID, registry.ParamSubmissionSetPatientID,
	registry.ParamFolderPatientID, registry.ParamPatientID,
}

// queryPatient returns the national identity number a stored query names,
// or "".
func queryPatient(q *registry.Query) string {
	for _, s := range q.Params {
		if slices.Contains(patientParams, s.Name) && len(s.Values) > 0 {
			v := s.Values[0]
			for len(v) > 0 && (v[0] == '\'' || v[0] == '(' || v[0] == ' ') {
				v = v[1:]
			}
			return patientNumber(v)
		}
	}
	return ""
}

// Query runs an ITI-18 stored query. A person's query (XUA) runs as
// LeafClass internally so policy can see the documents; documents policy
// hides are removed with every association that names them, and the
// result is converted back to ObjectRef when that was asked for. A system
// principal's query runs unfiltered. Either way the query is audited
// before the result is returned, and so is a query the registry rejects.
func (g *Guard) Query(ctx context.Context, c Call, q *registry.Query) (*registry.QueryResult, error) {
	if isSystem(c.Principal) {
		return g.systemQuery(ctx, c, q)
	}
	return g.personQuery(ctx, c, q)
}

// systemQuery runs a system principal's query as it is, audited as that
// system.
func (g *Guard) systemQuery(ctx context.Context, c Call, q *registry.Query) (*registry.QueryResult, error) {
	res, err := g.reg.Query(ctx, q)
	if err != nil {
		return nil, g.queryRejected(ctx, c, q, err)
	}
	r := g.record(c, audit.ActionQuery)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason = ruleSystem, reasonSystem
	r.PatientID = queryPatient(q)
	for _, d := range res.Documents {
		r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
		if r.PatientID == "" {
			r.PatientID = patientNumber(d.PatientID)
		}
	}
	for _, id := range res.Refs {
		r.Documents = append(r.Documents, audit.Document{UniqueID: id, Disposition: audit.DocReturned})
	}
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return res, nil
}

// personQuery runs a person's query (or that of a principal that only
// claims to be a system: decide refuses it): refused early when policy
// refuses regardless of data, else run as LeafClass, decided on the
// documents found, audited, and answered without what policy hides.
func (g *Guard) personQuery(ctx context.Context, c Call, q *registry.Query) (*registry.QueryResult, error) {
	patient := queryPatient(q)
	if patient == "" {
		patient = impliedPatient(c.Principal)
	}
	if patient != "" {
		pre, err := g.decide(ctx, c, policy.ActionFind, patient, nil)
		if err != nil {
			return nil, err
		}
		if !pre.Permitted() {
			return g.queryDenied(ctx, c, q, patient, pre, nil)
		}
	}
	inner := *q
	inner.ReturnType = registry.ReturnLeafClass
	res, err := g.reg.Query(ctx, &inner)
	if err != nil {
		return nil, g.queryRejected(ctx, c, q, err)
	}
	if patient == "" {
		patient = resultPatient(res)
	}
	dec, err := g.decide(ctx, c, policy.ActionFind, patient, res.Documents)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		return g.queryDenied(ctx, c, q, patient, dec, res.Documents)
	}
	out, r := g.permittedQuery(c, q, res, dec, patient)
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return out, nil
}

// permittedQuery is the answer to a permitted query and its audit record:
// the documents policy lets the principal see, and every association
// except those that name a hidden document; the record lists the
// documents returned and hidden.
func (g *Guard) permittedQuery(c Call, q *registry.Query, res *registry.QueryResult, dec policy.Decision, patient string) (*registry.QueryResult, audit.Record) {
	visible := visibleEntries(res.Documents, dec)
	hidden := map[string]bool{}
	r := g.record(c, audit.ActionQuery)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.HiddenNORS = dec.HiddenNORS
	for _, d := range res.Documents {
		if slices.Contains(visible, d) {
			r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
			continue
		}
		hidden[d.ID] = true
		r.Documents = append(r.Documents, auditDocument(d, audit.DocHidden))
	}
	out := &registry.QueryResult{
		ReturnType:     q.ReturnType,
		Documents:      visible,
		SubmissionSets: res.SubmissionSets,
		Folders:        res.Folders,
		Associations:   withoutHidden(res.Associations, hidden),
		Warnings:       res.Warnings,
	}
	if q.ReturnType == registry.ReturnObjectRef {
		asObjectRefs(out)
	}
	return out, r
}

// resultPatient is the patient of the first object of res that names one.
func resultPatient(res *registry.QueryResult) string {
	for _, d := range res.Documents {
		if p := patientNumber(d.PatientID); p != "" {
			return p
		}
	}
	for _, s := range res.SubmissionSets {
		if p := patientNumber(s.PatientID); p != "" {
			return p
		}
	}
	for _, f := range res.Folders {
		if p := patientNumber(f.PatientID); p != "" {
			return p
		}
	}
	return ""
}

// withoutHidden drops every association that names a hidden object, and
// every one that names such an association (SubmissionSet → (Folder →
// DocumentEntry)): nothing in the answer may point at what was left out.
// hidden gains the ids of the associations dropped.
func withoutHidden(assocs []*registry.Association, hidden map[string]bool) []*registry.Association {
	for changed := len(hidden) > 0; changed; {
		changed = false
		assocs = slices.DeleteFunc(assocs, func(a *registry.Association) bool {
			if hidden[a.Source] || hidden[a.Target] {
				hidden[a.ID], changed = true, true
				return true
			}
			return false
		})
	}
	return assocs
}

// asObjectRefs turns a LeafClass answer into the ObjectRef one: the ids
// of its objects, SubmissionSets, Folders, DocumentEntries, Associations.
func asObjectRefs(out *registry.QueryResult) {
	for _, s := range out.SubmissionSets {
		out.Refs = append(out.Refs, s.ID)
	}
	for _, f := range out.Folders {
		out.Refs = append(out.Refs, f.ID)
	}
	for _, d := range out.Documents {
		out.Refs = append(out.Refs, d.ID)
	}
	for _, a := range out.Associations {
		out.Refs = append(out.Refs, a.ID)
	}
	out.Documents, out.SubmissionSets, out.Folders, out.Associations = nil, nil, nil, nil
}

// queryDenied answers a refused stored query: a patient's block as a
// query that found nothing (recorded as refused), anything else as an
// error.
func (g *Guard) queryDenied(ctx context.Context, c Call, q *registry.Query, patient string, dec policy.Decision, docs []*registry.DocumentEntry) (*registry.QueryResult, error) {
	err := g.deny(ctx, c, audit.ActionQuery, patient, dec, docs)
	var d *Denied
	if concealBlock(dec) && errors.As(err, &d) {
		return &registry.QueryResult{ReturnType: q.ReturnType}, nil
	}
	return nil, err
}

// queryRejected records a query the registry refused (or failed on) and
// returns err.
func (g *Guard) queryRejected(ctx context.Context, c Call, q *registry.Query, err error) error {
	if l, ok := registry.AsErrors(err); ok {
		if aerr := g.RecordRefusal(ctx, c, audit.ActionQuery, queryPatient(q), "query-rejected", l.Error()); aerr != nil {
			return aerr
		}
	}
	return err
}

// Retrieve runs an ITI-43 request. For a person every requested document
// is decided on: those policy refuses, like those that do not exist, get
// XDSDocumentUniqueIdError (the error does not say which). The retrieval
// is audited — delivered and refused documents — before any byte is
// returned.
func (g *Guard) Retrieve(ctx context.Context, c Call, reqs []repository.DocumentRequest) (*repository.RetrieveResult, error) {
	if g.repo == nil {
		return nil, errors.New("access: this process serves no repository")
	}
	entries, patient, err := g.retrievalEntries(ctx, c, reqs)
	if err != nil {
		return nil, err
	}
	permitted, refused, decision := reqs, []repository.DocumentRequest(nil), policy.Decision{}
	if !isSystem(c.Principal) {
		if permitted, refused, decision, err = g.decideRetrieval(ctx, c, reqs, entries, patient); err != nil {
			return nil, err
		}
	}
	res := &repository.RetrieveResult{}
	if len(permitted) > 0 {
		if res, err = g.repo.Retrieve(ctx, permitted); err != nil {
			return nil, err
		}
	}
	refuseDocuments(res, refused)
	if err := g.commit(ctx, retrievalRecord(g.record(c, audit.ActionRead), patient, decision, isSystem(c.Principal), reqs, entries, res)); err != nil {
		return nil, err
	}
	return res, nil
}

// retrievalEntries looks up the registry entries of the requested
// documents (Approved or Deprecated) and the patient they are about, when
// this process serves the registry.
func (g *Guard) retrievalEntries(ctx context.Context, c Call, reqs []repository.DocumentRequest) ([]*registry.DocumentEntry, string, error) {
	if g.reg == nil {
		return nil, "", nil
	}
	uids := make([]string, 0, len(reqs))
	for _, rq := range reqs {
		uids = append(uids, rq.DocumentUniqueID)
	}
	entries, err := g.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: uids,
		Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}})
	if err != nil {
		return nil, "", fmt.Errorf("access: looking up documents: %w", err)
	}
	patient := impliedPatient(c.Principal)
	for _, e := range entries {
		if patient == "" {
			patient = patientNumber(e.PatientID)
		}
	}
	return entries, patient, nil
}

// decideRetrieval decides a person's retrieval and splits the requests
// into those permitted and those refused. A refusal that is not about the
// documents themselves (the principal is refused outright) is the same
// answer whether the documents exist or not: an error, audited.
func (g *Guard) decideRetrieval(ctx context.Context, c Call, reqs []repository.DocumentRequest, entries []*registry.DocumentEntry, patient string) (permitted, refused []repository.DocumentRequest, dec policy.Decision, err error) {
	if g.reg == nil {
		return nil, nil, dec, &Denied{Rule: "registry-not-served", Reason: "a person's retrieval needs the registry role in this process"}
	}
	dec, err = g.decide(ctx, c, policy.ActionRead, patient, entries)
	if err != nil {
		return nil, nil, dec, err
	}
	if !dec.Permitted() && (len(entries) == 0 || !concealed(dec.Rule)) {
		return nil, nil, dec, g.deny(ctx, c, audit.ActionRead, patient, dec, entries)
	}
	ok := map[string]bool{}
	if dec.Permitted() {
		for _, v := range dec.Visible {
			ok[v.UniqueID] = true
		}
	}
	for _, rq := range reqs {
		if ok[rq.DocumentUniqueID] {
			permitted = append(permitted, rq)
		} else {
			refused = append(refused, rq)
		}
	}
	return permitted, refused, dec, nil
}

// refuseDocuments adds an XDSDocumentUniqueIdError for each refused
// request to res (the same error a missing document gets) and sets the
// response status from what was delivered.
func refuseDocuments(res *repository.RetrieveResult, refused []repository.DocumentRequest) {
	for _, rq := range refused {
		res.Response.Errors = append(res.Response.Errors, registry.Error{
			Code: registry.ErrCodeDocumentUniqueIDError, Context: "document not available: " + rq.DocumentUniqueID,
			Location: rq.DocumentUniqueID, Severity: registry.SeverityError})
	}
	switch {
	case len(res.Response.Errors) == 0:
		res.Response.Status = registry.ResponseSuccess
	case len(res.Documents) > 0:
		res.Response.Status = registry.ResponsePartialSuccess
	default:
		res.Response.Status = registry.ResponseFailure
	}
}

// retrievalRecord completes r, the audit record of a retrieval: its
// outcome and rule, and every requested document as delivered or refused.
func retrievalRecord(r audit.Record, patient string, dec policy.Decision, system bool, reqs []repository.DocumentRequest, entries []*registry.DocumentEntry, res *repository.RetrieveResult) audit.Record {
	r.PatientID = patient
	r.Outcome = audit.OutcomeDeny
	if len(res.Documents) > 0 || dec.Permitted() || system {
		r.Outcome = audit.OutcomePermit
	}
	if system {
		r.Rule, r.Reason = ruleSystem, reasonSystem
	} else {
		r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
		r.HiddenNORS = dec.HiddenNORS
	}
	delivered := map[string]bool{}
	for _, d := range res.Documents {
		delivered[d.DocumentUniqueID] = true
	}
	byUID := map[string]*registry.DocumentEntry{}
	for _, e := range entries {
		byUID[e.UniqueID] = e
	}
	for _, rq := range reqs {
		disp := audit.DocRefused
		if delivered[rq.DocumentUniqueID] {
			disp = audit.DocReturned
		}
		if e := byUID[rq.DocumentUniqueID]; e != nil {
			r.Documents = append(r.Documents, auditDocument(e, disp))
		} else {
			r.Documents = append(r.Documents, audit.Document{UniqueID: rq.DocumentUniqueID, Disposition: disp})
		}
	}
	return r
}

// CheckSource decides whether the principal may register sub: a source
// may register documents only for its own organisation. The --dev
// loopback source may register for any.
//
// A submission without documents (a Folder, or associations between
// registered objects) is judged by its SubmissionSet's authors. A
// document naming another patient than its SubmissionSet is left to the
// registry, which refuses it with the error the profile defines
// (XDSPatientIdDoesNotMatch): the source sent both itself, so nothing is
// revealed, and the source learns what to fix.
func (g *Guard) CheckSource(ctx context.Context, p *trust.Principal, sub *registry.Submission) error {
	if p == nil {
		return &Denied{Rule: policy.RuleNoPrincipal, Reason: "no credential"}
	}
	if g.devSrc && p.Kind == trust.System && p.Credential == CredentialDevLoopback {
		return nil
	}
	if forgedSystem(p) {
		dec := systemOriginDenied(p)
		g.log.WarnContext(ctx, "registration refused", "rule", dec.Rule, "reason", dec.Reason)
		return &Denied{Rule: dec.Rule, Reason: dec.Reason}
	}
	req := policy.Request{Principal: p, Action: policy.ActionRegister, Now: g.now()}
	if sub.SubmissionSet != nil {
		req.PatientIDs = []string{patientNumber(sub.SubmissionSet.PatientID)}
	}
	for _, d := range sub.Documents {
		pd := policyDocument(d)
		if len(req.PatientIDs) == 1 && pd.PatientID != req.PatientIDs[0] {
			return nil // the registry refuses it: XDSPatientIdDoesNotMatch
		}
		req.Documents = append(req.Documents, pd)
	}
	if len(sub.Documents) == 0 && sub.SubmissionSet != nil {
		ss := sub.SubmissionSet
		pd := policyDocument(&registry.DocumentEntry{UniqueID: ss.UniqueID, PatientID: ss.PatientID, Authors: ss.Authors})
		req.Documents = []policy.Document{pd}
	}
	dec := g.pol.Decide(req)
	if !dec.Permitted() {
		g.log.WarnContext(ctx, "registration refused by policy", "rule", dec.Rule, "reason", dec.Reason)
		return &Denied{Rule: dec.Rule, Reason: dec.Reason}
	}
	return nil
}

// Register runs an ITI-42 registration after CheckSource.
func (g *Guard) Register(ctx context.Context, p *trust.Principal, sub *registry.Submission) (registry.ErrorList, error) {
	if err := g.CheckSource(ctx, p, sub); err != nil {
		return nil, err
	}
	return g.reg.Register(ctx, sub)
}

// NewUpload starts an ITI-41 / ITI-65 upload after CheckSource.
func (g *Guard) NewUpload(ctx context.Context, p *trust.Principal, sub *registry.Submission, documentIDs []string) (*repository.Upload, error) {
	if g.repo == nil {
		return nil, errors.New("access: this process serves no repository")
	}
	if err := g.CheckSource(ctx, p, sub); err != nil {
		return nil, err
	}
	return g.repo.NewUpload(ctx, sub, documentIDs)
}

// CredentialDevLoopback marks the system principal pjd serve --dev gives
// requests from the loopback interface.
const CredentialDevLoopback = trust.CredentialDevLoopback
