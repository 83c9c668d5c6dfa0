package auditapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"pjd/gateway"
	"pjd/gateway/audit"
	"pjd/gateway/fhir"
)

// RecordLogger commits one audit record (Logger.Log).
type RecordLogger interface {
	Log(ctx context.Context, r audit.Record) error
}

// HandlerConfig wires the audit review endpoint.
type HandlerConfig struct {
	// Searcher reads the log (required).
	Searcher audit.Searcher
	// Authenticate returns the caller, already authenticated by the
	// gateway's trust layer (required). An error that has an
	// HTTPStatus() int method chooses the status (default 401); one with
	// WWWAuthenticate() string sets that header; one with AuditReason()
	// string gives the refusal record's reason (client-safe text, e.g.
	// why the token was not accepted). Its text is logged, never sent.
	Authenticate func(r *http.Request) (audit.Viewer, error)
	// Log records every review search itself as an AUDIT-SEARCH record
	// before any result leaves (required): reading the audit log is an
	// access to personal data too.
	Log RecordLogger
	// BaseURL is the external FHIR base ("https://host/fhir/R4") for
	// fullUrl and paging links. Default: derived from the request.
	BaseURL string
	// Site names this gateway in rendered records (source.site).
	Site string
	// RequestID returns the request id for the AUDIT-SEARCH record.
	// Default: the X-Request-Id header.
	RequestID func(r *http.Request) string
	// ErrorLog receives server-side error detail. Default: discard.
	ErrorLog *slog.Logger
}

// Audit rule ids for the review API's own records.
const (
	RuleReviewCompliance = "audit-review-compliance"
	RuleReviewOwnLog     = "audit-review-own-log"
	RuleUnauthenticated  = "unauthenticated"
	RuleBadRequest       = "bad-request"
	RuleForbidden        = "forbidden"
)

// NewHandler returns the handler for GET /fhir/R4/AuditEvent: compliance
// staff search every record; a citizen sees accesses to their own
// documents without health workers' national identity numbers. Every
// search, refused or not, is itself audited before any data leaves; if
// that record cannot be written the search fails with 503. Errors are
// FHIR OperationOutcomes.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Searcher == nil || cfg.Authenticate == nil || cfg.Log == nil {
		return nil, errors.New("auditapi: NewHandler needs Searcher, Authenticate and Log")
	}
	if cfg.RequestID == nil {
		cfg.RequestID = func(r *http.Request) string { return r.Header.Get("X-Request-Id") }
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = slog.New(slog.DiscardHandler)
	}
	return &handler{cfg: cfg}, nil
}

