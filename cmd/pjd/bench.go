package main

// pjd bench and the benchmarks of bench_test.go share this file: the
// fixtures (a pjd server wired like pjd serve, its backends, seeded data),
// the operations measured, the ways of driving them (serially, from
// several workers, at a fixed offered rate) and the figures reported. Each
// figure is reported next to a baseline measured in the same run; nothing
// here judges a time.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"pjd/conformance/testenv"
	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/mhd"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/postgres"
	"pjd/repository"
	"pjd/trust/devissuer"
)

const benchDoc = `Services not given by flag are started for the run on loopback ports
(throwaway PostgreSQL, Redis, versitygw) and removed afterwards. The
benchmarks register synthetic documents: never point them at a database,
bucket or Redis that holds real data.`

// benchCmd is pjd bench: one subcommand per benchmark, the services they
// run on named by the flags they share.
func benchCmd() *cmd {
	sf := &benchServiceFlags{}
	// bench runs one benchmark on the services it needs.
	bench := func(name string, pg, rd, s3 bool, run func(ctx context.Context, svc *benchServices, log *slog.Logger, stderr io.Writer) ([]benchRow, error)) func(ctx context.Context, inv *invocation) error {
		return func(ctx context.Context, inv *invocation) error {
			log := slog.New(gateway.NewRedactingHandler(slog.NewTextHandler(inv.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			svc, err := sf.start(ctx, pg, rd, s3)
			if svc != nil {
				defer svc.close()
			}
			if err != nil {
				return err
			}
			rows, err := run(ctx, svc, log, inv.stderr)
			if len(rows) > 0 {
				printBenchTable(inv.stdout, name, rows)
			}
			return err
		}
	}
	size := byteSize(64 << 20)
	var count int
	mo := mhdOptions{}
	ro := registryOptions{}
	return &cmd{
		name: "bench", summary: "run benchmarks: transfer, mhd, registry",
		doc:   benchDoc,
		flags: sf.define,
		subs: []*cmd{{
			name: "transfer", summary: "ITI-41 and ITI-43 MB/s through pjd on S3, next to plain S3 PutObject/GetObject",
			doc: "ITI-41 and ITI-43 MB/s through a pjd server on S3 (and PostgreSQL), next to plain\n" +
				"minio-go PutObject/GetObject of the same bytes against the same S3 server.\n\n" + benchDoc,
			flags: func(fs *flag.FlagSet) {
				size = 64 << 20
				fs.Var(&size, "size", "document size")
				fs.IntVar(&count, "count", 8, "documents moved each way, by pjd and by the baseline")
			},
			run: bench("transfer", true, false, true, func(ctx context.Context, svc *benchServices, log *slog.Logger, _ io.Writer) ([]benchRow, error) {
				if count < 1 || size < 1 {
					return nil, usageErrorf("--count and --size must be positive")
				}
				if err := svc.refuseData(ctx); err != nil {
					return nil, err
				}
				return transferBenchmark(ctx, svc, log, int64(size), count)
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
			run: bench("mhd", true, true, true, func(ctx context.Context, svc *benchServices, log *slog.Logger, _ io.Writer) ([]benchRow, error) {
				if mo.Count < 1 || mo.Rate <= 0 || mo.Duration <= 0 || mo.Workers < 1 || mo.Documents < 1 {
					return nil, usageErrorf("--count, --rate, --duration, --workers and --docs must be positive")
				}
				if err := svc.refuseData(ctx); err != nil {
					return nil, err
				}
				return mhdBenchmark(ctx, svc, log, mo)
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
			run: bench("registry", true, false, false, func(ctx context.Context, svc *benchServices, _ *slog.Logger, stderr io.Writer) ([]benchRow, error) {
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
				return registryBenchmark(ctx, svc, o)
			}),
		}},
	}
}

// benchServiceFlags name the services a benchmark runs on.
type benchServiceFlags struct {
	postgresURL, redisURL                 string
	s3Endpoint, s3Bucket, s3Access, s3Key string
	s3Insecure                            bool
}

func (f *benchServiceFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.postgresURL, "postgres-url", "", "PostgreSQL database to use (default: a throwaway server)")
	fs.StringVar(&f.redisURL, "redis-url", "", "Redis to use (default: a throwaway redis-server)")
	fs.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint host:port to use (default: a throwaway versitygw)")
	fs.StringVar(&f.s3Bucket, "s3-bucket", "", "S3 bucket (with --s3-endpoint)")
	fs.StringVar(&f.s3Access, "s3-access-key", "", "S3 access key (with --s3-endpoint)")
	fs.StringVar(&f.s3Key, "s3-secret-key", "", "S3 secret key (with --s3-endpoint; prefer PJD_S3_SECRET_KEY)")
	fs.BoolVar(&f.s3Insecure, "s3-insecure", false, "plain HTTP to a loopback --s3-endpoint")
}

// benchServices are the services one benchmark run uses.
type benchServices struct {
	postgresURL string
	redisURL    string
	s3          testenv.S3Info
	s3Insecure  bool
	// given: the database or bucket was named by flag (or environment),
	// not started for the run.
	givenPostgres, givenS3 bool
	closers                closers
}

// refuseData makes sure a database or bucket given to a benchmark that
// registers documents holds none: the benchmark must never mix its
// synthetic documents with real ones.
func (s *benchServices) refuseData(ctx context.Context) error {
	if s.givenPostgres && s.postgresURL != "" {
		conn, err := pgx.Connect(ctx, s.postgresURL)
		if err != nil {
			return fmt.Errorf("--postgres-url: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var table, has bool
		err = conn.QueryRow(ctx, "SELECT to_regclass('documents') IS NOT NULL").Scan(&table)
		if err == nil && table {
			err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM documents)").Scan(&has)
		}
		if err != nil {
			return fmt.Errorf("--postgres-url: %w", err)
		}
		if has {
			return errors.New("--postgres-url: the database holds documents; benchmarks that register documents need an empty one")
		}
	}
	if s.givenS3 && s.s3.Endpoint != "" {
		c, err := minio.New(s.s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.s3.AccessKey, s.s3.SecretKey, ""), Secure: !s.s3Insecure})
		if err != nil {
			return fmt.Errorf("--s3-endpoint: %w", err)
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		oi, found := <-c.ListObjects(lctx, s.s3.Bucket, minio.ListObjectsOptions{Recursive: true, MaxKeys: 1})
		switch {
		case found && oi.Err != nil:
			return fmt.Errorf("--s3-bucket: %w", oi.Err)
		case found:
			return errors.New("--s3-bucket: the bucket holds objects; benchmarks that store documents need an empty one")
		}
	}
	return nil
}

func (s *benchServices) close() { s.closers.close() }

// start gives the run the services it needs: those named by flag, and
// throwaway ones for the rest.
func (f *benchServiceFlags) start(ctx context.Context, pg, rd, s3 bool) (*benchServices, error) {
	svc := &benchServices{postgresURL: f.postgresURL, redisURL: f.redisURL, s3Insecure: true, givenPostgres: f.postgresURL != ""}
	if pg && svc.postgresURL == "" {
		srv, err := testenv.StartPostgres()
		if err != nil {
			return svc, fmt.Errorf("starting a throwaway PostgreSQL (or give --postgres-url): %w", err)
		}
		svc.closers.add(srv.Stop)
		if svc.postgresURL, err = srv.CreateDatabase(ctx, "pjd_bench"); err != nil {
			return svc, err
		}
	}
	if rd && svc.redisURL == "" {
		addr, stop, err := startThrowawayRedis(ctx)
		if err != nil {
			return svc, fmt.Errorf("starting a throwaway redis-server (or give --redis-url): %w", err)
		}
		svc.closers.add(stop)
		svc.redisURL = "redis://" + addr + "/0"
	}
	if s3 {
		if f.s3Endpoint != "" {
			if f.s3Bucket == "" || f.s3Access == "" || f.s3Key == "" {
				return svc, errors.New("--s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key go together")
			}
			svc.s3 = testenv.S3Info{Endpoint: f.s3Endpoint, Bucket: f.s3Bucket, AccessKey: f.s3Access, SecretKey: f.s3Key}
			svc.s3Insecure, svc.givenS3 = f.s3Insecure, true
		} else {
			svc.closers.add(testenv.StopAll) // stops the versitygw NewS3Bucket starts
			info, err := testenv.NewS3Bucket(ctx)
			if err != nil {
				return svc, fmt.Errorf("starting a throwaway versitygw (or give --s3-endpoint …): %w", err)
			}
			svc.s3 = info
		}
	}
	return svc, nil
}

// startThrowawayRedis runs redis-server on a free loopback port, without
// persistence, until stop is called (or this process dies).
func startThrowawayRedis(ctx context.Context) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "pjd-bench-redis-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := testenv.WaitTCP(wctx, addr, exited); err != nil {
		stop()
		return "", nil, fmt.Errorf("%w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return addr, stop, nil
}

// serveArgs are the pjd serve flags of a benchmark server on svc: --dev
// (loopback sources, the dev token issuer) with every backend svc has.
func (s *benchServices) serveArgs(data string) []string {
	args := []string{"--dev", "--data", data, "--demo-data=false", "--sweep-interval=0", "--log-level", "warn"}
	if s.postgresURL != "" {
		args = append(args, "--postgres-url", s.postgresURL)
	}
	if s.redisURL != "" {
		args = append(args, "--redis-url", s.redisURL)
	}
	if s.s3.Endpoint != "" {
		args = append(args, "--s3-endpoint", s.s3.Endpoint, "--s3-bucket", s.s3.Bucket,
			"--s3-access-key", s.s3.AccessKey, "--s3-secret-key", s.s3.SecretKey)
		if s.s3Insecure {
			args = append(args, "--s3-insecure")
		}
	}
	return args
}

// benchServer is a pjd server in this process, wired by buildApp from
// serve flags exactly as pjd serve wires it, on a loopback port.
type benchServer struct {
	URL    string
	app    *app
	srv    *http.Server
	data   string
	cancel context.CancelFunc
	done   chan struct{}
}

func startBenchServer(ctx context.Context, args []string, log *slog.Logger) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fs := newFlagSet("serve", io.Discard)
	c := defineServeFlags(fs)
	err = loadConfig(fs, append(args, "--listen", ln.Addr().String()), func(string) string { return "" })
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("serve flags: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, err := buildApp(sctx, c, log)
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	s := &benchServer{URL: c.publicURL, app: a, srv: gateway.HTTPServer(c.listen, a.handler, log), data: c.data, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	a.startBackground(sctx)
	return s, nil
}

func (s *benchServer) close() {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.app.close()
}

// newBenchDataDir makes the data folder of a benchmark server.
func newBenchDataDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "pjd-bench-data-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// startBenchServerOn starts a benchmark server on svc (with the extra
// serve flags) in a new data folder; cs stops it and removes the folder.
func startBenchServerOn(ctx context.Context, svc *benchServices, log *slog.Logger, cs *closers, extra ...string) (*benchServer, error) {
	data, rm, err := newBenchDataDir()
	if err != nil {
		return nil, err
	}
	cs.add(rm)
	srv, err := startBenchServer(ctx, append(svc.serveArgs(data), extra...), log)
	if err != nil {
		return nil, err
	}
	cs.add(srv.close)
	return srv, nil
}

// randomSeq is a random first seq for the documents of a run, so that
// runs on one database do not collide (with room to count up).
func randomSeq() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 24
}

// benchOp is one measured operation; i numbers the operations of a run.
type benchOp func(ctx context.Context, i uint64) error

// latencies summarises a run of operations.
type latencies struct {
	OK, Errors int
	FirstErr   error
	Dropped    int // fixed-rate runs: requests not sent because too many were outstanding
	Elapsed    time.Duration
	P50, P99   time.Duration
	Max        time.Duration
	Offered    float64 // fixed-rate runs: requests/s offered
}

// PerSecond is the rate of successful operations.
func (l latencies) PerSecond() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.OK) / l.Elapsed.Seconds()
}

// collector gathers latencies from concurrent operations.
type collector struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	firstErr error
	dropped  int
}

func (c *collector) add(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs++
		if c.firstErr == nil {
			c.firstErr = err
		}
		return
	}
	c.lat = append(c.lat, d)
}

func (c *collector) result(elapsed time.Duration) latencies {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := latencies{OK: len(c.lat), Errors: c.errs, FirstErr: c.firstErr, Dropped: c.dropped, Elapsed: elapsed}
	if len(c.lat) > 0 {
		slices.Sort(c.lat)
		l.P50 = c.lat[len(c.lat)/2]
		l.P99 = c.lat[min(len(c.lat)-1, len(c.lat)*99/100)]
		l.Max = c.lat[len(c.lat)-1]
	}
	return l
}

// runSerial runs op n times, one at a time.
func runSerial(ctx context.Context, n int, op benchOp) latencies {
	var c collector
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		err := op(ctx, uint64(i))
		c.add(time.Since(t0), err)
		if ctx.Err() != nil {
			break
		}
	}
	return c.result(time.Since(start))
}

// runClosedLoop runs op from workers goroutines, each starting its next
// operation when the last ends, for d: the most the server takes.
func runClosedLoop(ctx context.Context, workers int, d time.Duration, op benchOp) latencies {
	var c collector
	var seq atomic.Uint64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(ctx, seq.Add(1))
				c.add(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	return c.result(time.Since(start))
}

// maxOutstanding bounds the requests a fixed-rate run has open at once;
// beyond it, scheduled requests are counted as dropped instead of sent.
const maxOutstanding = 512

// runAtRate offers op at rate per second for d, open loop: requests start
// on schedule whether or not earlier ones have finished. A latency is
// measured from the request's scheduled start, so a server that falls
// behind is charged for the queueing it causes.
func runAtRate(ctx context.Context, rate float64, d time.Duration, op benchOp) latencies {
	var c collector
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	sem := make(chan struct{}, maxOutstanding)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := op(ctx, uint64(i))
			c.add(time.Since(at), err)
		})
	}
	wg.Wait()
	l := c.result(time.Since(start))
	l.Offered = rate
	return l
}

