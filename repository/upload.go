package repository

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"pjd/registry"
)

// Upload is one ITI-41 Provide and Register Document Set in progress: the
// gateway streams each document into it with Put, then calls Commit, or
// Abort when the request fails. After any error the Upload is finished:
// the blobs it wrote are gone (or, after an unanswered registration, left
// for Sweep) and further calls return that error or ErrUploadClosed.
type Upload struct {
	r     *Repository
	id    string
	start time.Time
	sub   *registry.Submission

	mu      sync.Mutex
	state   uploadState
	err     error             // why the upload failed
	docs    map[string]*upDoc // by Document/@id
	order   []string          // Document/@id in message order
	written []string          // keys written or being written, in order
}

type uploadState int

const (
	stateOpen      uploadState = iota
	stateFailed                // rejected or broken; blobs deleted
	stateAborted               // Abort called; blobs deleted
	stateCommitted             // registered
	stateUnknown               // registration unanswered; blobs left to Sweep
)

type upDoc struct {
	entry  *registry.DocumentEntry
	h      string // uniqueIDHash(entry.UniqueID)
	stored bool
	sha1   string
	sha256 string
	size   int64
}

// NewUpload starts an ITI-41 upload of sub, whose documents will arrive
// with the ids documentIDs (Document/@id in message order). It checks that
// documents and DocumentEntries pair up and that uniqueIds are not repeated
// before any byte is stored, and returns the XDS errors as a
// registry.ErrorList: XDSMissingDocument for a DocumentEntry without a
// document, XDSMissingDocumentMetadata for a document without a
// DocumentEntry, XDSRepositoryDuplicateUniqueIdInMessage for a repeated
// uniqueId, XDSRepositoryMetadataError for a malformed hash or size, and
// XDSRepositoryError for a declared size over the limit.
func (r *Repository) NewUpload(ctx context.Context, sub *registry.Submission, documentIDs []string) (*Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, registry.ErrorList{registry.Errorf(registry.ErrCodeRepositoryMetadataError, "the request holds no SubmitObjectsRequest")}
	}
	var errs registry.ErrorList
	ids := make(map[string]bool, len(documentIDs))
	for _, id := range documentIDs {
		switch {
		case ids[id]:
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "Document id %q appears more than once", id))
		case id == "" || sub.Document(id) == nil:
			errs = append(errs, registry.Errorf(registry.ErrCodeMissingDocumentMetadata, "Document %q has no DocumentEntry", id))
		}
		ids[id] = true
	}
	u := &Upload{r: r, sub: sub, start: r.now(), docs: make(map[string]*upDoc, len(documentIDs))}
	u.id = newUploadID(u.start)
	uids := make(map[string]bool, len(sub.Documents))
	for _, d := range sub.Documents {
		if d == nil {
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "empty DocumentEntry"))
			continue
		}
		switch {
		case d.UniqueID == "":
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "DocumentEntry %s has no uniqueId", d.ID))
		case uids[d.UniqueID]:
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryDuplicateUniqueIDInMessage, "uniqueId %s is used by more than one DocumentEntry", d.UniqueID))
		}
		uids[d.UniqueID] = true
		if d.Hash != "" && !isHex(d.Hash, 40) {
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "DocumentEntry %s: hash %q is not a SHA-1 in hex", d.ID, d.Hash))
		}
		if d.Size != nil && *d.Size < 0 {
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "DocumentEntry %s: negative size", d.ID))
		}
		if d.Size != nil && *d.Size > r.maxSize {
			errs = append(errs, tooLarge(d, r.maxSize))
		}
		if !ids[d.ID] {
			if d.ObjectType != registry.ObjectTypeOnDemand {
				errs = append(errs, registry.Errorf(registry.ErrCodeMissingDocument, "DocumentEntry %s (uniqueId %s) has no document", d.ID, d.UniqueID))
			}
			continue
		}
		if _, dup := u.docs[d.ID]; dup {
			errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError, "more than one DocumentEntry has id %s", d.ID))
			continue
		}
		u.docs[d.ID] = &upDoc{entry: d, h: uniqueIDHash(d.UniqueID)}
	}
	if errs.Failed() {
		return nil, errs
	}
	u.order = documentIDs
	return u, nil
}