type handler struct{ cfg HandlerConfig }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fhir.WriteError(w, fhir.NewError(http.StatusMethodNotAllowed, fhir.IssueNotSupported, "", "only GET is supported"))
		return
	}
	rec := h.baseRecord(r)

	viewer, err := h.cfg.Authenticate(r)
	if err != nil {
		status := http.StatusUnauthorized
		var hs interface{ HTTPStatus() int }
		if errors.As(err, &hs) && hs.HTTPStatus() >= 400 {
			status = hs.HTTPStatus()
		}
		var wa interface{ WWWAuthenticate() string }
		if errors.As(err, &wa) && wa.WWWAuthenticate() != "" {
			w.Header().Set("WWW-Authenticate", wa.WWWAuthenticate())
		}
		h.cfg.ErrorLog.InfoContext(ctx, "audit review: authentication refused", "err", err)
		rec.Outcome, rec.Rule, rec.Reason = audit.OutcomeDeny, RuleUnauthenticated, "no valid credential"
		var ar interface{ AuditReason() string }
		if errors.As(err, &ar) && ar.AuditReason() != "" {
			rec.Reason = "no valid credential: " + ar.AuditReason()
		}
		if status >= 500 {
			rec.Outcome = audit.OutcomeError
		}
		h.refuse(w, r, rec, status, fhir.RefusalIssue(status), http.StatusText(status))
		return
	}
	fillActor(&rec, viewer)
	if viewer.Kind != audit.ViewerCompliance && viewer.Kind != audit.ViewerCitizen {
		rec.Outcome, rec.Rule, rec.Reason = audit.OutcomeDeny, RuleForbidden, "caller is neither compliance staff nor a citizen"
		h.refuse(w, r, rec, http.StatusForbidden, fhir.IssueForbidden, "this caller may not search the audit log")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		rec.Outcome, rec.Rule, rec.Reason = audit.OutcomeError, RuleBadRequest, "malformed query string"
		h.refuse(w, r, rec, http.StatusBadRequest, fhir.IssueInvalid, "the query string is malformed")
		return
	}
	f, err := audit.ParseSearch(q, viewer)
	if err != nil {
		var pe *audit.ParamError
		msg := "bad search parameter"
		if errors.As(err, &pe) {
			msg = pe.Error()
		}
		if errors.Is(err, audit.ErrForbidden) {
			rec.Outcome, rec.Rule, rec.Reason = audit.OutcomeDeny, RuleForbidden, msg
			h.refuse(w, r, rec, http.StatusForbidden, fhir.IssueForbidden, msg)
			return
		}
		rec.Outcome, rec.Rule, rec.Reason = audit.OutcomeError, RuleBadRequest, msg
		h.refuse(w, r, rec, http.StatusBadRequest, fhir.IssueInvalid, msg)
		return
	}
	rec.Outcome = audit.OutcomePermit
	if viewer.Kind == audit.ViewerCitizen {
		rec.Rule, rec.Reason = RuleReviewOwnLog, "citizen reads their own access log"
		rec.PatientID = viewer.PID
	} else {
		rec.Rule, rec.Reason = RuleReviewCompliance, "compliance follow-up control"
		rec.PatientID = f.PatientID
	}
	// The record of this search is committed before any result is read.
	if err := h.cfg.Log.Log(ctx, rec); err != nil {
		h.cfg.ErrorLog.ErrorContext(ctx, "audit review: audit write failed; search refused", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, "the audit log is unavailable; try again later")
		return
	}
	page, err := h.cfg.Searcher.Search(ctx, f)
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			h.cfg.ErrorLog.InfoContext(ctx, "audit review: search cancelled by the client", "err", err)
		case errors.Is(err, audit.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			h.cfg.ErrorLog.WarnContext(ctx, "audit review: search failed: the audit log is unavailable", "err", err)
			fhir.WriteTransient(w, gateway.RetryAfter, "the audit log could not be searched; try again later")
		default:
			h.cfg.ErrorLog.ErrorContext(ctx, "audit review: search failed", "err", err)
			fhir.WriteError(w, fhir.NewError(http.StatusInternalServerError, fhir.IssueException, "", "the audit log could not be searched"))
		}
		return
	}
	view := audit.View{Audience: viewer.Audience(), Site: h.cfg.Site}
	fhir.Write(w, http.StatusOK, audit.Bundle(h.base(r), q, page, view), false)
}

// refuse records a refused search, then answers with an OperationOutcome.
// If even the refusal cannot be recorded the answer is 503.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, rec audit.Record, status int, code, msg string) {
	if err := h.cfg.Log.Log(r.Context(), rec); err != nil {
		h.cfg.ErrorLog.ErrorContext(r.Context(), "audit review: audit write failed", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, "the audit log is unavailable; try again later")
		return
	}
	fhir.WriteError(w, fhir.NewError(status, code, "", "%s", msg))
}

func (h *handler) baseRecord(r *http.Request) audit.Record {
	return audit.Record{
		Transaction: audit.TxAuditSearch,
		Action:      audit.ActionQuery,
		Actor:       audit.Actor{Kind: audit.ActorUnknown},
		Query:       r.URL.RawQuery,
		RequestID:   h.cfg.RequestID(r),
		EventID:     r.Header.Get("nhn-event-id"),
		SourceIP:    gateway.ClientIP(r),
		UserAgent:   r.UserAgent(),
	}
}

func fillActor(rec *audit.Record, v audit.Viewer) {
	kind := audit.ActorHealthWorker
	if v.Kind == audit.ViewerCitizen {
		kind = audit.ActorCitizen
	}
	rec.Actor = audit.Actor{Kind: kind, PID: v.PID, Name: v.Name, HPR: v.HPR, LegalEntity: v.Organisation}
	rec.Client = v.Client
	rec.Credential = v.Credential
}

func (h *handler) base(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	p = strings.TrimSuffix(p, "/AuditEvent")
	return scheme + "://" + r.Host + p
}
