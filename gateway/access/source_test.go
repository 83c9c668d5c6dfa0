package access_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

func TestCheckSource(t *testing.T) {
	e := newEnv(t, envOpts{})
	dev := newEnv(t, envOpts{devSources: true})
	loopback := &trust.Principal{Kind: trust.System, Credential: access.CredentialDevLoopback, Client: trust.Client{ID: "dev-loopback"}}
	foreign := source()
	foreign.LegalEntity.ID, foreign.Client.OrgNrParent = "910000047", "910000047"
	sub := func() *registry.Submission {
		return registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP)})
	}
	noDocs := sub()
	noDocs.Documents, noDocs.Associations = nil, nil
	// A Folder or associations alone are judged by the SubmissionSet's
	// authors.
	noDocsForeign := sub()
	noDocsForeign.Documents, noDocsForeign.Associations = nil, nil
	noDocsForeign.SubmissionSet.Authors = foreignAuthors()
	noDocsNoAuthor := sub()
	noDocsNoAuthor.Documents, noDocsNoAuthor.Associations = nil, nil
	noDocsNoAuthor.SubmissionSet.Authors = nil
	// A document for another patient is the registry's to refuse.
	otherPatient := sub()
	otherPatient.Documents[0].PatientID = cx(patientQ)
	for _, c := range []struct {
		name string
		g    *access.Guard
		p    *trust.Principal
		sub  *registry.Submission
		rule string // "" = permitted
	}{
		{"source of its own organisation", e.guard, source(), sub(), ""},
		{"source of another organisation", e.guard, foreign, sub(), policy.RuleSourceForeignOrganisation},
		{"source acting for the author as point of care", e.guard, &trust.Principal{Kind: trust.System, Credential: "mtls",
			LegalEntity: foreign.LegalEntity, PointOfCare: trust.Identifier{ID: registry.SampleOrgnr}}, sub(), ""},
		{"system without an organisation", e.guard, &trust.Principal{Kind: trust.System, Credential: "mtls"}, sub(), policy.RuleSourceForeignOrganisation},
		{"dev loopback without --dev sources", e.guard, loopback, sub(), policy.RuleSourceForeignOrganisation},
		{"dev loopback with --dev sources", dev.guard, loopback, sub(), ""},
		{"dev sources do not extend to other systems", dev.guard, foreign, sub(), policy.RuleSourceForeignOrganisation},
		{"citizen", e.guard, citizen(patientP), sub(), policy.RuleRegisterNotPermitted},
		{"no principal", e.guard, nil, sub(), policy.RuleNoPrincipal},
		{"no documents, the source's own organisation", e.guard, source(), noDocs, ""},
		{"no documents, another organisation", e.guard, source(), noDocsForeign, policy.RuleSourceForeignOrganisation},
		{"no documents, no author", e.guard, source(), noDocsNoAuthor, policy.RuleSourceForeignOrganisation},
		{"no documents, not a source", e.guard, citizen(patientP), noDocs, policy.RuleRegisterNotPermitted},
		{"a document of another patient", e.guard, source(), otherPatient, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.g.CheckSource(e.ctx, c.p, c.sub)
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var d *access.Denied
			if !errors.As(err, &d) || d.Rule != c.rule || d.Conceal {
				t.Fatalf("CheckSource = %v, want a denial by %s", err, c.rule)
			}
		})
	}
}

// foreignAuthors are authors at an organisation the test source does not
// act for.
func foreignAuthors() []registry.Author {
	a := registry.SampleAuthor()
	a.Institutions = []string{registry.XON{OrganizationName: "Testsykehuset HF",
		AssigningAuthority: registry.HD{UniversalID: oid.OrgNr, UniversalIDType: "ISO"}, OrganizationIdentifier: "910000047"}.String()}
	return []registry.Author{a}
}

