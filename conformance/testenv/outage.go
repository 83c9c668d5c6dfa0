package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Outages: services a test owns alone, so it can take them away (and, for
// Redis, bring them back) and see what pjd makes of it.

// S3Server is a versitygw of one test's own, with one bucket.
type S3Server struct {
	S3Info
	srv *s3Server
}

// StartS3 starts a private versitygw with a fresh bucket for tb alone; it
// is stopped at the end of the test, or earlier with Stop (an object
// storage outage). When it cannot be started, tb ends through Unavailable.
func StartS3(tb testing.TB) *S3Server {
	tb.Helper()
	bin, err := VersitygwBinary()
	if err != nil {
		Unavailable(tb, "S3 (versitygw "+VersitygwVersion+")", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var srv *s3Server
	for range 3 {
		if srv, err = launchVersitygw(ctx, bin); err == nil {
			break
		}
	}
	if err != nil {
		Unavailable(tb, "S3 (versitygw "+VersitygwVersion+")", err)
		return nil
	}
	tb.Cleanup(srv.stop)
	s := &S3Server{S3Info: S3Info{Endpoint: srv.endpoint, AccessKey: srv.accessKey, SecretKey: srv.secretKey,
		Bucket: fmt.Sprintf("pjd-outage-%s", randomHex(4))}, srv: srv}
	cl, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		tb.Fatalf("testenv: S3 client: %v", err)
	}
	for attempt := 0; ; attempt++ {
		if err = cl.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err == nil {
			return s
		}
		if attempt >= 20 {
			tb.Fatalf("testenv: creating bucket %s: %v (versitygw: %s)", s.Bucket, err, srv.stderr.String())
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("testenv: creating bucket %s: %v", s.Bucket, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the server: from now on its port refuses connections.
func (s *S3Server) Stop() { s.srv.stop() }

// StartPostgresDB starts a private PostgreSQL server for tb alone and
// returns it with the URL of a fresh database on it; the server is stopped
// at the end of the test, or earlier with its Stop (a database outage).
// When PostgreSQL cannot be started, tb ends through Unavailable.
func StartPostgresDB(tb testing.TB) (*PostgresServer, string) {
	tb.Helper()
	srv, err := StartPostgres()
	if err != nil {
		Unavailable(tb, "PostgreSQL", err)
		return nil, ""
	}
	tb.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := srv.CreateDatabase(ctx, "pjd_outage")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return srv, url
}

// Restart stops the private redis-server (SIGTERM; it keeps no data: no
// RDB, no AOF) and starts it again on the same port, empty, with a new
// run_id — what a Redis restart without persistence looks like to its
// clients. Only for servers from StartRedis.
func (s *RedisServer) Restart(tb testing.TB) {
	tb.Helper()
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.kill()
	}
	var out bytes.Buffer
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: restarting redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := WaitTCP(ctx, s.Addr, exited); err != nil {
		tb.Fatalf("testenv: redis-server did not come back: %v; output: %s", err, out.String())
	}
	if err := pingRedis(s.Addr); err != nil {
		tb.Fatalf("testenv: redis-server did not come back: %v; output: %s", err, out.String())
	}
}
