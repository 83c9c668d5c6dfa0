package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pjd/trust/devissuer"
)

// MintFunc mints a dev access token for persona p (and patient, for a
// health worker's attestation) as if issued — and attested — at
// attestedAt.
type MintFunc func(ctx context.Context, p devissuer.Persona, patient string, attestedAt time.Time) (*devissuer.Token, error)

// devKeyFile is the dev issuer's signing key in its key folder
// (devissuer's keyFile).
const devKeyFile = "dev-helseid-signing-key.jwk.json"

// KeyDirMinter returns a MintFunc that signs with the dev issuer's key in
// keyDir (<pjd serve --data>/dev-issuer, or pjd dev-issuer's --dir), for
// the issuer at issuerURL (<base URL>/dev/helseid, or pjd dev-issuer's
// URL) and audience. mode must be the issuer's: devissuer.DevMode(true)
// for a --dev server, devissuer.Standalone() for pjd dev-issuer. These
// tokens are only for servers on this machine, whose key folder the
// caller can read.
func KeyDirMinter(mode devissuer.Mode, issuerURL, keyDir, audience string) (MintFunc, error) {
	if _, err := os.Stat(filepath.Join(keyDir, devKeyFile)); err != nil {
		return nil, fmt.Errorf("conformance: no dev issuer signing key in %s: %w", keyDir, err)
	}
	// Fail now, not in every scenario, when the mode is not dev.
	if _, err := devissuer.New(mode, devissuer.Options{Issuer: issuerURL, KeyDir: keyDir, Audience: audience}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, p devissuer.Persona, patient string, at time.Time) (*devissuer.Token, error) {
		iss, err := devissuer.New(mode, devissuer.Options{Issuer: issuerURL, KeyDir: keyDir, Audience: audience,
			TokenLifetime: time.Since(at) + time.Hour, Now: func() time.Time { return at }})
		if err != nil {
			return nil, err
		}
		tok, key, err := iss.MintBound(ctx, p, patient)
		if err != nil {
			return nil, err
		}
		return &devissuer.Token{AccessToken: tok, TokenType: "DPoP", Scope: strings.Join(p.Scopes, " "), Key: key}, nil
	}, nil
}

// Token gets a dev token for persona (for patient; "" for none) from the
// target's dev issuer, with the persona's scopes or the ones named. It
// returns Skipf when the target has no dev issuer.
func (t *T) Token(ctx context.Context, persona, patient string, scopes ...string) (*devissuer.Token, error) {
	if !t.env.devIssuer {
		return nil, Skipf("needs the dev issuer (a pjd serve --dev target, or pjd dev-issuer: --dev-issuer-url)")
	}
	return t.env.fetchToken(ctx, persona, patient, scopes)
}

// Mint mints a token through the Target's MintFunc, or returns Skipf.
func (t *T) Mint(ctx context.Context, p devissuer.Persona, patient string, attestedAt time.Time) (*devissuer.Token, error) {
	if !t.env.devIssuer {
		return nil, Skipf("needs the dev issuer (a pjd serve --dev target, or pjd dev-issuer: --dev-issuer-url)")
	}
	if t.env.target.Mint == nil {
		return nil, Skipf("needs the dev issuer's signing key to mint this attestation (pjd conformance --dev-issuer-keys <data>/dev-issuer, or pjd dev-issuer's --dir); " +
			"the dev token endpoint only issues fresh attestations with each persona's own purpose of use")
	}
	return t.env.target.Mint(ctx, p, patient, attestedAt)
}

// Persona returns the dev issuer's persona id.
func Persona(id string) devissuer.Persona {
	p, ok := devissuer.PersonaByID(id)
	if !ok {
		panic("conformance: unknown persona " + id)
	}
	return p
}

// fetchToken gets a token from the target's dev token endpoint
// (devissuer.Client.TokenAt), with the scopes named (nil: the persona's).
func (e *Env) fetchToken(ctx context.Context, persona, patient string, scopes []string) (*devissuer.Token, error) {
	c := &devissuer.Client{HTTP: &http.Client{Transport: e.base, Timeout: 30 * time.Second}}
	tok, err := c.TokenAt(ctx, e.issuer+"/connect/token", persona, patient, scopes, nil)
	if err != nil {
		return nil, fmt.Errorf("dev token for %s: %w", persona, err)
	}
	return tok, nil
}

type tokenEntry struct {
	tok     *devissuer.Token
	expires time.Time
}

// complianceToken is the compliance officer's token, shared by the
// scenarios of one Env.
func (e *Env) complianceToken(ctx context.Context) (*devissuer.Token, error) {
	if !e.devIssuer {
		return nil, Skipf("reading the audit API needs the dev issuer's compliance persona (a pjd serve --dev target, or pjd dev-issuer: --dev-issuer-url)")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.compliance; c != nil && time.Now().Before(c.expires) {
		return c.tok, nil
	}
	tok, err := e.fetchToken(ctx, "compliance", "", nil)
	if err != nil {
		return nil, err
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		return nil, errors.New("the compliance token has no lifetime")
	}
	e.compliance = &tokenEntry{tok: tok, expires: time.Now().Add(life / 2)}
	return tok, nil
}

// As returns an HTTP client that presents tok (Authorization: DPoP and a
// fresh proof per request) and an X-Request-Id.
func (t *T) As(tok *devissuer.Token) *http.Client {
	return t.client(func(rt http.RoundTripper) http.RoundTripper { return tok.Transport(rt) })
}

// WithHeader returns an HTTP client that sets header name to value on
// every request (a forged or malformed credential).
func (t *T) WithHeader(name, value string) *http.Client {
	return t.client(func(rt http.RoundTripper) http.RoundTripper {
		return headerTransport{name: name, value: value, base: rt}
	})
}

type headerTransport struct {
	name, value string
	base        http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return h.base.RoundTrip(r)
}
