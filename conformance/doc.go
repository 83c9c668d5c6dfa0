// Package conformance holds IHE transaction scenarios (XDS ITI-41/42/18/43,
// MHD ITI-65/66/67/68, the audit review API, and the refusals of every data
// path), written once and run against every deployment: in-process with
// each backend combination (cmd/pjd's TestConformance*), and against a live
// server (pjd conformance --url).
//
// Each scenario makes its own fresh synthetic patient(s) and uniqueIds, so
// it checks exact counts — of query results and of audit records, the
// latter read through GET /fhir/R4/AuditEvent as the dev compliance
// officer — even against a server full of other data, and never depends on
// another scenario. Assertions return errors rather than calling testing.T,
// so the same code runs under go test and under the command.
//
// It uses pjd only as a client would: over HTTP, with pjd's own client
// packages (xdsclient, soap, ebrim) and the dev issuer's token endpoint.
// It must never reach into a server's database, files or memory, never
// stand in for a service with a stub, and never use a real person's
// identity: every patient is a synthetic F-nr (month + 80).
package conformance
