package repository_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/conformance/testenv"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/registrytest"
	"pjd/registry/sqlite"
	"pjd/repository"
	"pjd/repository/fs"
	"pjd/repository/s3"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const repoID = "2.16.578.1.12.4.1.7.1.1.1"

// backends are the BlobStores the repository tests run on. open also
// returns a function that leaves behind what a process killed in the
// middle of a Put would (an fs temporary file, an S3 multipart upload
// never completed).
var backends = []struct {
	name string
	open func(t *testing.T) (repository.BlobStore, func(t *testing.T))
}{
	{"fs", func(t *testing.T) (repository.BlobStore, func(t *testing.T)) {
		dir := filepath.Join(t.TempDir(), "blobs")
		s, err := fs.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func(t *testing.T) {
			d := filepath.Join(dir, "docs", strings.Repeat("ab", 32))
			if err := os.MkdirAll(d, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, ".put-0123456789ab"), []byte("half a document"), 0o640); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"s3", func(t *testing.T) (repository.BlobStore, func(t *testing.T)) {
		info := testenv.S3(t)
		s, err := s3.Open(t.Context(), s3.Config{Endpoint: info.Endpoint, AccessKey: info.AccessKey, SecretKey: info.SecretKey, Bucket: info.Bucket, PartSize: s3.MinPartSize})
		if err != nil {
			t.Fatal(err)
		}
		return s, func(t *testing.T) {
			core, err := minio.NewCore(info.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(info.AccessKey, info.SecretKey, "")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := core.NewMultipartUpload(t.Context(), info.Bucket, "docs/"+strings.Repeat("ab", 32)+"/x.bin", minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}},
}

// forEachBackend runs fn once per BlobStore backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func(t *testing.T) repository.BlobStore)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, func(t *testing.T) repository.BlobStore {
				s, _ := b.open(t)
				return s
			})
		})
	}
}

// forEachEnv runs fn on a fresh env per blob backend.
func forEachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) repository.BlobStore) {
		fn(t, newEnv(t, open(t)))
	})
}

// clock is the repository's clock: real time plus an offset a test moves
// forward (to age uploads past a grace period or a timeout).
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) Set(d time.Duration)     { c.offset.Store(int64(d)) }

// env is a repository over a real registry (registry.Registry on SQLite)
// and a real BlobStore.
type env struct {
	repo  *repository.Repository
	blobs repository.BlobStore
	reg   *countingRegistry
	store *sqlite.Store
	clock *clock
}

type envOpt func(*repository.Config)

func newEnv(t *testing.T, blobs repository.BlobStore, opts ...envOpt) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{blobs: blobs, store: st, clock: &clock{}, reg: &countingRegistry{Registry: repository.LocalRegistry(reg)}}
	cfg := repository.Config{UniqueID: repoID, Blobs: blobs, Registry: e.reg, Now: e.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	e.repo, err = repository.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// countingRegistry passes calls to a real registry, and can be made to
// lose an answer (after or instead of the call) to stand in for a
// connection that broke.
type countingRegistry struct {
	repository.Registry
	mu             sync.Mutex
	registers      int
	loseAnswer     bool // call through, then report an error
	unreachable    bool // report an error without calling
	beforeRegister func()
}

var errLost = fmt.Errorf("connection reset by peer")

func (c *countingRegistry) Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error) {
	c.mu.Lock()
	c.registers++
	lose, unreachable, before := c.loseAnswer, c.unreachable, c.beforeRegister
	c.mu.Unlock()
	if before != nil {
		before()
	}
	if unreachable {
		return nil, errLost
	}
	l, err := c.Registry.Register(ctx, sub)
	if lose {
		return nil, errLost
	}
	return l, err
}

