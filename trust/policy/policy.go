package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pjd/registry/oid"
	"pjd/trust"
)

// Effect is the outcome of a decision.
type Effect string

// Effects.
const (
	Permit Effect = "permit"
	Deny   Effect = "deny"
)

// Action is what the request does.
type Action string

// Actions.
const (
	ActionFind     Action = "find"     // list a patient's documents (ITI-67, ITI-18, ITI-38)
	ActionRead     Action = "read"     // retrieve documents (ITI-68, ITI-43, ITI-39)
	ActionRegister Action = "register" // submit documents (ITI-41, ITI-42, ITI-65)
	ActionAudit    Action = "audit"    // read the access log (AuditEvent search)
)

// Code is a coded value.
type Code struct {
	Code   string
	System string
}

// Document is the metadata policy needs about one document.
type Document struct {
	UniqueID        string
	ClassCode       Code
	TypeCode        Code
	Confidentiality []Code
	CreationTime    time.Time
	// PatientID is the patient's national identity number (the CX id part).
	PatientID string
	// AuthorInstitutions are the organisation numbers (…4.101) of the
	// document's authorInstitution values.
	AuthorInstitutions []string
}

// Block is a patient's block (sperring): the health workers or
// organisations it names may not see the patient's documents — all of
// them, or those listed.
type Block struct {
	ID        string
	PatientID string
	// Who is blocked. Every non-empty field must match the principal; a
	// block naming nobody blocks nobody.
	PractitionerID string // the health worker's national identity number
	HPRNumber      string
	OrgNr          string // the principal's legal entity or point of care
	// Everyone blocks every health worker: a patient's own block made as
	// a FHIR Consent (all sharing, one document, or one source's
	// documents), naming no recipient.
	Everyone bool
	// DocumentUniqueIDs limits the block to these documents; empty blocks
	// every document of the patient.
	DocumentUniqueIDs []string
	// SourceOrgNr limits the block to the documents that organisation
	// authored (authorInstitution by organisation number).
	SourceOrgNr string
	// The block applies from ValidFrom (zero: always) until ValidTo (zero:
	// until lifted).
	ValidFrom, ValidTo time.Time
}

// BlockStore loads a patient's blocks. The gateway implements it over the
// database; Decide takes the result, so policy itself stays pure. An error
// that means the store could not be reached (the database is down, a
// connection broke) wraps ErrBlocksUnavailable, so the caller can answer
// "try again" rather than "internal error"; no error may be taken for
// "no blocks".
type BlockStore interface {
	Blocks(ctx context.Context, patientID string) ([]Block, error)
}

// ErrBlocksUnavailable is wrapped by a BlockStore error when the store
// could not be reached.
var ErrBlocksUnavailable = errors.New("policy: the blocks store is unavailable")

// Request is everything a decision depends on.
type Request struct {
	Principal *trust.Principal
	Action    Action
	// Scope is the scope the endpoint matched (Principal.MatchedScope);
	// the kjernejournal scope turns on the kjernejournalforskriften windows.
	Scope string
	// PatientIDs are the patients the request asks about (national
	// identity numbers). Find and read must name exactly one.
	PatientIDs []string
	Documents  []Document
	Blocks     []Block
	Now        time.Time
}

// Flag asks for a decision to be reviewed afterwards.
type Flag string

// Flags.
const (
	FlagBTG    Flag = "review-btg"    // break the glass
	FlagETREAT Flag = "review-etreat" // emergency treatment
)

// Decision is the outcome, the rule that decided it and why.
type Decision struct {
	Effect Effect
	Rule   string
	Reason string
	// Visible are the documents the principal may see (permits only).
	Visible []Document
	// Hidden counts, by reason. NORS documents are only ever counted.
	HiddenNORS          int
	HiddenBlocked       int
	HiddenOutsideWindow int
	HiddenFromCitizen   int
	Flags               []Flag
}

// Permitted reports whether d permits.
func (d Decision) Permitted() bool { return d.Effect == Permit }

