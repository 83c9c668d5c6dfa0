package mhd

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"pjd/gateway/fhir"
	"strconv"
	"strings"
	"time"
)

// Paging. A search is answered from the whole result for its one patient
// (policy needs all of it, for the NORS count); pages are offsets into that
// result in the registry's order. The next link carries an opaque page
// token: AES-256-GCM sealed {resource, patient, offset, fingerprint of the
// filtering parameters, expiry}. It is tamper-evident (a changed token does
// not open), it binds the page to the same search (changing any filtering
// parameter, or asking for another patient, is refused), and it keeps the
// patient's identity number out of URLs: links never carry
// patient.identifier, the token does, encrypted. A client following next
// may send the patient again (it must then be the same) or not.

// DefaultPageTTL is how long a page token stays valid.
const DefaultPageTTL = time.Hour

// Pager seals and opens page tokens. The key is shared by every gateway
// node behind one load balancer.
type Pager struct {
	aead cipher.AEAD
	now  func() time.Time
	ttl  time.Duration
}

// NewPager returns a Pager with a 32-byte key; now is the clock (time.Now
// in production) and ttl the token lifetime (DefaultPageTTL when 0).
func NewPager(key []byte, now func() time.Time, ttl time.Duration) (*Pager, error) {
	if len(key) != 32 {
		return nil, errors.New("mhd: page token key must be 32 bytes")
	}
	if now == nil {
		return nil, errors.New("mhd: NewPager needs a clock")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = DefaultPageTTL
	}
	return &Pager{aead: aead, now: now, ttl: ttl}, nil
}

const pageAAD = "pjd/mhd/page/v1"

type pageState struct {
	Resource    string `json:"r"`
	Patient     string `json:"p"`
	OID         string `json:"o"`
	Offset      int    `json:"n"`
	Fingerprint string `json:"f"`
	Expires     int64  `json:"e"`
}

// fingerprint hashes the filtering parameters in a canonical order.
func (c *Common) fingerprint() string {
	h := sha256.Sum256([]byte(c.resource + "?" + c.params.Encode()))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// Token seals the page token for the page of c's search starting at
// offset.
func (p *Pager) Token(c *Common, offset int) string {
	st := pageState{
		Resource: c.resource, Patient: c.Patient.ID, OID: c.Patient.OID, Offset: offset,
		Fingerprint: c.fingerprint(), Expires: p.now().Add(p.ttl).Unix(),
	}
	plain, _ := json.Marshal(st)
	nonce := make([]byte, p.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails (crypto/rand crashes the program instead)
	sealed := p.aead.Seal(nonce, nonce, plain, []byte(pageAAD))
	return base64.RawURLEncoding.EncodeToString(sealed)
}

func badPage(code, msg string) *fhir.Error {
	return fhir.NewError(http.StatusBadRequest, code, "_page", "%s", msg)
}

// resume opens c.Page: sets Offset and, when the request named no patient,
// the patient the token carries.
func (p *Pager) resume(c *Common) error {
	c.Offset = 0
	if c.Page == "" {
		if c.Patient.IsZero() {
			return fhir.NewError(http.StatusBadRequest, fhir.IssueRequired, "patient.identifier", "a patient is required")
		}
		c.resumed = true
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Page)
	if err != nil || len(raw) < p.aead.NonceSize() {
		return badPage(fhir.IssueInvalid, "the page token is not valid")
	}
	ns := p.aead.NonceSize()
	plain, err := p.aead.Open(nil, raw[:ns], raw[ns:], []byte(pageAAD))
	if err != nil {
		return badPage(fhir.IssueInvalid, "the page token is not valid")
	}
	var st pageState
	if err := json.Unmarshal(plain, &st); err != nil || st.Offset < 0 {
		return badPage(fhir.IssueInvalid, "the page token is not valid")
	}
	if p.now().Unix() > st.Expires {
		return badPage(fhir.IssueExpired, "the page token has expired: repeat the search")
	}
	tokPatient := PatientID{ID: st.Patient, OID: st.OID}
	if st.Resource != c.resource || st.Fingerprint != c.fingerprint() || (!c.Patient.IsZero() && c.Patient != tokPatient) {
		return badPage(fhir.IssueInvalid, "the page token belongs to a different search")
	}
	c.Patient = tokPatient
	c.Offset = st.Offset
	c.resumed = true
	return nil
}

// Resume checks the search's _page token, if any, and sets Offset and the
// patient from it. It must be called before Filter (which fails closed
// until it is). Errors are *Error (400).
func (s *DocumentSearch) Resume(p *Pager) error {
	if err := p.resume(&s.Common); err != nil {
		return err
	}
	s.filter.PatientID = s.Patient.CX()
	return nil
}

// Resume is DocumentSearch.Resume for ITI-66.
func (s *ListSearch) Resume(p *Pager) error {
	return p.resume(&s.Common)
}

// PageBounds returns the bounds of the current page within a result of total
// matches: items [from, to).
func (c *Common) PageBounds(total int) (from, to int) {
	from = min(c.Offset, total)
	to = min(from+c.Count, total)
	return from, to
}

// Links returns the self and next URLs of the current page of a result of
// total matches: baseURL + "/fhir/R4/<resource>?" + the filtering
// parameters (canonical order) + _count (+ _page). Links never carry the
// patient. next is "" on the last page.
func (c *Common) Links(p *Pager, baseURL string, total int) (self, next string) {
	base := strings.TrimRight(baseURL, "/") + "/fhir/R4/" + c.resource
	q := cloneValues(c.params)
	q.Set("_count", strconv.Itoa(c.Count))
	if c.Page != "" {
		q.Set("_page", c.Page)
	}
	self = base + "?" + q.Encode()
	_, to := c.PageBounds(total)
	if c.Count > 0 && to < total {
		q.Set("_page", p.Token(c, to))
		next = base + "?" + q.Encode()
	}
	return self, next
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
