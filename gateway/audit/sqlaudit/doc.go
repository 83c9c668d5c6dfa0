// Package sqlaudit keeps pjd's audit log in SQL: PostgreSQL (pgx) in
// production, SQLite (modernc.org/sqlite, pure Go) with --dev. The tables
// live in the registry's database — NewPostgres and NewSQLite take the
// pool or file handle the registry uses, which cmd/pjd opens once — and
// carry their own prefix (audit_) and their own versioned, embedded
// migrations (Schema), applied by the one runner of that database
// (registry/schema) and recorded in its pjd_migrations.
//
// # Tables
//
//	audit_records          one row per sealed record: seq, the index
//	                       columns searches use, key id, previous hash,
//	                       hash, and the sealed body verbatim
//	audit_record_entities  (seq, document unique id) for entity-id searches
//	audit_heads            one checkpoint (seq, hash) per committed batch
//
// Append locks the chain (pg_advisory_xact_lock on PostgreSQL; BEGIN
// IMMEDIATE on SQLite), reads the last checkpoint, seals the batch with
// audit.SealBatch, inserts rows and a new checkpoint, and commits, so any
// number of gateway processes share one chain. The SQLite file is in WAL
// mode with a busy timeout and synchronous=FULL (registry/sqlite.OpenDB).
//
// # Append-only
//
// No code in pjd issues UPDATE or DELETE against an audit table (a test
// greps for it). On PostgreSQL the run-time role should hold only these
// privileges — the statements AppendOnlyGrants returns:
//
//	REVOKE ALL ON audit_records, audit_record_entities, audit_heads FROM PUBLIC;
//	REVOKE ALL ON audit_records, audit_record_entities, audit_heads FROM pjd_app;
//	GRANT SELECT, INSERT ON audit_records, audit_record_entities, audit_heads TO pjd_app;
//
// Migrations run as the owning role (`pjd migrate`), which the server
// should not use. As defence in depth the migrations install triggers
// that refuse UPDATE, DELETE (per row) and TRUNCATE (per statement) on
// every audit table, for every role — and, in SQLite, any INSERT whose keys
// are taken, since INSERT OR REPLACE deletes the row in its way without
// firing a DELETE trigger (a PostgreSQL upsert's update fires the UPDATE
// trigger); only an owner who first disables the triggers can change
// rows, and the hash chain (audit.Verify) exposes that, up to the newest
// records: deleting those with their checkpoints shows only against a head
// kept outside the database (audit.Witness).
//
// This package must never offer a way to change or remove a record, never
// build SQL from values (every value is a bound parameter), and never
// choose a backend: cmd/pjd does.
package sqlaudit
