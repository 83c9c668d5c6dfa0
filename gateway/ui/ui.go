package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"pjd/trust"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// UI serves the embeddable document list, the viewer, the compliance
// screens, the citizen page and (with Dev) the demo host.
type UI struct {
	cfg     Config
	backend Backend
	store   SessionStore
	log     *slog.Logger
	now     func() time.Time

	cookieName string
	ancestors  string // the frame-ancestors source list
	pageCSP    string
	pages      map[string]*template.Template
	static     map[string]staticFile
	textCSS    string // the <style> of the text viewer, allowed by hash
	textCSP    string
}

type staticFile struct {
	body        []byte
	contentType string
	version     string
}

// New checks cfg and returns the UI.
func New(cfg Config) (*UI, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	u := &UI{
		cfg:     cfg,
		backend: cfg.Backend,
		store:   cfg.Sessions,
		log:     cfg.Logger,
		now:     cfg.Now,
	}
	u.cookieName = "pjd-ui"
	if cfg.Secure {
		// __Host- would need Path=/; the cookie is scoped to /ui/ instead.
		u.cookieName = "__Secure-pjd-ui"
	}
	anc := []string{"'self'"}
	for _, a := range cfg.FrameAncestors {
		if a != "'self'" {
			anc = append(anc, a)
		}
	}
	u.ancestors = strings.Join(anc, " ")
	u.pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + u.ancestors
	u.textCSS = textViewerCSS
	sum := sha256.Sum256([]byte(u.textCSS))
	u.textCSP = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; form-action 'none'; sandbox; frame-ancestors " + u.ancestors
	if err := u.loadStatic(); err != nil {
		return nil, err
	}
	if err := u.loadTemplates(); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *UI) loadStatic() error {
	u.static = map[string]staticFile{}
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := "application/octet-stream"
		switch path.Ext(p) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		case ".png":
			ct = "image/png"
		}
		u.static[path.Base(p)] = staticFile{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
		return nil
	})
}

// Routes mounts every UI endpoint on mux.
func (u *UI) Routes(mux *http.ServeMux) {
	mux.Handle("POST /ui/launch", u.api(u.launchPost))
	mux.Handle("GET /ui/launch/{token}", u.open(u.launchGet))
	mux.Handle("GET /ui/{$}", u.session(u.home))
	mux.Handle("GET /ui/document", u.session(u.only(trust.HealthWorker, u.viewer)))
	mux.Handle("GET /ui/content", u.contentRoute(u.only(trust.HealthWorker, u.content)))
	mux.Handle("GET /ui/audit/{$}", u.session(u.only(trust.Compliance, u.auditSearch)))
	mux.Handle("GET /ui/audit/flagged", u.session(u.only(trust.Compliance, u.auditFlagged)))
	mux.Handle("GET /ui/audit/chain", u.session(u.only(trust.Compliance, u.auditChain)))
	mux.Handle("GET /ui/audit/export.csv", u.session(u.only(trust.Compliance, u.auditExport)))
	mux.Handle("GET /ui/citizen/{$}", u.session(u.only(trust.Citizen, u.citizen)))
	mux.Handle("POST /ui/citizen/sperringer", u.session(u.only(trust.Citizen, u.citizenBlockAll)))
	mux.Handle("POST /ui/citizen/sperringer/fjern", u.session(u.only(trust.Citizen, u.citizenRevoke)))
	mux.Handle("GET /ui/audit", u.open(redirectTo("/ui/audit/")))
	mux.Handle("GET /ui/citizen", u.open(redirectTo("/ui/citizen/")))
	mux.Handle("POST /ui/logout", u.session(u.logout))
	mux.Handle("GET /ui/static/{file}", http.HandlerFunc(u.staticFile))
	if u.cfg.Dev {
		mux.Handle("GET /ui/demo-host", u.open(u.demoHost))
		mux.Handle("POST /ui/demo-host/launch", u.api(u.demoLaunch))
	}
	mux.Handle("/ui/", u.open(func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, nil, http.StatusNotFound, "Siden finnes ikke", "Adressen peker ikke på en side i Pasientens journaldokumenter.")
	}))
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// securityHeaders are set on every UI response; csp differs per route.
func (u *UI) securityHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// open serves a page that needs no session.
func (u *UI) open(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.securityHeaders(w, u.pageCSP)
		h(w, r)
	})
}

