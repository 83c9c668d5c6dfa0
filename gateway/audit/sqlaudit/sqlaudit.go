package sqlaudit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"pjd/gateway/audit"
	"pjd/registry/sqlite"
)

// Store is an audit.Store in SQL tables (prefix audit_) of the registry's
// database.
type Store struct {
	d      *dialect
	pool   *pgxpool.Pool // PostgreSQL: appends (appendPipelined)
	w      *sql.DB       // writes (and, for PostgreSQL, reads)
	r      *sql.DB       // reads
	close  func() error
	closed atomic.Bool
}

// errClosed: the store was closed (its shared database may be open still).
var errClosed = errors.New("the audit store is closed")

// usable fails once the store is closed.
func (s *Store) usable(op string) error {
	if s.closed.Load() {
		return s.wrap(op, errClosed)
	}
	return nil
}

var _ audit.Store = (*Store)(nil)

// NewPostgres returns the audit log in the PostgreSQL database behind
// pool, the pool the registry uses (it stays the caller's to close). The
// audit tables must be migrated (Schema).
func NewPostgres(pool *pgxpool.Pool) *Store {
	db := stdlib.OpenDBFromPool(pool)
	return &Store{d: postgresDialect, pool: pool, w: db, r: db, close: db.Close}
}

// NewSQLite returns the audit log in the SQLite file db, the handle the
// registry uses (it stays the caller's to close): appends go through its
// single writer connection, so an Append holds the database's write lock
// from the head read to the commit and two writers (in this process or
// another) cannot fork the chain. The audit tables must be migrated
// (Schema).
func NewSQLite(db *sqlite.DB) *Store {
	return &Store{d: sqliteDialect, w: db.Writer(), r: db.Reader(), close: func() error { return nil }}
}

// OpenSQLite opens the SQLite file at path (creating it if needed) for the
// audit log alone and migrates the audit tables — for tools and tests
// that need nothing else; pjd opens the file once with sqlite.OpenDB and
// hands it to NewSQLite. Close closes the file.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	db, err := sqlite.OpenDB(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("sqlaudit: %w", err)
	}
	s := NewSQLite(db)
	s.close = db.Close
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.usable("ping"); err != nil {
		return err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close ends the store: every later call fails with audit.ErrUnavailable.
// It closes what the store opened itself (the file OpenSQLite opened), and
// nothing of a shared pool or file.
func (s *Store) Close() error {
	s.closed.Store(true)
	return s.close()
}

// Dialect names the backend: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// DB returns the write connection pool, for tests and tools that inspect
// the tables directly.
func (s *Store) DB() *sql.DB { return s.w }

// wrap marks a database failure as audit.ErrUnavailable, keeping context
// cancellation visible.
func (s *Store) wrap(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlaudit %s: %s: %w: %w", s.d.name, op, audit.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlaudit %s: %s: %w: %v", s.d.name, op, audit.ErrUnavailable, err)
}

// insertChunk bounds rows per INSERT statement (parameter limits).
const insertChunk = 200

// Append implements audit.Store.
func (s *Store) Append(ctx context.Context, key *audit.Key, recs []*audit.Record) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	if err := s.usable("append"); err != nil {
		return err
	}
	if s.pool != nil {
		return s.appendPipelined(ctx, key, recs)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("append: begin", err)
	}
	defer tx.Rollback()
	if s.d.lockChain != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockChain); err != nil {
			return s.wrap("append: lock chain", err)
		}
	}
	head, err := headOf(ctx, tx)
	if err != nil {
		return s.wrap("append: read head", err)
	}
	stmts, err := s.appendStatements(key, head, recs)
	if err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
			return s.wrap("append: insert", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("append: commit", err)
	}
	return nil
}

// headSQL reads the chain's head.
const headSQL = `SELECT seq, hash FROM audit_heads ORDER BY seq DESC LIMIT 1`

// appendPipelined is Append on PostgreSQL in two round trips instead of
// one per statement: the group commit's writer waits for each, and every
// search waits for the writer. The first pipeline begins the transaction,
// takes the chain lock and reads the head; the server runs a pipeline's
// statements in order, each READ COMMITTED statement with a snapshot
// taken when it starts, so the head is read after the lock is held, as
// when the statements go one by one. The second inserts the sealed
// records and commits; the records are durable (and the lock released)
// when COMMIT returns, as before. An error anywhere rolls the transaction
// back (and a connection left in a transaction is never reused: the pool
// drops it).
func (s *Store) appendPipelined(ctx context.Context, key *audit.Key, recs []*audit.Record) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.wrap("append: connect", err)
	}
	defer conn.Release()
	ok := false
	defer func() {
		if !ok && !conn.Conn().IsClosed() && conn.Conn().PgConn().TxStatus() != 'I' {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(s.d.lockChain)
	b.Queue(headSQL)
	br := conn.SendBatch(ctx, b)
	var head audit.Head
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&head.Seq, &head.Hash)
		if errors.Is(err, pgx.ErrNoRows) {
			head, err = audit.Head{}, nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.wrap("append: begin, lock chain, read head", err)
	}

	stmts, err := s.appendStatements(key, head, recs)
	if err != nil {
		return err
	}
	b = &pgx.Batch{}
	for _, q := range stmts {
		b.Queue(q.String(), q.args...)
	}
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	for range stmts {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		// COMMIT of a transaction that failed answers ROLLBACK.
		err = fmt.Errorf("the transaction was rolled back (%s)", tag)
	}
	if err != nil {
		return s.wrap("append: insert, commit", err)
	}
	ok = true
	return nil
}

