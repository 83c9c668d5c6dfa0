// Package audit is pjd's audit log: one record for every query and every
// retrieval of patient documents — permitted, refused or failed — written
// and committed before any data leaves, so that compliance staff can do
// the legally required follow-up control (etterfølgende kontroll) and a
// citizen can see who looked at their documents (innsynslogg).
//
// It does not import trust or registry (only the leaf registry/oid for the
// identifier systems): Record is a flat struct the Guard fills from its
// Principal, policy decision and documents.
//
// # Writing
//
// The gateway calls Logger.Log before it writes the first byte of a
// response body, and fails the request when Log returns an error:
//
//	if err := auditLog.Log(ctx, rec); err != nil { // committed, or an error
//		return errAuditUnavailable                // the caller gets 503, no data
//	}
//	writeBundle(w, …)
//
// Log has its own timeout, detached from the request (a client that goes
// away does not lose the record). The Logger commits with group commit:
// one writer goroutine takes every record waiting when it starts a
// transaction and commits them together, then acknowledges each caller;
// every caller still returns only once its own record is durable. Close
// flushes what is queued. Retrieve transactions may follow IHE's split
// rule (one record for delivered and one for refused documents) or record
// both in one record with each Document's Disposition; both verify alike.
//
// # The chain
//
// Each record is sealed as HMAC-SHA256(key, previous hash ‖ canonical
// bytes), the canonical bytes being the record's stable JSON including its
// seq (see CanonicalBytes; a golden test pins them). The key comes from a
// file (LoadKey) — in --dev a key generated in the data directory
// (LoadOrCreateDevKey) — so someone with only database access cannot
// rebuild a chain that verifies. Every committed batch also stores a head
// checkpoint. Verify walks the chain and names the first bad record and
// why: changed (contents, hash or an index column), inserted (a forgery
// or a copy), removed, reordered, truncated tail, head mismatch, or sealed
// with another key. Deleting the newest records together with their
// checkpoints can only be seen against a head kept outside the database:
// the Witness pjd serve writes the head to every interval (RunWitness;
// VerifyOptions.Witness, which `pjd audit verify` uses by default),
// VerifyOptions.Want (the head a previous `pjd audit verify` printed), or
// the seq/hash every forwarded syslog message carries.
//
// Stores (gateway/audit/sqlaudit: PostgreSQL and SQLite, in the registry's
// database) only ever insert. See sqlaudit for the grants of an
// append-only PostgreSQL role and the triggers that back them up.
//
// # Reading
//
// Search finds records by patient, agent (HPR or F-nr), entity-id
// (document), date range, outcome, purpose of use, transaction and
// flagged-for-review (ParseSearch reads those parameters, as the review API
// gateway/auditapi and the UI's compliance screens use them); a citizen's
// search is confined to their own documents. Records are rendered as FHIR
// R4 AuditEvents following HL7 Norway's trust-framework AuditEvent IG
// (ToAuditEvent, onto the typed resources of gateway/fhir; with the
// citizen's View without health workers' national identity numbers,
// Tillitsrammeverket ATT-8), exported as CSV or FHIR NDJSON, and `pjd audit
// search|export|verify` is CLICommands (RunCLI runs them alone).
//
// # Forwarding
//
// SyslogForwarder sends each committed record to an ATNA audit repository
// as an RFC 5424 message over TLS (RFC 5425 octet counting), carrying the
// record's id, seq and hash as structured data and the AuditEvent as its
// message. It is asynchronous with a bounded queue and reconnects; it
// never blocks or fails the request path (the database is the record of
// truth) and counts what it sent and dropped.
//
// # Never
//
// This package must never update or delete a record, never let a request
// pass whose record was not committed, never show a citizen a health
// worker's national identity number, and never send internal error detail
// to a client.
package audit
