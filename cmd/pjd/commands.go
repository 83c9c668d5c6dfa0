package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/audit/sqlaudit"
	"pjd/gateway/blocks"
	"pjd/gateway/mhd"
	"pjd/registry/postgres"
	"pjd/registry/sqlite"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// dbFlags name the database of the registry and audit log.
type dbFlags struct {
	config       string
	data         string
	postgresURL  string
	auditKeyFile string
}

func defineDBFlags(fs *flag.FlagSet) *dbFlags {
	d := &dbFlags{}
	fs.StringVar(&d.config, "config", "", "read settings from this file (lines of 'name = value')")
	fs.StringVar(&d.data, "data", "./pjd-data", "data folder of a --dev server (its SQLite database and dev keys)")
	fs.StringVar(&d.postgresURL, "postgres-url", "", "PostgreSQL URL (production); without it the SQLite database in --data")
	fs.StringVar(&d.auditKeyFile, "audit-key-file", "", "audit chain key file (default: the dev key in --data)")
	return d
}

func (d *dbFlags) dsn() string {
	if d.postgresURL != "" {
		return d.postgresURL
	}
	return d.data + "/registry.db"
}

func (d *dbFlags) auditKey() (*audit.Key, error) {
	if d.auditKeyFile != "" {
		return audit.LoadKey(d.auditKeyFile)
	}
	if _, err := os.Stat(d.data + "/" + audit.DevKeyFile); err != nil {
		return nil, fmt.Errorf("no --audit-key-file and no dev key in %s: %w", d.data, err)
	}
	return audit.LoadOrCreateDevKey(d.data)
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	d := defineDBFlags(fs)
	if err := loadConfig(fs, args, os.Getenv); err != nil {
		return err
	}
	if d.postgresURL != "" {
		st, err := postgres.Open(ctx, d.postgresURL)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		v, _ := st.SchemaVersion(ctx)
		fmt.Fprintf(stdout, "registry schema at version %d\n", v)
	} else {
		if err := os.MkdirAll(d.data, 0o700); err != nil {
			return err
		}
		// sqlite.Open migrates the embedded database itself.
		st, err := openSQLiteRegistry(ctx, d.dsn())
		if err != nil {
			return err
		}
		st.Close()
		fmt.Fprintf(stdout, "registry schema migrated (%s)\n", d.dsn())
	}
	as, err := sqlaudit.Open(ctx, d.dsn())
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer as.Close()
	if err := as.Migrate(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	bs, err := blocks.Open(ctx, d.dsn())
	if err != nil {
		return err
	}
	bs.Close()
	fmt.Fprintln(stdout, "audit log and blocks tables migrated")
	return nil
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", stderr)
	d := defineDBFlags(fs)
	wf := defineWitnessCLIFlags(fs)
	// The subcommand and its flags follow our own flags.
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		name := strings.TrimLeft(args[i], "-")
		if f := fs.Lookup(name); !strings.Contains(args[i], "=") && (f == nil || !isBoolFlag(f)) {
			i++ // the flag's value
		}
		i++
	}
	if i > len(args) {
		i = len(args)
	}
	if err := loadConfig(fs, args[:i], os.Getenv); err != nil {
		return err
	}
	store, err := sqlaudit.Open(ctx, d.dsn())
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer store.Close()
	var logger *audit.Logger
	if key, err := d.auditKey(); err == nil {
		logger, err = audit.NewLogger(store, key, audit.LoggerOptions{})
		if err != nil {
			return err
		}
		defer logger.Close(context.WithoutCancel(ctx))
	}
	env := audit.CLIEnv{
		Open:   func(context.Context) (audit.Store, error) { return store, nil },
		Key:    d.auditKey,
		Stdout: stdout, Stderr: stderr, Site: "pjd",
		CurrentUsername: func() string {
			if u, err := user.Current(); err == nil {
				return u.Username
			}
			return "unknown"
		},
	}
	if logger != nil {
		env.Log = logger.Log
	}
	if wf.resolve(wf.s3) != "none" {
		env.Witness = func(ctx context.Context) (audit.Witness, error) { return wf.open(ctx, d.data) }
	}
	return audit.RunCLI(ctx, args[i:], env)
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	cf := defineClientFlags(fs)
	persona := fs.String("persona", "fastlege", "persona: "+personaIDs())
	patient := fs.String("patient", "", "the patient the attestation names (health workers)")
	format := fs.String("format", "json", "json (access token, token type, expiry and the private DPoP key) or token")
	if err := loadConfig(fs, args, os.Getenv); err != nil {
		return err
	}
	c := &devissuer.Client{HTTP: &http.Client{Timeout: cf.timeout}, Issuer: strings.TrimRight(cf.url, "/") + "/dev/helseid"}
	tok, err := c.Token(ctx, *persona, *patient, nil)
	if err != nil {
		return fmt.Errorf("getting a token from the dev issuer at %s (is the server running with --dev?): %w", c.Issuer, err)
	}
	switch *format {
	case "json":
		return tok.WriteJSON(stdout)
	case "token":
		_, err := fmt.Fprintln(stdout, tok.AccessToken)
		return err
	}
	return fmt.Errorf("--format: %q is not json or token", *format)
}

