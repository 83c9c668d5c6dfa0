// Package blocks keeps patients' blocks (sperringer): a patient's decision
// that named health workers or organisations may not see their documents,
// all of them or some. trust/policy enforces them; this package stores them
// in the registry's database (PostgreSQL, or the SQLite file of --dev) —
// NewPostgres and NewSQLite take the pool or file handle the registry uses,
// which cmd/pjd opens once — and implements policy.BlockStore. Its table
// comes from its own embedded migrations (Schema), applied by the one
// runner of that database (registry/schema).
//
// A block is never deleted: lifting it ends its validity, so what applied
// at any time can be reconstructed for follow-up control. The package must
// never create tables outside its migrations, and never choose a backend:
// cmd/pjd does.
package blocks

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/registry/postgres"
	"pjd/registry/schema"
	"pjd/registry/sqlite"
	"pjd/trust"
	"pjd/trust/policy"
)

// Errors of the store; test with errors.Is.
var (
	// ErrNotFound: no block in force with that id.
	ErrNotFound = errors.New("blocks: no such block")
	// ErrInvalid: the block cannot be stored as given (the error says
	// why). A block that could never match a request — a patient or
	// practitioner that is not a national identity number, an
	// organisation number with a bad check digit — is refused rather than
	// stored, so a patient is never told they are protected when they are
	// not.
	ErrInvalid = errors.New("blocks: invalid block")
)

// sqliteTime is how times are stored in SQLite: fixed width, so that
// comparing and ordering the TEXT values is comparing and ordering the
// times (RFC 3339 with trimmed fractions would sort "…:05Z" after
// "…:05.5Z").
const sqliteTime = "2006-01-02T15:04:05.000000000Z07:00"

// Store keeps blocks in SQL.
type Store struct {
	w, r   *sql.DB // writes; reads (the same pool for PostgreSQL)
	pg     bool
	now    func() time.Time
	closed atomic.Bool
}

// errClosed: the store was closed (its shared database may be open still).
var errClosed = errors.New("blocks: the store is closed")

var _ policy.BlockStore = (*Store)(nil)

// NewPostgres returns the blocks in the PostgreSQL database behind pool,
// the pool the registry uses (it stays the caller's to close). The table
// must be migrated (Schema).
func NewPostgres(pool *pgxpool.Pool) *Store {
	db := stdlib.OpenDBFromPool(pool)
	return &Store{w: db, r: db, pg: true, now: time.Now}
}

// NewSQLite returns the blocks in the SQLite file db, the handle the
// registry uses (it stays the caller's to close): blocks are added and
// lifted through its single writer connection and read through its
// read-only pool, so reading a patient's blocks never waits for a writer.
// The table must be migrated (Schema).
func NewSQLite(db *sqlite.DB) *Store {
	return &Store{w: db.Writer(), r: db.Reader(), now: time.Now}
}

//go:embed migrations
var migrations embed.FS

// Schema is the blocks' schema component for dialect d. Its first
// migration adopts the table that blocks.Open created before the one
// runner (registry/schema) existed.
func Schema(d schema.Dialect) schema.Component {
	m, err := fs.Sub(migrations, "migrations/"+d.String())
	if err != nil {
		panic(err) // the embedded directory is part of the program
	}
	return schema.Component{Name: "blocks", Migrations: m}
}

// Migrate brings the blocks table to the newest schema through the one
// runner (for tools and tests; pjd migrates every component together).
func (s *Store) Migrate(ctx context.Context) error {
	d := schema.SQLite
	if s.pg {
		d = schema.Postgres
	}
	return schema.New(d, s.w, Schema(d)).Migrate(ctx)
}

// Close ends the store: every later call fails (reading with
// policy.ErrBlocksUnavailable). It releases what the store holds of its
// own, nothing of the shared pool or file.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.pg {
		return s.w.Close()
	}
	return nil
}

func (s *Store) ph(n int) string {
	if s.pg {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.pg {
		return t.UTC()
	}
	return t.UTC().Format(sqliteTime)
}

func (s *Store) scanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	}
	return time.Time{}, fmt.Errorf("blocks: unexpected time value %T", v)
}