// benchRow is one line of a pjd bench table.
type benchRow struct {
	Name     string
	Unit     string // what one operation is: "searches", "reads", "queries", "documents"
	Bytes    int64  // per operation, for MB/s; 0: not a transfer
	Lat      latencies
	Baseline string // the row this one is compared with, if any
}

// versus compares r with its baseline b: MB/s for transfers (at a fixed
// offered rate both move the same bytes, so there the median latency),
// else the median latency.
func (r benchRow) versus(b benchRow) (x float64, what string, ok bool) {
	if r.Bytes > 0 && r.Lat.Offered == 0 && b.mbPerSecond() > 0 {
		return r.mbPerSecond() / b.mbPerSecond(), "MB/s", true
	}
	if b.Lat.P50 > 0 {
		return float64(r.Lat.P50) / float64(b.Lat.P50), "p50", true
	}
	return 0, "", false
}

func (r benchRow) mbPerSecond() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return r.Lat.PerSecond() * float64(r.Bytes) / 1e6
}

// printBenchTable prints rows with each row's ratio to its baseline row.
func printBenchTable(w io.Writer, name string, rows []benchRow) {
	byName := map[string]benchRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	fmt.Fprintf(w, "\npjd bench %s (%s, GOMAXPROCS %d)\n\n", name, time.Now().UTC().Format(time.RFC3339), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tOK\tERRORS\tOFFERED/S\tDONE/S\tMB/S\tP50 MS\tP99 MS\tMAX MS\tVS BASELINE\t")
	for _, r := range rows {
		offered, mb, vs := "", "", ""
		if r.Lat.Offered > 0 {
			offered = fmt.Sprintf("%.0f", r.Lat.Offered)
		}
		if r.Bytes > 0 {
			mb = fmt.Sprintf("%.1f", r.mbPerSecond())
		}
		if b, ok := byName[r.Baseline]; ok {
			if x, what, ok := r.versus(b); ok {
				vs = fmt.Sprintf("%.2f× %s of %s", x, what, r.Baseline)
			}
		}
		errs := strconv.Itoa(r.Lat.Errors)
		if r.Lat.Dropped > 0 {
			errs += fmt.Sprintf(" (+%d dropped)", r.Lat.Dropped)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f %s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Lat.OK, errs, offered, r.Lat.PerSecond(), r.Unit, mb,
			ms(r.Lat.P50), ms(r.Lat.P99), ms(r.Lat.Max), vs)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Lat.FirstErr != nil {
			fmt.Fprintf(w, "%s: first error: %v\n", r.Name, r.Lat.FirstErr)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

// ---- transfer: ITI-41 / ITI-43 next to plain S3 ----

// transferBench moves documents of one size through a pjd server on S3
// (ITI-41 in, ITI-43 out) and, as the baseline, through minio-go straight
// to the same S3 server (PutObject with the size known, GetObject).
type transferBench struct {
	srv     *benchServer
	xc      *xdsclient.Client
	s3      *minio.Client
	bucket  string
	size    int64
	patient string
	seq     atomic.Uint64
	closers closers

	mu       sync.Mutex
	uploaded []pattern // documents registered, by uniqueId order
	uids     []string
	objects  []string // baseline objects to read
}

func newTransferBench(ctx context.Context, svc *benchServices, log *slog.Logger, size int64) (_ *transferBench, err error) {
	t := &transferBench{size: size, bucket: svc.s3.Bucket, patient: registry.SamplePatientID(7)}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	t.srv, err = startBenchServerOn(ctx, svc, log, &t.closers, "--max-document-size", strconv.FormatInt(size, 10),
		"--max-request-size", strconv.FormatInt(size+16<<20, 10))
	if err != nil {
		return nil, err
	}
	t.xc = xdsclient.New(t.srv.URL, &http.Client{Timeout: 30 * time.Minute})
	t.s3, err = minio.New(svc.s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(svc.s3.AccessKey, svc.s3.SecretKey, ""), Secure: !svc.s3Insecure})
	if err != nil {
		return nil, err
	}
	t.seq.Store(randomSeq())
	// One document each way first: connections, pools and caches warm,
	// and something to read in the read runs.
	if err := t.provide(ctx, 0); err != nil {
		return nil, fmt.Errorf("warm-up ITI-41: %w", err)
	}
	if err := t.put(ctx, 0); err != nil {
		return nil, fmt.Errorf("warm-up PutObject: %w", err)
	}
	return t, nil
}

func (t *transferBench) close() { t.closers.close() }

// provide registers one document with ITI-41 (size and hash not declared:
// the repository measures them as it streams).
func (t *transferBench) provide(ctx context.Context, _ uint64) error {
	seq := t.seq.Add(1)
	p := pattern{seed: seq, size: t.size}
	sub, docs := patternSubmission(seq, t.patient, p)
	resp, err := t.xc.Provide(ctx, sub, docs)
	if err != nil {
		return err
	}
	if resp.Status != registry.ResponseSuccess {
		return fmt.Errorf("ITI-41: %s %v", resp.Status, resp.Errors)
	}
	t.mu.Lock()
	t.uploaded = append(t.uploaded, p)
	t.uids = append(t.uids, sub.Documents[0].UniqueID)
	t.mu.Unlock()
	return nil
}

// retrieve reads a registered document back with ITI-43, verifying every
// byte.
func (t *transferBench) retrieve(ctx context.Context, i uint64) error {
	t.mu.Lock()
	k := int(i % uint64(len(t.uids)))
	p, uid := t.uploaded[k], t.uids[k]
	t.mu.Unlock()
	res, err := t.xc.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: t.srv.app.repo.UniqueID(), DocumentUniqueID: uid}})
	if err != nil {
		return err
	}
	defer res.Close()
	if res.Response.Errors.Failed() {
		return res.Response.Errors
	}
	_, body, err := res.Next()
	if err != nil {
		return err
	}
	_, err = p.verify(body)
	return err
}

