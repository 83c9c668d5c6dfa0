package gateway

import (
	"context"
	"errors"
	"net/http"
)

// RetryAfter is how long pjd asks a client to wait before it tries again
// when something pjd depends on is unavailable (Retry-After, seconds).
const RetryAfter = 5

// ClientGone reports whether err is r's own context ending because the
// client went away (or gave up): nothing to log as a server error, and
// nobody left to answer.
func ClientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}
