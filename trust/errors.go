package trust

import (
	"errors"
	"net/http"
	"strings"
)

// Kind says why a credential was refused. Every rejection path in this
// package returns an *Error with exactly one Kind, and tests assert on the
// Kind, never on message text. The numeric values are not stable; the
// String form is (it goes into audit records).
type Kind int

// Error kinds. Grouped by the credential part that failed.
const (
	KindInternal Kind = iota // a bug or misconfiguration on our side

	// Access token (HelseID JWT, RFC 9068).
	KindTokenMissing      // no Authorization header
	KindTokenMalformed    // not a compact JWS / unparseable header or claims
	KindTokenScheme       // Bearer (or another scheme) where DPoP is required
	KindTokenAlgorithm    // alg none, HMAC, or not allowed for the key
	KindTokenUnknownKey   // kid not in the issuer's JWKS, even after a refetch
	KindTokenRetiredKey   // kid listed by the issuer's expired-keys endpoint
	KindTokenSignature    // signature does not verify
	KindTokenType         // typ is not at+jwt / JWT
	KindTokenIssuer       // iss is not a configured issuer
	KindTokenAudience     // aud does not hold our audience
	KindTokenExpired      // exp passed (beyond skew)
	KindTokenNotYetValid  // nbf / iat in the future (beyond skew)
	KindTokenClaims       // a required claim is missing or has the wrong type
	KindTokenNotBound     // DPoP scheme but the token has no cnf.jkt
	KindInsufficientScope // the token lacks the endpoint's scope
	KindSecurityLevel     // a person's token without security level 4
	KindPersonRequired    // a token naming no person (no pid) at an endpoint that serves a person
	KindRequestURL        // the request's own URL cannot be checked against htu (too long, malformed)

	// DPoP proof (RFC 9449).
	KindDPoPMissing     // no DPoP header
	KindDPoPMalformed   // several DPoP headers, not a JWS, missing claims
	KindDPoPType        // typ is not dpop+jwt
	KindDPoPAlgorithm   // alg none, HMAC or not allowed
	KindDPoPKey         // jwk missing, symmetric, or carrying a private key
	KindDPoPSignature   // proof signature does not verify with its jwk
	KindDPoPKeyMismatch // jwk thumbprint differs from the token's cnf.jkt
	KindDPoPAth         // ath missing or not the hash of the presented token
	KindDPoPMethod      // htm differs from the request method
	KindDPoPURL         // htu differs from the request URL
	KindDPoPIssuedAt    // iat outside the accepted window (stale or future)
	KindDPoPReplay      // jti seen before

	// Trust-framework attestation (tillitsrammeverk).
	KindAttestationMissing      // a health worker's token without the attestation
	KindAttestationMalformed    // not an object of the expected shape
	KindAttestationType         // authorization_details of another type only
	KindAttestationInvalid      // a required element missing or in the wrong code system
	KindAttestationExpired      // toa older than the allowed age (attestation_has_expired)
	KindAttestationPractitioner // practitioner does not match the authenticated user
	KindAttestationPurpose      // purpose of use not TREAT/ETREAT/COC/BTG
	KindAttestationDecisionRef  // decision_ref missing or its id not a UUID

	// XUA SAML assertion.
	KindSAMLMissing       // no assertion in the WS-Security header
	KindSAMLMalformed     // unparseable structure, missing ID/Issuer/Conditions
	KindSAMLUnsigned      // the assertion carries no signature of its own
	KindSAMLWrapping      // structure typical of signature wrapping
	KindSAMLAlgorithm     // c14n, transform, digest or signature method not allowed
	KindSAMLSignature     // signature does not verify (tampered)
	KindSAMLUntrustedCert // signing certificate not configured as trusted, or expired
	KindSAMLIssuer        // Issuer not on the allow-list
	KindSAMLAudience      // no AudienceRestriction naming us
	KindSAMLExpired       // NotOnOrAfter passed
	KindSAMLNotYetValid   // NotBefore / IssueInstant in the future
	KindSAMLAttributes    // attributes missing, unparseable or contradicting each other

	// Dependencies. Both fail closed with 503.
	KindIssuerUnavailable // issuer metadata / JWKS could not be fetched
	KindReplayUnavailable // the replay cache (Redis) could not be asked

	kindCount
)

