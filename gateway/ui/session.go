package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"pjd/trust"
)

// LaunchGrant is what a launch token stands for until it is used: who
// asked, for which patient, until when.
type LaunchGrant struct {
	Principal *trust.Principal `json:"principal"`
	Patient   string           `json:"patient,omitempty"`
	Issued    time.Time        `json:"issued"`
	Expires   time.Time        `json:"expires"`
}

// Session is a browser session that follows a launch. It carries the
// principal the host authenticated; every page re-runs policy and audit
// through the Backend with it.
type Session struct {
	Principal *trust.Principal `json:"principal"`
	Patient   string           `json:"patient,omitempty"`
	// CSRF is the token POST forms (log out) must carry.
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	// Expires is the absolute end (Created + SessionTTL).
	Expires time.Time `json:"expires"`
}

// SessionStore keeps launch grants and sessions where every gateway node
// sees them (Redis in production, memory for one process). Keys are
// opaque strings chosen by the UI (a hash of the token or session id, so
// the store never holds a usable credential). Values are stored as JSON.
// ttl is how long the store keeps an entry; the UI also checks the times
// inside the values with its own clock.
type SessionStore interface {
	// PutLaunch stores g under key for ttl. ErrExists when key is taken.
	PutLaunch(ctx context.Context, key string, g *LaunchGrant, ttl time.Duration) error
	// TakeLaunch returns the grant under key and removes it, atomically:
	// of any number of concurrent calls for one key, at most one gets the
	// grant. ErrLaunchNotFound when there is none (unknown, used or
	// expired).
	TakeLaunch(ctx context.Context, key string) (*LaunchGrant, error)
	// CreateSession stores s under key for ttl. ErrExists when key is
	// taken.
	CreateSession(ctx context.Context, key string, s *Session, ttl time.Duration) error
	// GetSession returns the session under key, or ErrSessionNotFound.
	GetSession(ctx context.Context, key string) (*Session, error)
	// UpdateSession replaces the session under key and sets its ttl, only
	// if it still exists (ErrSessionNotFound otherwise), so a session
	// deleted by a log-out is never resurrected by a concurrent request.
	UpdateSession(ctx context.Context, key string, s *Session, ttl time.Duration) error
	// DeleteSession removes the session under key; deleting a missing
	// session is not an error.
	DeleteSession(ctx context.Context, key string) error
}

// Store errors.
var (
	ErrLaunchNotFound  = errors.New("ui: no such launch token (unknown, used or expired)")
	ErrSessionNotFound = errors.New("ui: no such session (unknown, expired or ended)")
	ErrExists          = errors.New("ui: key already in use")
	ErrInvalidTTL      = errors.New("ui: ttl must be positive")
)

// newSecret returns a 256-bit random value, base64url without padding (43
// characters).
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ui: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validSecret reports whether s has the shape newSecret produces, so a
// malformed token is refused before the store is asked.
func validSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// storeKey is the key a secret is stored under: its SHA-256, so a dump of
// the store yields no usable token or session id.
func storeKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// MemorySessionStore is a SessionStore for one process (pjd serve --dev,
// tests). Values are kept as JSON so callers never share a *Session.
type MemorySessionStore struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
	puts    int
}

type memEntry struct {
	value   []byte
	expires time.Time
}

var _ SessionStore = (*MemorySessionStore)(nil)

// NewMemorySessionStore returns an empty store whose expiry follows now
// (time.Now when nil).
func NewMemorySessionStore(now func() time.Time) *MemorySessionStore {
	if now == nil {
		now = time.Now
	}
	return &MemorySessionStore{now: now, entries: map[string]memEntry{}}
}

// get returns the live entry under key (the lock is held).
func (m *MemorySessionStore) get(key string) ([]byte, bool) {
	e, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, key)
		return nil, false
	}
	return e.value, true
}

// put stores value (the lock is held) and now and then drops expired
// entries so the map does not grow without bound.
func (m *MemorySessionStore) put(key string, value []byte, ttl time.Duration) {
	now := m.now()
	m.entries[key] = memEntry{value: value, expires: now.Add(ttl)}
	m.puts++
	if m.puts%256 == 0 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
}

func (m *MemorySessionStore) create(ctx context.Context, key string, v any, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ui: encoding %s: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.get(key); ok {
		return ErrExists
	}
	m.put(key, b, ttl)
	return nil
}

// PutLaunch implements SessionStore.
func (m *MemorySessionStore) PutLaunch(ctx context.Context, key string, g *LaunchGrant, ttl time.Duration) error {
	return m.create(ctx, "launch:"+key, g, ttl)
}

// decode reads a stored launch grant or session (what names it).
func decode[T any](b []byte, what string) (*T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("ui: decoding %s: %w", what, err)
	}
	return &v, nil
}

// TakeLaunch implements SessionStore.
func (m *MemorySessionStore) TakeLaunch(ctx context.Context, key string) (*LaunchGrant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.get("launch:" + key)
	delete(m.entries, "launch:"+key)
	m.mu.Unlock()
	if !ok {
		return nil, ErrLaunchNotFound
	}
	return decode[LaunchGrant](b, "launch grant")
}

// CreateSession implements SessionStore.
func (m *MemorySessionStore) CreateSession(ctx context.Context, key string, s *Session, ttl time.Duration) error {
	return m.create(ctx, "session:"+key, s, ttl)
}

// GetSession implements SessionStore.
func (m *MemorySessionStore) GetSession(ctx context.Context, key string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.get("session:" + key)
	m.mu.Unlock()
	if !ok {
		return nil, ErrSessionNotFound
	}
	return decode[Session](b, "session")
}

// UpdateSession implements SessionStore.
func (m *MemorySessionStore) UpdateSession(ctx context.Context, key string, s *Session, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("ui: encoding session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.get("session:" + key); !ok {
		return ErrSessionNotFound
	}
	m.put("session:"+key, b, ttl)
	return nil
}

// DeleteSession implements SessionStore.
func (m *MemorySessionStore) DeleteSession(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.entries, "session:"+key)
	m.mu.Unlock()
	return nil
}