func TestRegisterAndUploadAreChecked(t *testing.T) {
	e := newEnv(t, envOpts{})
	foreign := source()
	foreign.LegalEntity.ID, foreign.Client.OrgNrParent = "910000047", "910000047"

	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 77})
	if _, err := e.guard.Register(e.ctx, foreign, sub); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("Register by another organisation = %v", err)
	}
	if _, err := e.guard.NewUpload(e.ctx, foreign, sub, []string{"Document01"}); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("NewUpload by another organisation = %v", err)
	}
	if ds, _ := e.reg.Reader().Documents(e.ctx, registry.DocumentFilter{}); len(ds) != 0 {
		t.Fatalf("a refused source stored %d documents", len(ds))
	}
	// Metadata errors come back as the registry's RegistryErrors.
	bad := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 78})
	bad.Documents[0].MimeType = ""
	if _, err := e.guard.Register(e.ctx, source(), bad); err == nil {
		t.Fatal("invalid metadata registered")
	} else if l, ok := registry.AsErrors(err); !ok || !l.Failed() {
		t.Fatalf("Register error %v is not a RegistryError list", err)
	}
	// A document of another patient than its SubmissionSet's: the
	// profile's XDSPatientIdDoesNotMatch, not a policy refusal.
	mixed := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 79})
	mixed.Documents[0].PatientID = cx(patientQ)
	if _, err := e.guard.Register(e.ctx, source(), mixed); err == nil {
		t.Fatal("a document of another patient registered")
	} else if l, ok := registry.AsErrors(err); !ok || len(l) == 0 || l[0].Code != registry.ErrCodePatientIDDoesNotMatch {
		t.Fatalf("Register of a document of another patient = %v, want XDSPatientIdDoesNotMatch", err)
	}
	// And a valid one is registered.
	if w, err := e.guard.Register(e.ctx, source(), sub); err != nil || w.Failed() {
		t.Fatalf("Register = %v, %v", w, err)
	}
	if ds, _ := e.reg.Reader().Documents(e.ctx, registry.DocumentFilter{UniqueIDs: []string{registry.SampleUniqueID(77, 0)}}); len(ds) != 1 {
		t.Fatal("the registration is not in the registry")
	}
}

