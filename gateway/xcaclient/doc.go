// Package xcaclient is pjd's outbound XCA client: one Client per
// community this node federates with (--community), calling the
// community's responding gateway with ITI-38 Cross Gateway Query (and
// ITI-39 Cross Gateway Retrieve) on behalf of the Guard's federated
// searches.
//
// Every call has its own deadline (the community's timeout), takes a slot
// of the community's bounded concurrency (none free: the call fails at
// once), and goes through the community's own http.Transport, so a slow
// community never holds a search past its deadline nor takes connections
// from another. A community whose calls keep failing is skipped for a
// short while, and the failure says so ("Helse Vest skipped: 5 failures
// in the last 30s").
//
// A community's answer is untrusted input: it is read within soap.Limits,
// anything that is not a valid ITI-38 answer is an error for that community
// only, and objects that do not carry the community's homeCommunityId are
// dropped with an error naming the community (research digest §1.9).
//
// This package must never send a community more than the request needs,
// never put internal detail (URLs, Go errors) into the RegistryErrors it
// makes, and never let one community's failure touch another's result.
package xcaclient
