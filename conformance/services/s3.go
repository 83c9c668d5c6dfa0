package services

import (
	"bytes"
	"context"
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
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersitygwVersion is the S3 server version the tests are written against.
const VersitygwVersion = "v1.8.0"

// Bucket says how to reach one bucket on an S3 server. Endpoint is
// host:port (plain HTTP on loopback), as minio.New takes it.
type Bucket struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
}

// VersitygwBinary finds the versitygw executable: $PJD_VERSITYGW (when its
// file exists), then CacheDir()/bin/versitygw-VERSION (where make test
// builds it), then versitygw on PATH. When none is there, the error says
// where it looked and — when make test's set-up could not build it — why
// (the reason .ci/setup left in CacheDir()/bin/versitygw-VERSION.unavailable).
func VersitygwBinary() (string, error) {
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

// S3Server is a versitygw process with a posix backend in a temporary
// directory (one subdirectory per bucket), on a loopback port, with
// random root credentials.
type S3Server struct {
	Endpoint  string
	AccessKey string
	SecretKey string

	dir    string
	exited chan struct{}
	output *capBuffer
	stop   func()
	seq    atomic.Int64
}

// StartS3 starts a throwaway versitygw, stopped by its Stop. A free port
// can be taken between FreePort and the server's bind: it tries a few.
func StartS3(ctx context.Context) (*S3Server, error) {
	bin, err := VersitygwBinary()
	if err != nil {
		return nil, err
	}
	for range 3 {
		var s *S3Server
		if s, err = launchVersitygw(ctx, bin); err == nil {
			return s, nil
		}
	}
	return nil, err
}

func launchVersitygw(ctx context.Context, bin string) (*S3Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pjd-versitygw-")
	if err != nil {
		return nil, err
	}
	s := &S3Server{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(port),
		AccessKey: "pjdtest" + randomHex(6),
		SecretKey: randomHex(20),
		dir:       dir,
		exited:    make(chan struct{}),
		output:    &capBuffer{max: 8 << 10},
	}
	cmd := exec.Command(bin, "--port", s.Endpoint, "--quiet", "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout = s.output
	cmd.Stderr = s.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-s.exited
			}
			os.RemoveAll(dir)
		})
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := WaitTCP(wctx, s.Endpoint, s.exited); err != nil {
		s.stop()
		return nil, fmt.Errorf("versitygw did not start: %w; output: %s", err, s.output.String())
	}
	return s, nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
// directory: from now on its port refuses connections. It is safe to call
// more than once.
func (s *S3Server) Stop() { s.stop() }

// NewBucket creates a fresh, empty bucket named prefix-<n>-<random>.
func (s *S3Server) NewBucket(ctx context.Context, prefix string) (Bucket, error) {
	b := Bucket{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		Bucket: fmt.Sprintf("%s-%d-%s", prefix, s.seq.Add(1), randomHex(4))}
	cl, err := minio.New(b.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, "")})
	if err != nil {
		return Bucket{}, fmt.Errorf("S3 client: %w", err)
	}
	// The server may accept TCP a moment before it serves S3: retry
	// briefly, stopping at once if the process died.
	for attempt := 0; ; attempt++ {
		err = cl.MakeBucket(ctx, b.Bucket, minio.MakeBucketOptions{})
		if err == nil {
			return b, nil
		}
		select {
		case <-s.exited:
			return Bucket{}, fmt.Errorf("versitygw exited: %s", s.output.String())
		default:
		}
		if attempt >= 20 {
			return Bucket{}, fmt.Errorf("creating bucket %s: %w (versitygw: %s)", b.Bucket, err, s.output.String())
		}
		select {
		case <-ctx.Done():
			return Bucket{}, fmt.Errorf("creating bucket %s: %w (last: %v)", b.Bucket, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DropBucket removes a bucket's directory from the posix backend. The
// bucket must be its caller's alone; going around the S3 API avoids
// listing and deleting every object one by one.
func (s *S3Server) DropBucket(bucket string) {
	if bucket == "" || filepath.Base(bucket) != bucket {
		return
	}
	os.RemoveAll(filepath.Join(s.dir, bucket))
}
