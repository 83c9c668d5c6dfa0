// Package replaytest is the one test suite every trust.ReplayCache
// implementation runs (memory and Redis), so that they behave alike.
//
// It must never depend on a particular backend: anything backend-specific
// (Redis TTLs, memory bounds) is tested beside that backend.
package replaytest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pjd/trust"
)

// Clock is the settable clock the suite drives the cache with (and other
// trust tests their verifiers).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Factory returns a fresh, empty cache that computes expiry with
// clock.Now. ExpiresByClock reports whether advancing the clock expires
// entries (true for memory; false for Redis, whose TTLs run on the server).
type Factory struct {
	New            func(t *testing.T, clock *Clock) trust.ReplayCache
	ExpiresByClock bool
}

// Run runs every scenario against caches made by f.
func Run(t *testing.T, f Factory) {
	start := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	fresh := func(t *testing.T) (trust.ReplayCache, *Clock) {
		c := NewClock(start)
		return f.New(t, c), c
	}
	ctx := context.Background()

	t.Run("first sighting is not a replay, the second is", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(time.Minute)
		for i, want := range []bool{false, true, true} {
			got, err := rc.Seen(ctx, "jti-1", exp)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("call %d: replayed=%v, want %v", i, got, want)
			}
		}
	})

	t.Run("ids are independent", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(time.Minute)
		for i := 0; i < 50; i++ {
			got, err := rc.Seen(ctx, fmt.Sprintf("id-%d", i), exp)
			if err != nil || got {
				t.Fatalf("id-%d: replayed=%v err=%v", i, got, err)
			}
		}
	})

	t.Run("still a replay until it expires", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(2 * time.Minute)
		if r, err := rc.Seen(ctx, "jti-exp", exp); err != nil || r {
			t.Fatalf("first: %v %v", r, err)
		}
		clk.Advance(time.Minute)
		if r, err := rc.Seen(ctx, "jti-exp", exp); err != nil || !r {
			t.Fatalf("before expiry: replayed=%v err=%v", r, err)
		}
		if !f.ExpiresByClock {
			return
		}
		clk.Advance(90 * time.Second)
		if r, err := rc.Seen(ctx, "jti-exp", clk.Now().Add(time.Minute)); err != nil || r {
			t.Fatalf("after expiry: replayed=%v err=%v", r, err)
		}
	})

	t.Run("concurrent first sightings: exactly one wins", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(time.Minute)
		const n = 32
		var wins, errs atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := rc.Seen(ctx, "contended", exp)
				if err != nil {
					errs.Add(1)
					return
				}
				if !r {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if errs.Load() != 0 || wins.Load() != 1 {
			t.Fatalf("wins=%d errors=%d, want exactly one win", wins.Load(), errs.Load())
		}
	})

	t.Run("a cancelled context is an error, never an acceptance", func(t *testing.T) {
		rc, clk := fresh(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		r, err := rc.Seen(cctx, "cancelled", clk.Now().Add(time.Minute))
		if err == nil {
			t.Fatalf("Seen with a cancelled context returned replayed=%v and no error", r)
		}
	})

	t.Run("a forgotten id is new again; others stay", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(time.Minute)
		for _, id := range []string{"forget-me", "keep-me"} {
			if r, err := rc.Seen(ctx, id, exp); err != nil || r {
				t.Fatalf("%s first: %v %v", id, r, err)
			}
		}
		if err := rc.Forget(ctx, "forget-me"); err != nil {
			t.Fatal(err)
		}
		if err := rc.Forget(ctx, "never-seen"); err != nil {
			t.Fatalf("Forget of an unknown id: %v", err)
		}
		for id, want := range map[string]bool{"forget-me": false, "keep-me": true, "never-seen": false} {
			if r, err := rc.Seen(ctx, id, exp); err != nil || r != want {
				t.Fatalf("%s after Forget: replayed=%v err=%v, want %v", id, r, err, want)
			}
		}
	})

	t.Run("long and odd ids", func(t *testing.T) {
		rc, clk := fresh(t)
		exp := clk.Now().Add(time.Minute)
		for _, id := range []string{"", " ", "a:b:c", "æøå", string(make([]byte, 512))} {
			r1, err := rc.Seen(ctx, id, exp)
			if err != nil || r1 {
				t.Fatalf("%q first: %v %v", id, r1, err)
			}
			r2, err := rc.Seen(ctx, id, exp)
			if err != nil || !r2 {
				t.Fatalf("%q second: %v %v", id, r2, err)
			}
		}
	})
}
