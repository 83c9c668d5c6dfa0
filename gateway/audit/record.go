package audit

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Action says what kind of access a record is about.
type Action string

const (
	ActionQuery Action = "query" // a search: ITI-18, ITI-66, ITI-67, UI-LIST, AUDIT-SEARCH …
	ActionRead  Action = "read"  // a retrieval: ITI-43, ITI-68, UI-VIEW …
	// The document lifecycle (issue 13): changes to what is registered,
	// to a patient's identity links and to a patient's own blocks.
	ActionCreate Action = "create" // a new link or block (ITI-104, Consent create)
	ActionUpdate Action = "update" // a metadata update (ITI-57), an unlink, a revoked block
	ActionDelete Action = "delete" // a removal (ITI-62, ITI-86)
)

// Outcome is how the access ended.
type Outcome string

const (
	OutcomePermit Outcome = "permit" // policy permitted; data (possibly filtered) was returned
	OutcomeDeny   Outcome = "deny"   // policy or authentication refused; nothing was returned
	OutcomeError  Outcome = "error"  // the request failed for another reason
)

// ActorKind says who was asking.
type ActorKind string

const (
	ActorHealthWorker ActorKind = "health_worker"
	ActorCitizen      ActorKind = "citizen"
	ActorSystem       ActorKind = "system"
	// ActorUnknown is for requests refused before anyone was
	// authenticated (no or invalid credential).
	ActorUnknown ActorKind = "unknown"
)

// Disposition says what happened to one document of a record.
type Disposition string

const (
	DocReturned Disposition = "returned" // listed or delivered to the caller
	DocRefused  Disposition = "refused"  // asked for or matched, and withheld by policy or error
	DocHidden   Disposition = "hidden"   // matched but hidden from the caller (e.g. NORS)
)

// Transactions the gateway records. Any code matching
// [A-Z0-9][A-Z0-9-]{0,31} is accepted; these are the ones pjd writes.
const (
	TxITI18       = "ITI-18"  // Registry Stored Query
	TxITI38       = "ITI-38"  // Cross Gateway Query
	TxITI39       = "ITI-39"  // Cross Gateway Retrieve
	TxITI43       = "ITI-43"  // Retrieve Document Set
	TxITI66       = "ITI-66"  // Find Document Lists
	TxITI67       = "ITI-67"  // Find Document References
	TxITI68       = "ITI-68"  // Retrieve Document
	TxITI51       = "ITI-51"  // Multi-Patient Stored Query
	TxITI57       = "ITI-57"  // Update Document Set (metadata update)
	TxITI62       = "ITI-62"  // Remove Metadata (Delete Document Set)
	TxITI86       = "ITI-86"  // Remove Documents
	TxITI104      = "ITI-104" // Patient Identity Feed FHIR (and pjd patients link/unlink)
	TxConsent     = "CONSENT" // a patient's own blocks as FHIR Consent
	TxUIList      = "UI-LIST"
	TxUIView      = "UI-VIEW"
	TxAuditSearch = "AUDIT-SEARCH" // the audit review API itself
	TxAuditExport = "AUDIT-EXPORT"
)

// DocumentTransactions are the transactions that touch a patient's
// documents: what a citizen's access log shows.
var DocumentTransactions = []string{TxITI18, TxITI38, TxITI39, TxITI43, TxITI51, TxITI57, TxITI62, TxITI66, TxITI67, TxITI68,
	TxITI86, TxITI104, TxConsent, TxUIList, TxUIView}

// Code is a coded value (Volven, HL7 v3, DIPS …) as the credential
// carried it. System is a URI or urn:oid.
type Code struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// IsZero reports whether c carries nothing.
func (c Code) IsZero() bool { return c == Code{} }

// Ident names an organisation or unit: an org.nr (…4.101), a RESH id
// (…4.102) or a local id, with its display name.
type Ident struct {
	ID     string `json:"id,omitempty"`
	System string `json:"system,omitempty"`
	Name   string `json:"name,omitempty"`
}

// IsZero reports whether i carries nothing.
func (i Ident) IsZero() bool { return i == Ident{} }

