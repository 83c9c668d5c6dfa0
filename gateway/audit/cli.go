package audit

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// CLIEnv is what `pjd audit` needs from the binary: cmd/pjd parses its
// configuration and hands over the audit store and key.
type CLIEnv struct {
	// Open returns the audit store (sqlaudit on the registry's database,
	// which cmd/pjd opens).
	Open func(ctx context.Context) (Store, error)
	// Key returns the chain key (for verify).
	Key func() (*Key, error)
	// Log, when set, records every search and export as an AUDIT-SEARCH
	// or AUDIT-EXPORT record (actor: the operating system user).
	Log func(ctx context.Context, r Record) error
	// Witness, when set, returns where the chain's head is kept outside
	// the database; verify checks against its newest head unless told
	// --no-witness. nil: none is configured.
	Witness          func(ctx context.Context) (Witness, error)
	Stdout, Stderr   io.Writer
	Site             string
	CurrentUsername  func() string // default: the OS user
	ProgramName      string        // default "pjd audit"
	DefaultPageLimit int           // default DefaultLimit
}

// ErrVerifyFailed is returned by `pjd audit verify` when the chain does
// not verify (the report says where and why).
var ErrVerifyFailed = errors.New("audit chain verification failed")

// ErrUsage marks a command-line usage error.
var ErrUsage = errors.New("usage")

// RunCLI runs `pjd audit <search|export|verify> [flags]`.
//
//	search  --patient --agent --entity-id --date (repeatable) --outcome --purpose
//	        --subtype --flagged --limit --cursor --sort --format table|json
//	export  the same filters, --format csv|fhir (FHIR: one AuditEvent per line),
//	        --citizen-view; every matching record, oldest first, streamed
//	verify  [--expect-head seq:hash] [--no-witness]; checks the chain and,
//	        by default, that it holds the newest head the witness has; prints
//	        the report, what it compared, and the head to keep for the next
//	        run; fails with ErrVerifyFailed
//
// cmd/pjd parses its own command lines and uses CLICommands instead.
func RunCLI(ctx context.Context, args []string, env CLIEnv) error {
	env = env.withDefaults()
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, "usage: %s search|export|verify [flags]\n", env.ProgramName)
		return ErrUsage
	}
	for _, c := range CLICommands() {
		if c.Name == args[0] {
			fs := newCLIFlagSet(c.Name, env)
			run := c.Define(fs)
			if err := parseFlags(fs, args[1:]); err != nil {
				return err
			}
			return run(ctx, env)
		}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(env.Stdout, "usage: %s search|export|verify [flags]\n", env.ProgramName)
		return nil
	}
	fmt.Fprintf(env.Stderr, "%s: unknown subcommand %q (search, export, verify)\n", env.ProgramName, args[0])
	return ErrUsage
}

// CLICommand is one subcommand of `pjd audit`, for a caller that parses
// the command line itself: Define registers the subcommand's flags on fs
// and returns the function that runs it once fs is parsed. Errors that
// wrap ErrUsage are wrong invocations.
type CLICommand struct {
	Name, Summary string
	Define        func(fs *flag.FlagSet) func(ctx context.Context, env CLIEnv) error
}

// CLICommands are the subcommands of `pjd audit`.
func CLICommands() []CLICommand {
	return []CLICommand{
		{"search", "search the audit log, newest first", defineSearch},
		{"export", "export matching records, oldest first, as CSV or FHIR AuditEvents", defineExport},
		{"verify", "verify the hash chain and print the head to keep for the next run", defineVerify},
	}
}

func (env CLIEnv) withDefaults() CLIEnv {
	if env.Stdout == nil {
		env.Stdout = os.Stdout
	}
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	if env.ProgramName == "" {
		env.ProgramName = "pjd audit"
	}
	if env.CurrentUsername == nil {
		env.CurrentUsername = func() string {
			if u, err := user.Current(); err == nil {
				return u.Username
			}
			return "unknown"
		}
	}
	return env
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// filterFlags are the search parameters as flags; they go through
// ParseSearch so the CLI and the API accept exactly the same values.
type filterFlags struct {
	patient, agent, entity, event, outcome, purpose, subtype, sort string
	dates                                                          multiFlag
	flagged                                                        bool
}

func (ff *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&ff.patient, "patient", "", "patient national identity number")
	fs.StringVar(&ff.agent, "agent", "", "HPR number or national identity number of who accessed")
	fs.StringVar(&ff.entity, "entity-id", "", "document unique id")
	fs.StringVar(&ff.event, "event-id", "", "correlation id (nhn-event-id) of one access: the same on every node a federated access went through")
	fs.Var(&ff.dates, "date", "FHIR date with prefix, e.g. ge2024-03-01 (repeatable)")
	fs.StringVar(&ff.outcome, "outcome", "", "permit, deny, error (comma = or)")
	fs.StringVar(&ff.purpose, "purpose", "", "purpose of use: TREAT, ETREAT, COC, BTG (comma = or)")
	fs.StringVar(&ff.subtype, "subtype", "", "transaction: ITI-67, ITI-68, UI-VIEW … (comma = or)")
	fs.BoolVar(&ff.flagged, "flagged", false, "only records flagged for review (BTG, ETREAT, review)")
}

