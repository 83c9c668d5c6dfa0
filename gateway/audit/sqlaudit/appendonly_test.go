package sqlaudit_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoUpdateOrDeleteInCode proves the append-only rule at the source:
// no non-test Go or SQL file in the module changes or removes rows of an
// audit table (UPDATE, DELETE, TRUNCATE, REPLACE INTO, upserts).
func TestNoUpdateOrDeleteInCode(t *testing.T) {
	root := moduleRoot(t)
	forbidden := regexp.MustCompile(`(?is)\bUPDATE\s+"?audit_|\bDELETE\s+FROM\s+"?audit_|\bTRUNCATE\s+(TABLE\s+)?"?audit_|\bREPLACE\s+INTO\s+"?audit_|INTO\s+"?audit_\w+[^;]*?ON\s+CONFLICT[^;]*?DO\s+UPDATE`)
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "node_modules" || (name == "testdata" && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, "_test.go") || !(strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".sql")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		if loc := forbidden.FindIndex(b); loc != nil {
			line := 1 + strings.Count(string(b[:loc[0]]), "\n")
			t.Errorf("%s:%d: %q changes an audit table", path, line, string(b[loc[0]:loc[1]]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("scanned only %d files under %s", scanned, root)
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}
