package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/conformance/testenv"
	"pjd/registry/postgres"
	"pjd/registry/schema"
	"pjd/registry/sqlite"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// backend opens a fresh, empty database of one kind: the handle a Migrator
// runs on, and a function that opens another handle on the same database
// (another process, or another role on PostgreSQL).
type backend struct {
	d    schema.Dialect
	open func(t *testing.T) (db *sql.DB, again func(t *testing.T) *sql.DB)
}

var backends = []backend{
	{schema.SQLite, func(t *testing.T) (*sql.DB, func(t *testing.T) *sql.DB) {
		path := filepath.Join(t.TempDir(), "pjd.db")
		open := func(t *testing.T) *sql.DB {
			db, err := sqlite.OpenDB(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db.Writer()
		}
		return open(t), open
	}},
	{schema.Postgres, func(t *testing.T) (*sql.DB, func(t *testing.T) *sql.DB) {
		url := testenv.Postgres(t)
		open := func(t *testing.T) *sql.DB {
			pool, err := postgres.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return stdlib.OpenDBFromPool(pool)
		}
		return open(t), open
	}},
}

func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.d.String(), func(t *testing.T) { fn(t, b) })
	}
}

// Two components whose second migration of "b" reads a column that the
// second migration of "a" adds: the runner applies components in the
// order given.
func components() []schema.Component {
	return []schema.Component{
		{Name: "a", Migrations: fstest.MapFS{
			"0001_init.sql": {Data: []byte("CREATE TABLE a_items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")},
			"0002_more.sql": {Data: []byte("ALTER TABLE a_items ADD COLUMN w TEXT")},
		}},
		{Name: "b", Migrations: fstest.MapFS{
			"0001_init.sql":  {Data: []byte("CREATE TABLE b_items (id INTEGER PRIMARY KEY)")},
			"0002_links.sql": {Data: []byte("CREATE TABLE b_links AS SELECT id, w FROM a_items")},
		}},
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func exec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func wantStatus(t *testing.T, m *schema.Migrator, want string) {
	t.Helper()
	sts, err := m.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if got := schema.Describe(sts); got != want {
		t.Fatalf("Status: %s, want %s", got, want)
	}
}

// TestMigrate: several migrators starting at once apply every version
// once, in component order; Status reads the result; a second run changes
// nothing.
func TestMigrate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db, again := b.open(t)
		m := schema.New(b.d, db, components()...)
		wantStatus(t, m, "a at version 0 of 2, b at version 0 of 2")
		if n := count(t, db, tableExists(b.d, schema.Table)); n != 0 {
			t.Fatal("Status created the bookkeeping table")
		}
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			other := schema.New(b.d, again(t), components()...)
			wg.Go(func() { errs[i] = other.Migrate(ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
		wantStatus(t, m, "a at version 2 of 2, b at version 2 of 2")
		if got := count(t, db, "SELECT COUNT(*) FROM pjd_migrations"); got != 4 {
			t.Fatalf("pjd_migrations has %d rows, want 4", got)
		}
		exec(t, db, "INSERT INTO a_items (id, v, w) VALUES (1, 'x', 'y')")
		if err := m.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if got := count(t, db, "SELECT COUNT(*) FROM a_items"); got != 1 {
			t.Fatalf("data after the second Migrate: %d rows", got)
		}
	})
}

// TestRefusals: a database migrated further than this program knows, or
// with an applied migration that differs from this program's, is refused
// by Status and by Migrate, which then changes nothing.
func TestRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, c := range []struct {
			name   string
			change string
			want   error
		}{
			{"newer", "INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('b', 3, '0003_future.sql', 'x')", schema.ErrTooNew},
			{"newer than the program's newer", "INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('a', 4, '0004_future.sql', 'x')", schema.ErrTooNew},
			{"edited", "UPDATE pjd_migrations SET checksum = 'edited' WHERE component = 'a' AND version = 1", schema.ErrMismatch},
			{"version zero", "INSERT INTO pjd_migrations (component, version, name, checksum) VALUES ('a', 0, 'x.sql', 'x')", schema.ErrMismatch},
		} {
			t.Run(c.name, func(t *testing.T) {
				db, _ := b.open(t)
				if err := schema.New(b.d, db, components()...).Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				exec(t, db, c.change)
				// A program with one more migration for "a".
				comps := components()
				comps[0].Migrations.(fstest.MapFS)["0003_later.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE a_later (id INTEGER)")}
				m := schema.New(b.d, db, comps...)
				if _, err := m.Status(ctx); !errors.Is(err, c.want) {
					t.Errorf("Status: %v, want %v", err, c.want)
				}
				if err := m.Migrate(ctx); !errors.Is(err, c.want) {
					t.Errorf("Migrate: %v, want %v", err, c.want)
				}
				if got := count(t, db, tableExists(b.d, "a_later")); got != 0 {
					t.Error("a refused Migrate applied a migration")
				}
			})
		}
	})
}

