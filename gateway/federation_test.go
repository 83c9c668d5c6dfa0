package gateway_test

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/mhd"
	"pjd/gateway/xcaclient"
	"pjd/gateway/xcaclient/xcatest"
	"pjd/registry"
)

const (
	homeLocal = "urn:oid:2.16.578.1.12.4.5.100.9"
	homeVest  = "urn:oid:2.16.578.1.12.4.5.100.1"
	homeNord  = "urn:oid:2.16.578.1.12.4.5.100.3"
)

// fedDoc is what a federated search test checks of a DocumentReference.
type fedDoc struct {
	docRef
	Date      string `json:"date"`
	Extension []struct {
		URL             string `json:"url"`
		ValueIdentifier struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"valueIdentifier"`
	} `json:"extension"`
	Issue []struct {
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Diagnostics string `json:"diagnostics"`
		Details     struct {
			Text string `json:"text"`
		} `json:"details"`
	} `json:"issue"`
}

func (d fedDoc) home() string {
	for _, e := range d.Extension {
		if e.URL == mhd.ExtensionHomeCommunityID && e.ValueIdentifier.System == "urn:ietf:rfc:3986" {
			return e.ValueIdentifier.Value
		}
	}
	return ""
}

// regionDocs registers n documents of patientP in r, created at the given
// times.
func regionDocs(t *testing.T, r *xcatest.Region, seq uint64, times ...time.Time) []string {
	t.Helper()
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: len(times), Seq: seq})
	var uids []string
	for i, d := range sub.Documents {
		d.CreationTime = registry.FormatDTM(times[i])
		uids = append(uids, d.UniqueID)
	}
	r.Register(t, sub)
	return uids
}

type federated struct {
	*harness
	vest, nord *xcatest.Region
	// want is every document of patientP a health worker may see, in the
	// order the search must list them (newest first, then uniqueId, then
	// home), as "home uniqueId".
	want []string
}

func newFederated(t *testing.T, timeout time.Duration) *federated {
	t.Helper()
	day := func(m, d int) time.Time { return time.Date(2025, time.Month(m), d, 9, 0, 0, 0, time.UTC) }
	vest := xcatest.NewRegion(t, homeVest, "Helse Vest")
	nord := xcatest.NewRegion(t, homeNord, "Helse Nord")
	type doc struct {
		home, uid string
		at        time.Time
	}
	var all []doc
	for i, u := range regionDocs(t, vest, 7001, day(1, 15), day(2, 2), day(3, 1)) {
		all = append(all, doc{homeVest, u, []time.Time{day(1, 15), day(2, 2), day(3, 1)}[i]})
	}
	// Helse Nord has one document created at the same instant as one of
	// Helse Vest's and one of the local node's: the order must still be total.
	for i, u := range regionDocs(t, nord, 8001, day(2, 2), day(2, 3), day(4, 1), day(1, 1)) {
		all = append(all, doc{homeNord, u, []time.Time{day(2, 2), day(2, 3), day(4, 1), day(1, 1)}[i]})
	}
	var cs []access.Community
	for _, r := range []*xcatest.Region{vest, nord} {
		c := r.Community()
		c.Timeout = timeout
		cl, err := xcaclient.New(c, xcaclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cl)
	}
	h := newHarness(t, options{communities: cs, home: homeLocal})
	h.seed()
	for i, u := range visibleP() {
		at := time.Date(2025, 2, 3-i, 9, 0, 0, 0, time.UTC) // seqMore's documents
		if u == uidNormal {
			ds, err := h.reg.Reader().Documents(context.Background(), registry.DocumentFilter{UniqueIDs: []string{u}})
			if err != nil || len(ds) != 1 {
				t.Fatal(err)
			}
			n, _ := registry.NormalizeDTM(ds[0].CreationTime)
			at, _ = time.Parse("20060102150405", n)
		}
		all = append(all, doc{homeLocal, u, at})
	}
	slices.SortFunc(all, func(a, b doc) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.uid, b.uid); c != 0 {
			return c
		}
		return cmp.Compare(a.home, b.home)
	})
	f := &federated{harness: h, vest: vest, nord: nord}
	for _, d := range all {
		f.want = append(f.want, d.home+" "+d.uid)
	}
	return f
}

// MHD paging stays correct across communities: documents held by three
// communities, paged three at a time, come back exactly once each, in
// one order, each naming its home; a region's document's attachment URL
// carries its community.
func TestFederatedMHDPaging(t *testing.T) {
	f := newFederated(t, 5*time.Second)
	tok := f.token("fastlege", patientP)
	next := searchURL(patientP, "_count", "3")
	var got []string
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		resp := f.do(tok, http.MethodGet, next, nil, nil)
		b, raw := decode[fhirBundle](t, resp)
		if resp.StatusCode != http.StatusOK || b.Total == nil || *b.Total != len(f.want) {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, raw)
		}
		for _, e := range b.Entry {
			var d fedDoc
			if err := json.Unmarshal(e.Resource, &d); err != nil || d.ResourceType != "DocumentReference" {
				t.Fatalf("entry %s (%v): a search where every community answered has only documents", e.Resource, err)
			}
			uid := strings.TrimPrefix(d.MasterIdentifier.Value, "urn:oid:")
			got = append(got, d.home()+" "+uid)
			u, err := url.Parse(d.Content[0].Attachment.URL)
			if err != nil {
				t.Fatal(err)
			}
			wantHome := d.home()
			if wantHome == homeLocal {
				wantHome = ""
			}
			if h := u.Query().Get("homeCommunityId"); h != wantHome {
				t.Errorf("document %s of %s: attachment URL %s", uid, d.home(), u)
			}
		}
		next = b.link("next")
	}
	if !slices.Equal(got, f.want) {
		t.Fatalf("pages gave\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(f.want, "\n"))
	}
	homes := map[string]int{}
	for _, g := range got {
		h, _, _ := strings.Cut(g, " ")
		homes[h]++
	}
	if homes[homeLocal] != 4 || homes[homeVest] != 3 || homes[homeNord] != 4 {
		t.Errorf("documents per community %v", homes)
	}
}

// A region that is down or slow past its deadline never fails the search:
// the searchset lists the others' documents and an OperationOutcome entry
// (search.mode outcome) names the region.
func TestFederatedMHDPartialFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode xcatest.Mode
		code string
	}{{"down", xcatest.Down, "incomplete"}, {"slow", xcatest.Slow, "timeout"}, {"garbage", xcatest.Garbage, "incomplete"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFederated(t, 300*time.Millisecond)
			f.nord.SetMode(tc.mode)
			resp := f.do(f.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil)
			b, raw := decode[fhirBundle](t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, raw)
			}
			var outcomes []fedDoc
			homes := map[string]int{}
			for _, e := range b.Entry {
				var d fedDoc
				if err := json.Unmarshal(e.Resource, &d); err != nil {
					t.Fatal(err)
				}
				if d.ResourceType == "OperationOutcome" {
					outcomes = append(outcomes, d)
					continue
				}
				homes[d.home()]++
			}
			if homes[homeLocal] != 4 || homes[homeVest] != 3 || homes[homeNord] != 0 {
				t.Errorf("documents per community %v", homes)
			}
			if !strings.Contains(string(raw), `"search":{"mode":"outcome"}`) || len(outcomes) != 1 || len(outcomes[0].Issue) != 1 {
				t.Fatalf("no outcome entry naming the failed region: %s", raw)
			}
			is := outcomes[0].Issue[0]
			if is.Severity != "warning" || is.Code != tc.code || is.Details.Text != "Dokumenter fra Helse Nord kunne ikke hentes nå" ||
				!strings.HasPrefix(is.Diagnostics, homeNord+": ") {
				t.Errorf("issue %+v", is)
			}
			if *b.Total != 7 {
				t.Errorf("total %d, want 7", *b.Total)
			}
		})
	}
}

// A document another community holds is read through this node: its
// attachment URL names the community, the read is decided and audited
// here on the region's metadata, the bytes come from the region's real
// responding gateway (ITI-39) byte for byte, and both sides record the
// access with the same event id.
func TestFederatedMHDRetrieveRoutedToTheRegion(t *testing.T) {
	region := newHarness(t, options{devLoopback: true, home: homeVest})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9001})
	region.provide(sub, 9001)
	cl, err := xcaclient.New(xcaclient.Community{ID: homeVest, URL: region.base + "/xca/responding", Name: "Helse Vest"}, xcaclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{communities: []access.Community{cl}, home: homeLocal})
	h.seed()
	tok := h.token("fastlege", patientP)
	b, raw := decode[fhirBundle](t, h.do(tok, http.MethodGet, searchURL(patientP), nil, nil))
	var docURL string
	for _, e := range b.Entry {
		var d fedDoc
		if err := json.Unmarshal(e.Resource, &d); err != nil {
			t.Fatal(err)
		}
		if d.home() == homeVest {
			docURL = d.Content[0].Attachment.URL
		}
	}
	if docURL == "" {
		t.Fatalf("the region's document is not listed: %s", raw)
	}
	seq, regionSeq := h.head(), region.head()
	resp := h.do(tok, http.MethodGet, docURL, nil, http.Header{"nhn-event-id": {"evt-federated-read"}})
	body := readBody(t, resp)
	want := registry.SampleDocument(9001, 0, sub.SubmissionSet.PatientID)
	if resp.StatusCode != http.StatusOK || string(body) != string(want) {
		t.Fatalf("read %s: %d, %d bytes (want %d): %.200s", docURL, resp.StatusCode, len(body), len(want), body)
	}
	recs := h.since(seq)
	if len(recs) != 1 || recs[0].Transaction != "ITI-68" || recs[0].Outcome != "permit" || len(recs[0].Documents) != 1 ||
		recs[0].Documents[0].Home != homeVest || recs[0].EventID != "evt-federated-read" {
		t.Fatalf("national records %+v", recs)
	}
	var found bool
	for _, r := range region.since(regionSeq) {
		if r.Transaction == "ITI-39" && r.EventID == "evt-federated-read" && r.Outcome == "permit" {
			found = true
		}
	}
	if !found {
		t.Errorf("the region recorded no ITI-39 with the event id: %+v", region.since(regionSeq))
	}

	// The region gone: the read is a transient error naming it.
	region.srv.Close()
	resp = h.do(tok, http.MethodGet, docURL, nil, nil)
	o := wantOutcome(t, resp, http.StatusServiceUnavailable, "transient")
	if !strings.Contains(o.Issue[0].Diagnostics, "Helse Vest") {
		t.Errorf("the outage does not name the region: %+v", o.Issue)
	}
	// A community this node does not federate with is unknown.
	u, _ := url.Parse(docURL)
	q := u.Query()
	q.Set("homeCommunityId", "urn:oid:1.2.3.4")
	u.RawQuery = q.Encode()
	wantOutcome(t, h.do(tok, http.MethodGet, u.String(), nil, nil), http.StatusNotFound, "not-found")
}

// The UI list of a federating node shows the documents of every region,
// which region holds each, and says which region could not be reached;
// a region's document opens in the viewer, fetched from the region.
func TestFederatedUI(t *testing.T) {
	region := newHarness(t, options{devLoopback: true, home: homeVest})
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: 9101})
	sub.Documents[0].Title = "Epikrise fra Haukeland"
	region.provide(sub, 9101)
	vest, err := xcaclient.New(xcaclient.Community{ID: homeVest, URL: region.base + "/xca/responding", Name: "Helse Vest"}, xcaclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	down := xcatest.NewRegion(t, homeNord, "Helse Nord")
	down.SetMode(xcatest.Down)
	nord, err := xcaclient.New(down.Community(), xcaclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{communities: []access.Community{vest, nord}, home: homeLocal, ui: true})
	h.seed()
	tok := h.token("fastlege", patientP)
	list := readBody(t, h.uiGet(tok, patientP, "/ui/")[0])
	page := string(list)
	for _, want := range []string{"Epikrise fra Haukeland", "Lagret i Helse Vest", "Dokumenter fra Helse Nord kunne ikke hentes nå"} {
		if !strings.Contains(page, want) {
			t.Errorf("the list does not show %q", want)
		}
	}
	ref := homeVest + "|" + registry.SampleRepositoryUniqueID + "|" + sub.Documents[0].UniqueID
	content := h.uiGet(h.token("fastlege", patientP), patientP, "/ui/content?"+url.Values{"id": {ref}, "last-ned": {"1"}}.Encode())[0]
	body := readBody(t, content)
	if content.StatusCode != http.StatusOK || string(body) != string(registry.SampleDocument(9101, 0, sub.SubmissionSet.PatientID)) {
		t.Fatalf("viewer content: %d %.200s", content.StatusCode, body)
	}
	if !strings.Contains(page, url.QueryEscape(ref)) {
		t.Errorf("the list does not link the region's document by its community")
	}
}
