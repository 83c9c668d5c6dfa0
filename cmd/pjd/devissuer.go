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
	"path/filepath"
	"strings"
	"time"

	"pjd/registry"
	"pjd/trust"
	"pjd/trust/devissuer"
)

// runDevIssuer is pjd dev-issuer: the development token issuer as its own
// HTTPS process, with a certificate authority of its own, so that pjd
// serve can run in production mode (TLS, source mutual TLS, XUA, a
// non-dev issuer) on one machine, in tests and for trying a production
// setup, without the real HelseID. Its tokens carry no development marks;
// a production pjd serve trusts them only when given this issuer's
// metadata URL (--issuer) and CA (--issuer-ca). The CA, the certificates
// it issued and the signing key are kept in --dir.
func devIssuerCmd() *cmd {
	o := &devIssuerOptions{}
	return &cmd{
		name: "dev-issuer", summary: "run the development token issuer over HTTPS with its own CA (testing production mode)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.listen, "listen", "127.0.0.1:8443", "address to serve HTTPS on")
			fs.StringVar(&o.dir, "dir", "./pjd-dev-issuer", "folder of the CA, the certificates it issued and the signing key (created when missing)")
			fs.StringVar(&o.publicURL, "public-url", "", "the issuer's URL (default https://<listen>)")
			o.hosts = nil
			fs.Var(&o.hosts, "hosts", "host names and IP addresses the HTTPS certificates are issued for (default: the host of --listen, 127.0.0.1 and localhost)")
			fs.StringVar(&o.audience, "audience", devissuer.DefaultAudience, "aud of the tokens (pjd serve --audience)")
			fs.StringVar(&o.sourceOrg, "source-org", registry.SampleOrgnr, "organisation number in the source system's client certificate")
		},
		run: func(ctx context.Context, inv *invocation) error {
			return runDevIssuer(ctx, o, inv.stdout, inv.stderr)
		},
	}
}

// devIssuerOptions are the flags of pjd dev-issuer.
type devIssuerOptions struct {
	listen, dir, publicURL, audience, sourceOrg string
	hosts                                       listFlag
}

func runDevIssuer(ctx context.Context, o *devIssuerOptions, stdout, stderr io.Writer) error {
	listen, dir, publicURL, audience, sourceOrg := &o.listen, &o.dir, &o.publicURL, &o.audience, &o.sourceOrg
	hosts := o.hosts
	var p problems
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		p.addf("--listen: %v", err)
	}
	if *publicURL == "" {
		*publicURL = "https://" + *listen
	}
	if u, err := url.Parse(*publicURL); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
		p.addf("--public-url: must be an https URL")
	}
	if !trust.ValidOrgNr(*sourceOrg) {
		p.addf("--source-org: %q is not an organisation number", *sourceOrg)
	}
	if len(p) > 0 {
		return &usageError{msg: strings.Join(p, "\n")}
	}
	if len(hosts) == 0 {
		hosts = listFlag{"127.0.0.1", "localhost"}
		if host != "" && host != "127.0.0.1" && host != "localhost" {
			hosts = append(hosts, host)
		}
	}
	issuer := strings.TrimRight(*publicURL, "/")

	pki, err := devissuer.LoadOrCreatePKI(*dir, hosts, *sourceOrg)
	if err != nil {
		return err
	}
	iss, err := devissuer.New(devissuer.Standalone(), devissuer.Options{Issuer: issuer, KeyDir: *dir, Audience: *audience})
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(pki.Path(devissuer.FileIssuer), pki.Path(devissuer.FileIssuerKey))
	if err != nil {
		return fmt.Errorf("the issuer's certificate: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	srv := &http.Server{
		Handler:           iss,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tc,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(stderr, nil).WithAttrs([]slog.Attr{slog.String("cmd", "dev-issuer")}), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, tc)) }()
	printDevIssuerBanner(stdout, iss, pki, *audience)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func printDevIssuerBanner(w io.Writer, iss *devissuer.Issuer, pki *devissuer.PKI, audience string) {
	path := func(f string) string {
		p := pki.Path(f)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p
	}
	fmt.Fprintf(w, "\npjd dev-issuer is running — synthetic identities and certificates, for tests only\n\n")
	fmt.Fprintf(w, "  Issuer metadata  %s\n", iss.MetadataURL())
	fmt.Fprintf(w, "  CA certificate   %s\n", path(devissuer.FileCA))
	fmt.Fprintf(w, "  Signing key      %s\n", path("dev-helseid-signing-key.jwk.json"))
	fmt.Fprintf(w, "  Source (mTLS)    %s, %s (organisation %s)\n\n", path(devissuer.FileSource), path(devissuer.FileSourceKey), pki.SourceOrgNr)
	fmt.Fprintf(w, "pjd serve in production mode, trusting this issuer (add --postgres-url, --s3-…, --redis-url,\n")
	fmt.Fprintf(w, "--repository-unique-id, --audit-key-file and --page-key-file):\n\n")
	fmt.Fprintf(w, "  pjd serve --listen 127.0.0.1:8080 --public-url https://127.0.0.1:8080 \\\n")
	fmt.Fprintf(w, "    --tls-cert %s --tls-key %s --tls-client-ca %s \\\n", path(devissuer.FileServer), path(devissuer.FileServerKey), path(devissuer.FileCA))
	fmt.Fprintf(w, "    --issuer %s --issuer-ca %s --audience %s \\\n", iss.MetadataURL(), path(devissuer.FileCA), audience)
	fmt.Fprintf(w, "    --saml-cert %s --saml-issuer %s --saml-audience %s\n\n", path(devissuer.FileXUA), iss.Issuer(), audience)
	fmt.Fprintf(w, "and the conformance suite against it:\n\n")
	fmt.Fprintf(w, "  pjd conformance --url https://127.0.0.1:8080 --ca %s --client-cert %s --client-key %s --source-org %s \\\n",
		path(devissuer.FileCA), path(devissuer.FileSource), path(devissuer.FileSourceKey), pki.SourceOrgNr)
	fmt.Fprintf(w, "    --dev-issuer-url %s --dev-issuer-keys %s\n\n", iss.Issuer(), pki.Dir)
}
