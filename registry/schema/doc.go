// Package schema is the one migration runner of pjd's database. The
// registry's tables, the audit log's and the patients' blocks' live in one
// database — PostgreSQL, or the SQLite file of --dev — and each component
// keeps its migrations, embedded, next to the code that owns its tables
// (registry/postgres and registry/sqlite, gateway/audit/sqlaudit,
// gateway/blocks). A Migrator applies them in one defined order, the order
// of the components it is given (cmd/pjd: registry, audit, blocks), and
// records every applied version with the SHA-256 of its file in one
// bookkeeping table, pjd_migrations.
//
// Migrate is idempotent and safe to run from several processes at once (a
// transaction-scoped advisory lock on PostgreSQL; BEGIN IMMEDIATE on
// SQLite's single writer connection); it applies each version in its own
// transaction, refuses a database migrated by a newer program (ErrTooNew)
// and one whose applied migrations differ from this program's
// (ErrMismatch), and changes nothing when the schema is current. Status
// reads the same facts and changes nothing, so a role without DDL rights
// (pjd serve's service role) learns whether it may start.
//
// Databases created before this runner kept their own bookkeeping: the
// registry's schema_migrations (with checksums), the audit log's
// audit_schema_migrations (names only), and none for the blocks table. A
// Component names its Legacy table; Migrate adopts its rows — after
// checking that each names this program's migration of that version, and
// its checksum where one was kept — into pjd_migrations and drops it, in
// one transaction. Tables created without any bookkeeping are adopted by
// their component's first migration itself (CREATE … IF NOT EXISTS).
//
// schema must never build SQL from values (every value is a bound
// parameter; only fixed identifiers are concatenated) and never choose a
// backend: the caller names the Dialect of the handle it passes.
package schema
