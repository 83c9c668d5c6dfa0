package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
)

// The consumer path (MHD ITI-67/68/66/65 and the audit review API):
// policy decisions as a consumer sees them, and exactly the audit records
// each request must leave, read back through GET /fhir/R4/AuditEvent.

const (
	tx65    = "ITI-65"
	tx66    = "ITI-66"
	tx67    = "ITI-67"
	tx68    = "ITI-68"
	txAudit = "AUDIT"

	// fastlegePID is the dev fastlege persona's F-nr (a health worker's
	// number a citizen must never see).
	fastlegePID = "12887040093"
)

func consumerScenarios() []Scenario {
	s := scenario
	out := []Scenario{
		s(tx67, "fastlege-search-permitted", fastlegeSearch),
		s(tx68, "fastlege-read-permitted", fastlegeRead),
		s(tx68, "attestation-for-another-patient-read-denied", otherPatientRead),
		s(tx67, "expired-attestation-denied", expiredAttestation),
		s(tx67, "nors-hidden-and-counted", norsHidden),
		s(tx68, "nors-read-answered-as-unknown", norsRead),
		s(tx67, "kjernejournalforskriften-windows", kjWindows),
		s(tx67, "break-the-glass-flagged", breakTheGlass),
		s(tx67, "citizen-sees-own-documents", citizenOwn),
		s(txAudit, "citizen-audit-view-without-health-worker-fnr", citizenAuditView),
		s(txAudit, "compliance-search-flagged", complianceFlagged),
		s(tx66, "lists-submissionset-and-folder", listsScenario),
		s(tx66, "lists-hide-nors-members", listsNors),
		s(tx65, "provide-document-bundle", provideBundle),
	}
	for _, r := range consumerRefusals {
		out = append(out, s(r.tx, r.name, r.run))
	}
	return out
}

// seed provides n documents for patient through ITI-41 and returns the
// entries and contents.
func (t *T) seed(ctx context.Context, patient string, n int, mutate func(*registry.Submission, map[string][]byte)) ([]*registry.DocumentEntry, [][]byte, error) {
	return t.provided(ctx, patient, n, mutate)
}

// seedNew provides n documents for a new patient through ITI-41 and
// returns the patient, the entries and the contents.
func (t *T) seedNew(ctx context.Context, n int) (patient string, entries []*registry.DocumentEntry, bodies [][]byte, err error) {
	patient = t.NewPatient()
	entries, bodies, err = t.seed(ctx, patient, n, nil)
	return patient, entries, bodies, err
}

// as returns a client presenting a dev token of persona (for patient; ""
// for none), with the persona's scopes or the ones named.
func (t *T) as(ctx context.Context, persona, patient string, scopes ...string) (*http.Client, error) {
	tok, err := t.Token(ctx, persona, patient, scopes...)
	if err != nil {
		return nil, err
	}
	return t.As(tok), nil
}

// searchAs runs ITI-67 for patient as persona, attested for attested.
func (t *T) searchAs(ctx context.Context, persona, attested, patient string) (Answer, error) {
	c, err := t.as(ctx, persona, attested)
	if err != nil {
		return Answer{}, err
	}
	return t.SearchDocuments(ctx, c, patient, nil)
}

// searchLists runs ITI-66 for patient with c.
func (t *T) searchLists(ctx context.Context, c *http.Client, patient string, extra url.Values) (Answer, error) {
	return t.MHDGet(ctx, c, "/fhir/R4/List", patientQuery(patient, extra), patient)
}

// readFound searches patient's documents with c (what names the search)
// and reads the document uid through the attachment URL the search gave,
// sending hint as nhn-patient-nin.
func (t *T) readFound(ctx context.Context, c *http.Client, what, patient, uid, hint string) (Answer, error) {
	a, err := t.SearchDocuments(ctx, c, patient, nil)
	if err != nil {
		return Answer{}, err
	}
	s, err := wantSearchSet(what, a)
	if err != nil {
		return Answer{}, err
	}
	ref := s.ref(uid)
	if ref == nil || ref.URL == "" {
		return Answer{}, fmt.Errorf("%s gave no attachment URL for %s (found %v)", what, uid, s.uniqueIDs())
	}
	return t.ReadDocument(ctx, c, ref.URL, hint)
}

