package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/soap"
	"pjd/gateway/tracing"
	"pjd/registry"
	"pjd/repository"
	"pjd/trust/devissuer"
)

// serveConfig is everything pjd serve can be told.
type serveConfig struct {
	configFile string
	listen     string
	data       string
	dev        bool
	roles      listFlag
	publicURL  string
	logLevel   string
	logFormat  string

	postgresURL     string
	maxResults      int
	homeCommunityID string
	valueSets       string
	allowSynthetic  triBool

	repositoryID   string
	registryURL    string
	blobDir        string
	s3Endpoint     string
	s3Bucket       string
	s3Prefix       string
	s3AccessKey    string
	s3SecretKey    string
	s3Region       string
	s3Insecure     bool
	s3CreateBucket bool
	maxDocument    byteSize
	maxRequest     byteSize
	sweepInterval  time.Duration
	sweepGrace     time.Duration
	uploadTimeout  time.Duration

	maxEnvelope       byteSize
	maxEnvelopes      int
	readHeaderTimeout time.Duration
	bodyIdleTimeout   time.Duration
	requestTimeout    time.Duration
	maxSearches       int
	maxTransfers      int

	issuers        listFlag
	issuerCAs      listFlag
	audience       string
	redisURL       string
	samlCerts      listFlag
	samlIssuers    listFlag
	samlAudiences  listFlag
	xuaSigningKey  string
	xuaSigningCert string
	xuaIssuer      string
	authorizations listFlag
	systemScopes   listFlag
	pageKeyFile    string

	tlsCert     string
	tlsKey      string
	tlsClientCA string

	auditKeyFile string
	witness      witnessFlags
	syslogAddr   string
	syslogCA     string
	syslogCert   string
	syslogKey    string

	frameAncestors listFlag
	cookieSameSite string
	demoData       triBool
	// devRegions: --dev also runs the regional demo communities.
	devRegions bool

	// otlpEndpoint: export spans over OTLP/HTTP here ("" for none).
	otlpEndpoint string

	federation federationFlags

	// noListener: the configuration is not for a server (pjd repository
	// sweep), so it needs no TLS settings.
	noListener bool

	// warnings are settings validate allowed but an operator should hear
	// of; serve logs them at start.
	warnings []string
}

func defineServeFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{}
	fs.StringVar(&c.configFile, "config", "", "read settings from this file (lines of 'name = value')")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.data, "data", "./pjd-data", "data folder (SQLite database, local documents, dev keys)")
	fs.BoolVar(&c.dev, "dev", false, "development mode: SQLite + local files in --data, in-memory replay cache, the dev token issuer, demo data; loopback SOAP callers need no credential")
	fs.Var(&c.roles, "roles", "roles this process serves: registry, repository, gateway (default: all three)")
	fs.StringVar(&c.publicURL, "public-url", "", "external base URL clients use (default http(s)://<listen>)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")

	fs.StringVar(&c.postgresURL, "postgres-url", "", "PostgreSQL URL of the registry and audit database (required without --dev)")
	fs.IntVar(&c.maxResults, "max-results", registry.DefaultMaxResults, "stored queries finding more objects answer XDSTooManyResults")
	fs.StringVar(&c.homeCommunityID, "home-community-id", "", "homeCommunityId (urn:oid:…) of this community: set on query results, and answered for on /xca/responding (default with --dev: "+devHomeCommunityID+")")
	c.federation.define(fs)
	fs.StringVar(&c.valueSets, "value-sets", "", "JSON file replacing the embedded Norwegian value sets")
	fs.Var(&c.allowSynthetic, "allow-synthetic-patients", "accept synthetic F-nr/D-nr (month+80/+65); default true with --dev, false otherwise")

	fs.StringVar(&c.repositoryID, "repository-unique-id", "", "repositoryUniqueId (an OID) of this repository (required without --dev)")
	fs.StringVar(&c.registryURL, "registry-url", "", "the registry's /xds/registry URL when this process serves the repository role without the registry role")
	fs.StringVar(&c.blobDir, "blob-dir", "", "store documents as local files here (default <data>/blobs with --dev)")
	fs.StringVar(&c.s3Endpoint, "s3-endpoint", "", "S3-compatible object storage host[:port]")
	fs.StringVar(&c.s3Bucket, "s3-bucket", "", "bucket for documents")
	fs.StringVar(&c.s3Prefix, "s3-prefix", "", "key prefix inside the bucket (e.g. pjd/)")
	fs.StringVar(&c.s3AccessKey, "s3-access-key", "", "S3 access key")
	fs.StringVar(&c.s3SecretKey, "s3-secret-key", "", "S3 secret key (prefer PJD_S3_SECRET_KEY)")
	fs.StringVar(&c.s3Region, "s3-region", "", "S3 region")
	fs.BoolVar(&c.s3Insecure, "s3-insecure", false, "talk plain HTTP to the S3 endpoint (only for a loopback endpoint)")
	fs.BoolVar(&c.s3CreateBucket, "s3-create-bucket", false, "create the bucket when missing")
	c.maxDocument = byteSize(repository.DefaultMaxDocumentSize)
	fs.Var(&c.maxDocument, "max-document-size", "largest document accepted (e.g. 512MiB)")
	c.maxRequest = 2 << 30
	fs.Var(&c.maxRequest, "max-request-size", "largest request body accepted, all documents together")
	fs.DurationVar(&c.sweepInterval, "sweep-interval", time.Hour, "how often the repository sweeps orphan blobs (0: never)")
	fs.DurationVar(&c.sweepGrace, "sweep-grace", 2*time.Hour, "blobs younger than this are never swept (at least --upload-timeout)")
	fs.DurationVar(&c.uploadTimeout, "upload-timeout", time.Hour, "longest an ITI-41 upload may take from start to registration")

	c.maxEnvelope = soap.DefaultRequestEnvelope
	fs.Var(&c.maxEnvelope, "max-envelope-size", "largest SOAP request envelope (a plain message, or the root part of MTOM); read before authentication")
	fs.IntVar(&c.maxEnvelopes, "max-concurrent-envelopes", soap.DefaultConcurrentEnvelopes(), "SOAP envelopes read and parsed at once; more wait briefly, then get 503")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second, "longest a client may take to send a request's headers")
	fs.DurationVar(&c.bodyIdleTimeout, "body-idle-timeout", gateway.DefaultLimits.IdleTimeout, "a request body, or a response, that moves no byte for this long is dropped (uploads and downloads may take as long as bytes keep moving)")
	fs.DurationVar(&c.requestTimeout, "request-timeout", gateway.DefaultLimits.RequestTimeout, "deadline of searches, queries and registrations; streaming transfers are cancelled after four times this long without progress")
	fs.IntVar(&c.maxSearches, "max-concurrent-searches", gateway.DefaultLimits.MaxSearches, "requests in flight per search route (MHD, ITI-18/42, audit); more wait briefly, then get 503")
	fs.IntVar(&c.maxTransfers, "max-concurrent-transfers", gateway.DefaultLimits.MaxTransfers, "requests in flight per transfer route (ITI-41/43, ITI-65/68, UI content); more wait briefly, then get 503")

	fs.Var(&c.issuers, "issuer", "trusted HelseID issuer metadata URL (.well-known/openid-configuration); repeatable")
	fs.Var(&c.issuerCAs, "issuer-ca", "CA certificate (PEM) trusted, besides the system roots, for fetching issuer metadata and keys (e.g. pjd dev-issuer's ca.pem); repeatable")
	fs.StringVar(&c.audience, "audience", "nhn:phr", "required aud of access tokens")
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis URL for the DPoP replay cache and UI sessions (required without --dev)")
	fs.Var(&c.samlCerts, "saml-cert", "PEM file of a certificate trusted to sign XUA assertions; repeatable")
	fs.Var(&c.samlIssuers, "saml-issuer", "accepted XUA assertion Issuer; repeatable")
	fs.Var(&c.samlAudiences, "saml-audience", "accepted XUA AudienceRestriction; repeatable")
	fs.StringVar(&c.xuaSigningKey, "xua-signing-key", "", "private key (PEM) signing the XUA assertions this gateway sends on outbound XCA hops (default with --dev: generated in <data>/dev-issuer)")
	fs.StringVar(&c.xuaSigningCert, "xua-signing-cert", "", "certificate (PEM) of --xua-signing-key, carried in the signature; responding gateways trust it (with --dev: <data>/dev-issuer/"+devissuer.FileDevXUACert+")")
	fs.StringVar(&c.xuaIssuer, "xua-issuer", "", "Issuer of the XUA assertions this gateway mints (default with --dev: <public-url>/dev/xua)")
	fs.Var(&c.authorizations, "allowed-authorizations", "Volven 9060 authorizations that may read documents (default LE,PS)")
	fs.Var(&c.systemScopes, "system-scope", "grant a scope to the client certificates of an organisation: ORGNR=SCOPE (repeatable; "+
		access.ScopeMultiPatientQuery+" for ITI-51, "+access.ScopePatientIdentityFeed+" for ITI-104)")
	fs.StringVar(&c.pageKeyFile, "page-key-file", "", "file with the 32-byte hex key sealing MHD page tokens, shared by all gateway nodes (generated in --data with --dev)")

	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate (PEM) to serve HTTPS")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fs.StringVar(&c.tlsClientCA, "tls-client-ca", "", "CA (PEM) whose client certificates identify document sources (mutual TLS)")

	fs.StringVar(&c.auditKeyFile, "audit-key-file", "", "file with the hex key sealing the audit chain (generated in --data with --dev)")
	c.witness.define(fs)
	fs.StringVar(&c.syslogAddr, "syslog-addr", "", "forward audit records to this ATNA repository (host:port, RFC 5425 TLS)")
	fs.StringVar(&c.syslogCA, "syslog-ca", "", "CA (PEM) of the syslog receiver")
	fs.StringVar(&c.syslogCert, "syslog-cert", "", "client certificate (PEM) for the syslog receiver")
	fs.StringVar(&c.syslogKey, "syslog-key", "", "client key (PEM) for the syslog receiver")

	fs.Var(&c.frameAncestors, "frame-ancestors", "origins allowed to embed the UI (CSP frame-ancestors); repeatable (default 'self')")
	fs.StringVar(&c.cookieSameSite, "ui-cookie-samesite", "strict", "SameSite of the UI session cookie: strict, lax, or none (cross-site embedding; sets Partitioned)")
	fs.BoolVar(&c.devRegions, "dev-regions", true, "with --dev, also run two regional demo communities (Helse Vest, Helse Nord) in this process under /regions/<name>/, federated with this node")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "", "export OpenTelemetry spans (OTLP/HTTP) to this receiver, e.g. http://127.0.0.1:4318 (/v1/traces is added to a URL without a path); default none")
	fs.Var(&c.demoData, "demo-data", "seed synthetic demo patients and documents on first start (default true with --dev)")
	return c
}