// Rule ids: stable strings for audit records and tests.
const (
	RuleNoPrincipal               = "no-principal"
	RuleUnknownAction             = "unknown-action"
	RuleUnknownPrincipalKind      = "unknown-principal-kind"
	RuleSecurityLevel             = "security-level"
	RuleAttestationMissing        = "attestation-missing"
	RuleAttestationExpired        = "attestation-expired"
	RuleAuthorizationNotAllowed   = "authorization-not-allowed"
	RulePurposeNotAllowed         = "purpose-not-allowed"
	RuleOnePatientPerRequest      = "one-patient-per-request"
	RuleAttestationPatientBinding = "attestation-patient-mismatch"
	RuleDocumentPatientMismatch   = "document-patient-mismatch"
	RulePatientBlock              = "patient-block"
	RuleDocumentBlocked           = "document-blocked"
	RuleDocumentNORS              = "document-nors-hidden"
	RuleDocumentOutsideWindow     = "document-outside-kjernejournal-window"
	RuleDocumentHiddenFromCitizen = "document-hidden-from-citizen"
	RuleHealthWorkerCare          = "health-worker-care"
	RuleHealthWorkerEmergency     = "health-worker-emergency-review"
	RuleCitizenOwnRecords         = "citizen-own-records"
	RuleCitizenOtherPatient       = "citizen-other-patient"
	RuleCitizenOwnAuditLog        = "citizen-own-audit-log"
	RuleComplianceAuditReview     = "compliance-audit-review"
	RuleAuditNotPermitted         = "audit-not-permitted"
	RulePatientDataNotPermitted   = "patient-data-not-permitted"
	RuleRegisterNotPermitted      = "register-not-permitted"
	RuleSourceOwnOrganisation     = "source-own-organisation"
	RuleSourceForeignOrganisation = "source-foreign-organisation"
)

// Config holds the configurable parts of the policy. The zero value of a
// field means its default.
type Config struct {
	// AllowedAuthorizations are the Volven 9060 codes that may read
	// documents. Default: LE (lege) and PS (psykolog).
	AllowedAuthorizations []string
	// MinSecurityLevel for persons. Default 4.
	MinSecurityLevel int
	// AttestationMaxAge bounds the age of the attestation. Default 60 min.
	AttestationMaxAge time.Duration
	// KJScope is the scope under which the kjernejournalforskriften
	// windows apply. Default trust.ScopeReadDocumentReferencesKJ.
	KJScope string
	// KJWindowYears maps a classCode to how many years back documents are
	// shown under KJScope; 0 means without limit, and a class code not in
	// the map is not shown. Default: A00-1 unlimited, C00-1 and I00-1 one
	// year, D00-1 and E00-1 five years.
	KJWindowYears map[string]int
	// RequireAttestedPatient denies health workers whose attestation names
	// no patient by identifier. Default false: NHN's clients send the
	// patient in a request header and only the point of care in the
	// attestation. When the attestation names patients, the patient asked
	// about must be one of them either way.
	RequireAttestedPatient bool
}

// Policy is a configured policy. Its Decide method is pure.
type Policy struct {
	allowed      []string
	minLevel     int
	maxAge       time.Duration
	kjScope      string
	kjWindows    map[string]int
	requireBound bool
}

// DefaultKJWindowYears are the kjernejournalforskriften windows.
func DefaultKJWindowYears() map[string]int {
	return map[string]int{"A00-1": 0, "C00-1": 1, "I00-1": 1, "D00-1": 5, "E00-1": 5}
}

