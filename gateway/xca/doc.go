// Package xca is the IHE XCA adapter (ITI TF-1 §18): the Responding
// Gateway (POST /xca/responding: ITI-38 Cross Gateway Query and ITI-39
// Cross Gateway Retrieve over this node's registry and repository) and the
// Initiating Gateway's consumer interface (POST /xca/initiating: ITI-18
// and ITI-43 from XDS consumers, XDS Affinity Domain option), which
// answers through the Guard's federation engine (access.FederatedQuery,
// access.Guard.OpenDocumentIn) and the outbound client (xcaclient).
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
//
// The Initiating Gateway answers ITI-18 from the local registry and every
// community (merged, home on every object; a failed community is
// PartialSuccess with XDSUnavailableCommunity, location = its id);
// id-based queries need AdhocQuery/@home and go to that community only.
// ITI-43 is routed per DocumentRequest by HomeCommunityId: this node's to
// the local repository, another's through ITI-38 metadata, policy and
// audit here, then ITI-39; an unknown one is XDSUnknownCommunity.
//
// Authentication, the mapping of errors from below to RegistryErrors and
// the query and MTOM retrieve writers are those of /xds
// (gateway/internal/xdsadapt); this package adds the community rules.
package xca
