package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/auditapi"
	"pjd/gateway/authn"
	"pjd/gateway/blocks"
	"pjd/gateway/mhd"
	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/gateway/xds"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
	"pjd/repository/fs"
	"pjd/repository/s3"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// app is a wired pjd process: its HTTP handler, its background work and
// what must be closed.
type app struct {
	cfg     *serveConfig
	log     *slog.Logger
	handler http.Handler

	// Wiring state: the metrics registry, and the readiness checks the
	// roles add before the server is made.
	promReg *prometheus.Registry
	metrics gateway.Metrics
	ready   []gateway.ReadyCheck
	srv     *gateway.Server

	db         *database
	reg        *registry.Registry
	repo       *repository.Repository
	guard      *access.Guard
	auditLog   *audit.Logger
	auditStore *sqlaudit.Store
	blockStore *blocks.Store // nil without the registry role
	witness    audit.Witness // nil: none
	issuer     *devissuer.Issuer
	verifier   *trust.Verifier
	pol        *policy.Policy
	auditKey   *audit.Key
	redis      *redis.Client
	// xua mints the XUA assertions of outbound XCA hops (nil: no signing
	// key configured); xuaCert is its certificate.
	xua     *trust.XUAMinter
	xuaCert *x509.Certificate

	demoPatient string
	seed        func(ctx context.Context) error
	// regions are the dev regions this --dev node runs (regions.go).
	regions []*app
	closers closers
}

func (a *app) close() { a.closers.close() }

func (a *app) onClose(fn func()) { a.closers.add(fn) }

// closers are cleanups, run in the reverse order of adding.
type closers []func()

func (c *closers) add(fn func()) { *c = append(*c, fn) }

// close runs every cleanup, the last added first, and forgets them.
func (c *closers) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}

// databaseAddr is the database the registry, the audit log and the blocks
// share: --postgres-url, else the SQLite file in the data folder.
func (c *serveConfig) databaseAddr() databaseAddr {
	if c.postgresURL != "" {
		return databaseAddr{postgresURL: c.postgresURL}
	}
	return databaseAddr{sqlitePath: c.dataPath("registry.db")}
}

// buildApp wires every backend the configuration asks for, role by role.
// It is the one place backends are chosen.
func buildApp(ctx context.Context, c *serveConfig, log *slog.Logger) (_ *app, err error) {
	a := &app{cfg: c, log: log}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	regions := c.runsDevRegions()
	if regions {
		if err := c.addDevRegions("http://" + c.listen); err != nil {
			return nil, err
		}
	}
	a.promReg = prometheus.NewRegistry()
	a.metrics = gateway.NewPrometheusMetrics(a.promReg)
	for _, wire := range []func(context.Context) error{
		a.wireDatabase, a.wireRegistry, a.wireRepository, a.wireAudit, a.wireGuard, a.wireServer, a.wireXUA, a.wireGateway, a.wireSOAP,
	} {
		if err := wire(ctx); err != nil {
			return nil, err
		}
	}
	if regions {
		if err := a.buildDevRegions(ctx); err != nil {
			return nil, err
		}
	}
	if c.dev && c.has(roleGateway) && a.demoData() {
		a.seed = a.seedDemo
		if regions {
			a.seed = func(ctx context.Context) error {
				if err := a.seedDemo(ctx); err != nil {
					return err
				}
				return a.seedDevRegions(ctx, "http://"+c.listen)
			}
		}
	}
	return a, nil
}

func (a *app) demoData() bool { return a.cfg.demoData.or(a.cfg.dev) }

// wireDatabase opens the one database (every role uses it: a
// repository-only process keeps its audit log there) and brings its schema
// up to date when it is behind.
func (a *app) wireDatabase(ctx context.Context) error {
	db, err := openDatabase(ctx, a.cfg.databaseAddr())
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	a.db = db
	a.onClose(db.close)
	return db.ensureSchema(ctx)
}

