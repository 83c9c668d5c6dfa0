package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/trust/policy"
)

// Scenario is one conformance scenario: a named check of one transaction
// (or of one security property across transactions), written once and
// run against any Target. Run returns nil when the target behaved as the
// profile says, an error saying what it did instead, or Skip(...) when
// the target cannot run the scenario (for instance no dev issuer).
type Scenario struct {
	Name        string
	Transaction string // ITI-42, ITI-18, ITI-41, ITI-43, ITI-65 … ITI-68, AUDIT, UI
	Run         func(ctx context.Context, t *T) error
}

// Target is the server the scenarios run against.
type Target struct {
	// BaseURL of the pjd server (http://127.0.0.1:8080), no trailing slash.
	BaseURL string
	// HTTP carries the requests (TLS and client certificates are set
	// there). Nil: a client with a one-minute timeout. Its Transport is
	// wrapped, never replaced.
	HTTP *http.Client
	// MaxResults is the server's --max-results; 0 when unknown (the
	// XDSTooManyResults scenario then skips).
	MaxResults int
	// MaxDocumentSize is the server's --max-document-size in bytes; 0
	// when unknown (the over-size scenarios then skip).
	MaxDocumentSize int64
	// SourceOrgNr is the organisation number the SOAP source credential
	// acts for (authorInstitution of every submission). Default
	// registry.SampleOrgnr (any organisation is accepted from loopback in
	// --dev).
	SourceOrgNr string
	// IssuerURL is the dev issuer's URL when it runs apart from the target
	// (pjd dev-issuer, e.g. https://127.0.0.1:8443); "" means the target's
	// own, at BaseURL/dev/helseid (pjd serve --dev). Its requests go
	// through HTTP, whose transport must trust the issuer's CA.
	IssuerURL string
	// Source, when set, carries the transactions of a document source
	// (ITI-41, ITI-42, and the XDS queries a source makes): a client that
	// presents the source's certificate for mutual TLS. Nil: HTTP, as on a
	// --dev target, where loopback callers are sources. HTTP itself then
	// stays a client without credentials.
	Source *http.Client
	// Mint, when set, mints dev tokens for any persona at any attestation
	// time (see KeyDirMinter): the expired-attestation and break-the-glass
	// scenarios need it, since the dev issuer's token endpoint only
	// issues fresh attestations with the personas' own purpose of use.
	Mint MintFunc
	// AddBlock, when set, stores a patient's block in the target's
	// database (blocks are managed with pjd blocks, not over the API): the
	// block-concealment scenarios need it.
	AddBlock func(ctx context.Context, b policy.Block) error
	// XUA, when set, mints XUA assertions the target's responding gateway
	// trusts (see MinterXUA): the ITI-38 person and block scenarios need
	// it.
	XUA XUAFunc
	// HomeCommunityID is the target's responding gateway's community; ""
	// finds it out (the location of an XDSUnknownCommunity error).
	HomeCommunityID string
}

// Outcome of a scenario.
type Outcome string

// Outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is the outcome of one scenario.
type Result struct {
	Name        string        `json:"name"`
	Transaction string        `json:"transaction"`
	Outcome     Outcome       `json:"outcome"`
	Detail      string        `json:"detail,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
}

// skipError is what Skipf returns.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// Skipf returns the error a scenario returns when the target cannot run it.
func Skipf(format string, args ...any) error {
	return &skipError{reason: fmt.Sprintf(format, args...)}
}

// IsSkip reports whether err is a scenario's Skipf, and its reason.
func IsSkip(err error) (string, bool) {
	var s *skipError
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}

// Env is a Target prepared for running scenarios: what was discovered
// about it, and state shared by scenarios (tokens that are costly to
// get). Build it with NewEnv.
type Env struct {
	target    Target
	base      http.RoundTripper
	source    http.RoundTripper // the source's transport (Target.Source), else base
	issuer    string            // the dev issuer's URL
	devIssuer bool
	uiMounted bool

	mu         sync.Mutex
	compliance *tokenEntry

	homeOnce sync.Once
	homeID   string
	homeErr  error
}

// NewEnv checks that the target answers and discovers what it offers (the
// dev issuer, the UI).
func NewEnv(ctx context.Context, tg Target) (*Env, error) {
	tg.BaseURL = strings.TrimRight(tg.BaseURL, "/")
	if tg.BaseURL == "" {
		return nil, errors.New("conformance: no target URL")
	}
	if tg.HTTP == nil {
		tg.HTTP = &http.Client{Timeout: time.Minute}
	}
	if tg.SourceOrgNr == "" {
		tg.SourceOrgNr = sampleOrgnr
	}
	base := tg.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	e := &Env{target: tg, base: base, source: base, issuer: strings.TrimRight(tg.IssuerURL, "/")}
	if e.issuer == "" {
		e.issuer = tg.BaseURL + "/dev/helseid"
	}
	if tg.Source != nil {
		e.source = tg.Source.Transport
		if e.source == nil {
			e.source = http.DefaultTransport
		}
	}
	hc := &http.Client{Transport: base, Timeout: 30 * time.Second}
	status := func(path string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tg.BaseURL+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	st, err := status("/healthz")
	if err != nil {
		return nil, fmt.Errorf("conformance: the target does not answer: %w", err)
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("conformance: %s/healthz answered %d", tg.BaseURL, st)
	}
	if req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.issuer+"/.well-known/openid-configuration", nil); err == nil {
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			e.devIssuer = resp.StatusCode == http.StatusOK
		}
	}
	if st, err := status("/ui/static/ui.css"); err == nil && st == http.StatusOK {
		e.uiMounted = true
	}
	return e, nil
}

// Target returns the target the Env was built for.
func (e *Env) Target() Target { return e.target }

// DevIssuer reports whether the target serves the dev token issuer.
func (e *Env) DevIssuer() bool { return e.devIssuer }

// RunOne runs one scenario with a fresh T. A panic in the scenario is a
// failure, not a crash of the run.
func (e *Env) RunOne(ctx context.Context, s Scenario) (res Result) {
	res = Result{Name: s.Name, Transaction: s.Transaction}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if v := recover(); v != nil {
			res.Outcome = Fail
			res.Detail = fmt.Sprintf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	t := e.newT(s)
	err := s.Run(ctx, t)
	switch reason, skip := IsSkip(err); {
	case err == nil:
		res.Outcome = Pass
	case skip:
		res.Outcome, res.Detail = Skip, reason
	default:
		res.Outcome, res.Detail = Fail, err.Error()
	}
	return res
}

// Run runs every scenario whose name (or transaction) filter matches (nil:
// all), in order, and returns their results.
func Run(ctx context.Context, tg Target, filter *regexp.Regexp) ([]Result, error) {
	e, err := NewEnv(ctx, tg)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range Select(filter) {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out = append(out, e.RunOne(ctx, s))
	}
	return out, nil
}

// Select returns the scenarios whose name or transaction matches filter
// (nil: all).
func Select(filter *regexp.Regexp) []Scenario {
	var out []Scenario
	for _, s := range Scenarios() {
		if filter == nil || filter.MatchString(s.Name) || filter.MatchString(s.Transaction) {
			out = append(out, s)
		}
	}
	return out
}

// scenario is the scenario of transaction tx named "<tx>/<name>".
func scenario(tx, name string, run func(context.Context, *T) error) Scenario {
	return Scenario{Name: tx + "/" + name, Transaction: tx, Run: run}
}

// scenariosOf returns the constructor of tx's scenarios (scenario).
func scenariosOf(tx string) func(name string, run func(context.Context, *T) error) Scenario {
	return func(name string, run func(context.Context, *T) error) Scenario { return scenario(tx, name, run) }
}

// row is a row of a table of scenarios (the refusals of a transaction):
// its name, and how it runs.
type row interface {
	label() string
	run(ctx context.Context, t *T) error
}

// rowScenarios makes a scenario of tx of each row.
func rowScenarios[R row](tx string, rows []R) []Scenario {
	out := make([]Scenario, 0, len(rows))
	for _, r := range rows {
		out = append(out, scenario(tx, r.label(), r.run))
	}
	return out
}

// Scenarios returns every scenario, in a stable order.
func Scenarios() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{
		registerScenarios(), queryScenarios(), provideScenarios(), retrieveScenarios(),
		consumerScenarios(), refusalScenarios(), accessScenarios(), xcaScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}

// Count returns how many scenarios cover transaction.
func Count(transaction string) int {
	n := 0
	for _, s := range Scenarios() {
		if s.Transaction == transaction {
			n++
		}
	}
	return n
}

// T is what a scenario runs with: the target, clients that tag every
// request with a fresh X-Request-Id, and helpers. A T belongs to one
// scenario run.
type T struct {
	env      *Env
	scenario Scenario
	start    time.Time
	prefix   string

	mu       sync.Mutex
	seq      int
	requests []string // X-Request-Ids sent, in order

	// HTTP is a plain client (no credential) whose requests carry
	// X-Request-Id.
	HTTP *http.Client
	// XDS is an XDS.b client of the target as a source (loopback in
	// --dev, or Target.Source's client certificate).
	XDS *xdsclient.Client
	// queryVia, when set, replaces ITI-18 for Query and QueryErr (the
	// ITI-38 scenarios: viaITI38).
	queryVia func(ctx context.Context, q *registry.Query) (*registry.QueryResult, registry.Response, error)
}

func (e *Env) newT(s Scenario) *T {
	var b [4]byte
	_, _ = rand.Read(b[:])
	t := &T{env: e, scenario: s, start: time.Now(), prefix: "cf-" + hex.EncodeToString(b[:])}
	t.HTTP = t.client(nil)
	t.XDS = xdsclient.New(e.target.BaseURL, t.clientOver(e.source, nil))
	return t
}

// Target returns the target.
func (t *T) Target() Target { return t.env.target }

// URL returns the target's base URL followed by path.
func (t *T) URL(path string) string { return t.env.target.BaseURL + path }

// nextRequestID returns a new X-Request-Id and remembers it.
func (t *T) nextRequestID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	id := fmt.Sprintf("%s-%d", t.prefix, t.seq)
	t.requests = append(t.requests, id)
	return id
}

// LastRequestID is the X-Request-Id of the latest request sent.
func (t *T) LastRequestID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.requests) == 0 {
		return ""
	}
	return t.requests[len(t.requests)-1]
}

// requestIDTransport sets a fresh X-Request-Id on every request.
type requestIDTransport struct {
	t    *T
	base http.RoundTripper
}

func (rt requestIDTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Request-Id", rt.t.nextRequestID())
	return rt.base.RoundTrip(r)
}

// client returns an HTTP client over the target's transport; wrap, if
// set, adds a credential.
func (t *T) client(wrap func(http.RoundTripper) http.RoundTripper) *http.Client {
	return t.clientOver(t.env.base, wrap)
}

// clientOver is client over transport rt.
func (t *T) clientOver(rt http.RoundTripper, wrap func(http.RoundTripper) http.RoundTripper) *http.Client {
	if wrap != nil {
		rt = wrap(rt)
	}
	timeout := t.env.target.HTTP.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	return &http.Client{Transport: requestIDTransport{t: t, base: rt}, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
