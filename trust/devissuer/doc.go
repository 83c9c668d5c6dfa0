// Package devissuer is a development stand-in for HelseID: a token issuer
// under /dev/helseid/ (discovery document, JWKS, an empty expired-keys set
// and a token endpoint that requires an RFC 9449 DPoP proof) that mints
// DPoP-bound access tokens, with the trust-framework attestation, for a
// catalogue of synthetic personas — fastlege, sykehjemslege, sykehuslege,
// psykolog, sykepleier (whom the default policy denies), a compliance
// officer, a citizen and a hospital EPJ system. It also holds the client
// side the pjd CLI uses: make a DPoP key, fetch a token for a persona and
// patient, make proofs, and print the token as JSON.
//
// Its tokens verify with trust.Verifier configured with the issuer's
// metadata URL and AllowDevIssuer — and with nothing else: the discovery
// document says pjd_dev_issuer and every token carries pjd_dev, which a
// production Verifier refuses.
//
// Run as its own process (pjd dev-issuer, Standalone mode) it serves over
// HTTPS with a certificate authority of its own (LoadOrCreatePKI: the CA,
// HTTPS certificates for itself and for pjd serve, a source system's
// client certificate and an XUA signing certificate), and its tokens carry
// no development marks: a pjd serve without --dev accepts them only when
// told to trust exactly this issuer and its CA, which is how production
// mode is tested end to end without the real HelseID.
//
// It must never run outside pjd serve --dev or pjd dev-issuer: New refuses
// to build an issuer unless handed DevMode(true), which only the --dev flag
// should produce, or Standalone(), which only pjd dev-issuer should. It
// must never use real people: every F-nr, HPR number and organisation in
// the catalogue is synthetic. The signing key is kept in the directory the
// caller names, so tokens survive a restart.
package devissuer
