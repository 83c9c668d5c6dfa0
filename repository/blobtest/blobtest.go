package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"pjd/repository"
)

// Open returns a new, empty store for one subtest; it is closed or
// discarded by the caller's own cleanup.
type Open func(t *testing.T) repository.BlobStore

// Run runs every scenario against stores made by open.
func Run(t *testing.T, open Open) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, open(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, open(t)) })
	t.Run("FailedPutLeavesNothing", func(t *testing.T) { testFailedPut(t, open) })
	t.Run("AllOrNothingWhileWriting", func(t *testing.T) { testAllOrNothing(t, open(t)) })
	t.Run("List", func(t *testing.T) { testList(t, open(t)) })
	t.Run("ListStops", func(t *testing.T) { testListStops(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, open(t)) })
	t.Run("StreamingMemory1GiB", func(t *testing.T) { testStreamingMemory(t, open(t)) })
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func put(t *testing.T, s repository.BlobStore, key string, data []byte) {
	t.Helper()
	n, err := s.Put(ctxT(t), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%s) = %d bytes, want %d", key, n, len(data))
	}
}

func get(t *testing.T, s repository.BlobStore, key string) []byte {
	t.Helper()
	rc, info, err := s.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(b)) {
		t.Fatalf("Get(%s) info = %+v, read %d bytes", key, info, len(b))
	}
	return b
}