// api serves a machine endpoint (JSON).
func (u *UI) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.securityHeaders(w, "default-src 'none'; frame-ancestors 'none'")
		h(w, r)
	})
}

// reqSession is the session of the current request.
type reqSession struct {
	key string
	*Session
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, s *reqSession)

// session serves a page that needs a session.
func (u *UI) session(h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.securityHeaders(w, u.pageCSP)
		s, ok := u.loadSession(w, r)
		if !ok {
			return
		}
		h(w, r, s)
	})
}

// contentRoute serves viewed document content: its CSP is set by the
// handler once it knows the content type; until then nothing may run.
func (u *UI) contentRoute(h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.securityHeaders(w, "default-src 'none'; sandbox; frame-ancestors "+u.ancestors)
		s, ok := u.loadSession(w, r)
		if !ok {
			return
		}
		h(w, r, s)
	})
}

// refused records a refused request to a session page (Config.RecordRefusal);
// false means the record could not be written and the request has been
// answered with 503.
func (u *UI) refused(w http.ResponseWriter, r *http.Request, p *trust.Principal, reason string) bool {
	if u.cfg.RecordRefusal == nil {
		return true
	}
	tx := "UI-LIST"
	switch {
	case r.URL.Path == "/ui/document" || r.URL.Path == "/ui/content":
		tx = "UI-VIEW"
	case strings.HasPrefix(r.URL.Path, "/ui/audit/") || strings.HasPrefix(r.URL.Path, "/ui/citizen/"):
		tx = "AUDIT-SEARCH"
	case r.URL.Path == "/ui/logout":
		return true
	}
	if err := u.cfg.RecordRefusal(r, p, tx, reason); err != nil {
		u.log.ErrorContext(r.Context(), "ui: recording a refusal failed", "err", err)
		u.renderError(w, r, nil, http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig", "Prøv igjen om litt.")
		return false
	}
	return true
}

// only lets principals of kind through; others get 403.
func (u *UI) only(kind trust.PrincipalKind, h sessionHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s *reqSession) {
		if s.Principal == nil || s.Principal.Kind != kind {
			if !u.refused(w, r, s.Principal, "this page is not for the session's role") {
				return
			}
			u.renderError(w, r, s, http.StatusForbidden, "Ingen tilgang",
				"Du har ikke tilgang til denne siden med den rollen du er logget inn med.")
			return
		}
		h(w, r, s)
	}
}

