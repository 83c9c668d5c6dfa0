package ui_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/gateway/ui"
	"pjd/registry/oid"
	"pjd/trust"
)

// testBackend stands in for pjd's enforcement layer (policy + audit over
// the registry and repository), not for any database: it reads synthetic
// documents from testdata/ui, applies a small policy, and keeps a
// hash-chained in-memory audit log of every list and view, so tests can
// check what the UI caused to be recorded.
type testBackend struct {
	fx  *fixtures
	now func() time.Time

	mu      sync.Mutex
	tokens  map[string]launchCred
	rows    []ui.AuditRow
	hashes  []string
	failAll error // returned by every data method while set
	seq     int
	blocks  []testBlock // citizens' blocks, in the order made
	// failBlocks is returned by the block methods alone while set (the
	// blocks store is down, the audit log is not).
	failBlocks error
}

// testBlock is a citizen's block as the Guard's consent functions keep
// it: whose, what, and whether it was revoked.
type testBlock struct {
	patient string
	block   ui.CitizenBlock
	revoked bool
}

type launchCred struct{ persona, patient string }

type fixtures struct {
	Patients []struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		CareOrgs []string `json:"care_orgs"`
	} `json:"patients"`
	Documents []fixtureDoc     `json:"documents"`
	Personas  []fixturePersona `json:"personas"`
}

type fixtureDoc struct {
	Ref           string    `json:"ref"`
	Patient       string    `json:"patient"`
	Title         string    `json:"title"`
	Date          time.Time `json:"date"`
	Class         ui.Code   `json:"class"`
	Type          ui.Code   `json:"type"`
	Source        ui.Org    `json:"source"`
	Department    ui.Org    `json:"department"`
	Author        string    `json:"author"`
	Mime          string    `json:"mime"`
	File          string    `json:"file"`
	EmergencyOnly bool      `json:"emergency_only"`
	NORS          bool      `json:"nors"`
}

type fixturePersona struct {
	ID            string `json:"id"`
	Label         string `json:"label"`
	Kind          string `json:"kind"`
	PID           string `json:"pid"`
	Name          string `json:"name"`
	HPR           string `json:"hpr"`
	Authorization string `json:"authorization"`
	Org           ui.Org `json:"org"`
	Purpose       string `json:"purpose"`
}

// Synthetic people of testdata/ui/documents.json.
const (
	patientKari = "15838210012" // has documents
	patientOla  = "03817810070" // has none
)

var _ ui.Backend = (*testBackend)(nil)

func loadFixtures(tb testing.TB) *fixtures {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "documents.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var fx fixtures
	if err := json.Unmarshal(b, &fx); err != nil {
		tb.Fatal(err)
	}
	return &fx
}

func newTestBackend(tb testing.TB, now func() time.Time) *testBackend {
	return &testBackend{fx: loadFixtures(tb), now: now, tokens: map[string]launchCred{}}
}

// token issues a credential for persona, attested for patient (what the
// host's HelseID token would carry).
func (b *testBackend) token(persona, patient string) string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	t := hex.EncodeToString(r[:])
	b.mu.Lock()
	b.tokens[t] = launchCred{persona, patient}
	b.mu.Unlock()
	return t
}

// authorize is the test DemoLauncher, and what a test host does.
func (b *testBackend) authorize(_ context.Context, req *http.Request, persona, patient string) error {
	if _, ok := b.persona(persona); !ok {
		return fmt.Errorf("unknown persona %q", persona)
	}
	req.Header.Set("Authorization", "DPoP "+b.token(persona, patient))
	req.Header.Set("DPoP", "test-proof")
	return nil
}

func (b *testBackend) persona(id string) (fixturePersona, bool) {
	i := slices.IndexFunc(b.fx.Personas, func(p fixturePersona) bool { return p.ID == id })
	if i < 0 {
		return fixturePersona{}, false
	}
	return b.fx.Personas[i], true
}

