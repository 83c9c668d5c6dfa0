package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
	"pjd/trust"
	"pjd/trust/policy"
)

// The document lifecycle (issue 13): ITI-57 metadata update, ITI-62
// metadata removal, ITI-86 document removal, ITI-51 multi-patient query
// and ITI-104 patient identity links. Each is decided here, audited
// (committed before the change is made), and only then handed to the
// registry or repository, which judge the request itself.
//
// Who may:
//   - ITI-57 and ITI-62: a system principal (a source's client
//     certificate) acting for the organisation that registered every
//     logical document, folder and SubmissionSet the request touches
//     (registry.UpdateScope / RemoveScope: the authorInstitution of the
//     original, as ITI-42 checks the submitted one). The --dev loopback
//     source may change anything.
//   - ITI-86: a system principal; the repository removes only documents
//     the registry no longer references (XDSRemoveDocumentsError
//     otherwise).
//   - ITI-51: a system principal granted ScopeMultiPatientQuery.
//   - ITI-104 (and the Consent-free identity links it makes): a system
//     principal granted ScopePatientIdentityFeed.
//
// A system principal from a certificate carries no token scopes: the
// scopes are granted per organisation number (Config.SystemScopes, pjd
// serve --system-scope ORGNR=SCOPE). A client-credentials token (a system
// without a person, on the FHIR side) holds them as token scopes.

// Dedicated scopes of the lifecycle transactions.
const (
	// ScopeMultiPatientQuery lets a system run ITI-51 Multi-Patient
	// Stored Query.
	ScopeMultiPatientQuery = trust.ScopeMultiPatientQuery
	// ScopePatientIdentityFeed lets a system send ITI-104 Patient
	// Identity Feed FHIR (link and unlink patient identifiers).
	ScopePatientIdentityFeed = trust.ScopePatientIdentityFeed
)

// Rules of the lifecycle's refusals (audit records, and the XDS error's
// "access denied by policy (rule)").
const (
	// RuleLifecycleSystemOnly: ITI-57/62/86 are for document sources.
	RuleLifecycleSystemOnly = "lifecycle-system-only"
	// RuleLifecycleForeignOrganisation: the request touches what another
	// organisation registered.
	RuleLifecycleForeignOrganisation = "lifecycle-foreign-organisation"
	// RuleLifecycleOwnOrganisation permits a change to what the source's
	// own organisation registered.
	RuleLifecycleOwnOrganisation = "lifecycle-own-organisation"
	// RuleSystemScopeMissing: the transaction needs a dedicated scope the
	// principal was not granted (persons are never granted it).
	RuleSystemScopeMissing = "system-scope-missing"
	// RuleSystemScope permits a transaction by its dedicated scope.
	RuleSystemScope = "system-scope"
)

func deniedDecision(rule, format string, args ...any) policy.Decision {
	return policy.Decision{Effect: policy.Deny, Rule: rule, Reason: "Denied: " + fmt.Sprintf(format, args...)}
}

// devLoopback reports whether p is the --dev loopback source and the Guard
// lets it act for any organisation.
func (g *Guard) devLoopback(p *trust.Principal) bool {
	return g.devSrc && p != nil && p.Kind == trust.System && p.Credential == CredentialDevLoopback
}

// hasSystemScope reports whether p is a system granted scope: a
// certificate's organisation in Config.SystemScopes, a client-credentials
// token holding it, or the --dev loopback source.
func (g *Guard) hasSystemScope(p *trust.Principal, scope string) bool {
	switch {
	case p == nil || forgedSystem(p):
		return false
	case g.devLoopback(p):
		return true
	case p.IsSystem():
		return slices.Contains(g.sysScopes[p.LegalEntity.ID], scope) || p.HasScope(scope)
	case p.Kind == trust.ClientCredentials:
		return p.HasScope(scope)
	}
	return false
}

// scopeDecision decides a transaction that needs scope.
func (g *Guard) scopeDecision(p *trust.Principal, scope, what string) policy.Decision {
	switch {
	case p == nil:
		return deniedDecision(policy.RuleNoPrincipal, "the request carries no verified principal.")
	case forgedSystem(p):
		return systemOriginDenied(p)
	case g.hasSystemScope(p, scope):
		return policy.Decision{Effect: policy.Permit, Rule: RuleSystemScope,
			Reason: fmt.Sprintf("Permitted: %s by a system granted %s.", what, scope)}
	case p.Kind == trust.HealthWorker || p.Kind == trust.Citizen || p.Kind == trust.Compliance:
		return deniedDecision(RuleSystemScopeMissing, "%s is for systems granted %s; a person (%s) may not use it.", what, scope, p.Kind)
	}
	return deniedDecision(RuleSystemScopeMissing, "%s needs the scope %s, which this system was not granted.", what, scope)
}

