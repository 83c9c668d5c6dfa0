package bench

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/conformance/services"
	"pjd/gateway/access"
	"pjd/registry"
	"pjd/repository"
	"pjd/trust"
	"pjd/trust/policy"
)

// ServiceFlags name the services a benchmark runs on.
type ServiceFlags struct {
	postgresURL, redisURL                 string
	s3Endpoint, s3Bucket, s3Access, s3Key string
	s3Insecure                            bool
	keep, reuse                           string // directories of a kept PostgreSQL
}

// Define defines the flags on fs.
func (f *ServiceFlags) Define(fs *flag.FlagSet) {
	fs.StringVar(&f.postgresURL, "postgres-url", "", "PostgreSQL database to use (default: a throwaway server)")
	fs.StringVar(&f.redisURL, "redis-url", "", "Redis to use (default: a throwaway redis-server)")
	fs.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3 endpoint host:port to use (default: a throwaway versitygw)")
	fs.StringVar(&f.s3Bucket, "s3-bucket", "", "S3 bucket (with --s3-endpoint)")
	fs.StringVar(&f.s3Access, "s3-access-key", "", "S3 access key (with --s3-endpoint)")
	fs.StringVar(&f.s3Key, "s3-secret-key", "", "S3 secret key (with --s3-endpoint; prefer PJD_S3_SECRET_KEY)")
	fs.BoolVar(&f.s3Insecure, "s3-insecure", false, "plain HTTP to a loopback --s3-endpoint")
	fs.StringVar(&f.keep, "keep", "", "keep the throwaway PostgreSQL's data (the loaded registries) in this new `directory` for reruns with --reuse")
	fs.StringVar(&f.reuse, "reuse", "", "start PostgreSQL on the data a --keep run left in this `directory`; registry and growth reuse the registries loaded there")
}

// Services are the services one benchmark run uses.
type Services struct {
	PostgresURL string
	RedisURL    string
	S3          services.Bucket
	S3Insecure  bool
	// Given: the database or bucket was named by flag (or environment),
	// not started for the run.
	GivenPostgres, GivenS3 bool
	// KeptDir is where the throwaway PostgreSQL keeps its data (--keep or
	// --reuse): its registries outlive the run.
	KeptDir string
	closers closers
	pg      *services.PostgresServer // the throwaway server, if one was started
}

// ExtraDatabase creates another database on the throwaway PostgreSQL (for
// a benchmark that compares two registries); with a given --postgres-url
// there is none.
func (s *Services) ExtraDatabase(ctx context.Context, name string) (string, error) {
	if s.pg == nil {
		return "", errors.New("this benchmark needs a throwaway PostgreSQL (no --postgres-url) for its second database")
	}
	if s.KeptDir != "" { // a database of an earlier run: start afresh
		if err := s.pg.DropDatabase(ctx, name); err != nil {
			return "", err
		}
	}
	return s.pg.CreateDatabase(ctx, name)
}

// onDatabase is s on a new database of its own (ExtraDatabase) on the
// throwaway PostgreSQL: for a server that must not see what another case
// registered.
func (s *Services) onDatabase(ctx context.Context, name string) (*Services, error) {
	url, err := s.ExtraDatabase(ctx, name)
	if err != nil {
		return nil, err
	}
	own := *s
	own.PostgresURL = url
	return &own, nil
}

// RegistryDatabase returns the database a registry benchmark loads (or,
// holding a load of an earlier run, reuses): with a kept PostgreSQL, the
// database name (default pjd_bench_registry) on it, created when missing,
// so that it outlives the run;
// else the given --postgres-url when name is "", or a new database name
// on the throwaway server.
func (s *Services) RegistryDatabase(ctx context.Context, name string) (string, error) {
	switch {
	case s.KeptDir != "":
		name = cmp.Or(name, "pjd_bench_registry")
		c, err := pgx.Connect(ctx, s.pg.URL("postgres"))
		if err != nil {
			return "", err
		}
		defer c.Close(context.WithoutCancel(ctx))
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return "", err
		}
		if exists {
			return s.pg.URL(name), nil
		}
		return s.pg.CreateDatabase(ctx, name)
	case name == "":
		return s.PostgresURL, nil
	}
	return s.ExtraDatabase(ctx, name)
}

// RefuseData makes sure a database or bucket given to a benchmark that
// registers documents holds none: the benchmark must never mix its
// synthetic documents with real ones.
func (s *Services) RefuseData(ctx context.Context) error {
	if s.GivenPostgres && s.PostgresURL != "" {
		conn, err := pgx.Connect(ctx, s.PostgresURL)
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
	if s.GivenS3 && s.S3.Endpoint != "" {
		c, err := minio.New(s.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.S3.AccessKey, s.S3.SecretKey, ""), Secure: !s.S3Insecure})
		if err != nil {
			return fmt.Errorf("--s3-endpoint: %w", err)
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		oi, found := <-c.ListObjects(lctx, s.S3.Bucket, minio.ListObjectsOptions{Recursive: true, MaxKeys: 1})
		switch {
		case found && oi.Err != nil:
			return fmt.Errorf("--s3-bucket: %w", oi.Err)
		case found:
			return errors.New("--s3-bucket: the bucket holds objects; benchmarks that store documents need an empty one")
		}
	}
	return nil
}

// Close stops the services started for the run.
func (s *Services) Close() { s.closers.close() }