func (b *testBackend) demoPersonas() []ui.DemoPersona {
	var out []ui.DemoPersona
	for _, p := range b.fx.Personas {
		out = append(out, ui.DemoPersona{ID: p.ID, Label: p.Label, Kind: p.Kind})
	}
	return out
}

func (b *testBackend) demoPatients() []ui.DemoPatient {
	var out []ui.DemoPatient
	for _, p := range b.fx.Patients {
		out = append(out, ui.DemoPatient{ID: p.ID, Label: p.Name})
	}
	return out
}

func (b *testBackend) principal(c launchCred) *trust.Principal {
	p, _ := b.persona(c.persona)
	now := b.now()
	pr := &trust.Principal{
		Credential:  trust.CredentialHelseIDDPoP,
		Kind:        trust.PrincipalKind(p.Kind),
		Issuer:      "https://helseid.test",
		IssuedAt:    now,
		ExpiresAt:   now.Add(time.Hour),
		Subject:     p.PID,
		Name:        p.Name,
		HPRNumber:   p.HPR,
		LegalEntity: trust.Identifier{ID: p.Org.ID, System: oid.OrgNr, Name: p.Org.Name},
		PointOfCare: trust.Identifier{ID: p.Org.ID, System: oid.OrgNr, Name: p.Org.Name},
		Client:      trust.Client{ID: "demo-epj", Name: "Demo-EPJ"},
	}
	if p.Authorization != "" {
		pr.Authorization = trust.Coding{Code: p.Authorization, System: oid.Volven9060}
	}
	if pr.Kind == trust.HealthWorker {
		pr.HasAttestation = true
		pr.AttestedAt = now
		pr.PurposeOfUse = trust.Coding{Code: p.Purpose, System: oid.PurposeOfUse}
		pr.HealthcareService = trust.Coding{Code: "S03", System: "urn:oid:2.16.578.1.12.4.1.1.8655", Text: "Allmennlegetjeneste"}
		pr.DecisionRef = trust.DecisionRef{ID: "0f6a1e0c-2b5f-4f43-9a43-8cfc7a0b9d11", UserSelected: true}
		pr.Patients = []trust.AttestedPatient{{Identifier: trust.Identifier{ID: c.patient, System: oid.FNR}}}
	}
	return pr
}

func (b *testBackend) AuthenticateLaunch(r *http.Request) (*trust.Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != "DPoP" {
		return nil, &ui.AuthError{Status: 401, Code: "invalid_token", Description: "a DPoP-bound access token is required",
			WWWAuthenticate: `DPoP error="invalid_token"`}
	}
	if r.Header.Get("DPoP") == "" {
		return nil, &ui.AuthError{Status: 401, Code: "invalid_dpop_proof", Description: "the DPoP proof is missing"}
	}
	if token == "unavailable" {
		return nil, fmt.Errorf("jwks fetch: %w", ui.ErrUnavailable)
	}
	b.mu.Lock()
	c, ok := b.tokens[token]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown token: %w", ui.ErrUnauthenticated)
	}
	return b.principal(c), nil
}

func (b *testBackend) fail(err error) {
	b.mu.Lock()
	b.failAll = err
	b.mu.Unlock()
}

func (b *testBackend) failure(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failAll
}

func emergency(p *trust.Principal) string {
	if c := p.PurposeOfUse.Code; c == trust.PurposeBTG || c == trust.PurposeETreat {
		return c
	}
	return ""
}

// check is the small policy: health workers only, with an attestation for
// this patient no older than 60 minutes.
func (b *testBackend) check(p *trust.Principal, patient string) error {
	switch {
	case p == nil || p.Kind != trust.HealthWorker:
		return &ui.DeniedError{Rule: "unknown-principal-kind", Reason: "only health workers read documents"}
	case !p.HasAttestation:
		return &ui.DeniedError{Rule: "attestation-missing", Reason: "no attestation"}
	case b.now().Sub(p.AttestedAt) > time.Hour:
		return &ui.DeniedError{Rule: "attestation-expired", Reason: "toa older than 60 minutes"}
	case !slices.ContainsFunc(p.Patients, func(a trust.AttestedPatient) bool { return a.Identifier.ID == patient }):
		return &ui.DeniedError{Rule: "attestation-patient-mismatch", Reason: "patient not attested"}
	}
	return nil
}