// Flags mark a record for follow-up review.
type Flags struct {
	BTG    bool `json:"btg,omitempty"`    // break the glass (purpose of use BTG)
	ETREAT bool `json:"etreat,omitempty"` // emergency treatment
	Review bool `json:"review,omitempty"` // policy asked for manual review for another reason
}

// Any reports whether any flag is set.
func (f Flags) Any() bool { return f.BTG || f.ETREAT || f.Review }

// codes names the flags set: "btg", "etreat", "review".
func (f Flags) codes() []string {
	var out []string
	if f.BTG {
		out = append(out, "btg")
	}
	if f.ETREAT {
		out = append(out, "etreat")
	}
	if f.Review {
		out = append(out, "review")
	}
	return out
}

// Actor is who asked: the person and the organisation they acted for.
type Actor struct {
	Kind ActorKind `json:"kind"`
	// PID is the person's national identity number (F-nr or D-nr). It is
	// never shown to a citizen.
	PID           string `json:"pid,omitempty"`
	Name          string `json:"name,omitempty"`
	HPR           string `json:"hpr,omitempty"`
	Authorization Code   `json:"authorization,omitzero"` // Volven 9060: LE, PS, SP …
	LegalEntity   Ident  `json:"legal_entity,omitzero"`
	PointOfCare   Ident  `json:"point_of_care,omitzero"`
	Department    Ident  `json:"department,omitzero"`
	SecurityLevel string `json:"security_level,omitempty"`
}

// DecisionRef is the attestation's reference to the local access decision.
type DecisionRef struct {
	ID           string `json:"id,omitempty"`
	UserSelected bool   `json:"user_selected,omitempty"`
	Description  string `json:"description,omitempty"`
}

// IsZero reports whether d carries nothing.
func (d DecisionRef) IsZero() bool { return d == DecisionRef{} }

// Attestation holds the trust-framework elements ("tjenstlig behov") the
// decision was based on.
type Attestation struct {
	PurposeOfUse        Code        `json:"purpose_of_use,omitzero"` // TREAT, ETREAT, COC, BTG
	PurposeOfUseDetails Code        `json:"purpose_of_use_details,omitzero"`
	HealthcareService   Code        `json:"healthcare_service,omitzero"`
	DecisionRef         DecisionRef `json:"decision_ref,omitzero"`
	// TOA is the time of attestation, Unix seconds.
	TOA int64 `json:"toa,omitempty"`
	// The patient's point of care and department as the attestation
	// named them (ATT-52, ATT-57), when it did.
	PatientPointOfCare Ident `json:"patient_point_of_care,omitzero"`
	PatientDepartment  Ident `json:"patient_department,omitzero"`
}

// Client is the calling system (HelseID client).
type Client struct {
	ID    string `json:"client_id,omitempty"`
	Name  string `json:"name,omitempty"`
	OrgNr string `json:"orgnr,omitempty"`
}

// Document is one document a record is about.
type Document struct {
	UniqueID    string      `json:"unique_id"`
	Class       Code        `json:"class,omitzero"`
	Type        Code        `json:"type,omitzero"`
	SourceOrg   Ident       `json:"source_org,omitzero"` // authorInstitution
	Disposition Disposition `json:"disposition"`
	// Home is the homeCommunityId of the community that holds the
	// document, when known (federated searches, XCA).
	Home string `json:"home,omitempty"`
}

// Community is the outcome of one community a federated search asked
// (issue 12): the search is recorded once, with each community's part.
type Community struct {
	ID        string `json:"id"`             // homeCommunityId, urn:oid:…
	Name      string `json:"name,omitempty"` // display name
	Outcome   string `json:"outcome"`        // CommunityAnswered, or the failure kind (timeout, unreachable …)
	Reason    string `json:"reason,omitempty"`
	Documents int    `json:"documents"` // entries it returned (before policy)
}

// CommunityAnswered is the Outcome of a community that gave a valid answer.
const CommunityAnswered = "answered"