var kindNames = [...]string{
	KindInternal:                "internal",
	KindTokenMissing:            "token_missing",
	KindTokenMalformed:          "token_malformed",
	KindTokenScheme:             "token_scheme",
	KindTokenAlgorithm:          "token_algorithm",
	KindTokenUnknownKey:         "token_unknown_key",
	KindTokenRetiredKey:         "token_retired_key",
	KindTokenSignature:          "token_signature",
	KindTokenType:               "token_type",
	KindTokenIssuer:             "token_issuer",
	KindTokenAudience:           "token_audience",
	KindTokenExpired:            "token_expired",
	KindTokenNotYetValid:        "token_not_yet_valid",
	KindTokenClaims:             "token_claims",
	KindTokenNotBound:           "token_not_bound",
	KindInsufficientScope:       "insufficient_scope",
	KindSecurityLevel:           "security_level",
	KindPersonRequired:          "person_required",
	KindRequestURL:              "request_url",
	KindDPoPMissing:             "dpop_missing",
	KindDPoPMalformed:           "dpop_malformed",
	KindDPoPType:                "dpop_type",
	KindDPoPAlgorithm:           "dpop_algorithm",
	KindDPoPKey:                 "dpop_key",
	KindDPoPSignature:           "dpop_signature",
	KindDPoPKeyMismatch:         "dpop_key_mismatch",
	KindDPoPAth:                 "dpop_ath",
	KindDPoPMethod:              "dpop_method",
	KindDPoPURL:                 "dpop_url",
	KindDPoPIssuedAt:            "dpop_iat",
	KindDPoPReplay:              "dpop_replay",
	KindAttestationMissing:      "attestation_missing",
	KindAttestationMalformed:    "attestation_malformed",
	KindAttestationType:         "attestation_type",
	KindAttestationInvalid:      "attestation_invalid",
	KindAttestationExpired:      "attestation_has_expired",
	KindAttestationPractitioner: "attestation_practitioner",
	KindAttestationPurpose:      "attestation_purpose",
	KindAttestationDecisionRef:  "attestation_decision_ref",
	KindSAMLMissing:             "saml_missing",
	KindSAMLMalformed:           "saml_malformed",
	KindSAMLUnsigned:            "saml_unsigned",
	KindSAMLWrapping:            "saml_wrapping",
	KindSAMLAlgorithm:           "saml_algorithm",
	KindSAMLSignature:           "saml_signature",
	KindSAMLUntrustedCert:       "saml_untrusted_certificate",
	KindSAMLIssuer:              "saml_issuer",
	KindSAMLAudience:            "saml_audience",
	KindSAMLExpired:             "saml_expired",
	KindSAMLNotYetValid:         "saml_not_yet_valid",
	KindSAMLAttributes:          "saml_attributes",
	KindIssuerUnavailable:       "issuer_unavailable",
	KindReplayUnavailable:       "replay_cache_unavailable",
}

// String is the stable, audit-friendly name of k (for example
// "attestation_has_expired").
func (k Kind) String() string {
	if k < 0 || k >= kindCount || kindNames[k] == "" {
		return "unknown"
	}
	return kindNames[k]
}

