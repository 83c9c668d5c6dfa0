package sqlaudit

import (
	"context"
	"fmt"

	"pjd/gateway/audit"
)

// CanAppend reports whether this connection's role may append to the
// audit log: on PostgreSQL, INSERT on every audit table (the privilege an
// operator may revoke, which would fail every audited request while the
// database still answers). It reads the catalogue only and writes
// nothing, so the readiness check needs no privilege beyond what
// AppendOnlyGrants gives. SQLite has no privileges: nil.
func (s *Store) CanAppend(ctx context.Context) error {
	if s.d.name != "postgres" {
		return nil
	}
	if err := s.usable("privileges"); err != nil {
		return err
	}
	var missing string
	q := `SELECT COALESCE(string_agg(t, ', '), '') FROM unnest($1::text[]) AS t WHERE NOT has_table_privilege(t, 'INSERT')`
	if err := s.w.QueryRowContext(ctx, q, AuditTables).Scan(&missing); err != nil {
		return s.wrap("privileges", err)
	}
	if missing != "" {
		return fmt.Errorf("sqlaudit postgres: %w: no INSERT privilege on %s", audit.ErrUnavailable, missing)
	}
	return nil
}
