package repository

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"pjd/registry"
)

// Registry is what the repository needs from the document registry. It is
// implemented in-process over the registry package, or by a client of the
// registry's SOAP endpoint when the roles run apart.
type Registry interface {
	// Register registers a submission (ITI-42) in one transaction. A
	// rejection is reported in the list (Error-severity entries) with a
	// nil error; a non-nil error means the outcome is unknown (the
	// registry could not be reached, or the answer was lost), so the
	// submission may or may not have been committed.
	Register(ctx context.Context, sub *registry.Submission) (registry.ErrorList, error)
	// DocumentsByUniqueID returns the DocumentEntries, of every
	// availability status, whose uniqueId is one of uniqueIDs.
	DocumentsByUniqueID(ctx context.Context, uniqueIDs []string) ([]*registry.DocumentEntry, error)
}

// Defaults of Config.
const (
	DefaultMaxDocumentSize = 512 << 20
	DefaultUploadTimeout   = time.Hour
)

// Config configures a Repository.
type Config struct {
	// UniqueID is this repository's repositoryUniqueId (an OID).
	UniqueID string
	Blobs    BlobStore
	Registry Registry
	// MaxDocumentSize is the largest document accepted, in bytes; 0 means
	// DefaultMaxDocumentSize.
	MaxDocumentSize int64
	// UploadTimeout bounds an ITI-41 upload from NewUpload to the end of
	// its registration; 0 means DefaultUploadTimeout. Sweep's grace period
	// may not be shorter, which is what makes sweeping safe while uploads
	// are in flight.
	UploadTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives server-side detail that is never sent to clients;
	// nil discards it.
	Logger *slog.Logger
}

// Repository is the XDS document repository: ITI-41 uploads, ITI-43
// retrieval, ITI-68 document reads and the orphan sweep, over one
// BlobStore and one Registry. It is safe for concurrent use.
type Repository struct {
	uniqueID      string
	blobs         BlobStore
	reg           Registry
	maxSize       int64
	uploadTimeout time.Duration
	now           func() time.Time
	log           *slog.Logger
}

// Errors of the repository. XDS-level rejections are registry.ErrorList
// values instead; these are the conditions a protocol edge maps itself.
var (
	// ErrRegistry: a call to the registry failed without an answer. For
	// Commit the registration may or may not have happened; the blobs are
	// left for Sweep to judge once the outcome is settled.
	ErrRegistry = errors.New("repository: registry call failed")
	// ErrUploadClosed: Put or Commit on an Upload that has already been
	// committed, aborted or failed.
	ErrUploadClosed = errors.New("repository: upload already finished")
	// ErrUnknownDocument: Put with a document id that NewUpload was not
	// given, or given once and already stored.
	ErrUnknownDocument = errors.New("repository: document id not expected in this upload")
	// ErrUploadExpired: the upload ran past Config.UploadTimeout.
	ErrUploadExpired = errors.New("repository: upload timed out")
	// ErrDocumentNotFound: no stored document matches the entry.
	ErrDocumentNotFound = errors.New("repository: document not found")
	// ErrUnknownRepository: the entry belongs to another repository.
	ErrUnknownRepository = errors.New("repository: document belongs to another repository")
	// ErrIntegrity: stored bytes do not match what was registered.
	ErrIntegrity = errors.New("repository: stored document fails its integrity check")
	// ErrGraceTooShort: Sweep's grace period is shorter than the upload
	// timeout.
	ErrGraceTooShort = errors.New("repository: sweep grace period shorter than the upload timeout")
)