// rollbackTimeout bounds the ROLLBACK after a failed append.
const rollbackTimeout = 2 * time.Second

// appendStatements seals recs onto head and returns the statements that
// insert them, their entities and the new head.
func (s *Store) appendStatements(key *audit.Key, head audit.Head, recs []*audit.Record) ([]*query, error) {
	sealed, newHead, err := audit.SealBatch(key, head, recs)
	if err != nil {
		return nil, err
	}
	var ents [][2]any
	for _, row := range sealed {
		for _, id := range row.Index.EntityIDs {
			ents = append(ents, [2]any{row.Seq, id})
		}
	}
	if s.d.dollar && len(sealed) <= insertChunk && len(ents) <= insertChunk*2 {
		// PostgreSQL: the records, their entities and the head checkpoint
		// in one statement (data-modifying CTEs).
		q := s.d.query()
		q.WriteString(`WITH r AS (`)
		s.insertRecords(q, sealed)
		q.WriteString(`)`)
		if len(ents) > 0 {
			q.WriteString(`, e AS (`)
			insertEntities(q, ents)
			q.WriteString(`)`)
		}
		q.WriteString(` `)
		insertHead(q, newHead, key, sealed)
		return []*query{q}, nil
	}
	var stmts []*query
	for start := 0; start < len(sealed); start += insertChunk {
		q := s.d.query()
		s.insertRecords(q, sealed[start:min(start+insertChunk, len(sealed))])
		stmts = append(stmts, q)
	}
	for start := 0; start < len(ents); start += insertChunk * 2 {
		q := s.d.query()
		insertEntities(q, ents[start:min(start+insertChunk*2, len(ents))])
		stmts = append(stmts, q)
	}
	q := s.d.query()
	insertHead(q, newHead, key, sealed)
	return append(stmts, q), nil
}

func (s *Store) insertRecords(q *query, chunk []audit.Sealed) {
	q.WriteString(`INSERT INTO audit_records (seq, id, recorded_ms, transaction_code, outcome, patient_id,
			actor_pid, actor_hpr, purpose_code, flagged, key_id, prev_hash, hash, body) VALUES `)
	for i, row := range chunk {
		if i > 0 {
			q.WriteString(", ")
		}
		x := row.Index
		q.values(row.Seq, x.ID, x.TimeMS, x.Transaction, x.Outcome, x.PatientID, x.ActorPID, x.ActorHPR,
			x.PurposeCode, x.Flagged, row.KeyID, row.Prev, row.Hash, string(row.Body))
	}
}

func insertEntities(q *query, chunk [][2]any) {
	q.WriteString(`INSERT INTO audit_record_entities (seq, entity_id) VALUES `)
	for i, e := range chunk {
		if i > 0 {
			q.WriteString(", ")
		}
		q.values(e[0], e[1])
	}
}

func insertHead(q *query, head audit.Head, key *audit.Key, sealed []audit.Sealed) {
	q.WriteString(`INSERT INTO audit_heads (seq, hash, key_id, recorded_ms) VALUES `)
	q.values(head.Seq, head.Hash, key.ID(), sealed[len(sealed)-1].Index.TimeMS)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func headOf(ctx context.Context, q queryer) (audit.Head, error) {
	var h audit.Head
	err := q.QueryRowContext(ctx, headSQL).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{}, nil
	}
	return h, err
}

// Head implements audit.Store.
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	if err := s.usable("head"); err != nil {
		return audit.Head{}, err
	}
	h, err := headOf(ctx, s.r)
	if err != nil {
		return audit.Head{}, s.wrap("head", err)
	}
	return h, nil
}

