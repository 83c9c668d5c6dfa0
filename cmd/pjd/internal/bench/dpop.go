package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"pjd/trust"
	"pjd/trust/devissuer"
)

// ---- dpop: request verification on one core ----

// DPoPBenchmark measures whole DPoP request verifications (access token,
// proof signature and claims, attestation, the jti recorded in the server's
// replay cache — Redis when svc has one) by the Verifier of a pjd server,
// serially with GOMAXPROCS 1, next to the two raw signature verifications
// alone (the token's and the proof's) of the same requests. Proofs are
// made before the runs: a client's cost is not the server's.
func DPoPBenchmark(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, count int) ([]Row, error) {
	var cs closers
	defer cs.close()
	srv, err := startOn(ctx, start, svc, log, &cs)
	if err != nil {
		return nil, err
	}
	issuer := srv.URL + "/dev/helseid"
	tok, err := (&devissuer.Client{Issuer: issuer}).Token(ctx, "fastlege", devissuer.SyntheticPatients()[0], nil)
	if err != nil {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	set, err := jwk.Fetch(ctx, issuer+"/.well-known/openid-configuration/jwks")
	if err != nil {
		return nil, fmt.Errorf("issuer keys: %w", err)
	}
	htu := srv.URL + "/fhir/R4/DocumentReference"
	req := trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: htu}
	proofs := make([]string, count+1)
	for i := range proofs {
		if proofs[i], err = devissuer.Proof(tok.Key, http.MethodGet, htu, tok.AccessToken, time.Now()); err != nil {
			return nil, err
		}
	}
	raw, err := rawVerifier(set, tok, proofs[0])
	if err != nil {
		return nil, err
	}
	verify := func(ctx context.Context, i uint64) error {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, htu, nil)
		r.Header.Set("Authorization", "DPoP "+tok.AccessToken)
		r.Header.Set("DPoP", proofs[i+1])
		_, err := srv.Tokens.VerifyRequest(ctx, r, req)
		return err
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	rows := []Row{
		Case{Name: "raw-signatures", Unit: "verifications"}.Row(RunSerial(ctx, count, func(context.Context, uint64) error { return raw() })),
		Case{Name: "verify-request", Unit: "verifications", Baseline: "raw-signatures"}.Row(RunSerial(ctx, count, verify)),
	}
	return rows, rowsErr(rows)
}

// rawVerifier checks the access token's and one proof's signatures and
// nothing else.
func rawVerifier(set jwk.Set, tok *devissuer.Token, proof string) (func() error, error) {
	type check struct {
		input, sig []byte
		alg        jwa.SignatureAlgorithm
		key        any
	}
	split := func(jwt string, key jwk.Key) (check, error) {
		msg, err := jws.Parse([]byte(jwt))
		if err != nil || len(msg.Signatures()) != 1 {
			return check{}, fmt.Errorf("parsing a JWS: %v", err)
		}
		s := msg.Signatures()[0]
		if key == nil {
			var ok bool
			if key, ok = set.LookupKeyID(s.ProtectedHeaders().KeyID()); !ok {
				return check{}, errors.New("the token's key is not in the issuer's JWKS")
			}
		}
		var raw any
		if err := key.Raw(&raw); err != nil {
			return check{}, err
		}
		return check{input: []byte(jwt[:strings.LastIndexByte(jwt, '.')]), sig: s.Signature(), alg: s.ProtectedHeaders().Algorithm(), key: raw}, nil
	}
	pub, err := tok.Key.PublicKey()
	if err != nil {
		return nil, err
	}
	a, err := split(tok.AccessToken, nil)
	if err != nil {
		return nil, err
	}
	b, err := split(proof, pub)
	if err != nil {
		return nil, err
	}
	va, err := jws.NewVerifier(a.alg)
	if err != nil {
		return nil, err
	}
	vb, err := jws.NewVerifier(b.alg)
	if err != nil {
		return nil, err
	}
	return func() error {
		if err := va.Verify(a.input, a.sig, a.key); err != nil {
			return err
		}
		return vb.Verify(b.input, b.sig, b.key)
	}, nil
}

// DPoPTarget is P6 from the dpop rows.
func DPoPTarget(rows []Row, replay string) Target {
	v, raw := findRow(rows, "verify-request"), findRow(rows, "raw-signatures")
	t := Target{ID: "P6", What: "DPoP request verification, one core, " + replay + " replay cache",
		Figure:   fmt.Sprintf("%.0f/s", v.Lat.PerSecond()),
		Baseline: fmt.Sprintf("%.0f/s the two raw signature verifications", raw.Lat.PerSecond()),
		Goal:     "≥ 5,000/s; ≤ 1.3× baseline cost"}
	if v.Lat.PerSecond() > 0 {
		t.Ratio = raw.Lat.PerSecond() / v.Lat.PerSecond() // cost ratio
		t.Met = v.Lat.PerSecond() >= 5000 && t.Ratio <= 1.3
	}
	return t
}
