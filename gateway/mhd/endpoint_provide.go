package mhd

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/trust"
)

// provide is ITI-65 Provide Document Bundle: the transaction Bundle becomes
// a submission and its documents, which go the same way as ITI-41 — the
// repository stores them while hashing, then registers.
func (m *Endpoints) provide(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := m.Tokens.VerifyRequest(ctx, r, trust.Requirement{Scopes: append(slices.Clone(scopesCreate), scopesFeed...), HTU: m.BaseURL + r.URL.Path})
	if err == nil && !p.HasScope(trust.ScopeRegister) && r.URL.Path == "/fhir/R4" {
		// A system holding only the identity-feed scope: the
		// transaction-Bundle form of ITI-104 (patientfeed.go).
		m.feedBundle(w, r, p)
		return
	}
	if err == nil && !p.HasScope(trust.ScopeRegister) {
		err = &trust.Error{Kind: trust.KindInsufficientScope, Description: "the token does not hold " + trust.ScopeRegister}
	}
	if err != nil {
		m.Log.WarnContext(ctx, "ITI-65 refused: credential not accepted", "err", err)
		writeAuthError(w, err, scopesCreate[0])
		return
	}
	if r.URL.Path != "/fhir/R4" && r.URL.Path != "/fhir/R4/" {
		fhir.WriteError(w, fhir.NewError(http.StatusNotFound, fhir.IssueNotFound, "", "unknown resource path"))
		return
	}
	limit := m.MaxProvide
	if limit <= 0 {
		limit = 64 << 20
	}
	pr, err := ParseProvideBundle(http.MaxBytesReader(w, r.Body, limit+1), limit)
	if err != nil {
		var e *fhir.Error
		if errors.As(err, &e) {
			fhir.WriteError(w, e)
			return
		}
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, "", "the Bundle could not be read"))
		return
	}
	assigned := assignUUIDs(pr.Submission)
	ids := make([]string, len(pr.Documents))
	for i := range pr.Documents {
		if a, ok := assigned[pr.Documents[i].ID]; ok {
			pr.Documents[i].ID = a
		}
		ids[i] = pr.Documents[i].ID
	}
	up, err := m.Guard.NewUpload(ctx, p, pr.Submission, ids)
	if err != nil {
		m.guardError(w, r, err)
		return
	}
	for _, d := range pr.Documents {
		if err := up.Put(ctx, d.ID, d.Data); err != nil {
			up.Abort(context.WithoutCancel(ctx))
			m.guardError(w, r, err)
			return
		}
	}
	if _, err := up.Commit(ctx); err != nil {
		m.guardError(w, r, err)
		return
	}
	m.Metrics.Transaction("ITI-65", "Success")
	fhir.Write(w, http.StatusOK, ProvideResponse(pr, assigned, m.renderOptions()), false)
}

// assignUUIDs gives every object of sub whose id is not already a
// urn:uuid a new one, rewriting association ends, and returns the map from
// the ids as sent to the new ones. The registry keeps pre-assigned UUIDs,
// so the ITI-65 response can name what was created.
func assignUUIDs(sub *registry.Submission) map[string]string {
	m := map[string]string{}
	fresh := func(id string) string {
		if id == "" || strings.HasPrefix(id, "urn:uuid:") {
			return id
		}
		if a, ok := m[id]; ok {
			return a
		}
		a := "urn:uuid:" + uuid.NewString()
		m[id] = a
		return a
	}
	if s := sub.SubmissionSet; s != nil {
		s.ID = fresh(s.ID)
	}
	for _, d := range sub.Documents {
		d.ID = fresh(d.ID)
	}
	for _, f := range sub.Folders {
		f.ID = fresh(f.ID)
	}
	for _, a := range sub.Associations {
		a.ID = fresh(a.ID)
	}
	for _, a := range sub.Associations {
		if v, ok := m[a.Source]; ok {
			a.Source = v
		}
		if v, ok := m[a.Target]; ok {
			a.Target = v
		}
	}
	return m
}
