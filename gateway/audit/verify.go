package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ProblemKind classifies what Verify found wrong.
type ProblemKind string

const (
	// ProblemChanged: a record's sealed bytes, hash or index columns were
	// altered (or the row is not a record at all).
	ProblemChanged ProblemKind = "changed"
	// ProblemInserted: a row that was never sealed onto this chain (a
	// forgery, or a copy of another record) sits in the chain.
	ProblemInserted ProblemKind = "inserted"
	// ProblemRemoved: records are missing from the middle of the chain.
	ProblemRemoved ProblemKind = "removed"
	// ProblemReordered: authentic records are out of their sealed order.
	ProblemReordered ProblemKind = "reordered"
	// ProblemTruncated: records are missing from the end of the chain
	// (the last checkpoint, or the expected head, is past the last record).
	ProblemTruncated ProblemKind = "truncated"
	// ProblemHeadMismatch: the checkpoint (or the expected head) does not
	// match the record at its seq.
	ProblemHeadMismatch ProblemKind = "head-mismatch"
	// ProblemKeyMismatch: the record was sealed with another key than the
	// one Verify was given.
	ProblemKeyMismatch ProblemKind = "key-mismatch"
)

// Problem is the first bad record Verify found.
type Problem struct {
	Seq    int64 // the first bad record (for removed/truncated: the first missing seq)
	Kind   ProblemKind
	Detail string
}

func (p *Problem) String() string {
	return fmt.Sprintf("record %d: %s: %s", p.Seq, p.Kind, p.Detail)
}

// Report is the result of Verify.
type Report struct {
	// Records is the number of rows examined before stopping.
	Records int64
	// Checkpoint is the stored head checkpoint Verify compared against.
	Checkpoint Head
	// Last is the last good record: the verified chain ends here.
	Last Head
	// Problem is nil when the chain verified.
	Problem *Problem
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Problem == nil }

