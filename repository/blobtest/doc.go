// Package blobtest is the conformance suite every repository.BlobStore
// must pass: repository/fs and repository/s3 each call Run against a real
// directory and a real S3 server (versitygw, started by
// conformance/testenv). It covers round trips across part boundaries,
// overwrite, not-found and idempotent delete, a table of invalid keys,
// atomicity under failing sources and cancelled contexts, all-or-nothing
// visibility during a write, lexical listing, concurrency, and a 1 GiB
// stream each way with heap growth bounded at 64 MiB.
//
// It must never use a fake store in place of a real one, and never hold a
// large test stream in memory: big objects are generated and checked as
// streams.
package blobtest
