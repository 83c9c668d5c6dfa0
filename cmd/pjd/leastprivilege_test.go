package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/testenv"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust/devissuer"
)

// readmeGrants returns the SQL block of the README's least-privilege
// section, for service role and database db.
func readmeGrants(t *testing.T, role, db string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- least-privilege-grants")
	if !ok {
		t.Fatal("README.md has no least-privilege-grants block")
	}
	_, rest, ok = strings.Cut(rest, "```sql\n")
	sql, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md: the least-privilege-grants marker is not followed by a ```sql block")
	}
	sql = regexp.MustCompile(`\bpjd_app\b`).ReplaceAllString(sql, pgx.Identifier{role}.Sanitize())
	return strings.ReplaceAll(sql, "ON DATABASE pjd ", "ON DATABASE "+pgx.Identifier{db}.Sanitize()+" ")
}

// pgExec runs statements on the database at dsn.
func pgExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func withUser(dsn, user string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(err)
	}
	u.User = url.User(user)
	return u.String()
}

// TestLeastPrivilegeServe is issue 9, item 11: pjd serve runs as a role
// that does not own the tables and holds exactly the grants the README
// documents, once the owner has run pjd migrate. Before the migration the
// same role is refused with a message that says what to do. As that role
// the server registers (ITI-41) and searches (MHD ITI-67); and when INSERT
// on the audit log is revoked, /readyz reports the audit log unready while
// the other dependencies stay ready (item 8).
func TestLeastPrivilegeServe(t *testing.T) {
	superURL := testenv.Postgres(t)
	u, err := url.Parse(superURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	owner, app := db+"_owner", db+"_app"
	pgExec(t, superURL,
		"CREATE ROLE "+pgx.Identifier{owner}.Sanitize()+" LOGIN",
		"CREATE ROLE "+pgx.Identifier{app}.Sanitize()+" LOGIN",
		"ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+pgx.Identifier{owner}.Sanitize(),
		// The service role may connect (PUBLIC may by default) but nothing more.
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC")
	ownerURL, appURL := withUser(superURL, owner), withUser(superURL, app)
	data := t.TempDir()
	serveFlags := []string{"--dev", "--data", data, "--demo-data=false", "--sweep-interval=0", "--log-level", "warn", "--postgres-url", appURL}

	// Not migrated yet: the service role may not, and serve says so.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = runPJD(t, 2*time.Minute, append([]string{"serve", "--listen", "127.0.0.1:" + strconv.Itoa(port)}, serveFlags...)...)
	if err == nil || !strings.Contains(err.Error(), "pjd migrate") {
		t.Fatalf("serve as the service role on an unmigrated database: %v; want a refusal that says to run pjd migrate", err)
	}

	if out, err := runPJD(t, 2*time.Minute, "migrate", "--postgres-url", ownerURL); err != nil {
		t.Fatalf("pjd migrate as the owner: %v\n%s", err, out)
	}
	pgExec(t, ownerURL, readmeGrants(t, app, db))

	p := startPJD(t, "least-privilege", serveFlags...)
	ctx := context.Background()

	// ITI-41 as a source (loopback in --dev).
	patient := devissuer.SyntheticPatients()[2]
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: registry.NewPatientCX(patient, oid.FNR).String()})
	body := registry.SampleDocument(0, 0, sub.SubmissionSet.PatientID)
	sub.Documents[0].Hash, sub.Documents[0].Size = "", nil
	c := xdsClient(p.URL, p.URL, time.Minute)
	resp, err := c.Provide(ctx, sub, []xdsclient.Document{{ID: sub.Documents[0].ID, MimeType: sub.Documents[0].MimeType, Body: bytes.NewReader(body)}})
	if err != nil || resp.Status != registry.ResponseSuccess {
		t.Fatalf("ITI-41 as the service role: %+v %v", resp, err)
	}

	// MHD ITI-67 as a fastlege.
	tok, err := (&devissuer.Client{}).TokenAt(ctx, p.URL+"/dev/helseid/connect/token", "fastlege", patient, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: tok.Transport(http.DefaultTransport), Timeout: time.Minute}
	q := url.Values{"patient.identifier": {"urn:oid:" + oid.FNR + "|" + patient}}
	req, _ := http.NewRequest(http.MethodGet, p.URL+"/fhir/R4/DocumentReference?"+q.Encode(), nil)
	req.Header.Set("nhn-patient-nin", patient)
	sresp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sbody, _ := io.ReadAll(sresp.Body)
	sresp.Body.Close()
	if sresp.StatusCode != http.StatusOK || !strings.Contains(string(sbody), sub.Documents[0].UniqueID) {
		t.Fatalf("ITI-67 as the service role: %d %s", sresp.StatusCode, sbody)
	}

	// Revoke the audit log's INSERT: /readyz says exactly that.
	readyz := func() (int, map[string]string) {
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r.Checks
	}
	if code, checks := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz as the service role: %d %v", code, checks)
	}
	pgExec(t, ownerURL, "REVOKE INSERT ON audit_records FROM "+pgx.Identifier{app}.Sanitize())
	code, checks := readyz()
	if code != http.StatusServiceUnavailable || checks["audit-log"] != "unavailable" || checks["registry-database"] != "ok" {
		t.Fatalf("/readyz with INSERT on the audit log revoked: %d %v; want 503 with audit-log unavailable, the registry ok", code, checks)
	}
}