// TestAdoptLegacy: a database whose components kept their own bookkeeping
// (as the registry and the audit log did before the one runner) is
// adopted: the legacy rows become pjd_migrations rows, the legacy tables
// are dropped, and only what was not applied runs. A legacy table naming
// another migration, or a newer one, is refused and nothing changes.
func TestAdoptLegacy(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		comps := components()
		comps[0].Legacy = &schema.Legacy{Table: "a_versions", Checksums: true}
		comps[1].Legacy = &schema.Legacy{Table: "b_versions"}
		a1, err := schema.Read(comps[0].Migrations)
		if err != nil {
			t.Fatal(err)
		}
		legacy := func(t *testing.T, db *sql.DB, bRows string) {
			exec(t, db, string(comps[0].Migrations.(fstest.MapFS)["0001_init.sql"].Data))
			exec(t, db, string(comps[0].Migrations.(fstest.MapFS)["0002_more.sql"].Data))
			exec(t, db, string(comps[1].Migrations.(fstest.MapFS)["0001_init.sql"].Data))
			exec(t, db, "CREATE TABLE a_versions (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL)")
			exec(t, db, fmt.Sprintf("INSERT INTO a_versions VALUES (1, '0001_init.sql', '%s'), (2, '0002_more.sql', '%s')", a1[0].Checksum, a1[1].Checksum))
			exec(t, db, "CREATE TABLE b_versions (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)")
			exec(t, db, "INSERT INTO b_versions VALUES "+bRows)
		}
		t.Run("adopted", func(t *testing.T) {
			db, _ := b.open(t)
			legacy(t, db, "(1, '0001_init.sql', 0)")
			m := schema.New(b.d, db, comps...)
			wantStatus(t, m, "a at version 0 of 2, b at version 0 of 2")
			if err := m.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, m, "a at version 2 of 2, b at version 2 of 2")
			for _, table := range []string{"a_versions", "b_versions"} {
				if count(t, db, tableExists(b.d, table)) != 0 {
					t.Errorf("%s was not dropped", table)
				}
			}
			if count(t, db, tableExists(b.d, "b_links")) != 1 {
				t.Error("b 0002 (not in the legacy table) was not applied")
			}
		})
		for _, c := range []struct {
			name, rows string
			want       error
		}{
			{"another name", "(1, '0001_other.sql', 0)", schema.ErrMismatch},
			{"newer", "(1, '0001_init.sql', 0), (2, '0002_links.sql', 0), (3, '0003_future.sql', 0)", schema.ErrTooNew},
		} {
			t.Run(c.name, func(t *testing.T) {
				db, _ := b.open(t)
				legacy(t, db, c.rows)
				if err := schema.New(b.d, db, comps...).Migrate(ctx); !errors.Is(err, c.want) {
					t.Fatalf("Migrate: %v, want %v", err, c.want)
				}
				if count(t, db, tableExists(b.d, "a_versions")) != 1 || count(t, db, tableExists(b.d, schema.Table)) != 0 {
					t.Error("a refused adoption changed the database")
				}
			})
		}
	})
}

// TestStatusNeedsNoDDL: a PostgreSQL role without DDL rights (pjd serve's
// service role) reads the schema's status, creating nothing; it cannot
// migrate, and learns of a newer or different schema the same way.
func TestStatusNeedsNoDDL(t *testing.T) {
	ctx := context.Background()
	superURL := testenv.Postgres(t)
	u, err := url.Parse(superURL)
	if err != nil {
		t.Fatal(err)
	}
	role := strings.TrimPrefix(u.Path, "/") + "_reader"
	owner := stdlib.OpenDB(*mustConfig(t, superURL))
	defer owner.Close()
	exec(t, owner, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN")
	exec(t, owner, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
	u.User = url.User(role)
	reader := stdlib.OpenDB(*mustConfig(t, u.String()))
	defer reader.Close()

	asReader := schema.New(schema.Postgres, reader, components()...)
	wantStatus(t, asReader, "a at version 0 of 2, b at version 0 of 2")
	if count(t, owner, tableExists(schema.Postgres, schema.Table)) != 0 {
		t.Fatal("Status created the bookkeeping table")
	}
	if err := asReader.Migrate(ctx); err == nil {
		t.Fatal("a role without CREATE migrated")
	}
	if err := schema.New(schema.Postgres, owner, components()...).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, owner, "GRANT SELECT ON pjd_migrations TO "+pgx.Identifier{role}.Sanitize())
	wantStatus(t, asReader, "a at version 2 of 2, b at version 2 of 2")
	if err := asReader.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on a current schema as the reader: %v", err)
	}
	exec(t, owner, "UPDATE pjd_migrations SET checksum = 'other' WHERE component = 'b' AND version = 1")
	if _, err := asReader.Status(ctx); !errors.Is(err, schema.ErrMismatch) {
		t.Fatalf("a different migration: %v, want ErrMismatch", err)
	}
}

func mustConfig(t *testing.T, url string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tableExists is a query counting the tables (or views) named table.
func tableExists(d schema.Dialect, table string) string {
	if d == schema.Postgres {
		return "SELECT COUNT(*) FROM pg_class WHERE relname = '" + table + "'"
	}
	return "SELECT COUNT(*) FROM sqlite_master WHERE name = '" + table + "'"
}
