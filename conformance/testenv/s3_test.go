package testenv_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/conformance/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestS3 checks that S3 hands out distinct, empty, working buckets on one
// shared server.
func TestS3(t *testing.T) {
	ctx := context.Background()
	a := testenv.S3(t)
	b := testenv.S3(t)
	if a.Bucket == b.Bucket {
		t.Fatalf("two calls returned the same bucket %q", a.Bucket)
	}
	if a.Endpoint != b.Endpoint {
		t.Fatalf("server started twice: %s and %s", a.Endpoint, b.Endpoint)
	}
	cl, err := minio.New(a.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(a.AccessKey, a.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{a.Bucket, b.Bucket} {
		for obj := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			t.Fatalf("fresh bucket %s holds %q (err %v)", bucket, obj.Key, obj.Err)
		}
	}
	want := []byte("synthetic content")
	if _, err := cl.PutObject(ctx, a.Bucket, "x/y", bytes.NewReader(want), int64(len(want)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := cl.GetObject(ctx, a.Bucket, "x/y", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v; want %q", got, err, want)
	}
	if _, err := cl.StatObject(ctx, b.Bucket, "x/y", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("object leaked into another bucket: %v", err)
	}
}

// TestS3WrongCredentials proves the server checks signatures, so tests
// that use it exercise real authentication.
func TestS3WrongCredentials(t *testing.T) {
	a := testenv.S3(t)
	cl, err := minio.New(a.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(a.AccessKey, a.SecretKey+"x", "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BucketExists(context.Background(), a.Bucket); err == nil {
		t.Fatal("a wrong secret key was accepted")
	}
}
