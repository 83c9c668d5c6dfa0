package sqlaudit

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// AuditTables are the tables the audit log writes, in the registry's
// database.
var AuditTables = []string{"audit_records", "audit_record_entities", "audit_heads"}

// AppendOnlyGrants returns the PostgreSQL statements that give role what
// the audit log needs at run time and nothing more: SELECT and INSERT on
// the audit tables — no UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER.
// Run them as the tables' owner (the role `pjd migrate` runs as) after
// migrating. The owner keeps full rights, which is why the tables also
// carry triggers that refuse UPDATE, DELETE and TRUNCATE.
//
// The same role may hold the registry's privileges, and SELECT on the
// schema's bookkeeping table (pjd_migrations) so that pjd serve can check
// the schema's version; these statements touch only the audit tables.
func AppendOnlyGrants(role string) string {
	r := pgx.Identifier{role}.Sanitize()
	tables := strings.Join(AuditTables, ", ")
	return strings.Join([]string{
		"REVOKE ALL ON " + tables + " FROM PUBLIC",
		"REVOKE ALL ON " + tables + " FROM " + r,
		"GRANT SELECT, INSERT ON " + tables + " TO " + r,
	}, ";\n") + ";\n"
}