const (
	roleRegistry   = "registry"
	roleRepository = "repository"
	roleGateway    = "gateway"
)

func (c *serveConfig) has(role string) bool { return slices.Contains(c.roles, role) }

// validate checks the whole configuration, reports every problem at once,
// and then fills in the defaults that follow from other settings (roles,
// public URL, the dev repository id). Settings that are allowed but worth
// an operator's attention are left in c.warnings, which serve logs.
func (c *serveConfig) validate() error {
	if len(c.roles) == 0 {
		c.roles = listFlag{roleRegistry, roleRepository, roleGateway}
	}
	c.warnings = nil
	var p problems
	c.checkServer(&p)
	c.checkRoles(&p)
	c.checkLimits(&p)
	c.checkStorage(&p)
	c.checkFederation(&p)
	c.checkAudit(&p)
	if !c.dev {
		c.checkProduction(&p)
	}
	c.checkFiles(&p)
	if _, err := parseSystemScopes(c.systemScopes); err != nil {
		p.addf("--system-scope: %v", err)
	}
	c.fillDefaults()
	return p.err()
}

// checkServer checks the listener, logging, public URL and TLS settings.
func (c *serveConfig) checkServer(p *problems) {
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		p.addf("--listen: %v", err)
	}
	if c.data == "" {
		p.addf("--data: must name a folder")
	}
	switch c.logLevel {
	case "debug", "info", "warn", "error":
	default:
		p.addf("--log-level: %q is not debug, info, warn or error", c.logLevel)
	}
	if c.logFormat != "json" && c.logFormat != "text" {
		p.addf("--log-format: %q is not json or text", c.logFormat)
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			p.addf("--public-url: must be an http(s) origin like https://pjd.example.no")
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		p.addf("--tls-cert and --tls-key go together")
	}
	if c.tlsClientCA != "" && c.tlsCert == "" {
		p.addf("--tls-client-ca needs --tls-cert/--tls-key (mutual TLS)")
	}
	switch c.cookieSameSite {
	case "strict", "lax", "none":
	default:
		p.addf("--ui-cookie-samesite: %q is not strict, lax or none", c.cookieSameSite)
	}
	if c.otlpEndpoint != "" {
		if err := tracing.CheckEndpoint(c.otlpEndpoint); err != nil {
			p.addf("--otlp-endpoint: %v", err)
		}
	}
}

