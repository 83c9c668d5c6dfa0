package testenv

import (
	"context"
	"testing"
	"time"

	"pjd/conformance/services"
)

// VersitygwVersion is the S3 server version the tests are written against.
const VersitygwVersion = services.VersitygwVersion

// S3Info says how to reach one fresh, empty bucket on the test S3 server.
// Endpoint is host:port (plain HTTP on loopback), as minio.New takes it.
type S3Info = services.Bucket

var s3Shared shared[services.S3Server]

// S3 returns a fresh bucket on the shared test S3 server (versitygw with a
// posix backend in a temporary directory), starting the server on first
// use. The bucket and its objects are removed when tb ends. When the server
// cannot be had, tb ends through Unavailable.
func S3(tb testing.TB) S3Info {
	tb.Helper()
	srv, err := s3Shared.get(startS3, (*services.S3Server).Stop)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var b S3Info
		if b, err = srv.NewBucket(ctx, "pjd-test"); err == nil {
			tb.Cleanup(func() { srv.DropBucket(b.Bucket) })
			return b
		}
	}
	Unavailable(tb, "S3 (versitygw "+VersitygwVersion+")", err)
	return S3Info{}
}

// VersitygwBinary finds the versitygw executable (see
// services.VersitygwBinary), honouring PJD_TEST_WITHOUT.
func VersitygwBinary() (string, error) {
	if err := Without("versitygw"); err != nil {
		return "", err
	}
	return services.VersitygwBinary()
}

func startS3() (*services.S3Server, error) {
	if err := Without("versitygw"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return services.StartS3(ctx)
}
