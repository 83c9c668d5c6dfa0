package mhd

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"pjd/registry"
)

// OperationOutcome reports errors and warnings.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is OperationOutcome.issue.
type Issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	// Expression names the offending search parameter (its name as sent)
	// or the FHIRPath of the offending element.
	Expression []string `json:"expression,omitempty"`
}

// Issue severities.
const (
	SeverityFatal   = "fatal"
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Issue type codes (http://hl7.org/fhir/issue-type) used here.
const (
	IssueInvalid      = "invalid"
	IssueStructure    = "structure"
	IssueRequired     = "required"
	IssueValue        = "value"
	IssueNotSupported = "not-supported"
	IssueNotFound     = "not-found"
	IssueForbidden    = "forbidden"
	IssueConflict     = "conflict"
	IssueTooCostly    = "too-costly"
	IssueProcessing   = "processing"
	IssueException    = "exception"
	IssueDuplicate    = "duplicate"
	IssueExpired      = "expired"
)

// Error is a protocol error of the MHD endpoints: the HTTP status and the
// OperationOutcome to send. Diagnostics are written for the client: they
// name the parameter or element and the rule it broke, never internal
// detail. The handler writes Status and Outcome as they are.
type Error struct {
	Status  int
	Outcome OperationOutcome
}

func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Outcome.Issue))
	for _, is := range e.Outcome.Issue {
		s := is.Code
		if len(is.Expression) > 0 {
			s += " [" + strings.Join(is.Expression, ",") + "]"
		}
		if is.Diagnostics != "" {
			s += ": " + is.Diagnostics
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("mhd: %d %s", e.Status, strings.Join(parts, "; "))
}

// Outcome returns an OperationOutcome holding issues.
func Outcome(issues ...Issue) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: issues}
}

// NewError returns an *Error with one error-severity issue.
func NewError(status int, code, expression, format string, args ...any) *Error {
	is := Issue{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return &Error{Status: status, Outcome: Outcome(is)}
}

// NotFound is the 404 of ITI-68 for an unknown document (or one whose
// existence policy says not to confirm).
func NotFound(format string, args ...any) *Error {
	return NewError(http.StatusNotFound, IssueNotFound, "", format, args...)
}

// Forbidden is the 403 for a request the principal may not make.
func Forbidden(format string, args ...any) *Error {
	return NewError(http.StatusForbidden, IssueForbidden, "", format, args...)
}

// Internal is the 500 sent for any error that is not a protocol error; it
// says nothing about the cause (log that server-side).
func Internal() *Error {
	return NewError(http.StatusInternalServerError, IssueException, "", "internal error")
}

// XDSErrorSystem is the system of the Coding that carries an XDS error code
// (ITI TF-3 Table 4.2.4.1-2) in Issue.details.
const XDSErrorSystem = "urn:ihe:iti:xds:errorCode"

// XDSIssue is an issue carrying an XDS error code in details.
func XDSIssue(severity, code, xdsCode, expression, diagnostics string) Issue {
	is := Issue{
		Severity:    severity,
		Code:        code,
		Details:     &CodeableConcept{Coding: []Coding{{System: XDSErrorSystem, Code: xdsCode}}},
		Diagnostics: diagnostics,
	}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return is
}

// XDSCode returns the XDS error code an issue carries, or "".
func (is Issue) XDSCode() string {
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
func FromRegistryErrors(err error) *Error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	list, ok := registry.AsErrors(err)
	if !ok {
		if errors.Is(err, registry.ErrUnavailable) {
			return NewError(http.StatusServiceUnavailable, IssueTransient, "", "registry unavailable")
		}
		return Internal()
	}
	if !list.Failed() {
		return nil
	}
	out := &Error{Outcome: Outcome()}
	for _, e := range list {
		sev, code := SeverityError, IssueProcessing
		if e.IsWarning() {
			sev, code = SeverityWarning, IssueInformational
		}
		is := XDSIssue(sev, code, e.Code, "", e.Context)
		out.Outcome.Issue = append(out.Outcome.Issue, is)
		if out.Status == 0 && !e.IsWarning() {
			out.Status = statusForXDS(e.Code)
		}
	}
	return out
}

// Further issue type codes.
const (
	IssueTransient     = "transient"
	IssueInformational = "informational"
)

// errs collects issues while a request is parsed, so that one response
// names every bad parameter or element at once.
type errs struct {
	status int
	issues []Issue
}

func (e *errs) add(status int, code, expr, format string, args ...any) {
	if e.status == 0 {
		e.status = status
	}
	is := Issue{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	e.issues = append(e.issues, is)
}

func (e *errs) xds(status int, xdsCode, expr, format string, args ...any) {
	if e.status == 0 {
		e.status = status
	}
	e.issues = append(e.issues, XDSIssue(SeverityError, IssueProcessing, xdsCode, expr, fmt.Sprintf(format, args...)))
}

func (e *errs) err() error {
	if len(e.issues) == 0 {
		return nil
	}
	return &Error{Status: e.status, Outcome: Outcome(e.issues...)}
}

// maxIssues bounds how many issues one response lists, so a hostile
// request cannot make the error response large.
const maxIssues = 50

func (e *errs) full() bool { return len(e.issues) >= maxIssues }
