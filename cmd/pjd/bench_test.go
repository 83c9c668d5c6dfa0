package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"pjd/cmd/pjd/internal/bench"
	"pjd/conformance/testenv"
	"pjd/gateway"
	"pjd/registry/postgres"
)

// The benchmarks of pjd as a whole. They measure the same cases as pjd
// bench (package bench), on services testenv starts, and report each case's
// figures with b.ReportMetric next to its baseline from the same run:
//
//	go test -run '^$' -bench Transfer -benchtime 8x ./cmd/pjd/
//	go test -run '^$' -bench MHD -benchtime 500x -timeout 20m ./cmd/pjd/
//	go test -run '^$' -bench Registry -benchtime 2000x -timeout 60m ./cmd/pjd/ -pjd.bench.docs 1000000
//
// (the -pjd.bench.* flags go after the package). Serial cases run b.N
// operations; fixed-rate and closed-loop cases run once for
// -pjd.bench.duration whatever b.N is.
//
// They never judge a time; an operation that fails (a wrong answer, a
// dropped request) fails the benchmark.
var (
	benchSize     = flag.Int64("pjd.bench.size", 64<<20, "BenchmarkTransfer: document size in bytes")
	benchRate     = flag.Float64("pjd.bench.rate", 200, "BenchmarkMHD: offered requests/s of the fixed-rate runs")
	benchDuration = flag.Duration("pjd.bench.duration", 10*time.Second, "BenchmarkMHD: length of each fixed-rate and maximum-throughput run; BenchmarkRegistry: of each parallel run")
	benchWorkers  = flag.Int("pjd.bench.workers", 8, "BenchmarkMHD: clients of the maximum-throughput runs")
	benchMHDDocs  = flag.Int("pjd.bench.mhd-docs", 20, "BenchmarkMHD: documents the patient has")
	benchRegDocs  = flag.Int("pjd.bench.docs", 20_000, "BenchmarkRegistry: synthetic DocumentEntries loaded (1000000 for the reference figure)")
)

// testServices are the services testenv provides, as a benchmark run's.
func testServices(b *testing.B, pg, rd, s3 bool) *bench.Services {
	b.Helper()
	svc := &bench.Services{S3Insecure: true}
	if pg {
		svc.PostgresURL = testenv.Postgres(b)
	}
	if rd {
		r := testenv.RedisDB(b)
		svc.RedisURL = "redis://" + r.Addr + "/" + strconv.Itoa(r.DB)
	}
	if s3 {
		svc.S3 = testenv.S3(b)
	}
	return svc
}