// put stores the same bytes with plain minio-go PutObject, size known.
func (t *transferBench) put(ctx context.Context, _ uint64) error {
	seq := t.seq.Add(1)
	key := fmt.Sprintf("bench/put-%d", seq)
	if _, err := t.s3.PutObject(ctx, t.bucket, key, pattern{seed: seq, size: t.size}.reader(), t.size, minio.PutObjectOptions{}); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.objects = append(t.objects, key)
	if len(t.objects) > 4 {
		// Keep a few to read; remove the rest as the run goes.
		old := t.objects[0]
		t.objects = t.objects[1:]
		return t.s3.RemoveObject(ctx, t.bucket, old, minio.RemoveObjectOptions{})
	}
	return nil
}

// get reads a baseline object with plain minio-go GetObject.
func (t *transferBench) get(ctx context.Context, i uint64) error {
	t.mu.Lock()
	key := t.objects[int(i%uint64(len(t.objects)))]
	t.mu.Unlock()
	o, err := t.s3.GetObject(ctx, t.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer o.Close()
	n, err := io.CopyBuffer(io.Discard, o, make([]byte, 256<<10))
	if err == nil && n != t.size {
		err = fmt.Errorf("GetObject: %d bytes, want %d", n, t.size)
	}
	return err
}

// transferCases are the cases of the transfer benchmark, each with the
// baseline it is compared with.
func (t *transferBench) cases() []benchCase {
	return []benchCase{
		{Name: "s3-put", Unit: "documents", Bytes: t.size, Op: t.put},
		{Name: "iti-41", Unit: "documents", Bytes: t.size, Op: t.provide, Baseline: "s3-put"},
		{Name: "s3-get", Unit: "documents", Bytes: t.size, Op: t.get},
		{Name: "iti-43", Unit: "documents", Bytes: t.size, Op: t.retrieve, Baseline: "s3-get"},
	}
}

func transferBenchmark(ctx context.Context, svc *benchServices, log *slog.Logger, size int64, count int) ([]benchRow, error) {
	t, err := newTransferBench(ctx, svc, log, size)
	if err != nil {
		return nil, err
	}
	defer t.close()
	var rows []benchRow
	for _, c := range t.cases() {
		rows = append(rows, c.row(runSerial(ctx, count, c.Op)))
	}
	return rows, rowsErr(rows)
}

// benchCase is one measured case: an operation and how to report it.
type benchCase struct {
	Name     string
	Unit     string
	Bytes    int64
	Op       benchOp
	Baseline string
}

func (c benchCase) row(l latencies) benchRow {
	return benchRow{Name: c.Name, Unit: c.Unit, Bytes: c.Bytes, Lat: l, Baseline: c.Baseline}
}

// rowsErr reports the first failed operation of a table.
func rowsErr(rows []benchRow) error {
	for _, r := range rows {
		if r.Lat.FirstErr != nil {
			return fmt.Errorf("%s: %d of %d operations failed; first: %w", r.Name, r.Lat.Errors, r.Lat.Errors+r.Lat.OK, r.Lat.FirstErr)
		}
		if r.Lat.Dropped > 0 {
			return fmt.Errorf("%s: %d requests not sent: more than %d outstanding", r.Name, r.Lat.Dropped, maxOutstanding)
		}
	}
	return nil
}

// ---- mhd: ITI-67 / ITI-68 with and without trust and audit ----

// mhdOptions shape the MHD benchmark.
type mhdOptions struct {
	Count     int           // serial requests per case
	Rate      float64       // offered requests/s of the fixed-rate runs
	Duration  time.Duration // of each fixed-rate and maximum-throughput run
	Workers   int           // clients of the maximum-throughput runs
	Documents int           // the patient's documents
}

// mhdReadSize is the size of the document ITI-68 reads.
const mhdReadSize = 1 << 20

// mhdBench serves the MHD endpoints twice from one pjd server (PostgreSQL,
// Redis, S3): at the server's own address with everything (DPoP proof,
// token, attestation, policy, blocks, the audit record written and
// chained before the answer), and at a second address with the same
// handlers and Guard except that audit records are discarded, so the
// difference is what the audit chain costs. The direct baselines call the
// registry and repository without HTTP, trust or audit: the same filter
// and rendering (ITI-67), the same lookup and stream (ITI-68).
type mhdBench struct {
	srv        *benchServer
	noAudit    *http.Server
	noAuditURL string
	hc         *http.Client
	patient    string // F-nr
	form       string // ITI-67 _search body
	docs       int
	readPath   string // ITI-68 path and query
	readDoc    pattern
	readUID    string
	closers    closers
}

// discardAudit takes audit records and keeps none. It backs only the
// "no-audit" comparison endpoints of this benchmark, to show what the
// audit chain costs; no server ever runs with it.
type discardAudit struct{}

func (discardAudit) Log(context.Context, audit.Record) error { return nil }

func newMHDBench(ctx context.Context, svc *benchServices, log *slog.Logger, docs int) (_ *mhdBench, err error) {
	m := &mhdBench{patient: devissuer.SyntheticPatients()[0], docs: docs}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	m.srv, err = startBenchServerOn(ctx, svc, log, &m.closers)
	if err != nil {
		return nil, err
	}
	a := m.srv.app

	// The patient's documents, registered through ITI-41 like any source's:
	// small text documents and the 1 MiB one ITI-68 reads.
	xc := xdsclient.New(m.srv.URL, &http.Client{Timeout: 5 * time.Minute})
	cx := registry.NewPatientCX(m.patient, registry.OIDFnr).String()
	seq := randomSeq()
	m.readDoc = pattern{seed: seq, size: mhdReadSize}.withHash()
	small := make([]pattern, docs-1)
	for i := range small {
		small[i] = pattern{seed: seq + 1 + uint64(i), size: 2 << 10}
	}
	for _, group := range [][]pattern{{m.readDoc}, small} {
		if len(group) == 0 {
			continue
		}
		seq += 1000
		sub, xdocs := patternSubmission(seq, cx, group...)
		resp, err := xc.Provide(ctx, sub, xdocs)
		if err != nil || resp.Status != registry.ResponseSuccess {
			return nil, fmt.Errorf("registering the benchmark documents: %v %v", err, resp.Errors)
		}
		if group[0] == m.readDoc {
			m.readUID = sub.Documents[0].UniqueID
		}
	}
	m.readPath = mhd.RetrieveURL("", a.repo.UniqueID(), m.readUID)
	m.form = url.Values{"patient.identifier": {"urn:oid:" + registry.OIDFnr + "|" + m.patient}}.Encode()

	// A fastlege's token with the attestation naming the patient, and a
	// client that makes a fresh DPoP proof for every request.
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	m.closers.add(tr.CloseIdleConnections)
	tok, err := (&devissuer.Client{HTTP: &http.Client{Transport: tr, Timeout: time.Minute}, Issuer: m.srv.URL + "/dev/helseid"}).Token(ctx, "fastlege", m.patient, nil)
	if err != nil {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	m.hc = &http.Client{Transport: tok.Transport(tr), Timeout: time.Minute}

	// The same MHD endpoints with audit records discarded.
	g, err := access.New(access.Config{Registry: a.reg, Repository: a.repo, Policy: a.pol, Audit: discardAudit{},
		Blocks: a.blockStore, DevLoopbackSources: true, Logger: log})
	if err != nil {
		return nil, err
	}
	pageKey := make([]byte, 32)
	_, _ = rand.Read(pageKey)
	pager, err := mhd.NewPager(pageKey, time.Now, 0)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.noAuditURL = "http://" + ln.Addr().String()
	srv := gateway.NewServer(log, gateway.NewPrometheusMetrics(prometheus.NewRegistry()), nil)
	(&gateway.MHD{Guard: g, Tokens: a.verifier, Pager: pager, BaseURL: m.noAuditURL, MaxProvide: 1 << 20,
		Log: log, Metrics: gateway.NopMetrics{}}).Routes(srv)
	m.noAudit = gateway.HTTPServer(ln.Addr().String(), srv, log)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.noAudit.Serve(ln)
	}()
	m.closers.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.noAudit.Shutdown(sctx)
		<-done
	})

	// Every path works before anything is measured (and is warm).
	for _, op := range []benchOp{m.search(m.srv.URL), m.search(m.noAuditURL), m.searchDirect, m.read(m.srv.URL), m.read(m.noAuditURL), m.readDirect} {
		for range 3 {
			if err := op(ctx, 0); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return m, nil
}

func (m *mhdBench) close() { m.closers.close() }

// search is one ITI-67 search (POST _search) at base; the answer must be
// a searchset with every document of the patient.
func (m *mhdBench) search(base string) benchOp {
	return func(ctx context.Context, _ uint64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/fhir/R4/DocumentReference/_search", strings.NewReader(m.form))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/fhir+json")
		resp, err := m.do(req, "ITI-67")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var b struct {
			Total *int              `json:"total"`
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return fmt.Errorf("ITI-67: %w", err)
		}
		if b.Total == nil || *b.Total != m.docs || len(b.Entry) != min(m.docs, mhd.DefaultCount) {
			return fmt.Errorf("ITI-67: total %v with %d entries, want %d", b.Total, len(b.Entry), m.docs)
		}
		return nil
	}
}