// Search implements audit.Store.
func (s *Store) Search(ctx context.Context, f audit.Filter) (audit.Page, error) {
	if err := s.usable("search"); err != nil {
		return audit.Page{}, err
	}
	q := s.d.query()
	q.WriteString(`SELECT seq, hash, body FROM audit_records WHERE 1=1`)
	eq := func(col, v string) {
		if v != "" {
			q.WriteString(" AND " + col + " = " + q.arg(v))
		}
	}
	in := func(col string, vs []string) {
		if vs == nil {
			return
		}
		if len(vs) == 0 {
			q.WriteString(" AND 1=0")
			return
		}
		q.WriteString(" AND " + col + " IN (")
		for i, v := range vs {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(q.arg(v))
		}
		q.WriteString(")")
	}
	eq("patient_id", f.PatientID)
	eq("actor_pid", f.AgentPID)
	eq("actor_hpr", f.AgentHPR)
	if f.EntityID != "" {
		q.WriteString(" AND seq IN (SELECT seq FROM audit_record_entities WHERE entity_id = " + q.arg(f.EntityID) + ")")
	}
	if f.EventID != "" {
		q.WriteString(" AND " + s.d.eventID + " = " + q.arg(f.EventID))
	}
	if !f.From.IsZero() {
		q.WriteString(" AND recorded_ms >= " + q.arg(f.From.UnixMilli()))
	}
	if !f.To.IsZero() {
		q.WriteString(" AND recorded_ms < " + q.arg(f.To.UnixMilli()))
	}
	if f.Outcomes != nil {
		outs := make([]string, len(f.Outcomes))
		for i, o := range f.Outcomes {
			outs[i] = string(o)
		}
		in("outcome", outs)
	}
	in("purpose_code", f.PurposeCodes)
	in("transaction_code", f.Transactions)
	if f.FlaggedOnly {
		q.WriteString(" AND flagged = " + s.d.trueLit)
	}
	order := "DESC"
	if f.Ascending {
		if f.Cursor > 0 {
			q.WriteString(" AND seq > " + q.arg(f.Cursor))
		}
		order = "ASC"
	} else if f.Cursor > 0 {
		q.WriteString(" AND seq < " + q.arg(f.Cursor))
	}
	n := f.PageSize()
	q.WriteString(" ORDER BY seq " + order + " LIMIT " + strconv.Itoa(n+1))

	rows, err := s.r.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return audit.Page{}, s.wrap("search", err)
	}
	defer rows.Close()
	var page audit.Page
	for rows.Next() {
		var (
			seq  int64
			hash []byte
			body string
		)
		if err := rows.Scan(&seq, &hash, &body); err != nil {
			return audit.Page{}, s.wrap("search", err)
		}
		if len(page.Records) == n {
			page.Next = page.Records[n-1].Seq
			break
		}
		rec, err := audit.DecodeBody([]byte(body))
		if err != nil {
			return audit.Page{}, fmt.Errorf("sqlaudit: record %d: %w", seq, err)
		}
		rec.Seq = seq
		rec.Hash = hex.EncodeToString(hash)
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return audit.Page{}, s.wrap("search", err)
	}
	return page, nil
}

// iteratePage is how many rows Iterate reads per query.
const iteratePage = 500

// Iterate implements audit.Store. It reads a page of rows, closes the
// query, then calls fn for each, so fn never holds a connection.
func (s *Store) Iterate(ctx context.Context, after int64, fn func(*audit.Sealed) error) error {
	for {
		page, err := s.readPage(ctx, after)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < iteratePage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

func (s *Store) readPage(ctx context.Context, after int64) ([]audit.Sealed, error) {
	if err := s.usable("iterate"); err != nil {
		return nil, err
	}
	q := s.d.query()
	q.WriteString(`SELECT seq, key_id, prev_hash, hash, body, id, recorded_ms, transaction_code, outcome,
		patient_id, actor_pid, actor_hpr, purpose_code, flagged
		FROM audit_records WHERE seq > ` + q.arg(after) + ` ORDER BY seq LIMIT ` + strconv.Itoa(iteratePage))
	rows, err := s.r.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, s.wrap("iterate", err)
	}
	var page []audit.Sealed
	for rows.Next() {
		var (
			row  audit.Sealed
			body string
		)
		x := &row.Index
		if err := rows.Scan(&row.Seq, &row.KeyID, &row.Prev, &row.Hash, &body, &x.ID, &x.TimeMS, &x.Transaction,
			&x.Outcome, &x.PatientID, &x.ActorPID, &x.ActorHPR, &x.PurposeCode, &x.Flagged); err != nil {
			rows.Close()
			return nil, s.wrap("iterate", err)
		}
		row.Body = []byte(body)
		page = append(page, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("iterate", err)
	}
	if len(page) == 0 {
		return nil, nil
	}
	// The entity ids of this page's seq range; a full page's upper bound
	// is its last seq, the final page takes everything after.
	eq := s.d.query()
	eq.WriteString(`SELECT seq, entity_id FROM audit_record_entities WHERE seq >= ` + eq.arg(page[0].Seq))
	if len(page) == iteratePage {
		eq.WriteString(` AND seq <= ` + eq.arg(page[len(page)-1].Seq))
	}
	eq.WriteString(` ORDER BY seq, entity_id`)
	erows, err := s.r.QueryContext(ctx, eq.String(), eq.args...)
	if err != nil {
		return nil, s.wrap("iterate entities", err)
	}
	defer erows.Close()
	bySeq := make(map[int64]int, len(page))
	for i := range page {
		bySeq[page[i].Seq] = i
	}
	for erows.Next() {
		var (
			seq int64
			id  string
		)
		if err := erows.Scan(&seq, &id); err != nil {
			return nil, s.wrap("iterate entities", err)
		}
		if i, ok := bySeq[seq]; ok {
			page[i].Index.EntityIDs = append(page[i].Index.EntityIDs, id)
		}
	}
	if err := erows.Err(); err != nil {
		return nil, s.wrap("iterate entities", err)
	}
	return page, nil
}
