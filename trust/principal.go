package trust

import (
	"slices"
	"time"
)

// Credential names the kind of credential a Principal was built from.
type Credential string

// Credentials.
const (
	CredentialHelseIDDPoP Credential = "helseid-dpop" // HelseID access token + DPoP proof
	CredentialXUASAML     Credential = "xua-saml"     // XUA SAML 2.0 assertion in WS-Security
	// CredentialMTLS is a source's organisation certificate, verified by
	// mutual TLS.
	CredentialMTLS Credential = "mtls"
	// CredentialDevLoopback is what pjd serve --dev gives SOAP requests
	// from the loopback interface.
	CredentialDevLoopback Credential = "dev-loopback"
)

// PrincipalKind says what sort of party is asking.
type PrincipalKind string

// Principal kinds.
const (
	// HealthWorker is a person in a care role; carries an attestation.
	HealthWorker PrincipalKind = "health-worker"
	// Citizen is a person asking about their own records.
	Citizen PrincipalKind = "citizen"
	// Compliance is a person reviewing the access log (no patient care,
	// no attestation); only the audit endpoints accept this kind.
	Compliance PrincipalKind = "compliance"
	// System is a source system or another pjd role, authenticated by
	// its organisation certificate (mutual TLS) or, in --dev only, by
	// calling from loopback. Nothing else makes a System principal: see
	// Principal.IsSystem.
	System PrincipalKind = "system"
	// ClientCredentials is a client system with a HelseID token that
	// names no person (client credentials), e.g. a hospital EPJ
	// registering documents over MHD ITI-65. It may register documents
	// for its own organisation and nothing else: it is never a System
	// principal, and every patient-data path refuses it.
	ClientCredentials PrincipalKind = "client-credentials"
)

// Coding is a coded value {code, system} (HelseID adds text).
type Coding struct {
	Code   string `json:"code,omitempty"`
	System string `json:"system,omitempty"`
	Text   string `json:"text,omitempty"`
}

// IsZero reports whether c carries no code.
func (c Coding) IsZero() bool { return c.Code == "" && c.System == "" }

// Identifier is an identifier {id, system} with an optional display name.
type Identifier struct {
	ID     string `json:"id,omitempty"`
	System string `json:"system,omitempty"`
	Name   string `json:"name,omitempty"`
}

// IsZero reports whether i carries no id.
func (i Identifier) IsZero() bool { return i.ID == "" && i.System == "" }

// DecisionRef points at the consumer system's local access decision (the
// source can ask for it during follow-up control, etterfølgende kontroll).
type DecisionRef struct {
	ID           string `json:"id,omitempty"`
	UserSelected bool   `json:"user_selected"`
}

// AttestedPatient is one entry of the attestation's patients array.
type AttestedPatient struct {
	Identifier  Identifier `json:"identifier,omitzero"`
	PointOfCare Identifier `json:"point_of_care,omitzero"`
	Department  Identifier `json:"department,omitzero"`
}

// Client is the client system (EPJ) the credential was issued to.
type Client struct {
	ID            string `json:"client_id,omitempty"`
	Name          string `json:"client_name,omitempty"`
	Tenancy       string `json:"tenancy,omitempty"`
	OrgNrParent   string `json:"orgnr_parent,omitempty"`
	OrgNrChild    string `json:"orgnr_child,omitempty"`
	OrgNrSupplier string `json:"orgnr_supplier,omitempty"`
}

// Principal is who is asking, whichever credential they used. It is the one
// struct the access policy and the audit log read; everything in it has been
// verified (signature, issuer, time, attestation rules) before it is built.
type Principal struct {
	Credential Credential    `json:"credential"`
	Kind       PrincipalKind `json:"kind"`
	Issuer     string        `json:"issuer"`
	TokenID    string        `json:"token_id,omitempty"` // jti, or the SAML assertion ID
	IssuedAt   time.Time     `json:"issued_at,omitzero"`
	ExpiresAt  time.Time     `json:"expires_at,omitzero"`

	// The person (empty for System).
	Subject        string `json:"subject,omitempty"` // pid: F-nr or D-nr
	Name           string `json:"name,omitempty"`
	HPRNumber      string `json:"hpr_number,omitempty"`
	Authorization  Coding `json:"authorization,omitzero"` // Volven 9060 (LE, PS, SP, …)
	SecurityLevel  int    `json:"security_level,omitempty"`
	AssuranceLevel string `json:"assurance_level,omitempty"`
	Network        string `json:"network,omitempty"`

	// The organisation the person acts for.
	LegalEntity Identifier `json:"legal_entity,omitzero"`
	PointOfCare Identifier `json:"point_of_care,omitzero"`
	Department  Identifier `json:"department,omitzero"`

	// Care relation (tjenstlig behov).
	PurposeOfUse        Coding            `json:"purpose_of_use,omitzero"`
	PurposeOfUseDetails Coding            `json:"purpose_of_use_details,omitzero"`
	HealthcareService   Coding            `json:"healthcare_service,omitzero"`
	DecisionRef         DecisionRef       `json:"decision_ref,omitzero"`
	AttestedAt          time.Time         `json:"attested_at,omitzero"` // toa
	Patients            []AttestedPatient `json:"patients,omitempty"`
	HasAttestation      bool              `json:"has_attestation,omitempty"`

	// The client system and what it was granted.
	Client          Client   `json:"client,omitzero"`
	Scopes          []string `json:"scopes,omitempty"`
	MatchedScope    string   `json:"matched_scope,omitempty"` // the required scope the token held
	KeyThumbprint   string   `json:"jkt,omitempty"`           // DPoP key the token is bound to
	HomeCommunityID string   `json:"home_community_id,omitempty"`
}

// IsSystem reports whether p is a system principal from a credential
// that can make one: a verified client certificate (mTLS) or the --dev
// loopback source. A principal that says System but was built from any
// other credential (a token, an assertion) is not one; callers that let
// systems through without a person's policy must ask this, never Kind
// alone.
func (p *Principal) IsSystem() bool {
	return p != nil && p.Kind == System && (p.Credential == CredentialMTLS || p.Credential == CredentialDevLoopback)
}

// HasScope reports whether p was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// Organizations returns the organisation numbers p acts for: its legal
// entity, point of care and the client's parent and child organisation,
// without duplicates or empty values.
func (p *Principal) Organizations() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, v := range []string{p.LegalEntity.ID, p.PointOfCare.ID, p.Client.OrgNrParent, p.Client.OrgNrChild} {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