func keys(t *testing.T, s repository.BlobStore, prefix string) []string {
	t.Helper()
	var out []string
	err := s.List(ctxT(t), prefix, func(bi repository.BlobInfo) error {
		out = append(out, bi.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return out
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func testRoundTrip(t *testing.T, s repository.BlobStore) {
	// Sizes around S3's 5 MiB minimum part (the s3 tests use that as part
	// size), so single-PUT, exact-part and multipart paths are all taken.
	sizes := []int{0, 1, 4096, 1<<20 + 7, 5 << 20, 5<<20 + 1, 11<<20 + 3}
	for i, size := range sizes {
		key := fmt.Sprintf("rt/%d/size-%d.bin", i, size)
		data := randBytes(size, uint64(i))
		put(t, s, key, data)
		if got := get(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes that differ from the %d written", key, len(got), len(data))
		}
		st, err := s.Stat(ctxT(t), key)
		if err != nil {
			t.Fatalf("Stat(%s): %v", key, err)
		}
		if st.Key != key || st.Size != int64(size) || st.Modified.IsZero() {
			t.Fatalf("Stat(%s) = %+v, want size %d and a modification time", key, st, size)
		}
	}
}

func testOverwrite(t *testing.T, s repository.BlobStore) {
	put(t, s, "ow/k", []byte("first version, longer than the second"))
	put(t, s, "ow/k", []byte("second"))
	if got := string(get(t, s, "ow/k")); got != "second" {
		t.Fatalf("after overwrite read %q", got)
	}
	if got := keys(t, s, ""); !slices.Equal(got, []string{"ow/k"}) {
		t.Fatalf("List = %q", got)
	}
}

func testNotFound(t *testing.T, s repository.BlobStore) {
	ctx := ctxT(t)
	if _, _, err := s.Get(ctx, "nf/missing"); !errors.Is(err, repository.ErrBlobNotFound) {
		t.Fatalf("Get missing: %v, want ErrBlobNotFound", err)
	}
	if _, err := s.Stat(ctx, "nf/missing"); !errors.Is(err, repository.ErrBlobNotFound) {
		t.Fatalf("Stat missing: %v, want ErrBlobNotFound", err)
	}
	if err := s.Delete(ctx, "nf/missing"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	put(t, s, "nf/dir/k", []byte("x"))
	// A directory-like prefix of a key is not an object.
	for _, k := range []string{"nf/dir", "nf"} {
		if _, _, err := s.Get(ctx, k); !errors.Is(err, repository.ErrBlobNotFound) {
			t.Fatalf("Get(%s) of a key's parent: %v, want ErrBlobNotFound", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, repository.ErrBlobNotFound) {
			t.Fatalf("Stat(%s) of a key's parent: %v, want ErrBlobNotFound", k, err)
		}
	}
	for range 2 { // idempotent
		if err := s.Delete(ctx, "nf/dir/k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, _, err := s.Get(ctx, "nf/dir/k"); !errors.Is(err, repository.ErrBlobNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrBlobNotFound", err)
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Fatalf("List after Delete = %q", got)
	}
	// The same directory can be used again after it emptied.
	put(t, s, "nf/dir/k2", []byte("y"))
	if got := string(get(t, s, "nf/dir/k2")); got != "y" {
		t.Fatalf("read %q", got)
	}
}

func testInvalidKeys(t *testing.T, s repository.BlobStore) {
	ctx := ctxT(t)
	bad := []struct{ name, key string }{
		{"empty", ""},
		{"absolute", "/etc/passwd"},
		{"parent", "../x"},
		{"parent inside", "a/../../x"},
		{"dot segment", "a/./b"},
		{"dot", "."},
		{"dotdot", ".."},
		{"empty segment", "a//b"},
		{"trailing slash", "a/"},
		{"hidden", ".hidden"},
		{"hidden segment", "a/.put-123"},
		{"backslash", `a\b`},
		{"space", "a b"},
		{"non-ASCII", "dokument-ø"},
		{"NUL", "a\x00b"},
		{"newline", "a\nb"},
		{"percent", "a%2Fb"},
		{"colon", "c:x"},
		{"leading dash", "-x"},
		{"too long", strings.Repeat("a/", repository.MaxKeyLen/2) + "a"},
		{"long segment", strings.Repeat("a", 201)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Put(ctx, tc.key, strings.NewReader("x")); !errors.Is(err, repository.ErrInvalidKey) {
				t.Errorf("Put: %v, want ErrInvalidKey", err)
			}
			if _, _, err := s.Get(ctx, tc.key); !errors.Is(err, repository.ErrInvalidKey) {
				t.Errorf("Get: %v, want ErrInvalidKey", err)
			}
			if _, err := s.Stat(ctx, tc.key); !errors.Is(err, repository.ErrInvalidKey) {
				t.Errorf("Stat: %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx, tc.key); !errors.Is(err, repository.ErrInvalidKey) {
				t.Errorf("Delete: %v, want ErrInvalidKey", err)
			}
		})
	}
	for _, p := range []string{"/", "../", "a//", ".x", "a/../", "a b"} {
		if err := s.List(ctx, p, func(repository.BlobInfo) error { return nil }); !errors.Is(err, repository.ErrInvalidKey) {
			t.Errorf("List(%q): %v, want ErrInvalidKey", p, err)
		}
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Fatalf("invalid keys left objects: %q", got)
	}
}

var errSource = errors.New("blobtest: source failed")

// failingReader yields n bytes of data and then fails with err.
type failingReader struct {
	n   int
	err error
	cb  func() // called when the data is used up, before failing
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		if f.cb != nil {
			// Cancel, and give the store one more Read in which to
			// notice before the stream ends cleanly.
			f.cb()
			f.cb = nil
			return 0, nil
		}
		return 0, f.err
	}
	m := min(len(p), f.n)
	for i := range p[:m] {
		p[i] = byte(i)
	}
	f.n -= m
	return m, nil
}

func testFailedPut(t *testing.T, open Open) {
	rows := []struct {
		name    string
		n       int
		err     error
		cancel  bool // cancel the context once the data is used up
		wantErr error
	}{
		{"source fails at once", 0, errSource, false, errSource},
		{"source fails after 100 bytes", 100, errSource, false, errSource},
		{"truncated body (ErrUnexpectedEOF)", 100, io.ErrUnexpectedEOF, false, io.ErrUnexpectedEOF},
		{"source fails after a full part", 5 << 20, errSource, false, errSource},
		{"source fails after two parts", 11 << 20, errSource, false, errSource},
		{"context cancelled mid-stream", 6 << 20, nil, true, context.Canceled},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			for _, existing := range []bool{false, true} {
				key := fmt.Sprintf("fp/existing-%v", existing)
				if existing {
					put(t, s, key, []byte("old"))
				}
				ctx, cancel := context.WithCancel(ctxT(t))
				fr := &failingReader{n: tc.n, err: tc.err}
				if tc.cancel {
					fr.cb = cancel
					fr.err = io.EOF // would end cleanly, were it not for the cancel
				}
				_, err := s.Put(ctx, key, fr)
				cancel()
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Put: %v, want %v", err, tc.wantErr)
				}
				if existing {
					if got := string(get(t, s, key)); got != "old" {
						t.Fatalf("failed Put changed the object to %d bytes", len(got))
					}
				} else if _, err := s.Stat(ctxT(t), key); !errors.Is(err, repository.ErrBlobNotFound) {
					t.Fatalf("failed Put left an object: %v", err)
				}
			}
			if got := keys(t, s, ""); !slices.Equal(got, []string{"fp/existing-true"}) {
				t.Fatalf("List after failed Puts = %q", got)
			}
		})
	}
}

// gatedReader yields first, then blocks until release is closed, then
// yields rest.
type gatedReader struct {
	first, rest []byte
	reached     chan struct{}
	release     chan struct{}
	once        sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		return n, nil
	}
	g.once.Do(func() {
		close(g.reached)
		<-g.release
	})
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

func testAllOrNothing(t *testing.T, s repository.BlobStore) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		name        string
		first, rest int
	}{
		{"small", 10, 10},
		{"multipart", 6 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "aon/" + tc.name
			put(t, s, key, []byte("old"))
			data := randBytes(tc.first+tc.rest, 7)
			g := &gatedReader{first: data[:tc.first], rest: data[tc.first:], reached: make(chan struct{}), release: make(chan struct{})}
			done := make(chan error, 1)
			go func() {
				_, err := s.Put(ctx, key, g)
				done <- err
			}()
			<-g.reached
			// Mid-write, readers see the old object, whole.
			if got := string(get(t, s, key)); got != "old" {
				t.Errorf("mid-write read %d bytes, want the old object", len(got))
			}
			if st, err := s.Stat(ctx, key); err != nil || st.Size != 3 {
				t.Errorf("mid-write Stat = %+v, %v", st, err)
			}
			if got := keys(t, s, "aon/"); !slices.Contains(got, key) || len(got) > 2 {
				t.Errorf("mid-write List = %q", got)
			}
			close(g.release)
			if err := <-done; err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := get(t, s, key); !bytes.Equal(got, data) {
				t.Fatalf("after Put read %d bytes, want the %d written", len(got), len(data))
			}
		})
	}
}

