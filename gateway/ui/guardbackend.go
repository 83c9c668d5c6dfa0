package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

// GuardBackend implements Backend over the Guard (documents: policy and
// audit exactly as for MHD) and the audit store (review screens).
type GuardBackend struct {
	Guard     *access.Guard
	Tokens    authn.TokenVerifier
	Policy    *policy.Policy
	Audit     audit.Store
	AuditLog  access.AuditLogger
	AuditKey  *audit.Key
	PublicURL string
	Now       func() time.Time

	mu         sync.Mutex
	lastVerify ChainStatus
}

var _ Backend = (*GuardBackend)(nil)

// Scopes a host may launch the UI with.
var scopesLaunch = []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen, trust.ScopeAudit}

func (b *GuardBackend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// AuthenticateLaunch implements Backend.
func (b *GuardBackend) AuthenticateLaunch(r *http.Request) (*trust.Principal, error) {
	p, err := b.Tokens.VerifyRequest(r.Context(), r, trust.Requirement{Scopes: scopesLaunch, HTU: b.PublicURL + r.URL.Path})
	if err != nil {
		// A refused launch is recorded like a refused MHD request: the
		// host asked to open a patient's documents.
		c := access.Call{Transaction: audit.TxUIList, RequestID: gateway.RequestIDFrom(r.Context()), SourceIP: gateway.ClientIP(r), UserAgent: r.UserAgent()}
		if aerr := b.Guard.RecordRefusal(r.Context(), c, audit.ActionQuery, "", "authentication", trust.Description(err)); aerr != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, aerr)
		}
		if trust.HTTPStatus(err) == http.StatusServiceUnavailable {
			// The replay cache or the issuer's keys are unavailable: the
			// host should try again, not get a new token.
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, &AuthError{Status: trust.HTTPStatus(err), Code: trust.OAuthError(err), Description: trust.Description(err),
			WWWAuthenticate: trust.WWWAuthenticate(err, scopesLaunch[0]), Err: err}
	}
	return p, nil
}

func (b *GuardBackend) call(ctx context.Context, p *trust.Principal, tx string) access.Call {
	return access.Call{Principal: p, Transaction: tx, RequestID: gateway.RequestIDFrom(ctx)}
}

