package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"pjd/repository"
)

// The witness: the chain's head, written outside the audit database.
//
// The hash chain shows any record changed, inserted, reordered or removed
// from the middle; the head checkpoints show records removed from the end.
// But whoever owns the database can delete the newest records together
// with their checkpoints, and what is left is a shorter, intact chain.
// Only a head kept elsewhere catches that: pjd serve writes the head to a
// Witness every interval (when it changed), and `pjd audit verify` checks
// the chain against the newest head the witness holds.

// WitnessHead is a head the witness holds and when it was written.
type WitnessHead struct {
	Head      Head
	WrittenAt time.Time
}

// Witness keeps chain heads outside the audit database. Write never
// overwrites an earlier head: each is a new object, so deleting the newest
// records cannot be hidden by rewriting the witness to match (with the
// store's versioning or object lock, not even by deleting its objects).
type Witness interface {
	// Write records h, the head at time at.
	Write(ctx context.Context, h Head, at time.Time) error
	// Latest returns the newest head written; ok is false when none is.
	Latest(ctx context.Context) (wh WitnessHead, ok bool, err error)
	// String says where the heads are kept (for messages).
	String() string
}

// WitnessStore is what BlobWitness needs of an object store
// (repository.BlobStore: S3 in production, files in --dev).
type WitnessStore interface {
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	Get(ctx context.Context, key string) (io.ReadCloser, repository.BlobInfo, error)
	List(ctx context.Context, prefix string, fn func(repository.BlobInfo) error) error
}

// BlobWitness is a Witness over an object store: one small JSON object per
// head under Prefix, named so that the newest head sorts first.
type BlobWitness struct {
	Store  WitnessStore
	Prefix string // e.g. "audit-witness/"; a valid key prefix ending in '/'
	Where  string // e.g. "s3://bucket/audit-witness/"
}

var _ Witness = (*BlobWitness)(nil)

type witnessObject struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	WrittenAt time.Time `json:"written_at"`
}

// key names the object of h: the seq, then the time, each counted down
// from the largest int64 and zero-padded, so that a listing (lexical
// order) meets the newest head first, and two writes of one head never
// collide.
func (w *BlobWitness) key(h Head, at time.Time) string {
	return fmt.Sprintf("%s%019d-%019d.json", w.Prefix, math.MaxInt64-h.Seq, math.MaxInt64-at.UnixNano())
}

// Write implements Witness.
func (w *BlobWitness) Write(ctx context.Context, h Head, at time.Time) error {
	if h.Seq < 1 || len(h.Hash) != HashSize {
		return fmt.Errorf("audit witness: not a head: %v", h)
	}
	b, err := json.Marshal(witnessObject{Seq: h.Seq, Hash: fmt.Sprintf("%x", h.Hash), WrittenAt: at.UTC()})
	if err != nil {
		return err
	}
	if _, err := w.Store.Put(ctx, w.key(h, at), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("audit witness %s: %w", w, err)
	}
	return nil
}

var errFirst = errors.New("first")

// Latest implements Witness.
func (w *BlobWitness) Latest(ctx context.Context) (WitnessHead, bool, error) {
	var key string
	err := w.Store.List(ctx, w.Prefix, func(bi repository.BlobInfo) error {
		if strings.HasSuffix(bi.Key, ".json") {
			key = bi.Key
			return errFirst
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFirst) {
		return WitnessHead{}, false, fmt.Errorf("audit witness %s: listing: %w", w, err)
	}
	if key == "" {
		return WitnessHead{}, false, nil
	}
	rc, _, err := w.Store.Get(ctx, key)
	if err != nil {
		return WitnessHead{}, false, fmt.Errorf("audit witness %s: %w", w, err)
	}
	defer rc.Close()
	var o witnessObject
	if err := json.NewDecoder(io.LimitReader(rc, 4096)).Decode(&o); err != nil {
		return WitnessHead{}, false, fmt.Errorf("audit witness %s: %s: %w", w, key, err)
	}
	h, err := ParseHead(fmt.Sprintf("%d:%s", o.Seq, o.Hash))
	if err != nil {
		return WitnessHead{}, false, fmt.Errorf("audit witness %s: %s: %w", w, key, err)
	}
	return WitnessHead{Head: h, WrittenAt: o.WrittenAt}, true, nil
}

func (w *BlobWitness) String() string {
	if w.Where != "" {
		return w.Where
	}
	return w.Prefix
}

// HeadReader reads the newest head checkpoint (a Store).
type HeadReader interface {
	Head(ctx context.Context) (Head, error)
}

// RunWitness writes the head of s to w now and then every interval, when
// it changed, until ctx ends; then once more, so a clean shutdown leaves
// the last head behind. Failures are logged and retried at the next tick:
// the witness is a check on the log, never a reason to refuse a request.
func RunWitness(ctx context.Context, s HeadReader, w Witness, interval time.Duration, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var last Head
	write := func(ctx context.Context) {
		h, err := s.Head(ctx)
		if err != nil {
			log.WarnContext(ctx, "audit witness: reading the head failed", "err", err)
			return
		}
		if h.Seq == 0 || (h.Seq == last.Seq && bytes.Equal(h.Hash, last.Hash)) {
			return
		}
		if err := w.Write(ctx, h, now()); err != nil {
			log.WarnContext(ctx, "audit witness: writing the head failed", "witness", w.String(), "err", err)
			return
		}
		last = h
	}
	write(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			write(fctx)
			cancel()
			return
		case <-t.C:
			write(ctx)
		}
	}
}
