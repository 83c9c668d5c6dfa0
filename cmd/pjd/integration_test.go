package main

// Whole-system tests: pjd as separate processes (the binary built from
// this package), on loopback ports, talking XDS.b to each other and to the
// test like a deployment does. crash_test.go kills such processes; this
// file holds the helpers and the tests of roles running apart and of
// document size and memory.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/cmd/pjd/internal/synth"
	"pjd/conformance/testenv"
	"pjd/gateway/soap"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
)

// builtPJD is the pjd binary the tests run: built once per test binary
// from this package, without the race detector, so a child's memory use
// and speed are the binary's own. PJD_TEST_BINARY names a prebuilt one.
var builtPJD struct {
	once sync.Once
	path string
	err  error
}

func pjdBinary(t testing.TB) string {
	t.Helper()
	builtPJD.once.Do(func() {
		if p := os.Getenv("PJD_TEST_BINARY"); p != "" {
			builtPJD.path = p
			return
		}
		gotool, err := exec.LookPath("go")
		if err != nil {
			builtPJD.err = fmt.Errorf("the go command is needed to build pjd: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "pjd-integration-bin-")
		if err != nil {
			builtPJD.err = err
			return
		}
		testenv.OnExit(func() { os.RemoveAll(dir) })
		start := time.Now()
		cmd := exec.Command(gotool, "build", "-o", filepath.Join(dir, "pjd"), ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			builtPJD.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		builtPJD.path = filepath.Join(dir, "pjd")
		t.Logf("built %s in %v", builtPJD.path, time.Since(start).Round(time.Millisecond))
	})
	if builtPJD.err != nil {
		t.Fatal(builtPJD.err)
	}
	return builtPJD.path
}

// childEnv is the environment of child processes: the test's, without
// PJD_* settings (every pjd flag can come from the environment, and the
// tests give theirs on the command line).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PJD_") {
			env = append(env, kv)
		}
	}
	return env
}

// pjdProcess is one pjd serve process on a loopback port.
type pjdProcess struct {
	t       testing.TB
	name    string
	URL     string // http://127.0.0.1:port
	Pid     int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

var errPortTaken = errors.New("port taken")

// startPJD runs pjd serve with args (plus --listen on a free loopback
// port) and waits until /readyz answers 200. The process is killed when
// the test ends (and, by Pdeathsig, when the test process dies); its log
// is printed when the test failed.
func startPJD(t testing.TB, name string, args ...string) *pjdProcess {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := launchPJD(t, name, args)
		if err == nil {
			return p
		}
		if attempt >= 3 || !errors.Is(err, errPortTaken) {
			t.Fatalf("starting %s: %v", name, err)
		}
	}
}

func launchPJD(t testing.TB, name string, args []string) (*pjdProcess, error) {
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// The dev regions only where a test asks for them (--dev-regions).
	full := append([]string{"serve", "--listen", addr, "--log-format", "text", "--dev-regions=false"}, args...)
	p, err := launchProcess(t, name, full, "http://"+addr+"/readyz", &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + addr
	return p, nil
}

// kill ends the process with SIGKILL and waits for it: a crash.
func (p *pjdProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks the process to shut down (SIGTERM), which it must do cleanly
// (exit status 0) within 15 s; otherwise it is killed and the test fails.
func (p *pjdProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			p.t.Errorf("%s exited with %v after SIGTERM, want a clean shutdown", p.name, p.waitErr)
		}
	case <-time.After(15 * time.Second):
		p.t.Errorf("%s did not shut down within 15 s of SIGTERM; killing it", p.name)
		p.kill()
	}
}

// runPJD runs a one-shot pjd command and returns its standard output.
func runPJD(t testing.TB, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pjdBinary(t), args...)
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("pjd %s: %w\n%s", args[0], err, stderr.String())
	}
	return stdout.String(), err
}

func tailOf(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// memory is a sample of a process's memory use.
type memory struct {
	RSS  int64 // VmRSS from /proc/<pid>/status
	Heap int64 // go_memstats_heap_inuse_bytes from /metrics
}

// rss reads the resident set size of the process.
func (p *pjdProcess) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/<pid>/status")
}

