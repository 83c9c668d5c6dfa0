package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// DPoPProofType is the typ header of a DPoP proof (RFC 9449 §4.2).
const DPoPProofType = "dpop+jwt"

// ProofConfig configures a ProofVerifier.
type ProofConfig struct {
	Now    func() time.Time // default time.Now
	Skew   time.Duration    // tolerated clock difference; default 5 s
	MaxAge time.Duration    // how old iat may be; default 60 s
	Replay ReplayCache      // required
	// ReplayPrefix separates this verifier's ids from others sharing the
	// cache (e.g. the dev issuer's token endpoint); may be empty.
	ReplayPrefix string
}

// ProofVerifier checks DPoP proofs (RFC 9449 §4.3).
type ProofVerifier struct {
	now    func() time.Time
	skew   time.Duration
	maxAge time.Duration
	replay ReplayCache
	prefix string
}

// NewProofVerifier returns a ProofVerifier; it fails without a replay cache.
func NewProofVerifier(cfg ProofConfig) (*ProofVerifier, error) {
	if cfg.Replay == nil {
		return nil, fmt.Errorf("trust: a DPoP proof verifier needs a replay cache")
	}
	v := &ProofVerifier{now: cfg.Now, skew: cfg.Skew, maxAge: cfg.MaxAge, replay: cfg.Replay, prefix: cfg.ReplayPrefix}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew <= 0 {
		v.skew = DefaultSkew
	}
	if v.maxAge <= 0 {
		v.maxAge = DefaultProofMaxAge
	}
	return v, nil
}

// Defaults.
const (
	DefaultSkew        = 5 * time.Second
	DefaultProofMaxAge = 60 * time.Second
	maxJWTSize         = 16 << 10
	maxJTILen          = 256
)

// ProofCheck is what a proof must match.
type ProofCheck struct {
	Method string // the request method (htm)
	HTU    string // the external URL of the request (htu); query and fragment are ignored
	// AccessToken, when set, must be hashed in ath (resource requests);
	// when empty the proof must not be checked for ath (token requests).
	AccessToken string
	// JKT, when set, must equal the thumbprint of the proof's key (cnf.jkt).
	JKT string
}

type proofClaims struct {
	JTI *string          `json:"jti"`
	HTM *string          `json:"htm"`
	HTU *string          `json:"htu"`
	IAT *json.RawMessage `json:"iat"`
	ATH *string          `json:"ath"`
}

func dpopErr(k Kind, desc, detail string) *Error { return newErr(k, desc, detail) }

// Proof is a verified DPoP proof.
type Proof struct {
	JKT      string    // RFC 7638 thumbprint of the proof's public key
	JTI      string    // the proof's id
	IssuedAt time.Time // iat
	Key      jwk.Key   // the proof's public key
}

// Verify checks proof against c: shape, typ, alg, the embedded public key
// (never a private or symmetric one), the signature, htm, htu, iat, ath and
// the key thumbprint, and records the jti in the replay cache. A proof that
// fails any check but the replay check does not use up its jti; the replay
// cache is asked while the signature is verified (see verifyThen).
func (v *ProofVerifier) Verify(ctx context.Context, proof string, c ProofCheck) (*Proof, error) {
	return v.verifyThen(ctx, proof, c, nil)
}

