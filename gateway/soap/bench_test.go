package soap

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const benchSize = 16 << 20

// BenchmarkUpload compares sending a document with CallMTOM (and reading
// it with ReadRequest/NextPart) against the baseline of a bare HTTP POST
// of the same bytes, measured in the same run. Compare the MB/s figures.
func BenchmarkUpload(b *testing.B) {
	b.Run("baseline-http-post", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		defer srv.Close()
		b.SetBytes(benchSize)
		for b.Loop() {
			resp, err := http.Post(srv.URL, "application/octet-stream", &patternReader{left: benchSize})
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	})
	b.Run("mtom", func(b *testing.B) {
		mux := &Mux{}
		mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
			for {
				p, err := r.NextPart()
				if err != nil {
					break
				}
				_, _ = io.Copy(io.Discard, p.Body)
			}
			_ = WriteResponse(w, testAction41+"Response", r.Addressing.MessageID, etreeOK())
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		c := &Client{}
		b.SetBytes(benchSize)
		for b.Loop() {
			body, cids := pnr("D")
			resp, err := c.CallMTOM(context.Background(), srv.URL, testAction41, body,
				[]Attachment{{ContentID: cids[0], Body: &patternReader{left: benchSize}}})
			if err != nil {
				b.Fatal(err)
			}
			resp.Close()
		}
	})
}

// BenchmarkDownload compares MTOMWriter + Response.NextPart against a bare
// HTTP GET of the same bytes.
func BenchmarkDownload(b *testing.B) {
	b.Run("baseline-http-get", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, &patternReader{left: benchSize})
		}))
		defer srv.Close()
		b.SetBytes(benchSize)
		for b.Loop() {
			resp, err := http.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("mtom", func(b *testing.B) {
		mux := &Mux{}
		mux.Handle(testAction43, func(w http.ResponseWriter, r *Request) {
			body, cids := pnr("R")
			mw := NewMTOMWriter(w, testAction43+"Response", r.Addressing.MessageID)
			if mw.WriteEnvelope(body) != nil {
				return
			}
			if _, err := mw.WriteAttachment(cids[0], "application/pdf", &patternReader{left: benchSize}); err != nil {
				return
			}
			_ = mw.Close()
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		c := &Client{}
		b.SetBytes(benchSize)
		for b.Loop() {
			resp, err := c.CallMTOM(context.Background(), srv.URL, testAction43, etreeOK(), nil)
			if err != nil {
				b.Fatal(err)
			}
			p, err := resp.NextPart()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, p.Body); err != nil {
				b.Fatal(err)
			}
			resp.Close()
		}
	})
}

// BenchmarkReadEnvelope measures ReadRequest on a plain request against
// the baseline of etree parsing the same bytes with no checks.
func BenchmarkReadEnvelope(b *testing.B) {
	raw := []byte(envelope(wsaHeaders(testAction), pnrInline(200)))
	b.Run("baseline-etree", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			d := newDoc()
			if err := d.ReadFromBytes(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadRequest", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/", bytesReader(raw))
			r.Header.Set("Content-Type", ct12)
			if _, err := ReadRequest(r, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
