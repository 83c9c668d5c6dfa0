package gateway_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
)

// The document lifecycle over SOAP (issue 13): ITI-57, ITI-62 and ITI-51
// on /xds/registry and ITI-86 on /xds/repository, each authorized by the
// Guard from the source's client certificate and audited.

const foreignOrg = "910000047"

type lifecycleEnv struct {
	h        *harness
	own      *xdsclient.Client // a certificate of the samples' organisation
	foreign  *xdsclient.Client // a certificate of another organisation, granted ITI-51
	blobsDir string
}

func newLifecycleEnv(t *testing.T) *lifecycleEnv {
	ca := newCA(t, "pjd test enterprise CA")
	h := newHarness(t, options{clientCAs: ca.pool, systemScopes: map[string][]string{foreignOrg: {access.ScopeMultiPatientQuery}}})
	h.seed()
	client := func(cert tls.Certificate) *xdsclient.Client {
		tr := h.srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
		return xdsclient.New(h.base, &http.Client{Transport: tr})
	}
	return &lifecycleEnv{h: h,
		own:      client(ca.clientCert(t, orgSubject("Syntetisk sykehus EPJ", "Syntetisk sykehus HF", "NTRNO-"+registry.SampleOrgnr, ""))),
		foreign:  client(ca.clientCert(t, orgSubject("Testsykehuset EPJ", "Testsykehuset HF", "NTRNO-"+foreignOrg, ""))),
		blobsDir: h.blobDir,
	}
}

func (e *lifecycleEnv) entry(t *testing.T, uid string) *registry.DocumentEntry {
	t.Helper()
	ds, err := e.h.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{uid}, LatestOnly: true})
	if err != nil || len(ds) != 1 {
		t.Fatalf("entry %s: %v (%d found)", uid, err, len(ds))
	}
	return ds[0]
}

func wantRefused(t *testing.T, rr registry.Response, err error, code, fragment string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != registry.ResponseFailure || len(rr.Errors) == 0 {
		t.Fatalf("response %+v, want Failure %s", rr, code)
	}
	for _, e := range rr.Errors {
		if e.Code == code && strings.Contains(e.Context, fragment) {
			return
		}
	}
	t.Fatalf("errors %v, want %s naming %q", rr.Errors, code, fragment)
}

func TestXDSUpdateDocumentSet(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleEnv(t)
	prev := e.entry(t, uidNormal)
	cases := []struct {
		name   string
		client *xdsclient.Client
		seq    uint64
		code   string // "" = updated
		frag   string
	}{
		{"another organisation may not update", e.foreign, 9301, registry.ErrCodeRegistryError, "access denied by policy (" + access.RuleLifecycleForeignOrganisation + ")"},
		{"the registering organisation may", e.own, 9302, "", ""},
		{"a stale PreviousVersion is XDSMetadataVersionError", e.own, 9303, registry.ErrCodeMetadataVersionError, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head := e.h.head()
			rr, err := c.client.Update(ctx, registry.SampleUpdate(c.seq, prev, nil))
			if err != nil {
				t.Fatal(err)
			}
			// A refusal by the Guard is one record (deny); one by the
			// registry follows the permission with an error record.
			recs := e.h.since(head)
			if len(recs) == 0 {
				t.Fatal("no audit record")
			}
			rec := recs[len(recs)-1]
			if rec.Transaction != audit.TxITI57 || rec.Action != audit.ActionUpdate {
				t.Fatalf("audit record %+v", rec)
			}
			if c.code != "" {
				wantRefused(t, rr, nil, c.code, c.frag)
				return
			}
			if rr.Status != registry.ResponseSuccess {
				t.Fatalf("update refused: %+v", rr)
			}
			if rec.Outcome != audit.OutcomePermit || rec.PatientID != patientP {
				t.Fatalf("audit record %+v", rec)
			}
			now := e.entry(t, uidNormal)
			if now.Version != "2" || !strings.HasSuffix(now.Title, "(oppdatert)") || now.LogicalID != prev.LogicalID {
				t.Fatalf("latest version %s %q lid %s, want version 2 with the new title", now.Version, now.Title, now.LogicalID)
			}
		})
	}
}

