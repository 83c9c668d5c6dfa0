package registry

import (
	"errors"
	"fmt"
	"strings"
)

// XDS error codes (reference/error_codes.md).
const (
	ErrCodeRegistryError                        = "XDSRegistryError"
	ErrCodeRegistryMetadataError                = "XDSRegistryMetadataError"
	ErrCodeRepositoryError                      = "XDSRepositoryError"
	ErrCodeRepositoryMetadataError              = "XDSRepositoryMetadataError"
	ErrCodeRegistryNotAvailable                 = "XDSRegistryNotAvailable"
	ErrCodeRegistryBusy                         = "XDSRegistryBusy"
	ErrCodeRepositoryBusy                       = "XDSRepositoryBusy"
	ErrCodeMissingDocument                      = "XDSMissingDocument"
	ErrCodeMissingDocumentMetadata              = "XDSMissingDocumentMetadata"
	ErrCodeRegistryDuplicateUniqueIDInMessage   = "XDSRegistryDuplicateUniqueIdInMessage"
	ErrCodeRepositoryDuplicateUniqueIDInMessage = "XDSRepositoryDuplicateUniqueIdInMessage"
	ErrCodeDuplicateUniqueIDInRegistry          = "XDSDuplicateUniqueIdInRegistry"
	ErrCodeNonIdenticalHash                     = "XDSNonIdenticalHash"
	ErrCodeNonIdenticalSize                     = "XDSNonIdenticalSize"
	ErrCodeTooManyResults                       = "XDSTooManyResults"
	ErrCodeExtraMetadataNotSaved                = "XDSExtraMetadataNotSaved"
	ErrCodeUnknownPatientID                     = "XDSUnknownPatientId"
	ErrCodePatientIDDoesNotMatch                = "XDSPatientIdDoesNotMatch"
	ErrCodeUnknownStoredQuery                   = "XDSUnknownStoredQuery"
	ErrCodeStoredQueryMissingParam              = "XDSStoredQueryMissingParam"
	ErrCodeStoredQueryParamNumber               = "XDSStoredQueryParamNumber"
	ErrCodeRegistryDeprecatedDocumentError      = "XDSRegistryDeprecatedDocumentError"
	ErrCodeUnknownRepositoryID                  = "XDSUnknownRepositoryId"
	ErrCodeDocumentUniqueIDError                = "XDSDocumentUniqueIdError"
	ErrCodeResultNotSinglePatient               = "XDSResultNotSinglePatient"
	ErrCodeUnresolvedReference                  = "UnresolvedReferenceException"
	ErrCodeUnknownCommunity                     = "XDSUnknownCommunity"
	ErrCodeMissingHomeCommunityID               = "XDSMissingHomeCommunityId"

	// Metadata Update (ITI-57) codes. UnmodifiableMetadataError,
	// XDSMetadataIdentifierError and their kin are RMU (ITI-92) codes and
	// are not used (update.go).
	ErrCodeMetadataUpdateError          = "XDSMetadataUpdateError"
	ErrCodeMetadataVersionError         = "XDSMetadataVersionError"
	ErrCodeMetadataUpdateOperationError = "XDSMetadataUpdateOperationError"
	ErrCodePatientIDReconciliationError = "XDSPatientIDReconciliationError"

	// Remove Metadata (ITI-62) codes; UnresolvedReferenceException is
	// above. XDSMetadataModelException is the code NIST testkit 30008
	// expects; no enumeration defines it (remove.go).
	ErrCodeReferencesExist      = "ReferencesExistException"
	ErrCodeUnreferencedObject   = "XDSUnreferencedObjectException"
	ErrCodeMetadataModel        = "XDSMetadataModelException"
	ErrCodeRemoveDocumentsError = "XDSRemoveDocumentsError"
)

// Severity of a RegistryError.
const (
	SeverityError   = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
	SeverityWarning = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"
)

// Response status (RegistryResponse/@status).
const (
	ResponseSuccess        = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
	ResponseFailure        = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
	ResponsePartialSuccess = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
)

// Error is one RegistryError: an XDS error code with a codeContext that names
// the offending object and value. Context is sent to the client, so it must
// never carry internal detail (SQL, file paths, stack traces).
type Error struct {
	Code     string `json:"errorCode"`
	Context  string `json:"codeContext"`
	Location string `json:"location,omitempty"`
	Severity string `json:"severity"`
}

// Errorf returns an Error-severity RegistryError.
func Errorf(code, format string, args ...any) Error {
	return Error{Code: code, Context: fmt.Sprintf(format, args...), Severity: SeverityError}
}

// Warningf returns a Warning-severity RegistryError.
func Warningf(code, format string, args ...any) Error {
	return Error{Code: code, Context: fmt.Sprintf(format, args...), Severity: SeverityWarning}
}

func (e Error) Error() string { return e.Code + ": " + e.Context }

// IsWarning reports whether e is only a warning.
func (e Error) IsWarning() bool { return e.Severity == SeverityWarning }

// ErrorList is a RegistryErrorList that is also a Go error. A list holding
// only warnings does not fail a request; use Failed to tell.
type ErrorList []Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Failed reports whether the list holds at least one Error-severity entry.
func (l ErrorList) Failed() bool {
	for _, e := range l {
		if !e.IsWarning() {
			return true
		}
	}
	return false
}

// Err returns l as an error when it holds an Error-severity entry, else nil.
func (l ErrorList) Err() error {
	if l.Failed() {
		return l
	}
	return nil
}

// AsErrors extracts the RegistryErrors carried by err: an ErrorList or an
// Error (possibly wrapped). ok is false for any other error, which the
// protocol edge must report as XDSRegistryError without its text.
func AsErrors(err error) (list ErrorList, ok bool) {
	var l ErrorList
	if errors.As(err, &l) {
		return l, true
	}
	var e Error
	if errors.As(err, &e) {
		return ErrorList{e}, true
	}
	return nil, false
}

// Response is the outcome of a register or a query: Status and the
// RegistryErrorList (errors and warnings).
type Response struct {
	Status string
	Errors ErrorList
}

// StatusFor returns the ResponseStatusType for a list of errors: Failure when
// any is an error, Success otherwise (warnings alone keep Success).
func StatusFor(l ErrorList) string {
	if l.Failed() {
		return ResponseFailure
	}
	return ResponseSuccess
}

// Sentinel errors of stores and lookups.
var (
	// ErrNotFound: the object asked for does not exist.
	ErrNotFound = errors.New("registry: not found")
	// ErrConflict: a concurrent transaction changed what this one read; the
	// store retries the transaction, and returns ErrConflict only when its
	// retries are used up.
	ErrConflict = errors.New("registry: conflicting concurrent update")
	// ErrUnavailable: the database cannot be reached.
	ErrUnavailable = errors.New("registry: database unavailable")
)