// Record is one audit record: one query or one retrieval, permitted or
// not. It is flat and JSON-serialisable; the JSON field names are stable
// (they are part of the sealed bytes and of every export).
//
// ID, Time and Seq are assigned when the record is logged (ID and Time
// only when empty); Hash when it is sealed. PatientID is the bare national
// identity number (F-nr, D-nr or H-nr) of the patient asked about.
type Record struct {
	ID          string      `json:"id"`
	Seq         int64       `json:"seq"`
	Time        time.Time   `json:"time"`
	Transaction string      `json:"transaction"`
	Action      Action      `json:"action"`
	Outcome     Outcome     `json:"outcome"`
	Rule        string      `json:"rule,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Flags       Flags       `json:"flags,omitzero"`
	Credential  string      `json:"credential,omitempty"` // helseid-dpop, xua-saml, mtls …
	Actor       Actor       `json:"actor"`
	Attestation Attestation `json:"attestation,omitzero"`
	Client      Client      `json:"client,omitzero"`
	PatientID   string      `json:"patient_id,omitempty"`
	Documents   []Document  `json:"documents,omitempty"`
	// HiddenNORS counts documents hidden from the caller because they are
	// confidential (NORS); they are not listed in Documents unless the
	// gateway chose to record them with DocHidden.
	HiddenNORS int `json:"hidden_nors_count,omitempty"`
	// Communities are the other communities a federated search asked,
	// with each one's outcome; empty for a search of this node alone.
	Communities []Community `json:"communities,omitempty"`
	Query       string      `json:"query,omitempty"` // the search parameters, as received
	RequestID   string      `json:"request_id,omitempty"`
	EventID     string      `json:"nhn_event_id,omitempty"` // the nhn-event-id header
	// Gateway is the community gateway the request came through (XCA
	// ITI-38/39 at the responding gateway): the initiating community's
	// homeCommunityId from the XUA assertion and/or the calling gateway's
	// client certificate.
	Gateway   string `json:"gateway,omitempty"`
	SourceIP  string `json:"source_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`

	// Hash is the record's chain hash (hex), set once sealed. It is not
	// part of the sealed bytes.
	Hash string `json:"hash,omitempty"`
}

// Limits on what a record may hold. Free text beyond its limit is cut (it
// comes from clients and must not fail a request); identifiers beyond
// theirs are refused.
const (
	MaxDocuments  = 10000
	maxIDLen      = 256
	maxTextLen    = 4096
	maxReasonLen  = 2048
	maxUserAgent  = 512
	maxQueryLen   = 4096
	maxSourceIP   = 64
	maxTransLen   = 32
	maxRuleLength = 128
)

var txPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)

// Normalize prepares r for sealing: ID and Time from the arguments when
// empty, Time in UTC truncated to milliseconds, strings made valid UTF-8
// without NUL bytes, free text cut to its limit. It then validates r.
func (r *Record) Normalize(now time.Time, newID func() string) error {
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	r.Seq = 0
	r.Hash = ""
	r.walkStrings(func(s *string, limit int) {
		v := *s
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		if strings.IndexByte(v, 0) >= 0 {
			v = strings.ReplaceAll(v, "\x00", "")
		}
		if limit > 0 && len(v) > limit {
			v = truncateUTF8(v, limit)
		}
		*s = v
	})
	return r.Validate()
}

// walkStrings calls fn for every string field of r; limit > 0 marks free
// text that may be cut to that length.
func (r *Record) walkStrings(fn func(s *string, limit int)) {
	code := func(c *Code) { fn(&c.System, 0); fn(&c.Code, 0); fn(&c.Display, maxTextLen) }
	ident := func(i *Ident) { fn(&i.ID, 0); fn(&i.System, 0); fn(&i.Name, maxTextLen) }
	fn(&r.ID, 0)
	fn(&r.Transaction, 0)
	fn(&r.Rule, 0)
	fn(&r.Reason, maxReasonLen)
	fn(&r.Credential, 0)
	a := &r.Actor
	fn(&a.PID, 0)
	fn(&a.Name, maxTextLen)
	fn(&a.HPR, 0)
	code(&a.Authorization)
	ident(&a.LegalEntity)
	ident(&a.PointOfCare)
	ident(&a.Department)
	fn(&a.SecurityLevel, 0)
	at := &r.Attestation
	code(&at.PurposeOfUse)
	code(&at.PurposeOfUseDetails)
	code(&at.HealthcareService)
	fn(&at.DecisionRef.ID, 0)
	fn(&at.DecisionRef.Description, maxTextLen)
	ident(&at.PatientPointOfCare)
	ident(&at.PatientDepartment)
	fn(&r.Client.ID, 0)
	fn(&r.Client.Name, maxTextLen)
	fn(&r.Client.OrgNr, 0)
	fn(&r.PatientID, 0)
	for i := range r.Documents {
		d := &r.Documents[i]
		fn(&d.UniqueID, 0)
		code(&d.Class)
		code(&d.Type)
		ident(&d.SourceOrg)
		fn(&d.Home, 0)
	}
	for i := range r.Communities {
		c := &r.Communities[i]
		fn(&c.ID, 0)
		fn(&c.Name, maxTextLen)
		fn(&c.Outcome, 0)
		fn(&c.Reason, maxTextLen)
	}
	fn(&r.Query, maxQueryLen)
	fn(&r.RequestID, 0)
	fn(&r.EventID, 0)
	fn(&r.Gateway, maxTextLen)
	fn(&r.SourceIP, maxSourceIP)
	fn(&r.UserAgent, maxUserAgent)
}

