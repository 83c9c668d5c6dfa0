// Package access is the one enforcement layer between pjd's endpoints and
// patient data. Every handler that finds, lists or reads documents — MHD
// (ITI-67/66/68), XDS (ITI-18/43), the embedded UI — holds a *Guard and
// nothing else: the Guard keeps the registry and repository unexported, so
// no handler can reach data without going through it.
//
// Each Guard method, in this order: decides with trust/policy, writes the
// audit record (committed, before anything is returned), and only then
// hands data back. If the audit record cannot be written the method fails
// with ErrAudit and returns nothing. Denials are audited too.
//
// System principals (a source's mTLS certificate, or loopback in --dev)
// serve sources and role-to-role calls: their queries and retrievals are
// permitted without a person's policy and audited as that system; their
// registrations are checked against the source's own organisation. Only
// the credential makes a system (trust.Principal.IsSystem): a principal
// that says System but came from a token or an assertion is refused on
// every data path (rule system-credential-origin), and a token without a
// person (trust.ClientCredentials) goes through policy like anyone else,
// which lets it register for its own organisation and read nothing.
//
// Federation (federation.go): a Guard given Communities is this node's
// XCA initiating gateway for FindDocuments and OpenDocumentIn — the local
// registry and every community are asked in parallel, remote entries go
// through the same policy decision and the same one audit record as local
// ones, and a community's failure is reported, never fatal.
//
// This package must never return a document, metadata or a count to a
// caller before the audit record that covers it is committed, and never
// leak whether a document exists to a principal policy refuses outright.
package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/repository"
	"pjd/trust"
	"pjd/trust/policy"
)

// Errors handlers map to protocol errors.
var (
	// ErrDenied: policy refused. Use errors.As with *Denied for the rule.
	ErrDenied = errors.New("access denied")
	// ErrNotFound: no such document (only returned once policy has
	// permitted the principal in general).
	ErrNotFound = errors.New("document not found")
	// ErrAudit: the audit record could not be committed; nothing may be
	// returned (503).
	ErrAudit = errors.New("audit log unavailable")
	// ErrTooMany: the search matched more documents than the guard will
	// decide on at once.
	ErrTooMany = errors.New("too many documents match")
)

