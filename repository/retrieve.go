package repository

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"pjd/registry"
)

// DocumentRequest is one DocumentRequest of an ITI-43 Retrieve Document
// Set request.
type DocumentRequest struct {
	HomeCommunityID    string
	RepositoryUniqueID string
	DocumentUniqueID   string
}

// RetrievedDocument is one document found for a DocumentRequest. Open
// streams its bytes; the stream fails with ErrIntegrity at its end if they
// are not the bytes that were registered, so a caller that streams into a
// response must abort the response on any read error.
type RetrievedDocument struct {
	HomeCommunityID    string
	RepositoryUniqueID string
	DocumentUniqueID   string
	MimeType           string // from the registry's metadata
	Size               int64
	Hash               string // SHA-1, lower-case hex
	Open               func(ctx context.Context) (io.ReadCloser, error)
}

// RetrieveResult is the outcome of Retrieve: the RegistryResponse status
// and errors, and the documents found, in request order.
type RetrieveResult struct {
	Response  registry.Response
	Documents []RetrievedDocument
}

// Retrieve resolves an ITI-43 request. Each requested uniqueId is looked
// up in the registry (a DocumentEntry of this repository) and its blob is
// located; nothing is read until a document's Open is called. A request for
// another repository gets XDSUnknownRepositoryId; a uniqueId the registry
// does not have here gets XDSDocumentUniqueIdError (location = the
// uniqueId); a document whose stored bytes cannot be found or disagree
// with their records gets XDSRepositoryError (detail logged). The status
// is Success without errors, PartialSuccess when some documents were found,
// Failure otherwise. A non-nil error means the registry or the blob store
// failed and nothing can be said.
func (r *Repository) Retrieve(ctx context.Context, reqs []DocumentRequest) (*RetrieveResult, error) {
	res := &RetrieveResult{}
	if len(reqs) == 0 {
		res.Response = registry.Response{Status: registry.ResponseFailure, Errors: registry.ErrorList{
			registry.Errorf(registry.ErrCodeRepositoryError, "the request names no document"),
		}}
		return res, nil
	}
	var uids []string
	seen := map[string]bool{}
	for _, q := range reqs {
		if q.RepositoryUniqueID == r.uniqueID && q.DocumentUniqueID != "" && !seen[q.DocumentUniqueID] {
			seen[q.DocumentUniqueID] = true
			uids = append(uids, q.DocumentUniqueID)
		}
	}
	entries := map[string]*registry.DocumentEntry{}
	if len(uids) > 0 {
		found, err := r.reg.DocumentsByUniqueID(ctx, uids)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRegistry, err)
		}
		for _, e := range found {
			if e.RepositoryUniqueID == r.uniqueID && seen[e.UniqueID] {
				entries[e.UniqueID] = e
			}
		}
	}
	var errs registry.ErrorList
	for _, q := range reqs {
		if q.RepositoryUniqueID != r.uniqueID {
			e := registry.Errorf(registry.ErrCodeUnknownRepositoryID, "repositoryUniqueId %q is not this repository", q.RepositoryUniqueID)
			e.Location = q.DocumentUniqueID
			errs = append(errs, e)
			continue
		}
		entry := entries[q.DocumentUniqueID]
		if entry == nil {
			e := registry.Errorf(registry.ErrCodeDocumentUniqueIDError, "document %q is not available in this repository", q.DocumentUniqueID)
			e.Location = q.DocumentUniqueID
			errs = append(errs, e)
			continue
		}
		loc, err := r.locate(ctx, entry)
		if errors.Is(err, ErrDocumentNotFound) || errors.Is(err, ErrIntegrity) {
			r.log.ErrorContext(ctx, "registered document cannot be served", "uniqueId", entry.UniqueID, "err", err)
			e := registry.Errorf(registry.ErrCodeRepositoryError, "document %q cannot be retrieved", q.DocumentUniqueID)
			e.Location = q.DocumentUniqueID
			errs = append(errs, e)
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Documents = append(res.Documents, RetrievedDocument{
			HomeCommunityID:    q.HomeCommunityID,
			RepositoryUniqueID: r.uniqueID,
			DocumentUniqueID:   entry.UniqueID,
			MimeType:           entry.MimeType,
			Size:               loc.meta.Size,
			Hash:               loc.meta.SHA1,
			Open:               func(ctx context.Context) (io.ReadCloser, error) { return r.openBlob(ctx, loc) },
		})
	}
	res.Response.Errors = errs
	switch {
	case !errs.Failed():
		res.Response.Status = registry.ResponseSuccess
	case len(res.Documents) > 0:
		res.Response.Status = registry.ResponsePartialSuccess
	default:
		res.Response.Status = registry.ResponseFailure
	}
	return res, nil
}