func tooLarge(d *registry.DocumentEntry, limit int64) registry.Error {
	return registry.Errorf(registry.ErrCodeRepositoryError, "document %s (uniqueId %s) is larger than the %d bytes this repository accepts", d.ID, d.UniqueID, limit)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ID is the server-generated id of the upload (for logs).
func (u *Upload) ID() string { return u.id }

// Put streams the document with Document/@id documentID into storage while
// computing its size, SHA-1 and SHA-256, then checks them against the
// DocumentEntry's hash and size when it has them
// (XDSRepositoryMetadataError). A document that grows past
// Config.MaxDocumentSize is refused as soon as the limit is crossed
// (XDSRepositoryError). Put reads body to its end and does not close it.
func (u *Upload) Put(ctx context.Context, documentID string, body io.Reader) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state != stateOpen {
		return u.closedErr()
	}
	d := u.docs[documentID]
	if d == nil || d.stored {
		return fmt.Errorf("%w: %q", ErrUnknownDocument, documentID)
	}
	if u.r.now().Sub(u.start) > u.r.uploadTimeout {
		return u.fail(ctx, fmt.Errorf("%w after %v", ErrUploadExpired, u.r.uploadTimeout))
	}
	binKey := docKey(d.h, u.id, extBin)
	u.written = append(u.written, binKey)
	hr := &hashingReader{r: body, max: u.r.maxSize, sha1: sha1.New(), sha256: sha256.New()}
	n, err := u.r.blobs.Put(ctx, binKey, hr)
	switch {
	case errors.Is(err, errTooLarge):
		return u.fail(ctx, registry.ErrorList{tooLarge(d.entry, u.r.maxSize)})
	case err != nil:
		return u.fail(ctx, fmt.Errorf("repository: storing document %q: %w", documentID, err))
	case n != hr.n:
		return u.fail(ctx, fmt.Errorf("repository: storing document %q: store took %d bytes of %d", documentID, n, hr.n))
	}
	d.size = hr.n
	d.sha1 = hex.EncodeToString(hr.sha1.Sum(nil))
	d.sha256 = hex.EncodeToString(hr.sha256.Sum(nil))

	var errs registry.ErrorList
	if h := d.entry.Hash; h != "" && !strings.EqualFold(h, d.sha1) {
		errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError,
			"DocumentEntry %s (uniqueId %s): hash %s does not match the document's SHA-1 %s", d.entry.ID, d.entry.UniqueID, h, d.sha1))
	}
	if s := d.entry.Size; s != nil && *s != d.size {
		errs = append(errs, registry.Errorf(registry.ErrCodeRepositoryMetadataError,
			"DocumentEntry %s (uniqueId %s): size %d does not match the document's %d bytes", d.entry.ID, d.entry.UniqueID, *s, d.size))
	}
	if len(errs) > 0 {
		return u.fail(ctx, errs)
	}

	metaKey := docKey(d.h, u.id, extMeta)
	u.written = append(u.written, metaKey)
	err = u.r.writeMeta(ctx, metaKey, &blobMeta{
		Version:            metaVersion,
		UniqueID:           d.entry.UniqueID,
		RepositoryUniqueID: u.r.uniqueID,
		SHA1:               d.sha1,
		SHA256:             d.sha256,
		Size:               d.size,
		MimeType:           d.entry.MimeType,
		Created:            u.r.now().UTC(),
		Upload:             u.id,
	})
	if err != nil {
		return u.fail(ctx, fmt.Errorf("repository: storing record of document %q: %w", documentID, err))
	}
	d.stored = true
	return nil
}

