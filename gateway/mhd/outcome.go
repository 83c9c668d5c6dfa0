package mhd

import (
	"errors"
	"fmt"
	"net/http"

	"pjd/gateway/access"
	"pjd/gateway/fhir"
	"pjd/gateway/xcaclient"
	"pjd/registry"
)

// XDSErrorSystem is the system of the Coding that carries an XDS error code
// (ITI TF-3 Table 4.2.4.1-2) in Issue.details.
const XDSErrorSystem = "urn:ihe:iti:xds:errorCode"

// XDSIssue is an issue carrying an XDS error code in details.
func XDSIssue(severity, code, xdsCode, expression, diagnostics string) fhir.Issue {
	is := fhir.Issue{
		Severity:    severity,
		Code:        code,
		Details:     &fhir.CodeableConcept{Coding: []fhir.Coding{{System: XDSErrorSystem, Code: xdsCode}}},
		Diagnostics: diagnostics,
	}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return is
}

// XDSCode returns the XDS error code an issue carries, or "".
func XDSCode(is fhir.Issue) string {
	if is.Details == nil {
		return ""
	}
	for _, c := range is.Details.Coding {
		if c.System == XDSErrorSystem {
			return c.Code
		}
	}
	return ""
}

// statusForXDS is the HTTP status ITI-65 uses for an XDS error code.
func statusForXDS(code string) int {
	switch code {
	case registry.ErrCodeRegistryNotAvailable, registry.ErrCodeRegistryBusy:
		return http.StatusServiceUnavailable
	case registry.ErrCodeRegistryError, registry.ErrCodeRepositoryError:
		return http.StatusInternalServerError
	case registry.ErrCodeDuplicateUniqueIDInRegistry, registry.ErrCodeNonIdenticalHash, registry.ErrCodeNonIdenticalSize:
		return http.StatusConflict
	case registry.ErrCodeTooManyResults:
		return http.StatusForbidden
	}
	// Metadata that parsed but breaks an XDS rule (patient mismatch,
	// unknown patient, missing document, bad codes, unresolved
	// references, deprecated targets …): 422 Unprocessable Entity.
	return http.StatusUnprocessableEntity
}

// FromRegistryErrors turns what the registry or repository returned for an
// ITI-65 submission into the *Error to send: each RegistryError becomes an
// issue carrying its XDS code, and the HTTP status is that of the first
// Error-severity code. An err that carries no RegistryErrors becomes a 500
// that says nothing about it. A nil err, or one holding warnings only,
// returns nil.
func FromRegistryErrors(err error) *fhir.Error {
	if err == nil {
		return nil
	}
	var me *fhir.Error
	if errors.As(err, &me) {
		return me
	}
	list, ok := registry.AsErrors(err)
	if !ok {
		if errors.Is(err, registry.ErrUnavailable) {
			return fhir.NewError(http.StatusServiceUnavailable, fhir.IssueTransient, "", "registry unavailable")
		}
		return fhir.Internal()
	}
	if !list.Failed() {
		return nil
	}
	out := &fhir.Error{Outcome: fhir.Outcome()}
	for _, e := range list {
		sev, code := fhir.SeverityError, fhir.IssueProcessing
		if e.IsWarning() {
			sev, code = fhir.SeverityWarning, fhir.IssueInformational
		}
		is := XDSIssue(sev, code, e.Code, "", e.Context)
		out.Outcome.Issue = append(out.Outcome.Issue, is)
		if out.Status == 0 && !e.IsWarning() {
			out.Status = statusForXDS(e.Code)
		}
	}
	return out
}

// errs collects issues while a request is parsed, so that one response
// names every bad parameter or element at once.
type errs struct {
	status int
	issues []fhir.Issue
}

func (e *errs) add(status int, code, expr, format string, args ...any) {
	if e.status == 0 {
		e.status = status
	}
	is := fhir.Issue{Severity: fhir.SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	e.issues = append(e.issues, is)
}

func (e *errs) xds(status int, xdsCode, expr, format string, args ...any) {
	if e.status == 0 {
		e.status = status
	}
	e.issues = append(e.issues, XDSIssue(fhir.SeverityError, fhir.IssueProcessing, xdsCode, expr, fmt.Sprintf(format, args...)))
}

func (e *errs) err() error {
	if len(e.issues) == 0 {
		return nil
	}
	return &fhir.Error{Status: e.status, Outcome: fhir.Outcome(e.issues...)}
}

// maxIssues bounds how many issues one response lists, so a hostile
// request cannot make the error response large.
const maxIssues = 50

func (e *errs) full() bool { return len(e.issues) >= maxIssues }

// communityOutcomes are the searchset's OperationOutcome entries
// (search.mode = outcome) for the communities of a federated search whose
// documents are missing or may be incomplete (issue 12): one issue per
// community, naming it to the user and by homeCommunityId in diagnostics.
// A searchset with such an entry is still a 200: a region down is normal.
func communityOutcomes(cs []access.CommunityOutcome) []fhir.Resource {
	var issues []fhir.Issue
	for _, c := range cs {
		if !c.Failed && c.Kind == "" {
			continue
		}
		code, text := fhir.IssueIncomplete, "Dokumenter fra "+c.Name+" kunne ikke hentes nå"
		if c.Kind == string(xcaclient.KindTimeout) {
			code = fhir.IssueTimeout
		}
		if !c.Failed {
			text = "Noen dokumenter fra " + c.Name + " kunne ikke hentes nå"
		}
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityWarning, Code: code,
			Details: &fhir.CodeableConcept{Text: text,
				Coding: []fhir.Coding{{System: XDSErrorSystem, Code: access.ErrCodeUnavailableCommunity}}},
			Diagnostics: c.ID + ": " + c.Message})
	}
	if len(issues) == 0 {
		return nil
	}
	oo := fhir.Outcome(issues...)
	return []fhir.Resource{fhir.R(&oo)}
}
