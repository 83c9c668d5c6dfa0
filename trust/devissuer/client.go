package devissuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"pjd/trust"
)

// NewDPoPKey generates a P-256 key for DPoP proofs (ES256).
func NewDPoPKey() (jwk.Key, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
	return k, nil
}

// Proof makes a DPoP proof (RFC 9449 §4.2) with key for a request to
// method and target (query and fragment are dropped from htu). When
// accessToken is not empty the proof carries its ath.
func Proof(key jwk.Key, method, target, accessToken string, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("devissuer: no DPoP key")
	}
	alg, err := signingAlg(key)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	claims := map[string]any{
		"jti": uuid.NewString(),
		"htm": method,
		"htu": u.String(),
		"iat": now.Unix(),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, trust.DPoPProofType)
	_ = hdr.Set(jws.JWKKey, pub)
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func signingAlg(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	if a := key.Algorithm(); a != nil && a.String() != "" {
		return jwa.SignatureAlgorithm(a.String()), nil
	}
	switch key.KeyType() {
	case jwa.EC:
		return jwa.ES256, nil
	case jwa.RSA:
		return jwa.RS256, nil
	}
	return "", fmt.Errorf("devissuer: unsupported DPoP key type %s", key.KeyType())
}

// Client fetches dev tokens.
type Client struct {
	HTTP *http.Client // default http.DefaultClient
	// Issuer is the dev issuer's URL, e.g. http://127.0.0.1:8080/dev/helseid.
	Issuer string
	Now    func() time.Time // default time.Now
}

// Token is an access token bound to a DPoP key.
type Token struct {
	AccessToken string
	TokenType   string
	ExpiresIn   int
	Scope       string
	Key         jwk.Key // the private DPoP key the token is bound to
	Now         func() time.Time
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Token fetches a token for persona (and patient) bound to key; a new key
// is generated when key is nil. It reads the token endpoint from the
// issuer's discovery document.
func (c *Client) Token(ctx context.Context, persona, patient string, key jwk.Key) (*Token, error) {
	if key == nil {
		var err error
		if key, err = NewDPoPKey(); err != nil {
			return nil, err
		}
	}
	var md struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := c.getJSON(ctx, strings.TrimSuffix(c.Issuer, "/")+"/.well-known/openid-configuration", &md); err != nil {
		return nil, err
	}
	if md.TokenEndpoint == "" {
		return nil, errors.New("devissuer: the issuer has no token endpoint")
	}
	return c.TokenAt(ctx, md.TokenEndpoint, persona, patient, nil, key)
}

// TokenAt fetches a token for persona (and patient) from the dev token
// endpoint at endpoint (no discovery), bound to key (a new key when nil),
// with the scopes named (nil: the persona's own).
func (c *Client) TokenAt(ctx context.Context, endpoint, persona, patient string, scopes []string, key jwk.Key) (*Token, error) {
	if key == nil {
		var err error
		if key, err = NewDPoPKey(); err != nil {
			return nil, err
		}
	}
	proof, err := Proof(key, http.MethodPost, endpoint, "", c.now())
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "persona": {persona}}
	if patient != "" {
		form.Set("patient", patient)
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("devissuer: token response (status %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("devissuer: token endpoint: %s: %s", tr.Error, tr.Description)
	}
	if tr.TokenType != "DPoP" || tr.AccessToken == "" {
		return nil, fmt.Errorf("devissuer: unexpected token type %q", tr.TokenType)
	}
	return &Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, ExpiresIn: tr.ExpiresIn, Scope: tr.Scope, Key: key, Now: c.Now}, nil
}

func (c *Client) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("devissuer: GET %s: status %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (t *Token) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Authorize sets the Authorization: DPoP header and a fresh DPoP proof for
// r's method and URL.
func (t *Token) Authorize(r *http.Request) error {
	proof, err := Proof(t.Key, r.Method, r.URL.String(), t.AccessToken, t.now())
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "DPoP "+t.AccessToken)
	r.Header.Set("DPoP", proof)
	return nil
}

// Transport returns a RoundTripper that authorizes every request with t
// (a new proof each time).
func (t *Token) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{t: t, base: base}
}

type roundTripper struct {
	t    *Token
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if err := rt.t.Authorize(r); err != nil {
		return nil, err
	}
	return rt.base.RoundTrip(r)
}

// WriteJSON prints what `pjd token --format json` prints:
// {"access_token", "token_type": "DPoP", "expires_in", "dpop_key"}, where
// dpop_key is the private JWK the token is bound to, so that any HTTP
// client can make proofs.
func (t *Token) WriteJSON(w io.Writer) error {
	key, err := json.Marshal(t.Key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   int             `json:"expires_in"`
		DPoPKey     json.RawMessage `json:"dpop_key"`
	}{t.AccessToken, "DPoP", t.ExpiresIn, key})
}

// ReadToken reads what WriteJSON wrote back into a Token.
func ReadToken(r io.Reader) (*Token, error) {
	var v struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   int             `json:"expires_in"`
		DPoPKey     json.RawMessage `json:"dpop_key"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&v); err != nil {
		return nil, err
	}
	if v.TokenType != "DPoP" || v.AccessToken == "" {
		return nil, errors.New("devissuer: not a DPoP token")
	}
	key, err := jwk.ParseKey(v.DPoPKey)
	if err != nil {
		return nil, fmt.Errorf("devissuer: dpop_key: %w", err)
	}
	if priv, err := jwk.IsPrivateKey(key); err != nil || !priv {
		return nil, errors.New("devissuer: dpop_key is not a private key")
	}
	return &Token{AccessToken: v.AccessToken, TokenType: v.TokenType, ExpiresIn: v.ExpiresIn, Key: key}, nil
}