// read is one ITI-68 read of the 1 MiB document at base, verified byte for
// byte.
func (m *mhdBench) read(base string) benchOp {
	return func(ctx context.Context, _ uint64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+m.readPath, nil)
		if err != nil {
			return err
		}
		resp, err := m.do(req, "ITI-68")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = m.readDoc.verify(resp.Body)
		return err
	}
}

// do sends req (transaction tx) for the patient with the fastlege's
// client; an answer other than 200 OK is an error with the start of its
// body.
func (m *mhdBench) do(req *http.Request, tx string) (*http.Response, error) {
	req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, fmt.Errorf("%s: %s: %s", tx, resp.Status, b)
	}
	return resp, nil
}

// searchDirect is the ITI-67 baseline: the same parsed search, registry
// read, filtering, ordering and FHIR rendering, without HTTP, token,
// policy or audit.
func (m *mhdBench) searchDirect(ctx context.Context, _ uint64) error {
	form, _ := url.ParseQuery(m.form)
	h := http.Header{}
	h.Set(mhd.HeaderPatientNIN, m.patient)
	s, err := mhd.ParseDocumentSearch(form, h)
	if err != nil {
		return err
	}
	f, err := s.Filter()
	if err != nil {
		return err
	}
	a := m.srv.app
	docs, err := a.reg.Reader().Documents(ctx, f)
	if err != nil {
		return err
	}
	docs = slices.DeleteFunc(docs, func(d *registry.DocumentEntry) bool { return !s.Match(d) })
	slices.SortStableFunc(docs, func(x, y *registry.DocumentEntry) int {
		if c := cmp.Compare(y.CreationTime, x.CreationTime); c != 0 {
			return c
		}
		return cmp.Compare(x.UniqueID, y.UniqueID)
	})
	from, to := s.PageBounds(len(docs))
	opts := mhd.RenderOptions{BaseURL: m.srv.URL, Display: a.guard.DisplayFunc()}
	entries := make([]mhd.Resource, 0, to-from)
	for _, d := range docs[from:to] {
		entries = append(entries, mhd.R(mhd.DocumentReferenceFrom(d, nil, opts)))
	}
	if len(docs) != m.docs {
		return fmt.Errorf("direct search: %d documents, want %d", len(docs), m.docs)
	}
	return mhd.Encode(io.Discard, mhd.SearchSet(entries, len(docs), "", ""), false)
}