func personaIDs() string {
	var ids []string
	for _, p := range devissuer.Personas() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}

// consumerToken returns the token a consumer command uses: read from
// --token-file (what pjd token printed), or fetched from the dev issuer.
func consumerToken(ctx context.Context, cf *clientFlags, tokenFile, persona, patient string) (*devissuer.Token, error) {
	if tokenFile != "" {
		f, err := os.Open(tokenFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return devissuer.ReadToken(f)
	}
	c := &devissuer.Client{HTTP: &http.Client{Timeout: cf.timeout}, Issuer: strings.TrimRight(cf.url, "/") + "/dev/helseid"}
	return c.Token(ctx, persona, patient, nil)
}

// runMHD is the consumer side of MHD: search (ITI-67) and read (ITI-68)
// with a HelseID DPoP token.
func runMHD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "search" && args[0] != "read") {
		return fmt.Errorf("usage: pjd mhd search|read [flags]  (%w)", errUsage)
	}
	sub := args[0]
	fs := newFlagSet("mhd "+sub, stderr)
	cf := defineClientFlags(fs)
	persona := fs.String("persona", "fastlege", "dev persona to get a token for: "+personaIDs())
	tokenFile := fs.String("token-file", "", "use the token pjd token printed (JSON) instead of fetching one")
	patient := fs.String("patient", "", "the patient (nhn-patient-nin)")
	out := fs.String("o", "", "read: write the document here (default stdout)")
	raw := fs.Bool("json", false, "search: print the FHIR Bundle")
	var params listFlag
	fs.Var(&params, "param", "search: extra search parameter name=value (repeatable)")
	if err := loadConfig(fs, reorderArgs(args[1:]), os.Getenv); err != nil {
		return err
	}
	tok, err := consumerToken(ctx, cf, *tokenFile, *persona, *patient)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: cf.timeout, Transport: tok.Transport(http.DefaultTransport)}
	base := strings.TrimRight(cf.url, "/")
	switch sub {
	case "search":
		form := url.Values{}
		for _, p := range params {
			k, v, _ := strings.Cut(p, "=")
			form.Add(k, v)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/fhir/R4/DocumentReference/_search", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/fhir+json")
		req.Header.Set(mhd.HeaderPatientNIN, *patient)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || *raw {
			stdout.Write(body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("HTTP %s", resp.Status)
			}
			return nil
		}
		return printBundle(stdout, body, resp.Header.Get(mhd.HeaderNorsCount))
	default:
		if fs.NArg() != 1 {
			return errors.New("usage: pjd mhd read [flags] ATTACHMENT-URL")
		}
		target := fs.Arg(0)
		if !strings.HasPrefix(target, "http") {
			target = base + target
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if *patient != "" {
			req.Header.Set(mhd.HeaderPatientNIN, *patient)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			stderr.Write(b)
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := io.Copy(w, resp.Body)
		if err != nil {
			return err
		}
		if *out != "" {
			fmt.Fprintf(stdout, "%s  %d bytes  %s\n", *out, n, resp.Header.Get("Content-Type"))
		}
		return nil
	}
}

func printBundle(w io.Writer, body []byte, nors string) error {
	var b mhd.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tTYPE\tTITLE\tSTATUS\tURL")
	for _, e := range b.Entry {
		dr, ok := e.Resource.Value.(*mhd.DocumentReference)
		if !ok {
			continue
		}
		typ, title, u := "", "", ""
		if len(dr.Type.Coding) > 0 {
			typ = dr.Type.Coding[0].Display
			if typ == "" {
				typ = dr.Type.Coding[0].Code
			}
		}
		if len(dr.Content) > 0 {
			title, u = dr.Content[0].Attachment.Title, dr.Content[0].Attachment.URL
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dr.Date, typ, title, dr.Status, u)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total := 0
	if b.Total != nil {
		total = *b.Total
	}
	fmt.Fprintf(w, "%d document(s)", total)
	if nors != "" && nors != "0" {
		fmt.Fprintf(w, "; %s hidden (NORS)", nors)
	}
	fmt.Fprintln(w)
	return nil
}

// runBlocks manages patients' blocks (sperringer).
func runBlocks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: pjd blocks add|list|lift [flags]  (%w)", errUsage)
	}
	sub := args[0]
	fs := newFlagSet("blocks "+sub, stderr)
	d := defineDBFlags(fs)
	patient := fs.String("patient", "", "the patient's F-nr/D-nr")
	hpr := fs.String("hpr", "", "add: block this health worker (HPR number)")
	practitioner := fs.String("practitioner", "", "add: block this health worker (F-nr)")
	org := fs.String("org", "", "add: block this organisation (org.nr)")
	var docs listFlag
	fs.Var(&docs, "document", "add: block only these document uniqueIds (repeatable)")
	if err := loadConfig(fs, reorderArgs(args[1:]), os.Getenv); err != nil {
		return err
	}
	st, err := blocks.Open(ctx, d.dsn())
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		b, err := st.Add(ctx, policy.Block{PatientID: *patient, HPRNumber: *hpr, PractitionerID: *practitioner, OrgNr: *org,
			DocumentUniqueIDs: docs, ValidFrom: time.Now()})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, b.ID)
		return nil
	case "list":
		bs, err := st.Blocks(ctx, *patient)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tHPR\tPRACTITIONER\tORG\tDOCUMENTS\tFROM\tTO")
		for _, b := range bs {
			to := ""
			if !b.ValidTo.IsZero() {
				to = b.ValidTo.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.HPRNumber, b.PractitionerID, b.OrgNr,
				strings.Join(b.DocumentUniqueIDs, ","), b.ValidFrom.Format(time.RFC3339), to)
		}
		return tw.Flush()
	case "lift":
		if fs.NArg() != 1 {
			return errors.New("usage: pjd blocks lift BLOCK-ID")
		}
		return st.Lift(ctx, fs.Arg(0))
	}
	return fmt.Errorf("unknown subcommand %q: add, list or lift", sub)
}

// runRepository runs repository maintenance: pjd repository sweep.
func runRepository(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sweep" {
		return fmt.Errorf("usage: pjd repository sweep [serve flags]  (%w)", errUsage)
	}
	fs := newFlagSet("repository sweep", stderr)
	c := defineServeFlags(fs)
	if err := loadConfig(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if len(c.roles) == 0 {
		c.roles = listFlag{roleRepository}
		if c.registryURL == "" {
			c.roles = append(c.roles, roleRegistry)
		}
	}
	c.sweepInterval = 0
	if err := c.validate(); err != nil {
		return err
	}
	a, err := buildApp(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer a.close()
	st, err := a.repo.Sweep(ctx, c.sweepGrace)
	fmt.Fprintf(stdout, "examined %d, young %d, committed %d, orphans %d, deleted %d objects, incomplete uploads %d, dangling %d, unreadable %d\n",
		st.Documents, st.Young, st.Committed, st.Orphans, st.Deleted, st.Incomplete, st.Dangling, st.Unreadable)
	return err
}

func openSQLiteRegistry(ctx context.Context, path string) (interface{ Close() error }, error) {
	return sqlite.Open(ctx, path)
}

// isBoolFlag reports whether f takes no value (--s3-insecure).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
