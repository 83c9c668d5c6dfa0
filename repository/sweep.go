package repository

// Crash safety. The object store is the repository's only state and the
// registry is the source of truth for what is committed. An upload goes
// through these steps, and a crash (or lost connection) at each leaves:
//
//  1. During a document's bytes: nothing visible. BlobStore.Put is atomic;
//     fs leaves a ".put-*" temporary file, S3 an unfinished multipart
//     upload, both invisible to List/Get and removed by SweepIncomplete.
//  2. After .bin, before .meta: a .bin without .meta. No registry entry can
//     exist (registration comes after every .meta). Sweep deletes it.
//  3. After .meta, before Register: .bin and .meta, no registry entry with
//     that (uniqueId, hash, size). Sweep deletes them.
//  4. During Register (commit unanswered): the registry either committed —
//     then an entry matches the .meta and Sweep keeps both forever — or it
//     did not, and Sweep deletes them. Commit leaves the blobs in place
//     (stateUnknown) rather than guess.
//  5. After the registry commit, before the response: entry and blobs both
//     exist; the source saw no Success and may resubmit, which the registry
//     judges (identical resubmission, XDSNonIdenticalHash …).
//  6. After a rejection, while Commit deletes: leftovers without entry,
//     deleted by Sweep.
//  7. Sweep itself deletes .meta before .bin, so a crash between leaves a
//     .bin without .meta (case 2). Retrieval ignores a .meta without .bin.
//
// Sweep judges only uploads older than its grace period, and the grace
// period may not be shorter than UploadTimeout, the deadline by which
// every upload has finished registering (Commit gives Register a context
// that ends there). So when Sweep looks, the registry's answer for that
// upload is final: it never deletes the blobs of a registration still in
// flight. Age is taken from both the upload id's time stamp (this
// repository's clock) and the objects' modification time (the store's
// clock), and both must be old.
//
// Hence: a Success response implies the registry committed after every
// .bin and .meta was durably stored (fs: fsync of file and directory; S3:
// PUT/CompleteMultipartUpload answered), so the document is findable and
// retrievable; no registry entry points to a missing blob, because entries
// are only created after their blobs exist and blobs matching an entry are
// never deleted; and every blob without an entry is deleted by the first
// Sweep after the grace period. A DocumentEntry removed from the registry
// (ITI-62) makes its blobs orphans in the same way.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SweepStats counts what Sweep found and did.
type SweepStats struct {
	Documents  int // stored copies examined (a .bin/.meta pair of one upload, or a lone one)
	Young      int // kept: younger than the grace period
	Committed  int // kept: the registry has a matching entry
	Unreadable int // kept: .meta unreadable, left for a person to look at (logged)
	Dangling   int // kept: registered .meta whose .bin is gone (logged: integrity fault)
	Orphans    int // uploads deleted: no .meta, or no registry entry
	Deleted    int // objects deleted
	Incomplete int // store leftovers of interrupted Puts removed
}

// sweepBatch is how many uploads are checked against the registry at once.
const sweepBatch = 100

type sweepUpload struct {
	h, upload string
	bin, meta *BlobInfo
}

// Sweep deletes the blobs of every upload older than grace that has no
// .meta, or whose .meta's (uniqueId, hash, size) matches no DocumentEntry
// of this repository in the registry, and the leftovers of interrupted
// Puts. grace must be at least Config.UploadTimeout (ErrGraceTooShort). A
// registry or store error stops the sweep and is returned with the counts
// so far; nothing is deleted on an uncertain answer.
func (r *Repository) Sweep(ctx context.Context, grace time.Duration) (SweepStats, error) {
	var st SweepStats
	if grace < r.uploadTimeout {
		return st, fmt.Errorf("%w: %v < %v", ErrGraceTooShort, grace, r.uploadTimeout)
	}
	cutoff := r.now().Add(-grace)
	sw := &sweeper{ctx: ctx, r: r, cutoff: cutoff, st: &st}
	err := r.blobs.List(ctx, docsPrefix, sw.add)
	if err == nil {
		err = sw.flushGroup(ctx, true)
	}
	if err != nil {
		return st, fmt.Errorf("repository: sweep: %w", err)
	}
	if is, ok := r.blobs.(IncompleteSweeper); ok {
		n, err := is.SweepIncomplete(ctx, cutoff)
		st.Incomplete += n
		if err != nil {
			return st, fmt.Errorf("repository: sweep: %w", err)
		}
	}
	if st.Orphans > 0 || st.Incomplete > 0 || st.Dangling > 0 || st.Unreadable > 0 {
		r.log.InfoContext(ctx, "sweep", "documents", st.Documents, "orphans", st.Orphans, "deleted", st.Deleted,
			"incomplete", st.Incomplete, "dangling", st.Dangling, "unreadable", st.Unreadable)
	}
	return st, nil
}

