package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"pjd/cmd/pjd/internal/bench"
	"pjd/gateway"
	"pjd/gateway/access"
)

const benchDoc = `Services not given by flag are started for the run on loopback ports
(throwaway PostgreSQL, Redis, versitygw) and removed afterwards (--keep DIR
keeps PostgreSQL's data, the loaded registries, for reruns with --reuse DIR). The
benchmarks register synthetic documents: never point them at a database,
bucket or Redis that holds real data.`

// benchCmd is pjd bench: one subcommand per case of issue 14's targets
// and "all", each printing one table (case, figure, same-run baseline,
// ratio, target, met) on stdout and the detailed rows on stderr.
func benchCmd() *cmd {
	sf := &bench.ServiceFlags{}
	size := byteSize(64 << 20)
	regSize := byteSize(100 << 10)
	var count, dpopCount int
	var regDuration time.Duration
	var smallDocs int
	var cpuProfile string
	mo := bench.MHDOptions{}
	ro := bench.RegistryOptions{}

	// A case runs on the services it needs and returns its target lines;
	// the detailed rows go to stderr.
	type benchCase struct {
		name       string
		pg, rd, s3 bool
		run        func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error)
	}
	detail := func(stderr io.Writer, name string, rows []bench.Row) {
		if len(rows) > 0 {
			bench.PrintTable(stderr, name, rows)
		}
	}
	transfer := benchCase{"transfer", true, false, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.TransferBenchmark(ctx, startBenchServer, svc, log, int64(size), count)
		detail(stderr, "transfer", rows)
		return bench.TransferTargets(rows, int64(size)), err
	}}
	register := benchCase{"register", true, false, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.RegisterBenchmark(ctx, startBenchServer, svc, log, int64(regSize), regDuration)
		detail(stderr, "register", rows)
		return bench.RegisterTargets(rows, int64(regSize)), err
	}}
	dpop := benchCase{"dpop", true, true, false, func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.DPoPBenchmark(ctx, startBenchServer, svc, log, dpopCount)
		detail(stderr, "dpop", rows)
		return []bench.Target{bench.DPoPTarget(rows, "Redis")}, err
	}}
	mhdCase := benchCase{"mhd", true, true, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.MHDBenchmark(ctx, startBenchServer, svc, log, mo)
		detail(stderr, "mhd", rows)
		return bench.MHDTargets(rows), err
	}}
	federation := benchCase{"federation", true, true, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.FederationBenchmark(ctx, startBenchServer, svc, log, mo)
		detail(stderr, "federation", rows)
		return []bench.Target{bench.FederationTarget(rows)}, err
	}}
	regOpts := func(stderr io.Writer) bench.RegistryOptions {
		o := ro
		o.Notes = stderr
		o.NewProgress = func(total int) func(int) { return bench.NewProgress(stderr, "DocumentEntries", total).Update }
		return o
	}
	registryCase := benchCase{"registry", true, false, false, func(ctx context.Context, svc *bench.Services, _ *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		rows, err := bench.RegistryBenchmark(ctx, svc, regOpts(stderr))
		detail(stderr, "registry", rows)
		return bench.RegistryTargets(rows, ro.Documents), err
	}}
	growth := benchCase{"growth", true, false, false, func(ctx context.Context, svc *bench.Services, _ *slog.Logger, stderr io.Writer) ([]bench.Target, error) {
		if smallDocs >= ro.Documents {
			return nil, usageErrorf("--small-docs must be below --docs")
		}
		small, large, err := bench.GrowthBenchmark(ctx, svc, regOpts(stderr), smallDocs)
		detail(stderr, "registry "+strconv.Itoa(smallDocs), small)
		detail(stderr, "registry "+strconv.Itoa(ro.Documents), large)
		return append(bench.RegistryTargets(large, ro.Documents), bench.GrowthTarget(small, large, smallDocs, ro.Documents)), err
	}}

	// run runs cases on one set of services and prints their table; a case
	// that fails is a line saying so, and the others still run.
	run := func(title string, cases ...benchCase) func(ctx context.Context, inv *invocation) error {
		return func(ctx context.Context, inv *invocation) error {
			if count < 1 || size < 1 || regSize < 1 || regDuration <= 0 || dpopCount < 1 {
				return usageErrorf("--count, --size, --register-size, --register-duration and --dpop-count must be positive")
			}
			if mo.Count < 1 || mo.Rate <= 0 || mo.Duration <= 0 || mo.Workers < 1 || mo.Documents < 1 {
				return usageErrorf("--mhd-count, --rate, --duration, --workers and --mhd-docs must be positive")
			}
			if ro.Documents < 1 || ro.Count < 1 || ro.Duration <= 0 || ro.Patients < 0 || smallDocs < 1 {
				return usageErrorf("--docs, --query-count, --query-duration and --small-docs must be positive")
			}
			log := slog.New(gateway.NewRedactingHandler(slog.NewTextHandler(inv.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			var pg, rd, s3 bool
			for _, c := range cases {
				pg, rd, s3 = pg || c.pg, rd || c.rd, s3 || c.s3
			}
			svc, err := sf.Start(ctx, pg, rd, s3)
			if svc != nil {
				defer svc.Close()
			}
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			// A given database or bucket must hold no data before a case
			// that registers documents runs — checked once, before the
			// first case: the cases of one run leave their own synthetic
			// documents there for the next. registry and growth only load
			// an empty database or measure one an earlier run loaded
			// (bench.NewRegistry).
			if slices.ContainsFunc(cases, func(c benchCase) bool { return c.name != "registry" && c.name != "growth" }) {
				if err := svc.RefuseData(ctx); err != nil {
					return err
				}
			}
			var targets []bench.Target
			var firstErr error
			for _, c := range cases {
				if ctx.Err() != nil {
					break
				}
				fmt.Fprintf(inv.stderr, "pjd bench: %s …\n", c.name)
				ts, err := c.run(ctx, svc, log, inv.stderr)
				if err != nil {
					fmt.Fprintf(inv.stderr, "pjd bench %s: %v\n", c.name, err)
					firstErr = cmp.Or(firstErr, fmt.Errorf("%s: %w", c.name, err))
					if len(ts) == 0 {
						ts = []bench.Target{{ID: "-", What: c.name, Err: err}}
					}
					for i := range ts { // a figure with failed operations meets nothing
						ts[i].Met = false
						ts[i].Figure += " (with errors)"
					}
				}
				targets = append(targets, ts...)
			}
			bench.PrintTargets(inv.stdout, title, targets)
			if svc.KeptDir != "" {
				fmt.Fprintf(inv.stderr, "pjd bench: PostgreSQL's data (the loaded registries) is kept in %s: rerun with --reuse %s\n", svc.KeptDir, svc.KeptDir)
			}
			return firstErr
		}
	}
	flags := func(fs *flag.FlagSet) {
		size = 64 << 20
		regSize = 100 << 10
		fs.Var(&size, "size", "transfer: document size")
		fs.IntVar(&count, "count", 8, "transfer: documents moved each way, by pjd and by the baseline")
		fs.Var(&regSize, "register-size", "register: document size")
		fs.DurationVar(&regDuration, "register-duration", 10*time.Second, "register: length of each run")
		fs.IntVar(&dpopCount, "dpop-count", 5000, "dpop: verifications of each kind")
		fs.IntVar(&mo.Count, "mhd-count", 500, "mhd: requests of each kind in the serial runs")
		fs.Float64Var(&mo.Rate, "rate", 200, "mhd, federation: offered rate of the fixed-rate runs, requests/s")
		fs.DurationVar(&mo.Duration, "duration", 10*time.Second, "mhd, federation: length of each fixed-rate and maximum-throughput run")
		fs.IntVar(&mo.Workers, "workers", 8, "mhd: concurrent clients of the maximum-throughput runs")
		fs.IntVar(&mo.Documents, "mhd-docs", 20, "mhd, federation: documents the patient has (in each community) (one of them the 1 MiB document ITI-68 reads)")
		fs.IntVar(&ro.Documents, "docs", 10_000_000, "registry, growth: synthetic DocumentEntries to load")
		fs.IntVar(&ro.Patients, "patients", 0, "registry, growth: synthetic patients they are spread over (0: docs/10)")
		fs.IntVar(&smallDocs, "small-docs", 100_000, "growth: DocumentEntries of the small registry compared with")
		fs.IntVar(&ro.Count, "query-count", 2000, "registry, growth: queries of each kind in the serial runs")
		fs.DurationVar(&ro.Duration, "query-duration", 5*time.Second, "registry, growth: length of each parallel run")
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the cases' run to this file: the servers run in this process, so it shows where a request's CPU goes")
	}
	sub := func(c benchCase, summary, doc string) *cmd {
		return &cmd{name: c.name, summary: summary, doc: doc + "\n\n" + benchDoc, run: run(c.name, c)}
	}
	return &cmd{
		name: "bench", summary: "run benchmarks: all, dpop, transfer, register, mhd, federation, registry, growth",
		doc:   "Each prints one table: case, figure, same-run baseline, ratio, target (issue 14), met.\n\n" + benchDoc,
		flags: func(fs *flag.FlagSet) { sf.Define(fs); flags(fs) },
		subs: []*cmd{
			{name: "all", summary: "every case below on one set of services",
				doc: "dpop, transfer, register, mhd, federation and growth (which includes registry) on one set of\n" +
					"services, one table.\n\n" + benchDoc,
				run: run("all", dpop, transfer, register, mhdCase, federation, growth)},
			sub(dpop, "P6: DPoP request verification on one core (Redis replay cache), next to the raw signature checks",
				"Whole DPoP request verifications by a pjd server's verifier with the Redis replay\n"+
					"cache, serially with GOMAXPROCS 1, next to the two raw signature verifications."),
			sub(transfer, "P3/P4: ITI-41 and ITI-43 MB/s through pjd on S3, next to plain S3 PutObject/GetObject",
				"ITI-41 and ITI-43 MB/s through a pjd server on S3 (and PostgreSQL), next to plain\n"+
					"minio-go PutObject/GetObject of the same bytes against the same S3 server."),
			sub(register, "P4: ITI-41 submissions/s of small documents, next to plain PutObject",
				"ITI-41 submissions of --register-size documents from several clients at once, next to\n"+
					"plain minio-go PutObject of the same bytes from as many clients."),
			sub(mhdCase, "P2: ITI-67 searches and ITI-68 reads with full verification, next to the same without trust and audit",
				"ITI-67 searches and ITI-68 reads of a 1 MiB document with full verification (DPoP,\n"+
					"token, attestation, policy, audit write) on PostgreSQL + Redis + S3: serially, at a\n"+
					"fixed offered rate and at the most the server takes; next to the same without the\n"+
					"audit write, and to the direct registry/repository path."),
			sub(federation, "issue 12: ITI-67 federated to two communities, next to the same search on one community",
				"ITI-67 searches at the fixed --rate for --duration on a node federating with two\n"+
					"communities (the dev regions: responding gateways in this process, each its own store\n"+
					"with the same --mhd-docs documents of the patient), next to the same search on a node\n"+
					"that federates with nobody, and a direct ITI-38 on each community: the p99 the fan-out\n"+
					"adds against the slowest community's own p99."),
			sub(registryCase, "P1: ITI-18 FindDocuments on PostgreSQL with synthetic entries, next to a plain pgx query",
				"FindDocuments through the registry's stored-query path (ITI-18) on PostgreSQL loaded\n"+
					"with --docs synthetic DocumentEntries, next to a plain pgx query of the same index lookup."),
			sub(growth, "P1/P5: FindDocuments at --small-docs and at --docs entries",
				"The registry case on a registry of --small-docs entries and on one of --docs, with the\n"+
					"same documents per patient: what the size costs."),
		},
	}
}

// startBenchServer is the benchmarks' bench.StartServer: a pjd server in
// this process (startInProcess) on a free loopback port.
func startBenchServer(ctx context.Context, args []string, log *slog.Logger) (*bench.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p, err := startInProcess(ctx, append(args, "--listen", ln.Addr().String()), ln, log)
	if err != nil {
		return nil, err
	}
	a := p.app
	if a.repo == nil || a.reg == nil || a.verifier == nil {
		p.close()
		return nil, errors.New("a benchmark server runs every role")
	}
	var regions []string
	var communities []access.Community
	if len(a.regions) > 0 {
		for _, r := range devRegions {
			regions = append(regions, p.cfg.publicURL+r.path())
		}
		if communities, err = p.cfg.communityClients(ctx, a.outboundIdentity); err != nil {
			p.close()
			return nil, err
		}
	}
	return &bench.Server{
		URL: p.cfg.publicURL, RepositoryID: a.repo.UniqueID(), Regions: regions, Communities: communities,
		Registry: a.reg, Repository: a.repo, Policy: a.pol, Blocks: a.blockStore, Tokens: a.verifier,
		Display: a.guard.DisplayFunc(),
		Close:   func() { _ = p.close() },
	}, nil
}

// startCPUProfile starts a CPU profile of this process into path; stop
// ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
