// Package authn establishes who is calling the gateway: it turns the
// credentials a request carries into one trust.Principal, for every
// adapter that needs it. SOAP requests (XDS today, XCA next) are
// authenticated by SOAP: an XUA SAML assertion in the WS-Security header
// (verified by trust.SAMLVerifier), a source's verified TLS client
// certificate, or — in --dev only — the loopback interface. HTTP requests
// (MHD, the UI launch, the audit API) carry a HelseID DPoP token, which
// TokenVerifier (trust.Verifier) checks.
//
// It exists so that adapters share one way of recognising a caller and no
// adapter reaches for another's. It decides nothing about what the caller
// may see (gateway/access and trust/policy do) and writes no audit record
// (the adapter records a refusal through the Guard); it must never accept a
// credential it did not verify, nor treat a request as a system's unless
// its certificate or the --dev loopback says so.
package authn
