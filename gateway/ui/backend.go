package ui

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"pjd/trust"
)

// Backend is everything the UI needs from pjd: the operations behind the
// pages, each already wrapped in the enforcement layer (authentication,
// access policy, audit). The UI never talks to the registry, the
// repository, the policy or the audit log itself; whatever implements
// Backend does, and it must write the audit record before any data is
// returned. See doc.go for the contract of every method.
type Backend interface {
	// AuthenticateLaunch verifies the host's server-to-server call to
	// POST /ui/launch: the HelseID access token, its DPoP proof (htu is
	// the external URL of /ui/launch, htm POST) and, for a health worker,
	// the trust-framework attestation. It must not read r.Body. Errors
	// are *AuthError, or wrap ErrUnauthenticated, ErrForbidden or
	// ErrUnavailable.
	AuthenticateLaunch(r *http.Request) (*trust.Principal, error)

	// ListDocuments returns the documents of patient that p may see,
	// newest first, with the count of hidden (NORS) documents. It is
	// policy-filtered and audited as a query (UI-LIST). f may narrow the
	// search; the UI applies every filter itself as well, so an
	// implementation may ignore f.
	ListDocuments(ctx context.Context, p *trust.Principal, patient string, f ListFilter) (*DocumentList, error)

	// DocumentInfo returns the metadata of one document of patient (for
	// the viewer's heading), policy-checked and audited as a query.
	DocumentInfo(ctx context.Context, p *trust.Principal, patient, ref string) (*Document, error)

	// OpenDocument is an audited retrieval (UI-VIEW): the audit record is
	// written before the reader is returned. The caller closes the
	// reader.
	OpenDocument(ctx context.Context, p *trust.Principal, patient, ref string) (*Document, io.ReadCloser, error)

	// SearchAudit searches the access log (compliance staff only).
	SearchAudit(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error)

	// FlaggedAccesses returns the accesses queued for follow-up review
	// (emergency access, access outside the organisation's care
	// relation, many patients in a short time), with the attestation
	// elements.
	FlaggedAccesses(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error)

	// VerifyAuditChain reports whether the hash chain of the audit log
	// verifies.
	VerifyAuditChain(ctx context.Context, p *trust.Principal) (ChainStatus, error)

	// ExportAudit streams every record matching f (no paging: Cursor and
	// Limit are ignored) to emit, in the order SearchAudit returns them,
	// and stops at the first error emit returns. The UI formats the CSV.
	// It is audited as an export.
	ExportAudit(ctx context.Context, p *trust.Principal, f AuditFilter, emit func(AuditRow) error) error

	// CitizenAccessLog returns who accessed the documents of the citizen
	// p (p.Subject); rows carry no health worker's national identity
	// number.
	CitizenAccessLog(ctx context.Context, p *trust.Principal, f AuditFilter) (*AuditPage, error)

	// CitizenBlocks returns the blocks in force on the documents of the
	// citizen p (p.Subject), oldest first: the same blocks, decided and
	// audited the same way, as GET /fhir/R4/Consent.
	CitizenBlocks(ctx context.Context, p *trust.Principal) ([]CitizenBlock, error)

	// RevokeCitizenBlock ends the block id of the citizen p, as DELETE
	// /fhir/R4/Consent/{id} does (audited). ErrNotFound when p has no
	// such block in force (unknown, already revoked, or another
	// person's: the same answer).
	RevokeCitizenBlock(ctx context.Context, p *trust.Principal, id string) error

	// BlockAllSharing makes a block of all sharing of the citizen p's
	// documents with every health worker, as POST /fhir/R4/Consent with a
	// bare deny provision does (audited).
	BlockAllSharing(ctx context.Context, p *trust.Principal) error
}

// Errors a Backend returns (wrapped or as *DeniedError / *AuthError); the
// UI maps them to pages and status codes and never shows their text.
var (
	// ErrUnauthenticated: no valid credential (401).
	ErrUnauthenticated = errors.New("ui: not authenticated")
	// ErrForbidden: the principal may not do this (403).
	ErrForbidden = errors.New("ui: forbidden")
	// ErrNotFound: no such document, or not one of this patient's (404).
	ErrNotFound = errors.New("ui: not found")
	// ErrUnavailable: a dependency is down; try again later (503).
	ErrUnavailable = errors.New("ui: temporarily unavailable")
	// ErrInvalidInput: the request was malformed (400).
	ErrInvalidInput = errors.New("ui: invalid input")
)

