package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/conformance"
	"pjd/trust/devissuer"
)

// runConformance is pjd conformance: the IHE scenarios of package
// conformance against a running server.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("conformance", stderr)
	cf := defineClientFlags(fs)
	runRE := fs.String("run", "", "run only the scenarios whose name or transaction matches this regular expression")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	clientCert := fs.String("client-cert", "", "client certificate (PEM) for mutual TLS: the source identity of the SOAP source transactions (ITI-41/42)")
	clientKey := fs.String("client-key", "", "client key (PEM) for mutual TLS")
	var caFiles listFlag
	fs.Var(&caFiles, "ca", "CA (PEM) to verify the server's and the dev issuer's certificates (default: the system roots); repeatable")
	issuerURL := fs.String("dev-issuer-url", "", "URL of the dev issuer when it runs apart (pjd dev-issuer); default: the server's own /dev/helseid")
	maxResults := fs.Int("max-results", 0, "the server's --max-results, for the XDSTooManyResults scenario (0: unknown, skipped)")
	var maxDoc byteSize
	fs.Var(&maxDoc, "max-document-size", "the server's --max-document-size, for the over-size scenarios (0: unknown, skipped)")
	sourceOrg := fs.String("source-org", "", "organisation number the source credential acts for (authorInstitution of the submissions)")
	devKeys := fs.String("dev-issuer-keys", "", "the dev issuer's key folder (<data>/dev-issuer of a local --dev server, or pjd dev-issuer's --dir): lets the suite mint expired and break-the-glass attestations")
	audience := fs.String("audience", "nhn:phr", "the server's --audience (for minted tokens)")
	if err := loadConfig(fs, args, os.Getenv); err != nil {
		return err
	}
	var p problems
	var filter *regexp.Regexp
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			p.addf("--run: %v", err)
		}
		filter = re
	}
	if (*clientCert == "") != (*clientKey == "") {
		p.addf("--client-cert and --client-key go together")
	}
	if *maxResults < 0 {
		p.addf("--max-results: must not be negative")
	}
	if fs.NArg() > 0 {
		p.addf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := p.err(); err != nil {
		return err
	}
	base := strings.TrimRight(cf.url, "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(caFiles) > 0 {
		pool := x509.NewCertPool()
		for _, f := range caFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("--ca: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--ca: no certificate in %s", f)
			}
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	target := conformance.Target{
		BaseURL:         base,
		HTTP:            &http.Client{Transport: tr, Timeout: time.Minute},
		IssuerURL:       strings.TrimRight(*issuerURL, "/"),
		MaxResults:      *maxResults,
		MaxDocumentSize: int64(maxDoc),
		SourceOrgNr:     *sourceOrg,
	}
	if *clientCert != "" {
		// Only the source's transactions present the certificate: the
		// other scenarios are consumers, or nobody.
		cert, err := tls.LoadX509KeyPair(*clientCert, *clientKey)
		if err != nil {
			return fmt.Errorf("--client-cert/--client-key: %w", err)
		}
		str := tr.Clone()
		tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if tr.TLSClientConfig != nil {
			tc.RootCAs = tr.TLSClientConfig.RootCAs
		}
		str.TLSClientConfig = tc
		target.Source = &http.Client{Transport: str, Timeout: time.Minute}
	}
	if *devKeys != "" {
		mode, iss := devissuer.DevMode(true), base+"/dev/helseid"
		if target.IssuerURL != "" {
			mode, iss = devissuer.Standalone(), target.IssuerURL
		}
		mint, err := conformance.KeyDirMinter(mode, iss, *devKeys, *audience)
		if err != nil {
			return fmt.Errorf("--dev-issuer-keys: %w", err)
		}
		target.Mint = mint
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	results, err := conformance.Run(ctx, target, filter)
	if err != nil && len(results) == 0 {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("no scenario matches --run %q", *runRE)
	}
	if werr := printResults(stdout, results, *asJSON); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if r.Outcome == conformance.Fail {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scenario(s) failed", failed, len(results))
	}
	return nil
}

func printResults(w io.Writer, results []conformance.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tTRANSACTION\tRESULT\tDETAIL")
	n := map[conformance.Outcome]int{}
	for _, r := range results {
		n[r.Outcome]++
		detail := strings.ReplaceAll(r.Detail, "\n", " ")
		if len(detail) > 300 {
			detail = detail[:300] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Transaction, r.Outcome, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "conformance: %d passed, %d failed, %d skipped\n", n[conformance.Pass], n[conformance.Fail], n[conformance.Skip])
	return err
}
