package testenv

// Internal tests (package testenv) so the template cache can be exercised
// directly; the binary's TestMain (s3_test.go) stops the shared server.

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func TestPostgresFreshDatabases(t *testing.T) {
	ctx := context.Background()
	u1 := Postgres(t)
	u2 := Postgres(t)
	if u1 == u2 {
		t.Fatalf("two calls returned the same database %s", u1)
	}
	p, _ := url.Parse(u1)
	if h := p.Hostname(); h != "127.0.0.1" {
		t.Errorf("server listens on %s, want loopback", h)
	}
	c1, c2 := connect(t, u1), connect(t, u2)
	if _, err := c1.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d tables, want an empty database", n)
	}
	var version, enc, fsync string
	if err := c1.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_encoding'), current_setting('fsync')").Scan(&version, &enc, &fsync); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "15") || enc != "UTF8" || fsync != "off" {
		t.Errorf("server %s, encoding %s, fsync %s; want 15.x, UTF8, off", version, enc, fsync)
	}
}

func TestPostgresDropsDatabaseAtCleanup(t *testing.T) {
	srv, err := sharedPostgres()
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	var name string
	t.Run("user", func(t *testing.T) {
		name = dbName(t, Postgres(t))
	})
	if name == "" {
		t.Fatal("no database created")
	}
	var exists bool
	c := connect(t, srv.URL("postgres"))
	if err := c.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

// TestPostgresTemplateCache builds the template in an empty cache, reuses
// it, and rebuilds it when it is incomplete or damaged.
func TestPostgresTemplateCache(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (make test does not pass -short): runs initdb several times")
	}
	in, err := findPostgres()
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	t.Setenv("PJD_CACHE", t.TempDir())
	tmpl := in.templateDir()

	startQuery := func(rebuild bool) error {
		s, err := in.start(rebuild)
		if err != nil {
			return err
		}
		defer s.Stop()
		c := connect(t, s.URL("postgres"))
		var one int
		if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("SELECT 1: %d, %v", one, err)
		}
		return nil
	}

	if err := startQuery(false); err != nil {
		t.Fatalf("first start (builds the template): %v", err)
	}
	if !in.templateComplete(tmpl) {
		t.Fatal("template not cached after the first start")
	}
	marker := filepath.Join(tmpl, templateMarker)
	before, err := os.Stat(marker)
	if err != nil {
		t.Fatal(err)
	}
	if err := startQuery(false); err != nil {
		t.Fatalf("second start: %v", err)
	}
	if after, err := os.Stat(marker); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("template rebuilt although complete (%v)", err)
	}

	// Incomplete: rebuilt before use.
	if err := os.Remove(filepath.Join(tmpl, "PG_VERSION")); err != nil {
		t.Fatal(err)
	}
	if err := startQuery(false); err != nil {
		t.Fatalf("start with an incomplete template: %v", err)
	}
	if !in.templateComplete(tmpl) {
		t.Error("incomplete template not rebuilt")
	}

	// Damaged but complete-looking: the server fails with its log in the
	// error, and StartPostgres rebuilds the template and succeeds.
	if err := os.WriteFile(filepath.Join(tmpl, "global", "pg_control"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = startQuery(false)
	var perr *pgStartError
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "postgres.log (tail)") || !strings.Contains(err.Error(), "pg_control") {
		t.Fatalf("start on a damaged template: got %v, want a start error quoting the server log", err)
	}
	s, err := StartPostgres()
	if err != nil {
		t.Fatalf("StartPostgres after damage: %v", err)
	}
	dir := s.Dir
	s.Stop()
	s.Stop() // idempotent
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s left behind after Stop (%v)", dir, err)
	}
}

func TestSweepStaleServers(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatalf("running true(1) to get a dead pid: %v", err)
	}
	mk := func(pid int) string {
		dir, err := os.MkdirTemp("", "pjd-pg-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	sweepStaleServers()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of a dead test process kept (%v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live process removed: %v", err)
	}
}
