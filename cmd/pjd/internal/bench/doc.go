// Package bench is pjd bench and the benchmarks of cmd/pjd: the fixtures
// (a pjd server wired like pjd serve, its backends, seeded data), the
// operations measured, the ways of driving them (serially, from several
// workers, at a fixed offered rate) and the figures reported. Each figure
// is reported next to a baseline measured in the same run; nothing here
// judges a time.
//
// The services it is not given it starts with conformance/services; the
// server itself comes from cmd/pjd (StartServer), which wires it with the
// code pjd serve runs. It never imports package testing: pjd links it.
package bench