// New checks cfg and returns a Repository.
func New(cfg Config) (*Repository, error) {
	if !validOID(cfg.UniqueID) {
		return nil, fmt.Errorf("repository: UniqueID %q is not an OID", cfg.UniqueID)
	}
	if cfg.Blobs == nil || cfg.Registry == nil {
		return nil, errors.New("repository: Blobs and Registry are required")
	}
	if cfg.MaxDocumentSize < 0 || cfg.UploadTimeout < 0 {
		return nil, errors.New("repository: MaxDocumentSize and UploadTimeout must not be negative")
	}
	r := &Repository{
		uniqueID:      cfg.UniqueID,
		blobs:         cfg.Blobs,
		reg:           cfg.Registry,
		maxSize:       cmp.Or(cfg.MaxDocumentSize, DefaultMaxDocumentSize),
		uploadTimeout: cmp.Or(cfg.UploadTimeout, DefaultUploadTimeout),
		now:           cfg.Now,
		log:           cfg.Logger,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// UniqueID returns the repositoryUniqueId.
func (r *Repository) UniqueID() string { return r.uniqueID }

// validOID reports whether s is a dotted-decimal OID of at most 64
// characters (the XDS limit for repositoryUniqueId).
func validOID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	arcs := strings.Split(s, ".")
	if len(arcs) < 2 || len(arcs[0]) != 1 || arcs[0][0] > '2' {
		return false
	}
	for _, a := range arcs {
		if a == "" || (len(a) > 1 && a[0] == '0') {
			return false
		}
		for i := range len(a) {
			if a[i] < '0' || a[i] > '9' {
				return false
			}
		}
	}
	return true
}

// Storage layout. Every document of an upload is two objects:
//
//	docs/<h>/<upload>.bin   the bytes
//	docs/<h>/<upload>.meta  blobMeta as JSON, written after the bytes
//
// h is the hex SHA-256 of the document's uniqueId, so no client string ever
// becomes part of a key; upload is the server-generated id of the upload (a
// sortable UTC time stamp and 128 random bits), so uploads never overwrite
// each other and each can delete exactly what it wrote.
const (
	docsPrefix = "docs/"
	extBin     = ".bin"
	extMeta    = ".meta"
	// uploadTimeLayout is the time prefix of an upload id: fixed width, so
	// ids sort by time.
	uploadTimeLayout = "20060102T150405.000000000Z"
	maxMetaSize      = 64 << 10
	metaVersion      = 1
)

// blobMeta is the .meta object: what the upload stored and for which
// document, so the sweeper and retrieval can match it to a registry entry.
type blobMeta struct {
	Version            int       `json:"v"`
	UniqueID           string    `json:"uniqueId"`
	RepositoryUniqueID string    `json:"repositoryUniqueId"`
	SHA1               string    `json:"sha1"`
	SHA256             string    `json:"sha256"`
	Size               int64     `json:"size"`
	MimeType           string    `json:"mimeType"`
	Created            time.Time `json:"created"`
	Upload             string    `json:"upload"`
}

func uniqueIDHash(uniqueID string) string {
	s := sha256.Sum256([]byte(uniqueID))
	return hex.EncodeToString(s[:])
}

func docKey(h, upload, ext string) string { return docsPrefix + h + "/" + upload + ext }

func newUploadID(now time.Time) string {
	var b [16]byte
	rand.Read(b[:])
	return now.UTC().Format(uploadTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// parseDocKey splits a key of the layout; ok is false for any other key.
func parseDocKey(key string) (h, upload, ext string, ok bool) {
	rest, found := strings.CutPrefix(key, docsPrefix)
	if !found {
		return "", "", "", false
	}
	h, name, found := strings.Cut(rest, "/")
	if !found || len(h) != 64 || strings.Contains(name, "/") {
		return "", "", "", false
	}
	for _, e := range []string{extBin, extMeta} {
		if u, found := strings.CutSuffix(name, e); found {
			if _, ok := uploadTime(u); ok {
				return h, u, e, true
			}
		}
	}
	return "", "", "", false
}

// uploadTime reads the time stamp of an upload id.
func uploadTime(upload string) (time.Time, bool) {
	ts, random, ok := strings.Cut(upload, "-")
	if !ok || len(random) != 32 {
		return time.Time{}, false
	}
	t, err := time.Parse(uploadTimeLayout, ts)
	return t, err == nil
}

func (r *Repository) writeMeta(ctx context.Context, key string, m *blobMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = r.blobs.Put(ctx, key, strings.NewReader(string(b)))
	return err
}

func (r *Repository) readMeta(ctx context.Context, key string) (*blobMeta, error) {
	rc, _, err := r.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetaSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetaSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", key, maxMetaSize)
	}
	var m blobMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if m.Version != metaVersion || m.UniqueID == "" || len(m.SHA1) != 40 || len(m.SHA256) != 64 || m.Size < 0 {
		return nil, fmt.Errorf("%s: not a valid document record", key)
	}
	return &m, nil
}

// cleanupContext returns a context for deleting blobs after a failure: not
// cancelled with the request that failed, but bounded.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
