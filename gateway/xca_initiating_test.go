package gateway_test

import (
	"context"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/gateway/xcaclient"
	"pjd/gateway/xcaclient/xcatest"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/trust"
)

// The Initiating Gateway (/xca/initiating, XDS Affinity Domain option):
// an XDS consumer's ITI-18 answered from the local registry and every
// community, ITI-43 routed by HomeCommunityId.

type initiating struct {
	national *harness
	vest     *harness        // a full pjd as Helse Vest (ITI-38 and ITI-39)
	nord     *xcatest.Region // Helse Nord (ITI-38 only)
	caller   xcaCaller       // a person with XUA
	local    []string        // the local documents of xuaPatient the caller may see
	vestDoc  *registry.DocumentEntry
	nordDocs []string
}

func newInitiating(t *testing.T) *initiating {
	t.Helper()
	s := newXUASigner(t)
	vest := newHarness(t, options{devLoopback: true, home: homeVest})
	vsub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Seq: 9001})
	vest.provide(vsub, 9001)
	nord := xcatest.NewRegion(t, homeNord, "Helse Nord")
	nsub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Documents: 2, Seq: 8001})
	// Helse Nord also answers with another patient's document, which the
	// national node must not pass on.
	other := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 8101})
	nord.Register(t, nsub)
	nord.Register(t, other)
	var cs []access.Community
	for _, c := range []xcaclient.Community{
		{ID: homeVest, URL: vest.base + xca.RespondingPath, Name: "Helse Vest", Timeout: 5 * time.Second},
		{ID: homeNord, URL: nord.Community().URL, Name: "Helse Nord", Timeout: 5 * time.Second},
	} {
		cl, err := xcaclient.New(c, xcaclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cl)
	}
	sv, err := trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: []*x509.Certificate{s.cert},
		Issuers: []string{"https://helseid-xdssaml.test.nhn.no"}, Audiences: []string{"nhn:dokumentdeling-saml"},
		Now: func() time.Time { return xuaNow }})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{saml: sv, now: func() time.Time { return xuaNow }, communities: cs, home: homeLocal})
	mixed := registry.SampleSubmission(registry.SampleOptions{Patient: cx(xuaPatient), Documents: 2, Folder: true, Seq: 7001})
	mixed.Documents[1].Confidentiality = []registry.Code{confNORS}
	h.provide(mixed, 7001)
	sec := xuaSecurity(t, s, nil)
	c := &soap.Client{HTTP: h.srv.Client()}
	c.Headers = func(context.Context, string) ([]*etree.Element, error) { return []*etree.Element{sec.Copy()}, nil }
	in := &initiating{national: h, vest: vest, nord: nord, caller: initiatingCaller(h, c),
		local: []string{mixed.Documents[0].UniqueID}, vestDoc: vsub.Documents[0]}
	for _, d := range nsub.Documents {
		in.nordDocs = append(in.nordDocs, d.UniqueID)
	}
	return in
}

// initiatingCaller sends ITI-18/43 with c to h's initiating gateway.
func initiatingCaller(h *harness, c *soap.Client) xcaCaller {
	return xcaCaller{c: c, url: h.base + xca.InitiatingPath,
		actions: &callerActions{query: ebrim.ActionStoredQuery, retrieve: ebrim.ActionRetrieve}}
}

// query sends q as ITI-18 to the initiating gateway.
func (in *initiating) query(t *testing.T, q *registry.Query) (*registry.QueryResult, registry.Response, *etree.Element) {
	t.Helper()
	res, rr, body, err := in.caller.query(t, q)
	if err != nil {
		t.Fatal(err)
	}
	return res, rr, body
}

