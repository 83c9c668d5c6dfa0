package repository

import (
	"context"
	"fmt"
	"strings"
)

// RemoveStats counts what RemoveDocument deleted.
type RemoveStats struct {
	Uploads int // uploads (a .bin/.meta pair, or a lone one) deleted
	Kept    int // uploads kept: the registry still has a matching entry
	Deleted int // objects deleted
}

// RemoveDocument deletes every stored copy of the document uniqueID that
// no DocumentEntry of this repository refers to (ITI-86 Remove Documents,
// after ITI-62 removed its metadata). It judges each upload as Sweep does
// — by its .meta's (uniqueId, hash, size) against the registry — but
// without the grace period: the caller has asked the registry that the
// document is no longer referenced (registry.DocumentReferenced). An
// upload whose .meta is missing or unreadable is deleted too (it cannot
// be retrieved). Records are deleted before bytes, as Sweep does, so a
// crash between leaves a lone .bin for the next sweep.
//
// Sweep's contract stays true: a blob that matches a registry entry is
// never deleted (the registry is asked here, after listing). The one
// window is a new ITI-41 of the very same uniqueId whose registration
// commits between that question and the delete; the registration would
// then name bytes that are gone. It is reported by the check after the
// delete (logged as an integrity fault, like a dangling record in Sweep).
// ErrDocumentNotFound when nothing is stored for uniqueID.
func (r *Repository) RemoveDocument(ctx context.Context, uniqueID string) (RemoveStats, error) {
	var st RemoveStats
	h := uniqueIDHash(uniqueID)
	uploads := map[string]*sweepUpload{}
	var order []string
	err := r.blobs.List(ctx, docsPrefix+h+"/", func(bi BlobInfo) error {
		kh, upload, ext, ok := parseDocKey(bi.Key)
		if !ok || kh != h {
			return nil
		}
		u := uploads[upload]
		if u == nil {
			u = &sweepUpload{h: h, upload: upload}
			uploads[upload] = u
			order = append(order, upload)
		}
		b := bi
		if ext == extBin {
			u.bin = &b
		} else {
			u.meta = &b
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("repository: listing document %s: %w", uniqueID, err)
	}
	if len(order) == 0 {
		return st, ErrDocumentNotFound
	}
	entries, err := r.reg.DocumentsByUniqueID(ctx, []string{uniqueID})
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	committed := map[string]bool{}
	before := 0
	for _, e := range entries {
		if e.RepositoryUniqueID == r.uniqueID {
			before++
		}
		if e.RepositoryUniqueID == r.uniqueID && e.Size != nil {
			committed[fmt.Sprintf("%s/%d", strings.ToLower(e.Hash), *e.Size)] = true
		}
	}
	var deleted []string
	for _, upload := range order {
		u := uploads[upload]
		if u.meta != nil {
			if m, err := r.readMeta(ctx, u.meta.Key); err == nil && committed[fmt.Sprintf("%s/%d", m.SHA1, m.Size)] {
				st.Kept++
				continue
			}
		}
		for _, bi := range []*BlobInfo{u.meta, u.bin} {
			if bi == nil {
				continue
			}
			if err := r.blobs.Delete(ctx, bi.Key); err != nil {
				return st, fmt.Errorf("repository: removing document %s: %w", uniqueID, err)
			}
			st.Deleted++
		}
		st.Uploads++
		deleted = append(deleted, upload)
	}
	if len(deleted) > 0 {
		if after, err := r.reg.DocumentsByUniqueID(ctx, []string{uniqueID}); err == nil {
			n := 0
			for _, e := range after {
				if e.RepositoryUniqueID == r.uniqueID {
					n++
				}
			}
			if n > before {
				r.log.ErrorContext(ctx, "remove: a registration of the removed document committed while its bytes were deleted",
					"uniqueId", uniqueID, "uploads", deleted)
			}
		}
	}
	return st, nil
}
