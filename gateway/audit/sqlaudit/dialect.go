package sqlaudit

import (
	"strconv"
	"strings"

	"pjd/registry/schema"
)

// dialect holds what differs between PostgreSQL and SQLite.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2 … (else ?).
	dollar bool
	// lockChain serialises appenders inside a transaction ("" when the
	// transaction itself takes the write lock, as BEGIN IMMEDIATE does).
	lockChain string
	trueLit   string
	schema    schema.Dialect
	// eventID is the SQL expression of a record's nhn_event_id, read
	// from its sealed body (a rare search: no column, no index).
	eventID string
}

var sqliteDialect = &dialect{
	name:    "sqlite",
	trueLit: "1",
	eventID: "json_extract(body, '$.nhn_event_id')",
	schema:  schema.SQLite,
}

// pgChainLock is an arbitrary constant that names the audit chain in
// pg_locks ("pjd audit chain").
const pgChainLock = 7_061_706_400_001

var postgresDialect = &dialect{
	name:      "postgres",
	dollar:    true,
	lockChain: "SELECT pg_advisory_xact_lock(" + strconv.Itoa(pgChainLock) + ")",
	trueLit:   "TRUE",
	eventID:   "(body::jsonb ->> 'nhn_event_id')",
	schema:    schema.Postgres,
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
