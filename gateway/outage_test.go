package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/gateway/mhd"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/repository"
	"pjd/repository/s3"
	"pjd/trust"
	"pjd/trust/policy"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// wantTransient checks an MHD answer to a request that met an outage:
// 503, Retry-After, an OperationOutcome with code transient that says to
// try again, and nothing of the cause.
func wantTransient(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	o := wantOutcome(t, resp, http.StatusServiceUnavailable, "transient")
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	d := strings.ToLower(o.Issue[0].Diagnostics)
	if !strings.Contains(d, "try again") {
		t.Errorf("%s: %q does not say to try again", what, o.Issue[0].Diagnostics)
	}
	for _, leak := range []string{"sql", "postgres", "dial", "refused", "127.0.0.1", "s3:"} {
		if strings.Contains(d, leak) {
			t.Errorf("%s: internal detail %q in %q", what, leak, o.Issue[0].Diagnostics)
		}
	}
}

// wantBusy checks an XDS answer to a request that met an outage: Failure
// with the transient code of the side that failed and a codeContext that
// says the service is temporarily unavailable.
func wantBusy(t *testing.T, what string, rr registry.Response, code string) {
	t.Helper()
	if rr.Status != registry.ResponseFailure || len(rr.Errors) != 1 || rr.Errors[0].Code != code ||
		!strings.Contains(rr.Errors[0].Context, "temporarily unavailable") {
		t.Fatalf("%s: %+v, want Failure with %s saying the service is temporarily unavailable", what, rr, code)
	}
	if strings.Contains(rr.Errors[0].Context, "internal error") {
		t.Fatalf("%s: %q", what, rr.Errors[0].Context)
	}
}

func noErrorLogged(t *testing.T, h *harness, from int) {
	t.Helper()
	if n := strings.Count(h.logs.String()[from:], `"level":"ERROR"`); n > 0 {
		t.Errorf("%d ERROR log lines for an outage pjd answered as one:\n%s", n, h.logs.String()[from:])
	}
}

// PostgreSQL (the registry, the blocks and the audit log) goes down:
// every MHD request answers 503 transient with Retry-After — a person's
// search fails first on the patient's blocks — and every XDS request
// answers the transient code of its side. Before, MHD answered 500
// "internal error" (the blocks error was not marked unavailable) and
// ITI-18 XDSRegistryError "internal error".
func TestPostgresOutage(t *testing.T) {
	srv, dsn := testenv.StartPostgresDB(t)
	h := newHarness(t, options{devLoopback: true, postgresURL: dsn})
	h.seed()
	tok := h.token("fastlege", patientP)
	if resp := h.do(tok, http.MethodGet, searchURL(patientP), nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("search before the outage: %d", resp.StatusCode)
	}
	srv.Stop()
	from := len(h.logs.String())

	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	ident := "urn:oid:" + oid.FNR + "|" + patientP
	for name, send := range map[string]func() *http.Response{
		"ITI-67 GET": func() *http.Response {
			return h.do(h.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil)
		},
		"ITI-67 POST": func() *http.Response {
			return h.do(h.token("fastlege", patientP), http.MethodPost, "/fhir/R4/DocumentReference/_search",
				strings.NewReader(url.Values{"patient.identifier": {ident}}.Encode()), form)
		},
		"ITI-66": func() *http.Response {
			return h.do(h.token("fastlege", patientP), http.MethodGet, "/fhir/R4/List?"+url.Values{"patient.identifier": {ident}}.Encode(), nil, nil)
		},
		"ITI-68": func() *http.Response {
			return h.do(h.token("fastlege", patientP), http.MethodGet, mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, uidNormal), nil, nil)
		},
	} {
		t.Run(name, func(t *testing.T) { wantTransient(t, name, send()) })
	}
	wantXDSBusy(t, h, 9501, map[string]string{
		"ITI-18": registry.ErrCodeRegistryBusy,
		"ITI-43": registry.ErrCodeRepositoryBusy,
		"ITI-38": registry.ErrCodeRegistryBusy,
		"ITI-39": registry.ErrCodeRepositoryBusy,
		// The document is stored; registering it needs the registry.
		"ITI-41": registry.ErrCodeRegistryNotAvailable,
	})
	noErrorLogged(t, h, from)
}