// DeniedError is a policy denial: the rule that decided and its reason.
// errors.Is(err, ErrForbidden) holds. The UI shows a Norwegian text for
// well-known rules; the Reason is logged, not shown.
type DeniedError struct {
	Rule   string
	Reason string
}

func (e *DeniedError) Error() string { return "ui: denied by " + e.Rule + ": " + e.Reason }

// Is makes errors.Is(err, ErrForbidden) true.
func (e *DeniedError) Is(target error) bool { return target == ErrForbidden }

// AuthError is a refused launch credential as the trust layer classified
// it. Description is the only text sent to the client; Err is logged.
type AuthError struct {
	Status          int    // 401, 403 or 503
	Code            string // OAuth error code: invalid_token, invalid_dpop_proof, insufficient_scope …
	Description     string
	WWWAuthenticate string // sent as WWW-Authenticate when not empty
	Err             error
}

func (e *AuthError) Error() string {
	if e.Err != nil {
		return "ui: launch credential refused: " + e.Code + ": " + e.Err.Error()
	}
	return "ui: launch credential refused: " + e.Code
}

func (e *AuthError) Unwrap() error { return e.Err }

// Code is a coded value with its display name (Volven 9602 for class and
// type codes, Volven 9060 for authorisations, HL7 v3 for purpose of use).
// Display may be empty; the UI then shows the code.
type Code struct {
	Code    string `json:"code,omitempty"`
	System  string `json:"system,omitempty"`
	Display string `json:"display,omitempty"`
}

// Label is what the UI shows for c.
func (c Code) Label() string { return cmp.Or(c.Display, c.Code) }

// Org is an organisation or unit: organisation number (or RESH id) and
// name.
type Org struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Label is what the UI shows for o.
func (o Org) Label() string { return cmp.Or(o.Name, o.ID) }

// ListFilter narrows a document list. Zero fields do not filter.
type ListFilter struct {
	From time.Time // creation time ≥ From
	To   time.Time // creation time < To
}

// DocumentList is one patient's documents as the principal may see them.
type DocumentList struct {
	// PatientName is shown next to the national identity number so the
	// health worker can confirm the patient; may be empty.
	PatientName string
	// Documents, newest first.
	Documents []Document
	// HiddenNORS counts the documents hidden because they are
	// confidential (NORS); they are never listed.
	HiddenNORS int
	// EmergencyAccess is the purpose of use (BTG or ETREAT) when the list
	// was reached through emergency access, otherwise empty.
	EmergencyAccess string
	// Unavailable names the regions (communities) whose documents could
	// not be fetched now: the list is without them, and says so.
	Unavailable []string
}

// Document is one document's metadata as the UI shows it.
type Document struct {
	// Ref identifies the document in DocumentInfo and OpenDocument (the
	// XDS uniqueId, or whatever the Backend chooses); opaque to the UI.
	Ref              string
	Title            string
	Date             time.Time // creation time
	Class            Code      // Volven 9602 category (X00-1)
	Type             Code      // Volven 9602 type (Xnn-2)
	SourceOrg        Org       // authorInstitution
	SourceDepartment Org
	Author           string // the author's name
	MimeType         string
	Size             int64 // bytes; negative when unknown
	// Version is the XDS version of the metadata shown ("1" for a
	// document never updated with ITI-57; "" when unknown).
	Version string
	// EmergencyAccess marks a document the principal sees only through
	// emergency access (BTG / ETREAT).
	EmergencyAccess bool
	// Region names the community (region) that holds the document when
	// it is not this node; empty for this node's own.
	Region string
}

// AuditFilter is a search of the access log. Zero fields do not filter.
type AuditFilter struct {
	Patient      string    // national identity number of the patient
	Worker       string    // HPR number or national identity number of the health worker
	Organisation string    // organisation number (legal entity or point of care)
	Document     string    // document unique id
	From         time.Time // time ≥ From
	To           time.Time // time < To
	Cursor       string    // from a previous AuditPage.Next
	Limit        int       // page size; 0 = the Backend's default
}

// IsZero reports whether f filters nothing.
func (f AuditFilter) IsZero() bool {
	return f.Patient == "" && f.Worker == "" && f.Organisation == "" && f.Document == "" && f.From.IsZero() && f.To.IsZero()
}