// checkRoles checks the roles and how a repository without the registry
// role reaches one.
func (c *serveConfig) checkRoles(p *problems) {
	for _, r := range c.roles {
		if r != roleRegistry && r != roleRepository && r != roleGateway {
			p.addf("--roles: unknown role %q (registry, repository, gateway)", r)
		}
	}
	if c.has(roleGateway) && (!c.has(roleRegistry) || !c.has(roleRepository)) {
		p.addf("--roles: the gateway role runs together with the registry and repository roles (scale out by running more all-role nodes)")
	}
	if c.has(roleRepository) && !c.has(roleRegistry) && c.registryURL == "" {
		p.addf("--registry-url: required when the repository role runs without the registry role")
	}
	if c.registryURL != "" {
		if c.has(roleRegistry) {
			p.addf("--registry-url: only for a repository without the registry role")
		} else if u, err := url.Parse(c.registryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("--registry-url: must be an http(s) URL of /xds/registry")
		}
	}
}

// checkLimits checks the sizes, timeouts and concurrency bounds.
func (c *serveConfig) checkLimits(p *problems) {
	if c.maxResults < 1 || c.maxResults > registry.DefaultMaxResults {
		p.addf("--max-results: must be between 1 and %d", registry.DefaultMaxResults)
	}
	if c.maxDocument <= 0 {
		p.addf("--max-document-size: must be positive")
	}
	if c.maxRequest < c.maxDocument {
		p.addf("--max-request-size: must be at least --max-document-size")
	}
	if c.uploadTimeout <= 0 {
		p.addf("--upload-timeout: must be positive")
	}
	if c.maxEnvelope <= 0 {
		p.addf("--max-envelope-size: must be positive")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--max-concurrent-envelopes", c.maxEnvelopes}, {"--max-concurrent-searches", c.maxSearches}, {"--max-concurrent-transfers", c.maxTransfers}} {
		if f.v < 1 {
			p.addf("%s: must be at least 1", f.name)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"--read-header-timeout", c.readHeaderTimeout}, {"--body-idle-timeout", c.bodyIdleTimeout}, {"--request-timeout", c.requestTimeout}} {
		if f.v <= 0 {
			p.addf("%s: must be positive", f.name)
		}
	}
	if c.sweepInterval > 0 && c.sweepGrace < c.uploadTimeout {
		p.addf("--sweep-grace (%s) must be at least --upload-timeout (%s), or uploads in flight could be swept", c.sweepGrace, c.uploadTimeout)
	}
}

// hasS3 reports whether object storage is configured (even in part).
func (c *serveConfig) hasS3() bool { return c.s3Endpoint != "" || c.s3Bucket != "" }

// checkStorage checks the registry's and the repository's identifiers and
// the object storage settings.
func (c *serveConfig) checkStorage(p *problems) {
	if c.repositoryID != "" && !registry.ValidOID(c.repositoryID) {
		p.addf("--repository-unique-id: %q is not an OID", c.repositoryID)
	}
	if c.homeCommunityID != "" && !strings.HasPrefix(c.homeCommunityID, "urn:oid:") {
		p.addf("--home-community-id: must be urn:oid:<OID>")
	}
	if !c.hasS3() {
		return
	}
	if c.s3Endpoint == "" || c.s3Bucket == "" || c.s3AccessKey == "" || c.s3SecretKey == "" {
		p.addf("--s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key go together")
	}
	if c.blobDir != "" {
		p.addf("--blob-dir and --s3-endpoint exclude each other")
	}
	if c.s3Insecure && !isLoopbackHost(c.s3Endpoint) {
		p.addf("--s3-insecure: plain HTTP is only allowed to a loopback S3 endpoint")
	}
}

