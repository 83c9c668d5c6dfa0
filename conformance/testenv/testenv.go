// Package testenv gives tests the real services they need — PostgreSQL,
// Redis and an S3 server (versitygw) — as throwaway processes listening on
// loopback ports (started by conformance/services, which holds no test
// policy and is linked by the pjd binary too), and stops them when the
// test binary ends.
//
// Services are started lazily, at most once per test binary, and shared by
// that binary's tests; each test gets its own database, key prefix or
// bucket. A package that uses testenv must stop them from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// Every child process also gets SIGKILL when the test binary dies
// (Pdeathsig), so an interrupted run leaves nothing behind.
//
// When a service cannot be started the test is skipped with the reason —
// unless services are required (CI=true, or PJD_REQUIRE_SERVICES=1), in
// which case the test fails. Tests never skip silently in CI. The skip
// message has one shape ("skipped: <service> unavailable: <reason>"), which
// make test's summary groups by service.
//
// PJD_TEST_WITHOUT (a comma-separated list of postgres, redis, versitygw,
// rsyslog, chromium, axe, or "all") makes the tests treat those services as not
// installed, to see what a machine without them runs (see Without).
//
// testenv must never import pjd's own packages other than
// conformance/services: every package's tests may use it.
package testenv

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"pjd/conformance/services"
)

// Required reports whether a missing service must fail the test rather
// than skip it.
func Required() bool {
	if v, err := strconv.ParseBool(os.Getenv("CI")); err == nil && v {
		return true
	}
	v, _ := strconv.ParseBool(os.Getenv("PJD_REQUIRE_SERVICES"))
	return v
}

// Unavailable ends tb because a service it needs cannot be had: Fatal when
// services are Required, Skip otherwise.
//
// Call it with the *testing.T of the test that needs the service — inside
// a subtest, the subtest's own: Skip or Fatal on a parent from a subtest
// ends the parent's goroutine and fails the run ("subtest may have called
// FailNow on a parent test").
func Unavailable(tb testing.TB, service string, err error) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%s is required (CI=true or PJD_REQUIRE_SERVICES=1) but unavailable: %v", service, err)
	}
	tb.Skipf("%s%s unavailable: %v", SkipPrefix, service, err)
}

// SkipPrefix starts the message of every test Unavailable skips:
// "skipped: <service> unavailable: <reason>".
const SkipPrefix = "skipped: "

// Without returns an error when PJD_TEST_WITHOUT names service (or is
// "all"): the tests then treat it as not installed, as on a machine
// without it. Services: postgres, redis, versitygw, rsyslog, chromium, axe
// (axe-core, for the browser tests).
func Without(service string) error {
	for _, s := range strings.Split(os.Getenv("PJD_TEST_WITHOUT"), ",") {
		if s = strings.TrimSpace(s); s == service || s == "all" {
			return fmt.Errorf("%s treated as not installed (PJD_TEST_WITHOUT=%s)", service, os.Getenv("PJD_TEST_WITHOUT"))
		}
	}
	return nil
}

var (
	mu       sync.Mutex
	stoppers []func()
)

// OnExit registers fn to run when Main returns (services stop in reverse
// order of start).
func OnExit(fn func()) {
	mu.Lock()
	defer mu.Unlock()
	stoppers = append(stoppers, fn)
}

// shared is a service the tests of one process share: started by the
// first caller, a failure remembered so that later callers fail at once
// with the same reason, stopped by StopAll (after which the next caller
// starts a new one).
type shared[T any] struct {
	mu  sync.Mutex
	v   *T
	err error
}

func (s *shared[T]) get(start func() (*T, error), stop func(*T)) (*T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v != nil || s.err != nil {
		return s.v, s.err
	}
	v, err := start()
	if err != nil {
		s.err = err
		return nil, err
	}
	s.v = v
	OnExit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		stop(v)
		s.v, s.err = nil, nil
	})
	return v, nil
}

// StopAll stops every service started so far. Main calls it.
func StopAll() {
	mu.Lock()
	fns := stoppers
	stoppers = nil
	mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// Main runs the tests and then stops every service they started.
func Main(m *testing.M) int {
	code := m.Run()
	StopAll()
	return code
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) { return services.FreePort() }

// WaitTCP waits until addr accepts TCP connections, ctx ends, or exited
// is closed (the process died).
func WaitTCP(ctx context.Context, addr string, exited <-chan struct{}) error {
	return services.WaitTCP(ctx, addr, exited)
}

// CacheDir is where expensive, reusable artefacts are kept between runs
// (see services.CacheDir).
func CacheDir() string { return services.CacheDir() }
