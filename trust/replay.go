package trust

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
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
//
// Forget removes id again. The proof verifier calls it only for an id its
// own Seen just recorded (replayed false), when the proof then failed a
// check, so that a proof refused for its own fault does not use up its
// jti. An error leaves id recorded (fail closed).
type ReplayCache interface {
	Seen(ctx context.Context, id string, exp time.Time) (replayed bool, err error)
	Forget(ctx context.Context, id string) error
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

// Forget implements ReplayCache.
func (c *MemoryReplayCache) Forget(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
	return nil
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

// ForgetfulReplayCache is a ReplayCache that can lose what it recorded —
// Redis restarted without persistence (or from an older snapshot) — and
// knows when. ForgottenBefore returns the time before which ids may have
// been forgotten (the zero time when nothing was), learning it first if
// the cache may have restarted since it last asked; observed says that
// time is a restart seen while running (so a client clock running ahead
// of the observer must be allowed for) rather than the start of this
// process. The proof verifier refuses a proof issued before it, because it
// can no longer tell whether that proof was used. An error means the cache
// could not be asked (fail closed).
type ForgetfulReplayCache interface {
	ReplayCache
	ForgottenBefore(ctx context.Context) (since time.Time, observed bool, err error)
}

// RedisReplayCache is a ReplayCache shared by every gateway node: SET NX
// with a TTL, so the first node to record an id wins atomically.
//
// It also detects a Redis restart, after which every id recorded before is
// gone. Redis gives every start a new run_id (INFO server); the cache
// reads it whenever its client has dialled a new connection since it last
// looked (a restart breaks every connection, so the first command after
// one dials) — no extra round trip otherwise. The first gateway node to
// see a run_id records under a key of that run_id (SET NX, no TTL) since
// when ids may be missing: the time it saw the new run when it had seen
// another before (a restart observed), or its own start when this run is
// the first it sees (ids recorded before this process started may be gone;
// none recorded since). Every node takes what that key says
// (ForgottenBefore).
type RedisReplayCache struct {
	client *redis.Client
	prefix string
	now    func() time.Time
	state  *restartState
}

// restartState is what a cache knows of its Redis run; shared by the
// copies WithClock makes.
type restartState struct {
	dialled  atomic.Bool // a connection was dialled since the run_id was last read
	mu       sync.Mutex
	start    time.Time // when this cache was made
	runID    string
	since    time.Time // from when ids are known to be kept in the current run
	observed bool      // since is a restart seen while running
}

var _ ForgetfulReplayCache = (*RedisReplayCache)(nil)

// NewRedisReplayCache returns a cache storing ids under prefix in client's
// database. The TTL of each key is exp minus the current time (at least one
// second). It adds a dial hook to client to notice new connections.
func NewRedisReplayCache(client *redis.Client, prefix string) *RedisReplayCache {
	st := &restartState{start: time.Now()}
	st.dialled.Store(true) // read the run_id on first use
	client.AddHook(dialWatch{st})
	return &RedisReplayCache{client: client, prefix: prefix, now: time.Now, state: st}
}

// WithClock returns c using now to compute TTLs and restart times (tests
// pin it); until c has read Redis's run, its start is now's time.
func (c *RedisReplayCache) WithClock(now func() time.Time) *RedisReplayCache {
	cp := *c
	if now != nil {
		cp.now = now
		c.state.mu.Lock()
		if c.state.runID == "" {
			c.state.start = now()
		}
		c.state.mu.Unlock()
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

// Forget implements ReplayCache: DEL of the id's key.
func (c *RedisReplayCache) Forget(ctx context.Context, id string) error {
	if err := c.client.Del(ctx, c.prefix+id).Err(); err != nil {
		return fmt.Errorf("redis DEL: %w", err)
	}
	return nil
}

// ForgottenBefore implements ForgetfulReplayCache. Call it after Seen: if
// Seen's command had to dial (Redis restarted under it), the run_id is read
// now, before the proof is judged.
func (c *RedisReplayCache) ForgottenBefore(ctx context.Context) (time.Time, bool, error) {
	st := c.state
	if st.dialled.Swap(false) {
		if err := c.readRun(ctx); err != nil {
			st.dialled.Store(true) // ask again next time
			return time.Time{}, false, err
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.since, st.observed, nil
}

// readRun reads Redis's run_id and, when it is not the one this cache
// knows, since when ids are kept in it: as recorded by the first node to
// see this run, which may be this one.
func (c *RedisReplayCache) readRun(ctx context.Context) error {
	info, err := c.client.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("redis INFO server: %w", err)
	}
	runID := infoField(info, "run_id")
	if runID == "" {
		return fmt.Errorf("redis INFO server: no run_id")
	}
	st := c.state
	st.mu.Lock()
	known, start := st.runID, st.start
	st.mu.Unlock()
	if runID == known {
		return nil
	}
	mark := start.UTC().Format(time.RFC3339Nano) + " start"
	if known != "" {
		mark = c.now().UTC().Format(time.RFC3339Nano) + " observed"
	}
	key := c.prefix + "run:" + runID
	if _, err := c.client.SetNX(ctx, key, mark, 0).Result(); err != nil {
		return fmt.Errorf("redis SET NX %s: %w", key, err)
	}
	v, err := c.client.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("redis GET %s: %w", key, err)
	}
	ts, kind, _ := strings.Cut(v, " ")
	since, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return fmt.Errorf("redis %s: %q does not start with a time: %w", key, v, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.runID, st.since, st.observed = runID, since, kind == "observed"
	return nil
}

// infoField returns the value of name in an INFO reply ("name:value"
// lines).
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// dialWatch notes every connection its client dials.
type dialWatch struct{ st *restartState }

func (d dialWatch) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err == nil {
			d.st.dialled.Store(true)
		}
		return conn, err
	}
}

func (dialWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (dialWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
