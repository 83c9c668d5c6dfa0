package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"pjd/conformance/testenv"
)

// TestSchemaStatusReadsOnly: SchemaStatus tells a role without DDL rights
// (pjd serve's service role) whether the schema is current, creating
// nothing; it refuses a database migrated by a newer or different program.
func TestSchemaStatusReadsOnly(t *testing.T) {
	ctx := context.Background()
	superURL := testenv.Postgres(t)
	u, err := url.Parse(superURL)
	if err != nil {
		t.Fatal(err)
	}
	role := strings.TrimPrefix(u.Path, "/") + "_reader"
	exec := func(dsn, q string) {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(superURL, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN")
	exec(superURL, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
	u.User = url.User(role)
	reader, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	owner, err := Open(ctx, superURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()

	cur, latest, err := reader.SchemaStatus(ctx)
	if err != nil || cur != 0 || latest < 1 {
		t.Fatalf("an empty database: %d of %d, %v", cur, latest, err)
	}
	var exists bool
	if err := owner.Pool().QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("SchemaStatus created schema_migrations (%v)", err)
	}
	if err := reader.Migrate(ctx); err == nil {
		t.Fatal("a role without CREATE migrated")
	}
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exec(superURL, "GRANT SELECT ON schema_migrations TO "+pgx.Identifier{role}.Sanitize())
	if cur, latest2, err := reader.SchemaStatus(ctx); err != nil || cur != latest || latest2 != latest {
		t.Fatalf("a migrated database: %d of %d, %v", cur, latest2, err)
	}
	exec(superURL, "UPDATE schema_migrations SET checksum = 'other' WHERE version = 1")
	if _, _, err := reader.SchemaStatus(ctx); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("a different migration: %v, want ErrSchemaMismatch", err)
	}
	exec(superURL, "DELETE FROM schema_migrations")
	exec(superURL, "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, '9999_future.sql', 'x')")
	if _, _, err := reader.SchemaStatus(ctx); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("a newer database: %v, want ErrSchemaTooNew", err)
	}
}
