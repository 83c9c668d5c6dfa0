package fs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"pjd/repository"
)

// tempPrefix starts the name of every file Put is still writing. No valid
// key segment starts with '.', so a temporary file can never be read, listed
// or overwritten as a blob.
const tempPrefix = ".put-"

const (
	dirPerm  = 0o750
	filePerm = 0o640
)

// Store is a repository.BlobStore over a directory: each key is a file at
// that relative path below the directory.
type Store struct {
	root *os.Root
	// mkdirAll is root.MkdirAll (a test puts a concurrent Delete's timing
	// in between).
	mkdirAll func(name string, perm os.FileMode) error
}

var (
	_ repository.BlobStore         = (*Store)(nil)
	_ repository.IncompleteSweeper = (*Store)(nil)
)

// Open returns a Store rooted at dir, creating dir if it does not exist.
// Every file access goes through an os.Root, so no key and no symbolic link
// can reach outside dir.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fs: empty directory name")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("fs: creating %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: opening %s: %w", dir, err)
	}
	return &Store{root: root, mkdirAll: root.MkdirAll}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Put writes r to a temporary file in key's directory, syncs it, renames it
// over key and syncs the directory, so the object appears whole or not at
// all and survives a crash once Put has returned.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := repository.ValidateKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dir := path.Dir(key)
	tmp, f, err := s.createTemp(dir)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, repository.ContextReader(ctx, r))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, key)
	}
	if err != nil {
		s.root.Remove(tmp)
		return 0, fmt.Errorf("fs: put %s: %w", key, err)
	}
	if err := s.syncDir(dir); err != nil {
		return n, fmt.Errorf("fs: put %s: syncing directory: %w", key, err)
	}
	return n, nil
}

// createTemp creates a new temporary file in dir, creating dir first. A
// concurrent Delete that has just emptied dir may remove it at any moment:
// between the two steps (the file's creation finds no dir), or inside
// MkdirAll, between its mkdirat, which finds dir there (EEXIST), and its
// look at what is there, which finds nothing — MkdirAll then returns the
// mkdirat's "file exists". Either way both steps are tried again.
func (s *Store) createTemp(dir string) (string, *os.File, error) {
	var err error
	for range 5 {
		if dir != "." {
			err = s.mkdirAll(dir, dirPerm)
		}
		if err == nil {
			name := path.Join(dir, tempPrefix+randomHex(12))
			var f *os.File
			if f, err = s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm); err == nil {
				return name, f, nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return "", nil, fmt.Errorf("fs: creating temporary file in %s: %w", dir, err)
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get opens the file of key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, repository.BlobInfo, error) {
	if err := repository.ValidateKey(key); err != nil {
		return nil, repository.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, repository.BlobInfo{}, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, repository.BlobInfo{}, s.mapErr(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, repository.BlobInfo{}, s.mapErr(key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, repository.BlobInfo{}, fmt.Errorf("fs: %s: %w", key, repository.ErrBlobNotFound)
	}
	rc := &readCloser{Reader: repository.ContextReader(ctx, f), Closer: f}
	return rc, info(key, fi), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat describes the file of key.
func (s *Store) Stat(ctx context.Context, key string) (repository.BlobInfo, error) {
	if err := repository.ValidateKey(key); err != nil {
		return repository.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return repository.BlobInfo{}, err
	}
	fi, err := s.root.Stat(key)
	if err != nil {
		return repository.BlobInfo{}, s.mapErr(key, err)
	}
	if !fi.Mode().IsRegular() {
		return repository.BlobInfo{}, fmt.Errorf("fs: %s: %w", key, repository.ErrBlobNotFound)
	}
	return info(key, fi), nil
}

// Delete removes the file of key, then every directory above it that this
// left empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := repository.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := s.root.Lstat(key)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return fmt.Errorf("fs: delete %s: %w", key, err)
	case fi.IsDir():
		return nil // a directory is not a blob
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fs: delete %s: %w", key, err)
	}
	// Remove the directories this emptied; the first that is not empty (or
	// was just reused by a concurrent Put) stops the climb.
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if s.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List walks the directory tree below prefix's directory. Entries of each
// directory are read and sorted before recursing, with subdirectories
// sorted as name+"/", which yields exactly the lexical order of full keys.
// Names that are not valid key segments (temporary files) and anything that
// is neither a regular file nor a directory are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(repository.BlobInfo) error) error {
	if err := repository.ValidatePrefix(prefix); err != nil {
		return err
	}
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	err := s.walk(ctx, start, prefix, fn)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil // nothing below that prefix
	}
	return err
}

func (s *Store) walk(ctx context.Context, dir, prefix string, fn func(repository.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	sortKey := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return cmp.Compare(sortKey(a), sortKey(b)) })
	for _, e := range entries {
		if repository.ValidateKey(e.Name()) != nil {
			continue
		}
		key := e.Name()
		if dir != "." {
			key = dir + "/" + e.Name()
		}
		switch {
		case e.IsDir():
			// Descend only where keys below can match the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				continue
			}
			if err := s.walk(ctx, key, prefix, fn); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed while we walked
				}
				return err
			}
		case e.Type().IsRegular():
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := fn(info(key, fi)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SweepIncomplete removes temporary files of Puts that began before cutoff
// and never finished (the process died mid-write).
func (s *Store) SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			return nil
		}
		if err := s.root.Remove(p); err == nil {
			n++
		}
		return nil
	})
	return n, err
}

func (s *Store) mapErr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return fmt.Errorf("fs: %s: %w", key, repository.ErrBlobNotFound)
	}
	return fmt.Errorf("fs: %s: %w", key, err)
}

func info(key string, fi fs.FileInfo) repository.BlobInfo {
	return repository.BlobInfo{Key: key, Size: fi.Size(), Modified: fi.ModTime()}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
