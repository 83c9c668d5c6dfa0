// Package services starts the real services pjd's tests and benchmarks
// run on — PostgreSQL, Redis and an S3 server (versitygw) — as throwaway
// processes listening on loopback ports, each in a temporary directory it
// removes when stopped. Every child process also gets SIGKILL when the
// process that started it dies (Pdeathsig), so an interrupted run leaves
// nothing running.
//
// It is what starts processes, and nothing more: conformance/testenv wraps
// it for tests (one shared server per test binary, a fresh database,
// Redis database or bucket per test, skip or fail when a service is
// missing, cleanup at the end), and pjd bench (cmd/pjd/internal/bench)
// uses it directly for the services it is not given. It must never import
// package testing, nor pjd's own packages, so that the pjd binary can link
// it.
package services
