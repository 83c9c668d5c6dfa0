package sqlaudit

import (
	"context"
	"embed"
	"io/fs"

	"pjd/registry/schema"
)

//go:embed migrations
var migrationsFS embed.FS

// Schema is the audit log's schema component for dialect d: its
// migrations (migrations/postgres, migrations/sqlite), and the
// bookkeeping table it kept before the one runner (registry/schema),
// audit_schema_migrations, which the runner adopts.
func Schema(d schema.Dialect) schema.Component {
	m, err := fs.Sub(migrationsFS, "migrations/"+d.String())
	if err != nil {
		panic(err) // the embedded directory is part of the program
	}
	return schema.Component{Name: "audit", Migrations: m, Legacy: &schema.Legacy{Table: "audit_schema_migrations"}}
}

// Migrate brings the audit tables to the newest schema through the one
// runner (registry/schema): idempotent, safe from several processes at
// once, refusing a newer schema (schema.ErrTooNew); on a current schema it
// only reads, so an append-only role may call it.
func (s *Store) Migrate(ctx context.Context) error {
	return schema.New(s.d.schema, s.w, Schema(s.d.schema)).Migrate(ctx)
}