// sourceDecision decides whether p may change (ITI-57) or remove (ITI-62)
// the registered objects scope: a system acting for the organisation
// that registered every one of them.
func (g *Guard) sourceDecision(p *trust.Principal, scope []*registry.Registered, what string) policy.Decision {
	switch {
	case p == nil:
		return deniedDecision(policy.RuleNoPrincipal, "the request carries no verified principal.")
	case forgedSystem(p):
		return systemOriginDenied(p)
	case !p.IsSystem():
		return deniedDecision(RuleLifecycleSystemOnly, "%s is for document sources: authenticate with the source's client certificate.", what)
	case g.devLoopback(p):
		return policy.Decision{Effect: policy.Permit, Rule: RuleLifecycleOwnOrganisation,
			Reason: fmt.Sprintf("Permitted: %s by the --dev loopback source.", what)}
	}
	orgs := p.Organizations()
	if len(orgs) == 0 {
		return deniedDecision(RuleLifecycleForeignOrganisation, "the source is not tied to an organisation.")
	}
	for _, reg := range scope {
		var regOrgs []string
		for _, inst := range reg.Institutions {
			if org, _ := orgOf(inst); org.ID != "" && org.System == oid.OrgNr {
				regOrgs = append(regOrgs, org.ID)
			}
		}
		if len(regOrgs) == 0 {
			return deniedDecision(RuleLifecycleForeignOrganisation, "%s %s names no registering organisation by organisation number.", reg.Kind, reg.LogicalID)
		}
		for _, org := range regOrgs {
			if !slices.Contains(orgs, org) {
				return deniedDecision(RuleLifecycleForeignOrganisation, "%s %s was registered by organisation %s, which the source does not act for.", reg.Kind, reg.LogicalID, org)
			}
		}
	}
	return policy.Decision{Effect: policy.Permit, Rule: RuleLifecycleOwnOrganisation,
		Reason: fmt.Sprintf("Permitted: %s of %d object(s) registered by the source's own organisation (%s).", what, len(scope), strings.Join(orgs, ", "))}
}

// changeRecord is the audit record of a permitted change, committed
// before the change is made.
func (g *Guard) changeRecord(c Call, action audit.Action, patient string, dec policy.Decision, docs []*registry.DocumentEntry) audit.Record {
	r := g.record(c, action)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason = dec.Rule, dec.Reason
	r.PatientID = patient
	for _, d := range docs {
		r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
	}
	return r
}

// rejected records that the registry (or repository) rejected a change
// the Guard permitted, and returns err.
func (g *Guard) rejected(ctx context.Context, c Call, action audit.Action, patient string, err error) error {
	if l, ok := registry.AsErrors(err); ok {
		if aerr := g.RecordError(ctx, c, action, patient, "rejected: "+l.Error()); aerr != nil {
			return aerr
		}
	}
	return err
}

// scopePatient is the patient number of the first registered object.
func scopePatient(scope []*registry.Registered) string {
	for _, s := range scope {
		if p := patientNumber(s.PatientID); p != "" {
			return p
		}
	}
	return ""
}

// versionsOf returns the latest registered version of each DocumentEntry
// in scope, for the audit record.
func (g *Guard) versionsOf(ctx context.Context, scope []*registry.Registered) ([]*registry.DocumentEntry, error) {
	var lids []string
	for _, s := range scope {
		if s.Kind == "DocumentEntry" {
			lids = append(lids, s.LogicalID)
		}
	}
	if len(lids) == 0 {
		return nil, nil
	}
	docs, err := g.reg.Reader().Documents(ctx, registry.DocumentFilter{LogicalIDs: lids, LatestOnly: true, Limit: g.max})
	if err != nil {
		return nil, fmt.Errorf("access: reading documents to change: %w", err)
	}
	return docs, nil
}

