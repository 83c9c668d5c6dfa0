package mhd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// These tests drive the codec without the Guard, over
// real HTTP with a real client: ITI-67 by GET and by POST _search with the
// nhn-patient-nin header, following next links to the end, and ITI-68 by
// the attachment URL. The registry is stood in for by a fixed slice of
// entries filtered with the Store's documented semantics (storeWouldSelect);
// the stores themselves are tested against real databases in registry/.

func corpus() []*registry.DocumentEntry {
	var out []*registry.DocumentEntry
	for i := 0; i < 7; i++ {
		d := fullEntry()
		d.ID = fmt.Sprintf("urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-0000000000%02d", i)
		d.LogicalID = d.ID // each its own logical document (version 1: lid = entryUUID)
		d.UniqueID = fmt.Sprintf("2.16.578.1.12.4.1.7.2.1.%d", 100+i)
		d.CreationTime = fmt.Sprintf("202403%02d120000", 10+i)
		out = append(out, d)
	}
	o := fullEntry()
	o.ID, o.PatientID, o.UniqueID = "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-0000000000ff", patientOla, "2.16.578.1.12.4.1.7.2.1.999"
	dep := fullEntry()
	dep.ID, dep.Status, dep.UniqueID = "urn:uuid:6f2c4b1e-4a0e-4d7e-9c0a-0000000000fe", registry.StatusDeprecated, "2.16.578.1.12.4.1.7.2.1.998"
	return append(out, o, dep)
}

func writeErr(w http.ResponseWriter, err error) {
	var me *fhir.Error
	if !errors.As(err, &me) {
		me = fhir.Internal()
	}
	fhir.WriteError(w, me)
}

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	pager := testPager(t, nil)
	docs := corpus()
	content := map[string]string{}
	for _, d := range docs {
		content[d.RepositoryUniqueID+"|"+d.UniqueID] = "document " + d.UniqueID
	}
	mux := http.NewServeMux()
	var srv *httptest.Server
	search := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				writeErr(w, fhir.NewError(400, fhir.IssueStructure, "", "bad form"))
				return
			}
			q = r.PostForm
		}
		s, err := ParseDocumentSearch(q, r.Header)
		if err != nil {
			writeErr(w, err)
			return
		}
		if err := s.Resume(pager); err != nil {
			writeErr(w, err)
			return
		}
		f, err := s.Filter()
		if err != nil {
			writeErr(w, err)
			return
		}
		var found []*registry.DocumentEntry
		for _, d := range docs {
			if storeWouldSelect(f, d) && s.Match(d) {
				found = append(found, d)
			}
		}
		from, to := s.PageBounds(len(found))
		var entries []fhir.Resource
		for _, d := range found[from:to] {
			dr := DocumentReferenceFrom(d, nil, RenderOptions{BaseURL: srv.URL})
			entries = append(entries, fhir.R(&dr))
		}
		self, next := s.Links(pager, srv.URL, len(found))
		fhir.Write(w, 200, SearchSet(entries, len(found), self, next), false)
	}
	mux.HandleFunc("GET /fhir/R4/DocumentReference", search)
	mux.HandleFunc("POST /fhir/R4/DocumentReference/_search", search)
	mux.HandleFunc("GET /mhd/document", func(w http.ResponseWriter, r *http.Request) {
		repo, uid, err := ParseRetrieveQuery(r.URL.Query())
		if err != nil {
			writeErr(w, err)
			return
		}
		c, ok := content[repo+"|"+uid]
		if !ok {
			writeErr(w, fhir.NotFound("document not found"))
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = io.WriteString(w, c)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func getBundle(t *testing.T, resp *http.Response) *fhir.Bundle {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var r fhir.Resource
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	b, ok := r.Value.(*fhir.Bundle)
	if !ok {
		t.Fatalf("not a Bundle: %T", r.Value)
	}
	return b
}

func TestHTTPFindAndPage(t *testing.T) {
	srv := testServer(t)
	client := srv.Client()
	form := url.Values{"_count": {"3"}, "category": {"urn:oid:2.16.578.1.12.4.1.1.9602|A00-1"}, "date": {"ge2024-03-11"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/fhir/R4/DocumentReference/_search", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(HeaderPatientNIN, fnrKari)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	pages := 0
	for b := getBundle(t, resp); ; {
		pages++
		if *b.Total != 6 {
			t.Fatalf("total %d, want 6 (7 of Kari's current entries, one created before 03-11)", *b.Total)
		}
		for _, e := range b.Entry {
			dr := e.Resource.Value.(*fhir.DocumentReference)
			seen[dr.ID]++
			if dr.Subject.Identifier.Value != fnrKari || dr.Status != "current" {
				t.Errorf("wrong entry %s", dr.ID)
			}
			// ITI-68 by the attachment URL.
			r, err := client.Get(dr.Content[0].Attachment.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 200 || !strings.HasPrefix(string(body), "document ") {
				t.Errorf("retrieve %s: %d %s", dr.Content[0].Attachment.URL, r.StatusCode, body)
			}
		}
		next := ""
		for _, l := range b.Link {
			if strings.Contains(l.URL, fnrKari) {
				t.Errorf("a link carries the F-nr: %s", l.URL)
			}
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" {
			break
		}
		r, err := client.Get(next) // a generic client: no patient header
		if err != nil {
			t.Fatal(err)
		}
		b = getBundle(t, r)
	}
	if pages != 2 || len(seen) != 6 {
		t.Errorf("%d pages, %d distinct entries: %v", pages, len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s returned %d times", id, n)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	srv := testServer(t)
	for _, c := range []struct {
		url    string
		status int
		expr   string
	}{
		{"/fhir/R4/DocumentReference?foo=1&" + pidKari, 400, "foo"},
		{"/fhir/R4/DocumentReference?status=current", 400, "patient.identifier"},
		{"/fhir/R4/DocumentReference?_page=forged&" + pidKari, 400, "_page"},
		{"/mhd/document?repositoryUniqueId=2.16.578.1.12.4.1.7.3.1&uniqueId=1.2.3", 404, ""},
		{"/mhd/document?uniqueId=1.2.3", 400, "repositoryUniqueId"},
	} {
		resp, err := srv.Client().Get(srv.URL + strings.ReplaceAll(c.url, "|", "%7C"))
		if err != nil {
			t.Fatal(err)
		}
		var oo fhir.OperationOutcome
		err = json.NewDecoder(resp.Body).Decode(&oo)
		resp.Body.Close()
		if err != nil || resp.StatusCode != c.status || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Errorf("%s: %d %+v %v", c.url, resp.StatusCode, oo, err)
			continue
		}
		if c.expr != "" && (len(oo.Issue[0].Expression) == 0 || oo.Issue[0].Expression[0] != c.expr) {
			t.Errorf("%s: issue %+v does not name %s", c.url, oo.Issue[0], c.expr)
		}
	}
}
