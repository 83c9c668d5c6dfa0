// Package postgres is the production registry.Store: registry metadata in
// PostgreSQL through pgx (a pgxpool.Pool, used by database/sql via
// pgx/v5/stdlib). It shares its schema, queries and behaviour with
// registry/sqlite through registry/internal/sqlstore, and passes the same
// suite (registry/registrytest).
//
// Connect opens the pool the registry, the audit log and the blocks share
// (cmd/pjd connects once); New puts the registry on it. Its tables come
// from its embedded migrations (Schema), applied with the other
// components' by the one runner of the database (registry/schema), from
// `pjd migrate` and at start.
//
// Update runs at READ COMMITTED and isolates its transactions with
// transaction-level advisory locks on the keys (entryUUID, uniqueId,
// logicalID, patient, association end) its reads select by and its writes
// touch (two-phase locking, registry/internal/sqlstore/locks.go): it is
// as safe as SERIALIZABLE for the registry's check-then-insert across
// gateway nodes, and submissions that share no key never wait for or
// abort each other, which SSI's page- and relation-level predicate locks
// could not promise. It is retried, a bounded number of times with a small
// jittered backoff, on deadlocks (40P01), serialization failures (40001)
// and unique violations (23505) between transactions that do conflict.
// Connection failures are reported as registry.ErrUnavailable. The pool
// size and timeouts come from the URL (pool_max_conns, connect_timeout …,
// see pgxpool.ParseConfig).
//
// It must never concatenate values into SQL, never migrate the schema
// behind the operator's back (Connect, New and Open do not migrate;
// Migrate, or pjd through registry/schema, does), and never choose
// backends: cmd/pjd does that.
package postgres
