package soap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
)

// heapWatch records the peak heap seen at sampling points. Sampling is
// driven by bytes transferred, not by time.
type heapWatch struct {
	mu       sync.Mutex
	baseline uint64
	peak     uint64
}

func newHeapWatch() *heapWatch {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapWatch{baseline: m.HeapAlloc, peak: m.HeapAlloc}
}

func (h *heapWatch) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.mu.Lock()
	if m.HeapAlloc > h.peak {
		h.peak = m.HeapAlloc
	}
	h.mu.Unlock()
}

func (h *heapWatch) growth() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak - h.baseline
}

// sampling wraps a reader and samples the heap every 32 MiB read.
type sampling struct {
	r    io.Reader
	h    *heapWatch
	next int64
	n    int64
}

func (s *sampling) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n >= s.next {
		s.h.sample()
		s.next = s.n + 32<<20
	}
	return n, err
}

func streamSize(t *testing.T) int64 {
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// maxHeapGrowth is what streaming may cost: buffers of a few hundred
// kilobytes, plus garbage the collector has not yet reclaimed. Buffering a
// document would cost its whole size.
const maxHeapGrowth = 48 << 20

// TestStreamLargeUpload sends a 1 GiB attachment with CallMTOM to a server
// reading it with NextPart. The attachment is generated, never held.
func TestStreamLargeUpload(t *testing.T) {
	size := streamSize(t)
	h := newHeapWatch()
	var got string
	var gotN int64
	mux := &Mux{}
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		p, err := r.NextPart()
		if err != nil {
			t.Error(err)
			return
		}
		d := sha256.New()
		gotN, err = io.Copy(d, &sampling{r: p.Body, h: h})
		if err != nil {
			t.Error(err)
		}
		got = hex.EncodeToString(d.Sum(nil))
		if _, err := r.NextPart(); err != io.EOF {
			t.Errorf("after last part: %v", err)
		}
		_ = WriteResponse(w, testAction41+"Response", r.Addressing.MessageID, mustElement(t, `<ok/>`))
	})
	url := newServer(t, mux)

	body, cids := pnr("Big")
	sent := sha256.New()
	src := &patternReader{left: size, hash: sent}
	resp, err := (&Client{}).CallMTOM(context.Background(), url, testAction41, body,
		[]Attachment{{ContentID: cids[0], ContentType: "application/dicom", Body: &sampling{r: src, h: h}}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	if gotN != size || got != hex.EncodeToString(sent.Sum(nil)) {
		t.Fatalf("received %d bytes (want %d), hash match %v", gotN, size, got == hex.EncodeToString(sent.Sum(nil)))
	}
	if g := h.growth(); g > maxHeapGrowth {
		t.Errorf("heap grew by %d bytes streaming %d bytes", g, size)
	} else {
		t.Logf("streamed %d bytes up; peak heap growth %d bytes", size, g)
	}
}

// TestStreamLargeDownload sends a 1 GiB attachment with MTOMWriter to a
// client reading it with NextPart.
func TestStreamLargeDownload(t *testing.T) {
	size := streamSize(t)
	h := newHeapWatch()
	sent := sha256.New()
	mux := &Mux{}
	mux.Handle(testAction43, func(w http.ResponseWriter, r *Request) {
		body, cids := pnr("Big")
		mw := NewMTOMWriter(w, testAction43+"Response", r.Addressing.MessageID)
		if err := mw.WriteEnvelope(body); err != nil {
			t.Error(err)
			return
		}
		src := &patternReader{left: size, hash: sent}
		if _, err := mw.WriteAttachment(cids[0], "application/dicom", &sampling{r: src, h: h}); err != nil {
			t.Error(err)
			return
		}
		if err := mw.Close(); err != nil {
			t.Error(err)
		}
	})
	resp, p := firstPart(t, mux)
	d := sha256.New()
	n, err := io.Copy(d, &sampling{r: p.Body, h: h})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.NextPart(); err != io.EOF {
		t.Errorf("after last part: %v", err)
	}
	if n != size || hex.EncodeToString(d.Sum(nil)) != hex.EncodeToString(sent.Sum(nil)) {
		t.Fatalf("received %d bytes (want %d) or hash differs", n, size)
	}
	if g := h.growth(); g > maxHeapGrowth {
		t.Errorf("heap grew by %d bytes streaming %d bytes", g, size)
	} else {
		t.Logf("streamed %d bytes down; peak heap growth %d bytes", size, g)
	}
}

// firstPart sends an ITI-43-like MTOM request to mux and returns the
// answer and its first MIME part (its body read as it streams; the
// response is closed when the test ends).
func firstPart(t *testing.T, mux *Mux) (*Response, *Part) {
	t.Helper()
	resp, err := (&Client{}).CallMTOM(context.Background(), newServer(t, mux), testAction43, mustElement(t, `<x:R xmlns:x="urn:x"/>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Close() })
	p, err := resp.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	return resp, p
}
