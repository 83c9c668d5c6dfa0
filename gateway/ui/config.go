package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"pjd/trust"
	"strconv"
	"strings"
	"time"
)

// Config configures the UI. Backend is required; so is Sessions unless
// Dev is set.
type Config struct {
	Backend Backend

	// FrameAncestors are the origins (CSP source expressions such as
	// "https://kjernejournal.nhn.no" or "https://*.nhn.no") allowed to
	// embed the UI, in addition to 'self', which is always allowed (the
	// viewer frames its own content, and the demo host frames the list).
	FrameAncestors []string

	// CookieSameSite is the session cookie's SameSite attribute
	// (default Strict). A host on another site needs SameSiteNoneMode,
	// which also marks the cookie Partitioned (CHIPS); see doc.go.
	CookieSameSite http.SameSite
	// Secure marks the session cookie Secure and gives it the __Secure-
	// prefix. Browsers accept Secure cookies from http://127.0.0.1 and
	// http://localhost, so it should be true everywhere; New refuses
	// false unless Dev is set.
	Secure bool

	// LaunchTTL is how long a launch URL stays valid (default 60 s, at
	// most 5 min).
	LaunchTTL time.Duration
	// SessionTTL is a session's absolute lifetime (default 60 min: the
	// attestation's maximum age).
	SessionTTL time.Duration
	// SessionIdleTTL ends a session that saw no request for this long
	// (default 15 min, at most SessionTTL).
	SessionIdleTTL time.Duration
	// Sessions stores launch grants and sessions. Nil means an in-memory
	// store, which is allowed only with Dev: gateway nodes must share
	// sessions, so production uses NewRedisSessionStore.
	Sessions SessionStore

	// BaseURL is the external URL of pjd (scheme://host[:port], no path),
	// used to make launch_url absolute. Empty: launch_url is a path
	// (/ui/launch/…) the host resolves against the URL it called.
	BaseURL string

	// Dev enables the demo host at /ui/demo-host (pjd serve --dev).
	Dev bool
	// DemoLauncher gives the demo host the credential of a demo persona
	// for its server-to-server launch call. Required with Dev.
	DemoLauncher DemoLauncher
	// DemoPersonas and DemoPatients are offered by the demo host.
	DemoPersonas []DemoPersona
	DemoPatients []DemoPatient

	// RecordRefusal, when set, records a request to a session page that
	// was refused before the Backend was asked (no or expired session,
	// cross-site, wrong role): tx is the transaction the page would have
	// been (UI-LIST, UI-VIEW, AUDIT-SEARCH) and p the session's principal
	// when there was one. An error makes the answer 503.
	RecordRefusal func(r *http.Request, p *trust.Principal, tx, reason string) error

	Logger *slog.Logger
	Now    func() time.Time
}

// DemoLauncher adds to req — a POST to the external URL of /ui/launch —
// the credential the demo persona would present: a HelseID access token
// (with the attestation for patient, for a health worker) and its DPoP
// proof for req.Method and req.URL. The lead implements it with the
// development token issuer.
type DemoLauncher func(ctx context.Context, req *http.Request, persona, patient string) error

// DemoPersona is someone the demo host can act as.
type DemoPersona struct {
	ID    string // passed to DemoLauncher
	Label string // e.g. "Ingrid Berg, lege, Legevakten i Bergen"
	// Kind is "health-worker", "compliance" or "citizen" (trust.PrincipalKind).
	Kind string
}

// DemoPatient is a synthetic patient the demo host can open.
type DemoPatient struct {
	ID    string // national identity number (synthetic)
	Label string // e.g. "Kari Testesen (f. 15.03.1982)"
}

// RetryAfter is the Retry-After (seconds) of every 503 the UI answers —
// its pages and the launch API — when something it depends on is down.
const RetryAfter = 5

// setRetryAfter adds Retry-After to a 503 answer.
func setRetryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	}
}

// Defaults and limits.
const (
	DefaultLaunchTTL      = 60 * time.Second
	MaxLaunchTTL          = 5 * time.Minute
	DefaultSessionTTL     = 60 * time.Minute
	DefaultSessionIdleTTL = 15 * time.Minute
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("ui: invalid configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// withDefaults validates c and fills in defaults; every problem is
// reported at once.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Backend == nil {
		errs = append(errs, configErr("Backend is required"))
	}
	if !c.Secure && !c.Dev {
		errs = append(errs, configErr("Secure=false is allowed only with Dev (browsers accept Secure cookies on http://127.0.0.1)"))
	}
	switch c.CookieSameSite {
	case 0, http.SameSiteDefaultMode:
		c.CookieSameSite = http.SameSiteStrictMode
	case http.SameSiteStrictMode, http.SameSiteLaxMode:
	case http.SameSiteNoneMode:
		if !c.Secure {
			errs = append(errs, configErr("CookieSameSite=None needs Secure"))
		}
	default:
		errs = append(errs, configErr("unknown CookieSameSite %d", c.CookieSameSite))
	}
	if c.LaunchTTL == 0 {
		c.LaunchTTL = DefaultLaunchTTL
	}
	if c.LaunchTTL < 0 || c.LaunchTTL > MaxLaunchTTL {
		errs = append(errs, configErr("LaunchTTL %s is outside (0, %s]", c.LaunchTTL, MaxLaunchTTL))
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.SessionIdleTTL == 0 {
		c.SessionIdleTTL = min(DefaultSessionIdleTTL, c.SessionTTL)
	}
	if c.SessionTTL < 0 || c.SessionIdleTTL < 0 || c.SessionIdleTTL > c.SessionTTL {
		errs = append(errs, configErr("need 0 < SessionIdleTTL (%s) <= SessionTTL (%s)", c.SessionIdleTTL, c.SessionTTL))
	}
	for _, a := range c.FrameAncestors {
		if err := checkFrameAncestor(a); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, configErr("BaseURL %q must be scheme://host[:port]", c.BaseURL))
		}
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	}
	if c.Sessions == nil {
		if !c.Dev {
			errs = append(errs, configErr("Sessions is required (gateway nodes share sessions: use NewRedisSessionStore)"))
		}
	}
	if c.Dev && c.DemoLauncher == nil {
		errs = append(errs, configErr("Dev needs a DemoLauncher for the demo host"))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sessions == nil {
		c.Sessions = NewMemorySessionStore(c.Now)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}

// checkFrameAncestor accepts 'self' and scheme://host[:port] sources
// (host may start with "*."), nothing that could end the directive or
// widen it to any origin.
func checkFrameAncestor(a string) error {
	if a == "'self'" {
		return nil
	}
	bad := func(why string) error { return configErr("FrameAncestors entry %q: %s", a, why) }
	if strings.ContainsAny(a, " \t\r\n;,'\"") {
		return bad("must be one source expression")
	}
	scheme, rest, ok := strings.Cut(a, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return bad("must be https://host[:port] or 'self'")
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@") {
		return bad("must be an origin without path")
	}
	host := rest
	if h, port, ok := strings.Cut(rest, ":"); ok {
		host = h
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return bad("bad port")
		}
	}
	host = strings.TrimPrefix(host, "*.")
	if host == "" || strings.Contains(host, "*") {
		return bad("wildcards only as a leading *.")
	}
	return nil
}
