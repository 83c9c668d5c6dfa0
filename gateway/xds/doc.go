// Package xds is the gateway's IHE XDS.b adapter: the SOAP 1.2 endpoints
// /xds/registry (ITI-42 Register, ITI-18 Registry Stored Query, ITI-57
// Update Document Set, ITI-62 Remove Metadata, ITI-51 Multi-Patient Stored
// Query) and /xds/repository (ITI-41 Provide and Register with MTOM/XOP
// streaming, ITI-43 Retrieve, ITI-86 Remove Documents), dispatched on the
// WS-Addressing action.
//
// A handler reads the envelope (gateway/soap), authenticates the sender
// (gateway/authn: XUA, a source's certificate, or the --dev loopback),
// decodes the ebRIM message (registry/ebrim), and hands the request to the
// access Guard, which decides, audits and only then touches the registry
// or the repository. Errors from below become RegistryErrors or SOAP
// faults here, in protocolErrors and the fault helpers, which use the
// mapping, the WS-Security faults and the response writers this adapter
// shares with XCA (gateway/internal/xdsadapt): the one place these
// protocols' errors are made. XCA (ITI-38/39) is an adapter of its own
// beside this one.
//
// It must never reach the registry, the repository or the audit log except
// through the Guard, never import another adapter, and never send internal
// detail (SQL, paths, stack traces) to a client.
package xds
