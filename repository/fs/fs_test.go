package fs_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pjd/repository"
	"pjd/repository/blobtest"
	"pjd/repository/fs"
)

func open(t *testing.T) repository.BlobStore {
	s, _ := openDir(t)
	return s
}

// openDir opens a store in a new directory, closed when t ends, and
// returns the directory too.
func openDir(t *testing.T) (*fs.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := fs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestBlobStore(t *testing.T) { blobtest.Run(t, open) }

func TestOpenRefusesFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Open(f); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
	if _, err := fs.Open(""); err == nil {
		t.Fatal("Open of an empty name succeeded")
	}
}

// TestSymlinkOutsideRoot plants links that lead out of the store's
// directory: no operation may follow them.
func TestSymlinkOutsideRoot(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "secret")
	if err := os.MkdirAll(secret, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secret, "key"), []byte("do not read"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "blobs")
	s, err := fs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Symlink(secret, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(secret, "key"), filepath.Join(dir, "filelink")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, key := range []string{"escape/key", "filelink"} {
		if rc, _, err := s.Get(ctx, key); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%s) read %q from outside the root", key, b)
		}
		if _, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%s) succeeded outside the root", key)
		}
	}
	if _, err := s.Put(ctx, "escape/new", strings.NewReader("x")); err == nil {
		t.Error("Put through a link out of the root succeeded")
	}
	if err := s.Delete(ctx, "escape/key"); err != nil {
		t.Logf("Delete through a link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(secret, "key")); err != nil {
		t.Errorf("file outside the root was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(secret, "new")); err == nil {
		t.Error("file created outside the root")
	}
	var listed []string
	if err := s.List(ctx, "", func(bi repository.BlobInfo) error { listed = append(listed, bi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Errorf("List followed links: %q", listed)
	}
}

// TestInterruptedPut: a temporary file left by a process that died
// mid-Put is never a blob, and SweepIncomplete removes it once old.
func TestInterruptedPut(t *testing.T) {
	s, dir := openDir(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "d/kept", strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "d", ".put-deadbeef")
	if err := os.WriteFile(tmp, []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	var listed []string
	s.List(ctx, "", func(bi repository.BlobInfo) error { listed = append(listed, bi.Key); return nil })
	if len(listed) != 1 || listed[0] != "d/kept" {
		t.Fatalf("List = %q", listed)
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepIncomplete(ctx, fi.ModTime()); err != nil || n != 0 {
		t.Fatalf("SweepIncomplete before the file's time = %d, %v", n, err)
	}
	if n, err := s.SweepIncomplete(ctx, fi.ModTime().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("SweepIncomplete = %d, %v", n, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file still there: %v", err)
	}
	if _, err := s.Stat(ctx, "d/kept"); err != nil {
		t.Fatalf("blob swept: %v", err)
	}
}

// TestLayoutConflicts: a key that is another key's directory cannot be
// stored; the error is clean and nothing is left behind.
func TestLayoutConflicts(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a", strings.NewReader("y")); err == nil {
		t.Error("Put over a directory succeeded")
	}
	if _, err := s.Put(ctx, "a/b/c", strings.NewReader("y")); err == nil {
		t.Error("Put below a file succeeded")
	}
	var listed []string
	s.List(ctx, "", func(bi repository.BlobInfo) error { listed = append(listed, bi.Key); return nil })
	if len(listed) != 1 || listed[0] != "a/b" {
		t.Fatalf("List = %q", listed)
	}
	// Deleting the last key removes its now-empty directories.
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a", strings.NewReader("y")); err != nil {
		t.Fatalf("Put after the directory emptied: %v", err)
	}
}

// TestPutWhileDeleteRemovesDir replays the race seen once in
// TestBlobStore/Concurrent ("mkdirat … file exists"): Put's MkdirAll finds
// the key's directory there (mkdirat: EEXIST), a concurrent Delete that
// emptied it removes it, and MkdirAll's look at what exists finds nothing
// and returns the EEXIST. Put must try again, not fail.
func TestPutWhileDeleteRemovesDir(t *testing.T) {
	s, dir := openDir(t)
	real := fs.MkdirAll(s)
	raced := 0
	fs.SetMkdirAll(s, func(name string, perm os.FileMode) error {
		if err := real(name, perm); err != nil || raced > 0 {
			return err
		}
		raced++
		// The directory existed; the concurrent Delete removes it now.
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
		return &os.PathError{Op: "mkdirat", Path: name, Err: syscall.EEXIST}
	})
	ctx := t.Context()
	if _, err := s.Put(ctx, "docs/abc/1.bin", strings.NewReader("hello")); err != nil {
		t.Fatalf("Put raced by a Delete of its directory: %v", err)
	}
	if raced != 1 {
		t.Fatalf("the race was replayed %d times, want 1", raced)
	}
	rc, _, err := s.Get(ctx, "docs/abc/1.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "hello" {
		t.Fatalf("read back %q", b)
	}
}