func TestXDSRemoveMetadataAndDocuments(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleEnv(t)
	seq := uint64(9401)
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seq})
	e.h.provide(sub, seq)
	uid := sub.Documents[0].UniqueID
	d := e.entry(t, uid)
	set, err := e.h.reg.Reader().SubmissionSets(ctx, registry.SubmissionSetFilter{UniqueIDs: []string{sub.SubmissionSet.UniqueID}})
	if err != nil || len(set) != 1 {
		t.Fatalf("submission set: %v %d", err, len(set))
	}
	hm, err := e.h.reg.Reader().Associations(ctx, registry.AssociationFilter{Targets: []string{d.ID}, Types: []string{registry.AssocHasMember}})
	if err != nil || len(hm) != 1 {
		t.Fatalf("HasMember: %v %d", err, len(hm))
	}
	ids := []string{set[0].ID, hm[0].ID, d.ID}
	repo := registry.SampleRepositoryUniqueID
	ref := []repository.DocumentRequest{{RepositoryUniqueID: repo, DocumentUniqueID: uid}}

	t.Run("ITI-86 refuses while the metadata is registered", func(t *testing.T) {
		rr, err := e.own.RemoveDocuments(ctx, ref)
		wantRefused(t, rr, err, registry.ErrCodeRemoveDocumentsError, uid)
	})
	t.Run("ITI-62 by another organisation is refused", func(t *testing.T) {
		rr, err := e.foreign.RemoveMetadata(ctx, ids)
		wantRefused(t, rr, err, registry.ErrCodeRegistryError, access.RuleLifecycleForeignOrganisation)
	})
	t.Run("ITI-62 of the SubmissionSet alone breaks references", func(t *testing.T) {
		rr, err := e.own.RemoveMetadata(ctx, ids[:1])
		wantRefused(t, rr, err, registry.ErrCodeReferencesExist, "")
	})
	t.Run("ITI-62 of a malformed request is a RegistryError", func(t *testing.T) {
		rr, err := e.own.RemoveMetadata(ctx, nil)
		wantRefused(t, rr, err, registry.ErrCodeRegistryError, "ObjectRef")
	})
	t.Run("ITI-62 by the registering organisation", func(t *testing.T) {
		rec := e.h.oneRecord(t, func() {
			rr, err := e.own.RemoveMetadata(ctx, ids)
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("ITI-62: %v %+v", err, rr)
			}
		})
		if rec.Transaction != audit.TxITI62 || rec.Action != audit.ActionDelete || rec.Outcome != audit.OutcomePermit ||
			len(rec.Documents) != 1 || rec.Documents[0].UniqueID != uid {
			t.Fatalf("audit record %+v", rec)
		}
		if ds, _ := e.h.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{uid}}); len(ds) != 0 {
			t.Fatalf("%d entries left", len(ds))
		}
	})
	t.Run("ITI-86 of another repository's document", func(t *testing.T) {
		rr, err := e.own.RemoveDocuments(ctx, []repository.DocumentRequest{{RepositoryUniqueID: "2.999.1", DocumentUniqueID: uid}})
		wantRefused(t, rr, err, registry.ErrCodeUnknownRepositoryID, "2.999.1")
	})
	t.Run("ITI-86 removes the blob, then knows nothing of it", func(t *testing.T) {
		before := countBlobs(t, e.blobsDir)
		rec := e.h.oneRecord(t, func() {
			rr, err := e.own.RemoveDocuments(ctx, ref)
			if err != nil || rr.Status != registry.ResponseSuccess {
				t.Fatalf("ITI-86: %v %+v", err, rr)
			}
		})
		if rec.Transaction != audit.TxITI86 || rec.Outcome != audit.OutcomePermit {
			t.Fatalf("audit record %+v", rec)
		}
		if after := countBlobs(t, e.blobsDir); after != before-1 {
			t.Fatalf("%d blob files before, %d after; want the .bin gone", before, after)
		}
		rr, err := e.own.RemoveDocuments(ctx, append(ref, repository.DocumentRequest{RepositoryUniqueID: repo, DocumentUniqueID: uidNormal}))
		wantRefused(t, rr, err, registry.ErrCodeDocumentUniqueIDError, uid)
	})
	t.Run("ITI-86 with some removed is PartialSuccess", func(t *testing.T) {
		seq := uint64(9402)
		sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seq})
		e.h.provide(sub, seq)
		d := e.entry(t, sub.Documents[0].UniqueID)
		set, _ := e.h.reg.Reader().SubmissionSets(ctx, registry.SubmissionSetFilter{UniqueIDs: []string{sub.SubmissionSet.UniqueID}})
		hm, _ := e.h.reg.Reader().Associations(ctx, registry.AssociationFilter{Targets: []string{d.ID}, Types: []string{registry.AssocHasMember}})
		if rr, err := e.own.RemoveMetadata(ctx, []string{set[0].ID, hm[0].ID, d.ID}); err != nil || rr.Status != registry.ResponseSuccess {
			t.Fatalf("ITI-62: %v %+v", err, rr)
		}
		rr, err := e.own.RemoveDocuments(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repo, DocumentUniqueID: d.UniqueID},
			{RepositoryUniqueID: repo, DocumentUniqueID: uidUnknown}})
		if err != nil || rr.Status != registry.ResponsePartialSuccess || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeDocumentUniqueIDError {
			t.Fatalf("ITI-86: %v %+v", err, rr)
		}
	})
}