func (b *testBackend) toDoc(d fixtureDoc, p *trust.Principal) ui.Document {
	size := int64(-1)
	if st, err := os.Stat(filepath.Join(fixtureDir, d.File)); err == nil {
		size = st.Size()
	}
	return ui.Document{
		Ref: d.Ref, Title: d.Title, Date: d.Date, Class: d.Class, Type: d.Type,
		SourceOrg: d.Source, SourceDepartment: d.Department, Author: d.Author,
		MimeType: d.Mime, Size: size, EmergencyAccess: d.EmergencyOnly && emergency(p) != "",
	}
}

// visible returns the documents p sees of patient, and how many NORS
// documents were hidden.
func (b *testBackend) visible(p *trust.Principal, patient string) ([]fixtureDoc, int) {
	var docs []fixtureDoc
	nors := 0
	for _, d := range b.fx.Documents {
		switch {
		case d.Patient != patient:
		case d.NORS:
			nors++
		case d.EmergencyOnly && emergency(p) == "":
		default:
			docs = append(docs, d)
		}
	}
	slices.SortFunc(docs, func(a, c fixtureDoc) int { return c.Date.Compare(a.Date) })
	return docs, nors
}

func (b *testBackend) ListDocuments(ctx context.Context, p *trust.Principal, patient string, f ui.ListFilter) (*ui.DocumentList, error) {
	if err := b.failure(ctx); err != nil {
		return nil, err
	}
	if err := b.check(p, patient); err != nil {
		b.record(p, "UI-LIST", "query", patient, nil, 0, err)
		return nil, err
	}
	docs, nors := b.visible(p, patient)
	out := &ui.DocumentList{HiddenNORS: nors, EmergencyAccess: emergency(p)}
	for _, pt := range b.fx.Patients {
		if pt.ID == patient {
			out.PatientName = pt.Name
		}
	}
	for _, d := range docs {
		if (!f.From.IsZero() && d.Date.Before(f.From)) || (!f.To.IsZero() && !d.Date.Before(f.To)) {
			continue
		}
		out.Documents = append(out.Documents, b.toDoc(d, p))
	}
	b.record(p, "UI-LIST", "query", patient, out.Documents, nors, nil)
	return out, nil
}

func (b *testBackend) find(p *trust.Principal, patient, ref string) (fixtureDoc, error) {
	docs, _ := b.visible(p, patient)
	for _, d := range docs {
		if d.Ref == ref {
			return d, nil
		}
	}
	return fixtureDoc{}, fmt.Errorf("document %s: %w", ref, ui.ErrNotFound)
}

func (b *testBackend) DocumentInfo(ctx context.Context, p *trust.Principal, patient, ref string) (*ui.Document, error) {
	if err := b.failure(ctx); err != nil {
		return nil, err
	}
	if err := b.check(p, patient); err != nil {
		b.record(p, "UI-LIST", "query", patient, nil, 0, err)
		return nil, err
	}
	d, err := b.find(p, patient, ref)
	if err != nil {
		return nil, err
	}
	doc := b.toDoc(d, p)
	b.record(p, "UI-LIST", "query", patient, []ui.Document{doc}, 0, nil)
	return &doc, nil
}

func (b *testBackend) OpenDocument(ctx context.Context, p *trust.Principal, patient, ref string) (*ui.Document, io.ReadCloser, error) {
	if err := b.failure(ctx); err != nil {
		return nil, nil, err
	}
	if err := b.check(p, patient); err != nil {
		b.record(p, "UI-VIEW", "read", patient, nil, 0, err)
		return nil, nil, err
	}
	d, err := b.find(p, patient, ref)
	if err != nil {
		b.record(p, "UI-VIEW", "read", patient, nil, 0, err)
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(fixtureDir, d.File))
	if err != nil {
		return nil, nil, err
	}
	doc := b.toDoc(d, p)
	b.record(p, "UI-VIEW", "read", patient, []ui.Document{doc}, 0, nil) // before the first byte
	return &doc, f, nil
}

