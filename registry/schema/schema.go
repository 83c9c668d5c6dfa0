package schema

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Errors of the runner; test with errors.Is.
var (
	// ErrTooNew: the database was migrated by a newer pjd than this one.
	ErrTooNew = errors.New("database schema is newer than this program")
	// ErrMismatch: a migration recorded as applied differs from the one
	// this program carries (an applied migration file was edited, or a
	// legacy table names another migration).
	ErrMismatch = errors.New("applied migration differs from this program's")
	// ErrInvalid: a component's migrations are unusable (misnamed,
	// numbered with gaps, none at all): a programming error.
	ErrInvalid = errors.New("invalid migrations")
)

// Dialect is the SQL database a Migrator runs on.
type Dialect int

const (
	// Postgres: PostgreSQL through pgx's database/sql driver.
	Postgres Dialect = iota + 1
	// SQLite: modernc.org/sqlite; the handle must be the writer
	// connection that begins transactions with BEGIN IMMEDIATE
	// (registry/sqlite.DB.Writer), which serialises migrators.
	SQLite
)

// String names the dialect: "postgres" or "sqlite" (the migrations
// directory of a component that keeps both).
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// Component is one owner of tables and of the migrations that make them.
type Component struct {
	// Name keys the component's rows in pjd_migrations ("registry",
	// "audit", "blocks"); it never changes.
	Name string
	// Migrations holds the versions as NNNN_name.sql files at its root,
	// numbered from 0001 without gaps, for the Migrator's dialect.
	Migrations fs.FS
	// Legacy, when set, is the bookkeeping table the component kept before
	// pjd_migrations existed; Migrate adopts and drops it.
	Legacy *Legacy
}

// Legacy describes a component's old bookkeeping table: one row per
// applied version, with columns version and name, and checksum (the hex
// SHA-256 of the file) when Checksums is set.
type Legacy struct {
	Table     string
	Checksums bool
}

// Migration is one schema version of a component.
type Migration struct {
	Version  int
	Name     string // file name
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Read reads a component's migration files: NNNN_name.sql, numbered from
// 0001 without gaps or duplicates. Any other file is an error too, so a
// misnamed migration is never silently skipped.
func Read(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: reading migrations: %v", ErrInvalid, err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("%w: migration file %q is not named NNNN_name.sql", ErrInvalid, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("%w: reading migration %s: %v", ErrInvalid, e.Name(), err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("%w: migrations are not numbered 0001…%04d without gaps: found %s at position %d", ErrInvalid, len(ms), m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: no migrations", ErrInvalid)
	}
	return ms, nil
}

// Status is where one component's schema stands.
type Status struct {
	Component string
	Current   int // highest applied version (0: none)
	Latest    int // newest version this program knows
}

// Behind reports whether some component's schema is older than this
// program.
func Behind(sts []Status) bool {
	for _, s := range sts {
		if s.Current < s.Latest {
			return true
		}
	}
	return false
}

// Migrator applies the migrations of its components to one database.
type Migrator struct {
	d     Dialect
	db    *sql.DB
	comps []Component
}

// New returns a Migrator for the database behind db (see Dialect for which
// handle), applying comps in the order given.
func New(d Dialect, db *sql.DB, comps ...Component) *Migrator {
	return &Migrator{d: d, db: db, comps: comps}
}

// Table is the bookkeeping table: one row per applied version of each
// component.
const Table = "pjd_migrations"

// migrationLock names the runner's advisory lock in pg_locks (an
// arbitrary constant, used only here; the registry's migrations took the
// same lock before the runner served every component).
const migrationLock = 7220150001

// Status returns each component's applied and newest versions, changing
// nothing: it needs no privilege beyond reading pjd_migrations (and the
// catalogue). A component applied further than this program knows is
// ErrTooNew, one whose applied migrations differ from this program's
// ErrMismatch.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	plans, err := m.plans()
	if err != nil {
		return nil, err
	}
	applied := map[string]map[int]string{}
	exists, err := m.hasTable(ctx, m.db, Table)
	if err != nil {
		return nil, err
	}
	if exists {
		if applied, err = m.applied(ctx, m.db); err != nil {
			return nil, err
		}
	}
	out := make([]Status, len(m.comps))
	for i, c := range m.comps {
		cur, err := check(c.Name, applied[c.Name], plans[i])
		if err != nil {
			return nil, err
		}
		out[i] = Status{Component: c.Name, Current: cur, Latest: len(plans[i])}
	}
	return out, nil
}

