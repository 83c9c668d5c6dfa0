// Package repository is the XDS document repository: documents stream
// through it to a BlobStore (S3-compatible object storage or local files)
// while their size, SHA-1 and SHA-256 are computed, are registered with the
// registry, and stream back out for retrieval with constant memory.
//
// It must never buffer a whole document in memory, derive a storage key
// from a client-supplied string without hashing it, or leave a blob behind
// for a registration that failed (the sweeper removes what a crash left).
package repository