// readDirect is the ITI-68 baseline: the same registry lookup and blob
// stream, without HTTP, token, policy or audit.
func (m *mhdBench) readDirect(ctx context.Context, _ uint64) error {
	a := m.srv.app
	docs, err := a.reg.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{m.readUID},
		Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}})
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fmt.Errorf("direct read: %d entries for %s", len(docs), m.readUID)
	}
	rc, _, err := a.repo.Open(ctx, docs[0])
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = m.readDoc.verify(rc)
	return err
}

// mhdCase is a case of the MHD benchmark: serial, at the fixed rate, or
// closed loop at the most the server takes.
type mhdCase struct {
	benchCase
	Mode string // "serial", "rate", "max"
}

func (m *mhdBench) cases() []mhdCase {
	var out []mhdCase
	for _, tx := range []struct {
		name, unit string
		bytes      int64
		http       func(string) benchOp
		direct     benchOp
	}{
		{"iti-67", "searches", 0, m.search, m.searchDirect},
		{"iti-68", "reads", mhdReadSize, m.read, m.readDirect},
	} {
		direct := tx.name + "/direct"
		noAudit := tx.name + "/no-audit"
		out = append(out,
			mhdCase{benchCase{Name: direct, Unit: tx.unit, Bytes: tx.bytes, Op: tx.direct}, "serial"},
			mhdCase{benchCase{Name: noAudit, Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL), Baseline: direct}, "serial"},
			mhdCase{benchCase{Name: tx.name + "/full", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit}, "serial"},
			mhdCase{benchCase{Name: noAudit + "/rate", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL)}, "rate"},
			mhdCase{benchCase{Name: tx.name + "/full/rate", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit + "/rate"}, "rate"},
			mhdCase{benchCase{Name: noAudit + "/max", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL)}, "max"},
			mhdCase{benchCase{Name: tx.name + "/full/max", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit + "/max"}, "max"},
		)
	}
	return out
}

