package access_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

func TestNewRequiresItsParts(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct {
		name string
		cfg  access.Config
	}{
		{"nothing", access.Config{}},
		{"no policy", access.Config{Registry: e.reg, Audit: e.log}},
		{"no audit", access.Config{Registry: e.reg, Policy: policy.Default()}},
		{"no registry or repository", access.Config{Policy: policy.Default(), Audit: e.log}},
	} {
		if g, err := access.New(c.cfg); err == nil || g != nil {
			t.Errorf("%s: New = %v, %v; want an error", c.name, g, err)
		}
	}
}

// wantErr describes the error a guard method must return.
type wantErr struct {
	denied   string // the *Denied rule; "" when not denied
	conceal  bool
	notFound bool
	tooMany  bool
}

func checkErr(t *testing.T, err error, w wantErr) {
	t.Helper()
	var d *access.Denied
	switch {
	case w.denied != "":
		if !errors.As(err, &d) || !errors.Is(err, access.ErrDenied) {
			t.Fatalf("err = %v, want a denial by %s", err, w.denied)
		}
		if d.Rule != w.denied || d.Conceal != w.conceal {
			t.Fatalf("denied by %s (conceal %v), want %s (conceal %v)", d.Rule, d.Conceal, w.denied, w.conceal)
		}
	case w.notFound:
		if !errors.Is(err, access.ErrNotFound) || errors.As(err, &d) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	case w.tooMany:
		if !errors.Is(err, access.ErrTooMany) {
			t.Fatalf("err = %v, want ErrTooMany", err)
		}
	default:
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
}

func TestFindDocuments(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	approved := registry.DocumentFilter{Statuses: []string{registry.StatusApproved}}
	kj := func(p *trust.Principal) { p.MatchedScope = trust.ScopeReadDocumentReferencesKJ }
	hw := audit.ActorHealthWorker
	type row struct {
		name    string
		p       *trust.Principal
		patient string
		match   func(*registry.DocumentEntry) bool
		err     wantErr
		visible []string
		hidden  int
		nors    int
		flags   audit.Flags
		rec     wantRecord
	}
	R, H := audit.DocReturned, audit.DocHidden
	rows := []row{
		{name: "health worker sees all but NORS", p: healthWorker(patientP), patient: patientP,
			visible: sorted(uidNormal, uidLab, uidNotCitizen), hidden: 1, nors: 1,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}}},
		{name: "health worker without attested patient", p: healthWorker(""), patient: patientP,
			visible: sorted(uidNormal, uidLab, uidNotCitizen), hidden: 1, nors: 1,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}}},
		{name: "kjernejournal scope applies the windows", p: healthWorker(patientP, kj), patient: patientP,
			visible: sorted(uidNormal, uidNotCitizen), hidden: 2, nors: 1,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: H, uidNotCitizen: R}}},
		{name: "match narrows what is decided and recorded", p: healthWorker(patientP), patient: patientP,
			match:   func(d *registry.DocumentEntry) bool { return d.Class.Code == "C00-1" },
			visible: []string{uidLab},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, actor: hw,
				docs: map[string]audit.Disposition{uidLab: R}}},
		{name: "break the glass is flagged", p: healthWorker(patientP, purpose(trust.PurposeBTG)), patient: patientP,
			visible: sorted(uidNormal, uidLab, uidNotCitizen), hidden: 1, nors: 1, flags: audit.Flags{BTG: true},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerEmergency, actor: hw, hiddenNORS: 1,
				flags: audit.Flags{BTG: true}, docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}}},
		{name: "emergency treatment is flagged", p: healthWorker(patientP, purpose(trust.PurposeETreat)), patient: patientP,
			visible: sorted(uidNormal, uidLab, uidNotCitizen), hidden: 1, nors: 1, flags: audit.Flags{ETREAT: true},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerEmergency, actor: hw, hiddenNORS: 1,
				flags: audit.Flags{ETREAT: true}, docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R}}},
		{name: "nurse is refused outright", p: healthWorker(patientP, nurse), patient: patientP,
			err: wantErr{denied: policy.RuleAuthorizationNotAllowed},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAuthorizationNotAllowed, actor: hw}},
		{name: "attestation for another patient", p: healthWorker(patientQ), patient: patientP,
			err: wantErr{denied: policy.RuleAttestationPatientBinding},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAttestationPatientBinding, actor: hw}},
		{name: "expired attestation", p: healthWorker(patientP, func(p *trust.Principal) { p.AttestedAt = now.Add(-61 * time.Minute) }),
			patient: patientP, err: wantErr{denied: policy.RuleAttestationExpired},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAttestationExpired, actor: hw}},
		{name: "security level 3", p: healthWorker(patientP, func(p *trust.Principal) { p.SecurityLevel = 3 }),
			patient: patientP, err: wantErr{denied: policy.RuleSecurityLevel},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleSecurityLevel, actor: hw}},
		{name: "no patient", p: healthWorker(""), patient: "", err: wantErr{denied: policy.RuleOnePatientPerRequest},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleOnePatientPerRequest, actor: hw}},
		{name: "citizen sees own documents but not NORN", p: citizen(patientP), patient: patientP,
			visible: sorted(uidNormal, uidNORS, uidLab), hidden: 1,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleCitizenOwnRecords, actor: audit.ActorCitizen,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: R, uidLab: R, uidNotCitizen: H}}},
		{name: "citizen asking about someone else", p: citizen(patientQ), patient: patientP,
			err: wantErr{denied: policy.RuleCitizenOtherPatient},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleCitizenOtherPatient, actor: audit.ActorCitizen}},
		{name: "compliance officer may not read documents", p: &trust.Principal{Kind: trust.Compliance, Subject: "28839040085", SecurityLevel: 4},
			patient: patientP, err: wantErr{denied: policy.RulePatientDataNotPermitted},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RulePatientDataNotPermitted, actor: hw}},
		{name: "no principal", p: nil, patient: patientP, err: wantErr{denied: policy.RuleNoPrincipal},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleNoPrincipal, actor: audit.ActorUnknown}},
		{name: "system credential is audited as the system", p: source(), patient: patientP,
			visible: sorted(uidNormal, uidNORS, uidLab, uidNotCitizen),
			rec: wantRecord{outcome: audit.OutcomePermit, rule: "system-credential", actor: audit.ActorSystem,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: R, uidLab: R, uidNotCitizen: R}}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			res, rec, err := recorded(t, e, func() (*access.FindResult, error) {
				return e.guard.FindDocuments(e.ctx, call(r.p, audit.TxITI67), access.FindRequest{
					PatientID: r.patient, PatientOID: oid.FNR, Filter: approved, Match: r.match})
			})
			checkErr(t, err, r.err)
			r.rec.tx, r.rec.action, r.rec.patient = audit.TxITI67, audit.ActionQuery, r.patient
			checkRecord(t, rec, r.rec)
			if err != nil {
				if res != nil {
					t.Fatalf("an error came with data: %+v", res)
				}
				return
			}
			if got := uids(res.Documents); !slices.Equal(got, r.visible) {
				t.Errorf("visible %v, want %v", got, r.visible)
			}
			if res.Hidden != r.hidden || res.HiddenNORS != r.nors || res.Flags != r.flags || res.Rule != r.rec.rule {
				t.Errorf("hidden %d, NORS %d, flags %+v, rule %s; want %d, %d, %+v, %s",
					res.Hidden, res.HiddenNORS, res.Flags, res.Rule, r.hidden, r.nors, r.flags, r.rec.rule)
			}
		})
	}
}

