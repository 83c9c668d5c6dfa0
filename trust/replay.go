package trust

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplayCache remembers DPoP proof ids (jti) until the proof could no longer
// be accepted anyway, so that a captured proof cannot be sent twice.
//
// Seen records id until exp and reports whether id was already recorded
// (and has not expired). It must be atomic across every gateway node that
// shares the cache. An error means the cache could not be asked; callers
// refuse the request (fail closed).
type ReplayCache interface {
	Seen(ctx context.Context, id string, exp time.Time) (replayed bool, err error)
}

// MemoryReplayCache is a ReplayCache for one process (pjd serve --dev and
// tests). Entries expire at their exp by the injected clock.
type MemoryReplayCache struct {
	now        func() time.Time
	maxEntries int

	mu      sync.Mutex
	entries map[string]time.Time
	inserts int
}

var _ ReplayCache = (*MemoryReplayCache)(nil)

// DefaultMemoryReplayEntries bounds a MemoryReplayCache.
const DefaultMemoryReplayEntries = 1 << 20

// NewMemoryReplayCache returns an in-memory cache using now as its clock
// (time.Now when nil). maxEntries bounds memory (DefaultMemoryReplayEntries
// when <= 0): when the cache is full of unexpired ids, Seen fails and the
// request is refused rather than forgetting ids early.
func NewMemoryReplayCache(now func() time.Time, maxEntries int) *MemoryReplayCache {
	if now == nil {
		now = time.Now
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMemoryReplayEntries
	}
	return &MemoryReplayCache{now: now, maxEntries: maxEntries, entries: make(map[string]time.Time)}
}

// ErrReplayCacheFull is returned by a MemoryReplayCache holding maxEntries
// unexpired ids.
var ErrReplayCacheFull = errors.New("replay cache full")

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(ctx context.Context, id string, exp time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		if now.Before(e) {
			return true, nil
		}
		delete(c.entries, id)
	}
	c.inserts++
	if len(c.entries) >= c.maxEntries || c.inserts >= 4096 {
		c.sweepLocked(now)
	}
	if len(c.entries) >= c.maxEntries {
		return false, ErrReplayCacheFull
	}
	c.entries[id] = exp
	return false, nil
}

func (c *MemoryReplayCache) sweepLocked(now time.Time) {
	c.inserts = 0
	for k, e := range c.entries {
		if !now.Before(e) {
			delete(c.entries, k)
		}
	}
}

// Len returns the number of ids held (expired ones included until swept).
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// RedisReplayCache is a ReplayCache shared by every gateway node: SET NX
// with a TTL, so the first node to record an id wins atomically.
type RedisReplayCache struct {
	client *redis.Client
	prefix string
	now    func() time.Time
}

var _ ReplayCache = (*RedisReplayCache)(nil)

// NewRedisReplayCache returns a cache storing ids under prefix in client's
// database. The TTL of each key is exp minus the current time (at least one
// second).
func NewRedisReplayCache(client *redis.Client, prefix string) *RedisReplayCache {
	return &RedisReplayCache{client: client, prefix: prefix, now: time.Now}
}

// WithClock returns c using now to compute TTLs (tests pin it).
func (c *RedisReplayCache) WithClock(now func() time.Time) *RedisReplayCache {
	cp := *c
	if now != nil {
		cp.now = now
	}
	return &cp
}

// Seen implements ReplayCache.
func (c *RedisReplayCache) Seen(ctx context.Context, id string, exp time.Time) (bool, error) {
	ttl := exp.Sub(c.now())
	if ttl < time.Second {
		ttl = time.Second
	}
	ok, err := c.client.SetNX(ctx, c.prefix+id, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis SET NX: %w", err)
	}
	return !ok, nil
}