// checkAudit checks the audit witness and the syslog forwarding.
func (c *serveConfig) checkAudit(p *problems) {
	c.witness.validate(c.s3Settings(), p)
	if c.syslogAddr != "" && c.syslogCA == "" {
		p.addf("--syslog-addr needs --syslog-ca (RFC 5425 is TLS)")
	}
	if (c.syslogCert == "") != (c.syslogKey == "") {
		p.addf("--syslog-cert and --syslog-key go together")
	}
}

// checkProduction refuses, without --dev, every missing or unsafe setting.
func (c *serveConfig) checkProduction(p *problems) {
	if (c.has(roleRegistry) || c.has(roleGateway)) && c.postgresURL == "" {
		p.addf("--postgres-url: required without --dev")
	}
	if c.has(roleRepository) {
		if !c.hasS3() {
			p.addf("--s3-endpoint/--s3-bucket: object storage is required without --dev")
		}
		if c.repositoryID == "" {
			p.addf("--repository-unique-id: required without --dev")
		}
	}
	if c.has(roleGateway) {
		if len(c.issuers) == 0 {
			p.addf("--issuer: at least one trusted HelseID issuer is required without --dev")
		}
		for _, is := range c.issuers {
			if !strings.HasPrefix(is, "https://") {
				p.addf("--issuer %s: issuer metadata must be fetched over https", is)
			}
		}
		if c.redisURL == "" {
			p.addf("--redis-url: the DPoP replay cache needs Redis without --dev")
		}
		if c.pageKeyFile == "" {
			p.addf("--page-key-file: required without --dev (all gateway nodes share it)")
		}
	}
	if c.auditKeyFile == "" && (c.has(roleGateway) || c.has(roleRegistry) || c.has(roleRepository)) {
		p.addf("--audit-key-file: the audit chain key is required without --dev")
	}
	if c.tlsCert == "" && !c.noListener {
		p.addf("--tls-cert/--tls-key: HTTPS is required without --dev")
	}
	if c.tlsClientCA == "" && !c.noListener {
		p.addf("--tls-client-ca: document sources authenticate with client certificates; required without --dev")
	}
	if c.publicURL != "" && strings.HasPrefix(c.publicURL, "http://") {
		p.addf("--public-url: must be https without --dev")
	}
	if c.demoData.or(false) {
		p.addf("--demo-data: only with --dev")
	}
	if c.allowSynthetic.or(false) {
		// Allowed (test environments register synthetic people), but said.
		c.warnings = append(c.warnings, "--allow-synthetic-patients without --dev: synthetic F-nr/D-nr (month + 80/+ 65) are accepted as patients; meant for test environments only")
	}
}

// checkFiles checks that every file named exists, and that a SAML
// certificate comes with its issuer and audience.
func (c *serveConfig) checkFiles(p *problems) {
	for _, f := range []struct{ flag, path string }{
		{"--tls-cert", c.tlsCert}, {"--tls-key", c.tlsKey}, {"--tls-client-ca", c.tlsClientCA},
		{"--audit-key-file", c.auditKeyFile}, {"--page-key-file", c.pageKeyFile}, {"--value-sets", c.valueSets},
		{"--syslog-ca", c.syslogCA}, {"--syslog-cert", c.syslogCert}, {"--syslog-key", c.syslogKey},
	} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				p.addf("%s: %v", f.flag, err)
			}
		}
	}
	for _, group := range []struct {
		flag  string
		paths []string
	}{{"--saml-cert", c.samlCerts}, {"--issuer-ca", c.issuerCAs}} {
		for _, f := range group.paths {
			if _, err := os.Stat(f); err != nil {
				p.addf("%s: %v", group.flag, err)
			}
		}
	}
	if len(c.samlCerts) > 0 && (len(c.samlIssuers) == 0 || len(c.samlAudiences) == 0) {
		p.addf("--saml-cert needs --saml-issuer and --saml-audience")
	}
	if (c.xuaSigningKey == "") != (c.xuaSigningCert == "") {
		p.addf("--xua-signing-key and --xua-signing-cert go together")
	}
	for _, f := range []struct{ flag, path string }{{"--xua-signing-key", c.xuaSigningKey}, {"--xua-signing-cert", c.xuaSigningCert}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				p.addf("%s: %v", f.flag, err)
			}
		}
	}
	if c.xuaSigningKey != "" && c.xuaIssuer == "" && !c.dev {
		p.addf("--xua-signing-key needs --xua-issuer (the Issuer responding gateways allow)")
	}
}