// record appends an audit row and extends the hash chain.
func (b *testBackend) record(p *trust.Principal, tx, action, patient string, docs []ui.Document, nors int, denied error) {
	row := ui.AuditRow{
		Time: b.now(), Transaction: tx, Action: action, Outcome: ui.OutcomePermit, Patient: patient, HiddenNORS: nors,
		Client: p.Client.Name,
	}
	var d *ui.DeniedError
	if errors.As(denied, &d) {
		row.Outcome, row.Rule, row.Reason = ui.OutcomeDeny, d.Rule, d.Reason
	} else if denied != nil {
		row.Outcome, row.Rule = ui.OutcomeError, "error"
	} else {
		row.Rule = "permit-care-relation"
	}
	row.Worker = ui.Person{Name: p.Name, HPR: p.HPRNumber, PID: p.Subject,
		Role: ui.Code{Code: p.Authorization.Code, System: p.Authorization.System}}
	row.Organisation = ui.Org{ID: p.LegalEntity.ID, Name: p.LegalEntity.Name}
	row.PointOfCare = ui.Org{ID: p.PointOfCare.ID, Name: p.PointOfCare.Name}
	row.Purpose = ui.Code{Code: p.PurposeOfUse.Code, System: p.PurposeOfUse.System}
	row.Attestation = ui.AttestationInfo{
		PurposeOfUse:      row.Purpose,
		HealthcareService: ui.Code{Code: p.HealthcareService.Code, Display: p.HealthcareService.Text},
		DecisionRef:       p.DecisionRef.ID, UserSelected: p.DecisionRef.UserSelected, AttestedAt: p.AttestedAt,
	}
	for _, doc := range docs {
		row.Documents = append(row.Documents, ui.AuditDocument{ID: doc.Ref, Title: doc.Title, Type: doc.Type, Disposition: "returned"})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch emergency(p) {
	case trust.PurposeBTG:
		row.Flags = append(row.Flags, ui.FlagBTG)
	case trust.PurposeETreat:
		row.Flags = append(row.Flags, ui.FlagETREAT)
	}
	for _, pt := range b.fx.Patients {
		if pt.ID == patient && !slices.Contains(pt.CareOrgs, p.PointOfCare.ID) {
			row.Flags = append(row.Flags, ui.FlagOutsideCareRelation)
		}
	}
	seen := map[string]bool{patient: true}
	for _, r := range b.rows {
		if r.Worker.HPR == p.HPRNumber && row.Time.Sub(r.Time) < 10*time.Minute {
			seen[r.Patient] = true
		}
	}
	if len(seen) >= 3 {
		row.Flags = append(row.Flags, ui.FlagManyPatients)
	}
	b.appendLocked(row)
}

func (b *testBackend) appendLocked(row ui.AuditRow) {
	b.seq++
	row.ID = strconv.Itoa(b.seq)
	row.RequestID = "req-" + row.ID
	prev := ""
	if n := len(b.hashes); n > 0 {
		prev = b.hashes[n-1]
	}
	b.rows = append(b.rows, row)
	b.hashes = append(b.hashes, rowHash(prev, row))
}

// appendRow adds a prepared row (for CSV and flag tests).
func (b *testBackend) appendRow(row ui.AuditRow) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.appendLocked(row)
}

func rowHash(prev string, row ui.AuditRow) string {
	j, _ := json.Marshal(row)
	h := sha256.Sum256(append([]byte(prev), j...))
	return hex.EncodeToString(h[:])
}

// tamper changes a stored row without resealing it.
func (b *testBackend) tamper(i int, fn func(*ui.AuditRow)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(&b.rows[i])
}

