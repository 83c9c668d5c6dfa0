package trust_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/testenv"
	"pjd/trust"
)

// BenchmarkVerifyRequest measures whole DPoP request verifications (access
// token RS256 + proof ES256 + attestation + replay check) against the
// in-memory and the Redis replay cache, next to the raw cost of the two
// signature verifications alone, all in the same run. Run on one core:
//
//	go test ./trust -run '^$' -bench BenchmarkVerifyRequest -cpu 1
func BenchmarkVerifyRequest(b *testing.B) {
	b.Run("baseline/raw-RS256+ES256-verify", func(b *testing.B) {
		e := newEnv(b)
		tok := e.token(e.healthWorkerClaims())
		proof := e.proof(http.MethodPost, testHTU, tok)
		rsaIn, rsaSig := splitSig(b, tok)
		ecIn, ecSig := splitSig(b, proof)
		rsaSum := sha256.Sum256(rsaIn)
		pub := &e.iss.key.PublicKey
		ecPub := &e.dpop.PublicKey
		r := new(big.Int).SetBytes(ecSig[:32])
		s := new(big.Int).SetBytes(ecSig[32:])
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, rsaSum[:], rsaSig); err != nil {
				b.Fatal(err)
			}
			ecSum := sha256.Sum256(ecIn)
			if !ecdsa.Verify(ecPub, ecSum[:], r, s) {
				b.Fatal("ecdsa")
			}
		}
		reportRate(b)
	})
	b.Run("memory", func(b *testing.B) {
		benchVerify(b, nil)
	})
	b.Run("redis", func(b *testing.B) {
		info := testenv.RedisDB(b)
		c := redis.NewClient(&redis.Options{Addr: info.Addr, DB: info.DB})
		b.Cleanup(func() { _ = c.Close() })
		benchVerify(b, func(cfg *trust.Config) {
			cfg.Replay = trust.NewRedisReplayCache(c, info.Prefix).WithClock(cfg.Now)
		})
	})
}

func benchVerify(b *testing.B, mut func(*trust.Config)) {
	var muts []func(*trust.Config)
	if mut != nil {
		muts = append(muts, mut)
	}
	e := newEnv(b, muts...)
	tok := e.token(e.healthWorkerClaims())
	authz := "DPoP " + tok
	ctx := context.Background()
	// Warm the JWKS cache outside the measurement.
	if _, err := e.v.VerifyRequest(ctx, request(http.MethodPost, testHTU, authz, e.proof(http.MethodPost, testHTU, tok)), readReq); err != nil {
		b.Fatal(err)
	}
	const batch = 512
	reqs := make([]*http.Request, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(reqs) == 0 {
			b.StopTimer()
			for j := 0; j < batch; j++ {
				reqs = append(reqs, request(http.MethodPost, testHTU, authz, e.proof(http.MethodPost, testHTU, tok)))
			}
			b.StartTimer()
		}
		r := reqs[len(reqs)-1]
		reqs = reqs[:len(reqs)-1]
		if _, err := e.v.VerifyRequest(ctx, r, readReq); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "verifications/s")
	}
}

func splitSig(b *testing.B, jws string) ([]byte, []byte) {
	i := strings.LastIndexByte(jws, '.')
	sig, err := base64.RawURLEncoding.DecodeString(jws[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return []byte(jws[:i]), sig
}
