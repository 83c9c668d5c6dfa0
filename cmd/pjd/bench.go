package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"pjd/cmd/pjd/internal/bench"
	"pjd/gateway"
)

const benchDoc = `Services not given by flag are started for the run on loopback ports
(throwaway PostgreSQL, Redis, versitygw) and removed afterwards. The
benchmarks register synthetic documents: never point them at a database,
bucket or Redis that holds real data.`

// benchCmd is pjd bench: one subcommand per benchmark, the services they
// run on named by the flags they share.
func benchCmd() *cmd {
	sf := &bench.ServiceFlags{}
	// run runs one benchmark on the services it needs.
	run := func(name string, pg, rd, s3 bool, run func(ctx context.Context, svc *bench.Services, log *slog.Logger, stderr io.Writer) ([]bench.Row, error)) func(ctx context.Context, inv *invocation) error {
		return func(ctx context.Context, inv *invocation) error {
			log := slog.New(gateway.NewRedactingHandler(slog.NewTextHandler(inv.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			svc, err := sf.Start(ctx, pg, rd, s3)
			if svc != nil {
				defer svc.Close()
			}
			if err != nil {
				return err
			}
			rows, err := run(ctx, svc, log, inv.stderr)
			if len(rows) > 0 {
				bench.PrintTable(inv.stdout, name, rows)
			}
			return err
		}
	}
	size := byteSize(64 << 20)
	var count int
	mo := bench.MHDOptions{}
	ro := bench.RegistryOptions{}
	return &cmd{
		name: "bench", summary: "run benchmarks: transfer, mhd, registry",
		doc:   benchDoc,
		flags: sf.Define,
		subs: []*cmd{{
			name: "transfer", summary: "ITI-41 and ITI-43 MB/s through pjd on S3, next to plain S3 PutObject/GetObject",
			doc: "ITI-41 and ITI-43 MB/s through a pjd server on S3 (and PostgreSQL), next to plain\n" +
				"minio-go PutObject/GetObject of the same bytes against the same S3 server.\n\n" + benchDoc,
			flags: func(fs *flag.FlagSet) {
				size = 64 << 20
				fs.Var(&size, "size", "document size")
				fs.IntVar(&count, "count", 8, "documents moved each way, by pjd and by the baseline")
			},
			run: run("transfer", true, false, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, _ io.Writer) ([]bench.Row, error) {
				if count < 1 || size < 1 {
					return nil, usageErrorf("--count and --size must be positive")
				}
				if err := svc.RefuseData(ctx); err != nil {
					return nil, err
				}
				return bench.TransferBenchmark(ctx, startBenchServer, svc, log, int64(size), count)
			}),
		}, {
			name: "mhd", summary: "ITI-67 searches and ITI-68 reads with full verification, next to the same without audit",
			doc: "ITI-67 searches and ITI-68 reads of a 1 MiB document with full verification (DPoP,\n" +
				"token, attestation, policy, audit write) on PostgreSQL + Redis + S3: serially, at a\n" +
				"fixed offered rate and at the most the server takes; next to the same without the\n" +
				"audit write, and to the direct registry/repository path.\n\n" + benchDoc,
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&mo.Count, "count", 500, "requests of each kind in the serial runs")
				fs.Float64Var(&mo.Rate, "rate", 200, "offered rate of the fixed-rate runs, requests/s")
				fs.DurationVar(&mo.Duration, "duration", 10*time.Second, "length of each fixed-rate and maximum-throughput run")
				fs.IntVar(&mo.Workers, "workers", 8, "concurrent clients of the maximum-throughput runs")
				fs.IntVar(&mo.Documents, "docs", 20, "documents the patient has (one of them the 1 MiB document ITI-68 reads)")
			},
			run: run("mhd", true, true, true, func(ctx context.Context, svc *bench.Services, log *slog.Logger, _ io.Writer) ([]bench.Row, error) {
				if mo.Count < 1 || mo.Rate <= 0 || mo.Duration <= 0 || mo.Workers < 1 || mo.Documents < 1 {
					return nil, usageErrorf("--count, --rate, --duration, --workers and --docs must be positive")
				}
				if err := svc.RefuseData(ctx); err != nil {
					return nil, err
				}
				return bench.MHDBenchmark(ctx, startBenchServer, svc, log, mo)
			}),
		}, {
			name: "registry", summary: "ITI-18 FindDocuments on PostgreSQL with synthetic entries, next to a plain pgx query",
			doc: "FindDocuments through the registry's stored-query path (ITI-18) on PostgreSQL loaded\n" +
				"with synthetic DocumentEntries, next to a plain pgx query of the same index lookup.\n\n" + benchDoc,
			flags: func(fs *flag.FlagSet) {
				fs.IntVar(&ro.Documents, "docs", 1_000_000, "synthetic DocumentEntries to load")
				fs.IntVar(&ro.Patients, "patients", 0, "synthetic patients they are spread over (0: docs/10)")
				fs.BoolVar(&ro.Reuse, "reuse", false, "use the synthetic documents a previous run loaded into --postgres-url instead of loading")
				fs.IntVar(&ro.Count, "count", 2000, "queries of each kind in the serial runs")
				fs.DurationVar(&ro.Duration, "duration", 5*time.Second, "length of each parallel run")
			},
			run: run("registry", true, false, false, func(ctx context.Context, svc *bench.Services, _ *slog.Logger, stderr io.Writer) ([]bench.Row, error) {
				if ro.Documents < 1 || ro.Count < 1 || ro.Duration <= 0 || ro.Patients < 0 {
					return nil, usageErrorf("--docs, --count and --duration must be positive")
				}
				o := ro
				o.Progress = func(loaded int) {
					if loaded%100_000 == 0 || loaded == o.Documents {
						fmt.Fprintf(stderr, "loaded %d of %d DocumentEntries\n", loaded, o.Documents)
					}
				}
				o.Notes = stderr
				return bench.RegistryBenchmark(ctx, svc, o)
			}),
		}},
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
	return &bench.Server{
		URL: p.cfg.publicURL, RepositoryID: a.repo.UniqueID(),
		Registry: a.reg, Repository: a.repo, Policy: a.pol, Blocks: a.blockStore, Tokens: a.verifier,
		Display: a.guard.DisplayFunc(),
		Close:   func() { _ = p.close() },
	}, nil
}
