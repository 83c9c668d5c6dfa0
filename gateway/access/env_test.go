package access_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/blocks"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/sqlite"
	"pjd/repository"
	"pjd/repository/fs"
	"pjd/trust"
	"pjd/trust/policy"
)

// The guard's tests run against the real thing: a registry over SQLite, a
// repository over local files, the hash-chained audit log in the same
// SQLite file, the default policy and the blocks table. Principals are
// built as *trust.Principal values: that is the guard's input.

// now is the guard's clock, pinned when the tests start (the blocks
// store stamps lifts with its own clock, so the guard's must be near it).
// The samples' documents were created 2024-01-15: the one-year
// kjernejournalforskriften windows have closed on them, the unlimited
// ones have not.
var now = time.Now().UTC().Truncate(time.Second)

// Synthetic patients (month + 80, valid check digits).
var (
	patientP = registry.SyntheticFnr(101)
	patientQ = registry.SyntheticFnr(202)
)

type (
	repositoryRequest = repository.DocumentRequest
	retrieveResult    = repository.RetrieveResult
)

func cx(fnr string) string { return registry.NewPatientCX(fnr, oid.FNR).String() }

type env struct {
	t *testing.T
	// ctx is the test's context, for every call a test makes.
	ctx    context.Context
	dbPath string
	reg    *registry.Registry
	repo   *repository.Repository
	store  *sqlaudit.Store
	log    *audit.Logger
	blocks *blocks.Store
	guard  *access.Guard
	blobs  string // the blob directory
	clock  time.Time
}

type envOpts struct {
	seeded       bool // register the standard documents (seed)
	maxDocuments int
	devSources   bool
	noRepository bool
	noBlocks     bool
	// communities makes the guard federate to them, as home.
	communities []access.Community
	home        string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	e := &env{t: t, ctx: ctx, dbPath: filepath.Join(dir, "registry.db"), blobs: filepath.Join(dir, "blobs"), clock: now}
	st, err := sqlite.Open(ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.reg, err = registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fs.Open(e.blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	e.repo, err = repository.New(repository.Config{UniqueID: registry.SampleRepositoryUniqueID, Blobs: blobs,
		Registry: repository.LocalRegistry(e.reg)})
	if err != nil {
		t.Fatal(err)
	}
	e.store = sqlaudit.NewSQLite(st.DB())
	err = e.store.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	key, err := audit.NewKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.log, err = audit.NewLogger(e.store, key, audit.LoggerOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.log.Close(cctx)
	})
	cfg := access.Config{Registry: e.reg, Repository: e.repo, Policy: policy.Default(), Audit: e.log,
		MaxDocuments: o.maxDocuments, DevLoopbackSources: o.devSources, Now: func() time.Time { return e.clock },
		Communities: o.communities, HomeCommunityID: o.home}
	if o.noRepository {
		cfg.Repository = nil
	}
	if !o.noBlocks {
		e.blocks = blocks.NewSQLite(st.DB())
		err = e.blocks.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.blocks.Close() })
		cfg.Blocks = e.blocks
	}
	e.guard, err = access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.seeded {
		e.seed()
	}
	return e
}

// source is the system principal of the sample documents' author
// institution (a hospital EPJ with an mTLS certificate).
func source() *trust.Principal {
	return &trust.Principal{Kind: trust.System, Credential: "mtls", Issuer: "CN=pjd test CA",
		LegalEntity: trust.Identifier{ID: registry.SampleOrgnr, System: oid.OrgNr, Name: "Syntetisk sykehus HF"},
		Client:      trust.Client{ID: "syntetisk-epj", Name: "Syntetisk sykehus HF", OrgNrParent: registry.SampleOrgnr}}
}

