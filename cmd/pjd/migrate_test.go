package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/testenv"
	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/blocks"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/registry/postgres"
	"pjd/registry/schema"
	"pjd/registry/sqlite"
	"pjd/trust/policy"
)

// legacyBackend builds the database the pjd of commit 5bb05c4 left, from
// its checked-in snapshot (testdata/legacy-schema/<name>.dump), and returns
// pjd migrate's flags for it and its address.
type legacyBackend struct {
	name    string
	dialect schema.Dialect
	build   func(t *testing.T, snapshot string) (flags []string, addr databaseAddr)
}

var legacyBackends = []legacyBackend{
	{"sqlite", schema.SQLite, func(t *testing.T, snapshot string) ([]string, databaseAddr) {
		dir := t.TempDir()
		path := filepath.Join(dir, "registry.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(snapshot); err != nil {
			t.Fatalf("applying the snapshot: %v", err)
		}
		return []string{"--data", dir}, databaseAddr{sqlitePath: path}
	}},
	{"postgres", schema.Postgres, func(t *testing.T, snapshot string) ([]string, databaseAddr) {
		url := testenv.Postgres(t)
		ctx := context.Background()
		// One connection of its own: pg_dump's output sets search_path for
		// the session.
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, snapshot); err != nil {
			t.Fatalf("applying the snapshot: %v", err)
		}
		return []string{"--postgres-url", url}, databaseAddr{postgresURL: url}
	}},
}

// TestMigrateLegacyDatabase is issue 11's "existing databases migrate
// forward": a database made before the one migration runner — the
// registry's schema_migrations, the audit log's audit_schema_migrations,
// a blocks table without bookkeeping, and data in each — is adopted by pjd
// migrate on both backends (the old bookkeeping moved into pjd_migrations
// and dropped), after which serve's start-up check finds nothing to do and
// every store reads what the database held and writes on: the
// registrations, the audit chain (verified with its key, then extended),
// the block.
func TestMigrateLegacyDatabase(t *testing.T) {
	for _, b := range legacyBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			snapshot, err := os.ReadFile(filepath.Join("testdata", "legacy-schema", b.name+".dump"))
			if err != nil {
				t.Fatal(err)
			}
			flags, addr := b.build(t, string(snapshot))

			latest := func(c schema.Component) int {
				ms, err := schema.Read(c.Migrations)
				if err != nil {
					t.Fatal(err)
				}
				return len(ms)
			}
			want := fmt.Sprintf("registry schema at version %d\naudit schema at version %d\nblocks schema at version %d\n",
				latest(registryComponent(b.dialect)), latest(sqlaudit.Schema(b.dialect)), latest(blocks.Schema(b.dialect)))
			for round := 1; round <= 2; round++ {
				code, stdout, stderr := pjdRun(t, append([]string{"migrate"}, flags...)...)
				if code != 0 || stdout != want {
					t.Fatalf("pjd migrate #%d: exit %d\n%s%s\nwant:\n%s", round, code, stdout, stderr, want)
				}
			}

			db, err := openDatabase(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer db.close()
			for _, table := range []string{"schema_migrations", "audit_schema_migrations"} {
				if legacyTableExists(t, db, table) {
					t.Errorf("%s is still there after the adoption", table)
				}
			}
			if err := db.ensureSchema(ctx); err != nil {
				t.Fatalf("serve's start-up check: %v", err)
			}

			// The registry: what was registered, and a new registration.
			reg, err := registry.New(registry.Config{Store: db.registry(), Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
			if err != nil {
				t.Fatal(err)
			}
			patient := registry.NewPatientCX(registry.SyntheticFnr(4242), oid.FNR).String()
			docs, err := reg.Reader().Documents(ctx, registry.DocumentFilter{PatientID: patient})
			if err != nil || len(docs) != 2 {
				t.Fatalf("the legacy registrations: %d documents, %v; want 2", len(docs), err)
			}
			if _, err := reg.Register(ctx, registry.SampleSubmission(registry.SampleOptions{Patient: patient, Seq: 4243})); err != nil {
				t.Fatalf("registering after the migration: %v", err)
			}
			if docs, _ := reg.Reader().Documents(ctx, registry.DocumentFilter{PatientID: patient}); len(docs) != 3 {
				t.Errorf("after a new registration: %d documents, want 3", len(docs))
			}

			// The audit log: the legacy chain verifies, and goes on.
			as := db.audit()
			key := audittest.Key(t)
			rep, err := audit.Verify(ctx, as, key)
			if err != nil || !rep.OK() || rep.Records != 3 {
				t.Fatalf("the legacy audit chain: %v, %v; want 3 verified records", rep, err)
			}
			audittest.Append(t, as, key, audittest.SimpleRecord(4, audittest.PatientB))
			if rep, err := audit.Verify(ctx, as, key); err != nil || !rep.OK() || rep.Records != 4 {
				t.Fatalf("the audit chain after an append: %v, %v", rep, err)
			}

			// The blocks: the legacy block, and a new one.
			bs := db.blocks()
			got, err := bs.Blocks(ctx, registry.SyntheticFnr(4242))
			if err != nil || len(got) != 1 || got[0].ID != "legacy-block-1" || got[0].OrgNr != "910000012" ||
				!got[0].ValidFrom.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("the legacy block: %+v, %v", got, err)
			}
			if _, err := bs.Add(ctx, policy.Block{PatientID: registry.SyntheticFnr(4242), HPRNumber: "565500013"}); err != nil {
				t.Fatalf("adding a block after the migration: %v", err)
			}
		})
	}
}

func legacyTableExists(t *testing.T, db *database, table string) bool {
	t.Helper()
	var n int
	var err error
	if db.pool != nil {
		err = db.pool.QueryRow(context.Background(), "SELECT COUNT(*) FROM pg_class WHERE relname = $1", table).Scan(&n)
	} else {
		err = db.lite.Writer().QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// registryComponent is the registry's schema component for d.
func registryComponent(d schema.Dialect) schema.Component {
	if d == schema.Postgres {
		return postgres.Schema()
	}
	return sqlite.Schema()
}