// Start gives the run the services it needs (pg: PostgreSQL, rd: Redis,
// s3: object storage): those named by flag, and throwaway ones started
// with conformance/services for the rest. Close stops them; it is safe to
// call on what Start returns with an error.
func (f *ServiceFlags) Start(ctx context.Context, pg, rd, s3 bool) (*Services, error) {
	svc := &Services{PostgresURL: f.postgresURL, RedisURL: f.redisURL, S3Insecure: true, GivenPostgres: f.postgresURL != ""}
	switch {
	case f.keep != "" && f.reuse != "":
		return svc, errors.New("--keep and --reuse do not go together: --keep starts a new directory, --reuse one a --keep run left")
	case (f.keep != "" || f.reuse != "") && f.postgresURL != "":
		return svc, errors.New("--keep and --reuse are for the throwaway PostgreSQL: not with --postgres-url")
	}
	if pg && svc.PostgresURL == "" && (f.keep != "" || f.reuse != "") {
		dir := cmp.Or(f.keep, f.reuse)
		_, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION"))
		switch kept := err == nil; {
		case f.keep != "" && kept:
			return svc, fmt.Errorf("--keep %s: the directory holds a kept PostgreSQL already: rerun with --reuse %s", dir, dir)
		case f.reuse != "" && !kept:
			return svc, fmt.Errorf("--reuse %s: the directory holds no PostgreSQL a --keep run left", dir)
		}
		srv, _, err := services.StartPostgresAt(dir)
		if err != nil {
			return svc, fmt.Errorf("starting PostgreSQL in %s: %w", dir, err)
		}
		svc.closers.add(srv.Stop)
		svc.pg, svc.KeptDir = srv, srv.Dir
		// The database the registering cases use starts empty every run.
		if svc.PostgresURL, err = svc.ExtraDatabase(ctx, "pjd_bench"); err != nil {
			return svc, err
		}
	}
	if pg && svc.PostgresURL == "" {
		srv, err := services.StartPostgres()
		if err != nil {
			return svc, fmt.Errorf("starting a throwaway PostgreSQL (or give --postgres-url): %w", err)
		}
		svc.closers.add(srv.Stop)
		svc.pg = srv
		if svc.PostgresURL, err = srv.CreateDatabase(ctx, "pjd_bench"); err != nil {
			return svc, err
		}
	}
	if rd && svc.RedisURL == "" {
		srv, err := services.StartRedis()
		if err != nil {
			return svc, fmt.Errorf("starting a throwaway redis-server (or give --redis-url): %w", err)
		}
		svc.closers.add(srv.Stop)
		svc.RedisURL = "redis://" + srv.Addr + "/0"
	}
	if s3 {
		if f.s3Endpoint != "" {
			if f.s3Bucket == "" || f.s3Access == "" || f.s3Key == "" {
				return svc, errors.New("--s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key go together")
			}
			svc.S3 = services.Bucket{Endpoint: f.s3Endpoint, Bucket: f.s3Bucket, AccessKey: f.s3Access, SecretKey: f.s3Key}
			svc.S3Insecure, svc.GivenS3 = f.s3Insecure, true
		} else {
			srv, err := services.StartS3(ctx)
			if err != nil {
				return svc, fmt.Errorf("starting a throwaway versitygw (or give --s3-endpoint …): %w", err)
			}
			svc.closers.add(srv.Stop)
			if svc.S3, err = srv.NewBucket(ctx, "pjd-bench"); err != nil {
				return svc, err
			}
		}
	}
	return svc, nil
}

// ServeArgs are the pjd serve flags of a benchmark server on svc: --dev
// (loopback sources, the dev token issuer) with every backend svc has.
func (s *Services) ServeArgs(data string) []string {
	args := []string{"--dev", "--data", data, "--demo-data=false", "--sweep-interval=0", "--log-level", "warn"}
	if s.PostgresURL != "" {
		args = append(args, "--postgres-url", s.PostgresURL)
	}
	if s.RedisURL != "" {
		args = append(args, "--redis-url", s.RedisURL)
	}
	if s.S3.Endpoint != "" {
		args = append(args, "--s3-endpoint", s.S3.Endpoint, "--s3-bucket", s.S3.Bucket,
			"--s3-access-key", s.S3.AccessKey, "--s3-secret-key", s.S3.SecretKey)
		if s.S3Insecure {
			args = append(args, "--s3-insecure")
		}
	}
	return args
}

// Server is a pjd server the benchmarks run against, in this process,
// wired from serve flags exactly as pjd serve wires it (by cmd/pjd, which
// passes a StartServer), on a loopback port; with the parts of it the
// direct baselines and the no-audit endpoints use.
type Server struct {
	URL          string
	RepositoryID string
	Registry     *registry.Registry
	Repository   *repository.Repository
	Policy       *policy.Policy
	Blocks       policy.BlockStore
	Tokens       *trust.Verifier
	// Display names codes as the Guard does (access.Guard.DisplayFunc).
	Display func(attribute, scheme, code string) string
	// Regions are the base URLs of the communities this node federates
	// with that run in it (pjd serve --dev's dev regions), and Communities
	// are the node's clients of them (ITI-38 with the node's XUA); both
	// empty for a node that federates with nobody.
	Regions     []string
	Communities []access.Community
	// Close stops the server and releases what it opened.
	Close func()
}

// StartServer starts a Server with these pjd serve flags.
type StartServer func(ctx context.Context, args []string, log *slog.Logger) (*Server, error)

// startOn starts a benchmark server on svc (with the extra serve flags) in
// a new data folder; cs stops it and removes the folder.
func startOn(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, cs *closers, extra ...string) (*Server, error) {
	data, err := os.MkdirTemp("", "pjd-bench-data-")
	if err != nil {
		return nil, err
	}
	cs.add(func() { os.RemoveAll(data) })
	srv, err := start(ctx, append(svc.ServeArgs(data), extra...), log)
	if err != nil {
		return nil, err
	}
	cs.add(srv.Close)
	return srv, nil
}

// closers are cleanups, run in the reverse order of adding.
type closers []func()

func (c *closers) add(fn func()) { *c = append(*c, fn) }

func (c *closers) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}