func TestFindDocumentsTooMany(t *testing.T) {
	e := newEnv(t, envOpts{maxDocuments: 2, seeded: true})
	res, rec, err := recorded(t, e, func() (*access.FindResult, error) {
		return e.guard.FindDocuments(e.ctx, call(healthWorker(patientP), audit.TxITI67),
			access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
	})
	checkErr(t, err, wantErr{tooMany: true})
	if res != nil {
		t.Fatalf("data with ErrTooMany: %+v", res)
	}
	checkRecord(t, rec, wantRecord{tx: audit.TxITI67, action: audit.ActionQuery, outcome: audit.OutcomeError, rule: "error",
		patient: patientP, actor: audit.ActorHealthWorker})
}

// Relationships are given only between documents the principal sees: a
// replacement of a NORS document must not name it.
func TestFindDocumentsRelations(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	replace := func(seq uint64, oldUID string) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seq})
		sub.Associations = append(sub.Associations, &registry.Association{ID: "Rplc", Type: registry.AssocReplace,
			Source: "Document01", Target: e.entry(oldUID).ID})
		e.upload(sub, seq)
	}
	replace(seqReplaced, uidNormal)
	replace(seqReplaced+1, uidNORS)
	newNormal, newNORS := registry.SampleUniqueID(seqReplaced, 0), registry.SampleUniqueID(seqReplaced+1, 0)

	res, err := e.guard.FindDocuments(e.ctx, call(healthWorker(patientP), audit.TxITI67),
		access.FindRequest{PatientID: patientP, PatientOID: oid.FNR, Related: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := uids(res.Documents), sorted(uidNormal, uidLab, uidNotCitizen, newNormal, newNORS); !slices.Equal(got, want) {
		t.Fatalf("visible %v, want %v (deprecated ones included, NORS not)", got, want)
	}
	visible := map[string]bool{}
	for _, d := range res.Documents {
		visible[d.ID] = true
	}
	if len(res.Associations) != 1 {
		t.Fatalf("%d relationships, want exactly the one between visible documents: %+v", len(res.Associations), res.Associations)
	}
	a := res.Associations[0]
	if a.Type != registry.AssocReplace || a.Source != e.entry(newNormal).ID || a.Target != e.entry(uidNormal).ID {
		t.Fatalf("relationship %+v, want %s RPLC %s", a, newNormal, uidNormal)
	}
	for _, a := range res.Associations {
		if !visible[a.Source] || !visible[a.Target] {
			t.Fatalf("relationship %s names a hidden document", a.ID)
		}
	}
}

func TestFindDocumentsPatientBlocks(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	find := func(p *trust.Principal) (*access.FindResult, error) {
		return e.guard.FindDocuments(e.ctx, call(p, audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
	}
	// A block of one document, for this health worker's HPR number.
	if _, err := e.blocks.Add(e.ctx, policy.Block{PatientID: patientP, HPRNumber: "565500013", DocumentUniqueIDs: []string{uidLab}}); err != nil {
		t.Fatal(err)
	}
	var res *access.FindResult
	var err error
	rec := e.oneRecord(t, func() { res, err = find(healthWorker(patientP)) })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := uids(res.Documents), sorted(uidNormal, uidNotCitizen); !slices.Equal(got, want) {
		t.Fatalf("visible %v, want %v", got, want)
	}
	if res.Hidden != 2 || res.HiddenNORS != 1 {
		t.Fatalf("hidden %d (NORS %d), want 2 (1)", res.Hidden, res.HiddenNORS)
	}
	checkRecord(t, rec, wantRecord{tx: audit.TxITI67, action: audit.ActionQuery, outcome: audit.OutcomePermit,
		rule: policy.RuleHealthWorkerCare, patient: patientP, actor: audit.ActorHealthWorker, hiddenNORS: 1,
		docs: map[string]audit.Disposition{uidNormal: audit.DocReturned, uidNotCitizen: audit.DocReturned,
			uidNORS: audit.DocHidden, uidLab: audit.DocHidden}})

	// Another health worker is not affected.
	other := healthWorker(patientP, func(p *trust.Principal) { p.HPRNumber = "565500039"; p.Subject = "21857540120" })
	if res, err := find(other); err != nil || len(res.Documents) != 3 {
		t.Fatalf("another health worker: %v, %v", res, err)
	}

	// A block of every document, for the organisation: everything is
	// hidden, even under emergency access — as an empty answer, so the
	// health worker does not learn that a block exists; the record says why.
	b, err := e.blocks.Add(e.ctx, policy.Block{PatientID: patientP, OrgNr: "910000012"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*trust.Principal{healthWorker(patientP), healthWorker(patientP, purpose(trust.PurposeBTG)), other} {
		rec := e.oneRecord(t, func() { res, err = find(p) })
		if err != nil || res == nil || len(res.Documents) != 0 || res.Total != 0 || res.HiddenNORS != 0 {
			t.Fatalf("blocked search answered %+v, %v; want an empty result", res, err)
		}
		checkRecord(t, rec, wantRecord{tx: audit.TxITI67, action: audit.ActionQuery, outcome: audit.OutcomeDeny,
			rule: policy.RulePatientBlock, patient: patientP, actor: audit.ActorHealthWorker, flags: rec.Flags})
	}
	// Lifting it gives access back (from the moment it was lifted).
	if err := e.blocks.Lift(e.ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	e.clock = time.Now().Add(time.Second)
	if res, err := find(other); err != nil || len(res.Documents) != 3 {
		t.Fatalf("after lifting: %v, %v", res, err)
	}
}

func TestOpenDocument(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	kj := func(p *trust.Principal) { p.MatchedScope = trust.ScopeReadDocumentReferencesKJ }
	R, F := audit.DocReturned, audit.DocRefused
	hw := audit.ActorHealthWorker
	type row struct {
		name    string
		p       *trust.Principal
		uid     string
		hint    string
		err     wantErr
		content []byte
		flags   audit.Flags
		rec     wantRecord
	}
	normal := registry.SampleDocument(seqMixed, 0, cx(patientP))
	rows := []row{
		{name: "permitted with the patient named", p: healthWorker(patientP), uid: uidNormal, hint: patientP, content: normal,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidNormal: R}}},
		{name: "permitted with the patient implied", p: healthWorker(""), uid: uidNormal, content: normal,
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidNormal: R}}},
		{name: "break the glass", p: healthWorker(patientP, purpose(trust.PurposeBTG)), uid: uidNormal, content: normal,
			flags: audit.Flags{BTG: true},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerEmergency, patient: patientP, actor: hw,
				flags: audit.Flags{BTG: true}, docs: map[string]audit.Disposition{uidNormal: R}}},
		{name: "NORS is concealed", p: healthWorker(patientP), uid: uidNORS, hint: patientP,
			err: wantErr{denied: policy.RuleDocumentNORS, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentNORS, patient: patientP, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNORS: F}}},
		{name: "outside the kjernejournal window is concealed", p: healthWorker(patientP, kj), uid: uidLab,
			err: wantErr{denied: policy.RuleDocumentOutsideWindow, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentOutsideWindow, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidLab: F}}},
		{name: "unknown document with the patient named", p: healthWorker(patientP), uid: uidUnknown, hint: patientP,
			err: wantErr{notFound: true},
			rec: wantRecord{outcome: audit.OutcomeError, rule: "error", patient: patientP, actor: hw}},
		{name: "unknown document with the patient implied", p: healthWorker(patientP), uid: uidUnknown,
			err: wantErr{notFound: true},
			rec: wantRecord{outcome: audit.OutcomeError, rule: "error", patient: patientP, actor: hw}},
		{name: "another patient's document, patient named", p: healthWorker(""), uid: uidOther, hint: patientP,
			err: wantErr{denied: policy.RuleDocumentPatientMismatch, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentPatientMismatch, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidOther: F}}},
		// The attestation names P: Q's document must look exactly like an
		// unknown one (the row above it), not like a refusal.
		{name: "another patient's document, patient attested", p: healthWorker(patientP), uid: uidOther,
			err: wantErr{denied: policy.RuleAttestationPatientBinding, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAttestationPatientBinding, patient: patientQ, actor: hw,
				docs: map[string]audit.Disposition{uidOther: F}}},
		{name: "nurse refused for a document that exists", p: healthWorker(patientP, nurse), uid: uidNormal,
			err: wantErr{denied: policy.RuleAuthorizationNotAllowed},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAuthorizationNotAllowed, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidNormal: F}}},
		{name: "nurse refused alike for one that does not", p: healthWorker(patientP, nurse), uid: uidUnknown,
			err: wantErr{denied: policy.RuleAuthorizationNotAllowed},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAuthorizationNotAllowed, patient: patientP, actor: hw}},
		{name: "citizen reads own document", p: citizen(patientP), uid: uidNORS,
			content: registry.SampleDocument(seqMixed, 1, cx(patientP)),
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleCitizenOwnRecords, patient: patientP,
				actor: audit.ActorCitizen, docs: map[string]audit.Disposition{uidNORS: R}}},
		{name: "citizen: a NORN document is concealed", p: citizen(patientP), uid: uidNotCitizen,
			err: wantErr{denied: policy.RuleDocumentHiddenFromCitizen, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentHiddenFromCitizen, patient: patientP,
				actor: audit.ActorCitizen, docs: map[string]audit.Disposition{uidNotCitizen: F}}},
		{name: "citizen: someone else's document is concealed", p: citizen(patientP), uid: uidOther,
			err: wantErr{denied: policy.RuleCitizenOtherPatient, conceal: true},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleCitizenOtherPatient, patient: patientQ,
				actor: audit.ActorCitizen, docs: map[string]audit.Disposition{uidOther: F}}},
		{name: "citizen: unknown document", p: citizen(patientP), uid: uidUnknown, err: wantErr{notFound: true},
			rec: wantRecord{outcome: audit.OutcomeError, rule: "error", patient: patientP, actor: audit.ActorCitizen}},
		{name: "system credential", p: source(), uid: uidNORS, content: registry.SampleDocument(seqMixed, 1, cx(patientP)),
			rec: wantRecord{outcome: audit.OutcomePermit, rule: "system-credential", patient: patientP, actor: audit.ActorSystem,
				docs: map[string]audit.Disposition{uidNORS: R}}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			doc, rec, err := recorded(t, e, func() (*access.Document, error) {
				return e.guard.OpenDocument(e.ctx, call(r.p, audit.TxITI68), registry.SampleRepositoryUniqueID, r.uid, r.hint)
			})
			checkErr(t, err, r.err)
			r.rec.tx, r.rec.action = audit.TxITI68, audit.ActionRead
			checkRecord(t, rec, r.rec)
			if err != nil {
				if doc != nil {
					t.Fatal("an error came with a document")
				}
				return
			}
			if doc.Entry.UniqueID != r.uid || doc.Flags != r.flags {
				t.Fatalf("document %s flags %+v, want %s %+v", doc.Entry.UniqueID, doc.Flags, r.uid, r.flags)
			}
			rc, size, err := doc.Open(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, rc); !bytes.Equal(got, r.content) || size != int64(len(r.content)) {
				t.Fatalf("content %q (size %d), want %q", got, size, r.content)
			}
		})
	}
}

