package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/repository"
)

// Part sizes. S3 requires every part but the last to be at least 5 MiB and
// allows at most 10,000 parts, so PartSize also bounds the object size
// (16 MiB parts: 160 GiB).
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 1 << 30
	maxParts        = 10000
)

// cleanupTimeout bounds the requests that undo a failed Put, which run even
// when the Put's own context was cancelled.
const cleanupTimeout = 30 * time.Second

// Config says where the blobs live.
type Config struct {
	Endpoint  string // host[:port], no scheme
	AccessKey string
	SecretKey string
	Region    string // empty: the server's default
	Secure    bool   // HTTPS
	Bucket    string
	// Prefix is prepended to every key: "" or a valid key prefix ending
	// in '/' (for example "pjd/"), so one bucket can serve several
	// deployments.
	Prefix string
	// CreateBucket creates Bucket when it does not exist (development and
	// tests). Without it a missing bucket is an error at Open.
	CreateBucket bool
	// PartSize is the unit of upload and the memory each Put in flight
	// holds; 0 means DefaultPartSize.
	PartSize int64
	// Transport replaces the HTTP transport (custom TLS roots, timeouts).
	Transport http.RoundTripper
	// MaxRetries bounds how often one call is tried when the server does
	// not answer (minio-go backs off between tries); 0 means
	// DefaultMaxRetries. More tries make an outage slower to report, not
	// less of an outage.
	MaxRetries int
}

// DefaultMaxRetries: an unreachable server is reported within about two
// seconds (minio-go's own default, ten tries, takes about eight).
const DefaultMaxRetries = 3

// Store is a repository.BlobStore over an S3 bucket.
type Store struct {
	core     *minio.Core
	bucket   string
	prefix   string
	partSize int64
	bufs     sync.Pool // *[]byte of partSize
}

var (
	_ repository.BlobStore         = (*Store)(nil)
	_ repository.IncompleteSweeper = (*Store)(nil)
)

// ErrNoBucket: the configured bucket does not exist and CreateBucket is off.
var ErrNoBucket = errors.New("s3: bucket does not exist")

// Open checks cfg, connects, and makes sure the bucket exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3: endpoint and bucket are required")
	}
	if cfg.Prefix != "" && (!strings.HasSuffix(cfg.Prefix, "/") || repository.ValidatePrefix(cfg.Prefix) != nil) {
		return nil, fmt.Errorf("s3: prefix %q must be key characters ending in '/'", cfg.Prefix)
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize || cfg.PartSize > MaxPartSize {
		return nil, fmt.Errorf("s3: part size %d outside [%d, %d]", cfg.PartSize, MinPartSize, MaxPartSize)
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	core, err := minio.NewCore(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Region:     cfg.Region,
		Transport:  cfg.Transport,
		MaxRetries: cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	ok, err := core.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: checking bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("%w: %s", ErrNoBucket, cfg.Bucket)
		}
		err := core.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3: creating bucket %s: %w", cfg.Bucket, err)
		}
	}
	s := &Store{core: core, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize}
	s.bufs.New = func() any {
		b := make([]byte, s.partSize)
		return &b
	}
	return s, nil
}

// Put reads r one part at a time into a pooled buffer. An object that fits
// in one part is stored with a single PUT; a larger one with a multipart
// upload that the server makes visible only when it completes. Either way
// each request carries the SHA-256 of its payload twice, as the signed
// x-amz-content-sha256 and as x-amz-checksum-sha256, so the server refuses
// any byte that changed on the way and keeps the checksum with the object.
// The first smallSize bytes go to a small pooled buffer, so a typical
// document never takes a part-sized one.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := repository.ValidateKey(key); err != nil {
		return 0, err
	}
	r = repository.ContextReader(ctx, r)
	obj := s.prefix + key

	smallp := smallBufs.Get().(*[]byte)
	n, eof, err := fill(r, *smallp)
	if err != nil || eof {
		defer smallBufs.Put(smallp)
		if err != nil {
			return 0, fmt.Errorf("s3: put %s: %w", key, err)
		}
		return s.putSingle(ctx, key, obj, (*smallp)[:n])
	}
	bufp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bufp)
	buf := *bufp
	copy(buf, (*smallp)[:n])
	smallBufs.Put(smallp)
	m, eof, err := fill(r, buf[n:])
	if err != nil {
		return 0, fmt.Errorf("s3: put %s: %w", key, err)
	}
	if eof {
		return s.putSingle(ctx, key, obj, buf[:n+m])
	}
	total, err := s.putMultipart(ctx, obj, r, buf)
	if err != nil {
		return 0, fmt.Errorf("s3: put %s: %w", key, err)
	}
	return total, nil
}

// smallSize is the first buffer Put fills: most documents fit.
const smallSize = 256 << 10

var smallBufs = sync.Pool{New: func() any {
	b := make([]byte, smallSize)
	return &b
}}

// putSingle stores data with one PUT.
func (s *Store) putSingle(ctx context.Context, key, obj string, data []byte) (int64, error) {
	sum := sha256.Sum256(data)
	opts := minio.PutObjectOptions{
		DisableContentSha256: true, // sign the payload hash given below
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum[:])},
	}
	for attempt := 1; ; attempt++ {
		_, err := s.core.PutObject(ctx, s.bucket, obj, bytes.NewReader(data), int64(len(data)), "", hex.EncodeToString(sum[:]), opts)
		if err == nil {
			return int64(len(data)), nil
		}
		if attempt < parentRaceAttempts && minio.ToErrorResponse(err).Code == "ExistingObjectIsDirectory" && ctx.Err() == nil {
			continue
		}
		return 0, fmt.Errorf("s3: put %s: %w", key, classify(err))
	}
}

