package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/conformance"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// conformanceOptions are the flags of pjd conformance.
type conformanceOptions struct {
	clientFlags
	runRE, clientCert, clientKey, sourceOrg, devKeys, audience, blocksDB, issuerURL string
	xuaKey, xuaCert, xuaIssuer, xuaAudience, homeCommunityID                        string
	caFiles                                                                         listFlag
	asJSON                                                                          bool
	maxResults                                                                      int
	maxDoc                                                                          byteSize
}

// conformanceCmd is pjd conformance: the IHE scenarios of package
// conformance against a running server.
func conformanceCmd() *cmd {
	o := &conformanceOptions{}
	return &cmd{
		name: "conformance", summary: "run the IHE conformance scenarios against a server",
		flags: func(fs *flag.FlagSet) {
			o.clientFlags.define(fs)
			fs.StringVar(&o.runRE, "run", "", "run only the scenarios whose name or transaction matches this regular expression")
			fs.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
			fs.StringVar(&o.clientCert, "client-cert", "", "client certificate (PEM) for mutual TLS: the source identity of the SOAP source transactions (ITI-41/42)")
			fs.StringVar(&o.clientKey, "client-key", "", "client key (PEM) for mutual TLS")
			o.caFiles = nil
			fs.Var(&o.caFiles, "ca", "CA (PEM) to verify the server's and the dev issuer's certificates (default: the system roots); repeatable")
			fs.StringVar(&o.issuerURL, "dev-issuer-url", "", "URL of the dev issuer when it runs apart (pjd dev-issuer); default: the server's own /dev/helseid")
			fs.IntVar(&o.maxResults, "max-results", 0, "the server's --max-results, for the XDSTooManyResults scenario (0: unknown, skipped)")
			o.maxDoc = 0
			fs.Var(&o.maxDoc, "max-document-size", "the server's --max-document-size, for the over-size scenarios (0: unknown, skipped)")
			fs.StringVar(&o.sourceOrg, "source-org", "", "organisation number the source credential acts for (authorInstitution of the submissions)")
			fs.StringVar(&o.devKeys, "dev-issuer-keys", "", "the dev issuer's key folder (<data>/dev-issuer of a local --dev server, or pjd dev-issuer's --dir): lets the suite mint expired and break-the-glass attestations")
			fs.StringVar(&o.audience, "audience", "nhn:phr", "the server's --audience (for minted tokens)")
			fs.StringVar(&o.xuaKey, "xua-signing-key", "", "a key (PEM) the server trusts for XUA (its --saml-cert's key; <data>/dev-issuer/xua-signing-key.pem of a --dev server): lets the suite run the ITI-38 person and block scenarios")
			fs.StringVar(&o.xuaCert, "xua-signing-cert", "", "the certificate (PEM) of --xua-signing-key")
			fs.StringVar(&o.xuaIssuer, "xua-issuer", "", "the XUA Issuer the server allows (its --saml-issuer; <public-url>/dev/xua of a --dev server)")
			fs.StringVar(&o.xuaAudience, "xua-audience", "", "the XUA audience the server allows (its --saml-audience; default: its homeCommunityId)")
			fs.StringVar(&o.homeCommunityID, "home-community-id", "", "the server's --home-community-id (default: found out from an XDSUnknownCommunity answer)")
			fs.StringVar(&o.blocksDB, "blocks-db", "", "the server's database (its <data>/registry.db or --postgres-url): lets the suite add patients' blocks for the block-concealment scenarios")
		},
		run: func(ctx context.Context, inv *invocation) error {
			return runConformance(ctx, o, inv.stdout)
		},
	}
}

func runConformance(ctx context.Context, o *conformanceOptions, stdout io.Writer) error {
	cf := &o.clientFlags
	var p []string
	var filter *regexp.Regexp
	if o.runRE != "" {
		re, err := regexp.Compile(o.runRE)
		if err != nil {
			p = append(p, fmt.Sprintf("--run: %v", err))
		}
		filter = re
	}
	if (o.clientCert == "") != (o.clientKey == "") {
		p = append(p, "--client-cert and --client-key go together")
	}
	if o.maxResults < 0 {
		p = append(p, "--max-results: must not be negative")
	}
	if (o.xuaKey == "") != (o.xuaCert == "") || (o.xuaKey != "" && o.xuaIssuer == "") {
		p = append(p, "--xua-signing-key, --xua-signing-cert and --xua-issuer go together")
	}
	if len(p) > 0 {
		return &usageError{msg: strings.Join(p, "\n")}
	}
	base := strings.TrimRight(cf.url, "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(o.caFiles) > 0 {
		pool, err := certPool("--ca", o.caFiles...)
		if err != nil {
			return err
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	target := conformance.Target{
		BaseURL:         base,
		HTTP:            &http.Client{Transport: tr, Timeout: time.Minute},
		IssuerURL:       strings.TrimRight(o.issuerURL, "/"),
		MaxResults:      o.maxResults,
		MaxDocumentSize: int64(o.maxDoc),
		SourceOrgNr:     o.sourceOrg,
		HomeCommunityID: o.homeCommunityID,
	}
	if o.xuaKey != "" {
		signer, err := trust.LoadSAMLSigner(o.xuaCert, o.xuaKey)
		if err != nil {
			return fmt.Errorf("--xua-signing-key: %w", err)
		}
		audience := o.xuaAudience
		if audience == "" {
			audience = o.homeCommunityID
		}
		if audience == "" {
			return &usageError{msg: "--xua-signing-key needs --xua-audience or --home-community-id"}
		}
		target.XUA = conformance.MinterXUA(&trust.XUAMinter{Signer: signer, Issuer: o.xuaIssuer}, audience)
	}
	if o.clientCert != "" {
		// Only the source's transactions present the certificate: the
		// other scenarios are consumers, or nobody.
		cert, err := tls.LoadX509KeyPair(o.clientCert, o.clientKey)
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
	if o.devKeys != "" {
		mode, iss := devissuer.DevMode(true), base+"/dev/helseid"
		if target.IssuerURL != "" {
			mode, iss = devissuer.Standalone(), target.IssuerURL
		}
		mint, err := conformance.KeyDirMinter(mode, iss, o.devKeys, o.audience)
		if err != nil {
			return fmt.Errorf("--dev-issuer-keys: %w", err)
		}
		target.Mint = mint
	}
	if o.blocksDB != "" {
		target.AddBlock = blocksAdder(parseDatabaseAddr(o.blocksDB))
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	results, err := conformance.Run(ctx, target, filter)
	if err != nil && len(results) == 0 {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("no scenario matches --run %q", o.runRE)
	}
	if werr := printResults(stdout, results, o.asJSON); werr != nil {
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

// blocksAdder adds patients' blocks to the blocks table of the database
// at addr (--blocks-db), as pjd blocks add does.
func blocksAdder(addr databaseAddr) func(ctx context.Context, b policy.Block) error {
	return func(ctx context.Context, b policy.Block) error {
		db, err := openExistingDatabase(ctx, addr)
		if err != nil {
			return err
		}
		defer db.close()
		_, err = db.blocks().Add(ctx, b)
		return err
	}
}
