package access_test

import (
	"errors"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
	"pjd/trust"
)

// The lifecycle transactions are for systems only: every person, a
// principal that only claims to be a system, and a system without the
// transaction's scope are refused, and each refusal is audited.
func TestLifecycleRefusals(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	entry := e.entry(uidNormal)
	forged := source()
	forged.Credential = trust.CredentialHelseIDDPoP
	noScope := source()
	clientCreds := &trust.Principal{Kind: trust.ClientCredentials, Credential: trust.CredentialHelseIDDPoP,
		LegalEntity: trust.Identifier{ID: registry.SampleOrgnr, System: oid.OrgNr}, Scopes: []string{access.ScopePatientIdentityFeed}}
	ops := map[string]func(p *trust.Principal) error{
		"ITI-57": func(p *trust.Principal) error {
			_, err := e.guard.Update(e.ctx, call(p, audit.TxITI57), registry.SampleUpdate(7001, entry, nil))
			return err
		},
		"ITI-62": func(p *trust.Principal) error {
			_, err := e.guard.RemoveMetadata(e.ctx, call(p, audit.TxITI62), []string{entry.ID})
			return err
		},
		"ITI-86": func(p *trust.Principal) error {
			_, err := e.guard.RemoveDocuments(e.ctx, call(p, audit.TxITI86), []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal}})
			return err
		},
		"ITI-51": func(p *trust.Principal) error {
			_, err := e.guard.MultiPatientQuery(e.ctx, call(p, audit.TxITI51), &registry.Query{ID: registry.QueryFindDocumentsForMultiplePatients,
				ReturnType: registry.ReturnObjectRef, Params: []registry.Slot{{Name: registry.ParamDocumentEntryPatientID, Values: []string{"('" + cx(patientP) + "')"}}}})
			return err
		},
		"ITI-104": func(p *trust.Principal) error {
			_, err := e.guard.LinkPatient(e.ctx, call(p, audit.TxITI104), registry.SampleDnrPatientID(5), cx(patientQ), "")
			return err
		},
	}
	cases := []struct {
		tx   string
		who  string
		p    *trust.Principal
		rule string
	}{
		{"ITI-57", "health worker", healthWorker(patientP), access.RuleLifecycleSystemOnly},
		{"ITI-57", "citizen", citizen(patientP), access.RuleLifecycleSystemOnly},
		{"ITI-57", "forged system", forged, access.RuleSystemCredentialOrigin},
		{"ITI-62", "health worker", healthWorker(patientP), access.RuleLifecycleSystemOnly},
		{"ITI-62", "client credentials", clientCreds, access.RuleLifecycleSystemOnly},
		{"ITI-86", "citizen", citizen(patientP), access.RuleLifecycleSystemOnly},
		{"ITI-51", "health worker", healthWorker(patientP), access.RuleSystemScopeMissing},
		{"ITI-51", "system without the scope", noScope, access.RuleSystemScopeMissing},
		{"ITI-51", "forged system", forged, access.RuleSystemCredentialOrigin},
		{"ITI-104", "health worker", healthWorker(patientP), access.RuleSystemScopeMissing},
		{"ITI-104", "system without the scope", noScope, access.RuleSystemScopeMissing},
	}
	for _, c := range cases {
		t.Run(c.tx+" by "+c.who, func(t *testing.T) {
			rec := e.oneRecord(t, func() {
				err := ops[c.tx](c.p)
				var d *access.Denied
				if !errors.As(err, &d) || d.Rule != c.rule {
					t.Fatalf("err = %v, want a refusal by %s", err, c.rule)
				}
			})
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != c.rule || rec.Transaction != c.tx {
				t.Fatalf("audit record %+v", rec)
			}
		})
	}
	if ds, _ := e.reg.Reader().Documents(e.ctx, registry.DocumentFilter{UniqueIDs: []string{uidNormal}}); len(ds) != 1 {
		t.Fatalf("%d entries of %s after the refusals, want 1 untouched", len(ds), uidNormal)
	}
}