// run measures one case.
func (c mhdCase) run(ctx context.Context, o mhdOptions) latencies {
	switch c.Mode {
	case "rate":
		return runAtRate(ctx, o.Rate, o.Duration, c.Op)
	case "max":
		return runClosedLoop(ctx, o.Workers, o.Duration, c.Op)
	}
	return runSerial(ctx, o.Count, c.Op)
}

func mhdBenchmark(ctx context.Context, svc *benchServices, log *slog.Logger, o mhdOptions) ([]benchRow, error) {
	m, err := newMHDBench(ctx, svc, log, o.Documents)
	if err != nil {
		return nil, err
	}
	defer m.close()
	var rows []benchRow
	for _, c := range m.cases() {
		rows = append(rows, c.row(c.run(ctx, o)))
	}
	return rows, rowsErr(rows)
}

// ---- registry: ITI-18 FindDocuments at scale ----

// registryOptions shape the registry benchmark.
type registryOptions struct {
	Documents, Patients int
	Reuse               bool
	Count               int           // serial queries per case
	Duration            time.Duration // of each parallel run
	Progress            func(loaded int)
	Notes               io.Writer // where the load is described; nil: nowhere
}

// registryBench queries a PostgreSQL registry loaded with synthetic
// DocumentEntries: FindDocuments through registry.Registry.Query (the
// stored-query path ITI-18 takes: parameter parsing and checks, the store
// query, the result), next to the same index lookup as a hand-written pgx
// query, with and without decoding the rows.
type registryBench struct {
	st       *postgres.Store
	reg      *registry.Registry
	patients int
	loaded   postgres.LoadResult
}