// listSet runs ITI-66 for patient with c (what names it) and checks that
// the answer is a searchset.
func (t *T) listSet(ctx context.Context, c *http.Client, what, patient string, extra url.Values) (Answer, *SearchSet, error) {
	a, err := t.searchLists(ctx, c, patient, extra)
	if err != nil {
		return Answer{}, nil, err
	}
	s, err := wantSearchSet(what, a)
	return a, s, err
}

// wantFound checks that a is a searchset of exactly the documents uids.
func wantFound(what string, a Answer, uids ...string) (*SearchSet, error) {
	s, err := wantSearchSet(what, a)
	if err != nil {
		return nil, err
	}
	return s, wantDocRefs(what, s, uids...)
}

// wantPatientAudit checks the patient's audit records of transaction tx.
func (t *T) wantPatientAudit(ctx context.Context, what, patient, tx string, w AuditWant) error {
	ev, err := t.PatientAudit(ctx, patient, tx)
	if err != nil {
		return err
	}
	return wantAudit(what, ev, w)
}

func uids(entries []*registry.DocumentEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.UniqueID
	}
	return out
}

func dispositions(disp string, uids ...string) map[string]string {
	m := map[string]string{}
	for _, u := range uids {
		m[u] = disp
	}
	return m
}

func fastlegeSearch(ctx context.Context, t *T) error {
	p, entries, _, err := t.seedNew(ctx, 2)
	if err != nil {
		return err
	}
	a, err := t.searchAs(ctx, "fastlege", p, p)
	if err != nil {
		return err
	}
	if _, err := wantFound("ITI-67 as fastlege", a, uids(entries)...); err != nil {
		return err
	}
	if got := a.Header.Get("NHN-SecurityLabel-Nors-Count"); got != "0" {
		return fmt.Errorf("ITI-67: NHN-SecurityLabel-Nors-Count %q, want 0", got)
	}
	return t.wantPatientAudit(ctx, "ITI-67 as fastlege", p, tx67, AuditWant{Outcome: AuditPermit, Rule: "health-worker-care",
		Documents: dispositions("returned", uids(entries)...)})
}

func fastlegeRead(ctx context.Context, t *T) error {
	p, entries, bodies, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	a, err := t.readFound(ctx, c, "ITI-67", p, entries[0].UniqueID, p)
	if err != nil {
		return err
	}
	if a.Status != http.StatusOK || !bytes.Equal(a.Body, bodies[0]) {
		return fmt.Errorf("ITI-68 as fastlege: %v, want 200 with the %d bytes provided", a, len(bodies[0]))
	}
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, entries[0].MimeType) {
		return fmt.Errorf("ITI-68: Content-Type %q, want %s", ct, entries[0].MimeType)
	}
	return t.wantPatientAudit(ctx, "ITI-68 as fastlege", p, tx68, AuditWant{Outcome: AuditPermit, Rule: "health-worker-care",
		Documents: dispositions("returned", entries[0].UniqueID)})
}

func otherPatientRead(ctx context.Context, t *T) error {
	a := t.NewPatient()
	b, entries, bodies, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", a)
	if err != nil {
		return err
	}
	u := t.retrieveURL(entries[0].RepositoryUniqueID, entries[0].UniqueID)
	for _, hint := range []string{b, ""} {
		ans, err := t.ReadDocument(ctx, c, u, hint)
		if err != nil {
			return err
		}
		if err := wantRefused(fmt.Sprintf("ITI-68 of B's document attested for A (nhn-patient-nin %q)", hint), ans,
			[]string{string(bodies[0])}, http.StatusForbidden, http.StatusNotFound); err != nil {
			return err
		}
	}
	ev, err := t.PatientAudit(ctx, b, tx68)
	if err != nil {
		return err
	}
	if len(ev) != 2 {
		return fmt.Errorf("ITI-68 of B's document, twice: %d audit records for B, want 2", len(ev))
	}
	for _, e := range ev {
		if e.Outcome != AuditDeny {
			return fmt.Errorf("ITI-68 of B's document attested for A: audit outcome %s (%s), want deny", e.Outcome, e.OutcomeDesc)
		}
	}
	return nil
}