func testList(t *testing.T, s repository.BlobStore) {
	// In lexical order; '-' < '.' < '/' makes this differ from a naive
	// directory walk. ("a/b" is missing: a key is never another's
	// directory.)
	stored := []string{"a-c", "a.b", "a/b/c", "a/bc", "a/c/d/e", "ab", "b", "b-/x", "z/1"}
	for i, k := range slices.Backward(stored) {
		put(t, s, k, randBytes(i+1, uint64(i)))
	}
	sizes := map[string]int64{}
	err := s.List(ctxT(t), "", func(bi repository.BlobInfo) error {
		sizes[bi.Key] = bi.Size
		if bi.Modified.IsZero() {
			return fmt.Errorf("%s has no modification time", bi.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range slices.Backward(stored) {
		if sizes[k] != int64(i+1) {
			t.Errorf("List size of %s = %d, want %d", k, sizes[k], i+1)
		}
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", stored},
		{"a", []string{"a-c", "a.b", "a/b/c", "a/bc", "a/c/d/e", "ab"}},
		{"a/", []string{"a/b/c", "a/bc", "a/c/d/e"}},
		{"a/b", []string{"a/b/c", "a/bc"}},
		{"a/b/", []string{"a/b/c"}},
		{"a/c/d/e", []string{"a/c/d/e"}},
		{"b", []string{"b", "b-/x"}},
		{"b-", []string{"b-/x"}},
		{"z/", []string{"z/1"}},
		{"nomatch", nil},
		{"nomatch/", nil},
		{"a/c/d/e/", nil},
	} {
		if got := keys(t, s, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testListStops(t *testing.T, s repository.BlobStore) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("ls/%d", i), []byte{byte(i)})
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(ctxT(t), "ls/", func(repository.BlobInfo) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("List returned %v after %d calls, want the callback's error after 2", err, calls)
	}
}

func testConcurrent(t *testing.T, s repository.BlobStore) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 6 {
				key := fmt.Sprintf("cc/%d/%d", i%2, w)
				data := randBytes(1000+w, uint64(w))
				if _, err := s.Put(ctx, key, bytes.NewReader(data)); err != nil {
					errs <- err
					return
				}
				rc, _, err := s.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: read %d bytes, %v", key, len(got), err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Fatalf("left behind: %q", got)
	}
}

func testCancelled(t *testing.T, s repository.BlobStore) {
	put(t, s, "cx/k", []byte("x"))
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	if _, err := s.Put(ctx, "cx/new", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v, want context.Canceled", err)
	}
	if rc, _, err := s.Get(ctx, "cx/k"); !errors.Is(err, context.Canceled) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Get: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, "cx/k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat: %v, want context.Canceled", err)
	}
	if err := s.List(ctx, "", func(repository.BlobInfo) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v, want context.Canceled", err)
	}
	if got := keys(t, s, ""); !slices.Equal(got, []string{"cx/k"}) {
		t.Errorf("List = %q", got)
	}
}

// The streaming test moves this many bytes each way and allows the heap to
// grow by at most maxGrowth over its starting point.
const (
	streamSize = 1 << 30
	maxGrowth  = 64 << 20
	sampleStep = 16 << 20 // bytes between heap samples
)

// genReader generates size bytes deterministically without holding them:
// a fixed random block repeated, each copy stamped with its index so
// reordered or repeated blocks change the hash. It samples the heap every
// sampleStep bytes.
type genReader struct {
	block []byte
	off   int64
	size  int64
	heap  *heapSampler
	next  int64
}

const genBlock = 64 << 10

func newGenReader(size int64, heap *heapSampler) *genReader {
	return &genReader{block: randBytes(genBlock, 99), size: size, heap: heap}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.off < g.size {
		idx, in := g.off/genBlock, int(g.off%genBlock)
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(idx))
		m := copy(p[n:], g.block[in:])
		if rem := g.size - g.off; int64(m) > rem {
			m = int(rem)
		}
		// overlay the stamp on the first 8 bytes of the block
		for i := in; i < 8 && i < in+m; i++ {
			p[n+i-in] = stamp[i]
		}
		n += m
		g.off += int64(m)
	}
	if g.off >= g.next {
		g.heap.sample()
		g.next += sampleStep
	}
	return n, nil
}

type heapSampler struct {
	base, peak uint64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapSampler{base: ms.HeapInuse, peak: ms.HeapInuse}
}

func (h *heapSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapInuse)
}

