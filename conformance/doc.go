// Package conformance holds IHE transaction scenarios (XDS, MHD, trust),
// written once and run against every deployment: in-process with each
// backend combination, and against a live server (pjd conformance --url).
// It uses pjd only as a client would.
package conformance