func (ff *filterFlags) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("patient", ff.patient)
	set("agent", ff.agent)
	set("entity-id", ff.entity)
	set("event-id", ff.event)
	set("outcome", ff.outcome)
	set("purpose", ff.purpose)
	set("subtype", ff.subtype)
	set("_sort", ff.sort)
	for _, d := range ff.dates {
		q.Add("date", d)
	}
	if ff.flagged {
		q.Set("flagged", "true")
	}
	return q
}

func newCLIFlagSet(name string, env CLIEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(env.ProgramName+" "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

func (env CLIEnv) operator() Viewer {
	return Viewer{Kind: ViewerCompliance, Name: "os-user:" + env.CurrentUsername(), Credential: "database-access"}
}

func (env CLIEnv) record(ctx context.Context, tx string, q url.Values, f Filter) error {
	if env.Log == nil {
		return nil
	}
	r := Record{
		Transaction: tx, Action: ActionQuery, Outcome: OutcomePermit, Rule: "operator-database-access",
		Reason:    "audit log read with " + env.ProgramName,
		Actor:     Actor{Kind: ActorSystem, Name: env.operator().Name},
		Client:    Client{ID: "pjd-cli", Name: env.ProgramName},
		PatientID: f.PatientID, Query: q.Encode(), Credential: "database-access",
	}
	if err := env.Log(ctx, r); err != nil {
		return fmt.Errorf("recording this %s in the audit log: %w", strings.ToLower(tx), err)
	}
	return nil
}

func defineSearch(fs *flag.FlagSet) func(ctx context.Context, env CLIEnv) error {
	var ff filterFlags
	ff.register(fs)
	limit := fs.Int("limit", 0, "page size (default 50, at most 1000)")
	cursor := fs.Int64("cursor", 0, "continue from a previous search's next cursor")
	fs.StringVar(&ff.sort, "sort", "", "-date (newest first, default) or date")
	format := fs.String("format", "table", "table or json")
	return func(ctx context.Context, env CLIEnv) error {
		if *limit == 0 {
			*limit = max(env.DefaultPageLimit, 0)
		}
		return cliSearch(ctx, env.withDefaults(), &ff, *limit, *cursor, *format)
	}
}

func cliSearch(ctx context.Context, env CLIEnv, ff *filterFlags, limit int, cursor int64, format string) error {
	if format != "table" && format != "json" {
		return fmt.Errorf("%w: --format must be table or json", ErrUsage)
	}
	q := ff.values()
	if limit > 0 {
		q.Set("_count", strconv.Itoa(limit))
	}
	if cursor > 0 {
		q.Set("_cursor", strconv.FormatInt(cursor, 10))
	}
	s, f, closeStore, err := env.openRecorded(ctx, TxAuditSearch, q)
	if err != nil {
		return err
	}
	defer closeStore()
	page, err := s.Search(ctx, f)
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		recs := page.Records
		if recs == nil {
			recs = []Record{}
		}
		return enc.Encode(struct {
			Records    []Record `json:"records"`
			NextCursor int64    `json:"next_cursor,omitempty"`
		}{recs, page.Next})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tTRANSACTION\tOUTCOME\tRULE\tACTOR\tHPR\tORGANISATION\tPATIENT\tDOCS\tFLAGS")
	for _, r := range page.Records {
		actor := r.Actor.Name
		if actor == "" {
			actor = string(r.Actor.Kind)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			r.Seq, r.Time.Format("2006-01-02 15:04:05.000Z"), r.Transaction, r.Outcome, dash(r.Rule),
			tabSafe(actor), dash(r.Actor.HPR), tabSafe(dash(r.Actor.LegalEntity.Name)), dash(r.PatientID),
			len(r.Documents), dash(strings.ToUpper(strings.Join(r.Flags.codes(), ","))))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		fmt.Fprintf(env.Stderr, "more: --cursor %d\n", page.Next)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tabSafe keeps a value from breaking the table's columns.
func tabSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func defineExport(fs *flag.FlagSet) func(ctx context.Context, env CLIEnv) error {
	var ff filterFlags
	ff.register(fs)
	format := fs.String("format", "csv", "csv or fhir (one FHIR AuditEvent per line)")
	citizen := fs.Bool("citizen-view", false, "leave out health workers' national identity numbers and network details")
	return func(ctx context.Context, env CLIEnv) error {
		return cliExport(ctx, env.withDefaults(), &ff, *format, *citizen)
	}
}

func cliExport(ctx context.Context, env CLIEnv, ff *filterFlags, format string, citizen bool) error {
	view := View{Site: env.Site}
	if citizen {
		view.Audience = ForCitizen
	}
	var write func(Record) error
	flush := func() error { return nil }
	switch format {
	case "csv":
		cw := NewCSVWriter(env.Stdout, view)
		write, flush = cw.Write, cw.Flush
	case "fhir":
		write = NewNDJSONWriter(env.Stdout, view).Write
	default:
		return fmt.Errorf("%w: --format must be csv or fhir", ErrUsage)
	}
	s, f, closeStore, err := env.openRecorded(ctx, TxAuditExport, ff.values())
	if err != nil {
		return err
	}
	defer closeStore()
	f.Ascending, f.Limit, f.Cursor = true, MaxLimit, 0
	for {
		page, err := s.Search(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := write(r); err != nil {
				return err
			}
		}
		if page.Next == 0 {
			return flush()
		}
		f.Cursor = page.Next
	}
}

func defineVerify(fs *flag.FlagSet) func(ctx context.Context, env CLIEnv) error {
	expect := fs.String("expect-head", "", "a head (seq:hash) recorded earlier, e.g. by a previous verify; the chain must contain it")
	noWitness := fs.Bool("no-witness", false, "do not check the chain against the witness's newest head")
	return func(ctx context.Context, env CLIEnv) error {
		return cliVerify(ctx, env.withDefaults(), *expect, *noWitness)
	}
}

func cliVerify(ctx context.Context, env CLIEnv, expect string, noWitness bool) error {
	var opts VerifyOptions
	if expect != "" {
		h, err := ParseHead(expect)
		if err != nil {
			return fmt.Errorf("%w: --expect-head: %v", ErrUsage, err)
		}
		opts.Want = &h
	}
	if env.Key == nil {
		return fmt.Errorf("%w: no chain key configured", ErrBadKey)
	}
	key, err := env.Key()
	if err != nil {
		return err
	}
	var witnessNote string
	switch {
	case noWitness:
		witnessNote = "witness: not checked (--no-witness)"
	case env.Witness == nil:
		witnessNote = "witness: none configured; deleting the newest records with their checkpoints would go unnoticed"
	default:
		w, err := env.Witness(ctx)
		if err != nil {
			return fmt.Errorf("audit witness: %w", err)
		}
		wh, ok, err := w.Latest(ctx)
		if err != nil {
			return fmt.Errorf("reading the audit witness %s: %w (use --no-witness to verify without it)", w, err)
		}
		if ok {
			opts.Witness, opts.WitnessWhere = &wh, w.String()
			witnessNote = fmt.Sprintf("witness: head %d matches the witness written at %s (%s)", wh.Head.Seq, wh.WrittenAt.UTC().Format(time.RFC3339), w)
		} else {
			witnessNote = fmt.Sprintf("witness: %s holds no head yet", w)
		}
	}
	s, closeStore, err := env.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := VerifyWith(ctx, s, key, opts)
	if err != nil {
		return err
	}
	if !rep.OK() {
		fmt.Fprintf(env.Stdout, "FAILED: first bad record %d: %s: %s\n", rep.Problem.Seq, rep.Problem.Kind, rep.Problem.Detail)
		fmt.Fprintf(env.Stdout, "verified %d records up to %d before it\n", max(rep.Records-1, 0), rep.Last.Seq)
		if opts.Witness != nil && rep.Problem.Kind == ProblemTruncated && rep.Last.Seq < opts.Witness.Head.Seq {
			fmt.Fprintf(env.Stdout, "records after %d up to the witness head %d (written at %s to %s) are missing\n",
				rep.Last.Seq, opts.Witness.Head.Seq, opts.Witness.WrittenAt.UTC().Format(time.RFC3339), opts.WitnessWhere)
		}
		return ErrVerifyFailed
	}
	fmt.Fprintf(env.Stdout, "OK: %d records verified\nhead: %s\n%s\n", rep.Records, rep.Last, witnessNote)
	return nil
}

// open opens the store; closeStore closes it (when it is an io.Closer).
func (env CLIEnv) open(ctx context.Context) (s Store, closeStore func(), err error) {
	s, err = env.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {
		if c, ok := s.(io.Closer); ok {
			c.Close()
		}
	}, nil
}

// openRecorded checks the search q as the operator's, opens the store and
// records the read (transaction tx) in the audit log before anything is
// read.
func (env CLIEnv) openRecorded(ctx context.Context, tx string, q url.Values) (s Store, f Filter, closeStore func(), err error) {
	f, err = ParseSearch(q, env.operator())
	if err != nil {
		return nil, f, nil, err
	}
	s, closeStore, err = env.open(ctx)
	if err != nil {
		return nil, f, nil, err
	}
	if err := env.record(ctx, tx, q, f); err != nil {
		closeStore()
		return nil, f, nil, err
	}
	return s, f, closeStore, nil
}

// parseFlags parses args into fs; positional arguments are a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return nil
}

func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUsage, err)
}