func (h *heapSampler) growth() int64 { return int64(h.peak) - int64(h.base) }

func testStreamingMemory(t *testing.T, s repository.BlobStore) {
	ctx := ctxT(t)
	const key = "big/one-gib.bin"
	t.Cleanup(func() { s.Delete(context.WithoutCancel(ctx), key) })

	want := sha256.New()
	io.Copy(want, newGenReader(streamSize, &heapSampler{}))

	heap := newHeapSampler()
	n, err := s.Put(ctx, key, newGenReader(streamSize, heap))
	heap.sample()
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n != streamSize {
		t.Fatalf("Put stored %d bytes, want %d", n, streamSize)
	}
	t.Logf("Put 1 GiB: heap grew by at most %d KiB", heap.growth()>>10)
	if heap.growth() > maxGrowth {
		t.Errorf("Put: heap grew by %d MiB, limit %d MiB", heap.growth()>>20, maxGrowth>>20)
	}

	heap = newHeapSampler()
	rc, info, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	if info.Size != streamSize {
		t.Fatalf("Get size %d, want %d", info.Size, streamSize)
	}
	got := sha256.New()
	buf := make([]byte, 256<<10)
	var read, next int64
	for {
		m, err := rc.Read(buf)
		got.Write(buf[:m])
		read += int64(m)
		if read >= next {
			heap.sample()
			next += sampleStep
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading after %d bytes: %v", read, err)
		}
	}
	heap.sample()
	t.Logf("Get 1 GiB: heap grew by at most %d KiB", heap.growth()>>10)
	if heap.growth() > maxGrowth {
		t.Errorf("Get: heap grew by %d MiB, limit %d MiB", heap.growth()>>20, maxGrowth>>20)
	}
	if read != streamSize || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("read back %d bytes with a different SHA-256", read)
	}
}