// verifyThen verifies proof against c, runs then (the caller's further
// checks of the request, when not nil) and records the proof's jti; it
// returns the proof only when all of that succeeded.
//
// The replay cache's answer is a round trip (Redis SET NX), so it is asked
// concurrently with the proof's signature verification and then, instead
// of after them — once every check that needs no signature has passed
// (header, key, claims, htm, htu, iat, ath, thumbprint), so only a proof
// that is right in everything but possibly its signature reaches the
// cache. If the signature (or then) fails, an id this request recorded is
// forgotten again. This is as safe as recording last:
//
//   - Replay. Recording is still SET NX, atomic across nodes: of two
//     requests with the same proof exactly one records it, and the other
//     is refused as a replay whatever its signature says. A proof is
//     accepted only when its signature verified and this request's own
//     SET NX created the id — the same condition as before.
//   - Burning someone else's jti. The id is the hash of the proof key's
//     thumbprint and the jti. A forger can put a victim's public key in a
//     proof it cannot sign, but cannot know a jti the victim has not sent
//     yet (it is random and unique per proof); and an id it records with a
//     proof whose signature fails is deleted again. Only one who has seen
//     the victim's proof knows its jti — and could as well replay that
//     proof, which loses or wins the same SET NX race.
//   - Forgetting. Forget is called only when this request's SET NX
//     created the id (never for an id another request recorded), within
//     the id's lifetime: its TTL runs until the proof is too old to be
//     accepted anyway (iat + MaxAge + 2 × Skew), so no other request can
//     have recorded the same id in between. A Forget that fails leaves the
//     id recorded: a proof that was refused stays unusable (fail closed).
//   - Cache failure. An error from the cache refuses the request (503,
//     KindReplayUnavailable) unless the proof was refused for its own
//     fault first; a request is never accepted without the cache's yes.
//
// The errors are the ones the checks made in sequence would give: a
// header or claim check that fails is reported after the signature check,
// and a signature failure before everything the claims say.
func (v *ProofVerifier) verifyThen(ctx context.Context, proof string, c ProofCheck, then func() error) (*Proof, error) {
	pp, err := v.parse(proof)
	if err != nil {
		return nil, err
	}
	p, err := v.claims(pp, c)
	if err != nil {
		// Nothing is recorded for a proof with a wrong claim; its
		// signature is still reported first.
		if serr := pp.verifySignature(); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	id, exp := v.replayID(p)
	type seen struct {
		replayed bool
		err      error
	}
	recorded := make(chan seen, 1)
	go func() {
		r, err := v.replay.Seen(ctx, id, exp)
		recorded <- seen{r, err}
	}()
	// Let the new goroutine send its command before the signature check
	// takes the processor: with one P (or all busy) it would otherwise
	// run only once this goroutine waits for it, and nothing would
	// overlap. It parks as soon as it waits for the cache's answer.
	runtime.Gosched()
	err = pp.verifySignature()
	if err == nil && then != nil {
		err = then()
	}
	rec := <-recorded
	if err != nil {
		if rec.err == nil && !rec.replayed {
			_ = v.replay.Forget(ctx, id) // on failure the id stays recorded: fail closed
		}
		return nil, err
	}
	if rec.err != nil {
		return nil, &Error{Kind: KindReplayUnavailable, Description: "the DPoP replay cache is unavailable; try again later", Err: rec.err}
	}
	if rec.replayed {
		return nil, dpopErr(KindDPoPReplay, "the DPoP proof has been used before", "")
	}
	if err := v.checkForgotten(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// parsedProof is a proof whose header and key passed their checks; its
// signature is not verified yet.
type parsedProof struct {
	signingInput string
	msg          *jws.Message
	sig          *jws.Signature
	key          jwk.Key
	pub          any
	verifier     jws.Verifier
}

// parse reads proof and checks its header and key.
func (v *ProofVerifier) parse(proof string) (*parsedProof, error) {
	signingInput, ok := splitCompact(proof)
	if !ok {
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof is not a compact JWS", "")
	}
	msg, err := jws.Parse([]byte(proof))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, &Error{Kind: KindDPoPMalformed, Description: "the DPoP proof could not be parsed", Err: err}
	}
	sig := msg.Signatures()[0]
	h := sig.ProtectedHeaders()
	if !strings.EqualFold(h.Type(), DPoPProofType) {
		return nil, dpopErr(KindDPoPType, "the DPoP proof's typ must be dpop+jwt", "typ "+h.Type())
	}
	alg := h.Algorithm()
	if !allowedAlgs[alg] {
		return nil, dpopErr(KindDPoPAlgorithm, "the DPoP proof's alg is not allowed", "alg "+alg.String())
	}
	if len(h.Critical()) > 0 || hasHeader(h, "b64") {
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof uses unsupported JWS extensions", "")
	}
	key := h.JWK()
	if key == nil {
		return nil, dpopErr(KindDPoPKey, "the DPoP proof has no jwk header", "")
	}
	if key.KeyType() != jwa.RSA && key.KeyType() != jwa.EC {
		return nil, dpopErr(KindDPoPKey, "the DPoP proof's jwk must be an RSA or EC public key", "kty "+key.KeyType().String())
	}
	if priv, err := jwk.IsPrivateKey(key); err != nil || priv {
		return nil, dpopErr(KindDPoPKey, "the DPoP proof's jwk must not contain a private key", "")
	}
	var pub any
	if err := key.Raw(&pub); err != nil {
		return nil, &Error{Kind: KindDPoPKey, Description: "the DPoP proof's jwk is not a usable public key", Err: err}
	}
	if !algFitsKey(alg, pub) {
		return nil, dpopErr(KindDPoPAlgorithm, "the DPoP proof's alg does not fit its key", "alg "+alg.String())
	}
	verifier, err := jws.NewVerifier(alg)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Description: "internal error", Err: err}
	}
	return &parsedProof{signingInput: signingInput, msg: msg, sig: sig, key: key, pub: pub, verifier: verifier}, nil
}

