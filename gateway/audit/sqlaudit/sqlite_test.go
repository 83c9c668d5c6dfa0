package sqlaudit_test

import (
	"os"
	"path/filepath"
	"testing"

	"pjd/gateway/audit/sqlaudit"
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
}

func TestSQLite(t *testing.T) { runAll(t, sqliteBackend) }

func TestSQLiteRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if _, err := sqlaudit.OpenSQLite(t.Context(), p); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}
