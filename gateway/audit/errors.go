package audit

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test with errors.Is.
var (
	// ErrInvalidRecord: the record cannot be sealed (see *RecordError).
	ErrInvalidRecord = errors.New("audit: invalid record")
	// ErrClosed: the Logger or forwarder was closed.
	ErrClosed = errors.New("audit: closed")
	// ErrTimeout: the record was not committed within the Logger's own
	// timeout. The caller must fail its request.
	ErrTimeout = errors.New("audit: write timed out")
	// ErrUnavailable: the audit database could not be reached or refused
	// the write.
	ErrUnavailable = errors.New("audit: store unavailable")
	// ErrBadParameter: a search parameter is malformed or unknown (see
	// *ParamError).
	ErrBadParameter = errors.New("audit: bad search parameter")
	// ErrForbidden: the viewer may not search for this.
	ErrForbidden = errors.New("audit: forbidden")
	// ErrBadKey: the chain key is missing, too short or unreadable.
	ErrBadKey = errors.New("audit: bad chain key")
	// ErrCorrupt: a stored record could not be read back (its body is not
	// a record). Verify reports such rows as changed.
	ErrCorrupt = errors.New("audit: corrupt record")
	// ErrSchemaTooNew: the database was migrated by a newer pjd.
	ErrSchemaTooNew = errors.New("audit: database schema is newer than this program")
)

// RecordError says which field of a record is wrong.
type RecordError struct {
	Field   string
	Problem string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("audit: invalid record: %s %s", e.Field, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalidRecord) true.
func (e *RecordError) Unwrap() error { return ErrInvalidRecord }

// ParamError says which search parameter is wrong. Its message is safe to
// send to the client: it quotes only what the client sent.
type ParamError struct {
	Param   string
	Problem string
	// Kind is ErrBadParameter or ErrForbidden.
	Kind error
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("search parameter %q: %s", e.Param, e.Problem)
}

// Unwrap returns the kind (ErrBadParameter or ErrForbidden).
func (e *ParamError) Unwrap() error {
	if e.Kind == nil {
		return ErrBadParameter
	}
	return e.Kind
}

func badParam(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Problem: fmt.Sprintf(format, args...), Kind: ErrBadParameter}
}

func forbiddenParam(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Problem: fmt.Sprintf(format, args...), Kind: ErrForbidden}
}