func benchLog(b *testing.B) *slog.Logger {
	return slog.New(gateway.NewRedactingHandler(slog.NewTextHandler(testLogWriter{b}, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// report puts a case's figures on the benchmark line, with its ratio to
// its baseline when the baseline ran before it. A timed run (fixed-rate
// or closed-loop, which ignores b.N) reports as ns/op its wall time per
// completed operation.
func report(b *testing.B, row bench.Row, done map[string]bench.Row, timed bool) {
	b.Helper()
	l := row.Lat
	if timed && l.OK > 0 {
		b.ReportMetric(float64(l.Elapsed.Nanoseconds())/float64(l.OK), "ns/op")
	}
	if l.Errors > 0 || l.Dropped > 0 {
		b.Errorf("%d operations failed, %d not sent; first error: %v", l.Errors, l.Dropped, l.FirstErr)
	}
	b.ReportMetric(float64(l.P50)/1e6, "p50-ms")
	b.ReportMetric(float64(l.P99)/1e6, "p99-ms")
	b.ReportMetric(l.PerSecond(), row.Unit+"/s")
	if row.Bytes > 0 {
		b.ReportMetric(row.MBPerSecond(), "MB/s")
	}
	if l.Offered > 0 {
		b.ReportMetric(l.Offered, "offered/s")
	}
	if base, ok := done[row.Baseline]; ok {
		if x, what, ok := row.Versus(base); ok {
			b.ReportMetric(x, "x-baseline-"+what)
		}
	}
	done[row.Name] = row
}

// serial measures c one operation at a time, b.N times.
func serial(b *testing.B, c bench.Case, done map[string]bench.Row) {
	ctx := context.Background()
	var col bench.Collector
	i := uint64(0)
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if err := c.Op(ctx, i); err != nil {
			b.Fatal(err)
		}
		col.Add(time.Since(t0), nil)
		i++
	}
	report(b, c.Row(col.Result(time.Since(start))), done, false)
}

// BenchmarkTransfer: ITI-41 and ITI-43 MB/s through a pjd server on S3
// (versitygw) and PostgreSQL, next to plain minio-go PutObject/GetObject
// of documents of the same size against the same S3 server.
func BenchmarkTransfer(b *testing.B) {
	t, err := bench.NewTransfer(context.Background(), startBenchServer, testServices(b, true, false, true), benchLog(b), *benchSize)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	done := map[string]bench.Row{}
	for _, c := range t.Cases() {
		b.Run(c.Name, func(b *testing.B) { serial(b, c, done) })
	}
}

// BenchmarkMHD: ITI-67 searches and ITI-68 reads (1 MiB) with full
// verification on PostgreSQL + Redis + S3, next to the same endpoints with
// audit records discarded and to the direct registry/repository path:
// serially (b.N), at a fixed offered rate and closed loop at the most the
// server takes (each of those once, for -pjd.bench.duration).
func BenchmarkMHD(b *testing.B) {
	ctx := context.Background()
	o := bench.MHDOptions{Rate: *benchRate, Duration: *benchDuration, Workers: *benchWorkers, Documents: *benchMHDDocs}
	m, err := bench.NewMHD(ctx, startBenchServer, testServices(b, true, true, true), benchLog(b), o.Documents)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	done := map[string]bench.Row{}
	for _, c := range m.Cases() {
		b.Run(c.Name, func(b *testing.B) {
			if c.Mode == "serial" {
				serial(b, c.Case, done)
				return
			}
			// One run of -pjd.bench.duration is the measurement, whatever
			// b.N is (ns/op is then the run's length).
			report(b, c.Row(c.Run(ctx, o)), done, true)
		})
	}
}

// BenchmarkRegistry: FindDocuments through registry.Registry.Query (the
// ITI-18 stored-query path) on PostgreSQL with -pjd.bench.docs synthetic
// DocumentEntries, next to a plain pgx query of the same index lookup;
// serially (b.N) and from 4×GOMAXPROCS clients (for -pjd.bench.duration).
func BenchmarkRegistry(b *testing.B) {
	ctx := context.Background()
	r, err := bench.NewRegistry(ctx, testenv.Postgres(b), bench.RegistryOptions{Documents: *benchRegDocs})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.Logf("%d synthetic DocumentEntries for %d patients, loaded in %v", r.Loaded.Documents, r.Loaded.Patients, r.Loaded.Elapsed.Round(time.Millisecond))
	done := map[string]bench.Row{}
	for _, c := range r.Cases() {
		b.Run(c.Name, func(b *testing.B) {
			if !c.Parallel {
				serial(b, c.Case, done)
				return
			}
			report(b, c.Row(bench.RunClosedLoop(ctx, bench.RegistryWorkers(), *benchDuration, c.Op)), done, true)
		})
	}
}

// TestBenchCommand runs each pjd bench benchmark briefly, on services
// named by flag as an operator would, and checks the table it prints: a
// row per case, every operation successful. It judges no figure.
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and services: skipped with -short")
	}
	// Every service is asked for with the subtest's own t: a subtest that
	// skipped or failed its parent would end the parent's goroutine.
	s3 := func(t *testing.T) []string {
		info := testenv.S3(t)
		return []string{"--s3-endpoint", info.Endpoint, "--s3-bucket", info.Bucket, "--s3-access-key", info.AccessKey,
			"--s3-secret-key", info.SecretKey, "--s3-insecure"}
	}
	redis := func(t *testing.T) []string {
		r := testenv.RedisDB(t)
		return []string{"--redis-url", "redis://" + r.Addr + "/" + strconv.Itoa(r.DB)}
	}
	rows := []struct {
		name    string
		args    func(t *testing.T) []string
		cases   []string // detailed rows on stderr
		targets []string // lines of the table on stdout
	}{
		{"transfer", func(t *testing.T) []string {
			return append([]string{"--postgres-url", testenv.Postgres(t), "--size", "1MiB", "--count", "2"}, s3(t)...)
		}, []string{"s3-put", "iti-41", "s3-get", "iti-43"}, []string{"P3", "P4"}},
		{"register", func(t *testing.T) []string {
			return append([]string{"--postgres-url", testenv.Postgres(t), "--register-size", "10KiB", "--register-duration", "300ms"}, s3(t)...)
		}, []string{"s3-put/max", "iti-41/max"}, []string{"P4"}},
		{"dpop", func(t *testing.T) []string {
			return append([]string{"--postgres-url", testenv.Postgres(t), "--dpop-count", "50"}, redis(t)...)
		}, []string{"raw-signatures", "verify-request"}, []string{"P6"}},
		{"mhd", func(t *testing.T) []string {
			return append(append([]string{"--postgres-url", testenv.Postgres(t),
				"--mhd-count", "5", "--rate", "20", "--duration", "250ms", "--workers", "2", "--mhd-docs", "3"}, redis(t)...), s3(t)...)
		}, []string{"iti-67/direct", "iti-67/no-audit", "iti-67/full", "iti-67/full/rate", "iti-67/no-audit/max", "iti-68/full/max"}, []string{"P2"}},
		{"federation", func(t *testing.T) []string {
			testenv.Postgres(t) // a PostgreSQL installation: federation starts its own server, for its two nodes' databases
			return append(append([]string{"--rate", "20", "--duration", "250ms", "--mhd-docs", "3",
				"--cpuprofile", filepath.Join(t.TempDir(), "cpu.prof")}, redis(t)...), s3(t)...)
		}, []string{"iti-67/single/rate", "iti-67/federated/rate", "iti-38/Helse Vest/rate", "iti-38/Helse Nord/rate"}, []string{"I12"}},
		{"registry", func(t *testing.T) []string {
			return []string{"--postgres-url", testenv.Postgres(t), "--docs", "2000", "--query-count", "20", "--query-duration", "200ms"}
		}, []string{"pgx/serial", "pgx+json/serial", "registry-query/serial", "registry-query/parallel"}, []string{"P1"}},
		{"growth", func(t *testing.T) []string {
			testenv.Postgres(t) // a PostgreSQL installation: growth starts its own server, for its two databases
			return []string{"--docs", "3000", "--small-docs", "1000", "--query-count", "20", "--query-duration", "200ms"}
		}, []string{"pgx/serial", "registry-query/serial"}, []string{"P1", "P5"}},
		// Every case on one set of services, as the README runs it: a case
		// must not see what an earlier one left behind (federation once
		// counted the MHD case's documents as its own).
		{"all", func(t *testing.T) []string {
			testenv.Postgres(t) // a PostgreSQL installation: all starts its own server
			return append(append([]string{"--size", "1MiB", "--count", "2", "--register-size", "10KiB", "--register-duration", "300ms",
				"--dpop-count", "50", "--mhd-count", "5", "--rate", "20", "--duration", "250ms", "--workers", "2", "--mhd-docs", "3",
				"--docs", "3000", "--small-docs", "1000", "--query-count", "20", "--query-duration", "200ms"}, redis(t)...), s3(t)...)
		}, []string{"s3-put", "iti-41", "iti-43", "iti-41/max", "verify-request", "iti-67/full", "iti-67/federated/rate",
			"iti-38/Helse Vest/rate", "registry-query/serial", "registry-query/parallel"},
			[]string{"P1", "P2", "P3", "P4", "P5", "P6", "I12"}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(map[string]time.Duration{"all": 8 * time.Minute}[row.name], 3*time.Minute))
			defer cancel()
			args := row.args(t)
			if code := run(ctx, append([]string{"bench", row.name}, args...), &stdout, &stderr); code != 0 {
				t.Fatalf("pjd bench %s: exit %d\n%s\n%s", row.name, code, stdout.String(), stderr.String())
			}
			if i := slices.Index(args, "--cpuprofile"); i >= 0 {
				// A pprof profile is gzip-compressed protobuf.
				if b, err := os.ReadFile(args[i+1]); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
					t.Errorf("--cpuprofile %s: %d bytes, %v; want a gzip-compressed pprof profile", args[i+1], len(b), err)
				}
			}
			detail, table := stderr.String(), stdout.String()
			for _, c := range row.cases {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(c) + `\s+[1-9]\d*\s+0\s`).MatchString(detail) {
					t.Errorf("no successful row %q (ok > 0, no errors) in:\n%s", c, detail)
				}
			}
			if strings.Contains(detail, "first error") {
				t.Errorf("errors reported:\n%s", detail)
			}
			if !strings.Contains(table, "SAME-RUN BASELINE") || strings.Contains(table, "failed:") {
				t.Errorf("table:\n%s", table)
			}
			for _, id := range row.targets {
				// ID, case, figure … ratio, target, met: yes or no.
				if !regexp.MustCompile(`(?m)^` + id + `\s+\S.*\s(yes|no)\s*$`).MatchString(table) {
					t.Errorf("no %s line in the table:\n%s", id, table)
				}
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"bench", "nope"}, &stdout, &stderr); code != 2 {
			t.Errorf("pjd bench nope: exit %d, want 2", code)
		}
	})
}