// parentRaceAttempts bounds the PUTs of one in-memory object that a
// posix-backed server (versitygw) refuses with ExistingObjectIsDirectory.
// Such a server keeps "docs/h/u.bin" as a file in the directory docs/h and
// removes that directory when a Delete leaves it empty; a PUT that created
// the directory just before the removal fails with this code. No pjd key
// is the directory of another (ValidateKey, the docs/<hash>/<upload>
// layout), so the code only ever means that race, and the same bytes are
// simply sent again.
const parentRaceAttempts = 5

// putMultipart uploads buf (already full) and the rest of r as the parts of
// one multipart upload, aborting the upload on any failure.
func (s *Store) putMultipart(ctx context.Context, obj string, r io.Reader, buf []byte) (total int64, err error) {
	opts := minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-algorithm": "SHA256"}}
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, obj, opts)
	if err != nil {
		return 0, classify(err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			s.core.AbortMultipartUpload(actx, s.bucket, obj, id)
		}
	}()
	var parts []minio.CompletePart
	part := buf
	for num := 1; ; num++ {
		if num > maxParts {
			return 0, fmt.Errorf("object exceeds %d parts of %d bytes", maxParts, s.partSize)
		}
		sum := sha256.Sum256(part)
		hdr := make(http.Header, 1)
		hdr.Set("x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sum[:]))
		p, err := s.core.PutObjectPart(ctx, s.bucket, obj, id, num, bytes.NewReader(part), int64(len(part)),
			minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true, CustomHeader: hdr})
		if err != nil {
			return 0, classify(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256})
		total += int64(len(part))
		if len(part) < len(buf) {
			break // a short part is the last
		}
		n, eof, err := fill(r, buf)
		if err != nil {
			return 0, err
		}
		if n == 0 && eof {
			break
		}
		part = buf[:n]
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, obj, id, parts, minio.PutObjectOptions{}); err != nil {
		return 0, classify(err)
	}
	return total, nil
}

// fill reads from r until buf is full or r reports io.EOF (eof). Unlike
// io.ReadFull it never turns a reader's own error (io.ErrUnexpectedEOF from
// a truncated request body, say) into a normal end of data.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// Get streams the object with one GET request.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, repository.BlobInfo, error) {
	if err := repository.ValidateKey(key); err != nil {
		return nil, repository.BlobInfo{}, err
	}
	rc, oi, _, err := s.core.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, repository.BlobInfo{}, s.mapErr(key, err)
	}
	return rc, repository.BlobInfo{Key: key, Size: oi.Size, Modified: oi.LastModified}, nil
}

// Stat describes the object with one HEAD request.
func (s *Store) Stat(ctx context.Context, key string) (repository.BlobInfo, error) {
	if err := repository.ValidateKey(key); err != nil {
		return repository.BlobInfo{}, err
	}
	oi, err := s.core.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return repository.BlobInfo{}, s.mapErr(key, err)
	}
	return repository.BlobInfo{Key: key, Size: oi.Size, Modified: oi.LastModified}, nil
}

// Delete removes the object; S3 does not report a missing one.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := repository.ValidateKey(key); err != nil {
		return err
	}
	err := s.core.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(s.mapErr(key, err), repository.ErrBlobNotFound) {
		return fmt.Errorf("s3: delete %s: %w", key, classify(err))
	}
	return nil
}

// List pages through ListObjectsV2 (S3 returns keys in lexical order).
// Objects under the prefix whose names are not valid keys (written by
// something else) are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(repository.BlobInfo) error) error {
	if err := repository.ValidatePrefix(prefix); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for oi := range s.core.Client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("s3: list %s: %w", prefix, classify(oi.Err))
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		if repository.ValidateKey(key) != nil {
			continue
		}
		if err := fn(repository.BlobInfo{Key: key, Size: oi.Size, Modified: oi.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// SweepIncomplete aborts multipart uploads under the prefix that were
// started before cutoff and never completed or aborted (their process
// died); their parts use space but are invisible to readers.
func (s *Store) SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for u := range s.core.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if u.Err != nil {
			return n, fmt.Errorf("s3: listing incomplete uploads: %w", classify(u.Err))
		}
		if !u.Initiated.Before(cutoff) || !strings.HasPrefix(u.Key, s.prefix) {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil {
			return n, fmt.Errorf("s3: aborting incomplete upload of %s: %w", u.Key, classify(err))
		}
		n++
	}
	return n, nil
}

func (s *Store) mapErr(key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound", "ObjectParentIsFile", "ExistingObjectIsDirectory":
		return fmt.Errorf("s3: %s: %w", key, repository.ErrBlobNotFound)
	}
	return fmt.Errorf("s3: %s: %w", key, classify(err))
}

// classify marks an error of a call to the S3 server that means the
// server could not be reached or cannot serve now as
// repository.ErrUnavailable: a network error (refused, reset, timed out,
// the connection closed mid-answer) or an answer saying so (5xx,
// SlowDown, RequestTimeout). Only errors of minio-go calls come here, never
// those of the caller's reader, and the context's own end is left as it is.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", repository.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	r := minio.ToErrorResponse(err)
	switch r.Code {
	case "SlowDown", "SlowDownRead", "SlowDownWrite", "ServiceUnavailable", "InternalError", "RequestTimeout",
		"XMinioServerNotInitialized", "Throttling", "RequestLimitExceeded":
		return true
	}
	return r.StatusCode >= 500
}
