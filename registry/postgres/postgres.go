package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
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
	"pjd/registry/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrInvalid is what a Store returns, besides the registry sentinels (and
// the schema runner's for Migrate), for a filter, object or URL it
// refuses.
var ErrInvalid = sqlstore.ErrInvalid

// Connect opens a connection pool to the database at url (a postgres://
// URL or key=value DSN, as pgxpool.ParseConfig accepts) and checks that it
// answers. The registry, the audit log and the blocks share the pool
// (cmd/pjd connects once and hands it to each): without pool_max_conns in
// the URL it holds three times pgxpool's default, max(4, CPUs), one share
// for each. A cancelled context sends the server a cancel request, so a
// statement stops there too (pgx's default only abandons the connection,
// and a busy backend would run on).
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("postgres: %w: the database URL does not parse", ErrInvalid)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns *= poolShares
	}
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
	return pool, nil
}

// poolShares is how many stores share the pool Connect opens (registry,
// audit log, blocks).
const poolShares = 3

// Store is a registry.Store in PostgreSQL. Its reads and Update are the
// shared SQL core's (registry/internal/sqlstore).
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	own  bool // Close closes the pool
}

var _ registry.Store = (*Store)(nil)

// New returns the registry in the database behind pool, which stays the
// caller's to close. It does not migrate (see Schema).
func New(pool *pgxpool.Pool) *Store {
	return &Store{Store: sqlstore.New(dialect(), stdlib.OpenDBFromPool(pool), nil), pool: pool}
}

// Open connects to the database at url for the registry alone (a tool or
// test that needs nothing else); Close closes the pool. It does not
// migrate: call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	st := New(pool)
	st.own = true
	return st, nil
}

// Pool returns the connection pool (for bulk loading with CopyFrom and
// for baselines measured next to the store).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate brings the registry's tables to the newest schema through the
// one runner (registry/schema); several processes may run it at once.
func (s *Store) Migrate(ctx context.Context) error {
	return schema.New(schema.Postgres, s.SQL(), Schema()).Migrate(ctx)
}

// Close implements registry.Store: it closes the pool when Open opened
// it, and does nothing for a store on a shared pool.
func (s *Store) Close() error {
	if s.own {
		s.pool.Close()
	}
	return nil
}

// Schema is the registry's schema component for PostgreSQL: its embedded
// migrations, and the bookkeeping table it kept before the one runner
// (registry/schema), which the runner adopts.
func Schema() schema.Component { return sqlstore.Schema(migrations) }

// maxAttempts bounds how often Update runs fn on conflicts.
const maxAttempts = 12

func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:        "postgres",
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
		In:          func(col, ph string) string { return col + " = ANY(" + ph + ")" },
		ListArg:     func(vs []string) any { return vs },
		// ESCAPE '' turns off PostgreSQL's default backslash escape: the
		// patterns have no escape character.
		Like:     func(col, ph string) string { return col + " LIKE " + ph + " ESCAPE ''" },
		LikeArg:  func(p string) string { return p },
		Classify: classify,
		UpdateTx: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		LockSQL: "SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END" +
			" FROM unnest($1::bigint[], $2::boolean[]) WITH ORDINALITY AS l(k, s, n) ORDER BY n",
		MaxAttempts: maxAttempts,
		Backoff: sqlstore.Backoff(2*time.Millisecond, 100*time.Millisecond, func(n int64) int64 {
			return rand.Int64N(n)
		}),
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
