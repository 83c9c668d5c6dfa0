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
	ResourceType string `json:"resourceType"`
	Date         string `json:"date"`
	Extension    []struct {
		URL             string `json:"url"`
		ValueIdentifier struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"valueIdentifier"`
	} `json:"extension"`
	MasterIdentifier struct {
		Value string `json:"value"`
	} `json:"masterIdentifier"`
	Content []struct {
		Attachment struct {
			URL string `json:"url"`
		} `json:"attachment"`
	} `json:"content"`
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
