package sqlaudit

import (
	"strconv"
	"strings"
)

// dialect holds what differs between PostgreSQL and SQLite.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2 … (else ?).
	dollar bool
	// lockChain serialises appenders inside a transaction ("" when the
	// transaction itself takes the write lock, as BEGIN IMMEDIATE does).
	lockChain string
	// lockMigrate serialises migrators likewise.
	lockMigrate string
	trueLit     string
	migrations  string // directory in migrationsFS
}

var sqliteDialect = &dialect{
	name:       "sqlite",
	trueLit:    "1",
	migrations: "migrations/sqlite",
}

// Advisory lock keys: arbitrary constants that name the audit chain and
// the audit migrations in pg_locks.
const (
	pgChainLock   = 7_061_706_400_001 // "pjd audit chain"
	pgMigrateLock = 7_061_706_400_002 // "pjd audit migrate"
)

var postgresDialect = &dialect{
	name:        "postgres",
	dollar:      true,
	lockChain:   "SELECT pg_advisory_xact_lock(" + strconv.Itoa(pgChainLock) + ")",
	lockMigrate: "SELECT pg_advisory_xact_lock(" + strconv.Itoa(pgMigrateLock) + ")",
	trueLit:     "TRUE",
	migrations:  "migrations/postgres",
}

// query builds one SQL statement with bound parameters. Values only ever
// travel as parameters, never inside the SQL text.
type query struct {
	strings.Builder
	d    *dialect
	args []any
}

func (d *dialect) query() *query { return &query{d: d} }

// arg binds v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	if q.d.dollar {
		return "$" + strconv.Itoa(len(q.args))
	}
	return "?"
}

// values writes "(p1, p2, …)" binding vs.
func (q *query) values(vs ...any) {
	q.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(q.arg(v))
	}
	q.WriteByte(')')
}