// healthWorker is a GP (LE, TREAT) with a fresh attestation; patient is
// the patient the attestation names ("" for none).
func healthWorker(patient string, mut ...func(*trust.Principal)) *trust.Principal {
	org := trust.Identifier{ID: "910000012", System: "urn:oid:" + oid.OrgNr, Name: "Testlegekontoret Fagerlia"}
	p := &trust.Principal{
		Credential: trust.CredentialHelseIDDPoP, Kind: trust.HealthWorker, Issuer: "https://helseid.test",
		Subject: "12887040093", Name: "Frida Fastlege", HPRNumber: "565500013",
		Authorization: trust.Coding{Code: "LE", System: "urn:oid:" + oid.Volven9060, Text: "Lege"},
		SecurityLevel: 4, LegalEntity: org, PointOfCare: org,
		PurposeOfUse:   trust.Coding{Code: trust.PurposeTreat, System: "urn:oid:" + oid.PurposeOfUse},
		DecisionRef:    trust.DecisionRef{ID: "0b8b8e43-64c5-4d1b-9e2f-2f3a7c1c9a11"},
		AttestedAt:     now.Add(-10 * time.Minute),
		HasAttestation: true,
		MatchedScope:   trust.ScopeReadDocumentReferences,
		Client:         trust.Client{ID: "legekontor-epj", Name: "Legekontor EPJ", OrgNrParent: org.ID},
	}
	if patient != "" {
		p.Patients = []trust.AttestedPatient{{Identifier: trust.Identifier{ID: patient, System: "urn:oid:" + oid.FNR}}}
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func purpose(code string) func(*trust.Principal) {
	return func(p *trust.Principal) { p.PurposeOfUse.Code = code }
}

func nurse(p *trust.Principal) {
	p.Subject, p.HPRNumber = "17846640096", "565500055"
	p.Authorization = trust.Coding{Code: "SP", System: "urn:oid:" + oid.Volven9060, Text: "Sykepleier"}
}

func citizen(fnr string) *trust.Principal {
	return &trust.Principal{Credential: trust.CredentialHelseIDDPoP, Kind: trust.Citizen, Subject: fnr,
		Name: "Syntetisk Innbygger", SecurityLevel: 4, MatchedScope: trust.ScopeCitizen,
		Client: trust.Client{ID: "innbyggerportal"}}
}

func call(p *trust.Principal, tx string) access.Call {
	return access.Call{Principal: p, Transaction: tx, RequestID: "req-" + tx, SourceIP: "192.0.2.10", UserAgent: "pjd-test"}
}

// upload stores sub's documents through the guard as the sample source.
func (e *env) upload(sub *registry.Submission, seq uint64) {
	e.t.Helper()
	ctx := e.ctx
	ids := make([]string, len(sub.Documents))
	for i, d := range sub.Documents {
		ids[i] = d.ID
	}
	up, err := e.guard.NewUpload(ctx, source(), sub, ids)
	if err != nil {
		e.t.Fatalf("upload of %d: %v", seq, err)
	}
	for i, d := range sub.Documents {
		if err := up.Put(ctx, d.ID, bytes.NewReader(registry.SampleDocument(seq, i, sub.SubmissionSet.PatientID))); err != nil {
			e.t.Fatalf("put %s: %v", d.ID, err)
		}
	}
	if _, err := up.Commit(ctx); err != nil {
		e.t.Fatalf("commit of %d: %v", seq, err)
	}
}

// The seeded documents.
const (
	seqMixed    = 1001 // patient P: a normal epikrise and a NORS one, in a folder
	seqLab      = 1002 // patient P: a lab result (C00-1) from 2024
	seqOther    = 1003 // patient Q: one epikrise
	seqCitizen  = 1004 // patient P: one epikrise the citizen may not see (NORN_EPO)
	seqReplaced = 1005 // patient P: replaces the normal epikrise of seqMixed
)

var (
	uidNormal     = registry.SampleUniqueID(seqMixed, 0)
	uidNORS       = registry.SampleUniqueID(seqMixed, 1)
	uidLab        = registry.SampleUniqueID(seqLab, 0)
	uidOther      = registry.SampleUniqueID(seqOther, 0)
	uidNotCitizen = registry.SampleUniqueID(seqCitizen, 0)
	uidUnknown    = "2.999.578.1.999999.2.1"
	confNORS      = registry.Code{Code: "NORS", Scheme: oid.Volven9603, Display: "Sperret"}
)

// seed registers the standard documents.
func (e *env) seed() {
	e.t.Helper()
	mixed := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 2, Folder: true, Seq: seqMixed})
	mixed.Documents[1].Confidentiality = []registry.Code{confNORS}
	e.upload(mixed, seqMixed)
	lab := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seqLab,
		Class: registry.Code{Code: "C00-1", Scheme: oid.Volven9602, Display: "Prøvesvar, vev og væsker"},
		Type:  registry.Code{Code: "C01-2", Scheme: oid.Volven9602, Display: "Medisinsk biokjemi"}})
	e.upload(lab, seqLab)
	e.upload(registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientQ), Seq: seqOther}), seqOther)
	nc := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seqCitizen,
		Confidentiality: []registry.Code{{Code: "NORN_EPO", Scheme: oid.Volven9603, Display: "Nektet, eget ønske"}}})
	e.upload(nc, seqCitizen)
}

