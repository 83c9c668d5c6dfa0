package auditapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/auditapi"
	"pjd/gateway/fhir"
)

// authError is how a trust layer reports a refused credential.
type authError struct{ status int }

func (e authError) Error() string           { return "token expired (detail for the server log only)" }
func (e authError) HTTPStatus() int         { return e.status }
func (e authError) WWWAuthenticate() string { return `DPoP error="invalid_token"` }

var (
	compliance = audit.Viewer{Kind: audit.ViewerCompliance, PID: audittest.OfficerPID, Name: "Kontroll Kari"}
	citizenA   = audit.Viewer{Kind: audit.ViewerCitizen, PID: audittest.PatientA, Name: "Pasient A"}
)

// viewers is the test's stand-in for the gateway's trust layer: the
// X-Test-Viewer header names an already-authenticated caller.
func viewers(r *http.Request) (audit.Viewer, error) {
	switch r.Header.Get("X-Test-Viewer") {
	case "compliance":
		return compliance, nil
	case "citizen-a":
		return citizenA, nil
	case "citizen-b":
		return audit.Viewer{Kind: audit.ViewerCitizen, PID: audittest.PatientB, Name: "Pasient B"}, nil
	case "health-worker":
		return audit.Viewer{Kind: 99, PID: audittest.NursePID}, nil
	case "redis-down":
		return audit.Viewer{}, authError{http.StatusServiceUnavailable}
	}
	return audit.Viewer{}, authError{http.StatusUnauthorized}
}

type reviewEnv struct {
	store *sqlaudit.Store
	srv   *httptest.Server
	base  string
}

// newReviewEnv serves the review API over real HTTP on a real SQLite
// audit log holding a few accesses.
func newReviewEnv(t *testing.T, searcher func(*sqlaudit.Store) audit.Searcher, logStore func(*sqlaudit.Store) audit.Appender) *reviewEnv {
	t.Helper()
	s, err := sqlaudit.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "pjd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key := audittest.Key(t)
	var seed []audit.Record
	for i := range 5 {
		seed = append(seed, audittest.SimpleRecord(i, audittest.PatientA))
	}
	nurse := audittest.SimpleRecord(5, audittest.PatientA)
	nurse.Actor = audit.Actor{Kind: audit.ActorHealthWorker, PID: audittest.NursePID, HPR: audittest.NurseHPR, Name: "Sykepleier Siv"}
	nurse.Outcome, nurse.Rule = audit.OutcomeDeny, "authorization-not-allowed"
	other := audittest.SimpleRecord(6, audittest.PatientB)
	btg := audittest.FullRecord()
	seed = append(seed, nurse, other, btg)
	audittest.Append(t, s, key, seed...)

	var lstore audit.Appender = s
	if logStore != nil {
		lstore = logStore(s)
	}
	l, err := audit.NewLogger(lstore, key, audit.LoggerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	var search audit.Searcher = s
	if searcher != nil {
		search = searcher(s)
	}
	env := &reviewEnv{store: s}
	mux := http.NewServeMux()
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	env.base = env.srv.URL + "/fhir/R4"
	h, err := auditapi.NewHandler(auditapi.HandlerConfig{
		Searcher: search, Authenticate: viewers, Log: l, BaseURL: env.base, Site: "pjd.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/fhir/R4/AuditEvent", h)
	return env
}

type response struct {
	status int
	header http.Header
	body   string
	bundle struct {
		ResourceType string
		Link         []struct{ Relation, URL string }
		Entry        []struct {
			FullURL  string
			Resource map[string]any
		}
	}
	outcome struct {
		ResourceType string
		Issue        []struct{ Severity, Code, Diagnostics string }
	}
}

func (e *reviewEnv) get(t *testing.T, viewer, rawURL string) response {
	t.Helper()
	return e.do(t, http.MethodGet, viewer, rawURL)
}

func (e *reviewEnv) do(t *testing.T, method, viewer, rawURL string) response {
	t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = e.base + "/AuditEvent" + rawURL
	}
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if viewer != "" {
		req.Header.Set("X-Test-Viewer", viewer)
	}
	req.Header.Set("X-Request-Id", "review-"+viewer)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if ct := resp.Header.Get("Content-Type"); ct != fhir.ContentType {
		t.Fatalf("Content-Type %q", ct)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &out.bundle); err != nil || out.bundle.ResourceType != "Bundle" {
			t.Fatalf("not a Bundle: %v %s", err, b)
		}
	} else if err := json.Unmarshal(b, &out.outcome); err != nil || out.outcome.ResourceType != "OperationOutcome" || len(out.outcome.Issue) != 1 {
		t.Fatalf("not an OperationOutcome: %v %s", err, b)
	}
	return out
}

func patientOf(ae map[string]any) string {
	for _, c := range ae["contained"].([]any) {
		m := c.(map[string]any)
		if m["resourceType"] == "Patient" {
			return m["identifier"].([]any)[0].(map[string]any)["value"].(string)
		}
	}
	return ""
}

