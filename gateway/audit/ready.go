package audit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// FailureWindow is how long Ready reports a failed append: the log is
// unready while its latest append failed less than this long ago and none
// has succeeded since. Past the window, without traffic to prove it
// either way, the store's own checks decide (a node taken out of a load
// balancer for failing appends gets no traffic that could show they work
// again).
const FailureWindow = 30 * time.Second

// appendHealth is the outcome of a Logger's latest append.
type appendHealth struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

func (h *appendHealth) set(at time.Time, err error) {
	h.mu.Lock()
	h.at, h.err = at, err
	h.mu.Unlock()
}

func (h *appendHealth) get() (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.at, h.err
}

// LastAppend returns when the Logger's latest append (one transaction
// for a batch of records) ended and its error (nil: it committed). The
// zero time means nothing has been appended yet.
func (l *Logger) LastAppend() (time.Time, error) { return l.health.get() }

// Ready reports whether the audit log can take records: the store answers
// (Ping) and may append (CanAppend, e.g. the INSERT privileges), when it
// offers those checks, and the latest append did not fail within
// FailureWindow without a success since. It is the audit log's readiness
// check; an unready audit log fails every request that needs a record.
func (l *Logger) Ready(ctx context.Context) error {
	if p, ok := l.store.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			return err
		}
	}
	if c, ok := l.store.(interface{ CanAppend(context.Context) error }); ok {
		if err := c.CanAppend(ctx); err != nil {
			return err
		}
	}
	if at, err := l.health.get(); err != nil && l.opts.Now().Sub(at) < FailureWindow {
		return fmt.Errorf("%w: the latest append failed %v ago: %w", ErrUnavailable, l.opts.Now().Sub(at).Round(time.Millisecond), err)
	}
	return nil
}