// A D-nummer linked to a fødselsnummer (ITI-104) is the same person on
// every path: a search by either number finds the documents of both, an
// attestation naming one number binds the other, and a read by the new
// number of a document registered under the old one is permitted.
func TestLinkedPatientIsOnePerson(t *testing.T) {
	e := newEnv(t, envOpts{devSources: true})
	dnr := registry.SyntheticDnr(77)
	dnrCX := registry.NewPatientCX(dnr, oid.DNR).String()
	e.upload(registry.SampleSubmission(registry.SampleOptions{Patient: dnrCX, Seq: 7101}), 7101)
	e.upload(registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientQ), Seq: 7102}), 7102)
	uidD, uidF := registry.SampleUniqueID(7101, 0), registry.SampleUniqueID(7102, 0)
	find := func(p *trust.Principal, number, o string) []string {
		t.Helper()
		res, err := e.guard.FindDocuments(e.ctx, call(p, audit.TxITI67), access.FindRequest{PatientID: number, PatientOID: o})
		if err != nil {
			t.Fatalf("search %s: %v", number, err)
		}
		return uids(res.Documents)
	}
	if got := find(healthWorker(patientQ), patientQ, oid.FNR); len(got) != 1 || got[0] != uidF {
		t.Fatalf("before the link: %v, want only %s", got, uidF)
	}
	feed := &trust.Principal{Kind: trust.System, Credential: access.CredentialDevLoopback}
	rec := e.oneRecord(t, func() {
		if _, err := e.guard.LinkPatient(e.ctx, call(feed, audit.TxITI104), dnrCX, cx(patientQ), "fikk fødselsnummer"); err != nil {
			t.Fatal(err)
		}
	})
	if rec.Transaction != audit.TxITI104 || rec.Action != audit.ActionCreate || rec.Outcome != audit.OutcomePermit || rec.PatientID != dnr {
		t.Fatalf("audit record %+v", rec)
	}
	want := sorted(uidD, uidF)
	if got := sorted(find(healthWorker(patientQ), patientQ, oid.FNR)...); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("by the new number: %v, want %v", got, want)
	}
	if got := find(healthWorker(dnr), dnr, oid.DNR); len(got) != 2 {
		t.Fatalf("by the old number: %v, want both", got)
	}
	// The attestation names the D-nummer; the request the fødselsnummer.
	if got := find(healthWorker(dnr), patientQ, oid.FNR); len(got) != 2 {
		t.Fatalf("attestation naming the old number: %v, want both", got)
	}
	doc, err := e.guard.OpenDocument(e.ctx, call(healthWorker(patientQ), audit.TxITI68), registry.SampleRepositoryUniqueID, uidD, patientQ)
	if err != nil {
		t.Fatalf("read by the new number of a document under the old: %v", err)
	}
	doc.Discard()
	if _, err := e.guard.UnlinkPatient(e.ctx, call(feed, audit.TxITI104), dnrCX, "feil kobling"); err != nil {
		t.Fatal(err)
	}
	if got := find(healthWorker(patientQ), patientQ, oid.FNR); len(got) != 1 || got[0] != uidF {
		t.Fatalf("after the unlink: %v, want only %s", got, uidF)
	}
}

// A search shows the current version of each logical document only.
func TestFindShowsLatestVersion(t *testing.T) {
	e := newEnv(t, envOpts{seeded: true})
	prev := e.entry(uidNormal)
	if _, err := e.guard.Update(e.ctx, call(source(), audit.TxITI57), registry.SampleUpdate(7201, prev, nil)); err != nil {
		t.Fatal(err)
	}
	res, err := e.guard.FindDocuments(e.ctx, call(healthWorker(patientP), audit.TxITI67), access.FindRequest{PatientID: patientP, PatientOID: oid.FNR})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range res.Documents {
		if d.UniqueID == uidNormal {
			n++
			if d.Version != "2" {
				t.Fatalf("version %s of %s shown, want 2", d.Version, uidNormal)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%s shown %d times, want once (the current version)", uidNormal, n)
	}
}
