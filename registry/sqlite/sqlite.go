package sqlite

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"database/sql"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"pjd/registry"
	"pjd/registry/internal/sqlstore"
	"pjd/registry/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrInvalid is what a Store returns, besides the registry sentinels (and
// the schema runner's for Migrate), for a filter or object it refuses
// (negative Limit, bad DTM bound, invalid UTF-8 or NUL in a string, nil or
// id-less object), or a path that names no file.
var ErrInvalid = sqlstore.ErrInvalid

// readConns is the size of the read-only pool.
const readConns = 4

// busyTimeout is how long a connection waits for another connection's
// (another process's) write lock.
const busyTimeout = 10 * time.Second

// DB is one SQLite database file opened for pjd: the registry, the audit
// log and the blocks share it (cmd/pjd opens it once and hands it to
// each). Writes go through one connection that begins every transaction
// with BEGIN IMMEDIATE, so writers — in this process or another — never
// interleave and a read-then-write cannot race another writer; reads
// outside a transaction use a separate read-only pool and see the last
// committed state. The file is in WAL mode with a busy timeout, foreign
// keys on and synchronous=FULL (a committed audit record survives a power
// cut).
type DB struct {
	path string
	w, r *sql.DB
}

// OpenDB opens (creating it if needed) the SQLite database at path and
// checks that both handles can use it. The directory must exist. It does
// not migrate (see Schema).
func OpenDB(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: %w: path must name a file, got %q", ErrInvalid, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w: %v", ErrInvalid, err)
	}
	base := (&url.URL{Scheme: "file", Path: abs}).String()
	pragmas := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(FULL)")
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			q.Add(k, v)
		}
		return base + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", pragmas("_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// The writer connects first and puts the file in WAL mode, which the
	// read-only connections cannot.
	if err := walMode(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, wrapOpen(ctx, err))
	}
	r, err := sql.Open("sqlite", pragmas("_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, wrapOpen(ctx, err))
	}
	return &DB{path: path, w: w, r: r}, nil
}

// walMode puts the file in WAL mode unless it is already. The mode is
// kept in the file, so only a new file changes; the change needs the file
// to itself, and SQLite answers SQLITE_BUSY at once (no busy handler) when
// another connection — another process opening the same new file — has
// it: that is retried for up to busyTimeout.
func walMode(ctx context.Context, w *sql.DB) error {
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	deadline := time.Now().Add(busyTimeout)
	for !strings.EqualFold(mode, "wal") {
		err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err != nil && classify(err) != sqlstore.KindRetry:
			return err
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("cannot switch to WAL mode (journal mode %q, last error: %v)", mode, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// wrapOpen marks a failure to use the file as registry.ErrUnavailable.
func wrapOpen(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if classify(err) == sqlstore.KindUnavailable {
		return fmt.Errorf("%w: %w", registry.ErrUnavailable, err)
	}
	return err
}

// Writer is the single writer connection (BEGIN IMMEDIATE); the schema
// runner (registry/schema, dialect SQLite) migrates through it.
func (d *DB) Writer() *sql.DB { return d.w }

// Reader is the read-only pool.
func (d *DB) Reader() *sql.DB { return d.r }

// Path is the file's path as given to OpenDB.
func (d *DB) Path() string { return d.path }

// Close closes both handles.
func (d *DB) Close() error { return errors.Join(d.r.Close(), d.w.Close()) }

// Store is a registry.Store in a SQLite file. Its reads and Update are
// the shared SQL core's (registry/internal/sqlstore).
type Store struct {
	*sqlstore.Store
	db  *DB
	own bool // Close closes db
}

var _ registry.Store = (*Store)(nil)

// New returns the registry in db, which stays the caller's to close; the
// registry's tables must be migrated (Schema).
func New(db *DB) *Store {
	return &Store{Store: sqlstore.New(dialect(), db.w, db.r), db: db}
}

// Open opens the SQLite database at path for the registry alone and
// migrates the registry's tables (a tool or test that needs nothing
// else; pjd opens the file with OpenDB and migrates every component
// through registry/schema). Close closes the file.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	st := New(db)
	st.own = true
	if err := st.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// DB returns the database handle the store uses.
func (s *Store) DB() *DB { return s.db }

// Migrate brings the registry's tables to the newest schema through the
// one runner (registry/schema).
func (s *Store) Migrate(ctx context.Context) error {
	return schema.New(schema.SQLite, s.db.w, Schema()).Migrate(ctx)
}

// Close implements registry.Store: it closes the file when Open opened it,
// and does nothing for a store on a shared DB.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	return s.db.Close()
}

// Schema is the registry's schema component for SQLite: its embedded
// migrations, and the bookkeeping table it kept before the one runner
// (registry/schema), which the runner adopts.
func Schema() schema.Component { return sqlstore.Schema(migrations) }

func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:        "sqlite",
		Placeholder: func(int) string { return "?" },
		In: func(col, ph string) string {
			return col + " IN (SELECT value FROM json_each(" + ph + "))"
		},
		ListArg: func(vs []string) any {
			b, _ := json.Marshal(vs) // []string always encodes
			return string(b)
		},
		// SQLite's LIKE ignores ASCII case; GLOB is case-sensitive like
		// PostgreSQL's LIKE, so patterns are translated.
		Like:        func(col, ph string) string { return col + " GLOB " + ph },
		LikeArg:     LikeToGlob,
		Classify:    classify,
		MaxAttempts: 5,
		Backoff: sqlstore.Backoff(time.Millisecond, 20*time.Millisecond, func(n int64) int64 {
			return rand.Int64N(n)
		}),
	}
}

// LikeToGlob translates an SQL LIKE pattern (% any run, _ any one
// character, no escape character) into the equivalent SQLite GLOB pattern,
// quoting GLOB's own metacharacters.
func LikeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*':
			b.WriteString("[*]")
		case '?':
			b.WriteString("[?]")
		case '[':
			b.WriteString("[[]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// IsUnavailable reports whether err (from the SQLite driver) means the
// database file cannot be used: not openable, an I/O error, full,
// read-only or corrupt.
func IsUnavailable(err error) bool { return err != nil && classify(err) == sqlstore.KindUnavailable }

func classify(err error) sqlstore.ErrorKind {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.KindOther
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.KindRetry
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return sqlstore.KindRetry
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOTADB,
		sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_READONLY:
		return sqlstore.KindUnavailable
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return sqlstore.KindInvalid
	}
	return sqlstore.KindOther
}
