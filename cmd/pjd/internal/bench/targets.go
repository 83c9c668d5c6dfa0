package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Target is one line of the table pjd bench prints: a figure of issue 14's
// targets (P1…P6), the baseline measured in the same run, their ratio, the
// target and whether this run met it.
type Target struct {
	ID       string // "P1" … "P6"
	What     string // the case, e.g. "ITI-18 FindDocuments, 1,000,000 entries, p99"
	Figure   string // this run's figure, with its unit
	Baseline string // the same-run baseline, with its unit ("" when the target is absolute)
	Ratio    float64
	Goal     string // the target, e.g. "≤ 5 ms; ≥ 0.70× pgx q/s"
	Met      bool
	// Err, when set, means the case could not be measured.
	Err error
}

// PrintTargets prints the one table of a pjd bench run.
func PrintTargets(w io.Writer, title string, ts []Target) {
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = ", load " + strings.Join(f[:3], " ")
		}
	}
	fmt.Fprintf(w, "\npjd bench %s (%s, %d CPUs%s)\n\n", title, time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), load)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tCASE\tFIGURE\tSAME-RUN BASELINE\tRATIO\tTARGET\tMET\t")
	for _, t := range ts {
		ratio, met := "-", "no"
		if t.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", t.Ratio)
		}
		if t.Met {
			met = "yes"
		}
		fig := t.Figure
		if t.Err != nil {
			fig, met = "failed: "+firstLine(t.Err.Error(), 60), "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.ID, t.What, fig, or(t.Baseline, "-"), ratio, t.Goal, met)
	}
	tw.Flush()
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func firstLine(s string, n int) string {
	for i, c := range s {
		if c == '\n' || i >= n {
			return s[:i] + "…"
		}
	}
	return s
}