// Error is the one error type trust returns for a refused credential.
//
// Description is safe to send to the client (it never contains key
// material, token contents, personal data or internal state). Detail and Err
// are for the server log only. Error() includes them, so log the error and
// send only Description (or use HTTPStatus / WWWAuthenticate).
type Error struct {
	Kind        Kind
	Description string // client-safe
	Detail      string // server-only
	Err         error  // server-only cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("trust: ")
	b.WriteString(e.Kind.String())
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the server-only cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same Kind, so that
// errors.Is(err, trust.ErrTokenExpired) works for every error of that kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

func newErr(k Kind, description, detail string) *Error {
	return &Error{Kind: k, Description: description, Detail: detail}
}

func wrapErr(k Kind, description string, err error) *Error {
	return &Error{Kind: k, Description: description, Err: err}
}

// Sentinels, one per Kind, for errors.Is.
var (
	ErrInternal                = &Error{Kind: KindInternal}
	ErrTokenMissing            = &Error{Kind: KindTokenMissing}
	ErrTokenMalformed          = &Error{Kind: KindTokenMalformed}
	ErrTokenScheme             = &Error{Kind: KindTokenScheme}
	ErrTokenAlgorithm          = &Error{Kind: KindTokenAlgorithm}
	ErrTokenUnknownKey         = &Error{Kind: KindTokenUnknownKey}
	ErrTokenRetiredKey         = &Error{Kind: KindTokenRetiredKey}
	ErrTokenSignature          = &Error{Kind: KindTokenSignature}
	ErrTokenType               = &Error{Kind: KindTokenType}
	ErrTokenIssuer             = &Error{Kind: KindTokenIssuer}
	ErrTokenAudience           = &Error{Kind: KindTokenAudience}
	ErrTokenExpired            = &Error{Kind: KindTokenExpired}
	ErrTokenNotYetValid        = &Error{Kind: KindTokenNotYetValid}
	ErrTokenClaims             = &Error{Kind: KindTokenClaims}
	ErrTokenNotBound           = &Error{Kind: KindTokenNotBound}
	ErrInsufficientScope       = &Error{Kind: KindInsufficientScope}
	ErrSecurityLevel           = &Error{Kind: KindSecurityLevel}
	ErrPersonRequired          = &Error{Kind: KindPersonRequired}
	ErrRequestURL              = &Error{Kind: KindRequestURL}
	ErrDPoPMissing             = &Error{Kind: KindDPoPMissing}
	ErrDPoPMalformed           = &Error{Kind: KindDPoPMalformed}
	ErrDPoPType                = &Error{Kind: KindDPoPType}
	ErrDPoPAlgorithm           = &Error{Kind: KindDPoPAlgorithm}
	ErrDPoPKey                 = &Error{Kind: KindDPoPKey}
	ErrDPoPSignature           = &Error{Kind: KindDPoPSignature}
	ErrDPoPKeyMismatch         = &Error{Kind: KindDPoPKeyMismatch}
	ErrDPoPAth                 = &Error{Kind: KindDPoPAth}
	ErrDPoPMethod              = &Error{Kind: KindDPoPMethod}
	ErrDPoPURL                 = &Error{Kind: KindDPoPURL}
	ErrDPoPIssuedAt            = &Error{Kind: KindDPoPIssuedAt}
	ErrDPoPReplay              = &Error{Kind: KindDPoPReplay}
	ErrAttestationMissing      = &Error{Kind: KindAttestationMissing}
	ErrAttestationMalformed    = &Error{Kind: KindAttestationMalformed}
	ErrAttestationType         = &Error{Kind: KindAttestationType}
	ErrAttestationInvalid      = &Error{Kind: KindAttestationInvalid}
	ErrAttestationExpired      = &Error{Kind: KindAttestationExpired}
	ErrAttestationPractitioner = &Error{Kind: KindAttestationPractitioner}
	ErrAttestationPurpose      = &Error{Kind: KindAttestationPurpose}
	ErrAttestationDecisionRef  = &Error{Kind: KindAttestationDecisionRef}
	ErrSAMLMissing             = &Error{Kind: KindSAMLMissing}
	ErrSAMLMalformed           = &Error{Kind: KindSAMLMalformed}
	ErrSAMLUnsigned            = &Error{Kind: KindSAMLUnsigned}
	ErrSAMLWrapping            = &Error{Kind: KindSAMLWrapping}
	ErrSAMLAlgorithm           = &Error{Kind: KindSAMLAlgorithm}
	ErrSAMLSignature           = &Error{Kind: KindSAMLSignature}
	ErrSAMLUntrustedCert       = &Error{Kind: KindSAMLUntrustedCert}
	ErrSAMLIssuer              = &Error{Kind: KindSAMLIssuer}
	ErrSAMLAudience            = &Error{Kind: KindSAMLAudience}
	ErrSAMLExpired             = &Error{Kind: KindSAMLExpired}
	ErrSAMLNotYetValid         = &Error{Kind: KindSAMLNotYetValid}
	ErrSAMLAttributes          = &Error{Kind: KindSAMLAttributes}
	ErrIssuerUnavailable       = &Error{Kind: KindIssuerUnavailable}
	ErrReplayUnavailable       = &Error{Kind: KindReplayUnavailable}
)

// KindOf returns the Kind of err, or KindInternal when err is not (and
// does not wrap) an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Description returns the client-safe description of err. For errors that
// are not *Error it returns a generic sentence: unknown errors never reach
// the client verbatim.
func Description(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal && e.Description != "" {
		return e.Description
	}
	return "the request could not be authenticated"
}

// OAuthError is the RFC 6750 / RFC 9449 / RFC 9470 error code for err, or ""
// when the response should carry no error code (no credentials at all,
// RFC 6750 §3.1) or no challenge (dependency unavailable, internal).
func OAuthError(err error) string {
	switch k := KindOf(err); {
	case k == KindTokenMissing, k == KindInternal, k == KindIssuerUnavailable, k == KindReplayUnavailable:
		return ""
	case k == KindInsufficientScope:
		return "insufficient_scope"
	case k == KindSecurityLevel, k == KindPersonRequired:
		return "insufficient_user_authentication"
	case k == KindRequestURL:
		return "invalid_request"
	case k >= KindDPoPMissing && k <= KindDPoPReplay:
		return "invalid_dpop_proof"
	default:
		return "invalid_token"
	}
}

// HTTPStatus is the status code a refusal maps to: 401 for credentials that
// are missing or invalid, 403 for a valid token without the needed scope
// or without the person the endpoint serves, 400 for a request URL that
// cannot be checked, 503 when a dependency (JWKS, replay cache) is
// unavailable — the request is refused, never let through — and 500 for
// anything else.
//
// A token without a person (client credentials) at a person's endpoint is
// 403, not 401: the token is valid and was refused for what it is, and no
// other token of that client will do. Its error code is RFC 9470's
// insufficient_user_authentication, which names the remedy (a token with
// a user's authentication).
func HTTPStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	switch k := KindOf(err); k {
	case KindInternal:
		return http.StatusInternalServerError
	case KindIssuerUnavailable, KindReplayUnavailable:
		return http.StatusServiceUnavailable
	case KindInsufficientScope, KindPersonRequired:
		return http.StatusForbidden
	case KindRequestURL:
		return http.StatusBadRequest
	default:
		return http.StatusUnauthorized
	}
}

