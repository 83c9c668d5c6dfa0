// Package xcatest stands up communities for tests of federation: a
// Region is a real registry (SQLite, its own homeCommunityId) behind an
// ITI-38 responding endpoint on loopback, answered with the registry's
// own stored queries and ebRIM encoder — and it can be told to misbehave
// (down, slow past any deadline, garbage) to test partial failure.
//
// It is test support: only tests import it (the pjd binary links no test
// code). It is not the responding gateway (that one authenticates, runs
// the Guard and audits); it answers every well-formed query.
package xcatest