// uiError maps the Guard's errors to the UI's.
func uiError(err error) error {
	var d *access.Denied
	switch {
	case errors.As(err, &d) && d.Conceal, errors.Is(err, access.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &d):
		return &DeniedError{Rule: d.Rule, Reason: d.Reason}
	case access.Unavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ListDocuments implements Backend (UI-LIST).
func (b *GuardBackend) ListDocuments(ctx context.Context, p *trust.Principal, patient string, f ListFilter) (*DocumentList, error) {
	filter := registry.DocumentFilter{Statuses: []string{registry.StatusApproved}}
	if !f.From.IsZero() || !f.To.IsZero() {
		if !f.From.IsZero() {
			filter.CreationTime.From = registry.FormatDTM(f.From)
		}
		if !f.To.IsZero() {
			filter.CreationTime.To = registry.FormatDTM(f.To)
		}
	}
	res, err := b.Guard.FindDocuments(ctx, b.call(ctx, p, audit.TxUIList), access.FindRequest{
		PatientID: patient, PatientOID: oid.NationalID(patient), Filter: filter})
	if err != nil {
		return nil, uiError(err)
	}
	out := &DocumentList{HiddenNORS: res.HiddenNORS}
	emergency := res.Flags.BTG || res.Flags.ETREAT
	if res.Flags.BTG {
		out.EmergencyAccess = "BTG"
	} else if res.Flags.ETREAT {
		out.EmergencyAccess = "ETREAT"
	}
	display := b.Guard.DisplayFunc()
	for _, c := range res.Communities {
		if c.Failed {
			out.Unavailable = append(out.Unavailable, c.Name)
		}
	}
	for _, d := range res.Documents {
		doc := uiDocument(d, display)
		b.placeRemote(&doc, d)
		doc.EmergencyAccess = emergency
		out.Documents = append(out.Documents, doc)
		if out.PatientName == "" {
			out.PatientName = patientName(d)
		}
	}
	slices.SortStableFunc(out.Documents, func(x, y Document) int { return y.Date.Compare(x.Date) })
	return out, nil
}

func uiDocument(d *registry.DocumentEntry, display func(attr, scheme, code string) string) Document {
	doc := Document{
		Ref:      d.UniqueID,
		Title:    d.Title,
		Class:    Code{Code: d.Class.Code, System: d.Class.Scheme, Display: cmp.Or(d.Class.Display, display("classCode", d.Class.Scheme, d.Class.Code))},
		Type:     Code{Code: d.Type.Code, System: d.Type.Scheme, Display: cmp.Or(display("typeCode", d.Type.Scheme, d.Type.Code), d.Type.Display)},
		MimeType: d.MimeType,
		Size:     -1,
		Version:  d.Version,
	}
	if t, err := registry.ParseDTM(d.CreationTime); err == nil {
		doc.Date = t
	}
	if d.Size != nil {
		doc.Size = *d.Size
	}
	for _, a := range d.Authors {
		if doc.Author == "" && a.Person != "" {
			if x, err := registry.ParseXCN(a.Person); err == nil {
				doc.Author = joinName(x.GivenName, x.FamilyName)
			}
		}
		for _, inst := range a.Institutions {
			x, err := registry.ParseXON(inst)
			if err != nil {
				continue
			}
			org := Org{ID: x.OrganizationIdentifier, Name: x.OrganizationName}
			switch x.AssigningAuthority.UniversalID {
			case oid.RESH:
				if doc.SourceDepartment.Name == "" {
					doc.SourceDepartment = org
				}
			default:
				if doc.SourceOrg.Name == "" {
					doc.SourceOrg = org
				}
			}
		}
	}
	return doc
}

func joinName(given, family string) string {
	switch {
	case given == "":
		return family
	case family == "":
		return given
	}
	return given + " " + family
}

// patientName reads the patient's name from sourcePatientInfo (PID-5).
func patientName(d *registry.DocumentEntry) string {
	for _, v := range d.SourcePatientInfo {
		if len(v) > 6 && v[:6] == "PID-5|" {
			x, err := registry.ParseXCN("^" + v[6:])
			if err == nil {
				return joinName(x.GivenName, x.FamilyName)
			}
		}
	}
	return ""
}

// DocumentInfo implements Backend: the viewer's heading, decided and
// audited as a query of one document.
func (b *GuardBackend) DocumentInfo(ctx context.Context, p *trust.Principal, patient, ref string) (*Document, error) {
	home, _, uid := splitRef(ref)
	res, err := b.Guard.FindDocuments(ctx, b.call(ctx, p, audit.TxUIList), access.FindRequest{
		PatientID: patient, PatientOID: oid.NationalID(patient),
		Filter: registry.DocumentFilter{UniqueIDs: []string{uid}, Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}},
		Match:  func(d *registry.DocumentEntry) bool { return home == "" || xcaclient.SameID(d.HomeCommunityID, home) }})
	if err != nil {
		return nil, uiError(err)
	}
	if len(res.Documents) == 0 {
		return nil, ErrNotFound
	}
	doc := uiDocument(res.Documents[0], b.Guard.DisplayFunc())
	b.placeRemote(&doc, res.Documents[0])
	doc.EmergencyAccess = res.Flags.BTG || res.Flags.ETREAT
	return &doc, nil
}

// OpenDocument implements Backend (UI-VIEW): the guard audits the
// retrieval before the stream is opened.
func (b *GuardBackend) OpenDocument(ctx context.Context, p *trust.Principal, patient, ref string) (*Document, io.ReadCloser, error) {
	home, repo, uid := splitRef(ref)
	if home == "" {
		repo = b.Guard.RepositoryUniqueID()
	}
	doc, err := b.Guard.OpenDocumentIn(ctx, b.call(ctx, p, audit.TxUIView), home, repo, uid, patient)
	if err != nil {
		return nil, nil, uiError(err)
	}
	rc, size, err := doc.Open(ctx)
	if err != nil {
		_ = b.Guard.RecordError(context.WithoutCancel(ctx), b.call(ctx, p, audit.TxUIView), audit.ActionRead, patient,
			"the document could not be read from storage", doc.Entry)
		return nil, nil, fmt.Errorf("opening document: %w", err)
	}
	d := uiDocument(doc.Entry, b.Guard.DisplayFunc())
	b.placeRemote(&d, doc.Entry)
	d.Size = size
	d.EmergencyAccess = doc.Flags.BTG || doc.Flags.ETREAT
	return &d, rc, nil
}

// reviewer checks that p may read the audit log (compliance staff, or a
// citizen for their own), and records the search itself: reading the
// audit log is an access to personal data too.
func (b *GuardBackend) reviewer(ctx context.Context, p *trust.Principal, patient, query string) error {
	req := policy.Request{Principal: p, Action: policy.ActionAudit, Now: b.now()}
	if p != nil && p.Kind == trust.Citizen {
		req.PatientIDs = []string{p.Subject}
	}
	d := b.Policy.Decide(req)
	rec := audit.Record{Transaction: audit.TxAuditSearch, Action: audit.ActionQuery, Rule: d.Rule, Reason: d.Reason,
		PatientID: patient, Query: query, RequestID: gateway.RequestIDFrom(ctx)}
	if p != nil {
		rec.Credential = string(p.Credential)
		rec.Actor = audit.Actor{PID: p.Subject, Name: p.Name, HPR: p.HPRNumber, Kind: audit.ActorHealthWorker,
			LegalEntity: audit.Ident{ID: p.LegalEntity.ID, Name: p.LegalEntity.Name}}
		if p.Kind == trust.Citizen {
			rec.Actor.Kind = audit.ActorCitizen
		}
	} else {
		rec.Actor.Kind = audit.ActorUnknown
	}
	rec.Outcome = audit.OutcomePermit
	if !d.Permitted() {
		rec.Outcome = audit.OutcomeDeny
	}
	if err := b.AuditLog.Log(ctx, rec); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !d.Permitted() {
		return &DeniedError{Rule: d.Rule, Reason: d.Reason}
	}
	return nil
}

func (b *GuardBackend) auditFilter(f AuditFilter) audit.Filter {
	af := audit.Filter{PatientID: f.Patient, EntityID: f.Document, From: f.From, To: f.To, Limit: f.Limit}
	if f.Worker != "" {
		if len(f.Worker) == 11 {
			af.AgentPID = f.Worker
		} else {
			af.AgentHPR = f.Worker
		}
	}
	if f.Cursor != "" {
		af.Cursor, _ = strconv.ParseInt(f.Cursor, 10, 64)
	}
	return af
}

func describeFilter(f AuditFilter) string {
	q := ""
	add := func(k, v string) {
		if v != "" {
			if q != "" {
				q += "&"
			}
			q += k + "=" + v
		}
	}
	add("patient", f.Patient)
	add("agent", f.Worker)
	add("organisation", f.Organisation)
	add("entity-id", f.Document)
	if !f.From.IsZero() {
		add("from", f.From.Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		add("to", f.To.Format(time.RFC3339))
	}
	return q
}

// SearchAudit implements Backend.
func (b *GuardBackend) SearchAudit(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
	if p == nil || p.Kind != trust.Compliance {
		return nil, ErrForbidden
	}
	if err := b.reviewer(ctx, p, f.Patient, describeFilter(f)); err != nil {
		return nil, err
	}
	af := b.auditFilter(f)
	out := &AuditPage{Total: -1}
	for {
		page, err := b.Audit.Search(ctx, af)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, r := range page.Records {
			if f.Organisation != "" && r.Actor.LegalEntity.ID != f.Organisation && r.Actor.PointOfCare.ID != f.Organisation {
				continue
			}
			out.Rows = append(out.Rows, auditRow(r, false))
		}
		if page.Next == 0 {
			return out, nil
		}
		if f.Organisation == "" || len(out.Rows) >= af.PageSize() {
			out.Next = strconv.FormatInt(page.Next, 10)
			return out, nil
		}
		af.Cursor = page.Next
	}
}

func auditRow(r audit.Record, citizen bool) AuditRow {
	row := AuditRow{
		ID: r.ID, Time: r.Time, Transaction: r.Transaction, Action: string(r.Action), Outcome: Outcome(r.Outcome),
		Rule: r.Rule, Reason: r.Reason, Patient: r.PatientID, HiddenNORS: r.HiddenNORS, RequestID: r.RequestID,
		Worker:       Person{Name: r.Actor.Name, HPR: r.Actor.HPR, PID: r.Actor.PID, Role: uiCode(r.Actor.Authorization)},
		Organisation: Org{ID: r.Actor.LegalEntity.ID, Name: r.Actor.LegalEntity.Name},
		PointOfCare:  Org{ID: r.Actor.PointOfCare.ID, Name: r.Actor.PointOfCare.Name},
		Department:   Org{ID: r.Actor.Department.ID, Name: r.Actor.Department.Name},
		Purpose:      uiCode(r.Attestation.PurposeOfUse),
		Client:       cmp.Or(r.Client.Name, r.Client.ID),
		Attestation: AttestationInfo{
			PurposeOfUse: uiCode(r.Attestation.PurposeOfUse), PurposeOfUseDetails: uiCode(r.Attestation.PurposeOfUseDetails),
			HealthcareService: uiCode(r.Attestation.HealthcareService), DecisionRef: r.Attestation.DecisionRef.ID,
			UserSelected:       r.Attestation.DecisionRef.UserSelected,
			PatientPointOfCare: Org{ID: r.Attestation.PatientPointOfCare.ID, Name: r.Attestation.PatientPointOfCare.Name},
			PatientDepartment:  Org{ID: r.Attestation.PatientDepartment.ID, Name: r.Attestation.PatientDepartment.Name},
		},
	}
	if r.Attestation.TOA > 0 {
		row.Attestation.AttestedAt = time.Unix(r.Attestation.TOA, 0).UTC()
	}
	if r.Flags.BTG {
		row.Flags = append(row.Flags, FlagBTG)
	}
	if r.Flags.ETREAT {
		row.Flags = append(row.Flags, FlagETREAT)
	}
	if r.Flags.Review {
		row.Flags = append(row.Flags, FlagReview)
	}
	if outsideCareRelation(r) {
		row.Flags = append(row.Flags, FlagOutsideCareRelation)
	}
	for _, d := range r.Documents {
		row.Documents = append(row.Documents, AuditDocument{ID: d.UniqueID, Title: d.Type.Display, Type: uiCode(d.Type),
			Disposition: string(d.Disposition)})
	}
	if citizen {
		row.Worker.PID = ""
		row.Client = ""
		row.RequestID = ""
	}
	return row
}

// outsideCareRelation: the attestation names the patient's point of care,
// and it is not the organisation the health worker acts for.
func outsideCareRelation(r audit.Record) bool {
	poc := r.Attestation.PatientPointOfCare.ID
	if poc == "" || r.Outcome != audit.OutcomePermit {
		return false
	}
	return poc != r.Actor.PointOfCare.ID && poc != r.Actor.LegalEntity.ID
}

// Many patients in a short time: more than manyPatients distinct patients
// by one health worker within manyWindow.
const (
	manyPatients   = 10
	manyWindow     = time.Hour
	flaggedScanMax = 5000
)

// FlaggedAccesses implements Backend: emergency access, access outside
// the organisation's care relation, and health workers who looked at many
// patients in a short time, newest first.
func (b *GuardBackend) FlaggedAccesses(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
	if p == nil || p.Kind != trust.Compliance {
		return nil, ErrForbidden
	}
	if err := b.reviewer(ctx, p, f.Patient, "flagged&"+describeFilter(f)); err != nil {
		return nil, err
	}
	af := b.auditFilter(f)
	af.Cursor, af.Limit = 0, 1000
	var recs []audit.Record
	for len(recs) < flaggedScanMax {
		page, err := b.Audit.Search(ctx, af)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, r := range page.Records {
			if r.Actor.Kind == audit.ActorHealthWorker && (r.Transaction != audit.TxAuditSearch && r.Transaction != audit.TxAuditExport) {
				recs = append(recs, r)
			}
		}
		if page.Next == 0 {
			break
		}
		af.Cursor = page.Next
	}
	many := manyPatientRecords(recs)
	var rows []AuditRow
	for _, r := range recs {
		row := auditRow(r, false)
		if many[r.ID] {
			row.Flags = append(row.Flags, FlagManyPatients)
		}
		if len(row.Flags) == 0 {
			continue
		}
		if f.Organisation != "" && r.Actor.LegalEntity.ID != f.Organisation && r.Actor.PointOfCare.ID != f.Organisation {
			continue
		}
		rows = append(rows, row)
	}
	off, _ := strconv.Atoi(f.Cursor)
	limit := f.Limit
	if limit <= 0 {
		limit = audit.DefaultLimit
	}
	out := &AuditPage{Total: len(rows)}
	if off < len(rows) {
		end := min(off+limit, len(rows))
		out.Rows = rows[off:end]
		if end < len(rows) {
			out.Next = strconv.Itoa(end)
		}
	}
	return out, nil
}

// manyPatientRecords returns the ids of records by a health worker who, in
// some window of manyWindow around them, accessed more than manyPatients
// distinct patients.
func manyPatientRecords(recs []audit.Record) map[string]bool {
	by := map[string][]audit.Record{}
	for _, r := range recs {
		key := cmp.Or(r.Actor.HPR, r.Actor.PID)
		if key != "" && r.PatientID != "" {
			by[key] = append(by[key], r)
		}
	}
	out := map[string]bool{}
	for _, rs := range by {
		slices.SortFunc(rs, func(a, b audit.Record) int { return a.Time.Compare(b.Time) })
		start := 0
		for end := range rs {
			for rs[end].Time.Sub(rs[start].Time) > manyWindow {
				start++
			}
			seen := map[string]bool{}
			for _, r := range rs[start : end+1] {
				seen[r.PatientID] = true
			}
			if len(seen) > manyPatients {
				for _, r := range rs[start : end+1] {
					out[r.ID] = true
				}
			}
		}
	}
	return out
}

// VerifyAuditChain implements Backend. A verification walks the whole
// chain, so a result is reused for a minute.
func (b *GuardBackend) VerifyAuditChain(ctx context.Context, p *trust.Principal) (ChainStatus, error) {
	if p == nil || p.Kind != trust.Compliance {
		return ChainStatus{}, ErrForbidden
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.lastVerify.Verified.IsZero() && b.now().Sub(b.lastVerify.Verified) < time.Minute {
		return b.lastVerify, nil
	}
	rep, err := audit.Verify(ctx, b.Audit, b.AuditKey)
	if err != nil {
		return ChainStatus{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	st := ChainStatus{OK: rep.Problem == nil, Records: rep.Records, Head: rep.Last.String(), Verified: b.now()}
	if rep.Problem != nil {
		st.FirstBad = rep.Problem.Seq
		st.Problem = rep.Problem.String()
	}
	b.lastVerify = st
	return st, nil
}

// ExportAudit implements Backend.
func (b *GuardBackend) ExportAudit(ctx context.Context, p *trust.Principal, f AuditFilter, emit func(AuditRow) error) error {
	if p == nil || p.Kind != trust.Compliance {
		return ErrForbidden
	}
	if err := b.reviewer(ctx, p, f.Patient, "export&"+describeFilter(f)); err != nil {
		return err
	}
	af := b.auditFilter(f)
	af.Cursor, af.Limit = 0, 1000
	for {
		page, err := b.Audit.Search(ctx, af)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, r := range page.Records {
			if f.Organisation != "" && r.Actor.LegalEntity.ID != f.Organisation && r.Actor.PointOfCare.ID != f.Organisation {
				continue
			}
			if err := emit(auditRow(r, false)); err != nil {
				return err
			}
		}
		if page.Next == 0 {
			return nil
		}
		af.Cursor = page.Next
	}
}

// CitizenAccessLog implements Backend: accesses to the citizen's own
// documents by others, without health workers' identity numbers.
func (b *GuardBackend) CitizenAccessLog(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error) {
	if p == nil || p.Kind != trust.Citizen || p.Subject == "" {
		return nil, ErrForbidden
	}
	if err := b.reviewer(ctx, p, p.Subject, "citizen"); err != nil {
		return nil, err
	}
	af := b.auditFilter(f)
	af.PatientID = p.Subject
	af.AgentHPR, af.AgentPID, af.EntityID = "", "", ""
	af.Transactions = []string{audit.TxITI18, audit.TxITI43, audit.TxITI66, audit.TxITI67, audit.TxITI68, audit.TxUIList, audit.TxUIView}
	page, err := b.Audit.Search(ctx, af)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out := &AuditPage{Total: -1}
	for _, r := range page.Records {
		if r.Actor.Kind != audit.ActorHealthWorker || r.Outcome != audit.OutcomePermit {
			continue
		}
		out.Rows = append(out.Rows, auditRow(r, true))
	}
	if page.Next != 0 {
		out.Next = strconv.FormatInt(page.Next, 10)
	}
	return out, nil
}

// consentError maps the errors of the Guard's consent methods: a
// concealed denial (another person's number) and an unknown block are
// ErrNotFound; a process without a writable blocks store answers as a
// service that is not available.
func consentError(err error) error {
	if errors.Is(err, access.ErrBlocksNotServed) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return uiError(err)
}

// CitizenBlocks implements Backend through Guard.Consents, the function
// behind GET /fhir/R4/Consent (audited as CONSENT query).
func (b *GuardBackend) CitizenBlocks(ctx context.Context, p *trust.Principal) ([]CitizenBlock, error) {
	if p == nil || p.Kind != trust.Citizen || p.Subject == "" {
		return nil, ErrForbidden
	}
	bs, err := b.Guard.Consents(ctx, b.call(ctx, p, audit.TxConsent), p.Subject)
	if err != nil {
		return nil, consentError(err)
	}
	now := b.now()
	var out []CitizenBlock
	for _, bl := range bs {
		if !bl.ValidTo.IsZero() && !now.Before(bl.ValidTo) {
			continue // revoked or ended
		}
		out = append(out, citizenBlock(bl))
	}
	slices.SortStableFunc(out, func(x, y CitizenBlock) int { return x.From.Compare(y.From) })
	return out, nil
}

func citizenBlock(bl policy.Block) CitizenBlock {
	c := CitizenBlock{ID: bl.ID, Scope: BlockAll, From: bl.ValidFrom}
	switch {
	case len(bl.DocumentUniqueIDs) > 0:
		c.Scope, c.Documents = BlockDocument, slices.Clone(bl.DocumentUniqueIDs)
	case bl.SourceOrgNr != "":
		c.Scope, c.Source = BlockSource, Org{ID: bl.SourceOrgNr}
	}
	if !bl.Everyone {
		switch {
		case bl.HPRNumber != "":
			c.Recipient = "helsepersonell med HPR-nummer " + bl.HPRNumber
		case bl.OrgNr != "":
			c.Recipient = "virksomheten med organisasjonsnummer " + bl.OrgNr
		case bl.PractitionerID != "":
			c.Recipient = "ett navngitt helsepersonell"
		}
	}
	return c
}

// RevokeCitizenBlock implements Backend through Guard.RevokeConsent, the
// function behind DELETE /fhir/R4/Consent/{id}.
func (b *GuardBackend) RevokeCitizenBlock(ctx context.Context, p *trust.Principal, id string) error {
	if p == nil || p.Kind != trust.Citizen || p.Subject == "" {
		return ErrForbidden
	}
	return consentError(b.Guard.RevokeConsent(ctx, b.call(ctx, p, audit.TxConsent), p.Subject, id))
}

// BlockAllSharing implements Backend through Guard.AddConsent, the
// function behind POST /fhir/R4/Consent.
func (b *GuardBackend) BlockAllSharing(ctx context.Context, p *trust.Principal) error {
	if p == nil || p.Kind != trust.Citizen || p.Subject == "" {
		return ErrForbidden
	}
	_, err := b.Guard.AddConsent(ctx, b.call(ctx, p, audit.TxConsent), policy.Block{PatientID: p.Subject})
	return consentError(err)
}

func uiCode(c audit.Code) Code { return Code{Code: c.Code, System: c.System, Display: c.Display} }

// RecordUIRefusal records a UI page request refused before it reached the
// Backend (Config.RecordRefusal).
func (b *GuardBackend) RecordUIRefusal(r *http.Request, p *trust.Principal, tx, reason string) error {
	action := audit.ActionQuery
	if tx == audit.TxUIView {
		action = audit.ActionRead
	}
	c := access.Call{Principal: p, Transaction: tx, RequestID: gateway.RequestIDFrom(r.Context()), SourceIP: gateway.ClientIP(r), UserAgent: r.UserAgent()}
	return b.Guard.RecordRefusal(r.Context(), c, action, "", "ui-session", reason)
}

// placeRemote makes doc, an entry of d, point at the community that holds
// d when that is not this node: its Ref names the community and the
// repository ("home|repositoryUniqueId|uniqueId"), and Region the
// community's name.
func (b *GuardBackend) placeRemote(doc *Document, d *registry.DocumentEntry) {
	own := b.Guard.HomeCommunityID()
	if own == "" || d.HomeCommunityID == "" || xcaclient.SameID(d.HomeCommunityID, own) {
		return
	}
	doc.Ref = d.HomeCommunityID + "|" + d.RepositoryUniqueID + "|" + d.UniqueID
	doc.Region = b.Guard.CommunityName(d.HomeCommunityID)
}

// splitRef reads a Ref: a bare uniqueId is this node's document; a
// remote one names its community and repository (placeRemote).
func splitRef(ref string) (home, repositoryUniqueID, uniqueID string) {
	parts := strings.SplitN(ref, "|", 3)
	if len(parts) != 3 {
		return "", "", ref
	}
	return parts[0], parts[1], parts[2]
}