// entry returns the registered DocumentEntry with uniqueID.
func (e *env) entry(uid string) *registry.DocumentEntry {
	e.t.Helper()
	ds, err := e.reg.Reader().Documents(e.ctx, registry.DocumentFilter{UniqueIDs: []string{uid}})
	if err != nil || len(ds) != 1 {
		e.t.Fatalf("entry %s: %v (%d found)", uid, err, len(ds))
	}
	return ds[0]
}

// head is the seq of the newest audit record.
func (e *env) head() int64 {
	e.t.Helper()
	p, err := e.store.Search(e.ctx, audit.Filter{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(p.Records) == 0 {
		return 0
	}
	return p.Records[0].Seq
}

// since returns the audit records written after seq, oldest first.
func (e *env) since(seq int64) []audit.Record {
	e.t.Helper()
	p, err := e.store.Search(e.ctx, audit.Filter{Cursor: seq, Ascending: true, Limit: audit.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Records
}

// oneRecord runs fn and returns the one audit record it wrote.
func (e *env) oneRecord(t *testing.T, fn func()) audit.Record {
	t.Helper()
	h := e.head()
	fn()
	recs := e.since(h)
	if len(recs) != 1 {
		t.Fatalf("%d audit records written, want exactly 1: %+v", len(recs), recs)
	}
	return recs[0]
}

// recorded runs a guard call and returns its result, the one audit record
// it wrote, and its error.
func recorded[T any](t *testing.T, e *env, fn func() (T, error)) (T, audit.Record, error) {
	t.Helper()
	var res T
	var err error
	rec := e.oneRecord(t, func() { res, err = fn() })
	return res, rec, err
}

// wantRecord is what a test checks of an audit record. Docs maps a
// document uniqueId to its disposition; nil means "no documents".
type wantRecord struct {
	tx         string
	action     audit.Action
	outcome    audit.Outcome
	rule       string
	patient    string
	actor      audit.ActorKind
	docs       map[string]audit.Disposition
	hiddenNORS int
	flags      audit.Flags
}

func checkRecord(t *testing.T, got audit.Record, w wantRecord) {
	t.Helper()
	if got.Transaction != w.tx || got.Action != w.action || got.Outcome != w.outcome || got.Rule != w.rule {
		t.Errorf("record: tx %s action %s outcome %s rule %q, want %s %s %s %q (reason %q)",
			got.Transaction, got.Action, got.Outcome, got.Rule, w.tx, w.action, w.outcome, w.rule, got.Reason)
	}
	if got.PatientID != w.patient {
		t.Errorf("record patient %q, want %q", got.PatientID, w.patient)
	}
	if got.Actor.Kind != w.actor {
		t.Errorf("record actor kind %q, want %q", got.Actor.Kind, w.actor)
	}
	docs := map[string]audit.Disposition{}
	for _, d := range got.Documents {
		if _, dup := docs[d.UniqueID]; dup {
			t.Errorf("record names document %s twice", d.UniqueID)
		}
		docs[d.UniqueID] = d.Disposition
	}
	if len(docs) != len(w.docs) {
		t.Errorf("record documents %v, want %v", docs, w.docs)
	} else {
		for uid, disp := range w.docs {
			if docs[uid] != disp {
				t.Errorf("record documents %v, want %v", docs, w.docs)
				break
			}
		}
	}
	if got.HiddenNORS != w.hiddenNORS {
		t.Errorf("record hidden NORS %d, want %d", got.HiddenNORS, w.hiddenNORS)
	}
	if got.Flags != w.flags {
		t.Errorf("record flags %+v, want %+v", got.Flags, w.flags)
	}
	if got.RequestID == "" || got.SourceIP == "" {
		t.Errorf("record lacks the call's request id or source address: %+v", got)
	}
}

func uids(docs []*registry.DocumentEntry) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.UniqueID
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func readAll(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