func TestReviewComplianceSearchAndPaging(t *testing.T) {
	env := newReviewEnv(t, nil, nil)
	r := env.get(t, "compliance", "?patient="+audittest.PatientA+"&_count=3")
	if r.status != http.StatusOK || len(r.bundle.Entry) != 3 {
		t.Fatalf("status %d, %d entries: %s", r.status, len(r.bundle.Entry), r.body)
	}
	if !strings.Contains(r.body, audittest.DoctorPID) {
		t.Error("compliance view lacks the health worker's F-nr")
	}
	// Follow next links with a real client until the end.
	seen := map[string]bool{}
	pages := 0
	for {
		pages++
		for _, e := range r.bundle.Entry {
			id := e.Resource["id"].(string)
			if seen[id] {
				t.Fatalf("record %s on two pages", id)
			}
			seen[id] = true
			if p := patientOf(e.Resource); p != audittest.PatientA {
				t.Fatalf("record for patient %s in a search for %s", p, audittest.PatientA)
			}
			if e.FullURL != env.base+"/AuditEvent/"+id {
				t.Fatalf("fullUrl %s", e.FullURL)
			}
		}
		next := ""
		for _, l := range r.bundle.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" {
			break
		}
		if !strings.HasPrefix(next, env.base+"/AuditEvent?") {
			t.Fatalf("next link %s", next)
		}
		r = env.get(t, "compliance", next)
		if r.status != http.StatusOK {
			t.Fatalf("next page: %d %s", r.status, r.body)
		}
	}
	// Patient A has the five doctor reads, the nurse's refused read, the
	// BTG search, and the first page's own AUDIT-SEARCH record (committed
	// before that search ran); later pages' records are newer than the
	// cursor.
	if pages != 3 || len(seen) != 8 {
		t.Fatalf("%d pages, %d records; want 3 pages, 8 records", pages, len(seen))
	}

	flagged := env.get(t, "compliance", "?flagged=true")
	if len(flagged.bundle.Entry) != 1 || flagged.bundle.Entry[0].Resource["id"] != audittest.FullRecord().ID {
		t.Fatalf("flagged search: %s", flagged.body)
	}
	denied := env.get(t, "compliance", "?outcome=4&agent="+audittest.NurseHPR)
	if len(denied.bundle.Entry) != 1 || denied.bundle.Entry[0].Resource["outcome"] != "4" {
		t.Fatalf("outcome+agent search: %s", denied.body)
	}
	byDoc := env.get(t, "compliance", "?entity-id=2.16.578.1.12.4.1.7.1.1.1002")
	if len(byDoc.bundle.Entry) != 1 {
		t.Fatalf("entity-id search: %s", byDoc.body)
	}
}

func TestReviewCitizenSeesOnlyOwnDocumentAccesses(t *testing.T) {
	env := newReviewEnv(t, nil, nil)
	env.get(t, "compliance", "?patient="+audittest.PatientA) // an AUDIT-SEARCH naming patient A
	r := env.get(t, "citizen-a", "?_count=100")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if len(r.bundle.Entry) != 7 {
		t.Fatalf("citizen A sees %d records, want 7 (five reads, one refusal, one BTG search)", len(r.bundle.Entry))
	}
	for _, e := range r.bundle.Entry {
		if p := patientOf(e.Resource); p != audittest.PatientA {
			t.Fatalf("citizen A sees a record about %s", p)
		}
		if st := e.Resource["subtype"].([]any)[0].(map[string]any)["code"]; st == audit.TxAuditSearch {
			t.Fatal("citizen sees the compliance officer's audit search")
		}
	}
	for _, hidden := range []string{audittest.DoctorPID, audittest.NursePID, audittest.OfficerPID, "192.0.2.10"} {
		if strings.Contains(r.body, hidden) {
			t.Errorf("citizen view contains %s", hidden)
		}
	}
	for _, shown := range []string{"August September", "Sykepleier Siv", audittest.DoctorHPR} {
		if !strings.Contains(r.body, shown) {
			t.Errorf("citizen view lacks %q", shown)
		}
	}
	b := env.get(t, "citizen-b", "")
	if len(b.bundle.Entry) != 1 || patientOf(b.bundle.Entry[0].Resource) != audittest.PatientB {
		t.Fatalf("citizen B: %s", b.body)
	}
}