// verifySignature verifies the proof's signature with its own key.
func (pp *parsedProof) verifySignature() error {
	if err := pp.verifier.Verify([]byte(pp.signingInput), pp.sig.Signature(), pp.pub); err != nil {
		return &Error{Kind: KindDPoPSignature, Description: "the DPoP proof's signature does not verify", Err: err}
	}
	return nil
}

// claims checks the proof's claims against c and its key's thumbprint
// against c.JKT. It does not look at the signature.
func (v *ProofVerifier) claims(pp *parsedProof, c ProofCheck) (*Proof, error) {
	var cl proofClaims
	if err := json.Unmarshal(pp.msg.Payload(), &cl); err != nil {
		return nil, &Error{Kind: KindDPoPMalformed, Description: "the DPoP proof's claims are not a JSON object", Err: err}
	}
	switch {
	case cl.JTI == nil || *cl.JTI == "":
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof has no jti", "")
	case len(*cl.JTI) > maxJTILen:
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof's jti is too long", "")
	case cl.HTM == nil:
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof has no htm", "")
	case cl.HTU == nil:
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof has no htu", "")
	case cl.IAT == nil:
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof has no iat", "")
	}

	if *cl.HTM != c.Method {
		return nil, dpopErr(KindDPoPMethod, "the DPoP proof's htm does not match the request method", "htm "+*cl.HTM+", method "+c.Method)
	}
	want, err := NormalizeHTU(c.HTU)
	if err != nil {
		// The request's own URL: too long, or a path that is no URL
		// path. The client sent it, so it is the client's error.
		return nil, &Error{Kind: KindRequestURL, Description: "the request URL is too long or malformed", Detail: "request HTU " + firstN(c.HTU, 128), Err: err}
	}
	got, err := NormalizeHTU(*cl.HTU)
	if err != nil || got != want {
		return nil, &Error{Kind: KindDPoPURL, Description: "the DPoP proof's htu does not match the request URL", Detail: "htu " + *cl.HTU + ", want " + want}
	}

	iat, ok := numericDate(*cl.IAT)
	if !ok {
		return nil, dpopErr(KindDPoPMalformed, "the DPoP proof's iat is not a number", "")
	}
	now := v.now()
	if iat.After(now.Add(v.skew)) {
		return nil, dpopErr(KindDPoPIssuedAt, "the DPoP proof was issued in the future", "iat "+iat.Format(time.RFC3339))
	}
	if iat.Before(now.Add(-v.maxAge - v.skew)) {
		return nil, dpopErr(KindDPoPIssuedAt, "the DPoP proof is too old", "iat "+iat.Format(time.RFC3339))
	}

	if c.AccessToken != "" {
		if cl.ATH == nil {
			return nil, dpopErr(KindDPoPAth, "the DPoP proof has no ath", "")
		}
		sum := sha256.Sum256([]byte(c.AccessToken))
		if *cl.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, dpopErr(KindDPoPAth, "the DPoP proof's ath does not match the access token", "")
		}
	}

	tp, err := pp.key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, &Error{Kind: KindDPoPKey, Description: "the DPoP proof's jwk has no thumbprint", Err: err}
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	if c.JKT != "" && jkt != c.JKT {
		return nil, dpopErr(KindDPoPKeyMismatch, "the DPoP proof's key is not the key the access token is bound to", "")
	}
	return &Proof{JKT: jkt, JTI: *cl.JTI, IssuedAt: iat, Key: pp.key}, nil
}

// replayID is the id the replay cache records for p, and until when. The
// proof is acceptable until iat+maxAge+skew; it is remembered that long
// (and a skew more). The id is hashed with the key thumbprint: bounded
// length, and two clients cannot collide on each other's jti.
func (v *ProofVerifier) replayID(p *Proof) (string, time.Time) {
	sum := sha256.Sum256([]byte(p.JKT + "\x00" + p.JTI))
	return v.prefix + base64.RawURLEncoding.EncodeToString(sum[:]), p.IssuedAt.Add(v.maxAge + 2*v.skew)
}

