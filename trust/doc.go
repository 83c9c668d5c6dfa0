// Package trust decides who is asking: it verifies HelseID access tokens
// and their DPoP proofs, the trust-framework attestation (tjenstlig behov)
// they carry, and XUA SAML assertions, and turns each into one Principal.
//
// It must never accept a credential it could not verify completely, and it
// fails closed: when a dependency it needs (JWKS, the replay cache) is
// unavailable, the request is refused.
package trust