func expiredAttestation(ctx context.Context, t *T) error {
	p, entries, _, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	tok, err := t.Mint(ctx, Persona("fastlege"), p, time.Now().Add(-61*time.Minute))
	if err != nil {
		return err
	}
	ans, err := t.SearchDocuments(ctx, t.As(tok), p, nil)
	if err != nil {
		return err
	}
	if err := wantRefused("ITI-67 with a 61-minute-old attestation", ans, uids(entries), http.StatusUnauthorized, http.StatusForbidden); err != nil {
		return err
	}
	if err := t.wantPatientAudit(ctx, "ITI-67 with an expired attestation", p, tx67, AuditWant{Outcome: AuditDeny, Documents: map[string]string{}}); err != nil {
		return err
	}
	// The same persona attested now is permitted: the age made the
	// difference.
	fresh, err := t.Mint(ctx, Persona("fastlege"), p, time.Now())
	if err != nil {
		return err
	}
	ans, err = t.SearchDocuments(ctx, t.As(fresh), p, nil)
	if err != nil {
		return err
	}
	_, err = wantFound("ITI-67 with a fresh attestation", ans, uids(entries)...)
	return err
}

// norsSeed provides a Normal and a NORS document for patient.
func (t *T) norsSeed(ctx context.Context, patient string) (normal, nors *registry.DocumentEntry, err error) {
	entries, _, err := t.seed(ctx, patient, 2, func(sub *registry.Submission, _ map[string][]byte) {
		sub.Documents[1].Confidentiality = []registry.Code{registry.SampleConfSperret}
	})
	if err != nil {
		return nil, nil, err
	}
	return entries[0], entries[1], nil
}

func norsHidden(ctx context.Context, t *T) error {
	p := t.NewPatient()
	normal, nors, err := t.norsSeed(ctx, p)
	if err != nil {
		return err
	}
	a, err := t.searchAs(ctx, "fastlege", p, p)
	if err != nil {
		return err
	}
	if _, err := wantFound("ITI-67 with a NORS document", a, normal.UniqueID); err != nil {
		return err
	}
	if bytes.Contains(a.Body, []byte(nors.UniqueID)) {
		return fmt.Errorf("ITI-67 names the hidden NORS document %s", nors.UniqueID)
	}
	if got := a.Header.Get("NHN-SecurityLabel-Nors-Count"); got != "1" {
		return fmt.Errorf("NHN-SecurityLabel-Nors-Count %q, want 1", got)
	}
	return t.wantPatientAudit(ctx, "ITI-67 with a NORS document", p, tx67, AuditWant{Outcome: AuditPermit, Rule: "health-worker-care", HiddenNORS: 1,
		Documents: map[string]string{normal.UniqueID: "returned", nors.UniqueID: "hidden"}})
}

func norsRead(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, nors, err := t.norsSeed(ctx, p)
	if err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	hidden, err := t.ReadDocument(ctx, c, t.retrieveURL(nors.RepositoryUniqueID, nors.UniqueID), p)
	if err != nil {
		return err
	}
	unknown, err := t.ReadDocument(ctx, c, t.retrieveURL(nors.RepositoryUniqueID, NewOID()), p)
	if err != nil {
		return err
	}
	if hidden.Status != http.StatusNotFound || unknown.Status != http.StatusNotFound {
		return fmt.Errorf("ITI-68 of a NORS document: %v; of an unknown one: %v; want 404 for both", hidden, unknown)
	}
	if !bytes.Equal(hidden.Body, unknown.Body) || hidden.Header.Get("Content-Type") != unknown.Header.Get("Content-Type") {
		return fmt.Errorf("ITI-68 of a NORS document answered %s, of an unknown one %s: they must not differ", snippet(hidden.Body), snippet(unknown.Body))
	}
	ev, err := t.PatientAudit(ctx, p, tx68)
	if err != nil {
		return err
	}
	var norsEv []AuditEvent
	for _, e := range ev {
		if _, ok := e.Documents[nors.UniqueID]; ok {
			norsEv = append(norsEv, e)
		}
	}
	if len(ev) != 2 {
		return fmt.Errorf("two ITI-68 reads left %d audit records for the patient, want 2", len(ev))
	}
	return wantAudit("ITI-68 of a NORS document", norsEv, AuditWant{Outcome: AuditDeny, Rule: "document-nors-hidden", HiddenNORS: 1,
		Documents: map[string]string{nors.UniqueID: "refused"}})
}

