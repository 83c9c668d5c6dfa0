package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pjd/registry"
)

// pjd update and pjd remove against a --dev server: a title update makes
// version 2, a status change deprecates, and remove takes the metadata
// (every version) and the bytes.
func TestUpdateAndRemoveCommands(t *testing.T) {
	ctx := context.Background()
	s := startServer(t, backendEmbedded)
	dir := t.TempDir()
	file := filepath.Join(dir, "notat.txt")
	if err := os.WriteFile(file, []byte("NOTAT (syntetisk testdokument)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--url", s.URL), &out, &errb); code != want {
			t.Fatalf("pjd %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	patient := registry.SyntheticFnr(77)
	out := cli(0, "submit", "--patient", patient, "--title", "Notat", file)
	uid := regexp.MustCompile(`document\s+(\S+)`).FindStringSubmatch(out)
	if uid == nil {
		t.Fatalf("submit said %q", out)
	}
	cli(2, "update", uid[1])
	if out := cli(0, "update", uid[1], "--title", "Notat (korrigert)"); !strings.Contains(out, `version 2, Approved, "Notat (korrigert)"`) {
		t.Fatalf("update said %q", out)
	}
	if out := cli(0, "update", uid[1], "--status", "deprecated"); !strings.Contains(out, "version 2, Deprecated") {
		t.Fatalf("status update said %q", out)
	}
	out = cli(0, "remove", uid[1])
	if !strings.Contains(out, "metadata removed") || !strings.Contains(out, "2 version(s)") || !strings.Contains(out, "document removed") {
		t.Fatalf("remove said %q", out)
	}
	if out := cli(1, "get", uid[1], "-o", filepath.Join(dir, "x")); !strings.Contains(out, "the registry has no document") {
		t.Fatalf("get after remove said %q", out)
	}
}