// Unavailable reports whether err means that something pjd depends on
// could not be reached or did not answer in time — the registry or blocks
// database, object storage, the audit log, a remote registry, the
// request's own deadline — so that the request may succeed if tried again.
// Each backend marks such errors with its own sentinel; this is the one
// place that knows them all, and the protocol edges answer every one the
// same way: 503 + Retry-After (MHD: OperationOutcome transient), an XDS
// error saying the service is busy. A client that went away
// (context.Canceled) is not unavailability.
func Unavailable(err error) bool {
	for _, target := range []error{ErrAudit, registry.ErrUnavailable, repository.ErrUnavailable, repository.ErrRegistry,
		policy.ErrBlocksUnavailable, audit.ErrUnavailable, audit.ErrTimeout, context.DeadlineExceeded, xcaclient.ErrCommunity} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Denied is a policy refusal: the rule and the reason recorded.
type Denied struct {
	Rule   string
	Reason string
	// Conceal is set when the refusal concerns one document the principal
	// may not know exists (NORS, a block, a time window, another
	// patient's): the caller must answer exactly as for an unknown
	// document.
	Conceal bool
}

func (d *Denied) Error() string { return "access denied (" + d.Rule + "): " + d.Reason }

// Is makes errors.Is(err, ErrDenied) true.
func (d *Denied) Is(target error) bool { return target == ErrDenied }

// AuditLogger commits audit records (audit.Logger).
type AuditLogger interface {
	Log(ctx context.Context, r audit.Record) error
}

// Config wires a Guard.
type Config struct {
	Registry   *registry.Registry
	Repository *repository.Repository // nil when this process serves no repository
	Policy     *policy.Policy
	Audit      AuditLogger
	Blocks     policy.BlockStore // nil: no blocks
	// MaxDocuments caps how many documents one search decides on; more is
	// ErrTooMany. Default 5000.
	MaxDocuments int
	// DevLoopbackSources lets the loopback system principal of --dev
	// register for any organisation.
	DevLoopbackSources bool
	// SystemScopes grants scopes to the system principals of client
	// certificates, by organisation number: ScopeMultiPatientQuery for
	// ITI-51, ScopePatientIdentityFeed for ITI-104 (pjd serve
	// --system-scope ORGNR=SCOPE).
	SystemScopes map[string][]string
	// Communities are the other communities searches federate to (XCA,
	// --community); none: this node alone.
	Communities []Community
	// HomeCommunityID is this node's homeCommunityId (urn:oid:…), set on
	// its own entries in a federated answer.
	HomeCommunityID string
	Now             func() time.Time
	Logger          *slog.Logger
}

// Guard enforces policy and audit on every data path. It is safe for
// concurrent use.
type Guard struct {
	reg    *registry.Registry
	repo   *repository.Repository
	pol    *policy.Policy
	audit  AuditLogger
	blocks policy.BlockStore
	max    int
	devSrc bool
	// sysScopes are Config.SystemScopes.
	sysScopes map[string][]string
	now       func() time.Time

	communities []Community
	home        string
	log         *slog.Logger
}

// New returns a Guard; Registry, Policy and Audit are required.
func New(cfg Config) (*Guard, error) {
	if (cfg.Registry == nil && cfg.Repository == nil) || cfg.Policy == nil || cfg.Audit == nil {
		return nil, errors.New("access: a Registry or Repository, Policy and Audit are required")
	}
	g := &Guard{reg: cfg.Registry, repo: cfg.Repository, pol: cfg.Policy, audit: cfg.Audit,
		blocks: cfg.Blocks, max: cfg.MaxDocuments, devSrc: cfg.DevLoopbackSources, sysScopes: cfg.SystemScopes, now: cfg.Now, log: cfg.Logger,
		communities: cfg.Communities, home: cfg.HomeCommunityID}
	if len(g.communities) > 0 && (g.home == "" || g.reg == nil) {
		return nil, errors.New("access: federating with other communities needs this node's HomeCommunityID and registry")
	}
	if g.max <= 0 {
		g.max = 5000
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// Call describes one request for its audit record.
type Call struct {
	Principal   *trust.Principal
	Transaction string // audit.TxITI67 …
	Query       string // the search parameters as received (no secrets)
	RequestID   string
	EventID     string // nhn-event-id
	// Traceparent is the W3C trace context of the request, carried on
	// to the communities a federated search asks.
	Traceparent string
	Gateway     string // the calling community gateway (XCA), see audit.Record.Gateway
	SourceIP    string
	UserAgent   string
}

func (g *Guard) record(c Call, action audit.Action) audit.Record {
	r := audit.Record{
		Transaction: c.Transaction,
		Action:      action,
		Query:       c.Query,
		RequestID:   c.RequestID,
		EventID:     c.EventID,
		Gateway:     c.Gateway,
		SourceIP:    c.SourceIP,
		UserAgent:   c.UserAgent,
	}
	fillPrincipal(&r, c.Principal)
	return r
}

func (g *Guard) commit(ctx context.Context, r audit.Record) error {
	if err := g.audit.Log(ctx, r); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// The client went away before its record was committed:
			// nothing is returned, and nothing is wrong with pjd.
			g.log.InfoContext(ctx, "audit record not committed: the request was cancelled", "transaction", r.Transaction)
			return fmt.Errorf("access: committing the audit record: %w", err)
		}
		g.log.ErrorContext(ctx, "audit record not committed; failing the request", "transaction", r.Transaction, "err", err)
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	return nil
}

// RecordRefusal audits a request refused before it reached the Guard's
// data methods (no or invalid credential, malformed request naming a
// patient). patient may be "".
func (g *Guard) RecordRefusal(ctx context.Context, c Call, action audit.Action, patient, rule, reason string) error {
	r := g.record(c, action)
	r.Outcome = audit.OutcomeDeny
	r.PatientID = patient
	r.Rule = rule
	r.Reason = reason
	return g.commit(ctx, r)
}

// RecordError audits a request that failed for a reason other than policy
// after the Guard let it through (e.g. the document stream broke).
func (g *Guard) RecordError(ctx context.Context, c Call, action audit.Action, patient, reason string, docs ...*registry.DocumentEntry) error {
	r := g.record(c, action)
	r.Outcome = audit.OutcomeError
	r.PatientID = patient
	r.Rule = "error"
	r.Reason = reason
	for _, d := range docs {
		r.Documents = append(r.Documents, auditDocument(d, audit.DocRefused))
	}
	return g.commit(ctx, r)
}

// loadBlocks loads the blocks of patient and of every number linked to it
// (a block made under a D-nummer keeps holding once the person has a
// fødselsnummer, and the other way round); each is presented as the asked
// patient's.
func (g *Guard) loadBlocks(ctx context.Context, patient string, linked []string) ([]policy.Block, error) {
	if g.blocks == nil || patient == "" {
		return nil, nil
	}
	nums := []string{patient}
	for _, n := range linked {
		if !slices.Contains(nums, n) {
			nums = append(nums, n)
		}
	}
	var out []policy.Block
	for _, n := range nums {
		b, err := g.blocks.Blocks(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("access: loading blocks: %w", err)
		}
		for i := range b {
			b[i].PatientID = patient
		}
		out = append(out, b...)
	}
	return out, nil
}

// isSystem reports whether p is a system the Guard serves without a
// person's policy: one from a certificate or the --dev loopback.
func isSystem(p *trust.Principal) bool { return p.IsSystem() }

// RuleSystemCredentialOrigin refuses a principal that says it is a system
// but was not built from a credential that can make one (mTLS, --dev
// loopback): no token or assertion may open the system path.
const RuleSystemCredentialOrigin = "system-credential-origin"

// forgedSystem reports whether p claims the System kind without the
// credential that makes one.
func forgedSystem(p *trust.Principal) bool {
	return p != nil && p.Kind == trust.System && !p.IsSystem()
}

func systemOriginDenied(p *trust.Principal) policy.Decision {
	return policy.Decision{Effect: policy.Deny, Rule: RuleSystemCredentialOrigin,
		Reason: fmt.Sprintf("Denied: a system principal must come from a client certificate (mTLS); this one came from %q.", p.Credential)}
}

func flagsOf(d policy.Decision) audit.Flags {
	var f audit.Flags
	for _, fl := range d.Flags {
		switch fl {
		case policy.FlagBTG:
			f.BTG = true
		case policy.FlagETREAT:
			f.ETREAT = true
		default:
			f.Review = true
		}
	}
	return f
}

// decide runs policy for a person, or permits a system principal.
func (g *Guard) decide(ctx context.Context, c Call, action policy.Action, patient string, docs []*registry.DocumentEntry) (policy.Decision, error) {
	p := c.Principal
	if forgedSystem(p) {
		return systemOriginDenied(p), nil
	}
	if isSystem(p) {
		d := policy.Decision{Effect: policy.Permit, Rule: "system-credential",
			Reason: fmt.Sprintf("Permitted: system credential (%s) for a source or role-to-role call.", p.Credential)}
		for _, doc := range docs {
			d.Visible = append(d.Visible, policyDocument(doc))
		}
		return d, nil
	}
	ident, err := g.identity(ctx, patient)
	if err != nil {
		return policy.Decision{}, err
	}
	linked := numbers(ident)
	blocks, err := g.loadBlocks(ctx, patient, linked)
	if err != nil {
		return policy.Decision{}, err
	}
	var pds []policy.Document
	for _, doc := range docs {
		pds = append(pds, policyDocument(doc))
	}
	p, pds = linkedView(p, patient, linked, pds)
	req := policy.Request{Principal: p, Action: action, PatientIDs: []string{patient}, Blocks: blocks, Now: g.now(),
		Scope: effectiveScope(p), Documents: pds}
	return g.pol.Decide(req), nil
}

// effectiveScope is the scope policy decides under. A principal whose
// only document-search grant is the kjernejournalforskriften scope is held
// to its windows on every path, reads included: otherwise a document the
// search hid could be read by its URL.
func effectiveScope(p *trust.Principal) string {
	if p == nil {
		return ""
	}
	if p.HasScope(trust.ScopeReadDocumentReferencesKJ) && !p.HasScope(trust.ScopeReadDocumentReferences) {
		return trust.ScopeReadDocumentReferencesKJ
	}
	return p.MatchedScope
}

// FindRequest is a document search for one patient.
type FindRequest struct {
	// Patient is the patient asked about.
	PatientID  string // national identity number
	PatientOID string // its assigning authority
	// Filter selects candidate entries; the Guard sets its PatientID.
	Filter registry.DocumentFilter
	// Match, when set, is applied to every entry the store returns
	// (parameters a store cannot evaluate).
	Match func(*registry.DocumentEntry) bool
	// Related asks for the relationship associations among the visible
	// documents (for MHD relatesTo).
	Related bool
	// Page, when set, picks (and orders) the documents actually returned
	// from all the principal may see — one page of a paged search — so
	// the audit record names exactly what left.
	Page func(visible []*registry.DocumentEntry) []*registry.DocumentEntry
	// Render, when set, turns the result into the response body while the
	// audit record commits (FindResult.Rendered).
	Render func(res *FindResult) ([]byte, error)
}

// FindResult is what the principal may see of a search.
type FindResult struct {
	// Documents are the documents returned (the page, with Page).
	Documents    []*registry.DocumentEntry
	Associations []*registry.Association
	// Total is how many documents the principal may see in all.
	Total      int
	HiddenNORS int
	Hidden     int
	Flags      audit.Flags
	Rule       string
	// Rendered is what FindRequest.Render made of the result.
	Rendered []byte
	// Communities are the other communities a federated search asked,
	// each with its outcome (in configuration order); Failed ones must be
	// named to the consumer.
	Communities []CommunityOutcome
}

// FindDocuments searches one patient's documents (ITI-67, the UI list).
func (g *Guard) FindDocuments(ctx context.Context, c Call, req FindRequest) (*FindResult, error) {
	c = g.withEventID(c)
	patient := req.PatientID
	// A principal policy refuses outright learns nothing, and costs no
	// database read.
	pre, err := g.decide(ctx, c, policy.ActionFind, patient, nil)
	if err != nil {
		return nil, err
	}
	if !pre.Permitted() {
		return g.findDenied(ctx, c, req, pre, nil)
	}
	f := req.Filter
	f.PatientID = registry.NewPatientCX(patient, req.PatientOID).String()
	// Every number linked to the patient's finds the same documents
	// (ITI-104 links), and a search shows the current version of each
	// logical document only (ITI-57 versions are read through
	// DocumentVersions): MHD consumers know nothing of $MetadataLevel.
	asked := f.PatientID
	ident, err := g.identity(ctx, patient)
	if err != nil {
		return nil, err
	}
	if ident != nil && len(ident.All) > 1 {
		f.PatientID, f.PatientIDs = "", slices.Clone(ident.All)
	}
	f.LatestOnly = true
	f.Limit = g.max + 1
	docs, outcomes, err := g.findAll(ctx, c, f, asked)
	if err != nil {
		return nil, fmt.Errorf("access: searching documents: %w", err)
	}
	if f.PatientID == "" {
		// Documents under a linked number are presented as the asked
		// patient's: one person, one subject in the answer.
		for i, d := range docs {
			if d.PatientID != asked {
				c := *d
				c.PatientID = asked
				docs[i] = &c
			}
		}
	}
	if len(docs) > g.max {
		_ = g.RecordError(ctx, c, audit.ActionQuery, patient, fmt.Sprintf("the search matched more than %d documents", g.max))
		return nil, ErrTooMany
	}
	if req.Match != nil {
		docs = slices.DeleteFunc(docs, func(d *registry.DocumentEntry) bool { return !req.Match(d) })
	}
	dec, err := g.decide(ctx, c, policy.ActionFind, patient, docs)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		return g.findDenied(ctx, c, req, dec, docs)
	}
	visible := visibleEntries(docs, dec)
	returned := visible
	if req.Page != nil {
		returned = req.Page(slices.Clone(visible))
	}
	r := g.record(c, audit.ActionQuery)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.HiddenNORS = dec.HiddenNORS
	r.Communities = auditCommunities(outcomes)
	for _, d := range docs {
		switch {
		case slices.Contains(returned, d):
			r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
		case !slices.Contains(visible, d):
			r.Documents = append(r.Documents, auditDocument(d, audit.DocHidden))
		}
	}
	// The record commits while the relationships are read and the answer
	// is rendered; the result leaves only once the commit succeeded.
	committed := make(chan error, 1)
	go func() { committed <- g.commit(ctx, r) }()
	res := &FindResult{
		Documents:  returned,
		Total:      len(visible),
		HiddenNORS: dec.HiddenNORS,
		Hidden:     len(docs) - len(visible),
		Flags:      r.Flags,
		Rule:       dec.Rule,

		Communities: outcomes,
	}
	var werr error
	if req.Related && len(returned) > 0 {
		res.Associations, werr = g.relations(ctx, returned)
	}
	if werr == nil && req.Render != nil {
		res.Rendered, werr = req.Render(res)
	}
	if err := <-committed; err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, werr
	}
	return res, nil
}

