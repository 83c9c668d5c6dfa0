package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/conformance/testenv"
	"pjd/repository"
	"pjd/repository/blobtest"
	"pjd/repository/s3"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func config(info testenv.S3Info) s3.Config {
	return s3.Config{Endpoint: info.Endpoint, AccessKey: info.AccessKey, SecretKey: info.SecretKey, Bucket: info.Bucket}
}

// open gives each subtest a fresh bucket, with the smallest part size S3
// allows so the suite's sizes cross part boundaries.
func open(t *testing.T) repository.BlobStore {
	cfg := config(testenv.S3(t))
	cfg.PartSize = s3.MinPartSize
	s, err := s3.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBlobStore(t *testing.T) { blobtest.Run(t, open) }

func TestOpen(t *testing.T) {
	info := testenv.S3(t)
	ctx := t.Context()
	good := config(info)
	for _, tc := range []struct {
		name string
		edit func(*s3.Config)
		want error
	}{
		{"no endpoint", func(c *s3.Config) { c.Endpoint = "" }, nil},
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, nil},
		{"prefix without slash", func(c *s3.Config) { c.Prefix = "pjd" }, nil},
		{"prefix with parent", func(c *s3.Config) { c.Prefix = "../pjd/" }, nil},
		{"part size too small", func(c *s3.Config) { c.PartSize = s3.MinPartSize - 1 }, nil},
		{"part size too large", func(c *s3.Config) { c.PartSize = s3.MaxPartSize + 1 }, nil},
		{"missing bucket", func(c *s3.Config) { c.Bucket = "pjd-no-such-bucket" }, s3.ErrNoBucket},
		{"wrong secret", func(c *s3.Config) { c.SecretKey += "x" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := s3.Open(ctx, cfg)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want an error %v", err, tc.want)
			}
			if strings.Contains(err.Error(), cfg.SecretKey) {
				t.Fatalf("error reveals the secret key: %v", err)
			}
		})
	}
	cfg := good
	cfg.Bucket = info.Bucket + "-created"
	cfg.CreateBucket = true
	s, err := s3.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open with CreateBucket: %v", err)
	}
	if _, err := s.Put(ctx, "k", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(ctx, cfg); err != nil {
		t.Fatalf("Open of an existing bucket with CreateBucket: %v", err)
	}
}

// TestPrefix: two stores with different prefixes share a bucket without
// seeing each other's objects.
func TestPrefix(t *testing.T) {
	info := testenv.S3(t)
	ctx := t.Context()
	a, b, whole := config(info), config(info), config(info)
	a.Prefix, b.Prefix = "site-a/", "site-b/"
	sa, err := s3.Open(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := s3.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := s3.Open(ctx, whole)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*s3.Store{sa, sb} {
		if _, err := s.Put(ctx, "docs/k", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.Delete(ctx, "docs/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Stat(ctx, "docs/k"); err != nil {
		t.Fatalf("b's object after a deleted its own: %v", err)
	}
	var keys []string
	sw.List(ctx, "", func(bi repository.BlobInfo) error { keys = append(keys, bi.Key); return nil })
	if !slices.Equal(keys, []string{"site-b/docs/k"}) {
		t.Fatalf("bucket holds %q", keys)
	}
	keys = nil
	sa.List(ctx, "", func(bi repository.BlobInfo) error { keys = append(keys, bi.Key); return nil })
	if len(keys) != 0 {
		t.Fatalf("a lists %q", keys)
	}
}

func rawClient(t testing.TB, info testenv.S3Info) *minio.Core {
	c, err := minio.NewCore(info.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(info.AccessKey, info.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func incomplete(t testing.TB, c *minio.Core, bucket string) []string {
	var keys []string
	for u := range c.ListIncompleteUploads(t.Context(), bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// TestIncompleteUploads: a failed multipart Put aborts its upload; one a
// dead process left is removed by SweepIncomplete once older than the
// cutoff.
func TestIncompleteUploads(t *testing.T) {
	info := testenv.S3(t)
	cfg := config(info)
	cfg.PartSize = s3.MinPartSize
	cfg.Prefix = "p/"
	ctx := t.Context()
	s, err := s3.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, info)
	src := io.MultiReader(bytes.NewReader(make([]byte, 6<<20)), iotest.ErrReader(errors.New("source broke")))
	if _, err := s.Put(ctx, "k", src); err == nil {
		t.Fatal("Put of a failing source succeeded")
	}
	if got := incomplete(t, raw, info.Bucket); len(got) != 0 {
		t.Fatalf("failed Put left multipart uploads %q", got)
	}
	for _, key := range []string{"p/left", "other/left"} {
		if _, err := raw.NewMultipartUpload(ctx, info.Bucket, key, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SweepIncomplete(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("SweepIncomplete of young uploads = %d, %v", n, err)
	}
	if n, err := s.SweepIncomplete(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("SweepIncomplete = %d, %v", n, err)
	}
	if got := incomplete(t, raw, info.Bucket); !slices.Equal(got, []string{"other/left"}) {
		t.Fatalf("incomplete uploads after sweep: %q (the one outside the prefix must stay)", got)
	}
}

// TestServerChecksum: the server keeps the SHA-256 the store sent, and a
// multipart object carries a composite SHA-256 over its parts.
func TestServerChecksum(t *testing.T) {
	info := testenv.S3(t)
	cfg := config(info)
	cfg.PartSize = s3.MinPartSize
	ctx := t.Context()
	s, err := s3.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, info)
	small := []byte("synthetic epikrise")
	if _, err := s.Put(ctx, "small", bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	oi, err := raw.StatObject(ctx, info.Bucket, "small", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(small)
	if oi.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("single-PUT object checksum %q, want the SHA-256 of its bytes", oi.ChecksumSHA256)
	}
	if _, err := s.Put(ctx, "large", bytes.NewReader(make([]byte, 11<<20))); err != nil {
		t.Fatal(err)
	}
	oi, err = raw.StatObject(ctx, info.Bucket, "large", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(oi.ChecksumSHA256, "-3") {
		t.Errorf("multipart object checksum %q, want a composite SHA-256 of 3 parts", oi.ChecksumSHA256)
	}
}
