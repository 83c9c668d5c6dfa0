package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The chain. Every record is sealed as
//
//	hash = HMAC-SHA256(key, prev_hash ‖ body)
//
// where prev_hash is the previous record's hash (32 zero bytes for the
// first) and body is the record's canonical bytes: its JSON encoding
// (stable field names, fixed order, "hash" left out) with its seq and a
// format version. The body is stored verbatim beside the hash, so
// verification never depends on re-encoding. Without the key nobody can
// produce a valid hash, so someone with only database access can change,
// remove, insert or reorder records but cannot rebuild a chain that
// verifies.

// HashSize is the size of a chain hash.
const HashSize = sha256.Size

// MinKeySize is the least key material LoadKey and NewKey accept.
const MinKeySize = 32

// bodyVersion is the canonical-body format version.
const bodyVersion = 1

// Key is the secret the chain is sealed with.
type Key struct {
	secret []byte
	id     string
}

// NewKey returns a Key over secret (at least MinKeySize bytes).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeySize {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrBadKey, len(secret), MinKeySize)
	}
	k := &Key{secret: bytes.Clone(secret)}
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("pjd audit key id"))
	k.id = hex.EncodeToString(m.Sum(nil)[:8])
	return k, nil
}

// ID names the key without revealing it (stored with every record, so
// verification with the wrong key says so instead of reporting every
// record changed).
func (k *Key) ID() string { return k.id }

// mac returns HMAC-SHA256(key, prev ‖ body).
func (k *Key) mac(prev, body []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write(prev)
	m.Write(body)
	return m.Sum(nil)
}

// LoadKey reads a chain key from a file holding at least 32 bytes of key
// material as hex (64+ hex digits; surrounding white space ignored). The
// file must not be writable by group or others.
func LoadKey(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%w: %s is writable by group or others (mode %v)", ErrBadKey, path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not hold hex key material", ErrBadKey, path)
	}
	return NewKey(secret)
}

// DevKeyFile is the name of the development key in a data directory.
const DevKeyFile = "audit-chain.key"

