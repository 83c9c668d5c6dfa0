package access_test

import (
	"slices"
	"testing"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/xcaclient"
	"pjd/gateway/xcaclient/xcatest"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/policy"
)

const (
	homeLocal = "urn:oid:2.16.578.1.12.4.5.100.9"
	homeVest  = "urn:oid:2.16.578.1.12.4.5.100.1"
	homeNord  = "urn:oid:2.16.578.1.12.4.5.100.3"
)

// The regions' documents for patient P: Helse Vest holds a normal one and
// a NORS one, Helse Nord a normal one (and one of patient Q).
var (
	uidVest     = registry.SampleUniqueID(2001, 0)
	uidVestNORS = registry.SampleUniqueID(2001, 1)
	uidNord     = registry.SampleUniqueID(3001, 0)
)

type federation struct {
	*env
	vest, nord *xcatest.Region
}

// newFederation is the seeded local node federating with two seeded
// regions, each called through a real xcaclient.Client; tune adjusts a
// region's configuration (e.g. its timeout).
func newFederation(t *testing.T, tune func(*xcaclient.Community)) *federation {
	t.Helper()
	vest := xcatest.NewRegion(t, homeVest, "Helse Vest")
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: 2, Seq: 2001})
	sub.Documents[1].Confidentiality = []registry.Code{confNORS}
	vest.Register(t, sub)
	nord := xcatest.NewRegion(t, homeNord, "Helse Nord")
	nord.Register(t, registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 3001}))
	nord.Register(t, registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientQ), Seq: 3002}))
	var cs []access.Community
	for _, r := range []*xcatest.Region{vest, nord} {
		c := r.Community()
		if tune != nil {
			tune(&c)
		}
		cl, err := xcaclient.New(c, xcaclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cl)
	}
	e := newEnv(t, envOpts{communities: cs, home: homeLocal, devSources: true, seeded: true})
	return &federation{env: e, vest: vest, nord: nord}
}

func (f *federation) find(t *testing.T, c access.Call) (*access.FindResult, audit.Record, error) {
	t.Helper()
	var res *access.FindResult
	var err error
	rec := f.oneRecord(t, func() {
		res, err = f.guard.FindDocuments(f.ctx, c, access.FindRequest{
			PatientID: patientP, PatientOID: oid.FNR, Filter: registry.DocumentFilter{Statuses: []string{registry.StatusApproved}}})
	})
	return res, rec, err
}

func homes(docs []*registry.DocumentEntry) map[string]string {
	m := map[string]string{}
	for _, d := range docs {
		m[d.UniqueID] = d.HomeCommunityID
	}
	return m
}