// fillDefaults sets what follows from other settings: the public URL from
// the listen address and TLS, and --dev's repository id.
func (c *serveConfig) fillDefaults() {
	if c.publicURL == "" {
		scheme := "http"
		if c.tlsCert != "" {
			scheme = "https"
		}
		c.publicURL = scheme + "://" + c.listen
	}
	c.publicURL = strings.TrimRight(c.publicURL, "/")
	if c.dev && c.repositoryID == "" {
		c.repositoryID = devRepositoryID
	}
	if c.dev && c.xuaIssuer == "" {
		c.xuaIssuer = c.publicURL + devXUAPath
	}
}

// devRepositoryID is the repositoryUniqueId of --dev (an OID under 2.999,
// the arc for examples).
const devRepositoryID = "2.999.578.3.1"

// devHomeCommunityID is the community a --dev server answers for on
// /xca/responding when --home-community-id is not given.
const devHomeCommunityID = "urn:oid:2.999.578.3"

// respondingHome is the homeCommunityId of the Responding Gateway
// (/xca/responding): --home-community-id, or devHomeCommunityID with
// --dev; "" (no responding gateway) otherwise.
func (c *serveConfig) respondingHome() string {
	if c.homeCommunityID != "" {
		return c.homeCommunityID
	}
	if c.dev {
		return devHomeCommunityID
	}
	return ""
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(c *serveConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if c.logFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(gateway.NewRedactingHandler(h))
}

func serveCmd() *cmd {
	var c *serveConfig
	return &cmd{
		name: "serve", summary: "run the server (pjd serve --dev for a local demo)",
		doc:   "Without --dev, every setting production needs must be given; all problems are listed at once.",
		flags: func(fs *flag.FlagSet) { c = defineServeFlags(fs) },
		run: func(ctx context.Context, inv *invocation) error {
			return serve(ctx, c, inv.stdout, inv.stderr)
		},
	}
}

// serve runs the server until ctx ends. It listens before it creates
// anything, so a busy port leaves no data folder behind.
func serve(ctx context.Context, c *serveConfig, stdout, stderr io.Writer) (err error) {
	if err := c.validate(); err != nil {
		return err
	}
	log := newLogger(c, stderr)
	for _, w := range c.warnings {
		log.Warn("configuration: " + w)
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.listen, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	// A data folder made by this run is removed again if the server
	// cannot start.
	_, statErr := os.Stat(c.data)
	created := errors.Is(statErr, os.ErrNotExist)
	a, err := buildApp(ctx, c, log)
	if err != nil {
		if created {
			os.RemoveAll(c.data)
		}
		return err
	}
	defer a.close()

	handler := a.handler
	if c.otlpEndpoint != "" {
		stop, err := tracing.Setup(ctx, c.otlpEndpoint, log)
		if err != nil {
			return err
		}
		defer func() {
			// Flush what is batched, bounded: a receiver that is gone
			// does not hold up the shutdown.
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := stop(fctx); err != nil {
				log.Warn("flushing OpenTelemetry spans failed", "err", err)
			}
		}()
		handler = tracing.Handler(handler)
	}
	srv := gateway.HTTPServer(c.listen, handler, log)
	srv.ReadHeaderTimeout = c.readHeaderTimeout
	if c.tlsCert != "" {
		tc, err := serverTLS(c)
		if err != nil {
			return err
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("pjd serving", "listen", ln.Addr().String(), "public_url", c.publicURL, "roles", c.roles.String(), "dev", c.dev)
	a.startBackground(ctx)
	if c.dev && a.seed != nil {
		if err := a.seed(ctx); err != nil {
			log.Error("seeding demo data failed", "err", err)
		}
	}
	printBanner(stdout, c, a)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete", "err", err)
	}
	return nil
}

func serverTLS(c *serveConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if c.tlsClientCA != "" {
		pool, err := certPool("--tls-client-ca", c.tlsClientCA)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
		// Consumers authenticate with tokens; sources present certificates.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

func printBanner(w io.Writer, c *serveConfig, a *app) {
	u := c.publicURL
	fmt.Fprintf(w, "\npjd is running (%s)\n\n", strings.Join(c.roles, ", "))
	if c.has(roleRegistry) {
		fmt.Fprintf(w, "  XDS registry    %s/xds/registry      (ITI-42, ITI-18)\n", u)
	}
	if c.has(roleRepository) {
		fmt.Fprintf(w, "  XDS repository  %s/xds/repository    (ITI-41, ITI-43)\n", u)
	}
	if c.has(roleGateway) {
		fmt.Fprintf(w, "  MHD (FHIR R4)   %s/fhir/R4/DocumentReference, /fhir/R4/List, %s/mhd/document\n", u, u)
		fmt.Fprintf(w, "  Audit review    %s/fhir/R4/AuditEvent\n", u)
		fmt.Fprintf(w, "  UI              %s/ui/\n", u)
	}
	fmt.Fprintf(w, "  Health          %s/healthz  %s/readyz  %s/metrics\n", u, u, u)
	if c.dev {
		if c.has(roleGateway) {
			fmt.Fprintf(w, "  Dev issuer      %s/dev/helseid/.well-known/openid-configuration\n", u)
			fmt.Fprintf(w, "  Demo host       %s/ui/demo-host\n", u)
		}
		fmt.Fprintf(w, "  Data folder     %s\n\n", c.data)
		if a.demoPatient != "" {
			// The README's commands; --url and --data only where this
			// server is not where they look by default.
			url, data := "", ""
			if u != "http://127.0.0.1:8080" {
				url = " --url " + u
			}
			if c.data != "./pjd-data" {
				data = " --data " + c.data
			}
			fmt.Fprintf(w, "Try it in a second terminal (demo patient %s; see README.md):\n\n", a.demoPatient)
			fmt.Fprintf(w, "  mkdir -p try\n")
			fmt.Fprintf(w, "  ./bin/pjd find%s --patient %s\n", url, a.demoPatient)
			fmt.Fprintf(w, "  ./bin/pjd get%s %s.7.2 -o try/poliklinisk.pdf\n", url, demoRoot)
			fmt.Fprintf(w, "  ./bin/pjd token%s --persona fastlege --patient %s > try/fastlege.json\n", url, a.demoPatient)
			fmt.Fprintf(w, "  ./bin/pjd mhd search%s --token-file try/fastlege.json --patient %s\n", url, a.demoPatient)
			fmt.Fprintf(w, "  ./bin/pjd audit search%s --patient %s\n", data, a.demoPatient)
			fmt.Fprintf(w, "  open %s/ui/demo-host in a browser\n\n", u)
		}
	}
}

// dataPath is a path inside the data folder.
func (c *serveConfig) dataPath(name string) string { return filepath.Join(c.data, name) }

// s3Settings are the object storage settings (for the audit witness).
func (c *serveConfig) s3Settings() s3Settings {
	return s3Settings{endpoint: c.s3Endpoint, bucket: c.s3Bucket, prefix: c.s3Prefix, accessKey: c.s3AccessKey,
		secretKey: c.s3SecretKey, region: c.s3Region, insecure: c.s3Insecure}
}

// parseSystemScopes reads --system-scope ORGNR=SCOPE values into the
// Guard's SystemScopes.
func parseSystemScopes(vals []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, v := range vals {
		org, scope, ok := strings.Cut(v, "=")
		org, scope = strings.TrimSpace(org), strings.TrimSpace(scope)
		if !ok || len(org) != 9 || strings.Trim(org, "0123456789") != "" {
			return nil, fmt.Errorf("%q: want ORGNR=SCOPE with a 9-digit organisation number", v)
		}
		switch scope {
		case access.ScopeMultiPatientQuery, access.ScopePatientIdentityFeed:
		default:
			return nil, fmt.Errorf("%q: unknown scope %q (%s or %s)", v, scope, access.ScopeMultiPatientQuery, access.ScopePatientIdentityFeed)
		}
		out[org] = append(out[org], scope)
	}
	return out, nil
}