func (r Report) String() string {
	if r.Problem != nil {
		return fmt.Sprintf("FAILED after %d records: %s", r.Records, r.Problem)
	}
	return fmt.Sprintf("OK: %d records, head %s", r.Records, r.Last)
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Want is a head recorded outside the database (a previous verify
	// run, the syslog repository): the chain must contain it. An attacker
	// who deletes the newest records and the newest checkpoints together
	// is caught only this way.
	Want *Head
	// Witness is the newest head a Witness holds, and WitnessWhere where
	// it is kept: the chain must contain it too; a failure names it.
	Witness      *WitnessHead
	WitnessWhere string
}

// Verify walks the whole chain in s and checks every record against key:
// its hash, its place in the chain, its index columns, and the stored
// head checkpoint. It stops at the first bad record and names it in the
// report. The error is only for failing to read the store.
func Verify(ctx context.Context, s Store, key *Key) (Report, error) {
	return VerifyWith(ctx, s, key, VerifyOptions{})
}

// VerifyWith is Verify with options.
func VerifyWith(ctx context.Context, s Store, key *Key, opts VerifyOptions) (Report, error) {
	if key == nil {
		return Report{}, fmt.Errorf("%w: no key", ErrBadKey)
	}
	cp, err := s.Head(ctx)
	if err != nil {
		return Report{}, err
	}
	v := &verifier{key: key, prev: make([]byte, HashSize), expect: 1, checkpoint: cp, want: opts.Want}
	if opts.Witness != nil {
		v.witness = &opts.Witness.Head
		v.witnessWhat = fmt.Sprintf("the witness head (written %s to %s)", opts.Witness.WrittenAt.UTC().Format(time.RFC3339), opts.WitnessWhere)
	}
	v.report.Checkpoint = cp
	errStop := errors.New("stop")
	var pending *Sealed
	err = s.Iterate(ctx, 0, func(row *Sealed) error {
		if pending != nil {
			if v.check(pending, row) {
				return errStop
			}
		}
		c := *row
		pending = &c
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return Report{}, err
	}
	if v.report.Problem == nil && pending != nil {
		v.check(pending, nil)
	}
	if v.report.Problem == nil {
		v.finish()
	}
	return v.report, nil
}

type verifier struct {
	key        *Key
	prev       []byte // hash of the last good record
	expect     int64  // seq the next record must have
	checkpoint Head
	want       *Head
	witness    *Head
	// hashes seen at the checkpoint's, the wanted head's and the
	// witness head's seq
	cpHash, wantHash, witnessHash []byte
	witnessWhat                   string
	report                        Report
}

func (v *verifier) fail(seq int64, kind ProblemKind, format string, args ...any) bool {
	v.report.Problem = &Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	return true
}

// bodySeq returns the seq sealed inside a row's body, or 0.
func bodySeq(row *Sealed) int64 {
	if row == nil {
		return 0
	}
	r, err := DecodeBody(row.Body)
	if err != nil {
		return 0
	}
	return r.Seq
}

// check judges row, with next (or nil) as one row of lookahead. It
// returns true when it found a problem.
func (v *verifier) check(row, next *Sealed) bool {
	v.report.Records++
	e := v.expect
	authentic := row.KeyID == v.key.id && len(row.Hash) == HashSize &&
		hmac.Equal(v.key.mac(row.Prev, row.Body), row.Hash)
	if !authentic {
		if row.KeyID != v.key.id && hmac.Equal(v.key.mac(row.Prev, row.Body), row.Hash) {
			// Sealed by this key after all: the key id column was edited.
			return v.fail(row.Seq, ProblemChanged, "key id column altered")
		}
		switch {
		case next != nil && bytes.Equal(next.Prev, v.prev):
			return v.fail(row.Seq, ProblemInserted, "not sealed by the chain key, and the next record chains to record %d as if this one were not there", e-1)
		case v.checkpoint.Seq > 0 && row.Seq > v.checkpoint.Seq && (next == nil || bodySeq(next) > row.Seq):
			return v.fail(row.Seq, ProblemInserted, "not sealed by the chain key, after the last checkpoint (%d)", v.checkpoint.Seq)
		case row.KeyID != v.key.id:
			return v.fail(row.Seq, ProblemKeyMismatch, "sealed with key %s, verifying with key %s", row.KeyID, v.key.id)
		default:
			return v.fail(row.Seq, ProblemChanged, "hash does not match the record's contents")
		}
	}
	rec, err := DecodeBody(row.Body)
	if err != nil {
		// Authentic bytes that do not parse: sealed by a broken writer.
		return v.fail(row.Seq, ProblemChanged, "sealed body is not a record: %v", err)
	}
	switch {
	case rec.Seq < e:
		return v.fail(row.Seq, ProblemInserted, "a copy of record %d", rec.Seq)
	case rec.Seq > e:
		if next != nil && bodySeq(next) == e {
			return v.fail(row.Seq, ProblemReordered, "holds record %d; record %d comes after it", rec.Seq, e)
		}
		if e == rec.Seq-1 {
			return v.fail(e, ProblemRemoved, "record %d is missing (next present is %d)", e, rec.Seq)
		}
		return v.fail(e, ProblemRemoved, "records %d–%d are missing (next present is %d)", e, rec.Seq-1, rec.Seq)
	}
	// rec.Seq == e
	if row.Seq != e {
		return v.fail(row.Seq, ProblemReordered, "seq column says %d, record was sealed as %d", row.Seq, e)
	}
	if !bytes.Equal(row.Prev, v.prev) {
		return v.fail(row.Seq, ProblemChanged, "does not chain to record %d (previous hash altered or replaced)", e-1)
	}
	if col := row.Index.diff(IndexOf(&rec)); col != "" {
		return v.fail(row.Seq, ProblemChanged, "index column %s does not match the sealed record", col)
	}
	if row.Seq == v.checkpoint.Seq {
		v.cpHash = row.Hash
	}
	if v.want != nil && row.Seq == v.want.Seq {
		v.wantHash = row.Hash
	}
	if v.witness != nil && row.Seq == v.witness.Seq {
		v.witnessHash = row.Hash
	}
	v.prev = row.Hash
	v.expect = e + 1
	v.report.Last = Head{Seq: row.Seq, Hash: row.Hash}
	return false
}

// finish compares the verified chain with the checkpoint and the wanted
// head.
func (v *verifier) finish() {
	last := v.report.Last.Seq
	compare := func(h Head, seen []byte, what string) bool {
		switch {
		case h.Seq > last:
			if last+1 == h.Seq {
				return v.fail(last+1, ProblemTruncated, "%s is record %d but the chain ends at %d", what, h.Seq, last)
			}
			return v.fail(last+1, ProblemTruncated, "%s is record %d but the chain ends at %d: records %d–%d are missing", what, h.Seq, last, last+1, h.Seq)
		case !bytes.Equal(seen, h.Hash):
			return v.fail(h.Seq, ProblemHeadMismatch, "%s hash %s differs from record %d's hash %s", what, short(h.Hash), h.Seq, short(seen))
		}
		return false
	}
	if v.checkpoint.Seq == 0 {
		if last > 0 {
			v.fail(1, ProblemHeadMismatch, "records exist but no head checkpoint does")
		}
	} else if compare(v.checkpoint, v.cpHash, "the head checkpoint") {
		return
	}
	if v.want != nil && compare(*v.want, v.wantHash, "the expected head") {
		return
	}
	if v.witness != nil {
		compare(*v.witness, v.witnessHash, v.witnessWhat)
	}
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	if s == "" {
		return "(none)"
	}
	return s
}