// One search asks the local registry and both regions, merges their
// entries, decides policy on all of them (the regions' NORS entry is
// hidden like a local one), and is audited once with each community's
// outcome, the documents' homes and one correlation id that went to both
// regions.
func TestFederatedFindDocuments(t *testing.T) {
	f := newFederation(t, nil)
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	c := call(healthWorker(patientP), audit.TxITI67)
	c.Traceparent = tp
	res, rec, err := f.find(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(uidNormal, uidLab, uidNotCitizen, uidVest, uidNord)
	if got := uids(res.Documents); !slices.Equal(got, want) {
		t.Fatalf("visible %v, want %v", got, want)
	}
	h := homes(res.Documents)
	if h[uidNormal] != homeLocal || h[uidVest] != homeVest || h[uidNord] != homeNord {
		t.Errorf("homes %v", h)
	}
	if res.HiddenNORS != 2 || res.Total != 5 {
		t.Errorf("NORS hidden %d, total %d; want 2, 5", res.HiddenNORS, res.Total)
	}
	if len(res.Communities) != 2 || res.Communities[0].Failed || res.Communities[1].Failed {
		t.Fatalf("communities %+v", res.Communities)
	}
	R, H := audit.DocReturned, audit.DocHidden
	checkRecord(t, rec, wantRecord{tx: audit.TxITI67, action: audit.ActionQuery, outcome: audit.OutcomePermit,
		rule: policy.RuleHealthWorkerCare, patient: patientP, actor: audit.ActorHealthWorker, hiddenNORS: 2,
		docs: map[string]audit.Disposition{uidNormal: R, uidNORS: H, uidLab: R, uidNotCitizen: R, uidVest: R, uidVestNORS: H, uidNord: R}})
	wantC := []audit.Community{
		{ID: homeVest, Name: "Helse Vest", Outcome: audit.CommunityAnswered, Documents: 2},
		{ID: homeNord, Name: "Helse Nord", Outcome: audit.CommunityAnswered, Documents: 1},
	}
	if !slices.Equal(rec.Communities, wantC) {
		t.Errorf("record communities %+v, want %+v", rec.Communities, wantC)
	}
	for _, d := range rec.Documents {
		if d.UniqueID == uidVestNORS && d.Home != homeVest {
			t.Errorf("record: document %s home %q", d.UniqueID, d.Home)
		}
	}
	if rec.EventID == "" {
		t.Fatal("no correlation id generated")
	}
	for _, r := range []*xcatest.Region{f.vest, f.nord} {
		qs, hs := r.Queries()
		if len(qs) != 1 {
			t.Fatalf("%s got %d queries", r.Name, len(qs))
		}
		if hs[0].Get("nhn-event-id") != rec.EventID || hs[0].Get("traceparent") != tp {
			t.Errorf("%s: event id %q traceparent %q; record %q", r.Name, hs[0].Get("nhn-event-id"), hs[0].Get("traceparent"), rec.EventID)
		}
		if !xcaclient.SameID(qs[0].HomeCommunityID, r.ID) || qs[0].ID != registry.QueryFindDocuments {
			t.Errorf("%s: query %+v", r.Name, qs[0])
		}
	}
}

// The consumer's nhn-event-id is the one carried on.
func TestFederatedFindKeepsTheConsumersEventID(t *testing.T) {
	f := newFederation(t, nil)
	c := call(healthWorker(patientP), audit.TxITI67)
	c.EventID = "consumer-event-1"
	_, rec, err := f.find(t, c)
	if err != nil {
		t.Fatal(err)
	}
	_, hs := f.vest.Queries()
	if rec.EventID != "consumer-event-1" || hs[0].Get("nhn-event-id") != "consumer-event-1" {
		t.Errorf("record %q, sent %q", rec.EventID, hs[0].Get("nhn-event-id"))
	}
}

// A region that is down, slow past its deadline or answering garbage
// never fails the search: the others' documents come back, the failed
// region is named with what happened, and the record says so.
func TestFederatedFindPartialFailure(t *testing.T) {
	for _, tc := range []struct {
		mode xcatest.Mode
		kind xcaclient.Kind
	}{
		{xcatest.Down, xcaclient.KindUnreachable},
		{xcatest.Slow, xcaclient.KindTimeout},
		{xcatest.Garbage, xcaclient.KindMalformed},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := newFederation(t, func(c *xcaclient.Community) { c.Timeout = 300 * time.Millisecond })
			f.nord.SetMode(tc.mode)
			res, rec, err := f.find(t, call(healthWorker(patientP), audit.TxITI67))
			if err != nil {
				t.Fatal(err)
			}
			want := sorted(uidNormal, uidLab, uidNotCitizen, uidVest)
			if got := uids(res.Documents); !slices.Equal(got, want) {
				t.Errorf("visible %v, want %v", got, want)
			}
			n := res.Communities[1]
			if !n.Failed || n.Kind != string(tc.kind) || n.ID != homeNord || n.Name != "Helse Nord" {
				t.Errorf("Helse Nord outcome %+v", n)
			}
			if len(n.Errors) != 1 || n.Errors[0].Code != access.ErrCodeUnavailableCommunity || n.Errors[0].Location != homeNord {
				t.Errorf("Helse Nord errors %+v", n.Errors)
			}
			if res.Communities[0].Failed {
				t.Errorf("Helse Vest failed too: %+v", res.Communities[0])
			}
			if rc := rec.Communities[1]; rc.Outcome != string(tc.kind) || rc.Reason == "" {
				t.Errorf("record: Helse Nord %+v", rc)
			}
			if tc.mode == xcatest.Slow {
				<-f.nord.Abandoned // the slow region's request was given up, not left running
			}
		})
	}
}

// A principal policy refuses outright costs no community a query.
func TestFederatedFindRefusedAsksNoCommunity(t *testing.T) {
	f := newFederation(t, nil)
	_, rec, err := f.find(t, call(healthWorker(patientP, nurse), audit.TxITI67))
	if err == nil || rec.Outcome != audit.OutcomeDeny {
		t.Fatalf("err %v, record %s", err, rec.Outcome)
	}
	for _, r := range []*xcatest.Region{f.vest, f.nord} {
		if qs, _ := r.Queries(); len(qs) != 0 {
			t.Errorf("%s was asked %d times", r.Name, len(qs))
		}
	}
}

// Federation needs this node's own homeCommunityId.
func TestFederationNeedsAHome(t *testing.T) {
	cl, err := xcaclient.New(xcaclient.Community{ID: homeVest, URL: "http://127.0.0.1:1/"}, xcaclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{})
	if _, err := access.New(access.Config{Registry: e.reg, Policy: policy.Default(), Audit: e.log,
		Communities: []access.Community{cl}}); err == nil {
		t.Error("a guard federating without a home was made")
	}
}

// A patient whose number this node links to another (ITI-104) is asked
// for in the communities by the number the consumer named: the link
// widens the local search, never empties the remote one.
func TestFederatedFindLinkedPatient(t *testing.T) {
	f := newFederation(t, nil)
	dnrCX := registry.NewPatientCX(registry.SyntheticDnr(78), oid.DNR).String()
	feed := &trust.Principal{Kind: trust.System, Credential: access.CredentialDevLoopback}
	if _, err := f.guard.LinkPatient(f.ctx, call(feed, audit.TxITI104), dnrCX, cx(patientP), "fikk fødselsnummer"); err != nil {
		t.Fatal(err)
	}
	res, _, err := f.find(t, call(healthWorker(patientP), audit.TxITI67))
	if err != nil {
		t.Fatal(err)
	}
	got := uids(res.Documents)
	for _, want := range []string{uidVest, uidNord, uidNormal} {
		if !slices.Contains(got, want) {
			t.Errorf("linked patient: %s missing from %v", want, got)
		}
	}
	for _, o := range res.Communities {
		if o.Failed || len(o.Errors) > 0 {
			t.Errorf("community %s: %+v", o.ID, o)
		}
	}
}