// New returns a Policy for cfg with defaults filled in.
func New(cfg Config) (*Policy, error) {
	p := &Policy{
		allowed:      cfg.AllowedAuthorizations,
		minLevel:     cfg.MinSecurityLevel,
		maxAge:       cfg.AttestationMaxAge,
		kjScope:      cfg.KJScope,
		kjWindows:    cfg.KJWindowYears,
		requireBound: cfg.RequireAttestedPatient,
	}
	if len(p.allowed) == 0 {
		p.allowed = []string{"LE", "PS"}
	}
	if p.minLevel == 0 {
		p.minLevel = 4
	}
	if p.maxAge == 0 {
		p.maxAge = 60 * time.Minute
	}
	if p.kjScope == "" {
		p.kjScope = trust.ScopeReadDocumentReferencesKJ
	}
	if p.kjWindows == nil {
		p.kjWindows = DefaultKJWindowYears()
	}
	for code, years := range p.kjWindows {
		if years < 0 {
			return nil, fmt.Errorf("policy: negative window for class code %s", code)
		}
	}
	if p.minLevel < 0 || p.maxAge < 0 {
		return nil, fmt.Errorf("policy: negative security level or attestation age")
	}
	return p, nil
}

// Default is the policy with every default.
func Default() *Policy {
	p, _ := New(Config{})
	return p
}

func deny(rule, format string, args ...any) Decision {
	return Decision{Effect: Deny, Rule: rule, Reason: "Denied: " + fmt.Sprintf(format, args...)}
}

// Decide decides req. It never permits without naming the rule.
func (p *Policy) Decide(req Request) Decision {
	pr := req.Principal
	if pr == nil {
		return deny(RuleNoPrincipal, "the request carries no verified principal.")
	}
	switch req.Action {
	case ActionFind, ActionRead, ActionRegister, ActionAudit:
	default:
		return deny(RuleUnknownAction, "the action %q is not known to the policy.", req.Action)
	}
	if req.Action == ActionRegister {
		return p.register(req)
	}
	if req.Action == ActionAudit {
		return p.audit(req)
	}
	switch pr.Kind {
	case trust.HealthWorker:
		return p.healthWorker(req)
	case trust.Citizen:
		return p.citizen(req)
	case trust.Compliance, trust.System, trust.ClientCredentials:
		// A system's queries are served by the Guard without this policy
		// (and only for a system from a certificate); here, as everywhere
		// policy decides, nobody without a person reads patient data.
		return deny(RulePatientDataNotPermitted, "a %s principal may not read patient documents.", pr.Kind)
	default:
		return deny(RuleUnknownPrincipalKind, "the principal's kind %q is not known to the policy.", pr.Kind)
	}
}

// onePatient enforces one patient per request and that every document
// belongs to it.
func onePatient(req Request) (string, *Decision) {
	if len(req.PatientIDs) != 1 || req.PatientIDs[0] == "" {
		d := deny(RuleOnePatientPerRequest, "a request must concern exactly one patient (it named %d).", len(req.PatientIDs))
		return "", &d
	}
	patient := req.PatientIDs[0]
	for _, doc := range req.Documents {
		if doc.PatientID != patient {
			d := deny(RuleDocumentPatientMismatch, "document %s does not belong to the patient the request concerns.", doc.UniqueID)
			return "", &d
		}
	}
	return patient, nil
}

