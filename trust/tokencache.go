package trust

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTokenCacheSize is how many verified access tokens a Verifier
// remembers unless Config.TokenCacheSize says otherwise.
const DefaultTokenCacheSize = 4096

// tokenCache remembers access tokens whose signature and claims have been
// verified, so the same token presented again within its lifetime is not
// parsed and verified again (a client sends one token with many requests,
// each with a fresh DPoP proof). It only ever shortens what it holds:
//
//   - an entry is keyed by the SHA-256 of the whole compact token, so only
//     the very same bytes hit;
//   - it expires at the token's exp (without the skew the full check
//     tolerates), so the cache never accepts a token the full check would
//     refuse as expired;
//   - it is valid only under the issuer key snapshot it was verified with:
//     after a JWKS refresh (a key retired or rotated) the token is verified
//     again in full;
//   - refusals are never cached, and the number of entries is bounded.
//
// The DPoP proof — its signature, htm, htu, ath, iat and jti replay — and
// the principal's rules (scope, security level, attestation age) are
// checked on every request, never cached.
type tokenCache struct {
	max  int
	hits atomic.Int64 // for tests and metrics
	mu   sync.Mutex
	m    map[[32]byte]cachedToken
}

type cachedToken struct {
	at  *accessToken
	ik  *issuerKeys
	st  *keyState
	exp time.Time
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, m: make(map[[32]byte]cachedToken)}
}

func tokenSum(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// get returns the entry for sum if it has not expired at now.
func (c *tokenCache) get(sum [32]byte, now time.Time) (cachedToken, bool) {
	if c == nil {
		return cachedToken{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[sum]
	if !ok {
		return cachedToken{}, false
	}
	if !now.Before(e.exp) {
		delete(c.m, sum)
		return cachedToken{}, false
	}
	c.hits.Add(1)
	return e, true
}

// put remembers e under sum. When the cache is full it first drops the
// expired entries, then, if still full, arbitrary ones.
func (c *tokenCache) put(sum [32]byte, e cachedToken, now time.Time) {
	if c == nil || !now.Before(e.exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	makeRoom(c.m, c.max, now, func(e cachedToken) time.Time { return e.exp })
	c.m[sum] = e
}

// makeRoom frees a place for a new entry in m, a cache of at most max
// entries: when m is full it drops the entries expired at now, then, if
// still full, arbitrary ones. The token and assertion caches share it.
func makeRoom[V any](m map[[32]byte]V, max int, now time.Time, exp func(V) time.Time) {
	if len(m) < max {
		return
	}
	for k, v := range m {
		if !now.Before(exp(v)) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < max {
			break
		}
		delete(m, k)
	}
}

// drop forgets sum (an entry whose key snapshot is no longer current).
func (c *tokenCache) drop(sum [32]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, sum)
	c.mu.Unlock()
}

// stats reports the entries held and the hits so far.
func (c *tokenCache) stats() (entries int, hits int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.hits.Load()
}
