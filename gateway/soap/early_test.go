package soap

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestEarlyAnswerOverHTTP2: over HTTP/2 with TLS, the server answers an
// upload after reading only the envelope, while the client is still
// sending a large attachment, and finishes its answer only once the
// client has stopped sending. The client must stop the upload by ending
// the request body, not by aborting the stream: an aborted HTTP/2 stream
// takes the response with it ("io: read/write on closed pipe" while
// reading the answer), which made ITI-41 refusals flaky in production mode.
func TestEarlyAnswerOverHTTP2(t *testing.T) {
	mux := &Mux{}
	mux.Handle(testAction41, func(w http.ResponseWriter, r *Request) {
		if r.HTTP.ProtoMajor != 2 {
			t.Errorf("request over %s, want HTTP/2", r.HTTP.Proto)
		}
		rec := httptest.NewRecorder()
		if err := WriteResponse(rec, testAction41+"Response", r.Addressing.MessageID, mustElement(t, `<x:Refused xmlns:x="urn:x">`+string(bytes.Repeat([]byte("refused "), 8<<10))+`</x:Refused>`)); err != nil {
			t.Error(err)
			return
		}
		out := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out[:len(out)/2])
		w.(http.Flusher).Flush() // the client's Do returns here
		// Wait until the client has stopped sending (it ends or aborts the
		// request body), then finish the answer.
		_, _ = io.Copy(io.Discard, r.HTTP.Body)
		_, _ = w.Write(out[len(out)/2:])
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := &Client{HTTP: srv.Client()}

	body, cids := pnr("D1")
	var sent atomic.Int64
	const size = 1 << 30
	resp, err := c.CallMTOM(context.Background(), srv.URL, testAction41, body,
		[]Attachment{{ContentID: cids[0], ContentType: "application/pdf", Body: &patternReader{left: size, sent: &sent}}})
	if err != nil {
		t.Fatalf("CallMTOM: %v", err)
	}
	defer resp.Close()
	if resp.Body().Tag != "Refused" || len(resp.Body().Text()) != 8*8<<10 {
		t.Errorf("answer %s…", elementString(t, resp.Body())[:40])
	}
	if sent.Load() == size {
		t.Errorf("client sent the whole attachment to a server that had answered")
	}
}