// metric reads one unlabelled gauge from the process's /metrics.
func (p *pjdProcess) metric(name string) (float64, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

func (p *pjdProcess) memory() (memory, error) {
	rss, err := p.rss()
	if err != nil {
		return memory{}, err
	}
	heap, err := p.metric("go_memstats_heap_inuse_bytes")
	if err != nil {
		return memory{}, err
	}
	return memory{RSS: rss, Heap: int64(heap)}, nil
}

// memorySampler records the peak memory of a process: VmRSS every 20 ms
// and the Go heap in use every 250 ms, until stopped.
type memorySampler struct {
	stopc chan struct{}
	done  chan struct{}
	peak  memory
	n     int
	err   error
}

func (p *pjdProcess) sampleMemory() *memorySampler {
	s := &memorySampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		lastHeap := time.Time{}
		for {
			rss, err := p.rss()
			if err != nil {
				s.err = err
				return
			}
			s.peak.RSS = max(s.peak.RSS, rss)
			if time.Since(lastHeap) >= 250*time.Millisecond {
				lastHeap = time.Now()
				h, err := p.metric("go_memstats_heap_inuse_bytes")
				if err != nil {
					s.err = err
					return
				}
				s.peak.Heap = max(s.peak.Heap, int64(h))
			}
			s.n++
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *memorySampler) stop() (memory, int, error) {
	close(s.stopc)
	<-s.done
	return s.peak, s.n, s.err
}

// store is where a pjd process keeps documents, seen from outside: the
// objects it holds and the leftovers of interrupted writes.
type store interface {
	// objects returns every object under docs/ with its size.
	objects(t testing.TB) map[string]int64
	// leftovers names what interrupted writes left behind (temporary
	// files, unfinished multipart uploads).
	leftovers(t testing.TB) []string
	read(t testing.TB, key string) []byte
}

// fsStore is a repository/fs folder.
type fsStore struct{ dir string }

func (s fsStore) walk(t testing.TB, fn func(rel string, size int64)) {
	t.Helper()
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == s.dir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dir, path)
		fn(filepath.ToSlash(rel), info.Size())
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", s.dir, err)
	}
}

func (s fsStore) objects(t testing.TB) map[string]int64 {
	out := map[string]int64{}
	s.walk(t, func(rel string, size int64) {
		if strings.HasPrefix(rel, "docs/") && !strings.HasPrefix(filepath.Base(rel), ".") {
			out[rel] = size
		}
	})
	return out
}

func (s fsStore) leftovers(t testing.TB) []string {
	var out []string
	s.walk(t, func(rel string, size int64) {
		if strings.HasPrefix(filepath.Base(rel), ".") {
			out = append(out, rel)
		}
	})
	return out
}

