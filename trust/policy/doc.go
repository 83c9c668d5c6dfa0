// Package policy decides what a verified trust.Principal may see or do,
// and says why, in words fit for the audit record.
//
// Decide is a pure function of its Request — the principal, the patient
// asked about, the documents' metadata (policy's own small Document
// struct, so policy never depends on the registry), the patient's blocks
// and the time — and returns a Decision: Permit or Deny, the id of the
// rule that decided (stable strings such as "authorization-not-allowed"),
// a reason sentence, the documents the principal may see, how many were
// hidden and why (NORS documents are counted, never listed), and review
// flags (BTG, ETREAT).
//
// It must never do I/O, read the clock, log, or permit by default: every
// permit names the rule that permitted it, and anything not covered by a
// rule is denied. Blocks (sperringer) are loaded by the caller through a
// BlockStore and passed in.
package policy
