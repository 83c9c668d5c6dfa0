package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
)

type cliEnv struct {
	path   string
	stdout bytes.Buffer
	stderr bytes.Buffer
	env    audit.CLIEnv
}

// newCLI seeds a SQLite audit log and returns a CLI environment on it,
// as cmd/pjd would wire it.
func newCLI(t *testing.T, withLog bool) *cliEnv {
	t.Helper()
	c := &cliEnv{path: filepath.Join(t.TempDir(), "pjd.db")}
	s, err := sqlaudit.OpenSQLite(context.Background(), c.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key := audittest.Key(t)
	var recs []audit.Record
	for i := range 4 {
		recs = append(recs, audittest.SimpleRecord(i, audittest.PatientA))
	}
	recs = append(recs, audittest.SimpleRecord(4, audittest.PatientB), audittest.FullRecord())
	audittest.Append(t, s, key, recs...)
	c.env = audit.CLIEnv{
		Open:            func(ctx context.Context) (audit.Store, error) { return sqlaudit.OpenSQLite(ctx, c.path) },
		Key:             func() (*audit.Key, error) { return key, nil },
		Stdout:          &c.stdout,
		Stderr:          &c.stderr,
		CurrentUsername: func() string { return "compliance-kari" },
	}
	if withLog {
		l, err := audit.NewLogger(s, key, audit.LoggerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(context.Background()) })
		c.env.Log = l.Log
	}
	return c
}

func (c *cliEnv) run(args ...string) error {
	c.stdout.Reset()
	c.stderr.Reset()
	return audit.RunCLI(context.Background(), args, c.env)
}

func TestCLISearch(t *testing.T) {
	c := newCLI(t, true)
	if err := c.run("search", "--patient", audittest.PatientA, "--limit", "3"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(c.stdout.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("table:\n%s", c.stdout.String())
	}
	// Newest first: this search's own record (committed before the
	// search ran), then the BTG search.
	if !strings.Contains(lines[1], "AUDIT-SEARCH") || !strings.Contains(lines[1], "os-user:compliance-kari") {
		t.Errorf("newest row %q", lines[1])
	}
	if !strings.Contains(lines[2], "ITI-67") || !strings.Contains(lines[2], "BTG,REVIEW") {
		t.Errorf("second row %q", lines[2])
	}
	if !regexp.MustCompile(`more: --cursor \d+`).MatchString(c.stderr.String()) {
		t.Errorf("no continuation hint: %q", c.stderr.String())
	}

	if err := c.run("search", "--patient", audittest.PatientB, "--format", "json"); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Records    []audit.Record `json:"records"`
		NextCursor int64          `json:"next_cursor"`
	}
	if err := json.Unmarshal(c.stdout.Bytes(), &out); err != nil {
		t.Fatalf("json: %v\n%s", err, c.stdout.String())
	}
	if len(out.Records) != 2 || out.Records[1].PatientID != audittest.PatientB || out.Records[1].Transaction != audit.TxITI68 || out.NextCursor != 0 {
		t.Fatalf("json search %+v", out)
	}

	// The operator's searches are themselves in the log.
	if err := c.run("search", "--subtype", "AUDIT-SEARCH", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(c.stdout.Bytes(), &out)
	if len(out.Records) != 3 || out.Records[0].Actor.Name != "os-user:compliance-kari" || out.Records[0].Actor.Kind != audit.ActorSystem {
		t.Fatalf("operator searches recorded: %+v", out.Records)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	c := newCLI(t, false)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"search", "--no-such-flag"},
		{"search", "--format", "xml"},
		{"search", "stray"},
		{"export", "--format", "pdf"},
		{"verify", "--expect-head", "garbage"},
	} {
		if err := c.run(args...); !errors.Is(err, audit.ErrUsage) {
			t.Errorf("%v: %v, want ErrUsage", args, err)
		}
	}
	var pe *audit.ParamError
	if err := c.run("search", "--patient", "123"); !errors.As(err, &pe) || pe.Param != "patient" {
		t.Errorf("bad patient: %v", err)
	}
	if err := c.run("search", "--date", "yesterday"); !errors.As(err, &pe) || pe.Param != "date" {
		t.Errorf("bad date: %v", err)
	}
}

func TestCLIExport(t *testing.T) {
	c := newCLI(t, true)
	if err := c.run("export", "--format", "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(c.stdout.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header + six seeded records + this export's own AUDIT-EXPORT record.
	if len(rows) != 8 || rows[1][0] != "1" || rows[7][3] != audit.TxAuditExport {
		t.Fatalf("%d rows; first seq %q, last transaction %q", len(rows), rows[1][0], rows[7][3])
	}
	if !strings.Contains(c.stdout.String(), audittest.DoctorPID) {
		t.Error("compliance export lacks the F-nr")
	}

	if err := c.run("export", "--format", "fhir", "--patient", audittest.PatientA, "--citizen-view"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(c.stdout.String()), "\n")
	// Five accesses to patient A, and this export's own record.
	if len(lines) != 6 {
		t.Fatalf("%d AuditEvents for patient A, want 6", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["resourceType"] != "AuditEvent" {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if strings.Contains(c.stdout.String(), audittest.DoctorPID) {
		t.Error("citizen-view export contains the health worker's F-nr")
	}
}

func TestCLIVerify(t *testing.T) {
	c := newCLI(t, false)
	if err := c.run("verify"); err != nil {
		t.Fatalf("verify: %v\n%s", err, c.stdout.String())
	}
	m := regexp.MustCompile(`head: (\d+:[0-9a-f]{64})`).FindStringSubmatch(c.stdout.String())
	if !strings.Contains(c.stdout.String(), "OK: 6 records") || m == nil {
		t.Fatalf("verify output %q", c.stdout.String())
	}
	head := m[1]
	if err := c.run("verify", "--expect-head", head); err != nil {
		t.Fatalf("verify against its own head: %v", err)
	}

	// Someone with the database file removes the newest record and its
	// checkpoint: only the head kept from the last run catches it.
	s, err := sqlaudit.OpenSQLite(context.Background(), c.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.DB()
	for _, q := range []string{
		"DROP TRIGGER audit_records_no_delete", "DROP TRIGGER audit_heads_no_delete",
		"DELETE FROM audit_records WHERE seq = 6", "DELETE FROM audit_heads WHERE seq = 6",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) SELECT seq, hash, key_id, recorded_ms FROM audit_records WHERE seq = 5"); err != nil {
		t.Fatal(err)
	}
	if err := c.run("verify"); err != nil {
		t.Fatalf("without the kept head the truncation is invisible, as documented: %v", err)
	}
	err = c.run("verify", "--expect-head", head)
	if !errors.Is(err, audit.ErrVerifyFailed) || !strings.Contains(c.stdout.String(), "first bad record 6: truncated") {
		t.Fatalf("verify --expect-head after truncation: %v\n%s", err, c.stdout.String())
	}

	if _, err := db.Exec("DROP TRIGGER audit_records_no_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_records SET body = replace(body, '\"outcome\":\"permit\"', '\"outcome\":\"deny\"') WHERE seq = 3"); err != nil {
		t.Fatal(err)
	}
	err = c.run("verify")
	if !errors.Is(err, audit.ErrVerifyFailed) || !strings.Contains(c.stdout.String(), "first bad record 3: changed") {
		t.Fatalf("verify after a changed record: %v\n%s", err, c.stdout.String())
	}
}