// When the audit log cannot be written, no data method returns data.
func TestAuditUnavailableFailsEveryDataPath(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	reqs := []repositoryRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal}}
	hw, sys := healthWorker(patientP), source()
	for _, c := range []struct {
		name string
		run  func() (any, error)
	}{
		{"FindDocuments", func() (any, error) {
			return e.guard.FindDocuments(e.ctx, call(hw, audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
		}},
		{"FindDocuments denied", func() (any, error) {
			return e.guard.FindDocuments(e.ctx, call(healthWorker(patientP, nurse), audit.TxITI67), access.FindRequest{PatientID: patientP})
		}},
		{"FindDocuments system", func() (any, error) {
			return e.guard.FindDocuments(e.ctx, call(sys, audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
		}},
		{"OpenDocument", func() (any, error) {
			return e.guard.OpenDocument(e.ctx, call(hw, audit.TxITI68), registry.SampleRepositoryUniqueID, uidNormal, patientP)
		}},
		{"OpenDocument NORS", func() (any, error) {
			return e.guard.OpenDocument(e.ctx, call(hw, audit.TxITI68), registry.SampleRepositoryUniqueID, uidNORS, patientP)
		}},
		{"OpenDocument unknown", func() (any, error) {
			return e.guard.OpenDocument(e.ctx, call(hw, audit.TxITI68), registry.SampleRepositoryUniqueID, uidUnknown, patientP)
		}},
		{"Query person", func() (any, error) {
			return e.guard.Query(e.ctx, call(hw, audit.TxITI18), getAll(patientP, registry.ReturnLeafClass))
		}},
		{"Query system", func() (any, error) {
			return e.guard.Query(e.ctx, call(sys, audit.TxITI18), getAll(patientP, registry.ReturnObjectRef))
		}},
		{"Retrieve person", func() (any, error) { return e.guard.Retrieve(e.ctx, call(hw, audit.TxITI43), reqs) }},
		{"Retrieve system", func() (any, error) { return e.guard.Retrieve(e.ctx, call(sys, audit.TxITI43), reqs) }},
		{"FindLists", func() (any, error) {
			return e.guard.FindLists(e.ctx, call(hw, audit.TxITI66), access.ListsRequest{PatientID: patientP, PatientOID: oid.FNR,
				SubmissionSets: &registry.SubmissionSetFilter{}, Folders: &registry.FolderFilter{}})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := c.run()
			if !errors.Is(err, access.ErrAudit) {
				t.Fatalf("err = %v, want ErrAudit", err)
			}
			var d *access.Denied
			if errors.As(err, &d) {
				t.Fatalf("an unrecorded denial was returned as a denial: %v", err)
			}
			switch x := v.(type) {
			case *access.FindResult:
				if x != nil {
					t.Fatal("data returned")
				}
			case *access.Document:
				if x != nil {
					t.Fatal("data returned")
				}
			case *registry.QueryResult:
				if x != nil {
					t.Fatal("data returned")
				}
			case *retrieveResult:
				if x != nil {
					t.Fatal("data returned")
				}
			case *access.ListsResult:
				if x != nil {
					t.Fatal("data returned")
				}
			default:
				t.Fatalf("unexpected result type %T", v)
			}
		})
	}
	if err := e.guard.RecordRefusal(e.ctx, call(nil, audit.TxITI67), audit.ActionQuery, patientP, "authentication", "no token"); !errors.Is(err, access.ErrAudit) {
		t.Fatalf("RecordRefusal = %v", err)
	}
	if err := e.guard.RecordError(e.ctx, call(hw, audit.TxITI68), audit.ActionRead, patientP, "stream broke"); !errors.Is(err, access.ErrAudit) {
		t.Fatalf("RecordError = %v", err)
	}
}

func TestRecordRefusalAndError(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	rec := e.oneRecord(t, func() {
		if err := e.guard.RecordRefusal(e.ctx, call(nil, audit.TxITI67), audit.ActionQuery, patientP, "authentication", "the access token has expired"); err != nil {
			t.Fatal(err)
		}
	})
	checkRecord(t, rec, wantRecord{tx: audit.TxITI67, action: audit.ActionQuery, outcome: audit.OutcomeDeny, rule: "authentication",
		patient: patientP, actor: audit.ActorUnknown})
	d := e.entry(uidNormal)
	rec = e.oneRecord(t, func() {
		if err := e.guard.RecordError(e.ctx, call(healthWorker(patientP), audit.TxITI68), audit.ActionRead, patientP, "the stream broke off", d); err != nil {
			t.Fatal(err)
		}
	})
	checkRecord(t, rec, wantRecord{tx: audit.TxITI68, action: audit.ActionRead, outcome: audit.OutcomeError, rule: "error",
		patient: patientP, actor: audit.ActorHealthWorker, docs: map[string]audit.Disposition{uidNormal: audit.DocRefused}})
	// The record carries who asked and on what grounds.
	if rec.Actor.HPR != "565500013" || rec.Attestation.PurposeOfUse.Code != trust.PurposeTreat || rec.Client.ID != "legekontor-epj" ||
		rec.Credential != string(trust.CredentialHelseIDDPoP) || rec.Attestation.DecisionRef.ID == "" || rec.Attestation.TOA == 0 {
		t.Fatalf("record lacks the principal: %+v", rec)
	}
	if rec.Documents[0].Class.Code != "A00-1" || rec.Documents[0].SourceOrg.ID != registry.SampleOrgnr {
		t.Fatalf("record document %+v lacks class or source organisation", rec.Documents[0])
	}
}

func TestDisplayFunc(t *testing.T) {
	e := newEnv(t, envOpts{})
	if got := e.guard.DisplayFunc()("classCode", oid.Volven9602, "A00-1"); got == "" {
		t.Fatal("no display name for classCode A00-1")
	}
	if got := e.guard.RepositoryUniqueID(); got != registry.SampleRepositoryUniqueID {
		t.Fatalf("RepositoryUniqueID = %q", got)
	}
}

// The guard is used by every request at once.
func TestGuardConcurrent(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	h := e.head()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			res, err := e.guard.FindDocuments(e.ctx, call(healthWorker(patientP), audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
			if err == nil && len(res.Documents) != 3 {
				err = errors.New("wrong documents")
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			doc, err := e.guard.OpenDocument(e.ctx, call(healthWorker(patientP), audit.TxITI68), registry.SampleRepositoryUniqueID, uidNormal, "")
			if err == nil {
				var rc io.ReadCloser
				if rc, _, err = doc.Open(e.ctx); err == nil {
					var b []byte
					b, err = io.ReadAll(rc)
					rc.Close()
					if err == nil && !bytes.Equal(b, registry.SampleDocument(seqMixed, 0, cx(patientP))) {
						err = errors.New("wrong content")
					}
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.since(h)); n != 40 {
		t.Fatalf("%d audit records for 40 requests", n)
	}
}

// A System principal is served without a person's policy only when its
// credential can make one (mTLS, the --dev loopback). Everything else
// that says System — a token or an assertion, whatever the verifier
// made of it — is refused on every data path, audited with the rule; and
// a client-credentials token goes through policy, which lets it read
// nothing.
func TestSystemOnlyFromItsCredential(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	forged := func(cred trust.Credential) *trust.Principal {
		p := source()
		p.Credential = cred
		return p
	}
	clientCreds := source()
	clientCreds.Kind, clientCreds.Credential = trust.ClientCredentials, trust.CredentialHelseIDDPoP
	principals := []struct {
		name string
		p    *trust.Principal
		rule string
	}{
		{"System from a HelseID token", forged(trust.CredentialHelseIDDPoP), access.RuleSystemCredentialOrigin},
		{"System from a SAML assertion", forged(trust.CredentialXUASAML), access.RuleSystemCredentialOrigin},
		{"System without a credential", forged(""), access.RuleSystemCredentialOrigin},
		{"client-credentials token", clientCreds, policy.RulePatientDataNotPermitted},
	}
	paths := []struct {
		name string
		tx   string
		run  func(c access.Call) error
	}{
		{"find documents", audit.TxITI67, func(c access.Call) error {
			_, err := e.guard.FindDocuments(e.ctx, c, access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
			return err
		}},
		{"find lists", audit.TxITI66, func(c access.Call) error {
			_, err := e.guard.FindLists(e.ctx, c, access.ListsRequest{PatientID: patientP, PatientOID: oid.FNR,
				SubmissionSets: &registry.SubmissionSetFilter{}})
			return err
		}},
		{"open document", audit.TxITI68, func(c access.Call) error {
			_, err := e.guard.OpenDocument(e.ctx, c, registry.SampleRepositoryUniqueID, uidNORS, "")
			return err
		}},
		{"stored query", audit.TxITI18, func(c access.Call) error {
			_, err := e.guard.Query(e.ctx, c, getAll(patientP, registry.ReturnLeafClass))
			return err
		}},
		{"retrieve", audit.TxITI43, func(c access.Call) error {
			res, err := e.guard.Retrieve(e.ctx, c, []repositoryRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNORS}})
			if err == nil && len(res.Documents) > 0 {
				return errors.New("documents delivered")
			}
			return err
		}},
	}
	for _, pr := range principals {
		for _, path := range paths {
			t.Run(pr.name+"/"+path.name, func(t *testing.T) {
				var err error
				rec := e.oneRecord(t, func() { err = path.run(call(pr.p, path.tx)) })
				var d *access.Denied
				if !errors.As(err, &d) || d.Rule != pr.rule {
					t.Fatalf("err %v, want a denial by %s", err, pr.rule)
				}
				if rec.Outcome != audit.OutcomeDeny || rec.Rule != pr.rule || rec.Actor.Kind != audit.ActorSystem {
					t.Fatalf("record %+v, want a denial by %s", rec, pr.rule)
				}
			})
		}
	}
	t.Run("registration by a forged System", func(t *testing.T) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 1099})
		err := e.guard.CheckSource(e.ctx, forged(trust.CredentialHelseIDDPoP), sub)
		var d *access.Denied
		if !errors.As(err, &d) || d.Rule != access.RuleSystemCredentialOrigin {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("registration by a client-credentials token for its own organisation", func(t *testing.T) {
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 1099})
		if err := e.guard.CheckSource(e.ctx, clientCreds, sub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the real thing still passes", func(t *testing.T) {
		if _, err := e.guard.FindDocuments(e.ctx, call(source(), audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR}); err != nil {
			t.Fatal(err)
		}
	})
}
