// Package sessiontest is the one test suite every ui.SessionStore
// implementation runs (memory, Redis): launch grants are single use under
// concurrency, sessions round-trip, update never resurrects a deleted
// session, keys are isolated and bad TTLs are refused.
//
// It asserts nothing about wall-clock time: entries are either written
// with a TTL far in the future or deleted explicitly. Expiry by TTL is
// tested per implementation (a pinned clock for memory, PTTL for Redis).
package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"pjd/gateway/ui"
	"pjd/registry/oid"
	"pjd/trust"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) ui.SessionStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s ui.SessionStore)
	}{
		{"LaunchRoundTrip", testLaunchRoundTrip},
		{"LaunchSingleUse", testLaunchSingleUse},
		{"LaunchSingleUseConcurrent", testLaunchSingleUseConcurrent},
		{"LaunchUnknown", testLaunchUnknown},
		{"LaunchKeyTaken", testLaunchKeyTaken},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionUpdate", testSessionUpdate},
		{"SessionUpdateAfterDelete", testSessionUpdateAfterDelete},
		{"SessionDeleteMissing", testSessionDeleteMissing},
		{"SessionKeyTaken", testSessionKeyTaken},
		{"NamespacesApart", testNamespacesApart},
		{"BadTTL", testBadTTL},
		{"CancelledContext", testCancelledContext},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

const long = time.Hour

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// Principal returns a synthetic health worker with every kind of field
// set, so a lossy encoding shows.
func Principal() *trust.Principal {
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	return &trust.Principal{
		Credential:    trust.CredentialHelseIDDPoP,
		Kind:          trust.HealthWorker,
		Issuer:        "https://helseid-sts.test.nhn.no",
		TokenID:       "jti-1",
		IssuedAt:      at,
		ExpiresAt:     at.Add(time.Hour),
		Subject:       "21916510001",
		Name:          "Ingrid Berg",
		HPRNumber:     "9144889",
		Authorization: trust.Coding{Code: "LE", System: oid.Volven9060, Text: "Lege"},
		SecurityLevel: 4,
		LegalEntity:   trust.Identifier{ID: "991000038", System: oid.OrgNr, Name: "Nordvik kommune"},
		PointOfCare:   trust.Identifier{ID: "991000038", System: oid.OrgNr, Name: "Nordvik legevakt"},
		PurposeOfUse:  trust.Coding{Code: trust.PurposeTreat, System: oid.PurposeOfUse},
		DecisionRef:   trust.DecisionRef{ID: "0f6a1e0c-2b5f-4f43-9a43-8cfc7a0b9d11", UserSelected: true},
		AttestedAt:    at,
		Patients: []trust.AttestedPatient{{
			Identifier: trust.Identifier{ID: "15838210012", System: oid.FNR},
		}},
		HasAttestation: true,
		Client:         trust.Client{ID: "client-1", Name: "Demo-EPJ"},
		Scopes:         []string{trust.ScopeReadDocumentReferences},
		MatchedScope:   trust.ScopeReadDocumentReferences,
		KeyThumbprint:  "thumb",
	}
}

func grant(i int) *ui.LaunchGrant {
	at := time.Date(2026, 1, 15, 9, 30, i, 0, time.UTC)
	return &ui.LaunchGrant{Principal: Principal(), Patient: "15838210012", Issued: at, Expires: at.Add(time.Minute)}
}

func session(i int) *ui.Session {
	at := time.Date(2026, 1, 15, 9, 30, i, 0, time.UTC)
	return &ui.Session{Principal: Principal(), Patient: "15838210012", CSRF: fmt.Sprintf("csrf-%d", i),
		Created: at, LastSeen: at, Expires: at.Add(time.Hour)}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func testLaunchRoundTrip(t *testing.T, s ui.SessionStore) {
	g := grant(1)
	if err := s.PutLaunch(ctx(t), "k1", g, long); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeLaunch(ctx(t), "k1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "grant", got, g)
}

func testLaunchSingleUse(t *testing.T, s ui.SessionStore) {
	if err := s.PutLaunch(ctx(t), "k1", grant(1), long); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeLaunch(ctx(t), "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeLaunch(ctx(t), "k1"); !errors.Is(err, ui.ErrLaunchNotFound) {
		t.Fatalf("second take: got %v, want ErrLaunchNotFound", err)
	}
}

func testLaunchSingleUseConcurrent(t *testing.T, s ui.SessionStore) {
	const keys, takers = 8, 16
	for k := range keys {
		if err := s.PutLaunch(ctx(t), fmt.Sprint("c", k), grant(k), long); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	wins := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, keys*takers)
	for k := range keys {
		for range takers {
			wg.Go(func() {
				key := fmt.Sprint("c", k)
				_, err := s.TakeLaunch(ctx(t), key)
				switch {
				case err == nil:
					mu.Lock()
					wins[key]++
					mu.Unlock()
				case !errors.Is(err, ui.ErrLaunchNotFound):
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range keys {
		if n := wins[fmt.Sprint("c", k)]; n != 1 {
			t.Errorf("key c%d taken %d times, want exactly once", k, n)
		}
	}
}

func testLaunchUnknown(t *testing.T, s ui.SessionStore) {
	if _, err := s.TakeLaunch(ctx(t), "never"); !errors.Is(err, ui.ErrLaunchNotFound) {
		t.Fatalf("got %v, want ErrLaunchNotFound", err)
	}
}

func testLaunchKeyTaken(t *testing.T, s ui.SessionStore) {
	if err := s.PutLaunch(ctx(t), "k1", grant(1), long); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLaunch(ctx(t), "k1", grant(2), long); !errors.Is(err, ui.ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	got, err := s.TakeLaunch(ctx(t), "k1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "grant kept", got, grant(1))
}

func testSessionRoundTrip(t *testing.T, s ui.SessionStore) {
	want := session(1)
	if err := s.CreateSession(ctx(t), "s1", want, long); err != nil {
		t.Fatal(err)
	}
	for range 2 { // reading does not consume
		got, err := s.GetSession(ctx(t), "s1")
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "session", got, want)
	}
	if _, err := s.GetSession(ctx(t), "s2"); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("unknown session: got %v, want ErrSessionNotFound", err)
	}
}

func testSessionUpdate(t *testing.T, s ui.SessionStore) {
	if err := s.CreateSession(ctx(t), "s1", session(1), long); err != nil {
		t.Fatal(err)
	}
	next := session(1)
	next.LastSeen = next.LastSeen.Add(5 * time.Minute)
	if err := s.UpdateSession(ctx(t), "s1", next, long); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx(t), "s1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "updated session", got, next)
	if err := s.UpdateSession(ctx(t), "nobody", next, long); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("update of unknown session: got %v, want ErrSessionNotFound", err)
	}
	if _, err := s.GetSession(ctx(t), "nobody"); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("update created a session: %v", err)
	}
}

func testSessionUpdateAfterDelete(t *testing.T, s ui.SessionStore) {
	if err := s.CreateSession(ctx(t), "s1", session(1), long); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx(t), "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx(t), "s1"); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("deleted session: got %v, want ErrSessionNotFound", err)
	}
	if err := s.UpdateSession(ctx(t), "s1", session(1), long); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("update after delete: got %v, want ErrSessionNotFound", err)
	}
	if _, err := s.GetSession(ctx(t), "s1"); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatal("update resurrected a deleted session")
	}
}

func testSessionDeleteMissing(t *testing.T, s ui.SessionStore) {
	if err := s.DeleteSession(ctx(t), "never"); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}
}

func testSessionKeyTaken(t *testing.T, s ui.SessionStore) {
	if err := s.CreateSession(ctx(t), "s1", session(1), long); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx(t), "s1", session(2), long); !errors.Is(err, ui.ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
}

func testNamespacesApart(t *testing.T, s ui.SessionStore) {
	if err := s.PutLaunch(ctx(t), "same", grant(1), long); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx(t), "same", session(1), long); err != nil {
		t.Fatalf("a launch grant and a session with one key must not collide: %v", err)
	}
	if err := s.DeleteSession(ctx(t), "same"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeLaunch(ctx(t), "same"); err != nil {
		t.Fatalf("deleting the session removed the launch grant: %v", err)
	}
}

func testBadTTL(t *testing.T, s ui.SessionStore) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.PutLaunch(ctx(t), "k", grant(1), ttl); !errors.Is(err, ui.ErrInvalidTTL) {
			t.Errorf("PutLaunch ttl %v: got %v, want ErrInvalidTTL", ttl, err)
		}
		if err := s.CreateSession(ctx(t), "s", session(1), ttl); !errors.Is(err, ui.ErrInvalidTTL) {
			t.Errorf("CreateSession ttl %v: got %v, want ErrInvalidTTL", ttl, err)
		}
	}
	if err := s.CreateSession(ctx(t), "s", session(1), long); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSession(ctx(t), "s", session(1), 0); !errors.Is(err, ui.ErrInvalidTTL) {
		t.Errorf("UpdateSession ttl 0: got %v, want ErrInvalidTTL", err)
	}
}

func testCancelledContext(t *testing.T, s ui.SessionStore) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutLaunch(c, "k", grant(1), long); !errors.Is(err, context.Canceled) {
		t.Errorf("PutLaunch: got %v, want context.Canceled", err)
	}
	if _, err := s.GetSession(c, "s"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetSession: got %v, want context.Canceled", err)
	}
}