func TestOpenDocumentOtherRepository(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	_, err := e.guard.OpenDocument(e.ctx, call(healthWorker(patientP), audit.TxITI68), "2.999.1.2.3", uidNormal, patientP)
	checkErr(t, err, wantErr{notFound: true})
}

func TestRetrieve(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	req := func(uids ...string) []repositoryRequest {
		out := make([]repositoryRequest, len(uids))
		for i, u := range uids {
			out[i] = repositoryRequest{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: u}
		}
		return out
	}
	R, F := audit.DocReturned, audit.DocRefused
	hw := audit.ActorHealthWorker
	type row struct {
		name      string
		p         *trust.Principal
		reqs      []repositoryRequest
		err       wantErr
		status    string
		delivered []string
		refused   []string // XDSDocumentUniqueIdError, in request order
		rec       wantRecord
	}
	rows := []row{
		{name: "person: refused and unknown documents look alike", p: healthWorker(patientP),
			reqs: req(uidNormal, uidNORS, uidUnknown), status: registry.ResponsePartialSuccess,
			delivered: []string{uidNormal}, refused: []string{uidNORS, uidUnknown},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, patient: patientP, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: F, uidUnknown: F}}},
		{name: "person: only refused documents", p: healthWorker(patientP), reqs: req(uidNORS), status: registry.ResponseFailure,
			refused: []string{uidNORS},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentNORS, patient: patientP, actor: hw, hiddenNORS: 1,
				docs: map[string]audit.Disposition{uidNORS: F}}},
		{name: "person: only unknown documents", p: healthWorker(patientP), reqs: req(uidUnknown), status: registry.ResponseFailure,
			refused: []string{uidUnknown},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: policy.RuleHealthWorkerCare, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidUnknown: F}}},
		{name: "person: another patient's document", p: healthWorker(patientP), reqs: req(uidOther), status: registry.ResponseFailure,
			refused: []string{uidOther},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentPatientMismatch, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidOther: F}}},
		{name: "person: two patients in one request", p: healthWorker(""), reqs: req(uidNormal, uidOther), status: registry.ResponseFailure,
			refused: []string{uidNormal, uidOther},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleDocumentPatientMismatch, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidNormal: F, uidOther: F}}},
		// A principal policy refuses outright learns nothing about which
		// documents exist: the answer is the same whether they do or not.
		{name: "nurse: documents that exist", p: healthWorker(patientP, nurse), reqs: req(uidNormal),
			err: wantErr{denied: policy.RuleAuthorizationNotAllowed},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAuthorizationNotAllowed, patient: patientP, actor: hw,
				docs: map[string]audit.Disposition{uidNormal: F}}},
		{name: "nurse: documents that do not", p: healthWorker(patientP, nurse), reqs: req(uidUnknown),
			err: wantErr{denied: policy.RuleAuthorizationNotAllowed},
			rec: wantRecord{outcome: audit.OutcomeDeny, rule: policy.RuleAuthorizationNotAllowed, patient: patientP, actor: hw}},
		{name: "system: everything it asks for", p: source(), reqs: req(uidNormal, uidNORS, uidUnknown),
			status: registry.ResponsePartialSuccess, delivered: []string{uidNormal, uidNORS}, refused: []string{uidUnknown},
			rec: wantRecord{outcome: audit.OutcomePermit, rule: "system-credential", patient: patientP, actor: audit.ActorSystem,
				docs: map[string]audit.Disposition{uidNormal: R, uidNORS: R, uidUnknown: F}}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			res, rec, err := recorded(t, e, func() (*retrieveResult, error) { return e.guard.Retrieve(e.ctx, call(r.p, audit.TxITI43), r.reqs) })
			checkErr(t, err, r.err)
			r.rec.tx, r.rec.action = audit.TxITI43, audit.ActionRead
			checkRecord(t, rec, r.rec)
			if err != nil {
				if res != nil {
					t.Fatal("an error came with data")
				}
				return
			}
			if res.Response.Status != r.status {
				t.Errorf("status %s, want %s (errors %v)", res.Response.Status, r.status, res.Response.Errors)
			}
			var got []string
			for _, d := range res.Documents {
				got = append(got, d.DocumentUniqueID)
				rc, err := d.Open(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(readAll(t, rc)) == 0 {
					t.Errorf("document %s is empty", d.DocumentUniqueID)
				}
			}
			if !slices.Equal(got, r.delivered) {
				t.Errorf("delivered %v, want %v", got, r.delivered)
			}
			var refused []string
			for _, x := range res.Response.Errors {
				if x.Code != registry.ErrCodeDocumentUniqueIDError || x.Severity != registry.SeverityError || x.Location == "" {
					t.Errorf("error %+v, want XDSDocumentUniqueIdError with the uniqueId as location", x)
				}
				refused = append(refused, x.Location)
			}
			slices.Sort(refused)
			if want := sorted(r.refused...); !slices.Equal(refused, want) {
				t.Errorf("refused %v, want %v", refused, want)
			}
		})
	}
}

func TestRetrieveWithoutRepository(t *testing.T) {
	e := newEnv(t, envOpts{noRepository: true})
	h := e.head()
	if res, err := e.guard.Retrieve(e.ctx, call(source(), audit.TxITI43), nil); err == nil || res != nil {
		t.Fatalf("Retrieve without a repository = %v, %v", res, err)
	}
	if _, err := e.guard.NewUpload(e.ctx, source(), registry.SampleSubmission(registry.SampleOptions{}), []string{"Document01"}); err == nil {
		t.Fatal("NewUpload without a repository succeeded")
	}
	if recs := e.since(h); len(recs) != 0 {
		t.Fatalf("records written without a repository: %+v", recs)
	}
	if e.guard.RepositoryUniqueID() != "" {
		t.Fatal("RepositoryUniqueID without a repository")
	}
}