func (s fsStore) read(t testing.TB, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// s3Store is an S3 bucket.
type s3Store struct {
	info testenv.S3Info
	c    *minio.Client
}

func newS3Store(t testing.TB, info testenv.S3Info) s3Store {
	t.Helper()
	c, err := minio.New(info.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(info.AccessKey, info.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return s3Store{info: info, c: c}
}

func (s s3Store) objects(t testing.TB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for oi := range s.c.ListObjects(context.Background(), s.info.Bucket, minio.ListObjectsOptions{Prefix: "docs/", Recursive: true}) {
		if oi.Err != nil {
			t.Fatalf("listing bucket %s: %v", s.info.Bucket, oi.Err)
		}
		out[oi.Key] = oi.Size
	}
	return out
}

func (s s3Store) leftovers(t testing.TB) []string {
	t.Helper()
	var out []string
	for u := range s.c.ListIncompleteUploads(context.Background(), s.info.Bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("listing incomplete uploads in %s: %v", s.info.Bucket, u.Err)
		}
		out = append(out, "multipart upload of "+u.Key)
	}
	return out
}

func (s s3Store) read(t testing.TB, key string) []byte {
	t.Helper()
	o, err := s.c.GetObject(context.Background(), s.info.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deployment is the state one pjd setup keeps: serve flags selecting its
// backends (and data folder), and its document store seen from outside.
type deployment struct {
	backend string
	flags   []string
	store   store
}

// newDeployment prepares backend: embedded (SQLite and files in a data
// folder) or production (PostgreSQL, Redis and S3 from testenv; the data
// folder then holds only dev keys). Both run with --dev, so loopback SOAP
// callers are sources and the dev token issuer is on.
func newDeployment(t testing.TB, backend string) *deployment {
	t.Helper()
	data := t.TempDir()
	d := &deployment{backend: backend, flags: []string{"--dev", "--data", data, "--demo-data=false", "--sweep-interval=0", "--log-level", "warn"}}
	switch backend {
	case backendEmbedded:
		d.store = fsStore{dir: filepath.Join(data, "blobs")}
	case backendProduction:
		pg := testenv.Postgres(t)
		rd := testenv.Redis(t)
		d.flags = append(d.flags, "--postgres-url", pg, "--redis-url", "redis://"+rd+"/0")
		flags, st := s3Deployment(t)
		d.flags = append(d.flags, flags...)
		d.store = st
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	return d
}

// s3Deployment returns the serve flags of a fresh bucket and its store.
func s3Deployment(t testing.TB) ([]string, s3Store) {
	t.Helper()
	info := testenv.S3(t)
	return []string{"--s3-endpoint", info.Endpoint, "--s3-bucket", info.Bucket,
		"--s3-access-key", info.AccessKey, "--s3-secret-key", info.SecretKey, "--s3-insecure"}, newS3Store(t, info)
}

func (d *deployment) with(extra ...string) []string {
	return append(append([]string(nil), d.flags...), extra...)
}

// storedUpload is one upload's objects in a store: docs/<h>/<upload>.bin
// and .meta (the layout repository.go documents).
type storedUpload struct {
	bin, meta bool
	record    struct {
		UniqueID string `json:"uniqueId"`
		SHA1     string `json:"sha1"`
		Size     int64  `json:"size"`
	}
}

// uploads groups a store's objects by upload and reads each record.
func uploads(t testing.TB, s store) map[string]*storedUpload {
	t.Helper()
	out := map[string]*storedUpload{}
	for key := range s.objects(t) {
		ext := path.Ext(key)
		base := strings.TrimSuffix(key, ext)
		if ext != ".bin" && ext != ".meta" {
			t.Errorf("unexpected object %s in the document store", key)
			continue
		}
		u := out[base]
		if u == nil {
			u = &storedUpload{}
			out[base] = u
		}
		if ext == ".bin" {
			u.bin = true
			continue
		}
		u.meta = true
		if err := json.Unmarshal(s.read(t, key), &u.record); err != nil {
			t.Errorf("record %s: %v", key, err)
		}
	}
	return out
}

// entryKey identifies a registered document by what its blobs must match.
type entryKey struct {
	uid, sha1 string
	size      int64
}

func keyOf(e *registry.DocumentEntry) entryKey {
	k := entryKey{uid: e.UniqueID, sha1: strings.ToLower(e.Hash)}
	if e.Size != nil {
		k.size = *e.Size
	}
	return k
}

// classify splits a store's uploads into those a registry entry names
// (complete: .bin and .meta) and orphans (anything else).
func classify(t testing.TB, s store, entries []*registry.DocumentEntry) (committed map[entryKey]int, orphans []string) {
	t.Helper()
	want := map[entryKey]bool{}
	for _, e := range entries {
		want[keyOf(e)] = true
	}
	committed = map[entryKey]int{}
	for name, u := range uploads(t, s) {
		k := entryKey{uid: u.record.UniqueID, sha1: u.record.SHA1, size: u.record.Size}
		if u.bin && u.meta && want[k] {
			committed[k]++
			continue
		}
		orphans = append(orphans, fmt.Sprintf("%s (bin %v, meta %v)", name, u.bin, u.meta))
	}
	return committed, orphans
}

// xdsClient returns an XDS client of a registry and a repository.
func xdsClient(registryBase, repositoryBase string, timeout time.Duration) *xdsclient.Client {
	return &xdsclient.Client{SOAP: &soap.Client{HTTP: &http.Client{Timeout: timeout}},
		RegistryURL: registryBase + "/xds/registry", RepositoryURL: repositoryBase + "/xds/repository"}
}

// findDocuments runs ITI-18 FindDocuments (Approved, LeafClass) for a
// patient CX.
func findDocuments(ctx context.Context, c *xdsclient.Client, patient string) ([]*registry.DocumentEntry, error) {
	res, rr, err := c.Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + patient + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
		}})
	if err != nil {
		return nil, err
	}
	if rr.Errors.Failed() {
		return nil, rr.Errors
	}
	return res.Documents, nil
}

// retrieveOne runs ITI-43 for one document and hands its bytes to check.
func retrieveOne(ctx context.Context, c *xdsclient.Client, repositoryID, uid string, check func(io.Reader) error) error {
	res, err := c.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repositoryID, DocumentUniqueID: uid}})
	if err != nil {
		return err
	}
	defer res.Close()
	if res.Response.Errors.Failed() {
		return res.Response.Errors
	}
	d, body, err := res.Next()
	if err != nil {
		return fmt.Errorf("reading the document part: %w", err)
	}
	if d.DocumentUniqueID != uid {
		return fmt.Errorf("got document %s, asked for %s", d.DocumentUniqueID, uid)
	}
	if err := check(body); err != nil {
		return err
	}
	if _, _, err := res.Next(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the document: %v, want the end of the response", err)
	}
	return nil
}

