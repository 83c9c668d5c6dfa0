package sqlaudit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/registry/sqlite"
)

// sqliteBackend opens a fresh database file per call. A space in the path
// proves the file URI is built safely.
var sqliteBackend = backend{
	name: "sqlite",
	fresh: func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "pjd data")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "pjd.db")
	},
	connect: func(ctx context.Context, path string) (*sqlaudit.Store, func(), error) {
		s, err := sqlaudit.OpenSQLite(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	},
}

func TestSQLite(t *testing.T) { runAll(t, sqliteBackend) }

func TestSQLiteRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if _, err := sqlaudit.OpenSQLite(t.Context(), p); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}

// TestSQLiteSharedHandle: the audit log shares the registry's SQLite
// handle; closing the audit store ends the audit store (every call says
// audit.ErrUnavailable) and leaves the handle to its other users.
func TestSQLiteSharedHandle(t *testing.T) {
	ctx := context.Background()
	reg, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pjd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	s := sqlaudit.NewSQLite(reg.DB())
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := audittest.Key(t)
	audittest.Append(t, s, key, audittest.SimpleRecord(1, audittest.PatientA))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(ctx); !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Head after Close: %v, want ErrUnavailable", err)
	}
	rec := audittest.SimpleRecord(2, audittest.PatientA)
	rec.ID = audit.NewID()
	if err := s.Append(ctx, key, []*audit.Record{&rec}); !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Append after Close: %v, want ErrUnavailable", err)
	}
	if err := reg.Ping(ctx); err != nil {
		t.Errorf("the registry on the same handle after the audit store closed: %v", err)
	}
	again := sqlaudit.NewSQLite(reg.DB())
	if h, err := again.Head(ctx); err != nil || h.Seq != 1 {
		t.Errorf("a new audit store on the handle: head %v, %v", h, err)
	}
}
