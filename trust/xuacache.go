package trust

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
)

// DefaultXUACacheSize is how many minted assertions an XUACache holds
// unless told otherwise.
const DefaultXUACacheSize = 1024

// XUACache remembers the assertions an XUAMinter minted, so that a
// consumer's federated searches — one assertion per community per search —
// do not each pay an RSA signature and an exclusive C14N. It only ever
// hands back what Mint would have made, a little earlier:
//
//   - an entry is keyed by the SHA-256 of everything the assertion says
//     about its subject: the whole Principal (person, organisation,
//     attestation with its toa, patients, client, scopes, token id and
//     expiry), the audience, and the minter's issuer, home community and
//     signing certificate. Another principal, attestation, audience or
//     key is another entry; nothing is shared between them;
//   - an entry is used only in the first half of the assertion's validity
//     (never at or past NotOnOrAfter − half its lifetime), so the
//     responding side always gets at least half the lifetime Mint gives;
//   - the correlation id (nhn-event-id) and traceparent travel outside
//     the assertion (HTTP headers and WS-Context), so a reused assertion
//     never carries another search's ids;
//   - every caller gets its own copy of the element (it is put into a
//     wsse:Security header, which re-parents it);
//   - the number of entries is bounded (least recently used dropped).
//
// It is safe for concurrent use.
type XUACache struct {
	max  int
	hits atomic.Int64
	mu   sync.Mutex
	ll   *list.List // front: most recently used *xuaEntry
	m    map[[32]byte]*list.Element
}

type xuaEntry struct {
	key       [32]byte
	assertion *etree.Element // never handed out: callers get a copy
	reuseTill time.Time      // used while now is before it
}

// NewXUACache returns a cache of at most max assertions (DefaultXUACacheSize
// when max ≤ 0).
func NewXUACache(max int) *XUACache {
	if max <= 0 {
		max = DefaultXUACacheSize
	}
	return &XUACache{max: max, ll: list.New(), m: make(map[[32]byte]*list.Element)}
}

// Hits is how many assertions the cache handed back (tests, metrics).
func (c *XUACache) Hits() int64 { return c.hits.Load() }

// Len is how many assertions the cache holds.
func (c *XUACache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// xuaKey is the cache key of an assertion m would mint for p and audience.
// ok is false when p cannot be encoded (it is then not cached).
func (m *XUAMinter) xuaKey(p *Principal, audience string) (key [32]byte, ok bool) {
	if m.Signer == nil || m.Signer.Cert == nil {
		return key, false
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return key, false
	}
	h := sha256.New()
	for _, part := range [][]byte{pj, []byte(audience), []byte(m.Issuer), []byte(m.HomeCommunityID), m.Signer.Cert.Raw} {
		// Length-prefixed: no two different tuples hash the same input.
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(part))))
		h.Write(part)
	}
	copy(key[:], h.Sum(nil))
	return key, true
}

// get returns a copy of the assertion under key if it may still be used
// at now.
func (c *XUACache) get(key [32]byte, now time.Time) *etree.Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return nil
	}
	e := el.Value.(*xuaEntry)
	if !now.Before(e.reuseTill) {
		c.ll.Remove(el)
		delete(c.m, key)
		return nil
	}
	c.ll.MoveToFront(el)
	c.hits.Add(1)
	return e.assertion.Copy()
}

// put remembers a copy of assertion (valid from issued until until) under
// key, for the first half of its validity.
func (c *XUACache) put(key [32]byte, assertion *etree.Element, issued, until, now time.Time) {
	reuseTill := issued.Add(until.Sub(issued) / 2)
	if !now.Before(reuseTill) {
		return
	}
	e := &xuaEntry{key: key, assertion: assertion.Copy(), reuseTill: reuseTill}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		c.ll.Remove(old)
	}
	c.m[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*xuaEntry).key)
	}
}