// Update runs an ITI-57 Update Document Set request: permitted only for a
// system acting for the organisation that registered everything the
// request touches (and, like ITI-42, authoring the request's
// SubmissionSet and new versions itself). The permission is audited
// before the registry runs the update; a rejection by the registry is
// audited as an error.
func (g *Guard) Update(ctx context.Context, c Call, sub *registry.Submission) (*registry.UpdateResult, error) {
	if g.reg == nil {
		return nil, errors.New("access: this process serves no registry")
	}
	p := c.Principal
	patient := ""
	if sub != nil && sub.SubmissionSet != nil {
		patient = patientNumber(sub.SubmissionSet.PatientID)
	}
	if dec := g.sourceDecision(p, nil, "ITI-57 Update Document Set"); !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionUpdate, patient, dec, nil)
	}
	scope, err := g.reg.UpdateScope(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("access: reading what the update touches: %w", err)
	}
	if patient == "" {
		patient = scopePatient(scope)
	}
	dec := g.sourceDecision(p, scope, "ITI-57 Update Document Set")
	if dec.Permitted() && !g.devLoopback(p) {
		if err := g.CheckSource(ctx, p, sub); err != nil {
			var d *Denied
			if errors.As(err, &d) {
				dec = deniedDecision(d.Rule, "%s", strings.TrimPrefix(d.Reason, "Denied: "))
			} else {
				return nil, err
			}
		}
	}
	docs, err := g.versionsOf(ctx, scope)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		err := g.deny(ctx, c, audit.ActionUpdate, patient, dec, docs)
		var d *Denied
		if errors.As(err, &d) {
			d.Conceal = false // the source is told why: it named the objects itself
		}
		return nil, err
	}
	if err := g.commit(ctx, g.changeRecord(c, audit.ActionUpdate, patient, dec, docs)); err != nil {
		return nil, err
	}
	res, err := g.reg.Update(ctx, sub)
	if err != nil {
		return nil, g.rejected(ctx, c, audit.ActionUpdate, patient, err)
	}
	return res, nil
}

// RemoveMetadata runs an ITI-62 Remove Metadata (Delete Document Set)
// request with the same rule as Update. The blobs of documents the
// removal leaves unreferenced (RemoveResult.Unreferenced) stay in the
// repository until ITI-86 removes them or the sweeper finds them
// orphaned.
func (g *Guard) RemoveMetadata(ctx context.Context, c Call, ids []string) (*registry.RemoveResult, error) {
	if g.reg == nil {
		return nil, errors.New("access: this process serves no registry")
	}
	p := c.Principal
	if dec := g.sourceDecision(p, nil, "ITI-62 Remove Metadata"); !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionDelete, "", dec, nil)
	}
	scope, err := g.reg.RemoveScope(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("access: reading what the removal touches: %w", err)
	}
	patient := scopePatient(scope)
	dec := g.sourceDecision(p, scope, "ITI-62 Remove Metadata")
	docs, err := g.versionsOf(ctx, scope)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		err := g.deny(ctx, c, audit.ActionDelete, patient, dec, docs)
		var d *Denied
		if errors.As(err, &d) {
			d.Conceal = false
		}
		return nil, err
	}
	if err := g.commit(ctx, g.changeRecord(c, audit.ActionDelete, patient, dec, docs)); err != nil {
		return nil, err
	}
	res, err := g.reg.Remove(ctx, ids)
	if err != nil {
		return nil, g.rejected(ctx, c, audit.ActionDelete, patient, err)
	}
	return res, nil
}

