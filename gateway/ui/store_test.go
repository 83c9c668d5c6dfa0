package ui_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/gateway/ui"
	"pjd/gateway/ui/sessiontest"
)

func TestMemorySessionStore(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) ui.SessionStore { return ui.NewMemorySessionStore(nil) })
}

func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	info := testenv.RedisDB(t)
	c := redis.NewClient(&redis.Options{Addr: info.Addr, DB: info.DB})
	t.Cleanup(func() { _ = c.Close() })
	return c, info.Prefix
}

func TestRedisSessionStore(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) ui.SessionStore {
		c, prefix := redisClient(t)
		return ui.NewRedisSessionStore(c, prefix+"ui:")
	})
}

// TTLs: the memory store follows its clock; Redis gets the TTL as PX.
func TestMemorySessionStoreExpiry(t *testing.T) {
	c := newClock()
	s := ui.NewMemorySessionStore(c.Now)
	ctx := context.Background()
	g := &ui.LaunchGrant{Principal: sessiontest.Principal(), Patient: patientKari}
	if err := s.PutLaunch(ctx, "k", g, time.Minute); err != nil {
		t.Fatal(err)
	}
	sess := &ui.Session{Principal: sessiontest.Principal(), CSRF: "x"}
	if err := s.CreateSession(ctx, "s", sess, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if _, err := s.TakeLaunch(ctx, "k"); !errors.Is(err, ui.ErrLaunchNotFound) {
		t.Fatalf("expired grant: %v", err)
	}
	if _, err := s.GetSession(ctx, "s"); err != nil {
		t.Fatalf("live session: %v", err)
	}
	if err := s.UpdateSession(ctx, "s", sess, 10*time.Minute); err != nil { // extends from now
		t.Fatal(err)
	}
	c.Advance(9 * time.Minute)
	if _, err := s.GetSession(ctx, "s"); err != nil {
		t.Fatalf("extended session: %v", err)
	}
	c.Advance(time.Minute)
	if _, err := s.GetSession(ctx, "s"); !errors.Is(err, ui.ErrSessionNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.CreateSession(ctx, "s", sess, time.Minute); err != nil {
		t.Fatalf("an expired key must be reusable: %v", err)
	}
}

func TestRedisSessionStoreTTL(t *testing.T) {
	c, prefix := redisClient(t)
	s := ui.NewRedisSessionStore(c, prefix)
	ctx := context.Background()
	if err := s.PutLaunch(ctx, "k", &ui.LaunchGrant{Principal: sessiontest.Principal()}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "s", &ui.Session{Principal: sessiontest.Principal()}, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	for key, max := range map[string]time.Duration{prefix + "launch:k": 60 * time.Second, prefix + "session:s": 15 * time.Minute} {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > max {
			t.Errorf("%s: PTTL %v, want in (0, %v]", key, ttl, max)
		}
	}
	// Keys are hashes of the secrets, never the secrets (checked end to end
	// in TestTwoNodesShareRedis).
	if err := s.UpdateSession(ctx, "s", &ui.Session{Principal: sessiontest.Principal()}, 500*time.Microsecond); err != nil {
		t.Fatalf("sub-millisecond TTL: %v", err)
	}
}

func TestRedisUnavailable(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	store := ui.NewRedisSessionStore(c, "pjd:ui:")
	cl := newClock()
	b := newTestBackend(t, cl.Now)
	u, err := ui.New(ui.Config{Backend: b, Secure: true, Sessions: store, Now: cl.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	e := &env{t: t, b: b, clock: cl, ui: u, srv: hs}
	br := e.login("lege", patientKari)
	srv.Stop()
	resp, body := br.get("/ui/")
	wantStatus(t, resp, body, 503)
	wantContains(t, body, "midlertidig utilgjengelig")
	r := e.launchRaw("DPoP "+b.token("lege", patientKari), "p", "application/x-www-form-urlencoded", "patient="+patientKari)
	r.Body.Close()
	if r.StatusCode != 503 {
		t.Errorf("launch with Redis down: %d, want 503", r.StatusCode)
	}
}

// Two gateway nodes share sessions through Redis: a launch URL from one
// is good on the other exactly once, and the session works on both.
func TestTwoNodesShareRedis(t *testing.T) {
	rc, prefix := redisClient(t)
	cl := newClock()
	b := newTestBackend(t, cl.Now)
	node := func() *httptest.Server {
		u, err := ui.New(ui.Config{Backend: b, Secure: true, Sessions: ui.NewRedisSessionStore(rc, prefix+"ui:"), Now: cl.Now})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		u.Routes(mux)
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		return s
	}
	a, bNode := node(), node()
	ea := &env{t: t, b: b, clock: cl, srv: a}
	eb := &env{t: t, b: b, clock: cl, srv: bNode}
	launch := ea.launchURL("lege", patientKari)
	token := strings.TrimPrefix(launch, "/ui/launch/")

	brB := eb.browser()
	resp, body := brB.get(launch)
	wantStatus(t, resp, body, 200)
	resp, body = ea.browser().get(launch)
	wantStatus(t, resp, body, 404) // used on the other node

	// The session cookie works on both nodes.
	brA := ea.browser()
	brA.cookie = brB.cookie
	for _, br := range []*browser{brA, brB} {
		resp, body := br.get("/ui/")
		wantStatus(t, resp, body, 200)
	}
	// Neither the launch token nor the session id is stored in clear.
	keys, err := rc.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no keys in Redis")
	}
	for _, k := range keys {
		if strings.Contains(k, token) || strings.Contains(k, brB.cookie.Value) {
			t.Errorf("key %q holds a secret in clear", k)
		}
		v, _ := rc.Get(context.Background(), k).Result()
		if strings.Contains(v, brB.cookie.Value) {
			t.Errorf("value of %q holds the session id", k)
		}
	}
}