// wireRegistry makes the registry (registry role) on the database, with
// its value sets and patient-id rules.
func (a *app) wireRegistry(context.Context) error {
	c := a.cfg
	if !c.has(roleRegistry) {
		return nil
	}
	store := a.db.registry()
	a.ready = append(a.ready, gateway.ReadyCheck{Name: "registry-database", Check: store.Ping})
	vs := registry.DefaultValueSets()
	if c.valueSets != "" {
		f, err := os.Open(c.valueSets)
		if err != nil {
			return fmt.Errorf("--value-sets: %w", err)
		}
		vs, err = registry.LoadValueSets(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--value-sets: %w", err)
		}
	}
	var err error
	a.reg, err = registry.New(registry.Config{
		Store:           store,
		ValueSets:       vs,
		Patients:        registry.NorwegianPatientIDs{AllowSynthetic: c.allowSynthetic.or(c.dev)},
		MaxResults:      c.maxResults,
		HomeCommunityID: c.homeCommunityID,
	})
	if err != nil {
		return err
	}
	a.blockStore = a.db.blocks()
	return nil
}

// wireRepository makes the repository (repository role): documents in S3
// or local files, registered in this process's registry or a remote one.
func (a *app) wireRepository(ctx context.Context) error {
	c := a.cfg
	if !c.has(roleRepository) {
		return nil
	}
	blobs, err := a.blobStore(ctx)
	if err != nil {
		return err
	}
	var regClient repository.Registry
	if a.reg != nil {
		regClient = repository.LocalRegistry(a.reg)
	} else {
		xc := &xdsclient.Client{SOAP: &soap.Client{HTTP: &http.Client{Timeout: 2 * time.Minute}}, RegistryURL: c.registryURL}
		regClient = xdsclient.Registry{C: xc}
	}
	a.repo, err = repository.New(repository.Config{
		UniqueID: c.repositoryID, Blobs: blobs, Registry: regClient,
		MaxDocumentSize: int64(c.maxDocument), UploadTimeout: c.uploadTimeout, Logger: a.log,
	})
	return err
}

// blobStore opens the object storage (--s3-…) or the document folder.
func (a *app) blobStore(ctx context.Context) (repository.BlobStore, error) {
	c := a.cfg
	if c.s3Endpoint != "" {
		st, err := s3.Open(ctx, s3.Config{Endpoint: c.s3Endpoint, AccessKey: c.s3AccessKey, SecretKey: c.s3SecretKey,
			Region: c.s3Region, Secure: !c.s3Insecure, Bucket: c.s3Bucket, Prefix: c.s3Prefix, CreateBucket: c.s3CreateBucket})
		if err != nil {
			return nil, fmt.Errorf("object storage: %w", err)
		}
		a.ready = append(a.ready, gateway.ReadyCheck{Name: "object-storage", Check: func(ctx context.Context) error {
			_, err := st.Stat(ctx, "readyz-probe")
			if errors.Is(err, repository.ErrBlobNotFound) {
				return nil
			}
			return err
		}})
		return st, nil
	}
	dir := c.blobDir
	if dir == "" {
		dir = c.dataPath("blobs")
	}
	st, err := fs.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("document folder: %w", err)
	}
	a.onClose(func() { st.Close() })
	return st, nil
}

// wireAudit makes the audit log on the database (every role writes it),
// its key, its witness outside the database and its syslog forwarding.
func (a *app) wireAudit(ctx context.Context) error {
	c := a.cfg
	var err error
	if c.auditKeyFile != "" {
		a.auditKey, err = audit.LoadKey(c.auditKeyFile)
	} else {
		a.auditKey, err = audit.LoadOrCreateDevKey(c.data)
	}
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	a.auditStore = a.db.audit()
	// The chain's head, kept outside the database (startBackground writes it).
	a.witness, err = openWitness(ctx, c.witness.resolve(c.s3Settings()), c.data, c.s3Settings())
	if err != nil {
		return err
	}
	auditMetrics, err := audit.NewPrometheusMetrics(a.promReg)
	if err != nil {
		return err
	}
	lopts := audit.LoggerOptions{Metrics: auditMetrics}
	if c.syslogAddr != "" {
		fwd, err := newSyslogForwarder(c, auditMetrics)
		if err != nil {
			return err
		}
		a.onClose(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			fwd.Close(cctx)
		})
		lopts.OnCommit = fwd.Forward
	}
	a.auditLog, err = audit.NewLogger(a.auditStore, a.auditKey, lopts)
	if err != nil {
		return err
	}
	// Ready when the database answers, the role may insert, and appends
	// are not failing.
	a.ready = append(a.ready, gateway.ReadyCheck{Name: "audit-log", Check: a.auditLog.Ready})
	a.onClose(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.auditLog.Close(cctx); err != nil {
			a.log.Error("closing audit log", "err", err)
		}
	})
	return nil
}

