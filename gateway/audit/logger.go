package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LoggerOptions tune a Logger. The zero value is usable.
type LoggerOptions struct {
	// Timeout bounds how long Log waits for its record to be committed,
	// independent of the request's context. Default 5 s.
	Timeout time.Duration
	// MaxBatch caps how many records one transaction carries. Default
	// 256; 1 gives one transaction per record.
	MaxBatch int
	// QueueSize is how many records may wait for the writer. Default 4096.
	QueueSize int
	// Now is the clock for record times. Default time.Now.
	Now func() time.Time
	// NewID makes record ids. Default NewID (random UUID).
	NewID func() string
	// OnCommit is called by the writer with every batch right after it
	// committed, in seq order (e.g. SyslogForwarder.Forward). It must not
	// block.
	OnCommit func([]Record)
	// Metrics receives batch sizes and failures. Default NopMetrics.
	Metrics Metrics
}

// Logger writes audit records with group commit: one writer goroutine
// takes every record waiting at the moment it starts a transaction and
// commits them together, then acknowledges each caller. Each Log call
// still returns only after its own record is durable, so concurrency
// raises throughput without weakening the guarantee.
type Logger struct {
	store   Appender
	key     *Key
	opts    LoggerOptions
	queue   chan *pending
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	stopped chan struct{}
	health  appendHealth // the latest append's outcome, for Ready
}

type pending struct {
	rec      *Record
	deadline time.Time
	done     chan error // buffered(1)
}

// NewLogger starts a Logger that appends to store, sealing with key.
// Close it to flush and stop the writer.
func NewLogger(store Appender, key *Key, opts LoggerOptions) (*Logger, error) {
	if store == nil {
		return nil, errors.New("audit: NewLogger: no store")
	}
	if key == nil {
		return nil, fmt.Errorf("%w: NewLogger: no key", ErrBadKey)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = NewID
	}
	if opts.Metrics == nil {
		opts.Metrics = NopMetrics{}
	}
	l := &Logger{
		store:   store,
		key:     key,
		opts:    opts,
		queue:   make(chan *pending, opts.QueueSize),
		stopped: make(chan struct{}),
	}
	go l.run()
	return l, nil
}

// Log seals r onto the chain and returns once it is committed. It returns
// an error — and the caller must then fail its request — when r is invalid
// (ErrInvalidRecord), the Logger is closed (ErrClosed), the store failed
// (ErrUnavailable), or the commit did not happen within the Logger's
// timeout (ErrTimeout). ctx is not used for cancellation: a request that
// is cancelled while its record is being written does not lose the record.
//
// r is taken by value; the caller's copy is not modified. Use LogRecord
// to learn the assigned id, seq and hash.
func (l *Logger) Log(ctx context.Context, r Record) error {
	_, err := l.LogRecord(ctx, r)
	return err
}

// LogRecord is Log returning the committed record (with ID, Time, Seq and
// Hash set).
func (l *Logger) LogRecord(_ context.Context, r Record) (Record, error) {
	rec := r.Clone()
	if err := rec.Normalize(l.opts.Now(), l.opts.NewID); err != nil {
		return Record{}, err
	}
	timer := time.NewTimer(l.opts.Timeout)
	defer timer.Stop()
	p := &pending{rec: &rec, deadline: time.Now().Add(l.opts.Timeout), done: make(chan error, 1)}

	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Record{}, ErrClosed
	}
	select {
	case l.queue <- p:
	case <-timer.C:
		l.mu.RUnlock()
		l.opts.Metrics.AuditFailed(1)
		return Record{}, fmt.Errorf("%w: queue full for %v", ErrTimeout, l.opts.Timeout)
	}
	l.mu.RUnlock()

	select {
	case err := <-p.done:
		if err != nil {
			return Record{}, err
		}
		return rec, nil
	case <-timer.C:
		return Record{}, fmt.Errorf("%w: not committed within %v", ErrTimeout, l.opts.Timeout)
	}
}

// Pending returns how many records wait for the writer (a gauge for
// readiness and metrics).
func (l *Logger) Pending() int { return len(l.queue) }

// Close stops accepting records, commits every record already queued, and
// stops the writer. It returns ctx's error if that takes longer than ctx
// allows (records still queued then get ErrClosed or ErrTimeout).
func (l *Logger) Close(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	select {
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer: it batches whatever is queued and commits it.
func (l *Logger) run() {
	defer close(l.stopped)
	batch := make([]*pending, 0, l.opts.MaxBatch)
	for first := range l.queue {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < l.opts.MaxBatch {
			select {
			case p, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		l.commit(batch)
	}
}

// commit appends one batch. Records whose caller has already given up
// (deadline passed) are not written: their request failed, so no data
// left under them. If the store refuses the batch because of a record
// (ErrInvalidRecord), the batch is retried one record per transaction so
// one bad record cannot fail its neighbours; any other failure fails the
// whole batch.
func (l *Logger) commit(batch []*pending) {
	now := time.Now()
	live := batch[:0:0]
	for _, p := range batch {
		if now.After(p.deadline) {
			p.done <- fmt.Errorf("%w: expired in queue", ErrTimeout)
			l.opts.Metrics.AuditFailed(1)
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	err := l.appendBatch(live)
	switch {
	case err == nil:
	case len(live) > 1 && errors.Is(err, ErrInvalidRecord):
		for _, p := range live {
			if err := l.appendBatch([]*pending{p}); err != nil {
				p.done <- err
				l.opts.Metrics.AuditFailed(1)
			}
		}
	default:
		for _, p := range live {
			p.done <- err
		}
		l.opts.Metrics.AuditFailed(len(live))
	}
}

// appendBatch appends ps in one transaction and, on success, acknowledges
// each caller and runs OnCommit. On failure it reports nothing.
func (l *Logger) appendBatch(ps []*pending) error {
	recs := make([]*Record, len(ps))
	for i, p := range ps {
		recs[i] = p.rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
	defer cancel()
	start := time.Now()
	if err := l.store.Append(ctx, l.key, recs); err != nil {
		for _, r := range recs {
			r.Seq, r.Hash = 0, ""
		}
		l.health.set(l.opts.Now(), err)
		return err
	}
	l.health.set(l.opts.Now(), nil)
	l.opts.Metrics.AuditCommitted(len(ps), time.Since(start))
	var out []Record
	if l.opts.OnCommit != nil {
		out = make([]Record, len(recs))
		for i, r := range recs {
			out[i] = r.Clone()
		}
	}
	for _, p := range ps {
		p.done <- nil
	}
	if out != nil {
		l.opts.OnCommit(out)
	}
	return nil
}