// retrieve sends drs as ITI-43 (MTOM) and reads every document.
func (in *initiating) retrieve(t *testing.T, drs ...ebrim.DocumentRequest) xcaRetrieved {
	t.Helper()
	got, err := in.caller.retrieve(t, false, drs...)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// docHomes is "home uniqueId" of every document of res, sorted.
func docHomes(res *registry.QueryResult) []string {
	var out []string
	for _, d := range res.Documents {
		out = append(out, d.HomeCommunityID+" "+d.UniqueID)
	}
	slices.Sort(out)
	return out
}

func errorWith(errs registry.ErrorList, code, location string) bool {
	return slices.ContainsFunc(errs, func(e registry.Error) bool { return e.Code == code && e.Location == location })
}

func TestXCAInitiatingQuery(t *testing.T) {
	in := newInitiating(t)
	h := in.national
	var want []string
	for _, u := range in.local {
		want = append(want, homeLocal+" "+u)
	}
	want = append(want, homeVest+" "+in.vestDoc.UniqueID)
	for _, u := range in.nordDocs {
		want = append(want, homeNord+" "+u)
	}
	slices.Sort(want)

	t.Run("FindDocuments merges three communities, home on every object, audited once", func(t *testing.T) {
		seq := h.head()
		res, rr, body := in.query(t, findDocuments(xuaPatient))
		if rr.Status != registry.ResponseSuccess || len(rr.Errors) != 0 {
			t.Fatalf("status %s %+v", rr.Status, rr.Errors)
		}
		if got := docHomes(res); !slices.Equal(got, want) {
			t.Fatalf("documents\n got %q\nwant %q", got, want)
		}
		if _, missing := homes(body); missing != 0 {
			t.Errorf("%d objects without home", missing)
		}
		recs := h.since(seq)
		if len(recs) != 1 || recs[0].Transaction != audit.TxITI18 || recs[0].Outcome != audit.OutcomePermit || len(recs[0].Communities) != 2 ||
			recs[0].EventID == "" {
			t.Fatalf("records %+v", recs)
		}
		for _, c := range recs[0].Communities {
			if c.Outcome != audit.CommunityAnswered {
				t.Errorf("community %+v", c)
			}
		}
	})
	t.Run("ObjectRef answer: home on every ObjectRef", func(t *testing.T) {
		q := findDocuments(xuaPatient)
		q.ReturnType = registry.ReturnObjectRef
		_, rr, body := in.query(t, q)
		got, missing := homes(body)
		if rr.Status != registry.ResponseSuccess || missing != 0 || got[homeLocal] != 1 || got[homeVest] != 1 || got[homeNord] != 2 {
			t.Fatalf("status %s, homes %v, %d without", rr.Status, got, missing)
		}
	})
	t.Run("GetDocuments: routed by home, required", func(t *testing.T) {
		res, rr, body := in.query(t, byUniqueID(in.vestDoc.UniqueID, homeVest))
		if rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 || res.Documents[0].HomeCommunityID != homeVest {
			t.Fatalf("status %s %+v %+v", rr.Status, rr.Errors, res.Documents)
		}
		if got, _ := homes(body); got[homeVest] != 1 {
			t.Errorf("homes %v", got)
		}
		res, rr, _ = in.query(t, byUniqueID(in.local[0], homeLocal))
		if rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 || res.Documents[0].HomeCommunityID != homeLocal {
			t.Fatalf("local: status %s %+v %+v", rr.Status, rr.Errors, res.Documents)
		}
		_, rr, _ = in.query(t, byUniqueID(in.vestDoc.UniqueID, ""))
		if rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeMissingHomeCommunityID {
			t.Fatalf("without home: %s %+v", rr.Status, rr.Errors)
		}
		_, rr, _ = in.query(t, byUniqueID(in.vestDoc.UniqueID, "urn:oid:1.2.3.4"))
		if rr.Status != registry.ResponseFailure || !errorWith(rr.Errors, registry.ErrCodeUnknownCommunity, "urn:oid:1.2.3.4") {
			t.Fatalf("unknown community: %s %+v", rr.Status, rr.Errors)
		}
	})
	t.Run("a community down: PartialSuccess naming it, the others listed", func(t *testing.T) {
		in.nord.SetMode(xcatest.Down)
		res, rr, _ := in.query(t, findDocuments(xuaPatient))
		if rr.Status != registry.ResponsePartialSuccess || !errorWith(rr.Errors, access.ErrCodeUnavailableCommunity, homeNord) {
			t.Fatalf("status %s %+v", rr.Status, rr.Errors)
		}
		wantUp := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return strings.HasPrefix(s, homeNord+" ") })
		if got := docHomes(res); !slices.Equal(got, wantUp) {
			t.Fatalf("documents\n got %q\nwant %q", got, wantUp)
		}
		for _, e := range rr.Errors {
			if !strings.Contains(e.Context, "Helse Nord") {
				t.Errorf("error does not name the community: %+v", e)
			}
		}
		_, rr, _ = in.query(t, byUniqueID(in.nordDocs[0], homeNord))
		if rr.Status != registry.ResponseFailure || !errorWith(rr.Errors, access.ErrCodeUnavailableCommunity, homeNord) {
			t.Fatalf("GetDocuments of the down community: %s %+v", rr.Status, rr.Errors)
		}
	})
}