func kjWindows(ctx context.Context, t *T) error {
	p := t.NewPatient()
	now := time.Now().UTC()
	entries, _, err := t.seed(ctx, p, 4, func(sub *registry.Submission, _ map[string][]byte) {
		set := func(d *registry.DocumentEntry, class, typ registry.Code, created time.Time) {
			d.Class, d.Type, d.CreationTime = class, typ, registry.FormatDTM(created)
			d.ServiceStartTime, d.ServiceStopTime = "", ""
		}
		bilde, bildesvar := registry.SampleClassBilde, registry.SampleTypeBildesvar
		journal := registry.Code{Code: "B00-1", Scheme: oid.Volven9602}
		notat := registry.Code{Code: "B02-2", Scheme: oid.Volven9602}
		set(sub.Documents[0], registry.SampleClassEpikrise, registry.SampleTypeEpikrise, now.AddDate(-10, 0, 0)) // A00-1: no limit
		set(sub.Documents[1], bilde, bildesvar, now.AddDate(-6, 0, 0))                                           // E00-1: 5 years
		set(sub.Documents[2], bilde, bildesvar, now.AddDate(0, -1, 0))
		set(sub.Documents[3], journal, notat, now.AddDate(0, 0, -1)) // B00-1: not shown under the regulation
	})
	if err != nil {
		return err
	}
	kj, err := t.as(ctx, "fastlege", p, trust.ScopeReadDocumentReferencesKJ, trust.ScopeReadDocument, trust.AttestationType)
	if err != nil {
		return err
	}
	a, err := t.SearchDocuments(ctx, kj, p, nil)
	if err != nil {
		return err
	}
	if _, err := wantFound("ITI-67 under kjernejournalforskriften", a, entries[0].UniqueID, entries[2].UniqueID); err != nil {
		return err
	}
	if err := t.wantPatientAudit(ctx, "ITI-67 under kjernejournalforskriften", p, tx67, AuditWant{Outcome: AuditPermit, Rule: "health-worker-care",
		Documents: map[string]string{entries[0].UniqueID: "returned", entries[1].UniqueID: "hidden",
			entries[2].UniqueID: "returned", entries[3].UniqueID: "hidden"}}); err != nil {
		return err
	}
	// The ordinary scope has no windows.
	full, err := t.as(ctx, "fastlege", p, trust.ScopeReadDocumentReferences, trust.ScopeReadDocument, trust.AttestationType)
	if err != nil {
		return err
	}
	a, err = t.SearchDocuments(ctx, full, p, nil)
	if err != nil {
		return err
	}
	if _, err := wantFound("ITI-67 with the ordinary scope", a, uids(entries)...); err != nil {
		return err
	}
	// A token whose only search scope is the regulation's may not read
	// what the regulation hides: outside the window, a document is
	// answered as unknown (404) by ITI-68 too.
	ans, err := t.ReadDocument(ctx, kj, t.retrieveURL(entries[1].RepositoryUniqueID, entries[1].UniqueID), p)
	if err != nil {
		return err
	}
	return wantRefused("ITI-68 outside the window with a kjernejournalforskriften token", ans, nil, http.StatusNotFound)
}

