package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The audit review API (GET /fhir/R4/AuditEvent) read as the dev
// compliance officer: how scenarios check that each request left exactly
// the audit records the design asks for — through the API, never the
// database.

// AuditEvent is the part of a rendered FHIR AuditEvent the scenarios
// check.
type AuditEvent struct {
	ID          string
	Subtype     string // ITI-67, AUDIT-SEARCH …
	Action      string // E or R
	Outcome     string // 0 permit, 4 deny, 8 error
	Rule        string // the deciding rule (outcomeDesc up to ": ")
	OutcomeDesc string
	Flags       []string // meta.tag codes: btg, etreat, review
	Patient     string   // the patient's national identity number
	HiddenNORS  int
	RequestIDs  []string
	// Documents maps each document's uniqueId to its disposition
	// (returned, hidden, refused).
	Documents map[string]string
	Raw       json.RawMessage
}

// Flagged reports whether the event carries review flag code.
func (e AuditEvent) Flagged(code string) bool { return slices.Contains(e.Flags, code) }

// Audit outcome codes.
const (
	AuditPermit = "0"
	AuditDeny   = "4"
	AuditError  = "8"
)

type fhirIdent struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type aeJSON struct {
	ID   string `json:"id"`
	Meta struct {
		Tag []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"tag"`
	} `json:"meta"`
	Contained []struct {
		ResourceType string      `json:"resourceType"`
		ID           string      `json:"id"`
		Identifier   []fhirIdent `json:"identifier"`
	} `json:"contained"`
	Subtype []struct {
		Code string `json:"code"`
	} `json:"subtype"`
	Action      string `json:"action"`
	Outcome     string `json:"outcome"`
	OutcomeDesc string `json:"outcomeDesc"`
	Entity      []struct {
		What *struct {
			Reference  string `json:"reference"`
			Identifier *struct {
				Value string `json:"value"`
			} `json:"identifier"`
		} `json:"what"`
		Type *struct {
			Code string `json:"code"`
		} `json:"type"`
		Role *struct {
			Code string `json:"code"`
		} `json:"role"`
		Description string `json:"description"`
		Detail      []struct {
			Type        string `json:"type"`
			ValueString string `json:"valueString"`
		} `json:"detail"`
	} `json:"entity"`
}

func parseAuditEvent(raw json.RawMessage) (AuditEvent, error) {
	var a aeJSON
	if err := json.Unmarshal(raw, &a); err != nil {
		return AuditEvent{}, err
	}
	e := AuditEvent{ID: a.ID, Action: a.Action, Outcome: a.Outcome, OutcomeDesc: a.OutcomeDesc, Documents: map[string]string{}, Raw: raw}
	e.Rule, _, _ = strings.Cut(a.OutcomeDesc, ": ")
	if len(a.Subtype) > 0 {
		e.Subtype = a.Subtype[0].Code
	}
	for _, tg := range a.Meta.Tag {
		if tg.System == "urn:pjd:audit:flag" {
			e.Flags = append(e.Flags, tg.Code)
		}
	}
	for _, c := range a.Contained {
		if c.ResourceType == "Patient" && len(c.Identifier) > 0 {
			e.Patient = c.Identifier[0].Value
		}
	}
	for _, en := range a.Entity {
		switch {
		case en.Type != nil && en.Type.Code == "XrequestId" && en.Description == "request-id" && en.What != nil && en.What.Identifier != nil:
			e.RequestIDs = append(e.RequestIDs, en.What.Identifier.Value)
		case en.Role != nil && en.Role.Code == "3" && en.What != nil && en.What.Identifier != nil:
			e.Documents[en.What.Identifier.Value] = en.Description
		case en.Role != nil && en.Role.Code == "1":
			for _, d := range en.Detail {
				if d.Type == "hidden-nors-count" {
					e.HiddenNORS, _ = strconv.Atoi(d.ValueString)
				}
			}
		}
	}
	return e, nil
}

// AuditSearch searches the audit log as the compliance officer with the
// FHIR search parameters q (date defaults to ≥ the scenario's start, less
// a margin for clock skew) and returns every record found, AUDIT-SEARCH
// records of earlier reviews left out unless q asks for them by subtype.
func (t *T) AuditSearch(ctx context.Context, q url.Values) ([]AuditEvent, error) {
	tok, err := t.env.complianceToken(ctx)
	if err != nil {
		return nil, err
	}
	q = cloneValues(q)
	if q.Get("date") == "" {
		q.Set("date", "ge"+t.start.Add(-5*time.Minute).UTC().Format("2006-01-02T15:04:05")+"+00:00")
	}
	q.Set("_count", "1000")
	events, body, status, err := t.auditGet(ctx, t.As(tok), q)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("audit search %s as compliance: status %d: %s", q.Encode(), status, snippet(body))
	}
	if q.Get("subtype") == "" {
		events = slices.DeleteFunc(events, func(e AuditEvent) bool { return e.Subtype == "AUDIT-SEARCH" })
	}
	return events, nil
}

// auditGet sends GET /fhir/R4/AuditEvent?q with c and parses a Bundle.
func (t *T) auditGet(ctx context.Context, c *http.Client, q url.Values) ([]AuditEvent, []byte, int, error) {
	resp, body, err := t.Get(ctx, c, "/fhir/R4/AuditEvent", q, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, body, resp.StatusCode, nil
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
		Link []struct {
			Relation string `json:"relation"`
		} `json:"link"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, body, resp.StatusCode, fmt.Errorf("audit search: not a FHIR Bundle: %s", snippet(body))
	}
	for _, l := range b.Link {
		if l.Relation == "next" {
			return nil, body, resp.StatusCode, fmt.Errorf("audit search: more than one page of records since the scenario started")
		}
	}
	var out []AuditEvent
	for _, en := range b.Entry {
		e, err := parseAuditEvent(en.Resource)
		if err != nil {
			return nil, body, resp.StatusCode, fmt.Errorf("audit search: %w", err)
		}
		out = append(out, e)
	}
	return out, body, resp.StatusCode, nil
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = slices.Clone(v)
	}
	return c
}

