package main

import (
	"context"
	"fmt"
	"net/http"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway"
	"pjd/gateway/ui"
	"pjd/trust/devissuer"
)

// wireUI mounts the embeddable UI (/ui/) over the Guard and the audit log.
func (a *app) wireUI(ctx context.Context, srv *gateway.Server) error {
	c := a.cfg
	var sessions ui.SessionStore
	if a.redis != nil {
		sessions = ui.NewRedisSessionStore(a.redis, "pjd:ui:")
	} else {
		sessions = ui.NewMemorySessionStore(nil)
	}
	sameSite := map[string]http.SameSite{"strict": http.SameSiteStrictMode, "lax": http.SameSiteLaxMode, "none": http.SameSiteNoneMode}[c.cookieSameSite]
	backend := &ui.GuardBackend{Guard: a.guard, Tokens: a.verifier, Policy: a.pol, Audit: a.auditStore,
		AuditLog: a.auditLog, AuditKey: a.auditKey, PublicURL: c.publicURL}
	cfg := ui.Config{
		Backend:        backend,
		RecordRefusal:  backend.RecordUIRefusal,
		FrameAncestors: c.frameAncestors,
		CookieSameSite: sameSite,
		Secure:         true,
		Sessions:       sessions,
		BaseURL:        c.publicURL,
		Dev:            c.dev,
		Logger:         a.log,
	}
	if c.dev && a.issuer != nil {
		iss := a.issuer
		cfg.DemoLauncher = func(ctx context.Context, req *http.Request, persona, patient string) error {
			tok, err := iss.IssueToken(ctx, persona, patient)
			if err != nil {
				return err
			}
			return tok.Authorize(req)
		}
		for _, p := range devissuer.Personas() {
			label := p.Description
			if p.Name != "" {
				label = p.Name + " — " + p.Description
			}
			cfg.DemoPersonas = append(cfg.DemoPersonas, ui.DemoPersona{ID: p.ID, Label: label, Kind: string(p.Kind)})
		}
		for _, p := range demo.Patients() {
			cfg.DemoPatients = append(cfg.DemoPatients, ui.DemoPatient{ID: p.ID,
				Label: fmt.Sprintf("%s %s (f. %s.%s.%s)", p.Given, p.Family, p.Birth[6:8], p.Birth[4:6], p.Birth[0:4])})
		}
	}
	u, err := ui.New(cfg)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	m := http.NewServeMux()
	u.Routes(m)
	srv.Handle("/ui/", m)
	return nil
}
