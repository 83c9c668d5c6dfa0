// Package synth makes the synthetic documents pjd's integration tests,
// crash rounds and benchmarks send: reproducible byte streams of any size,
// generated as they are read and verified byte for byte when they come
// back, and the ITI-41 submissions that carry them. It holds no data about
// real people.
package synth

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"

	"pjd/gateway/xdsclient"
	"pjd/registry"
)

// Doc is a reproducible document of Size bytes named by Seed: what the
// integration tests and benchmarks send. It is generated as it is read,
// never held in memory, and verified byte for byte when it comes back.
// Every 4 KiB block starts with its seed and block number, so a block
// served from the wrong document or the wrong offset is told apart.
type Doc struct {
	Seed uint64
	Size int64
	Hash string // hex SHA-1 once WithHash has computed it
}

const block = 4096

// base is the material blocks are cut from: 1 MiB of ChaCha8 output
// from a fixed key (computed once, never changed).
var base = sync.OnceValue(func() []byte {
	b := make([]byte, 1<<20)
	_, _ = mrand.NewChaCha8([32]byte{'p', 'j', 'd'}).Read(b)
	return b
})

// fill writes the bytes of p from offset off into buf.
func (p Doc) fill(buf []byte, off int64) {
	b := base()
	span := uint64(len(b) - block)
	var stamp [16]byte
	binary.LittleEndian.PutUint64(stamp[:8], p.Seed)
	for len(buf) > 0 {
		blk, in := uint64(off/block), int(off%block)
		start := (p.Seed*7919 + blk*block) % span
		n := min(len(buf), block-in)
		copy(buf[:n], b[start+uint64(in):])
		if in < len(stamp) {
			binary.LittleEndian.PutUint64(stamp[8:], blk)
			copy(buf[:n], stamp[in:])
		}
		buf = buf[n:]
		off += int64(n)
	}
}

// Reader streams p's bytes.
func (p Doc) Reader() io.Reader { return &reader{p: p} }

type reader struct {
	p   Doc
	off int64
}

func (r *reader) Read(b []byte) (int, error) {
	if r.off >= r.p.Size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), r.p.Size-r.off))
	r.p.fill(b[:n], r.off)
	r.off += int64(n)
	return n, nil
}

// WithHash returns p with its SHA-1 computed (by generating it once).
func (p Doc) WithHash() Doc {
	h := sha1.New()
	_, _ = io.CopyBuffer(h, p.Reader(), make([]byte, 256<<10))
	p.Hash = hex.EncodeToString(h.Sum(nil))
	return p
}

// Verify reads r to its end and fails unless it yields exactly p's bytes.
// It returns how many bytes it read.
func (p Doc) Verify(r io.Reader) (int64, error) {
	got := make([]byte, 256<<10)
	want := make([]byte, len(got))
	var off int64
	for {
		n, err := r.Read(got)
		if n > 0 {
			if off+int64(n) > p.Size {
				return off + int64(n), fmt.Errorf("more than the %d bytes expected", p.Size)
			}
			p.fill(want[:n], off)
			if !bytes.Equal(got[:n], want[:n]) {
				i := 0
				for got[i] == want[i] {
					i++
				}
				return off + int64(i), fmt.Errorf("byte %d differs from what was sent", off+int64(i))
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return off, err
		}
	}
	if off != p.Size {
		return off, fmt.Errorf("%d bytes, want %d", off, p.Size)
	}
	return off, nil
}

// Submission is a synthetic ITI-41 submission for patient (a CX): one
// SubmissionSet and one DocumentEntry per Doc (uniqueIds from seq, see
// registry.SampleUniqueID), with the documents' bytes streaming from the
// Docs. An entry declares size and hash when its Doc has its hash (as a
// source that knows them does); otherwise the repository measures them.
func Submission(seq uint64, patient string, docs ...Doc) (*registry.Submission, []xdsclient.Document) {
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: patient, Documents: len(docs), Seq: seq})
	out := make([]xdsclient.Document, len(docs))
	for i, p := range docs {
		e := sub.Documents[i]
		e.MimeType = "application/octet-stream"
		e.Title = fmt.Sprintf("Syntetisk dokument %d (%d byte)", i+1, p.Size)
		e.Hash, e.Size = "", nil
		if p.Hash != "" {
			size := p.Size
			e.Hash, e.Size = p.Hash, &size
		}
		out[i] = xdsclient.Document{ID: e.ID, MimeType: e.MimeType, Body: p.Reader()}
	}
	return sub, out
}