// auditRows returns a copy of the log.
func (b *testBackend) auditRows() []ui.AuditRow {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rows)
}

func matches(r ui.AuditRow, f ui.AuditFilter) bool {
	switch {
	case f.Patient != "" && r.Patient != f.Patient,
		f.Worker != "" && r.Worker.HPR != f.Worker && r.Worker.PID != f.Worker,
		f.Organisation != "" && r.Organisation.ID != f.Organisation && r.PointOfCare.ID != f.Organisation,
		f.Document != "" && !slices.ContainsFunc(r.Documents, func(d ui.AuditDocument) bool { return d.ID == f.Document }),
		!f.From.IsZero() && r.Time.Before(f.From),
		!f.To.IsZero() && !r.Time.Before(f.To):
		return false
	}
	return true
}

func (b *testBackend) search(f ui.AuditFilter, keep func(ui.AuditRow) bool) (*ui.AuditPage, error) {
	b.mu.Lock()
	var all []ui.AuditRow
	for i := len(b.rows) - 1; i >= 0; i-- {
		if matches(b.rows[i], f) && keep(b.rows[i]) {
			all = append(all, b.rows[i])
		}
	}
	b.mu.Unlock()
	off := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(f.Cursor)
		if err != nil || n < 0 || n > len(all) {
			return nil, fmt.Errorf("cursor %q: %w", f.Cursor, ui.ErrInvalidInput)
		}
		off = n
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	page := &ui.AuditPage{Total: len(all)}
	end := min(off+limit, len(all))
	page.Rows = all[off:end]
	if end < len(all) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

func (b *testBackend) compliance(ctx context.Context, p *trust.Principal) error {
	if err := b.failure(ctx); err != nil {
		return err
	}
	if p == nil || p.Kind != trust.Compliance {
		return fmt.Errorf("audit search by %v: %w", p.Kind, ui.ErrForbidden)
	}
	return nil
}

func (b *testBackend) SearchAudit(ctx context.Context, p *trust.Principal, f ui.AuditFilter) (*ui.AuditPage, error) {
	if err := b.compliance(ctx, p); err != nil {
		return nil, err
	}
	return b.search(f, func(ui.AuditRow) bool { return true })
}

func (b *testBackend) FlaggedAccesses(ctx context.Context, p *trust.Principal, f ui.AuditFilter) (*ui.AuditPage, error) {
	if err := b.compliance(ctx, p); err != nil {
		return nil, err
	}
	return b.search(f, func(r ui.AuditRow) bool { return len(r.Flags) > 0 })
}

func (b *testBackend) VerifyAuditChain(ctx context.Context, p *trust.Principal) (ui.ChainStatus, error) {
	if err := b.compliance(ctx, p); err != nil {
		return ui.ChainStatus{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := ui.ChainStatus{OK: true, Verified: b.now()}
	prev := ""
	for i, r := range b.rows {
		h := rowHash(prev, r)
		st.Records++
		if h != b.hashes[i] {
			st.OK, st.FirstBad, st.Problem = false, int64(i+1), "posten er endret etter at den ble skrevet"
			return st, nil
		}
		st.Head, prev = h, h
	}
	return st, nil
}

func (b *testBackend) ExportAudit(ctx context.Context, p *trust.Principal, f ui.AuditFilter, emit func(ui.AuditRow) error) error {
	if err := b.compliance(ctx, p); err != nil {
		return err
	}
	f.Cursor, f.Limit = "", 1<<30
	page, err := b.search(f, func(ui.AuditRow) bool { return true })
	if err != nil {
		return err
	}
	for _, r := range page.Rows {
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}

func (b *testBackend) CitizenAccessLog(ctx context.Context, p *trust.Principal, f ui.AuditFilter) (*ui.AuditPage, error) {
	if err := b.failure(ctx); err != nil {
		return nil, err
	}
	if p == nil || p.Kind != trust.Citizen {
		return nil, fmt.Errorf("citizen log: %w", ui.ErrForbidden)
	}
	f.Patient, f.Worker, f.Organisation, f.Document = p.Subject, "", "", ""
	page, err := b.search(f, func(r ui.AuditRow) bool { return r.Transaction == "UI-LIST" || r.Transaction == "UI-VIEW" })
	if err != nil {
		return nil, err
	}
	rows := make([]ui.AuditRow, len(page.Rows))
	for i, r := range page.Rows {
		r.Worker.PID = "" // never shown to a citizen
		r.Attestation = ui.AttestationInfo{}
		rows[i] = r
	}
	page.Rows = rows
	return page, nil
}

// addBlock stores a block of patient's, as pjd blocks or a FHIR Consent
// would, and returns its id.
func (b *testBackend) addBlock(patient string, cb ui.CitizenBlock) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	cb.ID = fmt.Sprintf("blk-%04d", b.seq)
	if cb.From.IsZero() {
		cb.From = b.now()
	}
	b.blocks = append(b.blocks, testBlock{patient: patient, block: cb})
	return cb.ID
}

func citizenOnly(p *trust.Principal) error {
	if p == nil || p.Kind != trust.Citizen || p.Subject == "" {
		return fmt.Errorf("citizen blocks: %w", ui.ErrForbidden)
	}
	return nil
}

func (b *testBackend) blocksFailure(ctx context.Context) error {
	if err := b.failure(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failBlocks
}

func (b *testBackend) CitizenBlocks(ctx context.Context, p *trust.Principal) ([]ui.CitizenBlock, error) {
	if err := b.blocksFailure(ctx); err != nil {
		return nil, err
	}
	if err := citizenOnly(p); err != nil {
		return nil, err
	}
	b.appendRow(ui.AuditRow{Time: b.now(), Transaction: "CONSENT", Action: "query", Outcome: ui.OutcomePermit, Rule: "citizen-own-consent", Patient: p.Subject, Worker: ui.Person{Name: p.Name}})
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ui.CitizenBlock
	for _, tb := range b.blocks {
		if tb.patient == p.Subject && !tb.revoked {
			out = append(out, tb.block)
		}
	}
	return out, nil
}

func (b *testBackend) RevokeCitizenBlock(ctx context.Context, p *trust.Principal, id string) error {
	if err := b.blocksFailure(ctx); err != nil {
		return err
	}
	if err := citizenOnly(p); err != nil {
		return err
	}
	b.mu.Lock()
	i := slices.IndexFunc(b.blocks, func(tb testBlock) bool { return tb.block.ID == id && tb.patient == p.Subject && !tb.revoked })
	if i >= 0 {
		b.blocks[i].revoked = true
	}
	b.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("block %q: %w", id, ui.ErrNotFound)
	}
	b.appendRow(ui.AuditRow{Time: b.now(), Transaction: "CONSENT", Action: "update", Outcome: ui.OutcomePermit, Rule: "citizen-own-consent", Patient: p.Subject, Worker: ui.Person{Name: p.Name}})
	return nil
}

func (b *testBackend) BlockAllSharing(ctx context.Context, p *trust.Principal) error {
	if err := b.blocksFailure(ctx); err != nil {
		return err
	}
	if err := citizenOnly(p); err != nil {
		return err
	}
	b.appendRow(ui.AuditRow{Time: b.now(), Transaction: "CONSENT", Action: "create", Outcome: ui.OutcomePermit, Rule: "citizen-own-consent", Patient: p.Subject, Worker: ui.Person{Name: p.Name}})
	b.addBlock(p.Subject, ui.CitizenBlock{Scope: ui.BlockAll})
	return nil
}

// activeBlocks returns the ids of patient's blocks in force.
func (b *testBackend) activeBlocks(patient string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, tb := range b.blocks {
		if tb.patient == patient && !tb.revoked {
			ids = append(ids, tb.block.ID)
		}
	}
	return ids
}