// RemoveDocuments runs an ITI-86 Remove Documents request against the
// local repository, for a system principal. Per document: another
// repository's is XDSUnknownRepositoryId; one the registry still
// references (any version of any DocumentEntry) is refused with
// XDSRemoveDocumentsError (pjd's rule, research digest §6.3: remove the
// metadata with ITI-62 first, or consumers would find entries whose
// retrieval fails); one with nothing stored is XDSDocumentUniqueIdError.
// The response is Success, PartialSuccess or Failure as for ITI-43.
func (g *Guard) RemoveDocuments(ctx context.Context, c Call, reqs []repository.DocumentRequest) (registry.Response, error) {
	if g.repo == nil || g.reg == nil {
		return registry.Response{}, errors.New("access: ITI-86 needs the registry and repository roles in this process")
	}
	p := c.Principal
	dec := g.sourceDecision(p, nil, "ITI-86 Remove Documents")
	if !dec.Permitted() {
		return registry.Response{}, g.deny(ctx, c, audit.ActionDelete, "", dec, nil)
	}
	var errs registry.ErrorList
	var todo []repository.DocumentRequest
	for _, rq := range reqs {
		switch {
		case rq.RepositoryUniqueID != g.repo.UniqueID():
			errs = append(errs, registry.Error{Code: registry.ErrCodeUnknownRepositoryID, Severity: registry.SeverityError,
				Context: "repository " + rq.RepositoryUniqueID + " is not this repository (" + g.repo.UniqueID() + ")", Location: rq.DocumentUniqueID})
			continue
		}
		ref, err := g.reg.DocumentReferenced(ctx, registry.DocumentRef{RepositoryUniqueID: rq.RepositoryUniqueID, UniqueID: rq.DocumentUniqueID})
		if err != nil {
			return registry.Response{}, err
		}
		if ref {
			errs = append(errs, registry.Error{Code: registry.ErrCodeRemoveDocumentsError, Severity: registry.SeverityError,
				Context: rq.DocumentUniqueID + ": metadata for this document is still registered; remove it with ITI-62 first", Location: rq.DocumentUniqueID})
			continue
		}
		todo = append(todo, rq)
	}
	r := g.record(c, audit.ActionDelete)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason = dec.Rule, dec.Reason
	for _, rq := range reqs {
		disp := audit.DocRefused
		if slices.Contains(todo, rq) {
			disp = audit.DocReturned
		}
		r.Documents = append(r.Documents, audit.Document{UniqueID: rq.DocumentUniqueID, Disposition: disp})
	}
	if err := g.commit(ctx, r); err != nil {
		return registry.Response{}, err
	}
	removed := 0
	for _, rq := range todo {
		_, err := g.repo.RemoveDocument(ctx, rq.DocumentUniqueID)
		switch {
		case errors.Is(err, repository.ErrDocumentNotFound):
			errs = append(errs, registry.Error{Code: registry.ErrCodeDocumentUniqueIDError, Severity: registry.SeverityError,
				Context: "no document " + rq.DocumentUniqueID + " is stored in this repository", Location: rq.DocumentUniqueID})
		case err != nil:
			return registry.Response{}, err
		default:
			removed++
		}
	}
	resp := registry.Response{Status: registry.ResponseSuccess, Errors: errs}
	switch {
	case len(errs) > 0 && removed > 0:
		resp.Status = registry.ResponsePartialSuccess
	case len(errs) > 0:
		resp.Status = registry.ResponseFailure
	}
	return resp, nil
}