func TestXDSMultiPatientQuery(t *testing.T) {
	ctx := context.Background()
	e := newLifecycleEnv(t)
	q := &registry.Query{ID: registry.QueryFindDocumentsForMultiplePatients, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"('" + cx(patientP) + "',\n '" + cx(patientQ) + "')"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
	t.Run("a system without the scope is refused", func(t *testing.T) {
		rec := e.h.oneRecord(t, func() {
			_, rr, err := e.own.MultiPatientQuery(ctx, q)
			wantRefused(t, rr, err, registry.ErrCodeRegistryError, "access denied by policy ("+access.RuleSystemScopeMissing+")")
		})
		if rec.Transaction != audit.TxITI51 || rec.Outcome != audit.OutcomeDeny {
			t.Fatalf("audit record %+v", rec)
		}
	})
	t.Run("a system granted the scope gets both patients, audited per patient", func(t *testing.T) {
		head := e.h.head()
		res, rr, err := e.foreign.MultiPatientQuery(ctx, q)
		if err != nil || rr.Status != registry.ResponseSuccess {
			t.Fatalf("ITI-51: %v %+v", err, rr)
		}
		pats := map[string]int{}
		for _, d := range res.Documents {
			pats[d.PatientID]++
		}
		if pats[cx(patientP)] == 0 || pats[cx(patientQ)] == 0 {
			t.Fatalf("documents per patient %v, want both", pats)
		}
		recs := e.h.since(head)
		if len(recs) != 2 || recs[0].PatientID != patientP || recs[1].PatientID != patientQ || recs[0].Transaction != audit.TxITI51 {
			t.Fatalf("audit records %+v, want one per patient", recs)
		}
	})
	t.Run("status alone is XDSStoredQueryMissingParam", func(t *testing.T) {
		q := &registry.Query{ID: registry.QueryFindDocumentsForMultiplePatients, ReturnType: registry.ReturnObjectRef, Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}}}}
		_, rr, err := e.foreign.MultiPatientQuery(ctx, q)
		wantRefused(t, rr, err, registry.ErrCodeStoredQueryMissingParam, "")
	})
}