func breakTheGlass(ctx context.Context, t *T) error {
	p, entries, bodies, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	btg := Persona("fastlege")
	btg.PurposeOfUse = trust.Coding{Code: trust.PurposeBTG, System: "urn:oid:" + oid.PurposeOfUse, Text: "Nødrett"}
	tok, err := t.Mint(ctx, btg, p, time.Now())
	if err != nil {
		return err
	}
	c := t.As(tok)
	a, err := t.SearchDocuments(ctx, c, p, nil)
	if err != nil {
		return err
	}
	s, err := wantFound("ITI-67 with break the glass", a, entries[0].UniqueID)
	if err != nil {
		return err
	}
	if got := a.Header.Get("NHN-Emergency-Access"); got != "BTG" {
		return fmt.Errorf("ITI-67 with break the glass: NHN-Emergency-Access %q, want BTG", got)
	}
	if !slices.Contains(s.Security, "BTG") {
		return fmt.Errorf("ITI-67 with break the glass: Bundle.meta.security %v lacks BTG", s.Security)
	}
	r, err := t.ReadDocument(ctx, c, s.DocRefs[0].URL, p)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, bodies[0]) || r.Header.Get("NHN-Emergency-Access") != "BTG" {
		return fmt.Errorf("ITI-68 with break the glass: %v (NHN-Emergency-Access %q), want 200, the document, BTG",
			r, r.Header.Get("NHN-Emergency-Access"))
	}
	for _, tx := range []string{tx67, tx68} {
		if err := t.wantPatientAudit(ctx, tx+" with break the glass", p, tx, AuditWant{Outcome: AuditPermit, Rule: "health-worker-emergency-review",
			Documents: dispositions("returned", entries[0].UniqueID), Flags: []string{"btg"}}); err != nil {
			return err
		}
	}
	flagged, err := t.AuditSearch(ctx, url.Values{"patient": {p}, "flagged": {"true"}})
	if err != nil {
		return err
	}
	if len(flagged) != 2 {
		return fmt.Errorf("audit search flagged=true for the patient: %d records, want the 2 BTG accesses", len(flagged))
	}
	return nil
}

// citizenPID is the dev citizen persona's F-nr.
func citizenPID() string { return Persona("citizen").PID }

func citizenOwn(ctx context.Context, t *T) error {
	me := citizenPID()
	entries, bodies, err := t.seed(ctx, me, 1, nil)
	if err != nil {
		return err
	}
	c, err := t.as(ctx, "citizen", "")
	if err != nil {
		return err
	}
	r, err := t.readFound(ctx, c, "ITI-67 as the citizen", me, entries[0].UniqueID, "")
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, bodies[0]) {
		return fmt.Errorf("ITI-68 of the citizen's own document: %v", r)
	}
	reqID := t.LastRequestID()
	ev, err := t.RequestAudit(ctx, tx68, reqID)
	if err != nil {
		return err
	}
	if err := wantAudit("ITI-68 as the citizen", ev, AuditWant{Outcome: AuditPermit, Rule: "citizen-own-records",
		Documents: dispositions("returned", entries[0].UniqueID)}); err != nil {
		return err
	}
	// Another patient's documents are not the citizen's.
	other, oe, _, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	a, err := t.SearchDocuments(ctx, c, other, nil)
	if err != nil {
		return err
	}
	if err := wantRefused("ITI-67 as the citizen for another patient", a, uids(oe), http.StatusForbidden); err != nil {
		return err
	}
	return t.wantPatientAudit(ctx, "ITI-67 as the citizen for another patient", other, tx67, AuditWant{Outcome: AuditDeny, Rule: "citizen-other-patient"})
}

func citizenAuditView(ctx context.Context, t *T) error {
	me := citizenPID()
	entries, _, err := t.seed(ctx, me, 1, nil)
	if err != nil {
		return err
	}
	gp, err := t.as(ctx, "fastlege", me)
	if err != nil {
		return err
	}
	r, err := t.ReadDocument(ctx, gp, t.retrieveURL(entries[0].RepositoryUniqueID, entries[0].UniqueID), me)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("ITI-68 by the fastlege of the citizen's document: %v", r)
	}
	reqID := t.LastRequestID()
	// Compliance sees the fastlege's F-nr in the record …
	ev, err := t.RequestAudit(ctx, tx68, reqID)
	if err != nil {
		return err
	}
	if len(ev) != 1 || !bytes.Contains(ev[0].Raw, []byte(fastlegePID)) {
		return fmt.Errorf("compliance view of the fastlege's read: %d records, want 1 naming the fastlege's F-nr", len(ev))
	}
	// … the citizen sees the read, with the fastlege's name and HPR
	// number, never the F-nr.
	citizen, err := t.as(ctx, "citizen", "")
	if err != nil {
		return err
	}
	mine, body, status, err := t.auditGet(ctx, citizen, url.Values{"subtype": {tx68},
		"date": {"ge" + t.start.Add(-5*time.Minute).UTC().Format("2006-01-02T15:04:05") + "+00:00"}, "_count": {"1000"}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("the citizen's audit view: status %d: %s", status, snippet(body))
	}
	if bytes.Contains(body, []byte(fastlegePID)) {
		return fmt.Errorf("the citizen's audit view shows a health worker's F-nr")
	}
	var found *AuditEvent
	for i := range mine {
		if slices.Contains(mine[i].RequestIDs, reqID) {
			found = &mine[i]
		}
		if mine[i].Patient != "" && mine[i].Patient != me {
			return fmt.Errorf("the citizen's audit view shows another patient's record (%s)", mine[i].Patient)
		}
	}
	if found == nil {
		return fmt.Errorf("the citizen's audit view lacks the fastlege's read of their document")
	}
	fl := Persona("fastlege")
	if !bytes.Contains(found.Raw, []byte(fl.HPRNumber)) || !bytes.Contains(found.Raw, []byte(fl.Name)) {
		return fmt.Errorf("the citizen's view of the read does not name the health worker (HPR %s, %s)", fl.HPRNumber, fl.Name)
	}
	return nil
}

