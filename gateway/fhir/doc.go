// Package fhir is pjd's one FHIR R4 codec: the data types and resources
// pjd reads and writes (DocumentReference, List, Bundle, Binary,
// OperationOutcome, AuditEvent and the resources they contain), a Resource
// that holds any of them and reads one by its resourceType, the
// OperationOutcome builder with the issue-type codes (Error, NewError), the
// one writer of FHIR responses (Write, WriteError, WriteTransient: content
// type, status, no caching), and the mapping between OIDs and FHIR
// systems (SystemFor, SchemeFor).
//
// Every gateway adapter that speaks FHIR — MHD (gateway/mhd), the audit
// review API (gateway/auditapi), and those to come — uses it, and so does
// the audit log for its AuditEvents (gateway/audit). It knows nothing of
// XDS, policy or audit records: mapping to and from them is the adapters'
// work.
//
// It must never import another gateway package, talk to the network or a
// store, or put anything in an OperationOutcome but what its caller wrote
// for the client. It imports nothing of pjd's but the leaf registry/oid.
package fhir