// PatientAudit returns the patient's audit records of transaction tx
// since the scenario started.
func (t *T) PatientAudit(ctx context.Context, patient, tx string) ([]AuditEvent, error) {
	return t.AuditSearch(ctx, url.Values{"patient": {patient}, "subtype": {tx}})
}

// RequestAudit returns the audit records of transaction tx that carry the
// X-Request-Id requestID.
func (t *T) RequestAudit(ctx context.Context, tx, requestID string) ([]AuditEvent, error) {
	events, err := t.AuditSearch(ctx, url.Values{"subtype": {tx}})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(events, func(e AuditEvent) bool { return !slices.Contains(e.RequestIDs, requestID) }), nil
}

// AuditWant is what one expected audit record must show.
type AuditWant struct {
	Outcome string
	Rule    string // "" = any
	// Documents: uniqueId → disposition; nil = not checked, empty = none.
	Documents  map[string]string
	HiddenNORS int
	Flags      []string // required review flags
}

// wantAudit checks that events holds exactly one record, matching w.
func wantAudit(what string, events []AuditEvent, w AuditWant) error {
	if len(events) != 1 {
		var sum []string
		for _, e := range events {
			sum = append(sum, e.Subtype+" "+e.Outcome+" "+e.Rule)
		}
		return fmt.Errorf("%s: %d audit records %v, want exactly 1", what, len(events), sum)
	}
	e := events[0]
	switch {
	case e.Outcome != w.Outcome:
		return fmt.Errorf("%s: audit outcome %s (%s), want %s", what, e.Outcome, e.OutcomeDesc, w.Outcome)
	case w.Rule != "" && e.Rule != w.Rule:
		return fmt.Errorf("%s: audit rule %q (%s), want %q", what, e.Rule, e.OutcomeDesc, w.Rule)
	case e.HiddenNORS != w.HiddenNORS:
		return fmt.Errorf("%s: audit hidden NORS count %d, want %d", what, e.HiddenNORS, w.HiddenNORS)
	}
	if w.Documents != nil {
		if len(e.Documents) != len(w.Documents) {
			return fmt.Errorf("%s: audit names documents %v, want %v", what, e.Documents, w.Documents)
		}
		for uid, disp := range w.Documents {
			if e.Documents[uid] != disp {
				return fmt.Errorf("%s: audit names documents %v, want %v", what, e.Documents, w.Documents)
			}
		}
	}
	for _, f := range w.Flags {
		if !e.Flagged(f) {
			return fmt.Errorf("%s: audit record not flagged %q (flags %v)", what, f, e.Flags)
		}
	}
	if len(w.Flags) == 0 && len(e.Flags) > 0 {
		return fmt.Errorf("%s: audit record flagged %v, want no flag", what, e.Flags)
	}
	return nil
}

// Get sends GET path?q with client c and extra headers and reads the
// whole answer (at most 64 MiB).
func (t *T) Get(ctx context.Context, c *http.Client, path string, q url.Values, h http.Header) (*http.Response, []byte, error) {
	u := t.URL(path)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return t.do(c, req)
}

func (t *T) do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, body, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	return resp, body, nil
}

func snippet(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.TrimSpace(s)
}