func TestXCAInitiatingRetrieve(t *testing.T) {
	in := newInitiating(t)
	h := in.national
	vestBytes := registry.SampleDocument(9001, 0, in.vestDoc.PatientID)
	localDoc := ebrim.DocumentRequest{HomeCommunityID: homeLocal, RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: in.local[0]}
	vestReq := ebrim.DocumentRequest{HomeCommunityID: homeVest, RepositoryUniqueID: in.vestDoc.RepositoryUniqueID, DocumentUniqueID: in.vestDoc.UniqueID}

	t.Run("routed by community, byte for byte; an unknown community named", func(t *testing.T) {
		seq, vseq := h.head(), in.vest.head()
		got := in.retrieve(t, vestReq, localDoc,
			ebrim.DocumentRequest{HomeCommunityID: "urn:oid:1.2.3.4", RepositoryUniqueID: "1.2.3.4.5", DocumentUniqueID: "2.25.1"})
		if got.status != registry.ResponsePartialSuccess || !got.mtom || len(got.docs) != 2 ||
			!errorWith(got.errors, registry.ErrCodeUnknownCommunity, "urn:oid:1.2.3.4") {
			t.Fatalf("status %s, %d documents, errors %+v", got.status, len(got.docs), got.errors)
		}
		if string(got.bytes[in.vestDoc.UniqueID]) != string(vestBytes) {
			t.Errorf("Helse Vest's document: %d bytes, want %d", len(got.bytes[in.vestDoc.UniqueID]), len(vestBytes))
		}
		if len(got.bytes[in.local[0]]) == 0 {
			t.Errorf("the local document is empty")
		}
		for _, d := range got.docs {
			if d.DocumentUniqueID == in.vestDoc.UniqueID && d.HomeCommunityID != homeVest {
				t.Errorf("HomeCommunityId %q", d.HomeCommunityID)
			}
		}
		var event string
		var tx []string
		for _, r := range h.since(seq) {
			tx = append(tx, r.Transaction+" "+string(r.Outcome))
			if len(r.Documents) == 1 && r.Documents[0].Home == homeVest {
				event = r.EventID
			}
		}
		if event == "" || !slices.Contains(tx, audit.TxITI43+" "+string(audit.OutcomePermit)) {
			t.Fatalf("national records %v (event %q)", tx, event)
		}
		var found bool
		for _, r := range in.vest.since(vseq) {
			found = found || r.Transaction == audit.TxITI39 && r.EventID == event && r.Outcome == audit.OutcomePermit
		}
		if !found {
			t.Errorf("Helse Vest recorded no ITI-39 with event id %s: %+v", event, in.vest.since(vseq))
		}
	})
	t.Run("a document the community does not hold", func(t *testing.T) {
		missing := vestReq
		missing.DocumentUniqueID = "2.25.999"
		got := in.retrieve(t, missing)
		if got.status != registry.ResponseFailure || !errorWith(got.errors, registry.ErrCodeDocumentUniqueIDError, "2.25.999") {
			t.Fatalf("status %s %+v", got.status, got.errors)
		}
	})
	t.Run("a community down: XDSUnavailableCommunity, the local document delivered", func(t *testing.T) {
		in.vest.srv.Close()
		got := in.retrieve(t, vestReq, localDoc)
		if got.status != registry.ResponsePartialSuccess || len(got.docs) != 1 || got.docs[0].DocumentUniqueID != in.local[0] ||
			!errorWith(got.errors, access.ErrCodeUnavailableCommunity, homeVest) {
			t.Fatalf("status %s, docs %+v, errors %+v", got.status, got.docs, got.errors)
		}
	})
}

// A node that federates with nobody answers on /xca/initiating for itself:
// its own home (or none) is the local registry, home on every object.
func TestXCAInitiatingWithoutCommunities(t *testing.T) {
	h := newHarness(t, options{devLoopback: true})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9101})
	h.provide(sub, 9101)
	in := &initiating{national: h, caller: initiatingCaller(h, &soap.Client{HTTP: h.srv.Client()})}
	uid := sub.Documents[0].UniqueID
	for _, q := range []*registry.Query{findDocuments(patientP), byUniqueID(uid, testHome)} {
		res, rr, body := in.query(t, q)
		if rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 || res.Documents[0].UniqueID != uid {
			t.Fatalf("%s: %s %+v %+v", q.ID, rr.Status, rr.Errors, res.Documents)
		}
		if got, missing := homes(body); missing != 0 || got[testHome] != 1 {
			t.Errorf("%s: homes %v, %d without", q.ID, got, missing)
		}
	}
}