// TestRolesApart runs the registry and the repository as two processes,
// each with its own data folder (embedded) or its own backend (production:
// the registry on PostgreSQL, the repository on S3), and takes a
// submission through them: ITI-41 to the repository, which registers it
// with the registry over ITI-42; ITI-18 to the registry; ITI-43 to the
// repository, which asks the registry where the document is.
func TestRolesApart(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("..", "..", "testdata", "integration", "epikrise.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{backendEmbedded, backendProduction} {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			regFlags := []string{"--dev", "--roles", "registry", "--data", t.TempDir(), "--demo-data=false", "--log-level", "warn"}
			repoData := t.TempDir()
			repoFlags := []string{"--dev", "--roles", "repository", "--data", repoData, "--sweep-interval=0", "--log-level", "warn"}
			var repoStore store = fsStore{dir: filepath.Join(repoData, "blobs")}
			if backend == backendProduction {
				regFlags = append(regFlags, "--postgres-url", testenv.Postgres(t))
				flags, st := s3Deployment(t)
				repoFlags = append(repoFlags, flags...)
				repoStore = st
			}
			reg := startPJD(t, "registry", regFlags...)
			repo := startPJD(t, "repository", append(repoFlags, "--registry-url", reg.URL+"/xds/registry")...)
			c := xdsClient(reg.URL, repo.URL, time.Minute)

			// Each process serves its own role only.
			for _, u := range []string{reg.URL + "/xds/repository", repo.URL + "/xds/registry"} {
				resp, err := http.Post(u, "application/soap+xml", strings.NewReader("<x/>"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("POST %s: %s, want 404 (role not served by that process)", u, resp.Status)
				}
			}

			// ITI-41 through the repository: the fixture epikrise and a
			// generated 3 MiB document in one submission.
			patient := registry.SamplePatientID(0)
			gen := synth.Doc{Seed: 41, Size: 3<<20 + 17}.WithHash()
			sub, docs := synth.Submission(uint64(time.Now().UnixNano()>>1), patient, synth.Doc{Size: int64(len(fixture))}, gen)
			sum := sha1.Sum(fixture)
			size := int64(len(fixture))
			sub.Documents[0].MimeType, sub.Documents[0].Title = "text/plain", "Epikrise (syntetisk)"
			sub.Documents[0].Hash, sub.Documents[0].Size = hex.EncodeToString(sum[:]), &size
			docs[0] = xdsclient.Document{ID: sub.Documents[0].ID, MimeType: "text/plain", Body: bytes.NewReader(fixture)}
			resp, err := c.Provide(ctx, sub, docs)
			if err != nil {
				t.Fatalf("ITI-41 to the repository: %v", err)
			}
			if resp.Status != registry.ResponseSuccess || resp.Errors.Failed() {
				t.Fatalf("ITI-41 to the repository: %s %v", resp.Status, resp.Errors)
			}

			// ITI-18 through the registry.
			found, err := findDocuments(ctx, c, patient)
			if err != nil {
				t.Fatalf("ITI-18 to the registry: %v", err)
			}
			byUID := map[string]*registry.DocumentEntry{}
			for _, e := range found {
				byUID[e.UniqueID] = e
			}
			if len(found) != 2 {
				t.Fatalf("the registry has %d documents for the patient, want 2", len(found))
			}
			for i, d := range sub.Documents {
				e := byUID[d.UniqueID]
				if e == nil {
					t.Fatalf("document %d (%s) not found in the registry", i+1, d.UniqueID)
				}
				if e.RepositoryUniqueID != devRepositoryID || e.Hash != d.Hash || e.Size == nil || *e.Size != *d.Size {
					t.Errorf("document %d registered as repository %s, hash %s, size %v; want %s, %s, %d",
						i+1, e.RepositoryUniqueID, e.Hash, e.Size, devRepositoryID, d.Hash, *d.Size)
				}
			}

			// ITI-43 through the repository, byte for byte.
			err = retrieveOne(ctx, c, devRepositoryID, sub.Documents[0].UniqueID, func(r io.Reader) error {
				got, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(got, fixture) {
					err = fmt.Errorf("got %d bytes that differ from the %d-byte fixture", len(got), len(fixture))
				}
				return err
			})
			if err != nil {
				t.Errorf("ITI-43 of the fixture: %v", err)
			}
			err = retrieveOne(ctx, c, devRepositoryID, sub.Documents[1].UniqueID, func(r io.Reader) error {
				_, err := gen.Verify(r)
				return err
			})
			if err != nil {
				t.Errorf("ITI-43 of the generated document: %v", err)
			}

			// The documents are in the repository's store, and nowhere else
			// than where the registry says.
			committed, orphans := classify(t, repoStore, found)
			if len(committed) != 2 || len(orphans) != 0 {
				t.Errorf("repository store: %d committed uploads, orphans %v; want 2 and none", len(committed), orphans)
			}
		})
	}
}

