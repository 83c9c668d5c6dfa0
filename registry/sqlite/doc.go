// Package sqlite is the embedded registry.Store: registry metadata in one
// SQLite file (modernc.org/sqlite, pure Go), for `pjd serve --dev`, single
// node deployments and tests. It shares its schema, queries and behaviour
// with registry/postgres through registry/internal/sqlstore, and passes the
// same suite (registry/registrytest).
//
// The file is opened in WAL mode with a busy timeout and foreign keys on.
// Writes go through one connection and every Update begins with BEGIN
// IMMEDIATE, so Updates — from this process or another — never interleave;
// reads outside Update use a separate read-only pool and see the last
// committed state.
//
// Open migrates the file to the newest schema (there is no separate
// migration step for an embedded database).
//
// The fn given to Update must not call Update on the same Store: it would
// wait for the writer connection it holds itself.
//
// This package must never be used by several hosts sharing a file over a
// network file system, and never choose backends: cmd/pjd does that.
package sqlite
