// Package gateway is the HTTP server every pjd endpoint is mounted on: one
// Server with the operational endpoints (/healthz, /readyz with its
// ReadyChecks, /metrics), the middleware each request runs through
// (request ids, recovery, structured logging without personal data,
// metrics), and the bounds on time and concurrency of Limits, which answer
// a request the server will not take on now with a 503 in its protocol's
// shape (SOAP fault, OperationOutcome, JSON).
//
// # The gateway's packages
//
// The subpackages of gateway/ are pjd's network edge, in five layers; a
// test (layering_test.go) fails when a package imports against them:
//
//   - adapters, one per protocol, each turning its wire format into calls
//     on the Guard and the Guard's answers and errors into its wire format,
//     in one place: xds (SOAP XDS.b: ITI-41/42/18/43), mhd (FHIR MHD:
//     ITI-65/66/67/68, and the XDS↔FHIR mapping), ui (the embeddable UI and
//     its backend over the Guard), auditapi (GET /fhir/R4/AuditEvent), xca
//     (XCA: the responding gateway, ITI-38/39). They never import each
//     other. The adapters to come sit beside them: the XCA initiating
//     gateway (in xca), the FHIR Consent and Patient endpoints, each a
//     package that mounts its routes on a Server.
//   - adapter kits, what several adapters share: internal/xdsadapt (XDS
//     over SOAP, for xds and xca). A kit uses the Guard and imports no
//     adapter.
//   - the Guard, access: the one way from an adapter to patient data —
//     policy decision, audit record committed, then data.
//   - the pieces adapters and the Guard use: this package (the server),
//     authn (who is calling: XUA, client certificates, DPoP tokens), audit
//     (the hash-chained audit log; sqlaudit stores it), blocks (patients'
//     blocks), xdsclient (the XDS client a repository-only process, the
//     CLI and the conformance suite use). They import no adapter, no kit
//     and not the Guard.
//   - codecs, which import nothing else of the gateway: soap (SOAP 1.2,
//     MTOM/XOP, WS-Security headers) and fhir (FHIR R4 resources,
//     OperationOutcome, the one FHIR writer).
//
// This package must never know an adapter or the data behind one: it
// serves routes it is given. Neither it nor any gateway package sends
// internal detail (SQL, paths, stack traces) to a client; each adapter
// makes its protocol's errors from the typed errors below it, once.
package gateway