// crossSiteRefused applies the fetch-metadata resource isolation policy:
// session pages are reached from pjd's own pages (same-origin), typed in
// (none), or by clients that send no metadata; never from another site,
// so another site cannot make a logged-in browser open a patient's list
// (and write audit records in the health worker's name).
func crossSiteRefused(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// loadSession finds, checks and refreshes the request's session. When it
// returns false it has answered the request.
func (u *UI) loadSession(w http.ResponseWriter, r *http.Request) (*reqSession, bool) {
	if crossSiteRefused(r) {
		if !u.refused(w, r, nil, "cross-site request") {
			return nil, false
		}
		u.renderError(w, r, nil, http.StatusForbidden, "Ingen tilgang",
			"Siden kan bare åpnes fra Pasientens journaldokumenter selv.")
		return nil, false
	}
	c, err := r.Cookie(u.cookieName)
	if err != nil || !validSecret(c.Value) {
		if !u.refused(w, r, nil, "no session") {
			return nil, false
		}
		u.renderError(w, r, nil, http.StatusUnauthorized, "Økten er avsluttet",
			"Du er ikke logget inn, eller økten er utløpt. Åpne dokumentlisten på nytt fra journalsystemet.")
		return nil, false
	}
	key := storeKey(c.Value)
	s, err := u.store.GetSession(r.Context(), key)
	if errors.Is(err, ErrSessionNotFound) {
		if !u.refused(w, r, nil, "unknown or ended session") {
			return nil, false
		}
		u.clearCookie(w)
		u.renderError(w, r, nil, http.StatusUnauthorized, "Økten er avsluttet",
			"Økten er utløpt eller avsluttet. Åpne dokumentlisten på nytt fra journalsystemet.")
		return nil, false
	}
	if err != nil {
		u.log.ErrorContext(r.Context(), "ui: loading session", "err", err)
		u.renderError(w, r, nil, http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig",
			"Prøv igjen om litt.")
		return nil, false
	}
	now := u.now()
	if !now.Before(s.Expires) || now.Sub(s.LastSeen) >= u.cfg.SessionIdleTTL || s.Principal == nil {
		_ = u.store.DeleteSession(r.Context(), key)
		u.clearCookie(w)
		if !u.refused(w, r, s.Principal, "expired session") {
			return nil, false
		}
		u.renderError(w, r, nil, http.StatusUnauthorized, "Økten er utløpt",
			"Økten er utløpt. Åpne dokumentlisten på nytt fra journalsystemet.")
		return nil, false
	}
	// Refresh the idle timer, at most every 1/10 of it.
	if now.Sub(s.LastSeen) >= u.cfg.SessionIdleTTL/10 {
		s.LastSeen = now
		if err := u.store.UpdateSession(r.Context(), key, s, u.sessionTTL(s, now)); err != nil && !errors.Is(err, ErrSessionNotFound) {
			u.log.WarnContext(r.Context(), "ui: refreshing session", "err", err)
		}
	}
	return &reqSession{key: key, Session: s}, true
}

// sessionTTL is how long the store keeps s from now: until the idle or
// the absolute timeout, whichever comes first.
func (u *UI) sessionTTL(s *Session, now time.Time) time.Duration {
	return max(min(u.cfg.SessionIdleTTL, s.Expires.Sub(now)), time.Millisecond)
}

func (u *UI) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:        u.cookieName,
		Value:       value,
		Path:        "/ui/",
		MaxAge:      maxAge,
		Secure:      u.cfg.Secure,
		HttpOnly:    true,
		SameSite:    u.cfg.CookieSameSite,
		Partitioned: u.cfg.CookieSameSite == http.SameSiteNoneMode,
	})
}

func (u *UI) clearCookie(w http.ResponseWriter) { u.setCookie(w, "", -1) }

// home sends each kind of principal to its start page.
func (u *UI) home(w http.ResponseWriter, r *http.Request, s *reqSession) {
	switch s.Principal.Kind {
	case trust.HealthWorker:
		u.list(w, r, s)
	case trust.Compliance:
		http.Redirect(w, r, "/ui/audit/", http.StatusSeeOther)
	case trust.Citizen:
		http.Redirect(w, r, "/ui/citizen/", http.StatusSeeOther)
	default:
		u.renderError(w, r, s, http.StatusForbidden, "Ingen tilgang", "Denne rollen har ingen sider her.")
	}
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, s *reqSession) {
	if !validCSRF(r, s) {
		u.refuseForm(w, r, s)
		return
	}
	if err := u.store.DeleteSession(r.Context(), s.key); err != nil {
		u.log.ErrorContext(r.Context(), "ui: ending session", "err", err)
		u.renderError(w, r, s, http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig", "Økten kunne ikke avsluttes. Prøv igjen om litt.")
		return
	}
	u.clearCookie(w)
	u.render(w, r, nil, http.StatusOK, "loggedout.html", "Du er logget ut", nil)
}

func (u *UI) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := u.static[r.PathValue("file")]
	u.securityHeaders(w, "default-src 'none'; frame-ancestors 'none'")
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	if r.URL.Query().Get("v") == f.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	etag := `"` + f.version + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}

// staticURL is the versioned URL of a static file.
func (u *UI) staticURL(name string) string {
	if f, ok := u.static[name]; ok {
		return "/ui/static/" + name + "?v=" + f.version
	}
	return "/ui/static/" + name
}