// wireGuard makes the policy and the Guard every data path goes through.
func (a *app) wireGuard(context.Context) error {
	c := a.cfg
	pol, err := policy.New(policy.Config{AllowedAuthorizations: c.authorizations})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	a.pol = pol
	scopes, err := parseSystemScopes(c.systemScopes)
	if err != nil {
		return fmt.Errorf("--system-scope: %w", err)
	}
	gcfg := access.Config{Registry: a.reg, Repository: a.repo, Policy: pol, Audit: a.auditLog,
		DevLoopbackSources: c.dev, SystemScopes: scopes, Logger: a.log}
	if a.blockStore != nil {
		gcfg.Blocks = a.blockStore
	}
	if len(c.federation.communities) > 0 {
		gcfg.HomeCommunityID = c.respondingHome()
		if gcfg.Communities, err = c.communityClients(context.Background(), a.outboundIdentity); err != nil {
			return err
		}
	}
	a.guard, err = access.New(gcfg)
	return err
}

// wireServer makes the HTTP server with its limits and the readiness
// checks the roles added.
func (a *app) wireServer(context.Context) error {
	c := a.cfg
	a.srv = gateway.NewServer(a.log, a.metrics, a.ready)
	a.srv.SetLimits(gateway.Limits{IdleTimeout: c.bodyIdleTimeout, RequestTimeout: c.requestTimeout,
		MaxSearches: c.maxSearches, MaxTransfers: c.maxTransfers})
	a.handler = a.srv
	if c.tlsCert != "" {
		a.handler = gateway.StrictTransportSecurity(a.srv)
	}
	return nil
}

// wireSOAP mounts the XDS endpoints of the registry and repository roles,
// with XUA verification when --saml-cert is given.
func (a *app) wireSOAP(context.Context) error {
	c := a.cfg
	var saml *trust.SAMLVerifier
	certs, issuers, audiences, err := a.samlTrust()
	if err != nil {
		return err
	}
	if len(certs) > 0 {
		saml, err = trust.NewSAMLVerifier(trust.SAMLConfig{TrustedCertificates: certs, Issuers: issuers, Audiences: audiences})
		if err != nil {
			return err
		}
	}
	x := &xds.Endpoints{Guard: a.guard, Auth: &authn.SOAP{SAML: saml, DevLoopback: c.dev},
		Limits: soap.Limits{MaxRequest: int64(c.maxRequest), MaxEnvelope: int64(c.maxEnvelope)},
		Gate:   soap.NewGate(soap.GateConfig{Concurrent: c.maxEnvelopes}), Log: a.log, Metrics: a.metrics}
	if c.has(roleRegistry) {
		a.srv.Handle("POST /xds/registry", x.RegistryHandler())
	}
	if c.has(roleRepository) {
		a.srv.Handle("POST /xds/repository", x.RepositoryHandler())
	}
	if home := c.respondingHome(); home != "" && c.has(roleRegistry) && c.has(roleRepository) {
		rg := &xca.Responding{Guard: a.guard, Auth: x.Auth, HomeCommunityID: home, Limits: x.Limits, Gate: x.Gate,
			QueryTimeout: c.requestTimeout, Log: a.log, Metrics: a.metrics}
		a.srv.Handle("POST "+xca.RespondingPath, rg.Handler())
		ig := &xca.Initiating{Guard: a.guard, Auth: x.Auth, HomeCommunityID: home, Limits: x.Limits, Gate: x.Gate,
			QueryTimeout: c.requestTimeout, Log: a.log, Metrics: a.metrics}
		a.srv.Handle("POST "+xca.InitiatingPath, ig.Handler())
	}
	return nil
}

