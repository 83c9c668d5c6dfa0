package trust_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/trust"
)

// countingCache is a real replay cache that counts what the verifier asks
// of it.
type countingCache struct {
	c               trust.ReplayCache
	seen, forgotten atomic.Int64
}

func (c *countingCache) Seen(ctx context.Context, id string, exp time.Time) (bool, error) {
	c.seen.Add(1)
	return c.c.Seen(ctx, id, exp)
}

func (c *countingCache) Forget(ctx context.Context, id string) error {
	c.forgotten.Add(1)
	return c.c.Forget(ctx, id)
}

// withSignatureOf is proof carrying other's signature: the same header and
// claims (so the same jti), a signature that does not verify.
func withSignatureOf(proof, other string) string {
	return proof[:strings.LastIndexByte(proof, '.')] + other[strings.LastIndexByte(other, '.'):]
}

// The replay cache is asked while the proof's signature is verified
// (ProofVerifier.verifyThen). A request refused for its proof's signature,
// or for what the token may do, must not use up the jti: the same proof
// sent right is then accepted once, and a replay of it refused — on either
// cache.
func TestRefusedProofDoesNotBurnJTI(t *testing.T) {
	backends := []struct {
		name  string
		cache func(t *testing.T, now func() time.Time) (trust.ReplayCache, func() int64)
	}{
		{"memory", func(t *testing.T, now func() time.Time) (trust.ReplayCache, func() int64) {
			c := trust.NewMemoryReplayCache(now, 0)
			return c, func() int64 { return int64(c.Len()) }
		}},
		{"redis", func(t *testing.T, now func() time.Time) (trust.ReplayCache, func() int64) {
			info := testenv.RedisDB(t)
			client := redisClient(t, info)
			keys := func() int64 {
				ks, err := client.Keys(context.Background(), info.Prefix+"dpop:*").Result()
				if err != nil {
					t.Fatal(err)
				}
				return int64(len(ks))
			}
			return trust.NewRedisReplayCache(client, info.Prefix).WithClock(now), keys
		}},
	}
	for _, b := range backends {
		for _, row := range []struct {
			name string
			// bad is the refused request for the valid proof.
			bad  func(e *env, tok, proof string) (*http.Request, trust.Requirement)
			want trust.Kind
			// asked: the cache was asked (and the id then forgotten).
			asked bool
		}{
			{"proof signature", func(e *env, tok, proof string) (*http.Request, trust.Requirement) {
				other := e.proof(http.MethodPost, testHTU, tok)
				return request(http.MethodPost, testHTU, "DPoP "+tok, withSignatureOf(proof, other)), readReq
			}, trust.KindDPoPSignature, true},
			{"scope the token lacks", func(e *env, tok, proof string) (*http.Request, trust.Requirement) {
				return request(http.MethodPost, testHTU, "DPoP "+tok, proof), trust.Requirement{Scope: "nhn:other/scope", HTU: testHTU}
			}, trust.KindInsufficientScope, true},
			{"proof htu", func(e *env, tok, proof string) (*http.Request, trust.Requirement) {
				return request(http.MethodPost, testHTU+"/other", "DPoP "+tok, proof), trust.Requirement{Scope: readReq.Scope, HTU: testHTU + "/other"}
			}, trust.KindDPoPURL, false},
		} {
			t.Run(b.name+"/"+row.name, func(t *testing.T) {
				var cc *countingCache
				var held func() int64
				e := newEnv(t, func(c *trust.Config) {
					var rc trust.ReplayCache
					rc, held = b.cache(t, c.Now)
					cc = &countingCache{c: rc}
					c.Replay = cc
				})
				tok := e.token(e.healthWorkerClaims())
				proof := e.proof(http.MethodPost, testHTU, tok)
				ctx := context.Background()

				r, req := row.bad(e, tok, proof)
				_, err := e.v.VerifyRequest(ctx, r, req)
				wantKind(t, err, row.want)
				if asked := cc.seen.Load() == 1; asked != row.asked || cc.forgotten.Load() != cc.seen.Load() {
					t.Fatalf("refused request: cache asked %d times, forgotten %d; want asked %v and forgotten as often",
						cc.seen.Load(), cc.forgotten.Load(), row.asked)
				}
				if n := held(); n != 0 {
					t.Fatalf("%d ids held after a refused request, want 0", n)
				}

				if _, err := e.v.VerifyRequest(ctx, request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq); err != nil {
					t.Fatalf("the proof, sent right after its refusal: %v", err)
				}
				if n := held(); n != 1 {
					t.Fatalf("%d ids held after an accepted request, want 1", n)
				}
				_, err = e.v.VerifyRequest(ctx, request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq)
				wantKind(t, err, trust.KindDPoPReplay)
				if n := held(); n != 1 {
					t.Fatalf("%d ids held after the replay, want 1 (a replay must not forget the id)", n)
				}
			})
		}
	}
}