// backendError answers a failed Backend call with the right page.
func (u *UI) backendError(w http.ResponseWriter, r *http.Request, s *reqSession, what string, err error) {
	status, title, msg := describeError(err)
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The user went away (closed the tab, navigated on): nothing
		// failed, and nobody is left to answer.
		u.log.InfoContext(r.Context(), "ui: "+what+" cancelled by the client", "err", err)
		return
	case status >= 500:
		u.log.ErrorContext(r.Context(), "ui: "+what, "err", err)
	default:
		u.log.InfoContext(r.Context(), "ui: "+what+" refused", "err", err)
	}
	u.renderError(w, r, s, status, title, msg)
}

// describeError maps a Backend error to a status and Norwegian text for
// the user; the error's own text is never shown.
func describeError(err error) (int, string, string) {
	var d *DeniedError
	switch {
	case errors.As(err, &d):
		if msg, ok := deniedMessages[d.Rule]; ok {
			return http.StatusForbidden, "Ingen tilgang", msg
		}
		return http.StatusForbidden, "Ingen tilgang", "Du har ikke tilgang til dette. Tilgangen vurderes ut fra rollen din og behandlingsrelasjonen du har oppgitt i journalsystemet."
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "Ingen tilgang", "Du har ikke tilgang til dette."
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, "Økten er avsluttet", "Åpne dokumentlisten på nytt fra journalsystemet."
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "Fant ikke dokumentet", "Dokumentet finnes ikke, eller det hører ikke til denne pasienten."
	case errors.Is(err, ErrInvalidInput):
		return http.StatusBadRequest, "Ugyldig forespørsel", "Forespørselen kunne ikke behandles. Sjekk det du har fylt inn."
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig", "Prøv igjen om litt."
	default:
		return http.StatusInternalServerError, "Noe gikk galt", "En feil hindret oss i å vise siden. Prøv igjen, og kontakt brukerstøtte hvis feilen gjentar seg."
	}
}

// deniedMessages explain well-known policy rules (trust/policy rule ids).
var deniedMessages = map[string]string{
	"attestation-expired":          "Bekreftelsen av tjenstlig behov er for gammel. Åpne dokumentlisten på nytt fra journalsystemet.",
	"attestation-missing":          "Journalsystemet sendte ingen bekreftelse av tjenstlig behov.",
	"authorization-not-allowed":    "Autorisasjonen din gir ikke tilgang til pasientens journaldokumenter.",
	"purpose-not-allowed":          "Formålet som er oppgitt, gir ikke tilgang til dokumentene.",
	"attestation-patient-mismatch": "Pasienten er ikke den samme som i bekreftelsen av tjenstlig behov.",
	"patient-block":                "Pasienten har sperret tilgangen til disse dokumentene.",
	"security-level":               "Innloggingen din har ikke høyt nok sikkerhetsnivå.",
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nav     string
	Kind    string // principal kind, "" without session
	User    string
	CSRF    string
	Status  int
	Refresh string // moves on to this path at once (after a launch)
	Data    any
}

// render executes page into a buffer (a template error never leaves half
// a page) and writes it.
func (u *UI) render(w http.ResponseWriter, r *http.Request, s *reqSession, status int, page, title string, data any) {
	t, ok := u.pages[page]
	if !ok {
		panic("ui: no template " + page)
	}
	pd := pageData{Title: title, Status: status, Data: data}
	if s != nil && s.Principal != nil {
		pd.Kind = string(s.Principal.Kind)
		pd.User = userLabel(s.Principal)
		pd.CSRF = s.CSRF
	}
	if l, ok := data.(launchedData); ok {
		pd.Refresh = l.Next
	}
	if nav, ok := data.(interface{ NavItem() string }); ok {
		pd.Nav = nav.NavItem()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		u.log.ErrorContext(r.Context(), "ui: rendering page", "page", page, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintln(w, "Noe gikk galt.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	setRetryAfter(w, status)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

type errorData struct {
	Message  string
	Relaunch bool
}

func (u *UI) renderError(w http.ResponseWriter, r *http.Request, s *reqSession, status int, title, msg string) {
	// Error pages are pjd's own, also on the content route.
	w.Header().Set("Content-Security-Policy", u.pageCSP)
	w.Header().Del("Content-Disposition")
	u.render(w, r, s, status, "error.html", title, errorData{Message: msg, Relaunch: status == http.StatusUnauthorized})
}