// DPoPAlgorithms is the algs parameter advertised in DPoP challenges.
const DPoPAlgorithms = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512"

// WWWAuthenticate is the WWW-Authenticate header value for a refusal of an
// endpoint that requires DPoP (RFC 9449 §7.1, RFC 6750 §3), or "" when the
// response should carry none (503, 500). scope is the scope the endpoint
// requires; it is included for insufficient_scope.
func WWWAuthenticate(err error, scope string) string {
	status := HTTPStatus(err)
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return ""
	}
	var b strings.Builder
	b.WriteString("DPoP")
	code := OAuthError(err)
	sep := " "
	if code != "" {
		b.WriteString(sep + `error="` + code + `"`)
		sep = ", "
		b.WriteString(sep + `error_description="` + quoteSafe(Description(err)) + `"`)
	}
	if code == "insufficient_scope" && scope != "" {
		b.WriteString(sep + `scope="` + quoteSafe(scope) + `"`)
		sep = ", "
	}
	b.WriteString(sep + `algs="` + DPoPAlgorithms + `"`)
	return b.String()
}

// quoteSafe keeps a value inside an RFC 7235 quoted-string: only printable
// ASCII minus '"' and '\' (RFC 6750 §3 restricts error_description the same way).
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// WSSecurityFault is the WS-Security 1.1 fault code (local part, namespace
// wsse) for a refused SAML assertion: FailedAuthentication for signature and
// trust failures, InvalidSecurityToken for malformed or unacceptable
// assertions, SecurityTokenUnavailable when none was sent, and
// FailedCheck for an unavailable dependency.
func WSSecurityFault(err error) string {
	switch KindOf(err) {
	case KindSAMLMissing:
		return "SecurityTokenUnavailable"
	case KindSAMLSignature, KindSAMLUntrustedCert, KindSAMLUnsigned, KindSAMLWrapping, KindSAMLIssuer:
		return "FailedAuthentication"
	case KindIssuerUnavailable, KindReplayUnavailable, KindInternal:
		return "FailedCheck"
	default:
		return "InvalidSecurityToken"
	}
}