// Requests racing with one proof on the Redis cache, some of them with a
// broken signature: at most one valid copy is accepted, every other valid
// copy is refused as a replay, every broken one for its signature.
func TestProofRaceOnRedis(t *testing.T) {
	info := testenv.RedisDB(t)
	e := newEnv(t, func(c *trust.Config) {
		c.Replay = trust.NewRedisReplayCache(redisClient(t, info), info.Prefix).WithClock(c.Now)
	})
	tok := e.token(e.healthWorkerClaims())
	proof := e.proof(http.MethodPost, testHTU, tok)
	forged := withSignatureOf(proof, e.proof(http.MethodPost, testHTU, tok))
	const n = 16
	var accepted, replays, forgedRefused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			p := proof
			if i%2 == 1 {
				p = forged
			}
			_, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, p), readReq)
			switch {
			case err == nil && p == proof:
				accepted.Add(1)
			case trust.KindOf(err) == trust.KindDPoPReplay && p == proof:
				replays.Add(1)
			case trust.KindOf(err) == trust.KindDPoPSignature && p == forged:
				forgedRefused.Add(1)
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected outcome: %v", err)
	}
	// A forged copy may win the SET NX race and make a valid copy lose it
	// (that copy is then refused as a replay, fail closed); it never makes
	// one accepted twice.
	if accepted.Load() > 1 || accepted.Load()+replays.Load() != n/2 || forgedRefused.Load() != n/2 {
		t.Fatalf("accepted %d, replays %d, forged refused %d of %d each", accepted.Load(), replays.Load(), forgedRefused.Load(), n/2)
	}
	// Once the race is over, the proof is used up whatever happened.
	_, err := e.v.VerifyRequest(context.Background(), request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq)
	if accepted.Load() == 1 {
		wantKind(t, err, trust.KindDPoPReplay)
	}
}

// With Redis down, a proof with a broken signature is refused for its
// signature (the client's fault, 401) and a valid one with 503: neither is
// accepted.
func TestRedisDownBrokenSignature(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), MaxRetries: -1})
	defer c.Close()
	e := newEnv(t, func(cfg *trust.Config) {
		cfg.Replay = trust.NewRedisReplayCache(c, "pjd:dpop:").WithClock(cfg.Now)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok := e.token(e.healthWorkerClaims())
	proof := e.proof(http.MethodPost, testHTU, tok)
	forged := withSignatureOf(proof, e.proof(http.MethodPost, testHTU, tok))
	_, err = e.v.VerifyRequest(ctx, request(http.MethodPost, testHTU, "DPoP "+tok, forged), readReq)
	wantKind(t, err, trust.KindDPoPSignature)
	_, err = e.v.VerifyRequest(ctx, request(http.MethodPost, testHTU, "DPoP "+tok, proof), readReq)
	wantKind(t, err, trust.KindReplayUnavailable)
}
