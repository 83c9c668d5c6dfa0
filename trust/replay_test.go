package trust_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/trust"
	"pjd/trust/replaytest"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestMemoryReplayCache(t *testing.T) {
	replaytest.Run(t, replaytest.Factory{
		ExpiresByClock: true,
		New: func(t *testing.T, c *replaytest.Clock) trust.ReplayCache {
			return trust.NewMemoryReplayCache(c.Now, 0)
		},
	})
}

func redisClient(t testing.TB, info testenv.RedisInfo) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: info.Addr, DB: info.DB})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisReplayCache(t *testing.T) {
	replaytest.Run(t, replaytest.Factory{
		New: func(t *testing.T, c *replaytest.Clock) trust.ReplayCache {
			info := testenv.RedisDB(t)
			return trust.NewRedisReplayCache(redisClient(t, info), info.Prefix).WithClock(c.Now)
		},
	})
}

// The TTL Redis gets is exp minus the injected now: the key lives exactly
// as long as the proof could be accepted.
func TestRedisReplayTTL(t *testing.T) {
	info := testenv.RedisDB(t)
	c := redisClient(t, info)
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	rc := trust.NewRedisReplayCache(c, info.Prefix).WithClock(func() time.Time { return now })
	ctx := context.Background()
	if r, err := rc.Seen(ctx, "ttl", now.Add(70*time.Second)); err != nil || r {
		t.Fatalf("Seen: %v %v", r, err)
	}
	ttl, err := c.PTTL(ctx, info.Prefix+"ttl").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 60*time.Second || ttl > 70*time.Second {
		t.Fatalf("PTTL %v, want (60s, 70s]", ttl)
	}
	// A past exp still stores the id briefly rather than not at all.
	if r, err := rc.Seen(ctx, "past", now.Add(-time.Minute)); err != nil || r {
		t.Fatalf("Seen: %v %v", r, err)
	}
	if ttl, err := c.PTTL(ctx, info.Prefix+"past").Result(); err != nil || ttl <= 0 {
		t.Fatalf("PTTL %v %v", ttl, err)
	}
}

// Verifier end to end over a Redis replay cache: accepted once, replay refused.
func TestVerifierWithRedisReplay(t *testing.T) {
	info := testenv.RedisDB(t)
	var rc trust.ReplayCache
	e := newEnv(t, func(c *trust.Config) {
		rc = trust.NewRedisReplayCache(redisClient(t, info), info.Prefix).WithClock(c.Now)
		c.Replay = rc
	})
	tok := e.token(e.healthWorkerClaims())
	proof := e.proof(http.MethodPost, testHTU, tok)
	if _, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq); err != nil {
		t.Fatal(err)
	}
	_, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq)
	wantKind(t, err, trust.KindDPoPReplay)
}

// Redis unreachable: the request is refused with its own kind (503), never
// accepted.
func TestRedisUnavailableFailsClosed(t *testing.T) {
	check := func(t *testing.T, client *redis.Client) {
		e := newEnv(t, func(c *trust.Config) {
			c.Replay = trust.NewRedisReplayCache(client, "pjd:dpop:").WithClock(c.Now)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := e.v.VerifyRequest(ctx, e.validRequest(e.healthWorkerClaims()), readReq)
		if p != nil {
			t.Fatalf("accepted without a replay cache: %+v", p)
		}
		wantKind(t, err, trust.KindReplayUnavailable)
		if got := trust.HTTPStatus(err); got != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", got)
		}
		if h := trust.WWWAuthenticate(err, ""); h != "" {
			t.Fatalf("WWW-Authenticate %q on 503", h)
		}
	}
	t.Run("closed port", func(t *testing.T) {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), MaxRetries: -1})
		defer c.Close()
		check(t, c)
	})
	t.Run("server stopped while in use", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
		defer c.Close()
		rc := trust.NewRedisReplayCache(c, "x:")
		if _, err := rc.Seen(context.Background(), "warm", time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("redis not usable before stopping: %v", err)
		}
		srv.Stop()
		check(t, c)
	})
}