// wireGateway mounts the consumer-facing endpoints of the gateway role:
// MHD, audit review, the dev issuer and the UI.
func (a *app) wireGateway(ctx context.Context) error {
	c := a.cfg
	if !c.has(roleGateway) {
		return nil
	}
	srv := a.srv
	var replay trust.ReplayCache
	if c.redisURL != "" {
		opt, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return fmt.Errorf("--redis-url: %w", err)
		}
		rc := redis.NewClient(opt)
		a.redis = rc
		a.onClose(func() { rc.Close() })
		replay = trust.NewRedisReplayCache(rc, "pjd:dpop:")
		srv.AddReadyCheck(gateway.ReadyCheck{Name: "redis", Check: func(ctx context.Context) error { return rc.Ping(ctx).Err() }})
	} else {
		replay = trust.NewMemoryReplayCache(nil, 0)
	}
	var issuers []trust.IssuerConfig
	for _, u := range c.issuers {
		issuers = append(issuers, trust.IssuerConfig{MetadataURL: u})
	}
	if c.dev {
		iss, err := devissuer.New(devissuer.DevMode(c.dev), devissuer.Options{Issuer: c.publicURL + "/dev/helseid",
			KeyDir: c.dataPath("dev-issuer"), Audience: c.audience})
		if err != nil {
			return fmt.Errorf("dev issuer: %w", err)
		}
		a.issuer = iss
		srv.Handle("/dev/helseid/", iss)
		issuers = append(issuers, trust.IssuerConfig{MetadataURL: iss.MetadataURL()})
	}
	if len(issuers) == 0 {
		return errors.New("no token issuer configured (--issuer)")
	}
	issuerHTTP, err := issuerClient(c.issuerCAs)
	if err != nil {
		return err
	}
	v, err := trust.NewVerifier(trust.Config{Issuers: issuers, Audience: c.audience, Replay: replay,
		AllowDevIssuer: c.dev, HTTPClient: issuerHTTP})
	if err != nil {
		return fmt.Errorf("token verifier: %w", err)
	}
	a.verifier = v
	if c.dev && a.xua != nil {
		srv.Handle("GET "+devXUAPath, a.devXUAHandler(v))
	}

	pageKey, err := loadOrCreateHexKey(c.pageKeyFile, c.dataPath("page.key"), c.dev)
	if err != nil {
		return fmt.Errorf("page key: %w", err)
	}
	pager, err := mhd.NewPager(pageKey, time.Now, 0)
	if err != nil {
		return err
	}
	m := &mhd.Endpoints{Guard: a.guard, Tokens: v, Pager: pager, BaseURL: c.publicURL, MaxProvide: int64(c.maxDocument),
		Log: a.log, Metrics: a.metrics}
	m.Routes(srv)

	ah, err := auditapi.NewHandler(auditapi.HandlerConfig{
		Searcher:     a.auditStore,
		Authenticate: auditapi.AuditViewer(v, a.pol, c.publicURL),
		Log:          a.auditLog,
		BaseURL:      c.publicURL + "/fhir/R4",
		Site:         "pjd",
		RequestID:    func(r *http.Request) string { return gateway.RequestIDFrom(r.Context()) },
		ErrorLog:     a.log,
	})
	if err != nil {
		return err
	}
	srv.Handle("GET /fhir/R4/AuditEvent", ah)
	return a.wireUI(ctx, srv)
}

// issuerClient is the HTTP client that fetches issuer metadata and keys:
// the system roots, plus the --issuer-ca certificates when given (a
// private issuer such as pjd dev-issuer).
func issuerClient(caFiles []string) (*http.Client, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	if len(caFiles) == 0 {
		return c, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	certs, err := loadCerts(caFiles)
	if err != nil {
		return nil, fmt.Errorf("--issuer-ca: %w", err)
	}
	for _, cert := range certs {
		pool.AddCert(cert)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = tr
	return c, nil
}

func loadCerts(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		rest := b
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, cert)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no certificates found")
	}
	return out, nil
}

// certPool is a pool of the certificates in the PEM files, each of which
// must hold at least one; errors name the flag.
func certPool(flag string, files ...string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate in %s", flag, f)
		}
	}
	return pool, nil
}

// loadOrCreateHexKey reads a 32-byte hex key from path, or — in --dev
// without a path — from (or into) devPath.
func loadOrCreateHexKey(path, devPath string, dev bool) ([]byte, error) {
	if path == "" {
		if !dev {
			return nil, errors.New("no key file given")
		}
		path = devPath
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			k := make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
				return nil, err
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("%s must hold 32 bytes as 64 hex digits", path)
	}
	return k, nil
}

func newSyslogForwarder(c *serveConfig, m audit.Metrics) (*audit.SyslogForwarder, error) {
	pool, err := certPool("--syslog-ca", c.syslogCA)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if c.syslogCert != "" {
		cert, err := tls.LoadX509KeyPair(c.syslogCert, c.syslogKey)
		if err != nil {
			return nil, fmt.Errorf("--syslog-cert/--syslog-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return audit.NewSyslogForwarder(audit.SyslogConfig{Addr: c.syslogAddr, TLS: tc, Site: "pjd", Metrics: m})
}