// multiPatients returns the patient ids (bare numbers) an ITI-51 query
// names, in order, without repeats.
func multiPatients(q *registry.Query) []string {
	var out []string
	for _, s := range q.Params {
		if s.Name != registry.ParamDocumentEntryPatientID && s.Name != registry.ParamFolderPatientID {
			continue
		}
		for _, v := range s.Values {
			for _, part := range strings.Split(v, ",") {
				id := patientNumber(strings.Trim(strings.TrimSpace(part), "()' \t\r\n"))
				if id != "" && !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

// MultiPatientQuery runs an ITI-51 Multi-Patient Stored Query for a
// system granted ScopeMultiPatientQuery; anyone else is refused (audited)
// with "access denied by policy". The TF (ITI TF-2 3.51.5.1) asks for one
// audit event per patient id in the query, and one without a patient when
// it names none: each is committed before the result is returned.
func (g *Guard) MultiPatientQuery(ctx context.Context, c Call, q *registry.Query) (*registry.QueryResult, error) {
	if g.reg == nil {
		return nil, errors.New("access: this process serves no registry")
	}
	patients := multiPatients(q)
	dec := g.scopeDecision(c.Principal, ScopeMultiPatientQuery, "ITI-51 Multi-Patient Stored Query")
	if !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionQuery, strings.Join(patients, ","), dec, nil)
	}
	res, err := g.reg.MultiPatientQuery(ctx, q)
	if err != nil {
		if l, ok := registry.AsErrors(err); ok {
			if aerr := g.RecordRefusal(ctx, c, audit.ActionQuery, "", "query-rejected", l.Error()); aerr != nil {
				return nil, aerr
			}
		}
		return nil, err
	}
	if len(patients) == 0 {
		patients = []string{""}
	}
	for _, patient := range patients {
		r := g.record(c, audit.ActionQuery)
		r.Outcome = audit.OutcomePermit
		r.Rule, r.Reason = dec.Rule, dec.Reason
		r.PatientID = patient
		for _, d := range res.Documents {
			if patient == "" || patientNumber(d.PatientID) == patient {
				r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
			}
		}
		if err := g.commit(ctx, r); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// PatientCX is the canonical CX of a bare national identity number (F-,
// D- or H-nummer), with the assigning authority its form implies.
func PatientCX(number string) string {
	return registry.NewPatientCX(number, oid.NationalID(number)).String()
}

// LinkPatient records, for a system granted ScopePatientIdentityFeed
// (ITI-104), that the identifier from is replaced by to (both CX). The
// link is audited (action create) before it is made.
func (g *Guard) LinkPatient(ctx context.Context, c Call, from, to, reason string) (*registry.PatientLink, error) {
	dec := g.scopeDecision(c.Principal, ScopePatientIdentityFeed, "ITI-104 Patient Identity Feed")
	if !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionCreate, patientNumber(from), dec, nil)
	}
	r := g.record(c, audit.ActionCreate)
	r.Outcome = audit.OutcomePermit
	r.Rule = dec.Rule
	r.Reason = fmt.Sprintf("%s Link: %s is replaced by %s.", dec.Reason, patientNumber(from), patientNumber(to))
	r.PatientID = patientNumber(from)
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	l, err := g.reg.LinkPatient(ctx, from, to, principalName(c.Principal), reason)
	if err != nil {
		_ = g.RecordError(ctx, c, audit.ActionCreate, patientNumber(from), "link refused: "+err.Error())
		return nil, err
	}
	return l, nil
}

// UnlinkPatient ends the active link of from (ITI-104 undo), with the
// rule of LinkPatient; audited (action update) before it is made.
func (g *Guard) UnlinkPatient(ctx context.Context, c Call, from, reason string) (*registry.PatientLink, error) {
	dec := g.scopeDecision(c.Principal, ScopePatientIdentityFeed, "ITI-104 Patient Identity Feed")
	if !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionUpdate, patientNumber(from), dec, nil)
	}
	r := g.record(c, audit.ActionUpdate)
	r.Outcome = audit.OutcomePermit
	r.Rule = dec.Rule
	r.Reason = fmt.Sprintf("%s Unlink: %s is no longer replaced.", dec.Reason, patientNumber(from))
	r.PatientID = patientNumber(from)
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	l, err := g.reg.UnlinkPatient(ctx, from, principalName(c.Principal), reason)
	if err != nil {
		_ = g.RecordError(ctx, c, audit.ActionUpdate, patientNumber(from), "unlink refused: "+err.Error())
		return nil, err
	}
	return l, nil
}

// PatientLinks returns the links naming pid (a CX), for a system granted
// ScopePatientIdentityFeed (no audit record: no patient data is read).
func (g *Guard) PatientLinks(ctx context.Context, p *trust.Principal, pid string) ([]*registry.PatientLink, error) {
	if dec := g.scopeDecision(p, ScopePatientIdentityFeed, "reading patient identity links"); !dec.Permitted() {
		return nil, &Denied{Rule: dec.Rule, Reason: dec.Reason}
	}
	return g.reg.PatientLinks(ctx, pid)
}

// principalName names p in a link's LinkedBy.
func principalName(p *trust.Principal) string {
	if p == nil {
		return ""
	}
	switch {
	case p.LegalEntity.ID != "":
		return fmt.Sprintf("%s (%s, org.nr %s)", p.Kind, p.Client.ID, p.LegalEntity.ID)
	case p.Client.ID != "":
		return fmt.Sprintf("%s (%s)", p.Kind, p.Client.ID)
	}
	return string(p.Kind)
}

// identity resolves a bare patient number through the registry's links;
// nil when there is nothing to resolve (no registry, no or a malformed
// number).
func (g *Guard) identity(ctx context.Context, patient string) (*registry.PatientIdentity, error) {
	if g.reg == nil || patient == "" {
		return nil, nil
	}
	id, err := g.reg.ResolvePatient(ctx, PatientCX(patient))
	if errors.Is(err, registry.ErrInvalidPatientID) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access: resolving patient links: %w", err)
	}
	return id, nil
}

// numbers returns the bare numbers of every identifier of ident.
func numbers(ident *registry.PatientIdentity) []string {
	if ident == nil {
		return nil
	}
	out := make([]string, 0, len(ident.All))
	for _, cx := range ident.All {
		out = append(out, patientNumber(cx))
	}
	return out
}