// validate checks that b names a patient and someone to block in the forms
// policy compares them in.
func validate(b policy.Block) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	switch {
	case !trust.ValidNIN(b.PatientID):
		return bad("the patient must be a national identity number (11 digits, valid check digits)")
	case !b.Everyone && b.PractitionerID == "" && b.HPRNumber == "" && b.OrgNr == "":
		return bad("a block names at least one of practitioner, HPR number or organisation, or everyone")
	case b.Everyone && (b.PractitionerID != "" || b.HPRNumber != "" || b.OrgNr != ""):
		return bad("a block of everyone names no recipient")
	case b.SourceOrgNr != "" && !trust.ValidOrgNr(b.SourceOrgNr):
		return bad("the source organisation number must have nine digits and a valid check digit")
	case b.PractitionerID != "" && !trust.ValidNIN(b.PractitionerID):
		return bad("the practitioner must be a national identity number")
	case b.HPRNumber != "" && !allDigits(b.HPRNumber, 12):
		return bad("the HPR number must be digits only")
	case b.OrgNr != "" && !trust.ValidOrgNr(b.OrgNr):
		return bad("the organisation number must have nine digits and a valid check digit")
	case !b.ValidFrom.IsZero() && !b.ValidTo.IsZero() && !b.ValidTo.After(b.ValidFrom):
		return bad("the block must end after it starts")
	case len(b.ID) > 64:
		return bad("the id is longer than 64 characters")
	}
	for _, d := range b.DocumentUniqueIDs {
		if d == "" || len(d) > 128 {
			return bad("a document uniqueId is empty or longer than 128 characters")
		}
	}
	return nil
}

func allDigits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Add stores a block and returns it with its id. A malformed block is
// refused with an error matching ErrInvalid.
func (s *Store) Add(ctx context.Context, b policy.Block) (policy.Block, error) {
	if err := validate(b); err != nil {
		return b, err
	}
	if b.ID == "" {
		b.ID = uuid.NewString()
	}
	if s.closed.Load() {
		return b, errClosed
	}
	docs, _ := json.Marshal(b.DocumentUniqueIDs)
	if b.DocumentUniqueIDs == nil {
		docs = []byte("[]")
	}
	everyone := 0
	if b.Everyone {
		everyone = 1
	}
	q := fmt.Sprintf(`INSERT INTO patient_blocks (id, patient_id, practitioner_id, hpr_number, org_nr, document_unique_ids, valid_from, valid_to, created_at, everyone, source_org_nr)
		VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)`, s.ph(1), s.ph(2), s.ph(3), s.ph(4), s.ph(5), s.ph(6), s.ph(7), s.ph(8), s.ph(9), s.ph(10), s.ph(11))
	_, err := s.w.ExecContext(ctx, q, b.ID, b.PatientID, b.PractitionerID, b.HPRNumber, b.OrgNr, string(docs),
		s.timeArg(b.ValidFrom), s.timeArg(b.ValidTo), s.timeArg(s.now()), everyone, b.SourceOrgNr)
	if err != nil {
		return b, fmt.Errorf("blocks: adding: %w", err)
	}
	return b, nil
}

// Lift ends a block's validity now.
func (s *Store) Lift(ctx context.Context, id string) error {
	if s.closed.Load() {
		return errClosed
	}
	q := fmt.Sprintf(`UPDATE patient_blocks SET valid_to = %s WHERE id = %s AND (valid_to IS NULL OR valid_to > %s)`, s.ph(1), s.ph(2), s.ph(3))
	now := s.timeArg(s.now())
	res, err := s.w.ExecContext(ctx, q, now, id, now)
	if err != nil {
		return fmt.Errorf("blocks: lifting: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Blocks implements policy.BlockStore: every block of the patient, in force
// or not (policy decides which apply at the time of the request).
func (s *Store) Blocks(ctx context.Context, patientID string) ([]policy.Block, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%w: %w", policy.ErrBlocksUnavailable, errClosed)
	}
	q := fmt.Sprintf(`SELECT id, patient_id, practitioner_id, hpr_number, org_nr, document_unique_ids, valid_from, valid_to, everyone, source_org_nr
		FROM patient_blocks WHERE patient_id = %s ORDER BY created_at, id`, s.ph(1))
	rows, err := s.r.QueryContext(ctx, q, patientID)
	if err != nil {
		return nil, s.wrap("reading", err)
	}
	defer rows.Close()
	var out []policy.Block
	for rows.Next() {
		var b policy.Block
		var docs string
		var from, to any
		var everyone int64
		if err := rows.Scan(&b.ID, &b.PatientID, &b.PractitionerID, &b.HPRNumber, &b.OrgNr, &docs, &from, &to, &everyone, &b.SourceOrgNr); err != nil {
			return nil, s.wrap("reading", err)
		}
		b.Everyone = everyone != 0
		if err := json.Unmarshal([]byte(docs), &b.DocumentUniqueIDs); err != nil {
			return nil, fmt.Errorf("blocks: reading documents of %s: %w", b.ID, err)
		}
		if b.ValidFrom, err = s.scanTime(from); err != nil {
			return nil, err
		}
		if b.ValidTo, err = s.scanTime(to); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("reading", err)
	}
	return out, nil
}

// wrap prefixes a database error with the operation and marks one that
// means the database could not be reached as policy.ErrBlocksUnavailable.
func (s *Store) wrap(op string, err error) error {
	if s.pg && postgres.IsUnavailable(err) || !s.pg && sqlite.IsUnavailable(err) {
		return fmt.Errorf("blocks: %s: %w: %w", op, policy.ErrBlocksUnavailable, err)
	}
	return fmt.Errorf("blocks: %s: %w", op, err)
}