func (p *Policy) healthWorker(req Request) Decision {
	pr := req.Principal
	if pr.SecurityLevel < p.minLevel {
		return deny(RuleSecurityLevel, "the user authenticated at security level %d; %d is required.", pr.SecurityLevel, p.minLevel)
	}
	if !pr.HasAttestation {
		return deny(RuleAttestationMissing, "a health worker must present a trust-framework attestation.")
	}
	if age := req.Now.Sub(pr.AttestedAt); age > p.maxAge {
		return deny(RuleAttestationExpired, "the attestation was made %s ago; at most %s is allowed.", age.Round(time.Second), p.maxAge)
	}
	auth := pr.Authorization
	if auth.Code == "" || !trust.SameSystem(auth.System, oid.Volven9060) || !slices.Contains(p.allowed, auth.Code) {
		code := auth.Code
		if code == "" {
			code = "none"
		}
		return deny(RuleAuthorizationNotAllowed, "authorization %s is not among those allowed to read documents (%s).", code, strings.Join(p.allowed, ", "))
	}
	purpose := pr.PurposeOfUse
	emergency := false
	switch {
	case !trust.SameSystem(purpose.System, oid.PurposeOfUse):
		return deny(RulePurposeNotAllowed, "purpose of use %s from system %s is not allowed.", purpose.Code, purpose.System)
	case purpose.Code == trust.PurposeTreat || purpose.Code == trust.PurposeCOC:
	case purpose.Code == trust.PurposeETreat || purpose.Code == trust.PurposeBTG:
		emergency = true
	default:
		return deny(RulePurposeNotAllowed, "purpose of use %s is not allowed.", purpose.Code)
	}
	patient, d := onePatient(req)
	if d != nil {
		return *d
	}
	// Patient binding: the attestation may not be reused for another patient.
	var attested []string
	for _, ap := range pr.Patients {
		if ap.Identifier.ID != "" {
			attested = append(attested, ap.Identifier.ID)
		}
	}
	if len(attested) > 0 && !slices.Contains(attested, patient) {
		return deny(RuleAttestationPatientBinding, "the attestation was made for another patient.")
	}
	if len(attested) == 0 && p.requireBound {
		return deny(RuleAttestationPatientBinding, "the attestation names no patient.")
	}

	dec := Decision{Effect: Permit}
	for _, b := range req.Blocks {
		if b.PatientID != patient || !blockApplies(b, pr, req.Now) {
			continue
		}
		if len(b.DocumentUniqueIDs) == 0 && b.SourceOrgNr == "" {
			return deny(RulePatientBlock, "the patient has blocked this health worker's or organisation's access (block %s); emergency access does not lift a block.", b.ID)
		}
	}
	kj := req.Scope != "" && req.Scope == p.kjScope
	var hiddenRule string
	for _, doc := range req.Documents {
		rule := p.hideFromHealthWorker(doc, req, pr, patient, kj)
		switch rule {
		case "":
			dec.Visible = append(dec.Visible, doc)
			continue
		case RuleDocumentNORS:
			dec.HiddenNORS++
		case RuleDocumentBlocked:
			dec.HiddenBlocked++
		case RuleDocumentOutsideWindow:
			dec.HiddenOutsideWindow++
		}
		if hiddenRule == "" {
			hiddenRule = rule
		}
	}
	if req.Action == ActionRead && len(req.Documents) > 0 && len(dec.Visible) == 0 {
		switch hiddenRule {
		case RuleDocumentNORS:
			return withCounts(deny(RuleDocumentNORS, "the document is marked NORS (sperret) and is hidden from health personnel."), dec)
		case RuleDocumentBlocked:
			return withCounts(deny(RuleDocumentBlocked, "the patient has blocked this document for this health worker or organisation."), dec)
		default:
			return withCounts(deny(RuleDocumentOutsideWindow, "the document is outside the kjernejournalforskriften window for its class."), dec)
		}
	}
	hidden := hiddenSummary(dec)
	if emergency {
		dec.Rule = RuleHealthWorkerEmergency
		if purpose.Code == trust.PurposeBTG {
			dec.Flags = append(dec.Flags, FlagBTG)
		} else {
			dec.Flags = append(dec.Flags, FlagETREAT)
		}
		dec.Reason = fmt.Sprintf("Permitted: %s (%s) with purpose of use %s (emergency access, flagged for review); %d document(s) visible%s.",
			pr.Authorization.Code, authText(pr), purpose.Code, len(dec.Visible), hidden)
		return dec
	}
	dec.Rule = RuleHealthWorkerCare
	dec.Reason = fmt.Sprintf("Permitted: %s (%s) with purpose of use %s and a valid attestation; %d document(s) visible%s.",
		pr.Authorization.Code, authText(pr), purpose.Code, len(dec.Visible), hidden)
	return dec
}

func authText(pr *trust.Principal) string {
	if pr.Authorization.Text != "" {
		return pr.Authorization.Text
	}
	return "authorization 9060"
}