// AuditPage is one page of access-log rows, newest first.
type AuditPage struct {
	Rows  []AuditRow
	Next  string // cursor of the next page; empty on the last page
	Total int    // rows matching in all; negative when unknown
}

// Outcome of an access.
type Outcome string

// Outcomes.
const (
	OutcomePermit Outcome = "permit"
	OutcomeDeny   Outcome = "deny"
	OutcomeError  Outcome = "error"
)

// Flag marks an access for follow-up review.
type Flag string

// Flags.
const (
	FlagBTG                 Flag = "btg"                   // break the glass
	FlagETREAT              Flag = "etreat"                // emergency treatment
	FlagOutsideCareRelation Flag = "outside-care-relation" // the organisation has no care relation with the patient
	FlagManyPatients        Flag = "many-patients"         // many patients in a short time
	FlagReview              Flag = "review"                // policy asked for review for another reason
)

// Person is the health worker who accessed.
type Person struct {
	Name string
	HPR  string
	PID  string // national identity number; empty in a citizen's log
	Role Code   // authorisation, Volven 9060 (LE, PS …)
}

// AuditDocument is a document an access was about.
type AuditDocument struct {
	ID          string
	Title       string
	Type        Code
	Disposition string // returned, refused, hidden
}

// AttestationInfo holds the trust-framework elements an access was based
// on.
type AttestationInfo struct {
	PurposeOfUse        Code
	PurposeOfUseDetails Code
	HealthcareService   Code
	DecisionRef         string
	UserSelected        bool
	AttestedAt          time.Time
	PatientPointOfCare  Org
	PatientDepartment   Org
}

// AuditRow is one access: one query or one retrieval.
type AuditRow struct {
	ID           string
	Time         time.Time
	Transaction  string // UI-LIST, UI-VIEW, ITI-67, ITI-68 …
	Action       string // query, read
	Outcome      Outcome
	Rule         string
	Reason       string
	Flags        []Flag
	Worker       Person
	Organisation Org // legal entity
	PointOfCare  Org
	Department   Org
	Patient      string
	Documents    []AuditDocument
	Purpose      Code // purpose of use (TREAT, ETREAT, COC, BTG)
	Attestation  AttestationInfo
	Client       string // the calling system
	HiddenNORS   int
	RequestID    string
}

// BlockScope is what a citizen's block covers.
type BlockScope string

// Block scopes.
const (
	BlockDocument BlockScope = "document" // one document
	BlockSource   BlockScope = "source"   // every document from one organisation
	BlockAll      BlockScope = "all"      // all sharing
)

// CitizenBlock is one block in force on a citizen's documents.
type CitizenBlock struct {
	// ID identifies the block in RevokeCitizenBlock (the Consent id);
	// opaque to the UI.
	ID    string
	Scope BlockScope
	// Documents are the blocked documents' ids (BlockDocument).
	Documents []string
	// Source is the organisation whose documents are blocked
	// (BlockSource).
	Source Org
	// Recipient names who the block applies to when it is not every
	// health worker (a block an administrator made with pjd blocks), in
	// Norwegian; empty for everyone.
	Recipient string
	From      time.Time // zero when unknown
}

// Label says in Norwegian what b covers: «Dokumentet …», «Alle
// dokumenter fra …» or «All deling».
func (b CitizenBlock) Label() string {
	switch b.Scope {
	case BlockDocument:
		return "Dokumentet " + strings.Join(b.Documents, ", ")
	case BlockSource:
		if b.Source.Name != "" {
			return "Alle dokumenter fra " + b.Source.Name
		}
		return "Alle dokumenter fra virksomheten med organisasjonsnummer " + b.Source.ID
	}
	return "All deling"
}

// Object is Label as the object of a sentence («Fjern sperringen av
// all deling»).
func (b CitizenBlock) Object() string {
	l := b.Label()
	r, n := utf8.DecodeRuneInString(l)
	return string(unicode.ToLower(r)) + l[n:]
}

// ChainStatus is the result of verifying the audit log's hash chain.
type ChainStatus struct {
	OK       bool
	Records  int64     // records examined
	Head     string    // hash of the last good record
	Verified time.Time // when the verification ran
	// When !OK: the first bad record and what was wrong with it.
	FirstBad int64
	Problem  string
}
