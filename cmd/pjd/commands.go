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
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/blocks"
	"pjd/gateway/fhir"
	"pjd/gateway/mhd"
	"pjd/trust"
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

func (d *dbFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&d.config, "config", "", "read settings from this file (lines of 'name = value')")
	fs.StringVar(&d.data, "data", "./pjd-data", "data folder of a --dev server (its SQLite database and dev keys)")
	fs.StringVar(&d.postgresURL, "postgres-url", "", "PostgreSQL URL (production); without it the SQLite database in --data")
	fs.StringVar(&d.auditKeyFile, "audit-key-file", "", "audit chain key file (default: the dev key in --data)")
}

// addr is the database the flags name: --postgres-url, else the SQLite
// file in --data.
func (d *dbFlags) addr() databaseAddr {
	if d.postgresURL != "" {
		return databaseAddr{postgresURL: d.postgresURL}
	}
	return databaseAddr{sqlitePath: filepath.Join(d.data, "registry.db")}
}

func (d *dbFlags) auditKey() (*audit.Key, error) {
	if d.auditKeyFile != "" {
		return audit.LoadKey(d.auditKeyFile)
	}
	if _, err := os.Stat(filepath.Join(d.data, audit.DevKeyFile)); err != nil {
		return nil, fmt.Errorf("no --audit-key-file, and no dev key in %s", d.data)
	}
	return audit.LoadOrCreateDevKey(d.data)
}

func migrateCmd() *cmd {
	d := &dbFlags{}
	return &cmd{
		name: "migrate", summary: "apply database migrations and exit",
		flags: d.define,
		run: func(ctx context.Context, inv *invocation) error {
			return migrate(ctx, d, inv.stdout)
		},
	}
}

// migrate brings every table of the database (registry, audit log,
// blocks) to this pjd's schema with the one runner, and says where each
// component stands.
func migrate(ctx context.Context, d *dbFlags, stdout io.Writer) error {
	addr := d.addr()
	if addr.postgresURL == "" {
		if err := os.MkdirAll(d.data, 0o700); err != nil {
			return err
		}
	}
	db, err := openDatabase(ctx, addr)
	if err != nil {
		return err
	}
	defer db.close()
	m := db.migrator()
	if err := m.Migrate(ctx); err != nil {
		return err
	}
	sts, err := m.Status(ctx)
	if err != nil {
		return err
	}
	for _, st := range sts {
		fmt.Fprintf(stdout, "%s schema at version %d\n", st.Component, st.Current)
	}
	return nil
}

// auditCmd is pjd audit: its subcommands come from gateway/audit, the
// database they read from the flags here.
func auditCmd() *cmd {
	d := &dbFlags{}
	var wf *witnessCLIFlags
	c := &cmd{name: "audit", summary: "search, export and verify the audit log", flags: func(fs *flag.FlagSet) {
		d.define(fs)
		wf = defineWitnessCLIFlags(fs)
	}}
	for _, ac := range audit.CLICommands() {
		var run func(context.Context, audit.CLIEnv) error
		c.subs = append(c.subs, &cmd{
			name: ac.Name, summary: ac.Summary,
			flags: func(fs *flag.FlagSet) { run = ac.Define(fs) },
			ids:   []string{"patient"},
			run: func(ctx context.Context, inv *invocation) error {
				return runAudit(ctx, d, wf, inv, run)
			},
		})
	}
	return c
}

func runAudit(ctx context.Context, d *dbFlags, wf *witnessCLIFlags, inv *invocation, run func(context.Context, audit.CLIEnv) error) error {
	db, err := openExistingDatabase(ctx, d.addr())
	if err != nil {
		return err
	}
	defer db.close()
	store := db.audit()
	env := audit.CLIEnv{
		Open:   func(context.Context) (audit.Store, error) { return store, nil },
		Key:    d.auditKey,
		Stdout: inv.stdout, Stderr: inv.stderr, Site: "pjd", ProgramName: inv.cmd.path(),
		CurrentUsername: func() string {
			if u, err := user.Current(); err == nil {
				return u.Username
			}
			return "unknown"
		},
	}
	if key, err := d.auditKey(); err == nil {
		logger, err := audit.NewLogger(store, key, audit.LoggerOptions{})
		if err != nil {
			return err
		}
		defer logger.Close(context.WithoutCancel(ctx))
		env.Log = logger.Log
	}
	if wf.resolve(wf.s3) != "none" {
		env.Witness = func(ctx context.Context) (audit.Witness, error) { return wf.open(ctx, d.data) }
	}
	return run(ctx, env)
}

