// Package sqlite is the embedded registry.Store: registry metadata in one
// SQLite file (modernc.org/sqlite, pure Go), for `pjd serve --dev`, single
// node deployments and tests. It shares its schema, queries and behaviour
// with registry/postgres through registry/internal/sqlstore, and passes the
// same suite (registry/registrytest).
//
// OpenDB opens the file the registry, the audit log and the blocks share
// (cmd/pjd opens it once; see DB): in WAL mode with a busy timeout and
// foreign keys on; writes through one connection whose every transaction
// begins with BEGIN IMMEDIATE, so Updates — from this process or another,
// and the audit log's appends — never interleave; reads outside a
// transaction through a separate read-only pool that sees the last
// committed state. New puts the registry on it. Its tables come from its
// embedded migrations (Schema), applied by the one runner of the database
// (registry/schema); Open, for tools and tests that need the registry
// alone, opens a file and migrates the registry's tables.
//
// The fn given to Update must not call Update on the same Store, nor write
// through another store on the same DB: it would wait for the writer
// connection it holds itself.
//
// This package must never be used by several hosts sharing a file over a
// network file system, and never choose backends: cmd/pjd does that.
package sqlite
