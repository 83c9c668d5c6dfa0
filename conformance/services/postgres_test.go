package services_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/services"
	"pjd/conformance/testenv"
)

// TestPostgresTemplateCache builds the template in an empty cache, reuses
// it, and rebuilds it when it is incomplete or damaged.
func TestPostgresTemplateCache(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (make test does not pass -short): runs initdb several times")
	}
	if err := testenv.Without("postgres"); err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	in, err := services.FindPostgres()
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	t.Setenv("PJD_CACHE", t.TempDir())
	tmpl := in.TemplateDir()

	startQuery := func(rebuild bool) error {
		s, err := in.Start(rebuild)
		if err != nil {
			return err
		}
		defer s.Stop()
		ctx := context.Background()
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var one int
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("SELECT 1: %d, %v", one, err)
		}
		return nil
	}

	if err := startQuery(false); err != nil {
		t.Fatalf("first start (builds the template): %v", err)
	}
	if !in.TemplateComplete(tmpl) {
		t.Fatal("template not cached after the first start")
	}
	marker := filepath.Join(tmpl, services.TemplateMarker)
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
	if !in.TemplateComplete(tmpl) {
		t.Error("incomplete template not rebuilt")
	}

	// Damaged but complete-looking: the server fails with its log in the
	// error, and StartPostgres rebuilds the template and succeeds.
	if err := os.WriteFile(filepath.Join(tmpl, "global", "pg_control"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = startQuery(false)
	var perr *services.PGStartError
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "postgres.log (tail)") || !strings.Contains(err.Error(), "pg_control") {
		t.Fatalf("start on a damaged template: got %v, want a start error quoting the server log", err)
	}
	s, err := services.StartPostgres()
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
		if err := os.WriteFile(filepath.Join(dir, services.OwnerFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	services.SweepStaleServers()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of a dead test process kept (%v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live process removed: %v", err)
	}
}