// checkForgotten refuses p when the replay cache may have forgotten ids
// recorded around p's iat. A cache that lost its memory (Redis restarted
// without persistence) cannot say whether a proof issued before that was
// used: such proofs are refused until they are too old anyway (fail
// closed). The skew allows for a client clock ahead of the node that saw a
// restart; when the time is only this process's start (the first run it
// sees), for a client clock behind it. Call it after the cache's Seen.
func (v *ProofVerifier) checkForgotten(ctx context.Context, p *Proof) error {
	f, ok := v.replay.(ForgetfulReplayCache)
	if !ok {
		return nil
	}
	since, observed, err := f.ForgottenBefore(ctx)
	if err != nil {
		return &Error{Kind: KindReplayUnavailable, Description: "the DPoP replay cache is unavailable; try again later", Err: err}
	}
	switch {
	case since.IsZero():
	case observed:
		since = since.Add(v.skew)
	default:
		since = since.Add(-v.skew)
	}
	if !since.IsZero() && p.IssuedAt.Before(since) {
		return dpopErr(KindDPoPIssuedAt, "the DPoP proof was issued before the server's replay cache restarted; send a new proof",
			"iat "+p.IssuedAt.Format(time.RFC3339)+", replay cache restarted "+since.Format(time.RFC3339))
	}
	return nil
}

func hasHeader(h jws.Headers, name string) bool {
	_, ok := h.Get(name)
	return ok
}

// splitCompact checks that s is a compact JWS (three base64url parts; an
// empty signature is let through so that alg "none" is refused by name)
// and returns its signing input.
func splitCompact(s string) (string, bool) {
	if len(s) == 0 || len(s) > maxJWTSize {
		return "", false
	}
	first := strings.IndexByte(s, '.')
	last := strings.LastIndexByte(s, '.')
	if first <= 0 || last == first || last == first+1 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if i != first && i != last {
				return "", false
			}
		default:
			return "", false
		}
	}
	return s[:last], true
}

func numericDate(raw json.RawMessage) (time.Time, bool) {
	raw = bytes.TrimSpace(raw)
	var f float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &f) != nil {
		return time.Time{}, false
	}
	if math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// NormalizeHTU brings an http(s) URL into the form htu values are compared
// in (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3): scheme and host lower-cased,
// default port dropped, percent-encoding normalised, dot segments removed,
// an empty path made "/", query and fragment dropped. URLs with userinfo or
// without a host are refused.
//
// Input and output are at most MaxHTULength bytes: percent-encoding can
// make the output longer than the input (a raw byte becomes three), and an
// output over the limit is refused too, so that every result normalises
// to itself.
func NormalizeHTU(raw string) (string, error) {
	if len(raw) > MaxHTULength {
		return "", errHTUTooLong
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("scheme %q", u.Scheme)
	}
	if u.User != nil || u.Hostname() == "" || u.Opaque != "" {
		return "", fmt.Errorf("not an absolute http(s) URL without userinfo")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if !validHost(host) || (port != "" && !isDigits(port)) {
		return "", fmt.Errorf("invalid host %q", u.Host)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]"
	}
	p := normalizePercent(u.EscapedPath())
	p = removeDotSegments(p)
	if p == "" {
		p = "/"
	}
	out := scheme + "://" + host + p
	if len(out) > MaxHTULength {
		return "", errHTUTooLong
	}
	return out, nil
}

// MaxHTULength bounds an htu and a request URL compared with it.
const MaxHTULength = 4096

var errHTUTooLong = fmt.Errorf("url longer than %d bytes", MaxHTULength)

// validHost accepts an IP address or a DNS name (letters, digits, '-', '.', '_').
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.Contains(h, ":") {
		return net.ParseIP(h) != nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// normalizePercent upper-cases percent-encoded triplets and decodes those
// that encode unreserved characters (RFC 3986 §6.2.2.2).
func normalizePercent(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			c := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(p[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isUnreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments implements RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string
	for len(in) > 0 {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			end := strings.IndexByte(in[start:], '/')
			if end < 0 {
				end = len(in)
			} else {
				end += start
			}
			out = append(out, in[:end])
			in = in[end:]
		}
	}
	return strings.Join(out, "")
}
