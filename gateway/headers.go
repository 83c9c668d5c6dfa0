package gateway

import "net/http"

// HSTS is the Strict-Transport-Security value pjd sends when it serves
// HTTPS: a year, subdomains included. Browsers then never try the
// service over plain HTTP (RFC 6797); API clients ignore it.
const HSTS = "max-age=31536000; includeSubDomains"

// StrictTransportSecurity sends HSTS on every response of h. cmd/pjd
// wraps the whole server in it when it serves TLS (--tls-cert): only a
// response that came over HTTPS may carry the header (RFC 6797 §7.2).
func StrictTransportSecurity(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", HSTS)
		h.ServeHTTP(w, r)
	})
}

// DocumentCSP is the Content-Security-Policy of a document served as it
// was registered (MHD ITI-68): a sandbox with nothing allowed, so that a
// source-declared text/html, SVG or XML document opened from its URL can
// neither run script nor load anything in pjd's origin, and no page may
// frame it.
const DocumentCSP = "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
