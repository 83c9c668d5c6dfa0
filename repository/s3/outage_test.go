package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"pjd/conformance/testenv"
	"pjd/repository"
	"pjd/repository/s3"
)

// errReader fails after some bytes, as a truncated request body does.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// With the S3 server gone, every call fails with an error that says so
// (repository.ErrUnavailable), within the retry bound; an error of the
// caller's own reader is never taken for an outage.
func TestUnavailable(t *testing.T) {
	srv := testenv.StartS3(t)
	ctx := context.Background()
	cfg := config(srv.S3Info)
	cfg.PartSize = s3.MinPartSize // so that big is two parts
	st, err := s3.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := "docs/outage/one.bin"
	if _, err := st.Put(ctx, key, strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	// The reader's failure, with the server up, is the reader's.
	cut := errors.New("request body cut short")
	if _, err := st.Put(ctx, "docs/outage/two.bin", &errReader{r: strings.NewReader("x"), err: cut}); !errors.Is(err, cut) || errors.Is(err, repository.ErrUnavailable) {
		t.Fatalf("put from a failing reader: %v", err)
	}
	big := bytes.Repeat([]byte{7}, s3.MinPartSize+1)
	if _, err := st.Put(ctx, "docs/outage/three.bin", &errReader{r: bytes.NewReader(big), err: cut}); !errors.Is(err, cut) || errors.Is(err, repository.ErrUnavailable) {
		t.Fatalf("multipart put from a failing reader: %v", err)
	}

	srv.Stop()
	calls := map[string]func() error{
		"put": func() error { _, err := st.Put(ctx, "docs/outage/four.bin", strings.NewReader("x")); return err },
		"put multipart": func() error {
			_, err := st.Put(ctx, "docs/outage/five.bin", bytes.NewReader(big))
			return err
		},
		"get":    func() error { _, _, err := st.Get(ctx, key); return err },
		"stat":   func() error { _, err := st.Stat(ctx, key); return err },
		"delete": func() error { return st.Delete(ctx, key) },
		"list": func() error {
			return st.List(ctx, "docs/", func(repository.BlobInfo) error { return nil })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, repository.ErrUnavailable) {
				t.Fatalf("with the server stopped: %v, want repository.ErrUnavailable", err)
			}
		})
	}
}
