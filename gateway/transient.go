package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"pjd/gateway/mhd"
)

// RetryAfter is how long pjd asks a client to wait before it tries again
// when something pjd depends on is unavailable (Retry-After, seconds).
const RetryAfter = 5

// writeTransient answers an MHD request that failed because a dependency
// is unavailable: 503, Retry-After, an OperationOutcome with code
// transient saying what to do.
func writeTransient(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	writeOutcome(w, mhd.NewError(http.StatusServiceUnavailable, mhd.IssueTransient, "", "%s", msg))
}

// clientGone reports whether err is r's own context ending because the
// client went away (or gave up): nothing to log as a server error, and
// nobody left to answer.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}

// authOutcome is the OperationOutcome issue code of a refused credential
// by its HTTP status.
func authOutcome(status int) string {
	switch {
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusBadRequest:
		return mhd.IssueInvalid
	case status >= 500:
		return mhd.IssueTransient
	}
	return "login"
}