// LoadOrCreateDevKey returns the development key in dir/DevKeyFile,
// creating it (32 random bytes, mode 0600) on first use. Production reads
// its key with LoadKey from a file the operator provides.
func LoadOrCreateDevKey(dir string) (*Key, error) {
	path := filepath.Join(dir, DevKeyFile)
	if _, err := os.Stat(path); err == nil {
		return LoadKey(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	secret := make([]byte, MinKeySize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return LoadKey(path)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return NewKey(secret)
}

// Head is the end of the chain: the last sealed record's seq and hash.
// The zero Head is the empty chain.
type Head struct {
	Seq  int64
	Hash []byte
}

// String renders h as "seq:hexhash", the form ParseHead reads.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, hex.EncodeToString(h.Hash)) }

// ParseHead reads "seq:hexhash".
func ParseHead(s string) (Head, error) {
	seqS, hashS, ok := strings.Cut(strings.TrimSpace(s), ":")
	var h Head
	if !ok {
		return h, fmt.Errorf("head %q: want seq:hash", s)
	}
	if _, err := fmt.Sscanf(seqS, "%d", &h.Seq); err != nil || h.Seq < 1 {
		return h, fmt.Errorf("head %q: bad seq", s)
	}
	hash, err := hex.DecodeString(hashS)
	if err != nil || len(hash) != HashSize {
		return h, fmt.Errorf("head %q: bad hash", s)
	}
	h.Hash = hash
	return h, nil
}

// Index is what a store keeps in columns beside the sealed body, for
// searching. It is derived from the record alone (IndexOf), so Verify can
// recompute it and catch a column changed behind the record's back.
type Index struct {
	ID          string
	TimeMS      int64
	Transaction string
	Outcome     string
	PatientID   string
	ActorPID    string
	ActorHPR    string
	PurposeCode string
	Flagged     bool
	EntityIDs   []string // sorted, distinct document unique ids
}

// IndexOf returns the index columns of r.
func IndexOf(r *Record) Index {
	return Index{
		ID:          r.ID,
		TimeMS:      r.Time.UnixMilli(),
		Transaction: r.Transaction,
		Outcome:     string(r.Outcome),
		PatientID:   r.PatientID,
		ActorPID:    r.Actor.PID,
		ActorHPR:    r.Actor.HPR,
		PurposeCode: r.Attestation.PurposeOfUse.Code,
		Flagged:     r.Flagged(),
		EntityIDs:   r.EntityIDs(),
	}
}

// Equal reports whether two indexes hold the same values.
func (x Index) Equal(y Index) bool {
	return x.diff(y) == ""
}

// diff names the first column where x (stored) differs from y (derived).
func (x Index) diff(y Index) string {
	for _, col := range []struct {
		name string
		same bool
	}{
		{"id", x.ID == y.ID},
		{"time", x.TimeMS == y.TimeMS},
		{"transaction", x.Transaction == y.Transaction},
		{"outcome", x.Outcome == y.Outcome},
		{"patient_id", x.PatientID == y.PatientID},
		{"actor_pid", x.ActorPID == y.ActorPID},
		{"actor_hpr", x.ActorHPR == y.ActorHPR},
		{"purpose_code", x.PurposeCode == y.PurposeCode},
		{"flagged", x.Flagged == y.Flagged},
		{"entity ids", slices.Equal(x.EntityIDs, y.EntityIDs)},
	} {
		if !col.same {
			return col.name
		}
	}
	return ""
}

// Sealed is one stored row of the chain.
type Sealed struct {
	Seq   int64
	KeyID string
	Prev  []byte // the previous record's hash
	Hash  []byte // HMAC-SHA256(key, Prev ‖ Body)
	Body  []byte // canonical bytes
	Index Index
}

// canonicalBody is the sealed form: a version and the record (whose Hash
// is always empty here).
type canonicalBody struct {
	V int `json:"v"`
	Record
}

// CanonicalBytes returns the bytes that are sealed for r (with r.Seq as
// set): deterministic JSON with the hash left out.
func CanonicalBytes(r *Record) ([]byte, error) {
	c := canonicalBody{V: bodyVersion, Record: *r}
	c.Hash = ""
	return json.Marshal(c)
}

// DecodeBody parses a sealed body back into a record. Fields it does not
// know (written by a newer pjd during a rolling upgrade) are ignored: the
// seal, not the parser, guards the contents.
func DecodeBody(body []byte) (Record, error) {
	var c canonicalBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&c); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("%w: trailing data", ErrCorrupt)
	}
	if c.V != bodyVersion {
		return Record{}, fmt.Errorf("%w: body version %d", ErrCorrupt, c.V)
	}
	return c.Record, nil
}

// SealBatch assigns seqs after head to recs, in order, and seals each onto
// the chain. Stores call it inside their Append transaction, with the
// chain locked and head read in that transaction. It sets Seq and Hash on
// the records; the caller must not use them if its transaction fails.
func SealBatch(key *Key, head Head, recs []*Record) ([]Sealed, Head, error) {
	if key == nil {
		return nil, head, fmt.Errorf("%w: no key", ErrBadKey)
	}
	prev := head.Hash
	if len(prev) == 0 {
		prev = make([]byte, HashSize)
	}
	seq := head.Seq
	out := make([]Sealed, 0, len(recs))
	for _, r := range recs {
		seq++
		r.Seq = seq
		r.Hash = ""
		body, err := CanonicalBytes(r)
		if err != nil {
			return nil, head, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
		}
		h := key.mac(prev, body)
		out = append(out, Sealed{Seq: seq, KeyID: key.id, Prev: prev, Hash: h, Body: body, Index: IndexOf(r)})
		r.Hash = hex.EncodeToString(h)
		prev = h
	}
	return out, Head{Seq: seq, Hash: prev}, nil
}
