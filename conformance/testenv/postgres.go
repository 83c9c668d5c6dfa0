package testenv

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"pjd/conformance/services"
)

// PostgreSQL for tests: one throwaway server per test binary
// (services.StartPostgres), a fresh database per call.

// PostgresServer is a postgres process on a loopback port.
type PostgresServer = services.PostgresServer

var (
	pgShared shared[PostgresServer]
	pgSeq    atomic.Int64
)

// Postgres returns the URL of a new, empty database on the PostgreSQL
// server shared by this test binary (started on first use, stopped by
// Main). The database is dropped when the test ends. When PostgreSQL
// cannot be started the test is skipped, or fails when services are
// Required.
func Postgres(tb testing.TB) string {
	tb.Helper()
	srv, err := sharedPostgres()
	if err != nil {
		Unavailable(tb, "PostgreSQL", err)
		return ""
	}
	name := fmt.Sprintf("pjdtest_%d_%d", os.Getpid(), pgSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := srv.CreateDatabase(ctx, name)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.DropDatabase(ctx, name); err != nil {
			tb.Logf("testenv: %v", err)
		}
	})
	return url
}

func sharedPostgres() (*PostgresServer, error) {
	return pgShared.get(StartPostgres, (*PostgresServer).Stop)
}

// StartPostgres starts a server of the caller's own, which it stops
// (Stop); tests use Postgres, or StartPostgresDB for an outage. It honours
// PJD_TEST_WITHOUT (see Without).
func StartPostgres() (*PostgresServer, error) {
	if err := Without("postgres"); err != nil {
		return nil, err
	}
	return services.StartPostgres()
}
