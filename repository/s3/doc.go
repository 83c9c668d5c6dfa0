// Package s3 is the repository.BlobStore of production: each blob is one
// object in an S3-compatible bucket (minio-go), under an optional key
// prefix.
//
// Put streams in parts through a pooled buffer of PartSize bytes (a small
// one first, so typical documents never take a part-sized one), so memory
// is bounded by PartSize times the Puts in flight whatever a document's
// size; an object becomes visible only when its single PUT or its
// multipart upload completes, and every request carries the SHA-256 of its
// payload, which the server verifies and keeps (x-amz-checksum-sha256).
//
// An error of a call to the server that means it could not be reached or
// cannot serve now (refused, reset, timed out, 5xx, SlowDown) wraps
// repository.ErrUnavailable, after at most Config.MaxRetries tries; an
// error of the caller's reader never does.
//
// It must never buffer a whole object, leave an unfinished multipart upload
// behind when it can abort it (SweepIncomplete removes those a crash left),
// or touch an object outside its prefix or with a key that
// repository.ValidateKey refuses.
package s3
