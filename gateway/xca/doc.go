// Package xca is the IHE XCA adapter (ITI TF-1 §18): the Responding
// Gateway (POST /xca/responding: ITI-38 Cross Gateway Query and ITI-39
// Cross Gateway Retrieve over this node's registry and repository) and,
// beside it, the Initiating Gateway with its outbound client.
//
// The Responding Gateway is ITI-18/ITI-43 through the same access Guard
// (same policy, same audit, transaction ITI-38/ITI-39, recording the
// calling gateway) plus the community rules (research digest §1.3,
// §1.6–1.7): every ExtrinsicObject, RegistryPackage and ObjectRef of an
// answer carries this community's home; a request for another community
// is XDSUnknownCommunity and an id-based query without home is
// XDSMissingHomeCommunityId; every RegistryError of an ITI-38 answer has
// location = this community's id; ITI-39 answers are MTOM and echo each
// DocumentRequest's HomeCommunityId exactly as sent.
//
// Callers are persons (an XUA assertion in WS-Security, verified as on
// /xds/registry) or systems (a client certificate; the --dev loopback);
// nobody else. Asynchronous (non-anonymous ReplyTo) exchanges are refused
// with the WS-Addressing fault of the soap package — a documented
// deviation from ITI TF-2 §3.38.1 [judgement: research digest §1.5].
package xca