// findDenied answers a refused search. A patient's block hides everything
// without saying so: the search is recorded as refused, and the caller
// gets the result a patient with no documents gets — rendered the same
// way, with the same flags — so nothing in the answer tells the two
// apart. Any other refusal is an error.
func (g *Guard) findDenied(ctx context.Context, c Call, req FindRequest, dec policy.Decision, docs []*registry.DocumentEntry) (*FindResult, error) {
	err := g.deny(ctx, c, audit.ActionQuery, req.PatientID, dec, docs)
	var d *Denied
	if !concealBlock(dec) || !errors.As(err, &d) {
		return nil, err
	}
	res := &FindResult{Rule: dec.Rule, Flags: g.unblockedFlags(c.Principal, policy.ActionFind, req.PatientID)}
	if req.Page != nil {
		res.Documents = req.Page(nil)
	}
	if req.Render != nil {
		if res.Rendered, err = req.Render(res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// concealBlock reports whether dec is a patient's block, which every
// search answers as if the patient had no documents.
func concealBlock(dec policy.Decision) bool { return dec.Rule == policy.RulePatientBlock }

// unblockedFlags are the flags (BTG, ETREAT) the principal's search of a
// patient without documents would carry: a blocked search must carry them
// too, or the missing emergency label would tell it apart.
func (g *Guard) unblockedFlags(p *trust.Principal, action policy.Action, patient string) audit.Flags {
	d := g.pol.Decide(policy.Request{Principal: p, Action: action, PatientIDs: []string{patient}, Now: g.now(), Scope: effectiveScope(p)})
	if !d.Permitted() {
		return audit.Flags{}
	}
	return flagsOf(d)
}

// relations returns the document relationships whose source and target
// are both among docs (a hidden document is never named).
func (g *Guard) relations(ctx context.Context, docs []*registry.DocumentEntry) ([]*registry.Association, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	as, err := g.reg.Reader().Associations(ctx, registry.AssociationFilter{
		Sources: ids,
		Types: []string{registry.AssocReplace, registry.AssocAppend, registry.AssocTransform,
			registry.AssocTransformReplace, registry.AssocSigns},
	})
	if err != nil {
		return nil, fmt.Errorf("access: reading relationships: %w", err)
	}
	return slices.DeleteFunc(as, func(a *registry.Association) bool { return !slices.Contains(ids, a.Target) }), nil
}

func visibleEntries(docs []*registry.DocumentEntry, dec policy.Decision) []*registry.DocumentEntry {
	seen := make(map[string]bool, len(dec.Visible))
	for _, v := range dec.Visible {
		seen[v.UniqueID] = true
	}
	var out []*registry.DocumentEntry
	for _, d := range docs {
		if seen[d.UniqueID] {
			out = append(out, d)
		}
	}
	return out
}

func (g *Guard) deny(ctx context.Context, c Call, action audit.Action, patient string, dec policy.Decision, docs []*registry.DocumentEntry) error {
	r := g.record(c, action)
	r.Outcome = audit.OutcomeDeny
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.HiddenNORS = dec.HiddenNORS
	for _, d := range docs {
		r.Documents = append(r.Documents, auditDocument(d, audit.DocRefused))
	}
	if err := g.commit(ctx, r); err != nil {
		return err
	}
	return &Denied{Rule: dec.Rule, Reason: dec.Reason, Conceal: concealed(dec.Rule) && len(docs) > 0}
}

// concealed reports whether a refusal by rule is about a document's
// existence rather than about the principal. A refusal because the
// document belongs to another patient than the one the principal may ask
// about (the attested patient, the citizen's own number) is such a
// refusal too: answered any other way than "no such document" it would
// tell the caller that a document with that uniqueId exists.
func concealed(rule string) bool {
	switch rule {
	case policy.RuleDocumentNORS, policy.RuleDocumentBlocked, policy.RuleDocumentOutsideWindow,
		policy.RuleDocumentHiddenFromCitizen, policy.RuleDocumentPatientMismatch,
		policy.RuleAttestationPatientBinding, policy.RuleCitizenOtherPatient, policy.RulePatientBlock:
		return true
	}
	return false
}

// Document is a document the principal may read.
type Document struct {
	Entry *registry.DocumentEntry
	Flags audit.Flags
	// Open streams the bytes; call it once. A read error mid-stream means
	// the response must be aborted (and RecordError called).
	Open func(ctx context.Context) (io.ReadCloser, int64, error)
	// Discard releases the document when it will not be opened (a 304).
	Discard func()
}

// OpenDocument authorizes reading one document (ITI-68, the UI viewer):
// the entry is looked up, policy decides, the retrieval is audited, and only
// then is the caller given the means to stream it. patientHint is the
// patient the caller said it asks about (nhn-patient-nin, the UI session);
// "" when none was given.
func (g *Guard) OpenDocument(ctx context.Context, c Call, repositoryUniqueID, uniqueID, patientHint string) (*Document, error) {
	return g.OpenDocumentIn(ctx, c, "", repositoryUniqueID, uniqueID, patientHint)
}

// OpenDocumentIn is OpenDocument of a document held by the community
// home ("" or this node's own homeCommunityId: the local repository).
// Another community's document is authorized on its metadata, fetched
// from it, exactly as a local one (see openRemote); a community this
// node does not federate with is ErrUnknownCommunity.
func (g *Guard) OpenDocumentIn(ctx context.Context, c Call, home, repositoryUniqueID, uniqueID, patientHint string) (*Document, error) {
	if home != "" && !(g.home != "" && xcaclient.SameID(home, g.home)) {
		cm := g.community(home)
		if cm == nil {
			return nil, ErrUnknownCommunity
		}
		return g.openRemote(ctx, c, cm, repositoryUniqueID, uniqueID, patientHint)
	}
	entries, err := g.reg.Reader().Documents(ctx, registry.DocumentFilter{
		UniqueIDs: []string{uniqueID},
		Statuses:  []string{registry.StatusApproved, registry.StatusDeprecated},
	})
	if err != nil {
		return nil, fmt.Errorf("access: looking up document: %w", err)
	}
	var d *registry.DocumentEntry
	for _, e := range entries {
		if e.RepositoryUniqueID == repositoryUniqueID && (d == nil || e.Status == registry.StatusApproved) {
			d = e
		}
	}
	if d == nil {
		return g.notFound(ctx, c, uniqueID, patientHint)
	}
	var open func(ctx context.Context) (io.ReadCloser, int64, error)
	if g.repo != nil {
		open = func(ctx context.Context) (io.ReadCloser, int64, error) { return g.repo.Open(ctx, d) }
	}
	return g.authorize(ctx, c, d, patientHint, nil, open)
}

// notFound answers a document that does not exist. Whether a document
// exists is itself information: only a principal policy would let read
// this patient's documents learns that it does not.
func (g *Guard) notFound(ctx context.Context, c Call, uniqueID, patientHint string) (*Document, error) {
	patient := patientHint
	if patient == "" {
		patient = impliedPatient(c.Principal)
	}
	dec, err := g.decide(ctx, c, policy.ActionRead, patient, nil)
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() {
		return nil, g.deny(ctx, c, audit.ActionRead, patient, dec, nil)
	}
	if err := g.RecordError(ctx, c, audit.ActionRead, patient, "no such document: "+uniqueID); err != nil {
		return nil, err
	}
	return nil, ErrNotFound
}

// authorize decides on reading d, audits it (with the communities asked,
// for a remote document) and returns the means to stream it; open starts
// while the record commits, and nothing of it reaches the caller unless
// the commit succeeded. open nil: this process serves no repository.
func (g *Guard) authorize(ctx context.Context, c Call, d *registry.DocumentEntry, patientHint string, communities []audit.Community,
	open func(ctx context.Context) (io.ReadCloser, int64, error)) (*Document, error) {
	patient := patientNumber(d.PatientID)
	if patientHint != "" && patientHint != patient {
		// A number linked to the document's is the same person's.
		ident, err := g.identity(ctx, patientHint)
		if err != nil {
			return nil, err
		}
		if slices.Contains(numbers(ident), patient) {
			patient = patientHint
		}
	}
	if patientHint != "" && patientHint != patient {
		// The caller asked about another patient than the document's.
		dec := policy.Decision{Effect: policy.Deny, Rule: policy.RuleDocumentPatientMismatch,
			Reason: "the document belongs to another patient than the one the request names."}
		return nil, g.deny(ctx, c, audit.ActionRead, patientHint, dec, []*registry.DocumentEntry{d})
	}
	dec, err := g.decide(ctx, c, policy.ActionRead, patient, []*registry.DocumentEntry{d})
	if err != nil {
		return nil, err
	}
	if !dec.Permitted() || len(dec.Visible) == 0 {
		if dec.Permitted() {
			dec = policy.Decision{Effect: policy.Deny, Rule: policy.RuleDocumentNORS, Reason: "the document is hidden from this principal."}
		}
		return nil, g.deny(ctx, c, audit.ActionRead, patient, dec, []*registry.DocumentEntry{d})
	}
	if open == nil {
		return nil, errors.New("access: this process serves no repository")
	}
	r := g.record(c, audit.ActionRead)
	r.Outcome = audit.OutcomePermit
	r.Rule, r.Reason, r.Flags = dec.Rule, dec.Reason, flagsOf(dec)
	r.PatientID = patient
	r.Documents = []audit.Document{auditDocument(d, audit.DocReturned)}
	r.Communities = communities
	// The document is located and opened while the record commits (object
	// storage answers in milliseconds); nothing of it reaches the caller
	// unless the commit succeeded.
	type opened struct {
		rc   io.ReadCloser
		size int64
		err  error
	}
	pre := make(chan opened, 1)
	go func() {
		rc, size, err := open(ctx)
		pre <- opened{rc, size, err}
	}()
	if err := g.commit(ctx, r); err != nil {
		if o := <-pre; o.rc != nil {
			o.rc.Close()
		}
		return nil, err
	}
	var once sync.Once
	take := func() (o opened, taken bool) {
		once.Do(func() { o, taken = <-pre, true })
		return o, taken
	}
	return &Document{
		Entry: d,
		Flags: r.Flags,
		Open: func(context.Context) (io.ReadCloser, int64, error) {
			o, taken := take()
			if !taken {
				return nil, 0, errors.New("access: document already opened")
			}
			return o.rc, o.size, o.err
		},
		Discard: func() {
			if o, taken := take(); taken && o.rc != nil {
				o.rc.Close()
			}
		},
	}, nil
}

// impliedPatient is the patient a principal can only be asking about when
// the request does not say: a citizen's own number, or the one patient an
// attestation names.
func impliedPatient(p *trust.Principal) string {
	if p == nil {
		return ""
	}
	if p.Kind == trust.Citizen {
		return p.Subject
	}
	var ids []string
	for _, ap := range p.Patients {
		if ap.Identifier.ID != "" && !slices.Contains(ids, ap.Identifier.ID) {
			ids = append(ids, ap.Identifier.ID)
		}
	}
	if len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// DisplayFunc gives code display names from the registry's value sets.
func (g *Guard) DisplayFunc() func(attribute, scheme, code string) string {
	vs := g.reg.ValueSets()
	return func(attribute, scheme, code string) string { return vs.Display(attribute, scheme, code) }
}

// RepositoryUniqueID is the repositoryUniqueId of the local repository,
// or "".
func (g *Guard) RepositoryUniqueID() string {
	if g.repo == nil {
		return ""
	}
	return g.repo.UniqueID()
}