// sweeper collects the objects of one docs/<h>/ directory at a time (List
// yields keys in order, so a directory's keys are contiguous), judges each
// upload's age, and checks old ones with a .meta against the registry in
// batches.
type sweeper struct {
	ctx     context.Context
	r       *Repository
	cutoff  time.Time
	st      *SweepStats
	h       string
	group   map[string]*sweepUpload
	order   []string
	pending []*sweepUpload
}

func (sw *sweeper) add(bi BlobInfo) error {
	h, upload, ext, ok := parseDocKey(bi.Key)
	if !ok {
		return nil // not ours
	}
	if h != sw.h {
		if err := sw.flushGroup(sw.ctx, false); err != nil {
			return err
		}
		sw.h, sw.group, sw.order = h, map[string]*sweepUpload{}, nil
	}
	u := sw.group[upload]
	if u == nil {
		u = &sweepUpload{h: h, upload: upload}
		sw.group[upload] = u
		sw.order = append(sw.order, upload)
	}
	if ext == extBin {
		u.bin = &bi
	} else {
		u.meta = &bi
	}
	return nil
}

// flushGroup judges the uploads of the current directory; old ones with a
// .meta join the pending batch, which is checked when full (or when final).
func (sw *sweeper) flushGroup(ctx context.Context, final bool) error {
	for _, id := range sw.order {
		u := sw.group[id]
		sw.st.Documents++
		if !sw.old(u) {
			sw.st.Young++
			continue
		}
		if u.meta == nil {
			if err := sw.delete(ctx, u); err != nil {
				return err
			}
			continue
		}
		sw.pending = append(sw.pending, u)
	}
	sw.group, sw.order = nil, nil
	if len(sw.pending) >= sweepBatch || final && len(sw.pending) > 0 {
		return sw.checkPending(ctx)
	}
	return nil
}

func (sw *sweeper) old(u *sweepUpload) bool {
	t, _ := uploadTime(u.upload)
	if !t.Before(sw.cutoff) {
		return false
	}
	for _, bi := range []*BlobInfo{u.bin, u.meta} {
		if bi != nil && !bi.Modified.Before(sw.cutoff) {
			return false
		}
	}
	return true
}

// checkPending reads the pending uploads' records and asks the registry
// which are committed; the others are deleted.
func (sw *sweeper) checkPending(ctx context.Context) error {
	r := sw.r
	type judged struct {
		u *sweepUpload
		m *blobMeta
	}
	var todo []judged
	var uids []string
	seen := map[string]bool{}
	for _, u := range sw.pending {
		m, err := r.readMeta(ctx, u.meta.Key)
		if errors.Is(err, ErrBlobNotFound) {
			continue // deleted meanwhile (an upload's own cleanup)
		}
		if err == nil && uniqueIDHash(m.UniqueID) != u.h {
			err = fmt.Errorf("%s: record names a uniqueId of another directory", u.meta.Key)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.log.ErrorContext(ctx, "sweep: unreadable document record kept", "key", u.meta.Key, "err", err)
			sw.st.Unreadable++
			continue
		}
		todo = append(todo, judged{u, m})
		if !seen[m.UniqueID] {
			seen[m.UniqueID] = true
			uids = append(uids, m.UniqueID)
		}
	}
	sw.pending = sw.pending[:0]
	if len(todo) == 0 {
		return nil
	}
	entries, err := r.reg.DocumentsByUniqueID(ctx, uids)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	type fingerprint struct {
		uid, sha1 string
		size      int64
	}
	committed := map[fingerprint]bool{}
	for _, e := range entries {
		if e.RepositoryUniqueID == r.uniqueID && e.Size != nil {
			committed[fingerprint{e.UniqueID, strings.ToLower(e.Hash), *e.Size}] = true
		}
	}
	for _, j := range todo {
		if committed[fingerprint{j.m.UniqueID, j.m.SHA1, j.m.Size}] {
			sw.st.Committed++
			if j.u.bin == nil {
				sw.st.Dangling++
				r.log.ErrorContext(ctx, "sweep: registered document has no bytes", "uniqueId", j.m.UniqueID, "upload", j.u.upload)
			}
			continue
		}
		if err := sw.delete(ctx, j.u); err != nil {
			return err
		}
	}
	return nil
}

// delete removes an orphan upload, record first.
func (sw *sweeper) delete(ctx context.Context, u *sweepUpload) error {
	for _, bi := range []*BlobInfo{u.meta, u.bin} {
		if bi == nil {
			continue
		}
		if err := sw.r.blobs.Delete(ctx, bi.Key); err != nil {
			return err
		}
		sw.st.Deleted++
	}
	sw.st.Orphans++
	return nil
}
