package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"pjd/registry"
)

// Store implements registry.Store over database/sql.
type Store struct {
	d *Dialect
	// db runs Update transactions; rdb runs reads outside a transaction.
	// They are the same pool for PostgreSQL; SQLite keeps a single writer
	// connection and a separate read-only pool.
	db, rdb *sql.DB
	// conflicts counts Update attempts rolled back to run again.
	conflicts atomic.Uint64
}

// New returns a Store writing through db and reading through rdb (which may
// be db). The handles stay the caller's: the database they open is shared
// with the audit log and the blocks, and the backend that opened it
// closes it.
func New(d *Dialect, db, rdb *sql.DB) *Store {
	if rdb == nil {
		rdb = db
	}
	return &Store{d: d, db: db, rdb: rdb}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.wrap(ctx, "ping", err)
	}
	if s.rdb != s.db {
		if err := s.rdb.PingContext(ctx); err != nil {
			return s.wrap(ctx, "ping", err)
		}
	}
	return nil
}

// Conflicts returns how many Update attempts were rolled back on a
// serialization failure, deadlock or unique-key race and run again, since
// the store was opened (the benchmarks report it next to their figures).
func (s *Store) Conflicts() uint64 { return s.conflicts.Load() }

// SQL returns the handle Update uses (for backend-specific tests and
// tools).
func (s *Store) SQL() *sql.DB { return s.db }

// wrap turns a database error into the store's error: the context's error
// when the context ended, registry.ErrUnavailable, registry.ErrConflict or
// ErrInvalid by the dialect's classification, else the error itself, each
// prefixed with the backend and the operation.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
		}
		return fmt.Errorf("%s: %s: %w (%v)", s.d.Name, op, cerr, err)
	}
	switch s.d.Classify(err) {
	case KindUnavailable:
		return fmt.Errorf("%s: %s: %w: %w", s.d.Name, op, registry.ErrUnavailable, err)
	case KindRetry:
		return fmt.Errorf("%s: %s: %w: %w", s.d.Name, op, registry.ErrConflict, err)
	case KindInvalid:
		return fmt.Errorf("%s: %s: %w: %w", s.d.Name, op, ErrInvalid, err)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}

// Update runs fn in one transaction (see registry.Store.Update). It runs fn
// again, up to Dialect.MaxAttempts times, when the database reported a
// serialization failure, deadlock or unique-key violation during the
// attempt — whatever fn made of that error — so that fn re-reads and can
// report the duplicate properly. Any other error from fn is returned
// unchanged, after rollback.
func (s *Store) Update(ctx context.Context, fn func(tx registry.Tx) error) error {
	var last error
	for attempt := 1; attempt <= s.d.MaxAttempts; attempt++ {
		if attempt > 1 && s.d.Backoff != nil {
			t := time.NewTimer(s.d.Backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: update: %w (after conflict: %v)", s.d.Name, ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, err := s.updateOnce(ctx, fn)
		if !retry {
			return err
		}
		s.conflicts.Add(1)
		last = err
	}
	return fmt.Errorf("%s: update: %w: gave up after %d attempts: %v", s.d.Name, registry.ErrConflict, s.d.MaxAttempts, last)
}

func (s *Store) updateOnce(ctx context.Context, fn func(tx registry.Tx) error) (retry bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("%s: update: %w", s.d.Name, err)
	}
	sqlTx, err := s.db.BeginTx(ctx, s.d.UpdateTx)
	if err != nil {
		return s.d.Classify(err) == KindRetry && ctx.Err() == nil, s.wrap(ctx, "begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = sqlTx.Rollback() // a failed attempt is discarded; its error is the one returned
		}
	}()

	t := &tx{reader: reader{s: s, q: sqlTx}}
	t.reader.t = t
	ferr := fn(t)
	t.mu.Lock()
	conflict, failed := t.conflict, t.failed
	t.mu.Unlock()

	if conflict && ctx.Err() == nil {
		if ferr == nil {
			ferr = failed
		}
		return true, ferr
	}
	if ferr != nil {
		return false, ferr
	}
	if failed != nil {
		// fn ignored a failed statement: committing would store part of
		// what it meant to store.
		return false, fmt.Errorf("%s: update: a statement failed but fn returned nil: %w", s.d.Name, failed)
	}
	if err := t.lockPending(ctx); err != nil {
		return t.conflicted() && ctx.Err() == nil, err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return s.d.Classify(err) == KindRetry && ctx.Err() == nil, s.wrap(ctx, "commit", err)
	}
	return false, nil
}

// queryer is what reads and writes need: a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx is the registry.Tx of one Update attempt.
type tx struct {
	reader
	mu       sync.Mutex
	conflict bool  // a statement failed with a retryable error
	failed   error // the first statement that failed
	// held are the key locks taken, pending those to take before commit
	// (locks.go), by key hash.
	held, pending map[int64]lockMode
}

func (t *tx) conflicted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conflict
}

var _ registry.Tx = (*tx)(nil)

// note records a failed statement and returns its wrapped error.
func (t *tx) note(ctx context.Context, op string, err error) error {
	werr := t.s.wrap(ctx, op, err)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.d.Classify(err) == KindRetry {
		t.conflict = true
	}
	if t.failed == nil {
		t.failed = werr
	}
	return werr
}

// record notes err (a write refused before reaching the database) as the
// attempt's failure, so that Update will not commit if fn ignores it.
func (t *tx) record(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = err
	}
	return err
}

// Backoff returns a jittered exponential backoff: attempt 2 waits about
// base, each later attempt twice as long, capped at max; the wait is
// drawn uniformly from [d/2, d].
func Backoff(base, max time.Duration, rnd func(n int64) int64) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 2; i < attempt && d < max; i++ {
			d *= 2
		}
		if d > max {
			d = max
		}
		half := int64(d / 2)
		if half <= 0 {
			return d
		}
		return time.Duration(half + rnd(half+1))
	}
}
