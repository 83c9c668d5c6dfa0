package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersitygwVersion is the S3 server version the tests are written against.
const VersitygwVersion = "v1.8.0"

// S3Info says how to reach one fresh, empty bucket on the test S3 server.
// Endpoint is host:port (plain HTTP on loopback), as minio.New takes it.
type S3Info struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
}

// S3 returns a fresh bucket on the shared test S3 server (versitygw with a
// posix backend in a temporary directory), starting the server on first
// use. The bucket and its objects are removed when tb ends. When the server
// cannot be had, tb ends through Unavailable.
func S3(tb testing.TB) S3Info {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := NewS3Bucket(ctx)
	if err != nil {
		Unavailable(tb, "S3 (versitygw "+VersitygwVersion+")", err)
		return S3Info{}
	}
	tb.Cleanup(func() { dropS3Bucket(info.Bucket) })
	return info
}

// NewS3Bucket is S3 for code that is not a test (pjd bench): it starts the
// server if needed and creates a fresh bucket, which lives until StopAll.
func NewS3Bucket(ctx context.Context) (S3Info, error) {
	srv, err := startS3(ctx)
	if err != nil {
		return S3Info{}, err
	}
	bucket := fmt.Sprintf("pjd-test-%d-%s", s3BucketSeq.Add(1), randomHex(4))
	info := S3Info{Endpoint: srv.endpoint, AccessKey: srv.accessKey, SecretKey: srv.secretKey, Bucket: bucket}
	cl, err := minio.New(info.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(info.AccessKey, info.SecretKey, "")})
	if err != nil {
		return S3Info{}, fmt.Errorf("S3 client: %w", err)
	}
	// The server may accept TCP a moment before it serves S3: retry
	// briefly, stopping at once if the process died.
	for attempt := 0; ; attempt++ {
		err = cl.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
		if err == nil {
			return info, nil
		}
		select {
		case <-srv.exited:
			return S3Info{}, fmt.Errorf("versitygw exited: %s", srv.stderr.String())
		default:
		}
		if attempt >= 20 {
			return S3Info{}, fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
		select {
		case <-ctx.Done():
			return S3Info{}, fmt.Errorf("creating bucket %s: %w (last: %v)", bucket, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// VersitygwBinary finds the versitygw executable: $PJD_VERSITYGW (when its
// file exists), then CacheDir()/bin/versitygw-VERSION (where make test
// builds it), then versitygw on PATH. When none is there, the error says
// where it looked and — when make test's set-up could not build it — why
// (the reason .ci/setup left in CacheDir()/bin/versitygw-VERSION.unavailable).
func VersitygwBinary() (string, error) {
	if err := Without("versitygw"); err != nil {
		return "", err
	}
	var looked []string
	if p := os.Getenv("PJD_VERSITYGW"); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		looked = append(looked, "$PJD_VERSITYGW="+p+" (missing)")
	}
	p := filepath.Join(CacheDir(), "bin", "versitygw-"+VersitygwVersion)
	if isExecutable(p) {
		return p, nil
	}
	looked = append(looked, p)
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	looked = append(looked, "PATH")
	msg := fmt.Sprintf("versitygw %s not found (looked at %s)", VersitygwVersion, strings.Join(looked, ", "))
	if why, err := os.ReadFile(p + ".unavailable"); err == nil && len(bytes.TrimSpace(why)) > 0 {
		msg += "; " + string(bytes.TrimSpace(why))
	} else {
		msg += "; make test builds it (or: make versitygw)"
	}
	return "", errors.New(msg)
}

type s3Server struct {
	endpoint  string
	accessKey string
	secretKey string
	dir       string // posix backend root: one directory per bucket
	exited    chan struct{}
	stderr    *capBuffer
	stop      func() // stops the server and removes its directory; safe to call again
}

var (
	s3Mu        sync.Mutex
	s3Srv       *s3Server
	s3Err       error
	s3BucketSeq atomic.Int64
)

// startS3 starts versitygw once per process; a failure is remembered so
// later callers fail at once with the same reason.
func startS3(ctx context.Context) (*s3Server, error) {
	s3Mu.Lock()
	defer s3Mu.Unlock()
	if s3Srv != nil || s3Err != nil {
		return s3Srv, s3Err
	}
	bin, err := VersitygwBinary()
	if err != nil {
		s3Err = err
		return nil, err
	}
	// A free port can be taken between FreePort and the server's bind:
	// try a few ports before giving up.
	for range 3 {
		s3Srv, err = launchVersitygw(ctx, bin)
		if err == nil {
			return s3Srv, nil
		}
	}
	s3Err = err
	return nil, err
}

func launchVersitygw(ctx context.Context, bin string) (*s3Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pjd-versitygw-")
	if err != nil {
		return nil, err
	}
	srv := &s3Server{
		endpoint:  "127.0.0.1:" + strconv.Itoa(port),
		accessKey: "pjdtest" + randomHex(6),
		secretKey: randomHex(20),
		dir:       dir,
		exited:    make(chan struct{}),
		stderr:    &capBuffer{max: 8 << 10},
	}
	cmd := exec.Command(bin, "--port", srv.endpoint, "--quiet", "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+srv.accessKey, "ROOT_SECRET_KEY="+srv.secretKey)
	cmd.Stdout = srv.stderr
	cmd.Stderr = srv.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	go func() {
		cmd.Wait()
		close(srv.exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-srv.exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-srv.exited
			}
			os.RemoveAll(dir)
		})
	}
	srv.stop = stop
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := WaitTCP(wctx, srv.endpoint, srv.exited); err != nil {
		stop()
		return nil, fmt.Errorf("versitygw did not start: %w; output: %s", err, srv.stderr.String())
	}
	OnExit(stop)
	return srv, nil
}

// dropS3Bucket removes a test bucket's directory from the posix backend.
// The bucket is the test's alone, so nothing else uses it any more; going
// around the S3 API avoids listing and deleting every object one by one.
func dropS3Bucket(bucket string) {
	s3Mu.Lock()
	srv := s3Srv
	s3Mu.Unlock()
	if srv == nil || bucket == "" || filepath.Base(bucket) != bucket {
		return
	}
	os.RemoveAll(filepath.Join(srv.dir, bucket))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// capBuffer keeps the first max bytes written to it (a child's output, for
// error messages) and discards the rest.
type capBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