// memoryBudget is how much a server's resident set and Go heap may grow
// while a 1 GiB document streams through it.
const memoryBudget = 64 << 20

// TestGiBDocumentStreams takes a 1 GiB document through a pjd process,
// in with ITI-41 and out with ITI-43, on files and on S3, and checks that
// the process's memory does not grow with the document: streaming, not
// buffering. The document is generated while it is sent and compared byte
// for byte while it is read back; neither side ever holds it.
func TestGiBDocumentStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB round trips: skipped with -short")
	}
	for _, backend := range []string{backendEmbedded, backendProduction} {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			d := newDeployment(t, backend)
			p := startPJD(t, "pjd", d.with("--max-document-size", "1100MiB", "--max-request-size", "1200MiB")...)
			c := xdsClient(p.URL, p.URL, 10*time.Minute)
			patient := registry.SamplePatientID(1)
			seq := uint64(time.Now().UnixNano() >> 1)

			// Warm up both paths with a small document (and a multipart one
			// on S3), so the baseline includes pools and connections.
			for i, size := range []int64{64 << 10, 20 << 20} {
				warm := synth.Doc{Seed: uint64(i + 1), Size: size}.WithHash()
				sub, docs := synth.Submission(seq+uint64(i), patient, warm)
				if resp, err := c.Provide(ctx, sub, docs); err != nil || resp.Errors.Failed() {
					t.Fatalf("warm-up ITI-41: %v %v", err, resp.Errors)
				}
				if err := retrieveOne(ctx, c, devRepositoryID, sub.Documents[0].UniqueID, func(r io.Reader) error {
					_, err := warm.Verify(r)
					return err
				}); err != nil {
					t.Fatalf("warm-up ITI-43: %v", err)
				}
			}
			base, err := p.memory()
			if err != nil {
				t.Fatal(err)
			}

			big := synth.Doc{Seed: 1 << 30, Size: 1 << 30}.WithHash()
			sub, docs := synth.Submission(seq+10, patient, big)
			sampler := p.sampleMemory()
			start := time.Now()
			resp, err := c.Provide(ctx, sub, docs)
			if err != nil || resp.Status != registry.ResponseSuccess || resp.Errors.Failed() {
				sampler.stop()
				t.Fatalf("ITI-41 of 1 GiB: %v %s %v", err, resp.Status, resp.Errors)
			}
			upload := time.Since(start)
			entries, err := c.DocumentsByUniqueID(ctx, []string{sub.Documents[0].UniqueID})
			if err != nil || len(entries) != 1 {
				sampler.stop()
				t.Fatalf("ITI-18 GetDocuments: %v, %d entries", err, len(entries))
			}
			if e := entries[0]; e.Hash != big.Hash || e.Size == nil || *e.Size != big.Size {
				t.Errorf("registered hash %s size %v, want %s %d", e.Hash, e.Size, big.Hash, big.Size)
			}
			start = time.Now()
			err = retrieveOne(ctx, c, devRepositoryID, sub.Documents[0].UniqueID, func(r io.Reader) error {
				_, err := big.Verify(r)
				return err
			})
			download := time.Since(start)
			peak, samples, serr := sampler.stop()
			if err != nil {
				t.Fatalf("ITI-43 of 1 GiB: %v", err)
			}
			if serr != nil {
				t.Fatalf("sampling memory: %v", serr)
			}
			mib := func(n int64) float64 { return float64(n) / (1 << 20) }
			t.Logf("%s: 1 GiB in with ITI-41 in %v (%.0f MiB/s), out with ITI-43 in %v (%.0f MiB/s); "+
				"RSS %.1f → peak %.1f MiB (+%.1f), Go heap in use %.1f → peak %.1f MiB (+%.1f), %d samples",
				backend, upload.Round(time.Millisecond), 1024/upload.Seconds(), download.Round(time.Millisecond), 1024/download.Seconds(),
				mib(base.RSS), mib(peak.RSS), mib(peak.RSS-base.RSS), mib(base.Heap), mib(peak.Heap), mib(peak.Heap-base.Heap), samples)
			if g := peak.RSS - base.RSS; g > memoryBudget {
				t.Errorf("resident set grew by %.1f MiB while 1 GiB streamed, budget %.0f MiB", mib(g), mib(memoryBudget))
			}
			if g := peak.Heap - base.Heap; g > memoryBudget {
				t.Errorf("Go heap in use grew by %.1f MiB while 1 GiB streamed, budget %.0f MiB", mib(g), mib(memoryBudget))
			}
		})
	}
}

