package s3_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"pjd/conformance/testenv"
	"pjd/repository/s3"
)

// benchSize is the blob moved per operation: large enough to be all
// multipart, small enough for a few iterations on the CI machine.
const benchSize = 128 << 20

// zeroGen yields n bytes without holding them (a pattern, regenerated).
type zeroGen struct{ n int64 }

func (z *zeroGen) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	m := min(int64(len(p)), z.n)
	for i := range p[:m] {
		p[i] = byte(i * 31)
	}
	z.n -= m
	return int(m), nil
}

// benchStores opens a Store and a plain minio-go client on one S3 server.
func benchStores(b *testing.B) (testenv.S3Info, *s3.Store, *minio.Core) {
	info := testenv.S3(b)
	s, err := s3.Open(context.Background(), config(info))
	if err != nil {
		b.Fatal(err)
	}
	return info, s, rawClient(b, info)
}

// BenchmarkPut measures Store.Put of a 128 MiB stream next to plain
// minio-go PutObject of the same stream against the same server in the
// same run: with the size known (minio-go's best case) and unknown (-1,
// what a streaming caller has). Each iteration runs all three, so drift
// hits them alike; MB/s of each and the ratio to the known-size baseline
// are reported.
func BenchmarkPut(b *testing.B) {
	info, s, raw := benchStores(b)
	ctx := context.Background()
	var tStore, tKnown, tStream time.Duration
	b.SetBytes(3 * benchSize) // the default MB/s column is all three together
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := s.Put(ctx, fmt.Sprintf("store/%d", i), &zeroGen{benchSize}); err != nil {
			b.Fatal(err)
		}
		tStore += time.Since(start)

		start = time.Now()
		if _, err := raw.Client.PutObject(ctx, info.Bucket, fmt.Sprintf("known/%d", i), &zeroGen{benchSize}, benchSize, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		tKnown += time.Since(start)

		start = time.Now()
		if _, err := raw.Client.PutObject(ctx, info.Bucket, fmt.Sprintf("stream/%d", i), &zeroGen{benchSize}, -1, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		tStream += time.Since(start)

		for _, k := range []string{"store/%d", "known/%d", "stream/%d"} {
			raw.RemoveObject(ctx, info.Bucket, fmt.Sprintf(k, i), minio.RemoveObjectOptions{})
		}
	}
	report(b, tStore, map[string]time.Duration{"minio-known": tKnown, "minio-stream": tStream})
}

// BenchmarkGet measures Store.Get of a 128 MiB object read to the end next
// to plain minio-go GetObject of the same object in the same run.
func BenchmarkGet(b *testing.B) {
	info, s, raw := benchStores(b)
	ctx := context.Background()
	if _, err := s.Put(ctx, "blob", &zeroGen{benchSize}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	var tStore, tRaw time.Duration
	b.SetBytes(2 * benchSize) // the default MB/s column is both together
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rc, _, err := s.Get(ctx, "blob")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, rc, buf)
		rc.Close()
		if err != nil || n != benchSize {
			b.Fatalf("store read %d, %v", n, err)
		}
		tStore += time.Since(start)

		start = time.Now()
		obj, err := raw.Client.GetObject(ctx, info.Bucket, "blob", minio.GetObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n, err = io.CopyBuffer(io.Discard, obj, buf)
		obj.Close()
		if err != nil || n != benchSize {
			b.Fatalf("minio read %d, %v", n, err)
		}
		tRaw += time.Since(start)
	}
	report(b, tStore, map[string]time.Duration{"minio": tRaw})
}

func report(b *testing.B, store time.Duration, baselines map[string]time.Duration) {
	mbps := func(d time.Duration) float64 { return float64(b.N) * benchSize / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(store), "store-MB/s")
	for name, d := range baselines {
		b.ReportMetric(mbps(d), name+"-MB/s")
		b.ReportMetric(mbps(store)/mbps(d), "store/"+name)
	}
}