func complianceFlagged(ctx context.Context, t *T) error {
	// The review API itself: a compliance search is recorded, with the
	// patient searched for.
	p := t.NewPatient()
	if _, err := t.AuditSearch(ctx, url.Values{"patient": {p}}); err != nil {
		return err
	}
	reqID := t.LastRequestID()
	ev, err := t.RequestAudit(ctx, "AUDIT-SEARCH", reqID)
	if err != nil {
		return err
	}
	if err := wantAudit("a compliance audit search", ev, AuditWant{Outcome: AuditPermit, Rule: "audit-review-compliance"}); err != nil {
		return err
	}
	if ev[0].Patient != p {
		return fmt.Errorf("the compliance search's record names patient %q, want %s", ev[0].Patient, p)
	}
	return nil
}

func listsScenario(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, seq := t.Submission(p, 2, true)
	rr, err := t.Provide(ctx, sub, contentsOf(sub, seq))
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-41", rr); err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	_, s, err := t.listSet(ctx, c, "ITI-66", p, nil)
	if err != nil {
		return err
	}
	slices.Sort(s.Lists)
	if s.Total != 2 || !slices.Equal(s.Lists, []string{"folder", "submissionset"}) {
		return fmt.Errorf("ITI-66: total %d lists %v, want a folder and a submissionset", s.Total, s.Lists)
	}
	if _, s, err = t.listSet(ctx, c, "ITI-66 code=folder", p, url.Values{"code": {"folder"}}); err != nil {
		return err
	}
	if s.Total != 1 || len(s.Lists) != 1 || s.Lists[0] != "folder" {
		return fmt.Errorf("ITI-66 code=folder: total %d lists %v, want one folder", s.Total, s.Lists)
	}
	ev, err := t.PatientAudit(ctx, p, tx66)
	if err != nil {
		return err
	}
	if len(ev) != 2 || ev[0].Outcome != AuditPermit || ev[1].Outcome != AuditPermit {
		return fmt.Errorf("two ITI-66 searches left %d audit records, want 2 permits", len(ev))
	}
	return nil
}

