package fhir

import (
	"fmt"
	"net/http"
	"strings"
)

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
	IssueDeleted      = "deleted"
)

// Error is a protocol error of a FHIR endpoint: the HTTP status and the
// OperationOutcome to send (WriteError). Diagnostics are written for the
// client: they name the parameter or element and the rule it broke, never
// internal detail. The handler writes Status and Outcome as they are.
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
	return fmt.Sprintf("fhir: %d %s", e.Status, strings.Join(parts, "; "))
}

// Outcome returns an OperationOutcome holding issues.
func Outcome(issues ...Issue) OperationOutcome {
	return OperationOutcome{DomainResource: DomainResource{ResourceType: "OperationOutcome"}, Issue: issues}
}

// NewError returns an *Error with one error-severity issue.
func NewError(status int, code, expression, format string, args ...any) *Error {
	is := Issue{Severity: SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return &Error{Status: status, Outcome: Outcome(is)}
}

// NotFound is the 404 for an unknown resource or document (or one whose
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

// Further issue type codes.
const (
	IssueTransient     = "transient"
	IssueInformational = "informational"
	IssueIncomplete    = "incomplete"
	IssueTimeout       = "timeout"
)

// Further issue type codes: refused credentials.
const (
	IssueLogin    = "login"
	IssueSecurity = "security"
)

// RefusalIssue is the issue type of a request refused with status before
// it reached any data — a credential not accepted, a dependency of the
// check unavailable: 400 invalid, 401 login, 403 forbidden, 5xx transient,
// anything else security.
func RefusalIssue(status int) string {
	switch {
	case status == http.StatusBadRequest:
		return IssueInvalid
	case status == http.StatusUnauthorized:
		return IssueLogin
	case status == http.StatusForbidden:
		return IssueForbidden
	case status >= 500:
		return IssueTransient
	}
	return IssueSecurity
}