// TestOversizeDocumentRejected sends documents over the configured limits
// and expects a RegistryError saying so, no registry entry, and no blob or
// leftover in the store; a document exactly at the limit is accepted by
// the same server afterwards.
func TestOversizeDocumentRejected(t *testing.T) {
	const maxDoc = 1 << 20
	rows := []struct {
		name string
		docs []synth.Doc
		want string // in the codeContext
	}{
		{"declared size over the limit", []synth.Doc{synth.Doc{Seed: 1, Size: 2 << 20}.WithHash()}, "larger than the 1048576 bytes"},
		{"undeclared size, streamed past the limit", []synth.Doc{{Seed: 2, Size: 2 << 20}}, "larger than the 1048576 bytes"},
		{"one byte over the limit", []synth.Doc{{Seed: 3, Size: maxDoc + 1}}, "larger than the 1048576 bytes"},
		{"request over --max-request-size", []synth.Doc{{Seed: 4, Size: 700 << 10}, {Seed: 5, Size: 700 << 10}}, "request is larger than"},
	}
	for _, backend := range []string{backendEmbedded, backendProduction} {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			d := newDeployment(t, backend)
			p := startPJD(t, "pjd", d.with("--max-document-size", "1MiB", "--max-request-size", "1280KiB")...)
			c := xdsClient(p.URL, p.URL, time.Minute)
			patient := registry.SamplePatientID(2)
			seq := uint64(time.Now().UnixNano() >> 1)
			for i, row := range rows {
				t.Run(strings.ReplaceAll(row.name, " ", "_"), func(t *testing.T) {
					sub, docs := synth.Submission(seq+uint64(i), patient, row.docs...)
					resp, err := c.Provide(ctx, sub, docs)
					if err != nil {
						t.Fatalf("ITI-41: %v (want a RegistryResponse with a RegistryError)", err)
					}
					if resp.Status != registry.ResponseFailure || len(resp.Errors) == 0 {
						t.Fatalf("status %s, errors %v; want Failure with a RegistryError", resp.Status, resp.Errors)
					}
					e := resp.Errors[0]
					if e.Code != registry.ErrCodeRepositoryError || e.IsWarning() || !strings.Contains(e.Context, row.want) {
						t.Errorf("RegistryError %s %q (%s), want %s mentioning %q", e.Code, e.Context, e.Severity, registry.ErrCodeRepositoryError, row.want)
					}
					var uids []string
					for _, d := range sub.Documents {
						uids = append(uids, d.UniqueID)
					}
					if got, err := c.DocumentsByUniqueID(ctx, uids); err != nil || len(got) != 0 {
						t.Errorf("registry after the rejection: %d entries, %v; want none", len(got), err)
					}
					if objs := d.store.objects(t); len(objs) != 0 {
						t.Errorf("document store after the rejection holds %v, want nothing", objs)
					}
					if l := d.store.leftovers(t); len(l) != 0 {
						t.Errorf("document store after the rejection has leftovers %v", l)
					}
				})
			}
			at := synth.Doc{Seed: 9, Size: maxDoc}
			sub, docs := synth.Submission(seq+100, patient, at)
			resp, err := c.Provide(ctx, sub, docs)
			if err != nil || resp.Status != registry.ResponseSuccess {
				t.Fatalf("a document of exactly --max-document-size: %v %s %v, want Success", err, resp.Status, resp.Errors)
			}
			if err := retrieveOne(ctx, c, devRepositoryID, sub.Documents[0].UniqueID, func(r io.Reader) error {
				_, err := at.Verify(r)
				return err
			}); err != nil {
				t.Errorf("ITI-43 of the document at the limit: %v", err)
			}
		})
	}
}
