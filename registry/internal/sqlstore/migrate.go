package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

// Migration is one schema version.
type Migration struct {
	Version  int
	Name     string // file name
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Migrations reads the dialect's migration files: NNNN_name.sql, numbered
// from 0001 without gaps or duplicates. Other files are an error too, so a
// misnamed migration is never silently skipped.
func Migrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations are not numbered 0001…%04d without gaps: found %s at position %d", len(ms), m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	return ms, nil
}

// Migrate brings the schema to the newest version this program knows:
// each pending version is applied in its own transaction and recorded in
// schema_migrations. It is idempotent, safe to run from several processes
// at once (Dialect.MigrationLock), refuses a database migrated by a newer
// program (ErrSchemaTooNew), and refuses one whose applied migrations
// differ from this program's (ErrSchemaMismatch).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations(s.d.Migrations)
	if err != nil {
		return fmt.Errorf("%s: %w", s.d.Name, err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m, len(ms), ms); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration version (0 for an
// empty database). It only reads.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := s.readApplied(ctx)
	if err != nil {
		return 0, err
	}
	v := 0
	for k := range applied {
		v = max(v, k)
	}
	return v, nil
}

// SchemaStatus returns the applied schema version and the newest this
// program knows, changing nothing: a role without DDL rights (pjd serve's
// service role) learns whether the schema is current and need not
// migrate. A database newer than this program is ErrSchemaTooNew, one
// whose applied migrations differ from this program's ErrSchemaMismatch.
func (s *Store) SchemaStatus(ctx context.Context) (current, latest int, err error) {
	ms, err := Migrations(s.d.Migrations)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", s.d.Name, err)
	}
	applied, err := s.readApplied(ctx)
	if err != nil {
		return 0, 0, err
	}
	for v, sum := range applied {
		switch {
		case v > len(ms):
			return 0, 0, fmt.Errorf("%s: %w: database is at schema version %d, this program knows versions up to %d; upgrade pjd",
				s.d.Name, ErrSchemaTooNew, v, len(ms))
		case v < 1 || ms[v-1].Checksum != sum:
			return 0, 0, fmt.Errorf("%s: %w: schema version %d was applied with checksum %s, this program has another", s.d.Name, ErrSchemaMismatch, v, sum)
		}
		current = max(current, v)
	}
	return current, len(ms), nil
}

// readApplied reads schema_migrations (nothing when it does not exist)
// without creating it.
func (s *Store) readApplied(ctx context.Context) (map[int]string, error) {
	if s.d.HasMigrationsTable != "" {
		var exists bool
		if err := s.db.QueryRowContext(ctx, s.d.HasMigrationsTable).Scan(&exists); err != nil {
			return nil, s.wrap(ctx, "look for schema_migrations", err)
		}
		if !exists {
			return map[int]string{}, nil
		}
		return s.appliedRows(ctx, s.db)
	}
	return s.applied(ctx, s.db)
}

func (s *Store) applied(ctx context.Context, q queryer) (map[int]string, error) {
	if _, err := q.ExecContext(ctx, s.d.MigrationsTable); err != nil {
		return nil, s.wrap(ctx, "create schema_migrations", err)
	}
	return s.appliedRows(ctx, q)
}

func (s *Store) appliedRows(ctx context.Context, q queryer) (map[int]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT version, checksum FROM schema_migrations")
	if err != nil {
		return nil, s.wrap(ctx, "read schema_migrations", err)
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, s.wrap(ctx, "read schema_migrations", err)
		}
		applied[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, "read schema_migrations", err)
	}
	return applied, nil
}

func (s *Store) apply(ctx context.Context, m Migration, known int, all []Migration) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(ctx, "begin migration", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the migration's error is the one that matters
		}
	}()
	if s.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
			return s.wrap(ctx, "lock migrations", err)
		}
	}
	applied, err := s.applied(ctx, tx)
	if err != nil {
		return err
	}
	for v := range applied {
		if v > known {
			return fmt.Errorf("%s: %w: database is at schema version %d, this program knows versions up to %d; upgrade pjd",
				s.d.Name, ErrSchemaTooNew, v, known)
		}
		if v < 1 {
			return fmt.Errorf("%s: %w: schema_migrations records version %d", s.d.Name, ErrSchemaMismatch, v)
		}
		if sum := all[v-1].Checksum; applied[v] != sum {
			return fmt.Errorf("%s: %w: version %d (%s) was applied with checksum %s, this program has %s",
				s.d.Name, ErrSchemaMismatch, v, all[v-1].Name, applied[v], sum)
		}
	}
	if _, ok := applied[m.Version]; ok {
		return tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return s.wrap(ctx, "apply migration "+m.Name, err)
	}
	b := &builder{d: s.d}
	ins := "INSERT INTO schema_migrations (version, name, checksum) VALUES (" + b.arg(m.Version) + ", " + b.arg(m.Name) + ", " + b.arg(m.Checksum) + ")"
	if _, err := tx.ExecContext(ctx, ins, b.args...); err != nil {
		return s.wrap(ctx, "record migration "+m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(ctx, "commit migration "+m.Name, err)
	}
	return nil
}