// provideBundle sends an ITI-65 transaction Bundle as the dev hospital
// EPJ (its own organisation as author) and finds the document with ITI-18
// and its bytes with ITI-43.
func provideBundle(ctx context.Context, t *T) error {
	p := t.NewPatient()
	epj, err := t.as(ctx, "sykehus-epj", "")
	if err != nil {
		return err
	}
	org := Persona("sykehus-epj").LegalEntity.ID
	content := []byte("EPIKRISE (syntetisk testdokument, ingen virkelig person)\nLevert med MHD ITI-65.\n")
	docUID, setUID := NewOID(), NewOID()
	body, err := json.Marshal(provideBundleJSON(p, org, docUID, setUID, content))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL("/fhir/R4"), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, rbody, err := t.do(epj, req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(rbody, []byte(`"transaction-response"`)) {
		return fmt.Errorf("ITI-65: status %d: %s, want 200 with a transaction-response", resp.StatusCode, snippet(rbody))
	}
	docs, err := t.FindDocuments(ctx, p)
	if err != nil {
		return err
	}
	if err := wantUniqueIDs("FindDocuments after ITI-65", docs, docUID); err != nil {
		return err
	}
	return t.retrieveAndCompare(ctx, docs, [][]byte{content})
}

func provideBundleJSON(patient, org, docUID, setUID string, content []byte) map[string]any {
	type m = map[string]any
	coding := func(system, code string) m { return m{"coding": []m{{"system": system, "code": code}}} }
	subject := m{"identifier": m{"system": oidFnrURN, "value": patient}}
	now := time.Now().UTC().Format(time.RFC3339)
	sum := sha1Sum(content)
	docURL, binURL, listURL := NewUUID(), NewUUID(), NewUUID()
	orgRes := m{"resourceType": "Organization", "id": "org",
		"identifier": []m{{"system": "urn:oid:" + oid.OrgNr, "value": org}}, "name": "Testsykehuset HF"}
	return m{
		"resourceType": "Bundle", "type": "transaction",
		"meta": m{"profile": []string{"https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.ProvideBundle"}},
		"entry": []m{
			{"fullUrl": listURL, "request": m{"method": "POST", "url": "List"}, "resource": m{
				"resourceType": "List",
				"meta":         m{"profile": []string{"https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.SubmissionSet"}},
				"contained":    []m{orgRes},
				"extension": []m{
					{"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
						"valueCodeableConcept": coding("urn:oid:"+oid.Volven9602, "A00-1")},
					{"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
						"valueIdentifier": m{"value": "urn:oid:" + registry.SampleSourceID}},
				},
				"identifier": []m{{"use": "usual", "system": "urn:ietf:rfc:3986", "value": "urn:oid:" + setUID}},
				"status":     "current", "mode": "working", "title": "Konformanse ITI-65",
				"code":    coding("https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes", "submissionset"),
				"subject": subject, "date": now,
				"source": m{"reference": "#org"},
				"entry":  []m{{"item": m{"reference": docURL}}},
			}},
			{"fullUrl": docURL, "request": m{"method": "POST", "url": "DocumentReference"}, "resource": m{
				"resourceType":     "DocumentReference",
				"meta":             m{"profile": []string{"https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference"}},
				"contained":        []m{orgRes},
				"masterIdentifier": m{"system": "urn:ietf:rfc:3986", "value": "urn:oid:" + docUID},
				"status":           "current",
				"type":             coding("urn:oid:"+oid.Volven9602, "A03-2"),
				"category":         []m{coding("urn:oid:"+oid.Volven9602, "A00-1")},
				"subject":          subject,
				"date":             now,
				"author":           []m{{"reference": "#org"}},
				"securityLabel":    []m{coding("urn:oid:"+oid.Volven9603, "N")},
				"content": []m{{
					"attachment": m{"contentType": "text/plain", "language": "nb-NO", "url": binURL,
						"size": len(content), "hash": base64.StdEncoding.EncodeToString(sum), "title": "Epikrise", "creation": now},
					"format": m{"system": "urn:oid:" + registry.SampleFormatText.Scheme, "code": registry.SampleFormatText.Code},
				}},
				"context": m{
					"facilityType":    coding("urn:oid:"+registry.SampleFacilitySykehus.Scheme, registry.SampleFacilitySykehus.Code),
					"practiceSetting": coding("urn:oid:"+registry.SamplePracticeIndremedisin.Scheme, registry.SamplePracticeIndremedisin.Code),
				},
			}},
			{"fullUrl": binURL, "request": m{"method": "POST", "url": "Binary"}, "resource": m{
				"resourceType": "Binary", "contentType": "text/plain", "data": base64.StdEncoding.EncodeToString(content),
			}},
		},
	}
}

// listsNors: a SubmissionSet holding a NORS document is listed without
// naming it, and the hidden document is counted.
func listsNors(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, nors, err := t.norsSeed(ctx, p)
	if err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	a, s, err := t.listSet(ctx, c, "ITI-66 with a NORS member", p, nil)
	if err != nil {
		return err
	}
	if s.Total != 1 {
		return fmt.Errorf("ITI-66 with a NORS member: total %d, want the one SubmissionSet", s.Total)
	}
	for _, secret := range []string{nors.UniqueID, strings.TrimPrefix(nors.ID, "urn:uuid:")} {
		if bytes.Contains(a.Body, []byte(secret)) {
			return fmt.Errorf("ITI-66 names the hidden NORS document (%s)", secret)
		}
	}
	if got := a.Header.Get("NHN-SecurityLabel-Nors-Count"); got != "1" {
		return fmt.Errorf("ITI-66 with a NORS member: NHN-SecurityLabel-Nors-Count %q, want 1", got)
	}
	return t.wantPatientAudit(ctx, "ITI-66 with a NORS member", p, tx66, AuditWant{Outcome: AuditPermit, HiddenNORS: 1})
}

// consumerRefusal is a consumer request that must be refused: for a new
// patient with one document, persona — attested for the patient, or for
// another when otherAttested — sends it; the answer has one of statuses
// and names neither the document (a search) nor its bytes (a read); the
// refusal is on record: the patient's audit record audit, or, when audit
// is nil, the request's refusal record.
type consumerRefusal struct {
	name, tx, what string
	persona        string
	otherAttested  bool
	// send makes the request for patient p, whose document is e.
	send     func(ctx context.Context, t *T, c *http.Client, p string, e *registry.DocumentEntry) (Answer, error)
	statuses []int
	audit    *AuditWant
}

// consumerRefusals are the negative scenarios of the consumer path.
var consumerRefusals = []consumerRefusal{
	{name: "sykepleier-search-denied", tx: tx67, what: "ITI-67 as sykepleier", persona: "sykepleier", send: searchPatient,
		statuses: []int{http.StatusForbidden}, audit: &AuditWant{Outcome: AuditDeny, Rule: "authorization-not-allowed", Documents: map[string]string{}}},
	{name: "sykepleier-read-denied", tx: tx68, what: "ITI-68 as sykepleier", persona: "sykepleier", send: readDocument,
		statuses: []int{http.StatusForbidden}, audit: &AuditWant{Outcome: AuditDeny, Rule: "authorization-not-allowed"}},
	{name: "attestation-for-another-patient-denied", tx: tx67, what: "ITI-67 for patient B with an attestation for A", persona: "fastlege",
		otherAttested: true, send: searchPatient,
		statuses: []int{http.StatusForbidden}, audit: &AuditWant{Outcome: AuditDeny, Rule: "attestation-patient-mismatch", Documents: map[string]string{}}},
	// patient.identifier and nhn-patient-nin naming different patients
	// (one patient per request).
	{name: "two-patients-in-one-request-refused", tx: tx67, what: "ITI-67 naming two patients", persona: "fastlege",
		send: func(ctx context.Context, t *T, c *http.Client, p string, _ *registry.DocumentEntry) (Answer, error) {
			return t.MHDGet(ctx, c, "/fhir/R4/DocumentReference", patientQuery(p, nil), t.NewPatient())
		},
		statuses: []int{http.StatusBadRequest, http.StatusForbidden}},
}

func searchPatient(ctx context.Context, t *T, c *http.Client, p string, _ *registry.DocumentEntry) (Answer, error) {
	return t.SearchDocuments(ctx, c, p, nil)
}

func readDocument(ctx context.Context, t *T, c *http.Client, p string, e *registry.DocumentEntry) (Answer, error) {
	return t.ReadDocument(ctx, c, t.retrieveURL(e.RepositoryUniqueID, e.UniqueID), p)
}

func (r consumerRefusal) run(ctx context.Context, t *T) error {
	p, entries, bodies, err := t.seedNew(ctx, 1)
	if err != nil {
		return err
	}
	attested := p
	if r.otherAttested {
		attested = t.NewPatient()
	}
	c, err := t.as(ctx, r.persona, attested)
	if err != nil {
		return err
	}
	a, err := r.send(ctx, t, c, p, entries[0])
	if err != nil {
		return err
	}
	reqID := t.LastRequestID()
	secrets := uids(entries)
	if r.tx == tx68 {
		secrets = []string{string(bodies[0])}
	}
	if err := wantRefused(r.what, a, secrets, r.statuses...); err != nil {
		return err
	}
	if r.audit == nil {
		return t.refusalRecord(ctx, r.what, r.tx, reqID)
	}
	return t.wantPatientAudit(ctx, r.what, p, r.tx, *r.audit)
}