// wantXDSBusy sends each SOAP transaction named in want to h (ITI-41 a
// submission of seq) and checks that it fails with the transient code
// want gives it.
func wantXDSBusy(t *testing.T, h *harness, seq uint64, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	ran := 0
	for _, tx := range []struct {
		name string
		send func(t *testing.T) registry.Response
	}{
		{"ITI-18", func(t *testing.T) registry.Response {
			_, rr, err := h.xds.Query(ctx, findDocuments(patientP))
			if err != nil {
				t.Fatal(err)
			}
			return rr
		}},
		{"ITI-41", func(t *testing.T) registry.Response {
			sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Seq: seq})
			rr, err := h.xds.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: "text/plain",
				Body: bytes.NewReader(registry.SampleDocument(seq, 0, cx(patientP)))}})
			if err != nil {
				t.Fatal(err)
			}
			return rr
		}},
		{"ITI-43", func(t *testing.T) registry.Response {
			res, err := h.xds.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal}})
			if err != nil {
				t.Fatal(err)
			}
			res.Close()
			return res.Response
		}},
		{"ITI-38", func(t *testing.T) registry.Response {
			_, rr, _, err := xcaXUA(h, nil).query(t, findDocuments(patientP))
			if err != nil {
				t.Fatal(err)
			}
			return rr
		}},
		{"ITI-39", func(t *testing.T) registry.Response {
			got, err := xcaXUA(h, nil).retrieve(t, false, ebrim.DocumentRequest{HomeCommunityID: testHome,
				RepositoryUniqueID: registry.SampleRepositoryUniqueID, DocumentUniqueID: uidNormal})
			if err != nil {
				t.Fatal(err)
			}
			return registry.Response{Status: got.status, Errors: got.errors}
		}},
	} {
		code, ok := want[tx.name]
		if !ok {
			continue
		}
		ran++
		t.Run(tx.name, func(t *testing.T) { wantBusy(t, tx.name, tx.send(t), code) })
	}
	if ran != len(want) {
		t.Fatalf("wantXDSBusy: %d of the transactions named in %v are not known", len(want)-ran, want)
	}
}

// Object storage (S3) goes down: reading and storing documents answers
// 503 transient (MHD) or XDSRepositoryBusy (XDS) — before, ITI-41
// answered XDSRepositoryError "internal error" — while searching, which
// needs only the registry, still works.
func TestObjectStorageOutage(t *testing.T) {
	ctx := context.Background()
	s3srv := testenv.StartS3(t)
	blobs, err := s3.Open(ctx, s3.Config{Endpoint: s3srv.Endpoint, AccessKey: s3srv.AccessKey, SecretKey: s3srv.SecretKey, Bucket: s3srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{devLoopback: true, blobs: blobs})
	h.seed()
	s3srv.Stop()
	from := len(h.logs.String())

	t.Run("ITI-68", func(t *testing.T) {
		resp := h.do(h.token("fastlege", patientP), http.MethodGet, mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, uidNormal), nil, nil)
		wantTransient(t, "ITI-68", resp)
	})
	t.Run("ITI-65", func(t *testing.T) {
		resp := h.do(h.tokenAs(mustPersona("sykehus-epj"), ""), http.MethodPost, "/fhir/R4",
			bytes.NewReader(readFixture(t, "iti65_provide.json")), http.Header{"Content-Type": {"application/fhir+json"}})
		wantTransient(t, "ITI-65", resp)
	})
	wantXDSBusy(t, h, 9502, map[string]string{
		"ITI-41": registry.ErrCodeRepositoryBusy,
		"ITI-43": registry.ErrCodeRepositoryBusy,
		"ITI-39": registry.ErrCodeRepositoryBusy,
	})
	t.Run("search still works", func(t *testing.T) {
		if resp := h.do(h.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("search: %d", resp.StatusCode)
		}
	})
	noErrorLogged(t, h, from)
}

// stallingBlocks is the real blocks store behind a gate: a read waits
// until its context ends, as a query to a stalled database does.
type stallingBlocks struct {
	policy.BlockStore
	entered chan struct{}
	once    sync.Once
}

func (s *stallingBlocks) Blocks(ctx context.Context, patient string) ([]policy.Block, error) {
	s.once.Do(func() { close(s.entered) })
	<-ctx.Done()
	return nil, ctx.Err()
}

// A client that gives up (its request context is cancelled while pjd
// waits on the database) is not a server error: nothing is logged at
// ERROR.
func TestCancelledRequestIsNotAnError(t *testing.T) {
	gate := &stallingBlocks{entered: make(chan struct{})}
	h := newHarness(t, options{wrapBlocks: func(b policy.BlockStore) policy.BlockStore { gate.BlockStore = b; return gate }})
	h.seed()
	tok := h.token("fastlege", patientP)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+searchURL(patientP), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Authorize(req); err != nil {
		t.Fatal(err)
	}
	from := len(h.logs.String())
	done := make(chan error, 1)
	go func() {
		resp, err := h.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-gate.entered: // the server is waiting on the database
	case <-time.After(30 * time.Second):
		t.Fatal("the request never reached the blocks store")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	// The handler has finished once its request line is logged.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(h.logs.String()[from:], `"msg":"request"`); {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled request was never logged as finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	noErrorLogged(t, h, from)
}

// The DPoP replay cache (Redis) goes down: no request can be accepted —
// a proof cannot be checked for replay — and each is answered as
// transient: MHD 503 + Retry-After, the UI launch 503
// temporarily_unavailable, never a 500 or a 401 that would send the
// client for a new token.
func TestReplayCacheOutage(t *testing.T) {
	srv := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: 1})
	t.Cleanup(func() { _ = rc.Close() })
	h := newHarness(t, options{ui: true, replay: trust.NewRedisReplayCache(rc, "dpop:")})
	h.seed()
	if resp := h.do(h.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("search before the outage: %d", resp.StatusCode)
	}
	srv.Stop()
	wantTransient(t, "ITI-67", h.do(h.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil))
	resp := h.do(h.token("fastlege", patientP), http.MethodPost, "/ui/launch", strings.NewReader("patient="+patientP),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	b := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "temporarily_unavailable") {
		t.Fatalf("UI launch: %d %s", resp.StatusCode, b)
	}
}