func TestMemoryReplayCacheFullFailsClosed(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	rc := trust.NewMemoryReplayCache(func() time.Time { return now }, 2)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if r, err := rc.Seen(ctx, id, now.Add(time.Minute)); err != nil || r {
			t.Fatal(r, err)
		}
	}
	if _, err := rc.Seen(ctx, "c", now.Add(time.Minute)); err == nil {
		t.Fatal("full cache accepted a new id")
	}
	now = now.Add(2 * time.Minute) // a and b expire and are swept
	if r, err := rc.Seen(ctx, "c", now.Add(time.Minute)); err != nil || r {
		t.Fatalf("after expiry: %v %v", r, err)
	}
	if rc.Len() != 1 {
		t.Fatalf("Len %d after sweep, want 1", rc.Len())
	}
}

// Redis restarts without persistence: every recorded jti is gone, so a
// proof used before the restart could be sent again. The cache notices
// the new run (run_id) on the first command after the restart, and proofs
// issued before it are refused until they are too old anyway; proofs
// issued after it pass. Another gateway node that meets the restarted
// Redis later refuses the same proofs.
func TestReplayAfterRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	cl := replaytest.NewClock(testNow)
	newCache := func(t *testing.T) *trust.RedisReplayCache {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: 3})
		t.Cleanup(func() { _ = c.Close() })
		return trust.NewRedisReplayCache(c, "dpop:").WithClock(cl.Now)
	}
	e := newEnv(t, func(c *trust.Config) { c.Replay, c.Now = newCache(t), cl.Now })
	e.clock = cl
	ctx := context.Background()

	claims := e.healthWorkerClaims()
	tok := e.token(claims)
	used := e.proof(http.MethodPost, testHTU, tok)
	send := func(v *trust.Verifier, proof string) error {
		_, err := v.VerifyRequest(ctx, request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq)
		return err
	}
	if err := send(e.v, used); err != nil {
		t.Fatalf("first use: %v", err)
	}
	wantKind(t, send(e.v, used), trust.KindDPoPReplay)
	usedElsewhere := e.proof(http.MethodPost, testHTU, tok)
	if err := send(e.v, usedElsewhere); err != nil {
		t.Fatalf("first use: %v", err)
	}

	srv.Restart(t)
	e.clock.Advance(2 * time.Second)
	// The same proof, 2 s later, after the restart emptied the cache.
	wantKind(t, send(e.v, used), trust.KindDPoPIssuedAt)
	// A proof issued before the restart but never used is refused too:
	// the cache cannot tell the two apart.
	e.clock.Advance(-2 * time.Second)
	unused := e.proof(http.MethodPost, testHTU, tok)
	e.clock.Advance(2 * time.Second)
	wantKind(t, send(e.v, unused), trust.KindDPoPIssuedAt)

	// A second node, started after the restart, agrees.
	other, err := trust.NewVerifier(trust.Config{Issuers: []trust.IssuerConfig{{MetadataURL: e.iss.metadataURL()}},
		Audience: testAudience, Replay: newCache(t), HTTPClient: e.iss.srv.Client(), Now: cl.Now})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, send(other, usedElsewhere), trust.KindDPoPIssuedAt)

	// Proofs issued after the restart (beyond the clock skew) pass, and
	// are remembered again.
	e.clock.Advance(10 * time.Second)
	fresh := e.proof(http.MethodPost, testHTU, tok)
	if err := send(e.v, fresh); err != nil {
		t.Fatalf("a proof issued after the restart: %v", err)
	}
	wantKind(t, send(other, fresh), trust.KindDPoPReplay)

	// Once the old proofs are too old, they fail as such.
	e.clock.Advance(2 * time.Minute)
	wantKind(t, send(e.v, used), trust.KindDPoPIssuedAt)
}
