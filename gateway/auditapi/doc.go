// Package auditapi is the gateway's adapter for the audit review API, GET
// /fhir/R4/AuditEvent: compliance staff search every record (by patient,
// agent, document, date range, outcome, purpose of use, transaction,
// flagged for review); a citizen sees only accesses to their own
// documents, with health workers' names, HPR numbers and organisations but
// never their national identity numbers (Tillitsrammeverket ATT-8).
//
// AuditViewer authenticates the caller (a HelseID DPoP token with the audit
// or the citizen scope, permitted by trust/policy); NewHandler records
// every search — refused or not — as an AUDIT-SEARCH record before any
// result leaves (503 when that record cannot be written), searches the log
// (gateway/audit) and answers a FHIR searchset Bundle of AuditEvents or an
// OperationOutcome (gateway/fhir). Its refusals are made here, once.
//
// It must never return a record whose search was not itself recorded,
// show a citizen another patient's accesses or a health worker's national
// identity number, write or change a record, import another adapter, or
// send internal error detail to a client.
package auditapi
