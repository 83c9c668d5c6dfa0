// Package registrytest is the one test suite every registry.Store passes:
// registry/sqlite and registry/postgres each call Run from a short test,
// with the store and a probe (Waiting) that shows an Update waiting for
// another, so that the cancellation of a blocked Update is proved, not
// assumed.
// It covers every filter field alone and combined, registration order,
// the JSON round trip of every model field, status and lastUpdateTime
// changes, Update's all-or-nothing transactions, its retry of conflicting
// check-then-insert races, invalid input, Ping and cancellation, and the
// document lifecycle: versions (the latest flag, one version per (lid,
// version) even under concurrent updates), Folder and Association status,
// physical removal, and patient identity links.
//
// Fixtures are synthetic Norwegian data only: Test-Norge style F-nr
// (birth month + 80, valid check digits), Volven codes, made-up HPR
// numbers. registrytest must never be imported by non-test code.
package registrytest
