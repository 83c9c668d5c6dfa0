package testenv

import (
	"context"
	"testing"
	"time"

	"pjd/conformance/services"
)

// Outages: services a test owns alone, so it can take them away (and, for
// Redis, bring them back; see RedisServer.Restart) and see what pjd makes
// of it.

// S3Server is a versitygw of one test's own, with one bucket.
type S3Server struct {
	S3Info
	srv *services.S3Server
}

// StartS3 starts a private versitygw with a fresh bucket for tb alone; it
// is stopped at the end of the test, or earlier with Stop (an object
// storage outage). When it cannot be started, tb ends through Unavailable.
func StartS3(tb testing.TB) *S3Server {
	tb.Helper()
	srv, err := startS3()
	if err != nil {
		Unavailable(tb, "S3 (versitygw "+VersitygwVersion+")", err)
		return nil
	}
	tb.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := srv.NewBucket(ctx, "pjd-outage")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return &S3Server{S3Info: b, srv: srv}
}

// Stop stops the server: from now on its port refuses connections.
func (s *S3Server) Stop() { s.srv.Stop() }

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
