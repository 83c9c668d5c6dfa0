package testenv

// Internal tests (package testenv) so the shared server can be reached
// directly; the binary's TestMain (s3_test.go) stops it. The template
// cache is tested in conformance/services.

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func TestPostgresFreshDatabases(t *testing.T) {
	ctx := context.Background()
	u1 := Postgres(t)
	u2 := Postgres(t)
	if u1 == u2 {
		t.Fatalf("two calls returned the same database %s", u1)
	}
	p, _ := url.Parse(u1)
	if h := p.Hostname(); h != "127.0.0.1" {
		t.Errorf("server listens on %s, want loopback", h)
	}
	c1, c2 := connect(t, u1), connect(t, u2)
	if _, err := c1.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d tables, want an empty database", n)
	}
	var version, enc, fsync string
	if err := c1.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_encoding'), current_setting('fsync')").Scan(&version, &enc, &fsync); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "15") || enc != "UTF8" || fsync != "off" {
		t.Errorf("server %s, encoding %s, fsync %s; want 15.x, UTF8, off", version, enc, fsync)
	}
}

func TestPostgresDropsDatabaseAtCleanup(t *testing.T) {
	srv, err := sharedPostgres()
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	var name string
	t.Run("user", func(t *testing.T) {
		name = dbName(t, Postgres(t))
	})
	if name == "" {
		t.Fatal("no database created")
	}
	var exists bool
	c := connect(t, srv.URL("postgres"))
	if err := c.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}