// Open streams the document of a DocumentEntry the caller already has (MHD
// ITI-68) and returns its size. ErrUnknownRepository when the entry is
// another repository's, ErrDocumentNotFound when no stored document
// matches it, ErrIntegrity when stored copies disagree; the stream itself
// fails with ErrIntegrity at its end if the bytes are not the registered
// ones.
func (r *Repository) Open(ctx context.Context, d *registry.DocumentEntry) (io.ReadCloser, int64, error) {
	if d == nil || d.RepositoryUniqueID != r.uniqueID {
		return nil, 0, ErrUnknownRepository
	}
	loc, err := r.locate(ctx, d)
	if err != nil {
		return nil, 0, err
	}
	rc, err := r.openBlob(ctx, loc)
	if err != nil {
		return nil, 0, err
	}
	return rc, loc.meta.Size, nil
}

// location is the stored copy chosen for a registry entry.
type location struct {
	binKey string
	meta   *blobMeta
}

// locate finds the upload that stored d: among docs/<h>/, the uploads
// whose .bin exists and whose .meta names d's uniqueId, this repository,
// and d's hash and size. The oldest is chosen; if candidates with the same
// SHA-1 disagree on SHA-256 (a SHA-1 collision, or tampering), none is
// trusted.
func (r *Repository) locate(ctx context.Context, d *registry.DocumentEntry) (*location, error) {
	if d.Hash == "" || d.Size == nil {
		return nil, fmt.Errorf("%w: entry %s has no hash or size", ErrDocumentNotFound, d.ID)
	}
	h := uniqueIDHash(d.UniqueID)
	bins := map[string]bool{}
	var metas []string // upload ids, in order
	err := r.blobs.List(ctx, docsPrefix+h+"/", func(bi BlobInfo) error {
		if kh, upload, ext, ok := parseDocKey(bi.Key); ok && kh == h {
			if ext == extBin {
				bins[upload] = true
			} else {
				metas = append(metas, upload)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repository: listing blobs of %s: %w", d.UniqueID, err)
	}
	var found []*location
	for _, upload := range metas {
		if !bins[upload] {
			continue
		}
		m, err := r.readMeta(ctx, docKey(h, upload, extMeta))
		if errors.Is(err, ErrBlobNotFound) {
			continue // swept meanwhile
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.log.WarnContext(ctx, "unreadable document record skipped", "upload", upload, "err", err)
			continue
		}
		if m.UniqueID != d.UniqueID || m.RepositoryUniqueID != r.uniqueID || !strings.EqualFold(m.SHA1, d.Hash) || m.Size != *d.Size {
			continue
		}
		found = append(found, &location{binKey: docKey(h, upload, extBin), meta: m})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: no stored copy of %s", ErrDocumentNotFound, d.UniqueID)
	}
	for _, l := range found[1:] {
		if l.meta.SHA256 != found[0].meta.SHA256 {
			return nil, fmt.Errorf("%w: copies of %s with SHA-1 %s have different SHA-256", ErrIntegrity, d.UniqueID, d.Hash)
		}
	}
	return found[0], nil
}

func (r *Repository) openBlob(ctx context.Context, loc *location) (io.ReadCloser, error) {
	rc, info, err := r.blobs.Get(ctx, loc.binKey)
	if errors.Is(err, ErrBlobNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrDocumentNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	if info.Size != loc.meta.Size {
		rc.Close()
		return nil, fmt.Errorf("%w: blob %s holds %d bytes, record says %d", ErrIntegrity, loc.binKey, info.Size, loc.meta.Size)
	}
	return &verifyingReader{rc: rc, want: loc.meta.SHA256, size: loc.meta.Size, h: sha256.New(), key: loc.binKey}, nil
}

// verifyingReader passes a blob through while hashing it, and reports
// ErrIntegrity instead of io.EOF when the bytes are not the recorded ones.
type verifyingReader struct {
	rc   io.ReadCloser
	want string
	size int64
	n    int64
	h    hash.Hash
	key  string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	m, err := v.rc.Read(p)
	v.h.Write(p[:m])
	v.n += int64(m)
	if v.n > v.size {
		return m, fmt.Errorf("%w: %s is longer than recorded", ErrIntegrity, v.key)
	}
	if err == io.EOF && (v.n != v.size || hex.EncodeToString(v.h.Sum(nil)) != v.want) {
		return m, fmt.Errorf("%w: %s does not match its recorded SHA-256", ErrIntegrity, v.key)
	}
	return m, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }
