package sqlstore

import (
	"database/sql"
	"errors"
	"io/fs"
	"time"

	"pjd/registry/schema"
)

// ErrorKind is how a Dialect classifies a database error.
type ErrorKind int

const (
	// KindOther: any error not listed below; returned wrapped.
	KindOther ErrorKind = iota
	// KindRetry: a serialization failure, deadlock, lock timeout or
	// unique-key violation. Update rolls back and runs its fn again.
	KindRetry
	// KindUnavailable: the database cannot be reached; wrapped with
	// registry.ErrUnavailable.
	KindUnavailable
	// KindInvalid: the database rejected a value (data exception); wrapped
	// with ErrInvalid.
	KindInvalid
)

// Dialect is what differs between the SQL databases sqlstore runs on.
type Dialect struct {
	// Name prefixes error messages ("sqlite", "postgres").
	Name string

	// Placeholder returns the bind marker of the n-th (1-based) argument:
	// "$n" or "?".
	Placeholder func(n int) string

	// In returns a condition true when col equals one of the strings bound
	// (as one argument, see ListArg) at the marker ph. PostgreSQL:
	// "col = ANY(ph)"; SQLite: "col IN (SELECT value FROM json_each(ph))".
	// Binding the list as one argument keeps the SQL text independent of
	// the list length (one cached plan) and never hits bind-count limits.
	In func(col, ph string) string
	// ListArg converts a string list to the argument In expects.
	ListArg func([]string) any

	// Like returns a condition true when col matches the SQL LIKE pattern
	// (% and _, case-sensitive, no escape character) bound at ph, after
	// LikeArg converted it.
	Like    func(col, ph string) string
	LikeArg func(pattern string) string

	// Classify tells retryable, unavailable and invalid-data errors apart.
	Classify func(error) ErrorKind

	// UpdateTx are the options Update begins its transaction with
	// (PostgreSQL: read committed, isolated by key locks, see LockSQL). SQLite serialises writers itself with
	// BEGIN IMMEDIATE (the connection's _txlock), so it passes nil.
	UpdateTx *sql.TxOptions
	// LockSQL, when set, makes Update isolate its transactions with key
	// locks (locks.go): a statement taking transaction-level locks on the
	// int64 key hashes bound as $1 (an array, in order), each shared when
	// the bool at the same index of $2 is true, else exclusive.
	// PostgreSQL sets it (and runs Update at READ COMMITTED); SQLite
	// leaves it empty.
	LockSQL string
	// MaxAttempts bounds how often Update runs fn (≥ 1).
	MaxAttempts int
	// Backoff is how long to wait before attempt n (n ≥ 2); nil: no wait.
	Backoff func(attempt int) time.Duration
}

// Schema is the registry's schema component for a backend whose
// migrations are the NNNN_name.sql files in the directory "migrations" of
// fsys: named "registry", with the bookkeeping table the registry kept
// before the one runner (schema_migrations, with checksums), which the
// runner adopts.
func Schema(fsys fs.FS) schema.Component {
	m, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the program
	}
	return schema.Component{Name: "registry", Migrations: m,
		Legacy: &schema.Legacy{Table: "schema_migrations", Checksums: true}}
}

// ErrInvalid marks input a store refuses: a negative Limit, a time-range
// bound that is not a DTM, a string that is not valid UTF-8 or holds a NUL
// byte, a nil or id-less object. The backends re-export it.
var ErrInvalid = errors.New("registry store: invalid input")
