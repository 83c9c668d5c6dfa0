package trust_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/trust"
	"pjd/trust/replaytest"
)

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