// Commit checks that every declared document was stored (XDSMissingDocument
// otherwise), sets repositoryUniqueId, size and hash on the DocumentEntries
// of a copy of the submission, and registers it. Warnings from the registry
// are returned with a nil error; a rejection is returned as the registry's
// registry.ErrorList, unchanged, after the upload's blobs are deleted. An
// error wrapping ErrRegistry means the registration went unanswered: the
// blobs stay, and Sweep deletes them later if the registry has no entry.
func (u *Upload) Commit(ctx context.Context) (registry.ErrorList, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state != stateOpen {
		return nil, u.closedErr()
	}
	var errs registry.ErrorList
	for _, id := range u.order {
		if d := u.docs[id]; !d.stored {
			errs = append(errs, registry.Errorf(registry.ErrCodeMissingDocument, "DocumentEntry %s (uniqueId %s) has no document", d.entry.ID, d.entry.UniqueID))
		}
	}
	if len(errs) > 0 {
		return nil, u.fail(ctx, errs)
	}
	remaining := u.r.uploadTimeout - u.r.now().Sub(u.start)
	if remaining <= 0 {
		return nil, u.fail(ctx, fmt.Errorf("%w after %v", ErrUploadExpired, u.r.uploadTimeout))
	}

	sub := *u.sub
	sub.Documents = make([]*registry.DocumentEntry, len(u.sub.Documents))
	byEntry := make(map[*registry.DocumentEntry]*upDoc, len(u.docs))
	for _, d := range u.docs {
		byEntry[d.entry] = d
	}
	for i, e := range u.sub.Documents {
		c := *e
		if d := byEntry[e]; d != nil {
			size := d.size
			c.RepositoryUniqueID = u.r.uniqueID
			c.Size = &size
			c.Hash = d.sha1
		}
		sub.Documents[i] = &c
	}

	// The registration must end before the upload's deadline: Sweep only
	// judges blobs older than that (see sweep.go).
	rctx, cancel := context.WithTimeout(ctx, remaining)
	defer cancel()
	list, err := u.r.reg.Register(rctx, &sub)
	if err != nil {
		if l, ok := registry.AsErrors(err); ok && l.Failed() {
			list, err = l, nil
		}
	}
	if err != nil {
		u.state, u.err = stateUnknown, fmt.Errorf("%w: %w", ErrRegistry, err)
		u.r.log.WarnContext(ctx, "registration unanswered; blobs left for the sweeper", "upload", u.id, "err", err)
		return nil, u.err
	}
	if list.Failed() {
		return nil, u.fail(ctx, list)
	}
	u.state = stateCommitted
	return list, nil
}

// Abort deletes every blob the upload wrote. It does nothing after a
// successful Commit or an unanswered registration, and may be called more
// than once. It works even when ctx is already cancelled.
func (u *Upload) Abort(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state != stateOpen {
		return
	}
	u.cleanup(ctx)
	u.state, u.err = stateAborted, ErrUploadClosed
}

// fail ends the upload with err after deleting its blobs, and returns err.
func (u *Upload) fail(ctx context.Context, err error) error {
	u.cleanup(ctx)
	u.state, u.err = stateFailed, err
	return err
}

func (u *Upload) closedErr() error {
	if u.state == stateFailed || u.state == stateUnknown {
		return u.err
	}
	return ErrUploadClosed
}

// cleanup deletes what the upload wrote, records before bytes. A failed
// delete is logged and left to Sweep.
func (u *Upload) cleanup(ctx context.Context) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	for i := len(u.written) - 1; i >= 0; i-- {
		if err := u.r.blobs.Delete(cctx, u.written[i]); err != nil {
			u.r.log.WarnContext(ctx, "deleting blob of a failed upload; left for the sweeper", "upload", u.id, "key", u.written[i], "err", err)
		}
	}
	u.written = nil
}

// errTooLarge is returned by hashingReader once the limit is crossed.
var errTooLarge = errors.New("repository: document larger than the limit")

// hashingReader counts and hashes what passes through it, and fails with
// errTooLarge as soon as more than max bytes arrive (reading at most one
// byte past the limit).
type hashingReader struct {
	r            io.Reader
	max, n       int64
	sha1, sha256 hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if room := h.max - h.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	m, err := h.r.Read(p)
	if h.n+int64(m) > h.max {
		return 0, errTooLarge
	}
	h.n += int64(m)
	h.sha1.Write(p[:m])
	h.sha256.Write(p[:m])
	return m, err
}