// Validate checks that r can be sealed: the fields every record needs,
// known enumerations, and identifiers of sane length. The error is a
// *RecordError naming the field.
func (r *Record) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &RecordError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if _, err := uuid.Parse(r.ID); err != nil || len(r.ID) != 36 {
		return bad("id", "must be a UUID in canonical form")
	}
	if r.Time.IsZero() {
		return bad("time", "is required")
	}
	if !txPattern.MatchString(r.Transaction) {
		return bad("transaction", "must match %s", txPattern)
	}
	switch r.Action {
	case ActionQuery, ActionRead, ActionCreate, ActionUpdate, ActionDelete:
	default:
		return bad("action", "must be one of %q, %q, %q, %q, %q", ActionQuery, ActionRead, ActionCreate, ActionUpdate, ActionDelete)
	}
	switch r.Outcome {
	case OutcomePermit, OutcomeDeny, OutcomeError:
	default:
		return bad("outcome", "must be %q, %q or %q", OutcomePermit, OutcomeDeny, OutcomeError)
	}
	if r.Outcome == OutcomePermit && r.Rule == "" {
		return bad("rule", "a permit must name the rule that permitted it")
	}
	if len(r.Rule) > maxRuleLength {
		return bad("rule", "longer than %d bytes", maxRuleLength)
	}
	switch r.Actor.Kind {
	case ActorHealthWorker, ActorCitizen, ActorSystem, ActorUnknown:
	default:
		return bad("actor.kind", "must be one of %q, %q, %q, %q", ActorHealthWorker, ActorCitizen, ActorSystem, ActorUnknown)
	}
	if r.HiddenNORS < 0 {
		return bad("hidden_nors_count", "must not be negative")
	}
	if len(r.Documents) > MaxDocuments {
		return bad("documents", "more than %d documents", MaxDocuments)
	}
	for i, d := range r.Documents {
		if d.UniqueID == "" {
			return bad(fmt.Sprintf("documents[%d].unique_id", i), "is required")
		}
		switch d.Disposition {
		case DocReturned, DocRefused, DocHidden:
		default:
			return bad(fmt.Sprintf("documents[%d].disposition", i), "must be %q, %q or %q", DocReturned, DocRefused, DocHidden)
		}
	}
	var tooLong string
	r.walkStrings(func(s *string, limit int) {
		if tooLong == "" && limit == 0 && len(*s) > maxIDLen {
			tooLong = truncateUTF8(*s, 24)
		}
	})
	if tooLong != "" {
		return bad("identifier", "a value starting %q is longer than %d bytes", tooLong, maxIDLen)
	}
	return nil
}

// Flagged reports whether r is marked for follow-up review.
func (r *Record) Flagged() bool { return r.Flags.Any() }

// EntityIDs returns the sorted, distinct document unique ids of r.
func (r *Record) EntityIDs() []string {
	if len(r.Documents) == 0 {
		return nil
	}
	ids := make([]string, 0, len(r.Documents))
	for _, d := range r.Documents {
		ids = append(ids, d.UniqueID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Clone returns a deep copy of r.
func (r Record) Clone() Record {
	r.Documents = slices.Clone(r.Documents)
	return r
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// NewID returns a new random record id.
func NewID() string { return uuid.NewString() }