// linkedView makes a person's policy request see one patient where the
// registry's links say one person has several numbers: documents under a
// linked number count as the asked patient's, and an attestation naming
// a linked number counts as naming the asked one (the attestation names
// one number; a D-nummer later replaced by a fødselsnummer is the same
// person). Nothing changes when patient has no links.
func linkedView(p *trust.Principal, patient string, linked []string, docs []policy.Document) (*trust.Principal, []policy.Document) {
	if len(linked) < 2 || !slices.Contains(linked, patient) {
		return p, docs
	}
	for i := range docs {
		if docs[i].PatientID != patient && slices.Contains(linked, docs[i].PatientID) {
			docs[i].PatientID = patient
		}
	}
	if p == nil || len(p.Patients) == 0 {
		return p, docs
	}
	var cp *trust.Principal
	for i, ap := range p.Patients {
		if ap.Identifier.ID != patient && slices.Contains(linked, ap.Identifier.ID) {
			if cp == nil {
				c := *p
				c.Patients = slices.Clone(p.Patients)
				cp = &c
			}
			cp.Patients[i].Identifier.ID = patient
		}
	}
	if cp != nil {
		return cp, docs
	}
	return p, docs
}

// DocumentVersions returns the versions of the logical document lid
// (ITI-57) a principal may see, newest first: MHD's
// DocumentReference/[id]/_history. It is decided and audited as a search
// of the document's patient (policy on every version; the audit record
// names each version returned), and concealed like a read: a document the
// principal may not see — hidden, blocked, another patient's — answers
// exactly as one that does not exist (ErrNotFound, or the refusal a
// principal refused outright gets). patientHint is the patient the caller
// said it asks about ("" for none).
func (g *Guard) DocumentVersions(ctx context.Context, c Call, lid, patientHint string) ([]*registry.DocumentEntry, error) {
	if g.reg == nil {
		return nil, errors.New("access: this process serves no registry")
	}
	versions, err := g.reg.Versions(ctx, lid)
	if err != nil {
		return nil, fmt.Errorf("access: reading versions: %w", err)
	}
	hint := patientHint
	if hint == "" {
		hint = impliedPatient(c.Principal)
	}
	notFound := func(patient string) error {
		dec, err := g.decide(ctx, c, policy.ActionFind, patient, nil)
		if err != nil {
			return err
		}
		if !dec.Permitted() {
			return g.deny(ctx, c, audit.ActionQuery, patient, dec, nil)
		}
		if err := g.RecordError(ctx, c, audit.ActionQuery, patient, "no such document: "+lid); err != nil {
			return err
		}
		return ErrNotFound
	}
	if len(versions) == 0 {
		return nil, notFound(hint)
	}
	slices.SortFunc(versions, func(a, b *registry.DocumentEntry) int { return versionNumber(b) - versionNumber(a) })
	latest := versions[0]
	patient := patientNumber(latest.PatientID)
	if hint != "" && hint != patient {
		ident, err := g.identity(ctx, hint)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(numbers(ident), patient) {
			dec := policy.Decision{Effect: policy.Deny, Rule: policy.RuleDocumentPatientMismatch,
				Reason: "the document belongs to another patient than the one the request names."}
			return nil, g.deny(ctx, c, audit.ActionQuery, hint, dec, versions)
		}
		patient = hint
	}
	dec, err := g.decide(ctx, c, policy.ActionFind, patient, versions)
	if err != nil {
		return nil, err
	}
	visible := visibleEntries(versions, dec)
	if !dec.Permitted() || !slices.Contains(visible, latest) {
		if dec.Permitted() {
			dec = policy.Decision{Effect: policy.Deny, Rule: policy.RuleDocumentNORS, Reason: "the document is hidden from this principal."}
		}
		return nil, g.deny(ctx, c, audit.ActionQuery, patient, dec, versions)
	}
	r := g.record(c, audit.ActionQuery)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.HiddenNORS = dec.HiddenNORS
	for _, d := range versions {
		disp := audit.DocHidden
		if slices.Contains(visible, d) {
			disp = audit.DocReturned
		}
		r.Documents = append(r.Documents, auditDocument(d, disp))
	}
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return visible, nil
}

// versionNumber is d's registry-assigned version (1 when unset).
func versionNumber(d *registry.DocumentEntry) int {
	n := 0
	for _, c := range d.Version {
		if c < '0' || c > '9' {
			return 1
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		return 1
	}
	return n
}