func (c *countingRegistry) set(fn func(c *countingRegistry)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

// Fixtures: a valid ITI-41 submission of synthetic documents for the n-th
// synthetic patient (registrytest's F-nr), with symbolic ids.

var seq atomic.Int64

func uid(kind int) string {
	return fmt.Sprintf("2.16.578.1.12.4.1.7.%d.%d.%d", kind, time.Now().UnixNano()%1e9, seq.Add(1))
}

func docEntry(i int, patient string) *registry.DocumentEntry {
	return &registry.DocumentEntry{
		ID:              fmt.Sprintf("Document%02d", i),
		ObjectType:      registry.ObjectTypeStable,
		UniqueID:        uid(3),
		PatientID:       patient,
		MimeType:        "text/plain",
		Title:           "Epikrise (syntetisk)",
		LanguageCode:    "nb-NO",
		CreationTime:    "20240105081500",
		SourcePatientID: patient,
		Authors:         []registry.Author{{Person: "9144900^Nordmann^Kari^^^^^^&" + oid.HPR + "&ISO"}},
		Class:           registry.Code{Code: "A00-1", Scheme: oid.Volven9602, Display: "Epikriser og sammenfatninger"},
		Type:            registry.Code{Code: "A03-2", Scheme: oid.Volven9602, Display: "Epikrise"},
		Format:          registry.Code{Code: "urn:no:ehelse:document:text", Scheme: "2.16.578.1.12.4.1.1.9610"},
		FacilityType:    registry.Code{Code: "86.101", Scheme: "2.16.578.1.12.4.1.1.1303", Display: "Alminnelige somatiske sykehus"},
		PracticeSetting: registry.Code{Code: "1", Scheme: "2.16.578.1.12.4.1.1.8653"},
		Confidentiality: []registry.Code{{Code: "N", Scheme: oid.Volven9603, Display: "Normal"}},
	}
}

// submission returns a submission of n documents and their Document/@id
// values in message order.
func submission(n int) (*registry.Submission, []string) {
	patient := registrytest.PatientID(int(seq.Add(1)))
	sub := &registry.Submission{SubmissionSet: &registry.SubmissionSet{
		ID:             "SubmissionSet01",
		UniqueID:       uid(4),
		SourceID:       "2.16.578.1.12.4.1.7.1.1",
		PatientID:      patient,
		SubmissionTime: "20240105081600",
		ContentType:    registry.Code{Code: "epj", Scheme: "2.16.578.1.12.4.1.1.9999", Display: "Epikrise fra EPJ"},
		Authors:        []registry.Author{{Person: "9144900^Nordmann^Kari^^^^^^&" + oid.HPR + "&ISO"}},
	}}
	var ids []string
	for i := range n {
		d := docEntry(i+1, patient)
		sub.Documents = append(sub.Documents, d)
		sub.Associations = append(sub.Associations, &registry.Association{
			ID:                  fmt.Sprintf("Association%02d", i+1),
			Type:                registry.AssocHasMember,
			Source:              sub.SubmissionSet.ID,
			Target:              d.ID,
			SubmissionSetStatus: registry.SubmissionSetStatusOriginal,
		})
		ids = append(ids, d.ID)
	}
	return sub, ids
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func body(i int) []byte {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "repository", "epikrise.txt"))
	if err != nil {
		panic(err)
	}
	return append(b, fmt.Sprintf("\nKopi %d\n", i)...)
}

// provided provides a submission of n documents, document i holding
// body(i), and fails t unless that succeeds.
func provided(t *testing.T, r *repository.Repository, n int) (*registry.Submission, []string, map[string][]byte) {
	t.Helper()
	sub, ids := submission(n)
	bodies := map[string][]byte{}
	for i, id := range ids {
		bodies[id] = body(i)
	}
	if _, err := provide(t, r, sub, ids, bodies); err != nil {
		t.Fatal(err)
	}
	return sub, ids, bodies
}

// provide runs a whole ITI-41: NewUpload, one Put per document, Commit.
// It returns the warnings and the first error.
func provide(t *testing.T, r *repository.Repository, sub *registry.Submission, ids []string, bodies map[string][]byte) (registry.ErrorList, error) {
	t.Helper()
	ctx := t.Context()
	u, err := r.NewUpload(ctx, sub, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		b, ok := bodies[id]
		if !ok {
			continue
		}
		if err := u.Put(ctx, id, bytes.NewReader(b)); err != nil {
			u.Abort(ctx)
			return nil, err
		}
	}
	return u.Commit(ctx)
}

// objects lists every key in the store.
func objects(t *testing.T, s repository.BlobStore) []string {
	t.Helper()
	var keys []string
	if err := s.List(t.Context(), "", func(bi repository.BlobInfo) error {
		keys = append(keys, bi.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func readAll(t *testing.T, open func(context.Context) (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errCodes returns the XDS error codes carried by err.
func errCodes(err error) []string {
	l, ok := registry.AsErrors(err)
	if !ok {
		return nil
	}
	var codes []string
	for _, e := range l {
		codes = append(codes, e.Code)
	}
	return codes
}
