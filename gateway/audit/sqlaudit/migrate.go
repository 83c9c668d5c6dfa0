package sqlaudit

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"pjd/gateway/audit"
)

//go:embed migrations
var migrationsFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns d's migrations in version order. File names are
// NNNN_name.sql; the embedded set is fixed at build time, so a malformed
// name is a programming error caught by the tests.
func migrations(d *dialect) ([]migration, error) {
	entries, err := fs.ReadDir(migrationsFS, d.migrations)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlaudit: bad migration file name %q", e.Name())
		}
		b, err := migrationsFS.ReadFile(path.Join(d.migrations, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlaudit: migrations must be numbered 1, 2, …; found %q at position %d", m.name, i+1)
		}
	}
	return ms, nil
}

func latestVersion(d *dialect) int {
	ms, err := migrations(d)
	if err != nil {
		return 0
	}
	return len(ms)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS audit_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_ms BIGINT  NOT NULL
)`

// SchemaVersion returns the newest applied audit migration (0 for none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	q := `SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations`
	var v int
	if err := s.w.QueryRowContext(ctx, q).Scan(&v); err != nil {
		// No table yet: nothing applied. Distinguish from a dead database
		// by pinging.
		if perr := s.Ping(ctx); perr != nil {
			return 0, perr
		}
		return 0, nil
	}
	return v, nil
}

// Migrate brings the audit tables to the newest schema: every migration
// newer than the database's, in order, in one transaction, each recorded
// in audit_schema_migrations. It is idempotent and safe to run from
// several processes at once; when there is nothing to do it only reads
// the version. A database newer than this program is
// refused with audit.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.d)
	if err != nil {
		return err
	}
	// Up to date: nothing to lock or create (an append-only role, which
	// may not create tables, gets here).
	switch v, err := s.SchemaVersion(ctx); {
	case err != nil:
		return err
	case v == len(ms):
		return nil
	case v > len(ms):
		return fmt.Errorf("%w: audit schema version %d, this program knows %d", audit.ErrSchemaTooNew, v, len(ms))
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("migrate", err)
	}
	defer tx.Rollback()
	if s.d.lockMigrate != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrate); err != nil {
			return s.wrap("migrate: lock", err)
		}
	}
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return s.wrap("migrate", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations`).Scan(&current); err != nil {
		return s.wrap("migrate", err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: audit schema version %d, this program knows %d", audit.ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return s.wrap("migrate: "+m.name, err)
		}
		ins := s.d.query()
		ins.WriteString(`INSERT INTO audit_schema_migrations (version, name, applied_ms) VALUES `)
		ins.values(m.version, m.name, time.Now().UnixMilli())
		if _, err := tx.ExecContext(ctx, ins.String(), ins.args...); err != nil {
			return s.wrap("migrate: "+m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("migrate: commit", err)
	}
	return nil
}
