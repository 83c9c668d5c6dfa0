package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
)

// DefaultSAMLCacheSize is how many verified assertions a SAMLVerifier
// remembers unless SAMLConfig.CacheSize says otherwise.
const DefaultSAMLCacheSize = 4096

// samlCache remembers XUA assertions whose signature, conditions and
// attributes have been verified, so that the same assertion presented
// again — an initiating gateway sends one per consumer for a few minutes
// (trust.XUACache) — is not canonicalised, verified and parsed again. It
// only ever shortens what it holds, as tokenCache does for access tokens:
//
//   - an entry is keyed by the SHA-256 of the exact serialisation of the
//     assertion with every namespace declaration in scope (what the
//     signature check and the attribute reading see), so only the very
//     same assertion hits: one byte changed is a full verification;
//   - it expires at the earliest of the assertion's NotOnOrAfter (without
//     the skew the full check tolerates), the end of its attestation's
//     age (IssueInstant + the maximum age) and the end of the signing
//     certificate's validity, so the cache never accepts what the full
//     check would refuse as expired;
//   - it belongs to the verifier (its trusted certificates, issuers and
//     audiences are fixed when it is made) and is used only while the
//     certificate it was verified with is still trusted;
//   - the checks of where the assertion sits in the message (one
//     assertion, in the WS-Security header, its ID unique in the message)
//     run on every message, never cached;
//   - refusals are never cached, every hit gets its own copy of the
//     Principal, and the number of entries is bounded.
type samlCache struct {
	max  int
	hits atomic.Int64
	mu   sync.Mutex
	m    map[[32]byte]cachedAssertion
}

type cachedAssertion struct {
	p    *Principal
	cert *x509.Certificate
	exp  time.Time
}

func newSAMLCache(max int) *samlCache {
	if max <= 0 {
		return nil
	}
	return &samlCache{max: max, m: make(map[[32]byte]cachedAssertion)}
}

// assertionSum is the cache key of the detached assertion el.
func assertionSum(el *etree.Element) ([32]byte, bool) {
	var sum [32]byte
	d := etree.NewDocument()
	d.SetRoot(el.Copy())
	h := sha256.New()
	if _, err := d.WriteTo(h); err != nil {
		return sum, false
	}
	copy(sum[:], h.Sum(nil))
	return sum, true
}

// get returns a copy of the principal under sum if it has not expired at
// now and its certificate is still one of trusted.
func (c *samlCache) get(sum [32]byte, now time.Time, trusted []*x509.Certificate) (*Principal, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[sum]
	if !ok {
		return nil, false
	}
	if !now.Before(e.exp) || !slices.Contains(trusted, e.cert) {
		delete(c.m, sum)
		return nil, false
	}
	c.hits.Add(1)
	return clonePrincipal(e.p), true
}

// put remembers a copy of p under sum until exp. When the cache is full
// it first drops the expired entries, then, if still full, arbitrary ones.
func (c *samlCache) put(sum [32]byte, p *Principal, cert *x509.Certificate, exp, now time.Time) {
	if c == nil || !now.Before(exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	makeRoom(c.m, c.max, now, func(e cachedAssertion) time.Time { return e.exp })
	c.m[sum] = cachedAssertion{p: clonePrincipal(p), cert: cert, exp: exp}
}

// stats reports the entries held and the hits so far.
func (c *samlCache) stats() (entries int, hits int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.hits.Load()
}

// clonePrincipal is a deep copy of p (its slices are its own).
func clonePrincipal(p *Principal) *Principal {
	q := *p
	q.Patients = slices.Clone(p.Patients)
	q.Scopes = slices.Clone(p.Scopes)
	return &q
}
