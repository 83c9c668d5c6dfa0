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
// It must never run outside pjd serve --dev: New refuses to build an issuer
// unless handed DevMode(true), which only the --dev flag should produce. It
// must never use real people: every F-nr, HPR number and organisation in
// the catalogue is synthetic. The signing key is kept in the directory the
// caller names, so tokens survive a restart.
package devissuer