func newRegistryBench(ctx context.Context, pgURL string, o registryOptions) (_ *registryBench, err error) {
	st, err := postgres.Open(ctx, pgURL)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	var have int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM documents").Scan(&have); err != nil {
		return nil, err
	}
	r := &registryBench{st: st, patients: cmp.Or(o.Patients, max(1, o.Documents/10))}
	switch {
	case o.Reuse && have >= o.Documents:
		r.loaded = postgres.LoadResult{Documents: have, Patients: r.patients}
	case have > 0:
		return nil, fmt.Errorf("the database already holds %d DocumentEntries: give an empty database, or --reuse one a previous pjd bench registry loaded with at least --docs", have)
	default:
		r.loaded, err = st.LoadSynthetic(ctx, postgres.LoadOptions{Documents: o.Documents, Patients: o.Patients, Seed: 1, Progress: o.Progress})
		if err != nil {
			return nil, err
		}
	}
	r.reg, err = registry.New(registry.Config{Store: st, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		return nil, err
	}
	// Warm caches and connections alike for every variant.
	for i := range min(2000, r.patients) {
		for _, op := range []benchOp{r.query, r.pgx(false)} {
			if err := op(ctx, uint64(i)*7919); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return r, nil
}

func (r *registryBench) close() { r.st.Close() }

// patientOf spreads operation numbers over the patients.
func (r *registryBench) patientOf(i uint64) string {
	return postgres.SyntheticPatientID(int((i * 2654435761) % uint64(r.patients)))
}

// query is FindDocuments (Approved, LeafClass) through Registry.Query.
func (r *registryBench) query(ctx context.Context, i uint64) error {
	res, err := r.reg.Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + r.patientOf(i) + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
		}})
	if err != nil {
		return err
	}
	if len(res.Documents) == 0 {
		return fmt.Errorf("FindDocuments found nothing for %s", r.patientOf(i))
	}
	return nil
}

// pgx is the same index lookup written by hand: the rows (status and the
// JSON body) of one patient's Approved documents, decoded or not.
func (r *registryBench) pgx(decode bool) benchOp {
	const sql = "SELECT d.status, d.body FROM documents d WHERE d.patient_id = $1 AND d.status = $2 ORDER BY d.seq"
	return func(ctx context.Context, i uint64) error {
		rows, err := r.st.Pool().Query(ctx, sql, r.patientOf(i), registry.StatusApproved)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var status string
			var body []byte
			if err := rows.Scan(&status, &body); err != nil {
				return err
			}
			if decode {
				var d registry.DocumentEntry
				if err := json.Unmarshal(body, &d); err != nil {
					return err
				}
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("pgx found nothing for %s", r.patientOf(i))
		}
		return nil
	}
}

// registryCase is a case of the registry benchmark.
type registryCase struct {
	benchCase
	Parallel bool
}