func tokenCmd() *cmd {
	cf := &clientFlags{}
	var persona, patient, format, audience string
	return &cmd{
		name: "token", summary: "get a development HelseID token (--dev servers only)",
		flags: func(fs *flag.FlagSet) {
			cf.define(fs)
			fs.StringVar(&persona, "persona", "fastlege", "persona: "+personaIDs())
			fs.StringVar(&patient, "patient", "", "the patient the attestation names (health workers): "+patientUsage)
			fs.StringVar(&format, "format", "json", "json (access token, token type, expiry and the private DPoP key), token, or saml (the XUA assertion the server's initiating gateway would send for this token, signed with its XUA key: for testing a responding gateway against pjd)")
			fs.StringVar(&audience, "audience", trust.DefaultXUAAudience, "with --format saml: the assertion's audience (the responding gateway's)")
		},
		ids: []string{"patient"},
		run: func(ctx context.Context, inv *invocation) error {
			if format != "json" && format != "token" && format != "saml" {
				return usageErrorf("--format: %q is not json, token or saml", format)
			}
			if err := checkPersona(persona); err != nil {
				return err
			}
			tok, err := cf.devToken(ctx, persona, patient)
			if err != nil {
				return err
			}
			switch format {
			case "token":
				_, err := fmt.Fprintln(inv.stdout, tok.AccessToken)
				return err
			case "saml":
				return cf.devSAML(ctx, tok, audience, inv.stdout)
			}
			return tok.WriteJSON(inv.stdout)
		},
	}
}

func personaIDs() string {
	var ids []string
	for _, p := range devissuer.Personas() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}

func checkPersona(id string) error {
	for _, p := range devissuer.Personas() {
		if p.ID == id {
			return nil
		}
	}
	return usageErrorf("--persona: %q is not one of %s", id, personaIDs())
}

