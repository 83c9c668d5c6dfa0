// Package demo builds the synthetic demo data that `pjd serve --dev` seeds:
// synthetic patients (synthetic F-nr/D-nr only) with epikriser, radiology
// reports and an imaging report, as real PDF, text and JPEG documents. It
// never contains data about real people.
package demo
