// Package demo builds the synthetic demo data that `pjd serve --dev` seeds:
// synthetic patients (synthetic F-nr/D-nr only) with epikriser, radiology
// reports and an imaging report, as real PDF (conformance/pdf), text and
// JPEG documents. Only the pjd binary uses it (and cmd/pjd's tests, which
// run that server). It never contains data about real people.
package demo
