package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func serveConfigFrom(t *testing.T, args []string, env map[string]string) (*serveConfig, error) {
	t.Helper()
	fs := newFlagSet("serve", io.Discard)
	c := defineServeFlags(fs)
	if err := loadConfig(fs, args, func(k string) string { return env[k] }); err != nil {
		return c, err
	}
	return c, c.validate()
}

// TestServeConfigProductionRefusesUnsafe: without --dev, every missing or
// unsafe setting is reported, all at once.
func TestServeConfigProductionRefusesUnsafe(t *testing.T) {
	_, err := serveConfigFrom(t, []string{"--issuer", "http://insecure.example/.well-known/openid-configuration"}, nil)
	if err == nil {
		t.Fatal("production without a database, storage, Redis, TLS or keys was accepted")
	}
	for _, want := range []string{"--postgres-url", "--s3-endpoint", "--repository-unique-id", "must be fetched over https",
		"--redis-url", "--page-key-file", "--audit-key-file", "--tls-cert", "--tls-client-ca"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
}

// TestServeConfigTable: one row per rule of validate.
func TestServeConfigTable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string // "" = valid
	}{
		{"dev defaults", []string{"--dev"}, ""},
		{"dev with postgres", []string{"--dev", "--postgres-url", "postgres://x/y"}, ""},
		{"unknown role", []string{"--dev", "--roles", "registry,archive"}, `unknown role "archive"`},
		{"gateway alone", []string{"--dev", "--roles", "gateway"}, "the gateway role runs together"},
		{"repository without registry-url", []string{"--dev", "--roles", "repository"}, "--registry-url: required"},
		{"registry-url with registry role", []string{"--dev", "--registry-url", "http://127.0.0.1:1/xds/registry"}, "only for a repository"},
		{"roles apart", []string{"--dev", "--roles", "repository", "--registry-url", "http://127.0.0.1:1/xds/registry"}, ""},
		{"bad listen", []string{"--dev", "--listen", "nowhere"}, "--listen"},
		{"bad log level", []string{"--dev", "--log-level", "loud"}, "--log-level"},
		{"public url with path", []string{"--dev", "--public-url", "https://x.example/pjd"}, "--public-url"},
		{"tls half", []string{"--dev", "--tls-cert", "a.pem"}, "go together"},
		{"sweep grace shorter than uploads", []string{"--dev", "--upload-timeout", "2h", "--sweep-grace", "1h"}, "--sweep-grace"},
		{"request smaller than document", []string{"--dev", "--max-document-size", "1GiB", "--max-request-size", "1MiB"}, "--max-request-size"},
		{"bad size", []string{"--dev", "--max-document-size", "lots"}, "not a size"},
		{"repository id not an OID", []string{"--dev", "--repository-unique-id", "abc"}, "not an OID"},
		{"home community without urn", []string{"--dev", "--home-community-id", "1.2.3"}, "urn:oid:"},
		{"communities", []string{"--dev", "--community", "urn:oid:1.2.3=http://127.0.0.1:1/xca/responding;name=Helse Vest;timeout=2s",
			"--community", "urn:oid:1.2.4=http://127.0.0.1:2/xca/responding"}, ""},
		{"community not an OID", []string{"--dev", "--community", "urn:oid:vest=http://127.0.0.1:1/"}, "--community"},
		{"community without URL", []string{"--dev", "--community", "urn:oid:1.2.3"}, "--community"},
		{"community bad option", []string{"--dev", "--community", "urn:oid:1.2.3=http://127.0.0.1:1/;timeout=soon"}, "--community"},
		{"community twice", []string{"--dev", "--community", "urn:oid:1.2.3=http://127.0.0.1:1/", "--community", "1.2.3=http://127.0.0.1:2/"}, "given twice"},
		{"community is this node", []string{"--dev", "--community", "urn:oid:2.999.578.3=http://127.0.0.1:1/"}, "this node's own"},
		{"community without a home", []string{"--postgres-url", "postgres://x/y", "--community", "urn:oid:1.2.3=http://127.0.0.1:1/"}, "needs --home-community-id"},
		{"s3 incomplete", []string{"--dev", "--s3-endpoint", "127.0.0.1:9000"}, "go together"},
		{"s3 plaintext to a remote host", []string{"--dev", "--s3-endpoint", "s3.example.no", "--s3-bucket", "b", "--s3-access-key", "a",
			"--s3-secret-key", "s", "--s3-insecure"}, "only allowed to a loopback"},
		{"blob dir and s3", []string{"--dev", "--blob-dir", dir, "--s3-endpoint", "127.0.0.1:9000", "--s3-bucket", "b", "--s3-access-key", "a",
			"--s3-secret-key", "s"}, "exclude each other"},
		{"samesite", []string{"--dev", "--ui-cookie-samesite", "sometimes"}, "--ui-cookie-samesite"},
		{"otlp endpoint", []string{"--dev", "--otlp-endpoint", "http://127.0.0.1:4318"}, ""},
		{"otlp endpoint with path", []string{"--dev", "--otlp-endpoint", "https://otel.example.no/v1/traces"}, ""},
		{"otlp endpoint not a URL", []string{"--dev", "--otlp-endpoint", "127.0.0.1:4318"}, "--otlp-endpoint"},
		{"otlp endpoint grpc scheme", []string{"--dev", "--otlp-endpoint", "grpc://127.0.0.1:4317"}, "--otlp-endpoint"},
		{"otlp endpoint with query", []string{"--dev", "--otlp-endpoint", "http://127.0.0.1:4318/?x=1"}, "--otlp-endpoint"},
		{"missing key file", []string{"--dev", "--audit-key-file", filepath.Join(dir, "missing.key")}, "--audit-key-file"},
		{"saml without issuer", []string{"--dev", "--saml-cert", filepath.Join(dir, "missing.pem")}, "--saml-cert needs"},
		{"syslog without CA", []string{"--dev", "--syslog-addr", "127.0.0.1:6514"}, "--syslog-ca"},
		{"demo data in production", []string{"--demo-data=true"}, "--demo-data: only with --dev"},
		{"zero envelope", []string{"--dev", "--max-envelope-size", "0"}, "--max-envelope-size"},
		{"request smaller than the envelope limit", []string{"--dev", "--max-request-size", "1MiB", "--max-document-size", "1MiB"}, ""},
		{"no envelopes at once", []string{"--dev", "--max-concurrent-envelopes", "0"}, "--max-concurrent-envelopes"},
		{"no searches at once", []string{"--dev", "--max-concurrent-searches", "0"}, "--max-concurrent-searches"},
		{"no transfers at once", []string{"--dev", "--max-concurrent-transfers", "0"}, "--max-concurrent-transfers"},
		{"zero idle timeout", []string{"--dev", "--body-idle-timeout", "0s"}, "--body-idle-timeout"},
		{"zero request timeout", []string{"--dev", "--request-timeout", "0s"}, "--request-timeout"},
		{"zero header timeout", []string{"--dev", "--read-header-timeout", "0s"}, "--read-header-timeout"},
		{"missing issuer CA", []string{"--dev", "--issuer-ca", filepath.Join(dir, "missing.pem")}, "--issuer-ca"},
		{"limits", []string{"--dev", "--max-envelope-size", "8MiB", "--max-concurrent-envelopes", "2", "--body-idle-timeout", "1m",
			"--request-timeout", "10s", "--max-concurrent-searches", "16", "--max-concurrent-transfers", "4", "--read-header-timeout", "5s"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := serveConfigFrom(t, tc.args, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error naming %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestServeConfigSources: flags win over the environment, which wins over
// the config file; unknown names in the file are problems.
func TestServeConfigSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pjd.conf")
	if err := os.WriteFile(file, []byte("# pjd\nlisten = 127.0.0.1:9001\nmax-results = 77\nlog-level = \"warn\"\ndev = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := serveConfigFrom(t, []string{"--config", file, "--listen", "127.0.0.1:9003"},
		map[string]string{"PJD_LISTEN": "127.0.0.1:9002", "PJD_MAX_RESULTS": "88"})
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:9003" || c.maxResults != 88 || c.logLevel != "warn" || !c.dev {
		t.Fatalf("listen %s, max-results %d, log-level %s, dev %v", c.listen, c.maxResults, c.logLevel, c.dev)
	}
	if c.publicURL != "http://127.0.0.1:9003" || c.repositoryID != devRepositoryID {
		t.Fatalf("defaults: public URL %s, repository %s", c.publicURL, c.repositoryID)
	}

	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("lisen = x\nmax-results = many\nno equals sign\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = serveConfigFrom(t, []string{"--config", bad}, map[string]string{"PJD_MAX_DOCUMENT_SIZE": "huge"})
	if err == nil {
		t.Fatal("a bad config file was accepted")
	}
	for _, want := range []string{`unknown setting "lisen"`, "max-results", "expected name = value", "PJD_MAX_DOCUMENT_SIZE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
}

// TestServeConfigWarnings: a setting that is allowed but unusual in
// production is not a problem but a warning, which serve logs at start;
// --dev, where it is the default, says nothing.
func TestServeConfigWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" = no warning
	}{
		{"synthetic patients in production", []string{"--allow-synthetic-patients"}, "--allow-synthetic-patients without --dev"},
		{"production", nil, ""},
		{"synthetic patients with --dev", []string{"--dev", "--allow-synthetic-patients"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serveConfigFrom(t, tc.args, nil) // production lacks settings: problems, but warnings all the same
			got := strings.Join(c.warnings, "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
