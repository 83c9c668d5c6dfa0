// Package trust decides who is asking: it verifies HelseID access tokens
// and their DPoP proofs, the trust-framework attestation (tjenstlig behov)
// they carry, and XUA SAML assertions, and turns each into one Principal.
//
// It must never accept a credential it could not verify completely, and it
// fails closed: when a dependency it needs (JWKS, the replay cache) is
// unavailable, the request is refused (503), never let through. It must
// never import another pjd package (trust/policy and trust/devissuer build
// on it, not the other way round), and it never logs: errors carry a
// client-safe Description and server-only Detail/Err for the caller to log
// once.
//
// # Using it from the gateway
//
// HelseID + DPoP (MHD and the other REST endpoints):
//
//	v, err := trust.NewVerifier(trust.Config{
//		Issuers:  []trust.IssuerConfig{{MetadataURL: "https://helseid-sts.nhn.no/.well-known/openid-configuration"}},
//		Audience: "nhn:phr",
//		Replay:   trust.NewRedisReplayCache(redisClient, "pjd:dpop:"), // trust.NewMemoryReplayCache(nil, 0) with --dev
//	})
//	p, err := v.VerifyRequest(ctx, r, trust.Requirement{
//		Scope:  trust.ScopeReadDocumentReferences,
//		Scopes: []string{trust.ScopeReadDocumentReferencesKJ}, // alternatives; the one found is p.MatchedScope
//		HTU:    publicBaseURL + r.URL.Path,                     // the external URL the client used
//	})
//	if err != nil {
//		w.Header().Set("WWW-Authenticate", trust.WWWAuthenticate(err, scope)) // when non-empty
//		http.Error(w, trust.Description(err), trust.HTTPStatus(err))         // log err itself
//	}
//
// XUA SAML (SOAP consumers, XCA):
//
//	sv, err := trust.NewSAMLVerifier(trust.SAMLConfig{
//		TrustedCertificates: certs,
//		Issuers:             []string{"https://helseid-xdssaml.nhn.no"},
//		Audiences:           []string{"nhn:dokumentdeling-saml"},
//	})
//	p, err := sv.Verify(ctx, securityHeader) // the wsse:Security *etree.Element
//	// on error: a SOAP fault with wsse:trust.WSSecurityFault(err) and trust.Description(err)
//
// Both return the same *Principal (Credential says which); pass it to
// trust/policy and to the audit log.
//
// # What is checked
//
// Access token (RFC 9068, HelseID): compact JWS only; alg RS/PS/ES 256/384/512
// (never none, never HMAC) and fitting the key (and the JWK's alg when it
// names one); typ at+jwt (or JWT); the key by kid from the issuer's JWKS,
// fetched via its discovery document and cached (refreshed every
// JWKSRefresh, refetched on an unknown kid at most once per MinRefetch,
// kept through an issuer outage for JWKSMaxStale); keys listed at the
// discovery document's expired_jwks_uri are refused (KindTokenRetiredKey);
// exact iss; aud holds Config.Audience; exp required, exp/nbf/iat with Skew
// (default 5 s); scope (JSON array or space-separated string) holds the
// endpoint's scope; a person's token needs security_level 4. A token that
// passed these checks is remembered by its SHA-256 until its exp (bounded,
// Config.TokenCacheSize; only under the key snapshot it was verified with,
// so a JWKS refresh checks it again; refusals never remembered): the same
// token presented again is not parsed and verified again. Nothing below —
// DPoP, scope, security level, attestation — is ever remembered.
//
// DPoP (RFC 9449 §4.3 and §7): the Authorization scheme must be DPoP
// (Bearer is refused, including for DPoP-bound tokens); exactly one DPoP
// header; typ dpop+jwt; alg as above and fitting the jwk; the jwk public
// (no d, no symmetric key); signature; htm equal to the method; htu equal
// to Requirement.HTU after RFC 3986 normalisation, ignoring query and
// fragment; iat within [now-ProofMaxAge-Skew, now+Skew]; ath equal to
// base64url(SHA-256(token)); the jwk's RFC 7638 thumbprint equal to the
// token's cnf.jkt; and the jti (hashed with the thumbprint) unseen in the
// ReplayCache, stored until the proof could no longer pass the iat check.
// The cache is asked (SET NX) while the signature is verified and the
// principal checked, once every other check passed, and the id is deleted
// again when those fail: a refused proof does not use up its jti, and a
// request is accepted only with the cache's yes (ProofVerifier.verifyThen
// has the argument). A Redis error is KindReplayUnavailable (503). A Redis
// restart (a new run_id, read whenever the client had to dial) empties the
// cache: proofs issued before it are refused (KindDPoPIssuedAt) until they
// are too old anyway, on every node (RedisReplayCache, ForgottenBefore).
//
// Attestation (tillitsrammeverk v1.1): read from authorization_details (an
// object or an array, the entry of type nhn:tillitsrammeverk:parameters)
// or from a claim named nhn:tillitsrammeverk:parameters; care_relationship
// and the spec's spelling care_relation are both read. Required for health
// workers (a person's token whose matched scope is not a citizen or
// compliance scope). See Attestation.Validate for the element rules; toa
// older than 60 minutes is KindAttestationExpired (attestation_has_expired).
//
// XUA SAML: exactly one assertion, a direct child of wsse:Security (or of a
// samlp:Response that is), with one enveloped signature of its own as a
// direct child, one Reference to the assertion's ID (unique in the whole
// message), transforms enveloped-signature + exclusive C14N, SHA-2 digest
// and signature methods, no ds:Object; a certificate in KeyInfo is used
// only if it equals a configured trusted certificate (valid now); without
// KeyInfo every trusted certificate is tried. goxmldsig then verifies the
// signature and returns the canonical signed bytes re-parsed, and only that
// element is read afterwards: Issuer on the allow-list, IssueInstant,
// Conditions NotBefore/NotOnOrAfter with Skew, every AudienceRestriction
// naming a configured audience, the NameID, and the XUA, urn:no:ehelse and
// urn:nhn:trust-framework:1.0:ext:* attributes (contradicting duplicates
// are refused). A health worker's attributes pass the same attestation
// rules as the JSON attestation, with IssueInstant as toa; purpose of use
// ISO 14265 code 13 (helsenorge) makes the principal a citizen.
// An assertion that passed is remembered by the SHA-256 of its exact
// serialisation (namespaces in scope) until the earliest of NotOnOrAfter,
// IssueInstant + the attestation's maximum age and its certificate's
// NotAfter (bounded, SAMLConfig.CacheSize; refusals never remembered): the
// same assertion presented again is not canonicalised, verified and read
// again. Where it sits in the message is checked on every message.
// SAMLSigner makes the signature this verification expects (exclusive
// C14N, RSA-SHA256, after Issuer): XUA minting uses it, and so do the
// tests.
//
// XUAMinter mints the assertions of pjd's outbound XCA hops from a
// verified Principal, as NHN's national gateway writes them (S-KJ38's
// attribute names, order and duplicates; the helsenorge shape for a
// citizen), one audience per call, valid until min(now + 5 min, toa + 60
// min, the credential's expiry). A system principal gets none
// (ErrMintSystem): its hop authenticates with mutual TLS only.
// With an XUACache, the assertion minted for the very same Principal,
// audience, issuer and key is handed back (a copy) during the first half
// of its validity instead of signing a new one; correlation ids travel
// outside the assertion, so nothing of one search rides on another's.
// SAMLVerifier reads what XUAMinter writes back into an equivalent
// Principal; the time of attestation becomes the minting time, since no
// NHN attribute carries toa. LoadSAMLSigner reads a PEM key pair.
//
// # Errors
//
// Every refusal is a *Error with one Kind; errors.Is(err, trust.ErrXxx)
// matches by kind. HTTPStatus, WWWAuthenticate, OAuthError and
// WSSecurityFault map errors to the protocol at the edge; Description is
// the only text that may be sent to a client.
package trust