func msf(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// findRow is the row named name (zero Row when there is none).
func findRow(rows []Row, name string) Row {
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	return Row{}
}

// TransferTargets are P3 and P4's MB/s targets from the transfer rows.
func TransferTargets(rows []Row, size int64) []Target {
	var out []Target
	for _, c := range []struct{ id, what, row, base string }{
		{"P3", "ITI-43 retrieve from S3", "iti-43", "s3-get"},
		{"P4", "ITI-41 register to S3", "iti-41", "s3-put"},
	} {
		r, b := findRow(rows, c.row), findRow(rows, c.base)
		t := Target{ID: c.id, What: fmt.Sprintf("%s, %d MiB documents, MB/s", c.what, size>>20),
			Figure:   fmt.Sprintf("%.0f MB/s", r.MBPerSecond()),
			Baseline: fmt.Sprintf("%.0f MB/s plain minio-go %s", b.MBPerSecond(), map[string]string{"s3-get": "GetObject", "s3-put": "PutObject"}[c.base]),
			Goal:     "≥ 0.80× baseline"}
		if b.MBPerSecond() > 0 {
			t.Ratio = r.MBPerSecond() / b.MBPerSecond()
			t.Met = t.Ratio >= 0.8
		}
		out = append(out, t)
	}
	return out
}

// RegisterTargets is P4's submissions/s target from the register rows.
func RegisterTargets(rows []Row, size int64) []Target {
	r, b := findRow(rows, "iti-41/max"), findRow(rows, "s3-put/max")
	t := Target{ID: "P4", What: fmt.Sprintf("ITI-41 submissions/s, %d KiB documents, %d clients", size>>10, RegisterWorkers()),
		Figure:   fmt.Sprintf("%.0f/s (p99 %s)", r.Lat.PerSecond(), msf(r.Lat.P99)),
		Baseline: fmt.Sprintf("%.0f/s plain PutObject", b.Lat.PerSecond()),
		Goal:     "≥ 300/s", Met: r.Lat.PerSecond() >= 300}
	if b.Lat.PerSecond() > 0 {
		t.Ratio = r.Lat.PerSecond() / b.Lat.PerSecond()
	}
	return []Target{t}
}

// MHDTargets is P2 from the MHD rows: the most full-trust searches/s the
// server takes with their p99, and the serial latency next to the same
// search with trust and audit off (the direct path: registry read,
// filtering and FHIR rendering, no HTTP).
func MHDTargets(rows []Row) []Target {
	max, full, direct := findRow(rows, "iti-67/full/max"), findRow(rows, "iti-67/full"), findRow(rows, "iti-67/direct")
	t1 := Target{ID: "P2", What: "MHD ITI-67 full trust + audit, most searches/s",
		Figure: fmt.Sprintf("%.0f/s, p99 %s", max.Lat.PerSecond(), msf(max.Lat.P99)),
		Goal:   "≥ 1,000/s, p99 ≤ 20 ms", Met: max.Lat.PerSecond() >= 1000 && max.Lat.P99 <= 20*time.Millisecond}
	t2 := Target{ID: "P2", What: "MHD ITI-67 full trust + audit, serial p50",
		Figure:   msf(full.Lat.P50),
		Baseline: msf(direct.Lat.P50) + " trust and audit off (direct)",
		Goal:     "≤ 1.5× baseline"}
	if direct.Lat.P50 > 0 {
		t2.Ratio = float64(full.Lat.P50) / float64(direct.Lat.P50)
		t2.Met = t2.Ratio <= 1.5
	}
	return []Target{t1, t2}
}

// RegistryTargets is P1 from the registry rows of a registry of docs
// entries.
func RegistryTargets(rows []Row, docs int) []Target {
	q, par, pgxPar := findRow(rows, "registry-query/serial"), findRow(rows, "registry-query/parallel"), findRow(rows, "pgx/parallel")
	t1 := Target{ID: "P1", What: fmt.Sprintf("ITI-18 FindDocuments, %s entries, serial p99", thousands(docs)),
		Figure:   msf(q.Lat.P99),
		Baseline: msf(findRow(rows, "pgx/serial").Lat.P99) + " plain pgx",
		Goal:     "≤ 5 ms", Met: q.Lat.P99 > 0 && q.Lat.P99 <= 5*time.Millisecond}
	if b := findRow(rows, "pgx/serial").Lat.P99; b > 0 {
		t1.Ratio = float64(q.Lat.P99) / float64(b)
	}
	t2 := Target{ID: "P1", What: fmt.Sprintf("ITI-18 FindDocuments, %s entries, q/s with %d clients", thousands(docs), RegistryWorkers()),
		Figure:   fmt.Sprintf("%.0f/s", par.Lat.PerSecond()),
		Baseline: fmt.Sprintf("%.0f/s plain pgx", pgxPar.Lat.PerSecond()),
		Goal:     "≥ 0.70× baseline"}
	if pgxPar.Lat.PerSecond() > 0 {
		t2.Ratio = par.Lat.PerSecond() / pgxPar.Lat.PerSecond()
		t2.Met = t2.Ratio >= 0.7
	}
	return []Target{t1, t2}
}

// GrowthTarget is P5: the serial FindDocuments p99 at large next to the
// same at small.
func GrowthTarget(small, large []Row, smallDocs, largeDocs int) Target {
	s, l := findRow(small, "registry-query/serial"), findRow(large, "registry-query/serial")
	t := Target{ID: "P5", What: fmt.Sprintf("FindDocuments p99 at %s entries", thousands(largeDocs)),
		Figure:   msf(l.Lat.P99),
		Baseline: msf(s.Lat.P99) + " at " + thousands(smallDocs),
		Goal:     "≤ 1.5× baseline"}
	if s.Lat.P99 > 0 && l.Lat.P99 > 0 {
		t.Ratio = float64(l.Lat.P99) / float64(s.Lat.P99)
		t.Met = t.Ratio <= 1.5
	}
	return t
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	out := ""
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(c)
	}
	return out
}
