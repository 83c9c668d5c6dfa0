package trust

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// allowedAlgs are the only JWS algorithms accepted, for access tokens and
// DPoP proofs alike: RSA PKCS#1, RSA-PSS and ECDSA with SHA-2. Never none,
// never HMAC, never anything else.
var allowedAlgs = map[jwa.SignatureAlgorithm]bool{
	jwa.RS256: true, jwa.RS384: true, jwa.RS512: true,
	jwa.PS256: true, jwa.PS384: true, jwa.PS512: true,
	jwa.ES256: true, jwa.ES384: true, jwa.ES512: true,
}

// algFitsKey reports whether alg can be used with the public key pub
// (RSA for RS/PS, the matching curve for ES).
func algFitsKey(alg jwa.SignatureAlgorithm, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
			return k.N.BitLen() >= 2048 && k.N.BitLen() <= 8192
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jwa.ES256:
			return k.Curve == elliptic.P256()
		case jwa.ES384:
			return k.Curve == elliptic.P384()
		case jwa.ES512:
			return k.Curve == elliptic.P521()
		}
	}
	return false
}

// verificationKey is one usable public key of an issuer, parsed once.
type verificationKey struct {
	kid string
	alg jwa.SignatureAlgorithm // from the JWK, "" when unspecified
	pub crypto.PublicKey       // *rsa.PublicKey or *ecdsa.PublicKey
}

// keyState is an immutable snapshot of what we know about one issuer.
type keyState struct {
	issuer     string // exact iss, from the metadata
	jwksURI    string
	expiredURI string
	devIssuer  bool
	keys       map[string]*verificationKey // by kid
	retired    map[string]bool             // kids and thumbprints listed as expired
	fetchedAt  time.Time
}

// issuerKeys fetches and caches one issuer's metadata and keys.
type issuerKeys struct {
	cfg    IssuerConfig
	client *http.Client
	now    func() time.Time
	opts   *Config

	state       atomic.Pointer[keyState]
	mu          sync.Mutex // serialises fetches
	lastAttempt time.Time  // guarded by mu
	lastErr     error      // guarded by mu
}

// metadata is the part of the OpenID discovery document we use.
type metadata struct {
	Issuer         string `json:"issuer"`
	JWKSURI        string `json:"jwks_uri"`
	ExpiredJWKSURI string `json:"expired_jwks_uri"`
	DevIssuer      bool   `json:"pjd_dev_issuer"`
}

const maxMetadataSize = 1 << 20

func (ik *issuerKeys) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ik.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxMetadataSize {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", url, maxMetadataSize)
	}
	return body, nil
}

// fetch loads metadata, the JWKS and the expired-keys set and installs a
// new snapshot. Callers hold ik.mu.
func (ik *issuerKeys) fetch(ctx context.Context) error {
	ik.lastAttempt = ik.now()
	body, err := ik.get(ctx, ik.cfg.MetadataURL)
	if err != nil {
		return err
	}
	var md metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return fmt.Errorf("metadata %s: %w", ik.cfg.MetadataURL, err)
	}
	if md.Issuer == "" || md.JWKSURI == "" {
		return fmt.Errorf("metadata %s: issuer or jwks_uri missing", ik.cfg.MetadataURL)
	}
	if ik.cfg.Issuer != "" && md.Issuer != ik.cfg.Issuer {
		return fmt.Errorf("metadata %s names issuer %q, configured %q", ik.cfg.MetadataURL, md.Issuer, ik.cfg.Issuer)
	}
	if md.DevIssuer && !ik.opts.AllowDevIssuer {
		return fmt.Errorf("metadata %s is a development issuer; refused outside dev mode", ik.cfg.MetadataURL)
	}
	if err := checkFetchURL(md.JWKSURI); err != nil {
		return fmt.Errorf("jwks_uri: %w", err)
	}
	body, err = ik.get(ctx, md.JWKSURI)
	if err != nil {
		return err
	}
	keys, err := parseVerificationKeys(body)
	if err != nil {
		return fmt.Errorf("jwks %s: %w", md.JWKSURI, err)
	}
	retired := map[string]bool{}
	if md.ExpiredJWKSURI != "" {
		if err := checkFetchURL(md.ExpiredJWKSURI); err != nil {
			return fmt.Errorf("expired_jwks_uri: %w", err)
		}
		body, err = ik.get(ctx, md.ExpiredJWKSURI)
		if err != nil {
			return err
		}
		if retired, err = parseRetiredKeys(body); err != nil {
			return fmt.Errorf("expired jwks %s: %w", md.ExpiredJWKSURI, err)
		}
	}
	for kid, k := range keys {
		if retired[kid] {
			delete(keys, kid)
			continue
		}
		if tp, err := thumbprintOf(k.pub); err == nil && retired[tp] {
			delete(keys, kid)
			retired[kid] = true
		}
	}
	ik.state.Store(&keyState{
		issuer:     md.Issuer,
		jwksURI:    md.JWKSURI,
		expiredURI: md.ExpiredJWKSURI,
		devIssuer:  md.DevIssuer,
		keys:       keys,
		retired:    retired,
		fetchedAt:  ik.now(),
	})
	return nil
}

func checkFetchURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func parseVerificationKeys(body []byte) (map[string]*verificationKey, error) {
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]*verificationKey, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if k.KeyUsage() == string(jwk.ForEncryption) {
			continue
		}
		var pub crypto.PublicKey
		switch k.KeyType() {
		case jwa.RSA, jwa.EC:
			pk, err := k.PublicKey()
			if err != nil {
				continue
			}
			var raw any
			if err := pk.Raw(&raw); err != nil {
				continue
			}
			pub = raw
		default:
			continue // never symmetric or anything else
		}
		vk := &verificationKey{kid: k.KeyID(), pub: pub}
		if a := k.Algorithm(); a != nil && a.String() != "" {
			vk.alg = jwa.SignatureAlgorithm(a.String())
			if !allowedAlgs[vk.alg] || !algFitsKey(vk.alg, pub) {
				continue
			}
		}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			if p.N.BitLen() < 2048 {
				continue
			}
		case *ecdsa.PublicKey:
		default:
			continue
		}
		if _, dup := keys[vk.kid]; dup {
			return nil, fmt.Errorf("duplicate kid %q", vk.kid)
		}
		keys[vk.kid] = vk
	}
	return keys, nil
}

func parseRetiredKeys(body []byte) (map[string]bool, error) {
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if kid := k.KeyID(); kid != "" {
			out[kid] = true
		}
		if pk, err := k.PublicKey(); err == nil {
			if tp, err := pk.Thumbprint(crypto.SHA256); err == nil {
				out[base64.RawURLEncoding.EncodeToString(tp)] = true
			}
		}
	}
	return out, nil
}

func thumbprintOf(pub crypto.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// current returns a usable snapshot: the cached one while it is fresh;
// otherwise it refreshes (other callers keep using the old snapshot
// meanwhile), and falls back to the old snapshot until it is older than
// MaxStale. With no snapshot at all it waits for the fetch.
func (ik *issuerKeys) current(ctx context.Context) (*keyState, error) {
	st := ik.state.Load()
	now := ik.now()
	if st != nil && now.Sub(st.fetchedAt) < ik.opts.JWKSRefresh {
		return st, nil
	}
	if st != nil {
		if !ik.mu.TryLock() {
			if now.Sub(st.fetchedAt) < ik.opts.JWKSMaxStale {
				return st, nil
			}
			ik.mu.Lock()
		}
	} else {
		ik.mu.Lock()
	}
	defer ik.mu.Unlock()
	// Someone may have refreshed while we waited.
	if st2 := ik.state.Load(); st2 != nil && ik.now().Sub(st2.fetchedAt) < ik.opts.JWKSRefresh {
		return st2, nil
	}
	// Do not hammer an issuer that just failed.
	if ik.lastErr != nil && ik.now().Sub(ik.lastAttempt) < ik.opts.MinRefetch {
		if st != nil && now.Sub(st.fetchedAt) < ik.opts.JWKSMaxStale {
			return st, nil
		}
		return nil, ik.lastErr
	}
	err := ik.fetch(ctx)
	ik.lastErr = err
	if err != nil {
		if st != nil && now.Sub(st.fetchedAt) < ik.opts.JWKSMaxStale {
			return st, nil
		}
		return nil, err
	}
	return ik.state.Load(), nil
}

// refetchForKid refetches after a token named a kid we do not know — at
// most once per MinRefetch, so unknown kids cannot be used to make us
// hammer the issuer.
func (ik *issuerKeys) refetchForKid(ctx context.Context, seen *keyState) (*keyState, error) {
	ik.mu.Lock()
	defer ik.mu.Unlock()
	if st := ik.state.Load(); st != seen {
		return st, nil // someone else already refetched
	}
	if ik.now().Sub(ik.lastAttempt) < ik.opts.MinRefetch {
		return seen, nil
	}
	err := ik.fetch(ctx)
	ik.lastErr = err
	if err != nil {
		return seen, err
	}
	return ik.state.Load(), nil
}