// devSAML asks the --dev server at --url to turn tok into the XUA
// assertion its initiating gateway would send (GET /dev/xua) and writes
// it to w as the server sent it: never re-indented, or its signature
// would break.
func (cf *clientFlags) devSAML(ctx context.Context, tok *devissuer.Token, audience string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, xuaMintTimeout)
	defer cancel()
	u := strings.TrimRight(cf.url, "/") + devXUAPath + "?audience=" + url.QueryEscape(audience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if err := tok.Authorize(req); err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: cf.timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("asking %s for an XUA assertion: %w", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// devToken fetches a token from the dev issuer of the server at --url.
func (cf *clientFlags) devToken(ctx context.Context, persona, patient string) (*devissuer.Token, error) {
	c := &devissuer.Client{HTTP: &http.Client{Timeout: cf.timeout}, Issuer: strings.TrimRight(cf.url, "/") + "/dev/helseid"}
	tok, err := c.Token(ctx, persona, patient, nil)
	if err != nil {
		return nil, fmt.Errorf("getting a token from the dev issuer at %s (is a pjd serve --dev running there? --url or PJD_URL names another): %w", c.Issuer, err)
	}
	return tok, nil
}

// mhdFlags are the flags of both pjd mhd commands.
type mhdFlags struct {
	clientFlags
	persona, tokenFile, patient string
}

func (m *mhdFlags) define(fs *flag.FlagSet) {
	m.clientFlags.define(fs)
	fs.StringVar(&m.persona, "persona", "fastlege", "dev persona to get a token for: "+personaIDs())
	fs.StringVar(&m.tokenFile, "token-file", "", "use the token pjd token printed (JSON) instead of fetching one")
	fs.StringVar(&m.patient, "patient", "", patientUsage)
}

// token returns the token a consumer command uses: read from
// --token-file (what pjd token printed), or fetched from the dev issuer.
func (m *mhdFlags) token(ctx context.Context) (*devissuer.Token, error) {
	if m.tokenFile == "" {
		if err := checkPersona(m.persona); err != nil {
			return nil, err
		}
		return m.devToken(ctx, m.persona, m.patient)
	}
	f, err := os.Open(m.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	defer f.Close()
	tok, err := devissuer.ReadToken(f)
	if err != nil {
		return nil, fmt.Errorf("--token-file %s: not a token pjd token printed: %w", m.tokenFile, err)
	}
	return tok, nil
}

func (m *mhdFlags) httpClient(tok *devissuer.Token) *http.Client {
	return &http.Client{Timeout: m.timeout, Transport: tok.Transport(http.DefaultTransport)}
}

// mhdCmd is the consumer side of MHD: search (ITI-67) and read (ITI-68)
// with a HelseID DPoP token.
func mhdCmd() *cmd {
	m := &mhdFlags{}
	var raw bool
	var params listFlag
	var out string
	return &cmd{
		name: "mhd", summary: "MHD consumer: search (ITI-67), read (ITI-68) and other FHIR requests with a HelseID DPoP token",
		flags: m.define,
		subs: []*cmd{{
			name: "search", summary: "find the patient's documents (ITI-67 DocumentReference search)",
			flags: func(fs *flag.FlagSet) {
				fs.BoolVar(&raw, "json", false, "print the FHIR Bundle")
				params = nil
				fs.Var(&params, "param", "extra search parameter name=value (repeatable)")
			},
			required: []string{"patient"}, ids: []string{"patient"},
			run: func(ctx context.Context, inv *invocation) error {
				return mhdSearch(ctx, m, params, raw, inv.stdout)
			},
		}, {
			name: "read", summary: "read a document (ITI-68) by the attachment URL mhd search printed",
			args: "ATTACHMENT-URL", minArgs: 1, maxArgs: 1,
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&out, "o", "", "write the document to this file (default: standard output)")
			},
			ids: []string{"patient"},
			run: func(ctx context.Context, inv *invocation) error {
				return mhdRead(ctx, m, inv.args[0], out, inv.stdout)
			},
		}, {
			name: "request", summary: "send one FHIR request (DocumentReference/ID/_history, Consent, Patient) and print the answer",
			args: "METHOD PATH [BODY-FILE]", minArgs: 2, maxArgs: 3,
			ids: []string{"patient"},
			run: func(ctx context.Context, inv *invocation) error {
				return mhdRequest(ctx, m, inv.args, inv.stdout)
			},
		}},
	}
}

func mhdSearch(ctx context.Context, m *mhdFlags, params listFlag, raw bool, stdout io.Writer) error {
	form := url.Values{}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageErrorf("--param %q: write name=value, e.g. --param type=http://snomed.info/sct|371530004", p)
		}
		form.Add(k, v)
	}
	tok, err := m.token(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(m.url, "/")+"/fhir/R4/DocumentReference/_search", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	resp, err := m.httpClient(tok).Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", m.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return refusal("search", resp, body)
	}
	if raw {
		_, err := stdout.Write(body)
		return err
	}
	return printBundle(stdout, body, resp.Header.Get(mhd.HeaderNorsCount))
}

func mhdRead(ctx context.Context, m *mhdFlags, target, out string, stdout io.Writer) error {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		if !strings.HasPrefix(target, "/") {
			return usageErrorf("%q is not an attachment URL: give the URL mhd search printed (http://…/mhd/document?…)", target)
		}
		target = strings.TrimRight(m.url, "/") + target
	}
	if out != "" {
		if err := checkOutputDir(out); err != nil {
			return err
		}
	}
	tok, err := m.token(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageErrorf("%q is not an attachment URL: %v", target, err)
	}
	if m.patient != "" {
		req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	}
	resp, err := m.httpClient(tok).Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return refusal("read", resp, b)
	}
	if out == "" {
		_, err := io.Copy(stdout, resp.Body)
		return err
	}
	n, err := writeFileAtomically(out, resp.Body, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s  %d bytes  %s\n", out, n, resp.Header.Get("Content-Type"))
	return nil
}