func (r *registryBench) cases() []registryCase {
	var out []registryCase
	for _, par := range []bool{false, true} {
		suffix := "/serial"
		if par {
			suffix = "/parallel"
		}
		out = append(out,
			registryCase{benchCase{Name: "pgx" + suffix, Unit: "queries", Op: r.pgx(false)}, par},
			registryCase{benchCase{Name: "pgx+json" + suffix, Unit: "queries", Op: r.pgx(true), Baseline: "pgx" + suffix}, par},
			registryCase{benchCase{Name: "registry-query" + suffix, Unit: "queries", Op: r.query, Baseline: "pgx" + suffix}, par},
		)
	}
	return out
}

// registryWorkers is the number of clients of the parallel runs.
func registryWorkers() int { return 4 * runtime.GOMAXPROCS(0) }

func registryBenchmark(ctx context.Context, svc *benchServices, o registryOptions) ([]benchRow, error) {
	r, err := newRegistryBench(ctx, svc.postgresURL, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if o.Notes != nil {
		fmt.Fprintf(o.Notes, "registry: %d synthetic DocumentEntries for %d patients (loaded in %v)\n",
			r.loaded.Documents, r.loaded.Patients, r.loaded.Elapsed.Round(time.Millisecond))
	}
	var rows []benchRow
	for _, c := range r.cases() {
		var l latencies
		if c.Parallel {
			l = runClosedLoop(ctx, registryWorkers(), o.Duration, c.Op)
		} else {
			l = runSerial(ctx, o.Count, c.Op)
		}
		rows = append(rows, c.row(l))
	}
	return rows, rowsErr(rows)
}

// pattern is a reproducible document of size bytes named by seed: what
// the integration tests and benchmarks send. It is generated as it is read,
// never held in memory, and verified byte for byte when it comes back.
// Every 4 KiB block starts with its seed and block number, so a block
// served from the wrong document or the wrong offset is told apart.
type pattern struct {
	seed uint64
	size int64
	hash string // hex SHA-1 once withHash has computed it
}

const patternBlock = 4096

// patternBase is the material blocks are cut from: 1 MiB of ChaCha8 output
// from a fixed key (computed once, never changed).
var patternBase = sync.OnceValue(func() []byte {
	b := make([]byte, 1<<20)
	_, _ = mrand.NewChaCha8([32]byte{'p', 'j', 'd'}).Read(b)
	return b
})

// fill writes the bytes of p from offset off into buf.
func (p pattern) fill(buf []byte, off int64) {
	base := patternBase()
	span := uint64(len(base) - patternBlock)
	var stamp [16]byte
	binary.LittleEndian.PutUint64(stamp[:8], p.seed)
	for len(buf) > 0 {
		blk, in := uint64(off/patternBlock), int(off%patternBlock)
		start := (p.seed*7919 + blk*patternBlock) % span
		n := min(len(buf), patternBlock-in)
		copy(buf[:n], base[start+uint64(in):])
		if in < len(stamp) {
			binary.LittleEndian.PutUint64(stamp[8:], blk)
			copy(buf[:n], stamp[in:])
		}
		buf = buf[n:]
		off += int64(n)
	}
}

// reader streams p's bytes.
func (p pattern) reader() io.Reader { return &patternReader{p: p} }

type patternReader struct {
	p   pattern
	off int64
}

func (r *patternReader) Read(b []byte) (int, error) {
	if r.off >= r.p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), r.p.size-r.off))
	r.p.fill(b[:n], r.off)
	r.off += int64(n)
	return n, nil
}

// withHash returns p with its SHA-1 computed (by generating it once).
func (p pattern) withHash() pattern {
	h := sha1.New()
	_, _ = io.CopyBuffer(h, p.reader(), make([]byte, 256<<10))
	p.hash = hex.EncodeToString(h.Sum(nil))
	return p
}

// verify reads r to its end and fails unless it yields exactly p's bytes.
// It returns how many bytes it read.
func (p pattern) verify(r io.Reader) (int64, error) {
	got := make([]byte, 256<<10)
	want := make([]byte, len(got))
	var off int64
	for {
		n, err := r.Read(got)
		if n > 0 {
			if off+int64(n) > p.size {
				return off + int64(n), fmt.Errorf("more than the %d bytes expected", p.size)
			}
			p.fill(want[:n], off)
			if !bytes.Equal(got[:n], want[:n]) {
				i := 0
				for got[i] == want[i] {
					i++
				}
				return off + int64(i), fmt.Errorf("byte %d differs from what was sent", off+int64(i))
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return off, err
		}
	}
	if off != p.size {
		return off, fmt.Errorf("%d bytes, want %d", off, p.size)
	}
	return off, nil
}

// patternSubmission is a synthetic ITI-41 submission for patient (a CX):
// one SubmissionSet and one DocumentEntry per pattern (uniqueIds from seq,
// see registry.SampleUniqueID), with the documents' bytes streaming from
// the patterns. An entry declares size and hash when its pattern has its
// hash (as a source that knows them does); otherwise the repository
// measures them.
func patternSubmission(seq uint64, patient string, docs ...pattern) (*registry.Submission, []xdsclient.Document) {
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: patient, Documents: len(docs), Seq: seq})
	out := make([]xdsclient.Document, len(docs))
	for i, p := range docs {
		e := sub.Documents[i]
		e.MimeType = "application/octet-stream"
		e.Title = fmt.Sprintf("Syntetisk dokument %d (%d byte)", i+1, p.size)
		e.Hash, e.Size = "", nil
		if p.hash != "" {
			size := p.size
			e.Hash, e.Size = p.hash, &size
		}
		out[i] = xdsclient.Document{ID: e.ID, MimeType: e.MimeType, Body: p.reader()}
	}
	return sub, out
}
