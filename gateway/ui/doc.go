// Package ui serves pjd's own web pages: the document list that the
// Kjernejournal UI (or an EPJ) embeds in an iframe, the document viewer,
// the compliance screens (/ui/audit/), the citizen's page (/ui/citizen/:
// "my blocks" and "who has looked at my documents") and, with --dev, a demo host page that
// plays Kjernejournal (/ui/demo-host).
//
// Everything is server-rendered html/template in Norwegian bokmål, with
// CSS and one small script embedded (go:embed) and served from
// /ui/static/: no third-party assets, no inline script or style, no build
// step. Filters and sorting are GET forms and links, so every page works
// without JavaScript; ui.js only adds a loading state and arrow-key
// movement in the document table.
//
// It must never read patient data except through Backend, never show a
// Backend error's text (it may hold internal detail), never render a
// document's own markup (XML, HTML, SVG are shown as escaped text), never
// let a document run script, and never put a national identity number or
// token in a URL or a log line. Pages are read-only; the state changes
// (log out; a citizen revoking a block or blocking all sharing) are POSTs
// carrying the session's CSRF token (compared in constant time; a missing
// or wrong token is a 403 page), from same-origin pages only (fetch
// metadata, below), answered with a redirect back to the page (303) whose
// melding parameter picks one of a few fixed status texts.
//
// # Backend
//
// The UI calls nothing but Backend. GuardBackend (guardbackend.go)
// implements it over the access Guard — policy and audit in front of the
// registry and the repository, exactly as for MHD — and the audit log for
// the review screens; the handler tests use a Backend of their own. The
// contract, per method:
//
//   - AuthenticateLaunch(r): verify the HelseID access token and DPoP
//     proof of POST /ui/launch (htm POST, htu = the external URL of
//     /ui/launch) and, for a health worker, the attestation. It must not
//     read r.Body. Return *AuthError (status, OAuth error code,
//     client-safe description, WWW-Authenticate) or an error wrapping
//     ErrUnauthenticated / ErrForbidden / ErrUnavailable.
//   - ListDocuments: the documents of the patient that policy lets the
//     principal see, newest first; NORS documents only counted
//     (HiddenNORS); EmergencyAccess set to BTG/ETREAT when the principal's
//     purpose of use is one of them, and Document.EmergencyAccess on the
//     documents seen only because of it. Audited as a query (UI-LIST)
//     before it returns. The UI filters (category, type, source, period)
//     and sorts on what it gets, so ListFilter is only a hint.
//   - DocumentInfo: one document's metadata for the viewer's heading;
//     policy-checked, audited as a query (UI-LIST naming that document).
//     ErrNotFound for a document that does not exist, is another
//     patient's, or is hidden: the UI must not learn which.
//   - OpenDocument: the retrieval. Audited as UI-VIEW before the reader
//     is returned; the reader streams (constant memory). Every view in
//     the browser is exactly one OpenDocument call (the browser tests
//     count the UI-VIEW records).
//   - SearchAudit, FlaggedAccesses, VerifyAuditChain, ExportAudit: for
//     the compliance kind only (ErrForbidden otherwise). AuditFilter is
//     already validated (11-digit patient, digits for HPR/org); Cursor is
//     opaque to the UI (ErrInvalidInput when it is bad). FlaggedAccesses
//     returns rows with Flags set: FlagBTG, FlagETREAT,
//     FlagOutsideCareRelation, FlagManyPatients, FlagReview.
//     ExportAudit streams every matching row; the UI writes the CSV
//     (formula cells neutralised) and aborts the response if the Backend
//     fails half-way, so a truncated export never looks complete.
//     VerifyAuditChain runs on each load of /ui/audit/chain.
//   - CitizenAccessLog: the citizen's own log (p.Subject), UI-LIST and
//     UI-VIEW (and the MHD/XDS equivalents), without health workers'
//     national identity numbers.
//   - CitizenBlocks, RevokeCitizenBlock, BlockAllSharing: the citizen's
//     own blocks (p.Subject) in force, revoking one, making one of all
//     sharing. GuardBackend calls Guard.Consents, RevokeConsent and
//     AddConsent, the functions behind /fhir/R4/Consent, so the UI has no
//     path of its own to the blocks store and is audited (CONSENT) the
//     same way. RevokeCitizenBlock answers ErrNotFound for an unknown, an
//     already revoked and another person's block alike; the UI answers
//     all three with the same redirect and notice.
//
// Policy denials are *DeniedError{Rule, Reason}; the UI shows a Norwegian
// text for the well-known rule ids of trust/policy and a generic one
// otherwise. Other errors map: ErrNotFound 404, ErrInvalidInput 400,
// ErrUnavailable 503, anything else 500.
//
// Wiring it (cmd/pjd):
//
//	u, err := ui.New(ui.Config{
//		Backend:        &ui.GuardBackend{Guard: guard, …},   // policy + audit
//		FrameAncestors: []string{"https://kjernejournal.nhn.no"},
//		CookieSameSite: http.SameSiteNoneMode,               // host on another site, see below
//		Secure:         true,
//		Sessions:       ui.NewRedisSessionStore(redisClient, "pjd:ui:"),
//		BaseURL:        "https://pjd.nhn.no",
//		Logger:         log,
//	})
//	m := http.NewServeMux()
//	u.Routes(m)
//	server.Handle("/ui/", m)
//
// With --dev: Dev: true, Sessions may be nil (memory), and DemoLauncher,
// DemoPersonas and DemoPatients come from the development token issuer.
//
// # Launch
//
// The host calls, server to server,
//
//	POST /ui/launch
//	Authorization: DPoP <access token>
//	DPoP: <proof>
//	Content-Type: application/x-www-form-urlencoded   (or application/json: {"patient": "…"})
//
//	patient=<11-digit national identity number, or urn:oid:…4.1|<number>>
//
// and gets {"launch_url": "https://…/ui/launch/<token>", "expires_in": 60}
// (Cache-Control: no-store). A health worker must name the patient; a
// citizen's launch is for themselves; a compliance officer names none.
// The token is 256 random bits, stored only as its SHA-256 with the
// principal and the patient for LaunchTTL (60 s), and taken atomically
// (GETDEL in Redis) on first use, on whichever node: a second use, an
// unknown or an expired token all get the same 404 page. Using it creates
// a session and answers with a page that moves on to /ui/ (or /ui/audit/,
// /ui/citizen/) by itself (meta refresh) rather than a redirect: the next
// request then comes from pjd's own page, so a SameSite=Strict cookie is
// sent even after a cross-site launch, and session pages can refuse
// anything that is not same-origin (Sec-Fetch-Site, below).
//
// # Sessions and cookies
//
// A session is server-side (SessionStore: NewRedisSessionStore in
// production, so every gateway node sees it; NewMemorySessionStore for
// one process), keyed by the SHA-256 of a 256-bit random id. It ends
// after SessionIdleTTL without requests (15 min) or SessionTTL after the
// launch (60 min, the attestation's maximum age), and at log-out. The
// principal stays the one the host authenticated; every list and view
// still goes through policy and audit with it, so an attestation older
// than 60 minutes is refused by policy even inside a live session.
//
// The cookie is HttpOnly, Path=/ui/, host-only (no Domain), Secure and
// named __Secure-pjd-ui. The __Host- prefix would need Path=/, which
// would send the cookie to every pjd endpoint; scoping it to /ui/ was
// preferred. Browsers (Chromium, Firefox) treat http://127.0.0.1 and
// http://localhost as secure contexts: they store and send Secure and
// __Secure-/__Host- cookies there, which the browser tests rely on, so
// --dev keeps Secure on (Secure=false is accepted only with Dev).
//
// SameSite comes from configuration, Strict by default. That works when
// the host page is on the same site as pjd (the demo host; a Kjernejournal
// on a sibling subdomain of the same registrable domain). A host on
// another site embeds pjd as a third-party frame, where Strict and Lax
// cookies are never sent: it needs CookieSameSite=None, and the UI then
// also sets Partitioned (CHIPS), so the cookie lives in a jar keyed by
// the top-level site. Browsers that block third-party cookies still
// accept partitioned ones, and a page of any other top-level site cannot
// ride on the session, because its partition holds no cookie.
//
// Session pages also apply a fetch-metadata policy: a request whose
// Sec-Fetch-Site is cross-site or same-site is refused (403) before the
// Backend is called, so another site cannot make a logged-in browser open
// a patient's list and write audit records in the health worker's name.
//
// # Headers
//
// Every UI response has X-Content-Type-Options: nosniff,
// Referrer-Policy: no-referrer, Cache-Control: no-store (static files
// excepted: they carry no patient data and are cached by content hash),
// Cross-Origin-Resource-Policy: same-origin and a Permissions-Policy.
// Pages get
//
//	default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-src 'self';
//	form-action 'self'; base-uri 'none'; frame-ancestors 'self' <FrameAncestors…>
//
// Viewed content (/ui/content) is served on its own route with
// default-src 'none' and no script-src at all, Content-Disposition inline
// with a sanitised filename (ASCII plus RFC 5987 UTF-8), and the same
// frame-ancestors: CSP checks every ancestor, and content is framed by
// the viewer, which is framed by the host. Per type:
//
//   - application/pdf: sent as is, for the browser's own PDF viewer, with
//     no CSP sandbox. Verified in Chromium 156 (headless) with the
//     browser tests: the PDF viewer renders with default-src 'none',
//     with object-src 'none', and even with a CSP sandbox directive; an
//     iframe sandbox attribute, on the other hand, blocks it (the frame
//     stays empty), so the viewer's PDF frame has none. Firefox's pdf.js
//     refuses sandboxed documents, and older Chromium builds did too, so
//     the PDF response is not sandboxed: the viewer runs in the browser's
//     own origin, and default-src 'none' leaves nothing of pjd's origin
//     for a PDF to load or run.
//   - png, jpeg, gif, webp: the image as is, in an <img>, with sandbox.
//   - every text type (text/*, XML, JSON, HL7, and image/svg+xml, which
//     can carry script): an HTML page holding the document HTML-escaped
//     in a <pre>, streamed; its CSP is default-src 'none', style-src
//     allowing only its own <style> by hash, and sandbox; the viewer's
//     frame for it also has sandbox="". The page declares the document's
//     charset when it is an ASCII-compatible one (from the MIME type or
//     the XML declaration), else UTF-8.
//   - anything else (DICOM …), and "Last ned": application/octet-stream
//     as an attachment, sandboxed.
//
// # Tests
//
// The handler tests run the UI over a real HTTP server with an in-test
// Backend that stands in for the enforcement layer (it keeps its own
// hash-chained audit log of what the UI caused). The session stores share
// one suite (sessiontest) run on memory and on a real Redis (testenv).
// uitest drives the same UI in a real headless Chromium; uitest.Run
// takes a Target, so the lead can point the same flows at a running
// `pjd serve --dev` (see gateway/ui/README.md).
package ui
