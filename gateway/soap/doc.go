// Package soap is pjd's SOAP wire layer: it reads and writes SOAP 1.2
// messages with WS-Addressing 1.0, plain or MTOM/XOP-packaged, for the XDS.b
// and XCA endpoints (ITI-18/38/39/41/42/43/57/62) and for the clients that
// call them. It knows envelopes, headers, faults and MIME parts — nothing
// about XDS metadata, documents, trust or policy; the gateway's handlers
// build on it and it imports no other pjd package.
//
// Why it exists: the SOAP edge is where untrusted bytes from hospital
// systems and other gateways first meet pjd, and every IHE stack (IPF/CXF,
// the NIST toolkit, .NET WCF, Axis2) frames MTOM a little differently. One
// package does that parsing once, safely, and streams documents instead of
// holding them, so the handlers above receive a checked envelope and an
// io.Reader per attachment.
//
// What it guarantees:
//   - Envelopes are bounded (Limits.MaxEnvelope; 4 MiB for requests by
//     default, DefaultRequestEnvelope, since they are read before their
//     sender is authenticated) and checked token by token before a tree is
//     built: no DTD, no entity declarations or expansion, no external
//     entities, no processing instructions, bounded depth, element and
//     attribute counts, valid UTF-8 only. A billion-laughs body costs a few
//     kilobytes and gets a Sender fault.
//   - A Gate, when a Mux has one, bounds how many envelopes are read and
//     parsed at once (the rest get a BusyFault: 503 with Retry-After), how
//     long each may take to arrive, and hands memory back to the operating
//     system after a burst of large ones.
//   - Attachments stream: ReadRequest/NextPart, MTOMWriter and
//     Client.CallMTOM copy parts between the connection and an io.Reader
//     with constant memory; the total body is bounded by Limits.MaxRequest
//     with a distinguishable error (ErrTooLarge).
//   - xop:Include may refer only to cid: parts of the same message.
//   - Every rejection is a *Fault (SOAP 1.2 Code/Subcode/Reason, WS-Addressing
//     fault action, HTTP 400 for Sender and 500 otherwise) that also matches
//     an Err* kind with errors.Is. Fault reasons are fixed, client-facing
//     text; the internal cause is kept for logs and never written.
//
// What it must never do:
//   - buffer an attachment, or read more of a body than the limits allow;
//   - expand an entity, fetch anything a message names (DTD, schema,
//     xop:Include href other than cid:), or trust a header it has not been
//     asked to verify — it locates wsse:Security for the trust package and
//     does not check it;
//   - write internal detail (errors, paths, SQL, stack traces) into a fault;
//   - leave a half-written message that looks complete: an MTOM message
//     whose writing failed lacks its closing boundary and every reader,
//     this package's included, reports it truncated;
//   - import other pjd packages.
package soap
