package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/beevik/etree"

	"pjd/trust"
	"pjd/trust/devissuer"
)

// devXUAPath is where a --dev server mints XUA assertions for dev tokens
// (pjd token --format saml).
const devXUAPath = "/dev/xua"

// wireXUA loads the key this gateway signs its outbound XUA assertions
// with: --xua-signing-key/--xua-signing-cert, or with --dev a generated
// one whose certificate is <data>/dev-issuer/xua-cert.pem (another dev
// server trusts it through --saml-cert). Without either, the gateway mints
// nothing (a.xua stays nil).
func (a *app) wireXUA(context.Context) error {
	c := a.cfg
	var signer *trust.SAMLSigner
	switch {
	case c.xuaSigningKey != "":
		s, err := trust.LoadSAMLSigner(c.xuaSigningCert, c.xuaSigningKey)
		if err != nil {
			return fmt.Errorf("--xua-signing-key: %w", err)
		}
		signer = s
	case c.dev:
		key, cert, err := devissuer.LoadOrCreateXUASigner(c.dataPath("dev-issuer"))
		if err != nil {
			return fmt.Errorf("dev XUA signing key: %w", err)
		}
		signer = &trust.SAMLSigner{Key: key, Cert: cert}
	default:
		return nil
	}
	a.xuaCert = signer.Cert
	// The cache spares a consumer's federated searches an RSA signature
	// per community each (trust.XUACache says what it never shares).
	a.xua = &trust.XUAMinter{Signer: signer, Issuer: c.xuaIssuer, HomeCommunityID: c.respondingHome(),
		Cache: trust.NewXUACache(trust.DefaultXUACacheSize)}
	return nil
}

// samlTrust is what the SOAP endpoints' XUA verifier trusts: --saml-cert
// with its issuers and audiences, and with --dev also this server's own
// XUA key, its issuer, and the audiences it mints for (its community,
// NHN's default), so that what it mints — pjd token --format saml, the
// conformance suite — is accepted by itself.
func (a *app) samlTrust() (certs []*x509.Certificate, issuers, audiences []string, err error) {
	c := a.cfg
	if len(c.samlCerts) > 0 {
		if certs, err = loadCerts(c.samlCerts); err != nil {
			return nil, nil, nil, fmt.Errorf("--saml-cert: %w", err)
		}
	}
	issuers, audiences = append(issuers, c.samlIssuers...), append(audiences, c.samlAudiences...)
	if c.dev && a.xua != nil {
		certs = append(certs, a.xuaCert)
		issuers = append(issuers, a.xua.Issuer)
		audiences = append(audiences, c.respondingHome(), trust.DefaultXUAAudience)
	}
	return certs, issuers, audiences, nil
}

// devXUAScopes are the grants a dev token needs to be turned into an
// assertion: any of the document-reading ones.
var devXUAScopes = []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeReadDocument, trust.ScopeCitizen}

// devXUAHandler is GET /dev/xua?audience=…: the assertion this server's
// initiating gateway would send for the caller's HelseID token (DPoP), as
// pjd token --format saml prints it. --dev only.
func (a *app) devXUAHandler(v *trust.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := v.VerifyRequest(r.Context(), r, trust.Requirement{Scopes: devXUAScopes, HTU: a.cfg.publicURL + devXUAPath})
		if err != nil {
			http.Error(w, "a valid dev token (DPoP) is required: "+trust.Description(err), http.StatusUnauthorized)
			return
		}
		audience := r.URL.Query().Get("audience")
		if audience == "" {
			audience = trust.DefaultXUAAudience
		}
		assertion, err := a.xua.Mint(p, audience)
		if err != nil {
			status := http.StatusBadRequest
			if !errors.Is(err, trust.ErrMintNotPerson) && !errors.Is(err, trust.ErrMintExpired) && !errors.Is(err, trust.ErrMintSystem) {
				status = http.StatusInternalServerError
				a.log.ErrorContext(r.Context(), "minting an XUA assertion", "err", err)
				err = errors.New("internal error")
			}
			http.Error(w, err.Error(), status)
			return
		}
		doc := etree.NewDocument()
		doc.SetRoot(assertion)
		b, err := doc.WriteToBytes()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlassertion+xml")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
}

// xuaMintTimeout bounds pjd token --format saml's request.
const xuaMintTimeout = 30 * time.Second