// TestBenchRefusesData: a benchmark that registers documents refuses a
// database or bucket that already holds some.
func TestBenchRefusesData(t *testing.T) {
	ctx := context.Background()
	full := testenv.Postgres(t)
	st, err := postgres.Open(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadSynthetic(ctx, postgres.LoadOptions{Documents: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	migrated := testenv.Postgres(t)
	st2, err := postgres.Open(ctx, migrated)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if err := st2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	emptyBucket := testenv.S3(t)
	fullBucket := testenv.S3(t)
	c := newS3Store(t, fullBucket).c
	if _, err := c.PutObject(ctx, fullBucket.Bucket, "somebody/else.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		name   string
		svc    bench.Services
		refuse bool
	}{
		{"fresh database", bench.Services{PostgresURL: testenv.Postgres(t), GivenPostgres: true}, false},
		{"empty registry", bench.Services{PostgresURL: migrated, GivenPostgres: true}, false},
		{"registry with documents", bench.Services{PostgresURL: full, GivenPostgres: true}, true},
		{"throwaway database is not checked", bench.Services{PostgresURL: full}, false},
		{"empty bucket", bench.Services{S3: emptyBucket, S3Insecure: true, GivenS3: true}, false},
		{"bucket with objects", bench.Services{S3: fullBucket, S3Insecure: true, GivenS3: true}, true},
	}
	for _, row := range rows {
		t.Run(strings.ReplaceAll(row.name, " ", "_"), func(t *testing.T) {
			err := row.svc.RefuseData(ctx)
			if (err != nil) != row.refuse {
				t.Errorf("refuseData: %v, want refusal %v", err, row.refuse)
			}
		})
	}
}

// TestBenchKeepReuse: --keep leaves the throwaway PostgreSQL's data (the
// loaded registry) in a directory and says how to reuse it; --reuse starts
// PostgreSQL on it and measures the registry without loading it again, or
// says what it holds when the run asks for another load.
func TestBenchKeepReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and services: skipped with -short")
	}
	testenv.Postgres(t) // a PostgreSQL installation: the benchmark starts its own server
	// Not t.TempDir: the postgres user must reach the directory.
	dir, err := os.MkdirTemp("", "pjd-bench-keep-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bench := func(wantCode int, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		args = append([]string{"bench", "registry", "--query-count", "5", "--query-duration", "100ms"}, args...)
		if code := run(ctx, args, &stdout, &stderr); code != wantCode {
			t.Fatalf("pjd %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
		}
		return stderr.String()
	}
	out := bench(0, "--docs", "300", "--keep", dir)
	if !strings.Contains(out, "300 synthetic DocumentEntries for 30 patients (loaded in") || !strings.Contains(out, "rerun with --reuse "+dir) {
		t.Errorf("--keep: no load, or no word on how to reuse it:\n%s", out)
	}
	out = bench(0, "--docs", "300", "--reuse", dir)
	if !strings.Contains(out, "300 synthetic DocumentEntries for 30 patients, loaded by an earlier run (no load)") ||
		strings.Contains(out, "loaded in") || strings.Contains(out, "loading DocumentEntries") {
		t.Errorf("--reuse loaded again:\n%s", out)
	}
	out = bench(1, "--docs", "400", "--reuse", dir)
	if !strings.Contains(out, "300 DocumentEntries for 30 patients") || !strings.Contains(out, "--docs 300 --patients 30") {
		t.Errorf("--reuse with another --docs: not told what the directory holds:\n%s", out)
	}
	out = bench(1, "--docs", "300", "--keep", dir)
	if !strings.Contains(out, "holds a kept PostgreSQL already") {
		t.Errorf("--keep on a kept directory:\n%s", out)
	}
	empty := t.TempDir()
	out = bench(1, "--docs", "300", "--reuse", empty)
	if !strings.Contains(out, "holds no PostgreSQL a --keep run left") {
		t.Errorf("--reuse of an empty directory:\n%s", out)
	}
}
