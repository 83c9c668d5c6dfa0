package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// BlobStore keeps documents' bytes under string keys. repository/fs and
// repository/s3 implement it; repository/blobtest holds the suite both
// must pass.
//
// Keys are validated by ValidateKey: '/'-separated segments of a fixed
// character set, so no key can name a parent directory, an absolute path or
// a store's own temporary files. A key may not also be the directory of
// another key ("a" and "a/b" cannot both exist).
type BlobStore interface {
	// Put stores everything r yields under key and returns the number of
	// bytes stored. It is atomic: readers see the old object or none
	// until Put has stored every byte, then the new one. When r or ctx
	// fails, Put returns that error and leaves key as it was. Memory use
	// does not grow with the size of r.
	Put(ctx context.Context, key string, r io.Reader) (n int64, err error)
	// Get streams the object stored under key; the caller closes it.
	// ErrBlobNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	// Stat describes the object under key; ErrBlobNotFound when there is
	// none.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes the object under key. Deleting a missing key is not
	// an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, without collecting them first. An error from fn
	// stops the listing and is returned unchanged. Objects put or deleted
	// during a listing may or may not be seen. prefix is "" or a string of
	// key characters; it need not end at a '/'.
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error
}

// IncompleteSweeper is implemented by stores that can leave invisible
// leftovers of interrupted Puts (temporary files, unfinished multipart
// uploads) when a process dies mid-write. Sweep calls it.
type IncompleteSweeper interface {
	// SweepIncomplete removes leftovers of Puts begun before cutoff and
	// returns how many it removed.
	SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error)
}

// BlobInfo describes one stored object.
type BlobInfo struct {
	Key      string
	Size     int64
	Modified time.Time // by the store's clock
}

// Errors of BlobStores. Implementations wrap them; test with errors.Is.
var (
	// ErrBlobNotFound: no object is stored under the key.
	ErrBlobNotFound = errors.New("repository: blob not found")
	// ErrInvalidKey: the key (or list prefix) breaks ValidateKey's rules.
	ErrInvalidKey = errors.New("repository: invalid blob key")
	// ErrUnavailable: the store could not be reached or answered that it
	// cannot serve now (connection refused or broken, a timeout, a 5xx or
	// SlowDown): nothing is wrong with the request, and trying again later
	// may succeed. Errors of the caller's own reader are never marked so.
	ErrUnavailable = errors.New("repository: object storage unavailable")
)

// MaxKeyLen is the longest key a BlobStore accepts, in bytes.
const MaxKeyLen = 512

// maxSegmentLen is the longest '/'-separated segment of a key (a file name
// for repository/fs: well under NAME_MAX).
const maxSegmentLen = 200

// ValidateKey reports whether key is a valid BlobStore key: 1 to MaxKeyLen
// bytes, non-empty '/'-separated segments of ASCII letters, digits, '.',
// '_' and '-', each starting with a letter or digit (so never "." or "..",
// never hidden, never a store's temporary name) and at most 200 bytes long.
// The error wraps ErrInvalidKey.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePrefix reports whether prefix may be passed to List: "" or a
// string of key characters that is a prefix of some valid key. The error
// wraps ErrInvalidKey.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix length %d", ErrInvalidKey, len(prefix))
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		if i == len(segs)-1 && seg == "" && i > 0 {
			break // a trailing '/' ends a complete segment
		}
		if err := validSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

func validSegment(seg string) error {
	if seg == "" || len(seg) > maxSegmentLen {
		return fmt.Errorf("%w: empty or overlong segment", ErrInvalidKey)
	}
	if !isAlnum(seg[0]) {
		return fmt.Errorf("%w: segment must start with a letter or digit", ErrInvalidKey)
	}
	for i := 1; i < len(seg); i++ {
		c := seg[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w: character %q not allowed", ErrInvalidKey, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so a copy loop over it stops when its request is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