// refusal turns an MHD error response into words: the OperationOutcome's
// diagnostics, or the OAuth error of a refused token.
func refusal(what string, resp *http.Response, body []byte) error {
	var why []string
	var oo fhir.OperationOutcome
	if json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" {
		for _, is := range oo.Issue {
			msg := is.Diagnostics
			if msg == "" && is.Details != nil {
				msg = is.Details.Text
			}
			if msg == "" {
				msg = is.Code
			}
			if len(is.Expression) > 0 {
				msg += " (" + strings.Join(is.Expression, ", ") + ")"
			}
			why = append(why, msg)
		}
	}
	if len(why) == 0 {
		if h := resp.Header.Get("WWW-Authenticate"); h != "" {
			why = append(why, "the token was refused: "+h)
		} else if t := strings.TrimSpace(string(body)); t != "" && len(t) < 300 && !strings.ContainsAny(t, "{<") {
			why = append(why, t)
		}
	}
	msg := fmt.Sprintf("the server refused the %s (HTTP %s)", what, resp.Status)
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return errors.New(msg)
}

func printBundle(w io.Writer, body []byte, nors string) error {
	var b fhir.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	// A federated answer names each document's community (MHD's
	// ihe-HomeCommunityId) and the communities it could not reach
	// (OperationOutcome entries).
	home := func(dr *fhir.DocumentReference) string {
		for _, x := range dr.Extension {
			if x.URL == mhd.ExtensionHomeCommunityID && x.ValueIdentifier != nil {
				return x.ValueIdentifier.Value
			}
		}
		return ""
	}
	federated := false
	var notes []string
	for _, e := range b.Entry {
		switch v := e.Resource.Value.(type) {
		case *fhir.DocumentReference:
			federated = federated || home(v) != ""
		case *fhir.OperationOutcome:
			for _, is := range v.Issue {
				if is.Details != nil && is.Details.Text != "" {
					notes = append(notes, is.Details.Text+" ("+is.Diagnostics+")")
				}
			}
		}
	}
	if federated {
		fmt.Fprintln(tw, "DATE\tTYPE\tTITLE\tSTATUS\tCOMMUNITY\tURL")
	} else {
		fmt.Fprintln(tw, "DATE\tTYPE\tTITLE\tSTATUS\tURL")
	}
	for _, e := range b.Entry {
		dr, ok := e.Resource.Value.(*fhir.DocumentReference)
		if !ok {
			continue
		}
		typ, title, u := "", "", ""
		if dr.Type != nil && len(dr.Type.Coding) > 0 {
			typ = dr.Type.Coding[0].Display
			if typ == "" {
				typ = dr.Type.Coding[0].Code
			}
		}
		if len(dr.Content) > 0 {
			title, u = dr.Content[0].Attachment.Title, dr.Content[0].Attachment.URL
		}
		if federated {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dr.Date, typ, title, dr.Status, home(dr), u)
			continue
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
	for _, n := range notes {
		fmt.Fprintln(w, "! "+n)
	}
	return nil
}

// blocksCmd manages patients' blocks (sperringer).
func blocksCmd() *cmd {
	d := &dbFlags{}
	var patient, hpr, practitioner, org string
	var docs listFlag
	patientFlag := func(fs *flag.FlagSet) { fs.StringVar(&patient, "patient", "", patientUsage) }
	open := func(ctx context.Context) (*blocks.Store, func(), error) {
		db, err := openExistingDatabase(ctx, d.addr())
		if err != nil {
			return nil, nil, err
		}
		return db.blocks(), db.close, nil
	}
	return &cmd{
		name: "blocks", summary: "manage patients' blocks (sperringer): add, list, lift",
		flags: d.define,
		subs: []*cmd{{
			name: "add", summary: "block a health worker or an organisation from a patient's documents; prints the block's id",
			flags: func(fs *flag.FlagSet) {
				patientFlag(fs)
				fs.StringVar(&hpr, "hpr", "", "block this health worker, by HPR number")
				fs.StringVar(&practitioner, "practitioner", "", "block this health worker, by fødselsnummer or D-nummer")
				fs.StringVar(&org, "org", "", "block this organisation, by organisation number (9 digits)")
				docs = nil
				fs.Var(&docs, "document", "block only these document uniqueIds (repeatable; default: every document)")
			},
			required: []string{"patient"}, ids: []string{"patient", "practitioner"},
			run: func(ctx context.Context, inv *invocation) error {
				if hpr == "" && practitioner == "" && org == "" {
					return usageErrorf("say who is blocked: --hpr, --practitioner or --org")
				}
				st, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				b, err := st.Add(ctx, policy.Block{PatientID: patient, HPRNumber: hpr, PractitionerID: practitioner, OrgNr: org,
					DocumentUniqueIDs: docs, ValidFrom: time.Now()})
				if errors.Is(err, blocks.ErrInvalid) {
					return usageErrorf("%v", err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(inv.stdout, b.ID)
				return nil
			},
		}, {
			name: "list", summary: "list a patient's blocks, lifted ones included",
			flags: patientFlag, required: []string{"patient"}, ids: []string{"patient"},
			run: func(ctx context.Context, inv *invocation) error {
				st, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				bs, err := st.Blocks(ctx, patient)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(inv.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tHPR\tPRACTITIONER\tORG\tDOCUMENTS\tSOURCE ORG\tFROM\tTO")
				for _, b := range bs {
					to := ""
					if !b.ValidTo.IsZero() {
						to = b.ValidTo.Format(time.RFC3339)
					}
					hpr := b.HPRNumber
					if b.Everyone {
						hpr = "(everyone: the patient's own consent)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, hpr, b.PractitionerID, b.OrgNr,
						strings.Join(b.DocumentUniqueIDs, ","), b.SourceOrgNr, b.ValidFrom.Format(time.RFC3339), to)
				}
				return tw.Flush()
			},
		}, {
			name: "lift", summary: "end a block now (by the id blocks add or list printed)",
			args: "BLOCK-ID", minArgs: 1, maxArgs: 1,
			run: func(ctx context.Context, inv *invocation) error {
				st, done, err := open(ctx)
				if err != nil {
					return err
				}
				defer done()
				if err := st.Lift(ctx, inv.args[0]); errors.Is(err, blocks.ErrNotFound) {
					return fmt.Errorf("no block %s in force", inv.args[0])
				} else if err != nil {
					return err
				}
				return nil
			},
		}},
	}
}

// sweepFlags are the serve flags that matter to pjd repository sweep:
// what names the repository's storage and its registry.
var sweepFlags = []string{"config", "dev", "data", "postgres-url", "registry-url", "repository-unique-id",
	"blob-dir", "s3-endpoint", "s3-bucket", "s3-prefix", "s3-access-key", "s3-secret-key", "s3-region", "s3-insecure",
	"sweep-grace", "upload-timeout", "audit-key-file", "allow-synthetic-patients", "log-level", "log-format"}

// repositoryCmd is repository maintenance: pjd repository sweep.
func repositoryCmd() *cmd {
	var c *serveConfig
	return &cmd{
		name: "repository", summary: "repository maintenance: sweep orphan documents",
		subs: []*cmd{{
			name: "sweep", summary: "delete stored documents no registry entry refers to (what serve does every --sweep-interval)",
			// It takes every serve flag, so that it runs with the server's
			// own command line, environment or --config file; its usage
			// lists those that matter here.
			flags:     func(fs *flag.FlagSet) { c = defineServeFlags(fs) },
			shown:     sweepFlags,
			shownNote: "It also accepts every other flag of pjd serve (and ignores it), so that it can run with the\nserver's own settings.",
			run: func(ctx context.Context, inv *invocation) error {
				return sweep(ctx, c, inv.stdout, inv.stderr)
			},
		}},
	}
}

func sweep(ctx context.Context, c *serveConfig, stdout, stderr io.Writer) error {
	if len(c.roles) == 0 {
		c.roles = listFlag{roleRepository}
		if c.registryURL == "" {
			c.roles = append(c.roles, roleRegistry)
		}
	}
	c.sweepInterval = 0
	c.noListener = true
	if err := c.validate(); err != nil {
		return err
	}
	if _, err := os.Stat(c.data); err != nil && c.dev {
		return fmt.Errorf("no data folder %s: give --data (the data folder of a pjd serve --dev)", c.data)
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
