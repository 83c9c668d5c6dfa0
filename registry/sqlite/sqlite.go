package sqlite

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors a Store returns besides the registry sentinels.
var (
	// ErrInvalid: a filter or object the store refuses (negative Limit,
	// bad DTM bound, invalid UTF-8 or NUL in a string, nil or id-less
	// object).
	ErrInvalid = sqlstore.ErrInvalid
	// ErrSchemaTooNew: the file was migrated by a newer pjd.
	ErrSchemaTooNew = sqlstore.ErrSchemaTooNew
	// ErrSchemaMismatch: an applied migration differs from this program's.
	ErrSchemaMismatch = sqlstore.ErrSchemaMismatch
)

// readConns is the size of the read-only pool.
const readConns = 4

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 10 * time.Second

// Store is a registry.Store in a SQLite file.
type Store struct {
	s *sqlstore.Store
}

var _ registry.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path and
// migrates it to the newest schema. The directory must exist.
func Open(ctx context.Context, path string) (*Store, error) {
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
		q.Add("_pragma", "synchronous(NORMAL)")
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			q.Add(k, v)
		}
		return base + "?" + q.Encode()
	}

	// One writer connection; BEGIN IMMEDIATE takes the write lock at the
	// start of every Update, so a read-then-insert can't race another
	// writer, in this process or another.
	w, err := sql.Open("sqlite", pragmas("_pragma=journal_mode(WAL)", "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	st := &Store{s: sqlstore.New(dialect(), w, nil)}
	if err := st.s.Ping(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := st.Migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", pragmas("_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	st.s = sqlstore.New(dialect(), w, r)
	if err := st.s.Ping(ctx); err != nil {
		st.s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return st, nil
}

// Migrate brings the schema to the newest version (Open already did).
func (s *Store) Migrate(ctx context.Context) error { return s.s.Migrate(ctx) }

// SchemaStatus returns the applied schema version and the newest this
// program knows, reading only.
func (s *Store) SchemaStatus(ctx context.Context) (current, latest int, err error) {
	return s.s.SchemaStatus(ctx)
}

// SchemaVersion returns the highest applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) { return s.s.SchemaVersion(ctx) }

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

// Update implements registry.Store: fn runs inside BEGIN IMMEDIATE … COMMIT.
func (s *Store) Update(ctx context.Context, fn func(tx registry.Tx) error) error {
	return s.s.Update(ctx, fn)
}

// Ping implements registry.Store.
func (s *Store) Ping(ctx context.Context) error { return s.s.Ping(ctx) }

// Close implements registry.Store.
func (s *Store) Close() error { return s.s.Close() }

func dialect() *sqlstore.Dialect {
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the program
	}
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
		Migrations: m,
		MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			checksum   TEXT NOT NULL,
			applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
		) STRICT`,
		HasMigrationsTable: `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
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