func withCounts(d, counts Decision) Decision {
	d.HiddenNORS = counts.HiddenNORS
	d.HiddenBlocked = counts.HiddenBlocked
	d.HiddenOutsideWindow = counts.HiddenOutsideWindow
	d.HiddenFromCitizen = counts.HiddenFromCitizen
	return d
}

func hiddenSummary(d Decision) string {
	var parts []string
	if d.HiddenNORS > 0 {
		parts = append(parts, fmt.Sprintf("%d NORS", d.HiddenNORS))
	}
	if d.HiddenBlocked > 0 {
		parts = append(parts, fmt.Sprintf("%d blocked by the patient", d.HiddenBlocked))
	}
	if d.HiddenOutsideWindow > 0 {
		parts = append(parts, fmt.Sprintf("%d outside the kjernejournalforskriften window", d.HiddenOutsideWindow))
	}
	if d.HiddenFromCitizen > 0 {
		parts = append(parts, fmt.Sprintf("%d not shown to the citizen", d.HiddenFromCitizen))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; hidden: " + strings.Join(parts, ", ")
}

// hideFromHealthWorker returns the rule that hides doc, or "".
func (p *Policy) hideFromHealthWorker(doc Document, req Request, pr *trust.Principal, patient string, kj bool) string {
	for _, b := range req.Blocks {
		if b.PatientID != patient || !blockApplies(b, pr, req.Now) {
			continue
		}
		if len(b.DocumentUniqueIDs) > 0 && slices.Contains(b.DocumentUniqueIDs, doc.UniqueID) && (b.SourceOrgNr == "" || slices.Contains(doc.AuthorInstitutions, b.SourceOrgNr)) {
			return RuleDocumentBlocked
		}
		if len(b.DocumentUniqueIDs) == 0 && b.SourceOrgNr != "" && slices.Contains(doc.AuthorInstitutions, b.SourceOrgNr) {
			return RuleDocumentBlocked
		}
	}
	for _, c := range doc.Confidentiality {
		if c.Code == "NORS" && (c.System == "" || trust.SameSystem(c.System, oid.Volven9603)) {
			return RuleDocumentNORS
		}
	}
	if kj {
		if doc.ClassCode.System != "" && !trust.SameSystem(doc.ClassCode.System, oid.Volven9602) {
			return RuleDocumentOutsideWindow
		}
		years, ok := p.kjWindows[doc.ClassCode.Code]
		if !ok {
			return RuleDocumentOutsideWindow
		}
		if years > 0 && (doc.CreationTime.IsZero() || doc.CreationTime.Before(req.Now.AddDate(-years, 0, 0))) {
			return RuleDocumentOutsideWindow
		}
	}
	return ""
}

// blockApplies reports whether b is in force at now and names pr.
func blockApplies(b Block, pr *trust.Principal, now time.Time) bool {
	if !b.ValidFrom.IsZero() && now.Before(b.ValidFrom) {
		return false
	}
	if !b.ValidTo.IsZero() && !now.Before(b.ValidTo) {
		return false
	}
	if b.Everyone {
		return true
	}
	if b.PractitionerID == "" && b.HPRNumber == "" && b.OrgNr == "" {
		return false
	}
	if b.PractitionerID != "" && b.PractitionerID != pr.Subject {
		return false
	}
	if b.HPRNumber != "" && b.HPRNumber != pr.HPRNumber {
		return false
	}
	if b.OrgNr != "" && b.OrgNr != pr.LegalEntity.ID && b.OrgNr != pr.PointOfCare.ID {
		return false
	}
	return true
}

// citizenHidden reports whether a confidentiality code keeps a document
// from the citizen: NORN_* (never shown to the citizen) and NORU (shown
// only after a delay we have no release date for).
func citizenHidden(doc Document) bool {
	for _, c := range doc.Confidentiality {
		if c.System != "" && !trust.SameSystem(c.System, oid.Volven9603) {
			continue
		}
		if strings.HasPrefix(c.Code, "NORN") || c.Code == "NORU" {
			return true
		}
	}
	return false
}

func (p *Policy) citizen(req Request) Decision {
	pr := req.Principal
	if pr.SecurityLevel < p.minLevel {
		return deny(RuleSecurityLevel, "the citizen authenticated at security level %d; %d is required.", pr.SecurityLevel, p.minLevel)
	}
	patient, d := onePatient(req)
	if d != nil {
		return *d
	}
	if pr.Subject == "" || patient != pr.Subject {
		return deny(RuleCitizenOtherPatient, "a citizen may only see their own documents.")
	}
	dec := Decision{Effect: Permit, Rule: RuleCitizenOwnRecords}
	for _, doc := range req.Documents {
		if citizenHidden(doc) {
			dec.HiddenFromCitizen++
			continue
		}
		dec.Visible = append(dec.Visible, doc)
	}
	if req.Action == ActionRead && len(req.Documents) > 0 && len(dec.Visible) == 0 {
		return withCounts(deny(RuleDocumentHiddenFromCitizen, "the document's confidentiality keeps it from the citizen."), dec)
	}
	dec.Reason = fmt.Sprintf("Permitted: the citizen's own documents; %d document(s) visible%s.", len(dec.Visible), hiddenSummary(dec))
	return dec
}

func (p *Policy) audit(req Request) Decision {
	pr := req.Principal
	switch pr.Kind {
	case trust.Compliance:
		if pr.SecurityLevel < p.minLevel {
			return deny(RuleSecurityLevel, "the user authenticated at security level %d; %d is required.", pr.SecurityLevel, p.minLevel)
		}
		return Decision{Effect: Permit, Rule: RuleComplianceAuditReview, Reason: "Permitted: compliance review of the access log."}
	case trust.Citizen:
		if pr.SecurityLevel < p.minLevel {
			return deny(RuleSecurityLevel, "the citizen authenticated at security level %d; %d is required.", pr.SecurityLevel, p.minLevel)
		}
		patient, d := onePatient(req)
		if d != nil {
			return *d
		}
		if patient != pr.Subject {
			return deny(RuleCitizenOtherPatient, "a citizen may only see the access log of their own records.")
		}
		return Decision{Effect: Permit, Rule: RuleCitizenOwnAuditLog, Reason: "Permitted: the citizen's own access log."}
	default:
		return deny(RuleAuditNotPermitted, "a %s principal may not read the access log.", pr.Kind)
	}
}

// register lets a source submit documents only for its own organisation:
// every document's author institutions must be organisations the
// principal acts for.
func (p *Policy) register(req Request) Decision {
	pr := req.Principal
	if pr.Kind != trust.System && pr.Kind != trust.ClientCredentials && pr.Kind != trust.HealthWorker {
		return deny(RuleRegisterNotPermitted, "a %s principal may not register documents.", pr.Kind)
	}
	if _, d := onePatient(req); d != nil {
		return *d
	}
	orgs := pr.Organizations()
	if len(orgs) == 0 {
		return deny(RuleSourceForeignOrganisation, "the source is not tied to an organisation.")
	}
	if len(req.Documents) == 0 {
		return deny(RuleRegisterNotPermitted, "the submission holds no documents.")
	}
	for _, doc := range req.Documents {
		if len(doc.AuthorInstitutions) == 0 {
			return deny(RuleSourceForeignOrganisation, "document %s names no author institution by organisation number.", doc.UniqueID)
		}
		for _, org := range doc.AuthorInstitutions {
			if !slices.Contains(orgs, org) {
				return deny(RuleSourceForeignOrganisation, "document %s is authored by organisation %s, which the source does not act for.", doc.UniqueID, org)
			}
		}
	}
	return Decision{
		Effect:  Permit,
		Rule:    RuleSourceOwnOrganisation,
		Visible: req.Documents,
		Reason:  fmt.Sprintf("Permitted: %d document(s) authored by the source's own organisation (%s).", len(req.Documents), strings.Join(orgs, ", ")),
	}
}
