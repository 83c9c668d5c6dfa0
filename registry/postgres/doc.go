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
// Update runs at SERIALIZABLE isolation and is retried, a bounded number
// of times with a small jittered backoff, on serialization failures
// (40001), deadlocks (40P01) and unique violations (23505), so the
// registry's check-then-insert of uniqueIds is safe across gateway nodes.
// Connection failures are reported as registry.ErrUnavailable. The pool
// size and timeouts come from the URL (pool_max_conns, connect_timeout …,
// see pgxpool.ParseConfig).
//
// It must never concatenate values into SQL, never migrate the schema
// behind the operator's back (Connect, New and Open do not migrate;
// Migrate, or pjd through registry/schema, does), and never choose
// backends: cmd/pjd does that.
package postgres
