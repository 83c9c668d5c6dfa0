package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors a Store returns besides the registry sentinels.
var (
	// ErrInvalid: a filter, object or URL the store refuses.
	ErrInvalid = sqlstore.ErrInvalid
	// ErrSchemaTooNew: the database was migrated by a newer pjd.
	ErrSchemaTooNew = sqlstore.ErrSchemaTooNew
	// ErrSchemaMismatch: an applied migration differs from this program's.
	ErrSchemaMismatch = sqlstore.ErrSchemaMismatch
)

// Store is a registry.Store in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	s    *sqlstore.Store
}

var _ registry.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// DSN, as pgxpool.ParseConfig accepts) and checks that it answers. It does
// not migrate: call Migrate (pjd does, from `pjd migrate` and at start).
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("postgres: %w: the database URL does not parse", ErrInvalid)
	}
	// A cancelled context sends the server a cancel request, so the
	// statement stops there too (pgx's default only abandons the
	// connection, and a busy backend would run on).
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w: %v", registry.ErrUnavailable, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("postgres: connecting: %w", ctx.Err())
		}
		return nil, fmt.Errorf("postgres: connecting: %w: %w", registry.ErrUnavailable, err)
	}
	return &Store{pool: pool, s: sqlstore.New(dialect(), stdlib.OpenDBFromPool(pool), nil)}, nil
}

// Pool returns the connection pool (for bulk loading with CopyFrom and
// for baselines measured next to the store).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate brings the schema to the newest version this program knows; see
// sqlstore.Store.Migrate. Several processes may run it at once.
func (s *Store) Migrate(ctx context.Context) error { return s.s.Migrate(ctx) }

// SchemaVersion returns the highest applied schema version (0: none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) { return s.s.SchemaVersion(ctx) }

// SchemaStatus returns the applied schema version and the newest this
// program knows, reading only (a role without DDL rights may call it);
// see sqlstore.Store.SchemaStatus.
func (s *Store) SchemaStatus(ctx context.Context) (current, latest int, err error) {
	return s.s.SchemaStatus(ctx)
}

// Documents implements registry.Reader.
func (s *Store) Documents(ctx context.Context, f registry.DocumentFilter) ([]*registry.DocumentEntry, error) {
	return s.s.Documents(ctx, f)
}

// SubmissionSets implements registry.Reader.
func (s *Store) SubmissionSets(ctx context.Context, f registry.SubmissionSetFilter) ([]*registry.SubmissionSet, error) {
	return s.s.SubmissionSets(ctx, f)
}

// Folders implements registry.Reader.
func (s *Store) Folders(ctx context.Context, f registry.FolderFilter) ([]*registry.Folder, error) {
	return s.s.Folders(ctx, f)
}

// Associations implements registry.Reader.
func (s *Store) Associations(ctx context.Context, f registry.AssociationFilter) ([]*registry.Association, error) {
	return s.s.Associations(ctx, f)
}

// PatientLinks implements registry.Reader.
func (s *Store) PatientLinks(ctx context.Context, f registry.PatientLinkFilter) ([]*registry.PatientLink, error) {
	return s.s.PatientLinks(ctx, f)
}

// Update implements registry.Store at SERIALIZABLE isolation.
func (s *Store) Update(ctx context.Context, fn func(tx registry.Tx) error) error {
	return s.s.Update(ctx, fn)
}

// Ping implements registry.Store.
func (s *Store) Ping(ctx context.Context) error { return s.s.Ping(ctx) }

// Close implements registry.Store: it closes the pool.
func (s *Store) Close() error {
	err := s.s.Close()
	s.pool.Close()
	return err
}

// maxAttempts bounds how often Update runs fn on conflicts.
const maxAttempts = 12

func dialect() *sqlstore.Dialect {
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the program
	}
	return &sqlstore.Dialect{
		Name:        "postgres",
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
		In:          func(col, ph string) string { return col + " = ANY(" + ph + ")" },
		ListArg:     func(vs []string) any { return vs },
		// ESCAPE '' turns off PostgreSQL's default backslash escape: the
		// patterns have no escape character.
		Like:        func(col, ph string) string { return col + " LIKE " + ph + " ESCAPE ''" },
		LikeArg:     func(p string) string { return p },
		Classify:    classify,
		UpdateTx:    &sql.TxOptions{Isolation: sql.LevelSerializable},
		MaxAttempts: maxAttempts,
		Backoff: sqlstore.Backoff(2*time.Millisecond, 100*time.Millisecond, func(n int64) int64 {
			return rand.Int64N(n)
		}),
		Migrations: m,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			checksum   text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
		HasMigrationsTable: `SELECT to_regclass('schema_migrations') IS NOT NULL`,
		// One lock for all migrators of this database (the number is
		// arbitrary, fixed, and only used here).
		MigrationLock: "SELECT pg_advisory_xact_lock(7220150001)",
	}
}

// IsUnavailable reports whether err (from pgx, directly or through
// database/sql) means PostgreSQL could not be reached or is going away: a
// failed connection, a broken one, a server shutting down or refusing
// connections. Other stores in the same database (blocks) classify their
// errors with it, so every caller can answer "try again" the same way.
func IsUnavailable(err error) bool { return err != nil && classify(err) == sqlstore.KindUnavailable }

// classify sorts PostgreSQL errors (SQLSTATE) and connection failures.
func classify(err error) sqlstore.ErrorKind {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "40001", code == "40P01", code == "23505":
			return sqlstore.KindRetry
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // shutdown, cannot connect now
			code == "53300": // too many connections
			return sqlstore.KindUnavailable
		case strings.HasPrefix(code, "22"): // data exception
			return sqlstore.KindInvalid
		}
		return sqlstore.KindOther
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		pgconn.SafeToRetry(err):
		return sqlstore.KindUnavailable
	}
	return sqlstore.KindOther
}