// Migrate brings every component to the newest version this program knows
// (see the package documentation). When Status finds nothing to do it
// changes nothing, so a role without DDL rights may call it on a current
// schema.
func (m *Migrator) Migrate(ctx context.Context) error {
	sts, err := m.Status(ctx)
	if err != nil {
		return err
	}
	if !Behind(sts) {
		return nil
	}
	plans, err := m.plans()
	if err != nil {
		return err
	}
	if err := m.inTx(ctx, "adopt", m.adopt); err != nil {
		return err
	}
	for i, c := range m.comps {
		for _, mig := range plans[i] {
			err := m.inTx(ctx, c.Name+" "+mig.Name, func(ctx context.Context, tx *sql.Tx) error {
				return m.apply(ctx, tx, c, plans[i], mig)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Migrator) plans() ([][]Migration, error) {
	plans := make([][]Migration, len(m.comps))
	for i, c := range m.comps {
		ms, err := Read(c.Migrations)
		if err != nil {
			return nil, fmt.Errorf("schema: %s: %w", c.Name, err)
		}
		plans[i] = ms
	}
	return plans, nil
}

// check compares a component's applied versions (version → checksum) with
// its migrations and returns the highest applied version.
func check(comp string, applied map[int]string, ms []Migration) (int, error) {
	cur := 0
	for v, sum := range applied {
		switch {
		case v > len(ms):
			return 0, fmt.Errorf("schema: %s: %w: the database is at version %d, this program knows versions up to %d; upgrade pjd",
				comp, ErrTooNew, v, len(ms))
		case v < 1:
			return 0, fmt.Errorf("schema: %s: %w: %s records version %d", comp, ErrMismatch, Table, v)
		case ms[v-1].Checksum != sum:
			return 0, fmt.Errorf("schema: %s: %w: version %d (%s) was applied with checksum %s, this program has %s",
				comp, ErrMismatch, v, ms[v-1].Name, sum, ms[v-1].Checksum)
		}
		cur = max(cur, v)
	}
	return cur, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// inTx runs fn in a transaction holding the migration lock.
func (m *Migrator) inTx(ctx context.Context, what string, fn func(context.Context, *sql.Tx) error) (err error) {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return m.wrap(what+": begin", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the migration's error is the one that matters
		}
	}()
	if m.d == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.Itoa(migrationLock)+")"); err != nil {
			return m.wrap(what+": lock", err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return m.wrap(what+": commit", err)
	}
	return nil
}

// adopt creates pjd_migrations when missing and moves every component's
// legacy bookkeeping into it.
func (m *Migrator) adopt(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, m.createTable()); err != nil {
		return m.wrap("create "+Table, err)
	}
	applied, err := m.applied(ctx, tx)
	if err != nil {
		return err
	}
	for _, c := range m.comps {
		if c.Legacy == nil {
			continue
		}
		if err := m.adoptLegacy(ctx, tx, c, applied[c.Name]); err != nil {
			return err
		}
	}
	return nil
}

func (m *Migrator) adoptLegacy(ctx context.Context, tx *sql.Tx, c Component, recorded map[int]string) error {
	l := c.Legacy
	exists, err := m.hasTable(ctx, tx, l.Table)
	if err != nil || !exists {
		return err
	}
	ms, err := Read(c.Migrations)
	if err != nil {
		return fmt.Errorf("schema: %s: %w", c.Name, err)
	}
	cols := "version, name, ''"
	if l.Checksums {
		cols = "version, name, checksum"
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+cols+" FROM "+l.Table)
	if err != nil {
		return m.wrap("read "+l.Table, err)
	}
	type row struct {
		v         int
		name, sum string
	}
	var old []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.v, &r.name, &r.sum); err != nil {
			rows.Close()
			return m.wrap("read "+l.Table, err)
		}
		old = append(old, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return m.wrap("read "+l.Table, err)
	}
	for _, r := range old {
		switch {
		case r.v > len(ms):
			return fmt.Errorf("schema: %s: %w: %s records version %d, this program knows versions up to %d; upgrade pjd",
				c.Name, ErrTooNew, l.Table, r.v, len(ms))
		case r.v < 1:
			return fmt.Errorf("schema: %s: %w: %s records version %d", c.Name, ErrMismatch, l.Table, r.v)
		case ms[r.v-1].Name != r.name || l.Checksums && ms[r.v-1].Checksum != r.sum:
			return fmt.Errorf("schema: %s: %w: %s records version %d as %s (checksum %q), this program has %s (%s)",
				c.Name, ErrMismatch, l.Table, r.v, r.name, r.sum, ms[r.v-1].Name, ms[r.v-1].Checksum)
		}
		if _, ok := recorded[r.v]; ok {
			continue
		}
		if err := m.record(ctx, tx, c.Name, ms[r.v-1]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+l.Table); err != nil {
		return m.wrap("drop "+l.Table, err)
	}
	return nil
}

// apply applies mig (one of c's migrations ms) unless it is recorded
// already, checking everything recorded for c first.
func (m *Migrator) apply(ctx context.Context, tx *sql.Tx, c Component, ms []Migration, mig Migration) error {
	applied, err := m.applied(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := check(c.Name, applied[c.Name], ms); err != nil {
		return err
	}
	if _, ok := applied[c.Name][mig.Version]; ok {
		return nil
	}
	if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
		return m.wrap(c.Name+": apply "+mig.Name, err)
	}
	return m.record(ctx, tx, c.Name, mig)
}

func (m *Migrator) record(ctx context.Context, tx *sql.Tx, comp string, mig Migration) error {
	q := "INSERT INTO " + Table + " (component, version, name, checksum) VALUES (?, ?, ?, ?)"
	if m.d == Postgres {
		q = "INSERT INTO " + Table + " (component, version, name, checksum) VALUES ($1, $2, $3, $4)"
	}
	if _, err := tx.ExecContext(ctx, q, comp, mig.Version, mig.Name, mig.Checksum); err != nil {
		return m.wrap(comp+": record "+mig.Name, err)
	}
	return nil
}

// applied reads pjd_migrations: component → version → checksum.
func (m *Migrator) applied(ctx context.Context, q querier) (map[string]map[int]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT component, version, checksum FROM "+Table)
	if err != nil {
		return nil, m.wrap("read "+Table, err)
	}
	defer rows.Close()
	out := map[string]map[int]string{}
	for rows.Next() {
		var (
			comp, sum string
			v         int
		)
		if err := rows.Scan(&comp, &v, &sum); err != nil {
			return nil, m.wrap("read "+Table, err)
		}
		if out[comp] == nil {
			out[comp] = map[int]string{}
		}
		out[comp][v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, m.wrap("read "+Table, err)
	}
	return out, nil
}

// hasTable reports whether table exists, reading only the catalogue.
func (m *Migrator) hasTable(ctx context.Context, q querier, table string) (bool, error) {
	query := `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?`
	if m.d == Postgres {
		query = `SELECT to_regclass($1::text) IS NOT NULL`
	}
	var exists bool
	if err := q.QueryRowContext(ctx, query, table).Scan(&exists); err != nil {
		return false, m.wrap("look for "+table, err)
	}
	return exists, nil
}

func (m *Migrator) createTable() string {
	if m.d == Postgres {
		return `CREATE TABLE IF NOT EXISTS ` + Table + ` (
			component  text    NOT NULL,
			version    integer NOT NULL,
			name       text    NOT NULL,
			checksum   text    NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (component, version)
		)`
	}
	return `CREATE TABLE IF NOT EXISTS ` + Table + ` (
		component  TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		name       TEXT    NOT NULL,
		checksum   TEXT    NOT NULL,
		applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
		PRIMARY KEY (component, version)
	) STRICT`
}

func (m *Migrator) wrap(op string, err error) error {
	return fmt.Errorf("schema %s: %s: %w", m.d, op, err)
}

// Describe says where sts stand, one component per clause: "registry at
// version 1 of 1, audit at version 0 of 2, …".
func Describe(sts []Status) string {
	parts := make([]string, len(sts))
	for i, s := range sts {
		parts[i] = fmt.Sprintf("%s at version %d of %d", s.Component, s.Current, s.Latest)
	}
	return strings.Join(parts, ", ")
}