func TestReviewRefusals(t *testing.T) {
	env := newReviewEnv(t, nil, nil)
	cases := []struct {
		name, method, viewer, query string
		status                      int
		code, mention               string
	}{
		{"no credential", "GET", "", "", 401, "login", ""},
		{"trust layer unavailable", "GET", "redis-down", "", 503, "transient", ""},
		{"not compliance or citizen", "GET", "health-worker", "", 403, "forbidden", ""},
		{"citizen asks for another patient", "GET", "citizen-a", "?patient=" + audittest.PatientB, 403, "forbidden", `"patient"`},
		{"citizen searches agent by F-nr", "GET", "citizen-a", "?agent=" + audittest.DoctorPID, 403, "forbidden", `"agent"`},
		{"unknown parameter", "GET", "compliance", "?name=Kari", 400, "invalid", `"name"`},
		{"bad date", "GET", "compliance", "?date=2024-13-45", 400, "invalid", `"date"`},
		{"bad count", "GET", "compliance", "?_count=-1", 400, "invalid", `"_count"`},
		{"malformed query", "GET", "compliance", "?patient=%zz", 400, "invalid", "malformed"},
		{"POST", "POST", "compliance", "", 405, "not-supported", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(t, c.method, c.viewer, c.query)
			if r.status != c.status || r.outcome.Issue[0].Code != c.code {
				t.Fatalf("%d %s, want %d %s: %s", r.status, r.outcome.Issue[0].Code, c.status, c.code, r.body)
			}
			if !strings.Contains(r.outcome.Issue[0].Diagnostics, c.mention) {
				t.Errorf("diagnostics %q do not mention %s", r.outcome.Issue[0].Diagnostics, c.mention)
			}
			if strings.Contains(r.body, "detail for the server log") {
				t.Error("the trust layer's internal detail reached the client")
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Every refused search (except the wrong method) was itself audited.
	p, err := env.store.Search(context.Background(), audit.Filter{Transactions: []string{audit.TxAuditSearch}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != len(cases)-1 {
		t.Fatalf("%d AUDIT-SEARCH records, want %d", len(p.Records), len(cases)-1)
	}
	rules := map[string]int{}
	for _, r := range p.Records {
		if r.Outcome == audit.OutcomePermit {
			t.Errorf("refused search recorded as permit: %+v", r)
		}
		rules[r.Rule]++
	}
	if rules[auditapi.RuleUnauthenticated] != 2 || rules[auditapi.RuleForbidden] != 3 || rules[auditapi.RuleBadRequest] != 4 {
		t.Errorf("rules recorded: %v", rules)
	}
}

func TestReviewSearchIsAuditedBeforeResults(t *testing.T) {
	env := newReviewEnv(t, nil, nil)
	q := "?patient=" + audittest.PatientA + "&date=ge2024-01-01"
	r := env.get(t, "compliance", q)
	if r.status != http.StatusOK {
		t.Fatal(r.body)
	}
	p, _ := env.store.Search(context.Background(), audit.Filter{Transactions: []string{audit.TxAuditSearch}})
	if len(p.Records) != 1 {
		t.Fatalf("%d AUDIT-SEARCH records", len(p.Records))
	}
	rec := p.Records[0]
	want, _ := url.Parse(q)
	if rec.Actor.PID != audittest.OfficerPID || rec.Rule != auditapi.RuleReviewCompliance || rec.PatientID != audittest.PatientA ||
		rec.Query != want.RawQuery || rec.RequestID != "review-compliance" || rec.Outcome != audit.OutcomePermit {
		t.Fatalf("AUDIT-SEARCH record %+v", rec)
	}
	// The search's own record was committed before the search ran, so
	// it is in the results (newest first).
	first := r.bundle.Entry[0].Resource
	if first["id"] != rec.ID {
		t.Fatalf("first result %v, want the search's own record %s", first["id"], rec.ID)
	}
}

func TestReviewFailsClosedWhenAuditWriteFails(t *testing.T) {
	env := newReviewEnv(t, nil, func(s *sqlaudit.Store) audit.Appender {
		dead, err := sqlaudit.OpenSQLite(context.Background(), t.TempDir()+"/dead.db")
		if err != nil {
			t.Fatal(err)
		}
		dead.Close()
		return dead
	})
	for _, viewer := range []string{"compliance", "citizen-a", ""} {
		r := env.get(t, viewer, "?_count=100")
		if r.status != http.StatusServiceUnavailable || r.outcome.Issue[0].Code != "transient" {
			t.Fatalf("%s: %d %s", viewer, r.status, r.body)
		}
		if strings.Contains(r.body, audittest.PatientA) || strings.Contains(r.body, "AuditEvent\"") {
			t.Fatalf("data left without an audit record: %s", r.body)
		}
	}
}

func TestReviewSearchFailureLeaksNothing(t *testing.T) {
	env := newReviewEnv(t, func(s *sqlaudit.Store) audit.Searcher {
		dead, err := sqlaudit.OpenSQLite(context.Background(), t.TempDir()+"/dead.db")
		if err != nil {
			t.Fatal(err)
		}
		dead.Close()
		return dead
	}, nil)
	r := env.get(t, "compliance", "")
	if r.status != http.StatusServiceUnavailable || strings.Contains(strings.ToLower(r.body), "sql") || strings.Contains(r.body, "dead.db") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestNewHandlerNeedsItsParts(t *testing.T) {
	searcher := newReviewEnv(t, nil, nil).store
	if _, err := auditapi.NewHandler(auditapi.HandlerConfig{Searcher: searcher, Authenticate: viewers}); err == nil {
		t.Fatal("a handler without an audit logger was built")
	}
	if _, err := auditapi.NewHandler(auditapi.HandlerConfig{Searcher: searcher, Log: nopLogger{}}); err == nil {
		t.Fatal("a handler without authentication was built")
	}
}

type nopLogger struct{}

func (nopLogger) Log(context.Context, audit.Record) error { return nil }
