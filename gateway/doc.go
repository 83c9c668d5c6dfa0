// Package gateway is pjd's network edge: HTTP server plumbing (with the
// bounds on time and concurrency every request runs under, Limits, and
// readiness checks), the SOAP 1.2 XDS endpoints, MHD (FHIR R4) endpoints,
// the embeddable UI, audit logging and the audit review API, and clients
// for remote registry/repository roles.
//
// It is the only package that turns internal errors into protocol errors
// (SOAP faults, RegistryErrors, OperationOutcomes), and it must never send
// internal detail (SQL, paths, stack traces) to a client.
package gateway
