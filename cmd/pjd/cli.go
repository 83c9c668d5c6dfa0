package main

// The command framework of pjd: every command and subcommand is a *cmd in
// one tree (commandTree in main.go), parsed and reported the same way.
//
//   - Flags go anywhere: before or after the subcommand names and
//     between positional arguments (`pjd audit verify --data DIR` and
//     `pjd audit --data DIR verify` are the same). A flag of a command
//     applies to its subcommands too. "--" ends the flags.
//   - -h, --help or help print the usage of the command named so far — its
//     subcommands and only the flags that apply to it — on standard
//     output, exit status 0.
//   - A wrong invocation (unknown command or flag, a missing or invalid
//     value, a missing required flag, too many or too few arguments) prints
//     what is wrong and the usage on standard error, exit status 2. So does
//     a configuration that does not validate (with a hint to -h instead of
//     the whole usage). Anything that fails at run time exits 1.
//   - Every flag can also come from PJD_<FLAG> in the environment or a
//     --config file (see config.go); the command line wins.
//   - Flags that hold a Norwegian national identity number (cmd.ids) are
//     checked with registry.ValidNorwegianID, the same way in every command.
//
// Adding a command: write a constructor returning a *cmd and list it in
// commandTree's subs (or in a parent's subs):
//
//	func fooCmd() *cmd {
//		var patient string
//		cf := &clientFlags{}
//		return &cmd{
//			name: "foo", summary: "one line for the parent's list",
//			args: "FILE...", minArgs: 1, maxArgs: -1,
//			flags: func(fs *flag.FlagSet) {
//				cf.define(fs)
//				fs.StringVar(&patient, "patient", "", patientUsage)
//			},
//			required: []string{"patient"}, ids: []string{"patient"},
//			run: func(ctx context.Context, inv *invocation) error {
//				// inv.args are the positional arguments; return
//				// usageErrorf(…) for a wrong invocation found here.
//				return nil
//			},
//		}
//	}
//
// The test TestCLIHelpOfEveryCommand then covers its -h; add its wrong
// invocations to TestCLIWrongInvocations.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"

	"pjd/gateway/audit"
	"pjd/registry"
)

// cmd is one command of the pjd tree: a leaf that runs, or a group of
// subcommands.
type cmd struct {
	name    string
	summary string // one line, shown in the parent's list of commands
	doc     string // optional: more, shown under the usage line
	// args names the positional arguments in the usage line ("FILE...",
	// "BLOCK-ID"); minArgs and maxArgs bound how many (maxArgs < 0: any).
	args             string
	minArgs, maxArgs int
	// flags defines the command's flags; they apply to its subcommands too.
	// It may be called more than once (the parser first learns the flags
	// of a whole subtree); the flags of its last call are the ones parsed.
	flags func(fs *flag.FlagSet)
	// required flags must have a value, from the command line, the
	// environment or --config.
	required []string
	// ids are flags holding a Norwegian national identity number.
	ids []string
	// shown, when set, are the only flags the usage lists (with a note
	// that the others are accepted): for a command that takes another
	// command's flags so that it can share its configuration.
	shown []string
	// shownNote says what the flags not shown are.
	shownNote string
	// run runs a leaf. A group (subs) has none.
	run  func(ctx context.Context, inv *invocation) error
	subs []*cmd

	parent *cmd
}

// invocation is what a command's run gets.
type invocation struct {
	args           []string // positional arguments
	stdout, stderr io.Writer
	cmd            *cmd
	fs             *flag.FlagSet
}

// usageError is a wrong invocation: exit status 2, with the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command was called wrongly
)

// patientUsage describes every --patient flag.
const patientUsage = "the patient's fødselsnummer or D-nummer (11 digits)"

// path is the command's full name: "pjd audit verify".
func (c *cmd) path() string {
	if c.parent == nil {
		return c.name
	}
	return c.parent.path() + " " + c.name
}

// link sets the parent of every command under c.
func (c *cmd) link() *cmd {
	for _, s := range c.subs {
		s.parent = c
		s.link()
	}
	return c
}

func (c *cmd) sub(name string) *cmd {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *cmd) subNames() string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return strings.Join(names, "")
}

// chain is c and its ancestors, the root first.
func (c *cmd) chain() []*cmd {
	if c.parent == nil {
		return []*cmd{c}
	}
	return append(c.parent.chain(), c)
}

// flagSet is a new FlagSet with the flags of c and its ancestors.
func (c *cmd) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.path(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, n := range c.chain() {
		if n.flags != nil {
			n.flags(fs)
		}
	}
	return fs
}

// flagKinds tells, for every flag of c, its ancestors and its
// descendants, whether it is a boolean (takes no value). It lets the
// parser skip a flag's value while it is still looking for the subcommand.
func (c *cmd) flagKinds() map[string]bool {
	kinds := map[string]bool{}
	var walk func(n *cmd)
	walk = func(n *cmd) {
		n.flagSet().VisitAll(func(f *flag.Flag) { kinds[f.Name] = isBoolFlag(f) })
		for _, s := range n.subs {
			walk(s)
		}
	}
	walk(c)
	return kinds
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagArg is one flag as given on the command line.
type flagArg struct {
	name, value string
	hasValue    bool
}

// parsed is a command line taken apart.
type parsed struct {
	cmd        *cmd
	flags      []flagArg
	positional []string
	help       bool
}

// split walks args from root: names of subcommands select the command,
// flags (anywhere) are collected with their values, the rest are
// positional arguments.
func split(root *cmd, args []string) (*parsed, error) {
	p := &parsed{cmd: root}
	everywhere := root.flagKinds()
	kinds := everywhere
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.positional = append(p.positional, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			name, value, hasValue := strings.Cut(name, "=")
			if name == "h" || name == "help" {
				p.help = true
				continue
			}
			isBool, known := kinds[name]
			if !known || name == "" {
				if _, elsewhere := everywhere[name]; elsewhere && name != "" {
					return p, usageErrorf("flag --%s does not apply to %s", name, p.cmd.path())
				}
				return p, usageErrorf("unknown flag %s", a)
			}
			if !isBool && !hasValue {
				if i+1 == len(args) {
					return p, usageErrorf("flag --%s needs a value", name)
				}
				i++
				value, hasValue = args[i], true
			}
			p.flags = append(p.flags, flagArg{name: name, value: value, hasValue: hasValue})
			continue
		}
		if len(p.cmd.subs) > 0 && len(p.positional) == 0 {
			if a == "help" {
				p.help = true
				continue
			}
			s := p.cmd.sub(a)
			if s == nil {
				return p, usageErrorf("unknown command %q: %s", a, p.cmd.subNames())
			}
			p.cmd = s
			kinds = s.flagKinds()
			continue
		}
		if a == "help" && len(p.cmd.subs) == 0 && p.cmd.maxArgs == 0 {
			p.help = true // a command without arguments: "help" can mean nothing else
			continue
		}
		p.positional = append(p.positional, a)
	}
	return p, nil
}

// parse sets the flags of p on fs and completes them from the
// environment and the config file.
func (p *parsed) parse(fs *flag.FlagSet, env func(string) string) error {
	for _, f := range p.flags {
		fl := fs.Lookup(f.name)
		if fl == nil {
			return usageErrorf("flag --%s does not apply to %s", f.name, p.cmd.path())
		}
		v := f.value
		if !f.hasValue {
			v = "true"
		}
		if err := fs.Set(f.name, v); err != nil {
			return usageErrorf("invalid value %q for --%s: %v", redactValue(f.name, v), f.name, err)
		}
	}
	return applyEnvAndFile(fs, env)
}

// check enforces the command's required flags, its identity numbers and
// the number of its positional arguments.
func (c *cmd) check(fs *flag.FlagSet, positional []string) error {
	var msgs []string
	for _, name := range c.required {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "" {
			msgs = append(msgs, fmt.Sprintf("--%s is required: %s", name, f.Usage))
		}
	}
	for _, name := range c.ids {
		if f := fs.Lookup(name); f != nil && f.Value.String() != "" {
			if err := checkNationalID(f.Value.String()); err != nil {
				msgs = append(msgs, fmt.Sprintf("--%s: %v", name, err))
			}
		}
	}
	if len(positional) < c.minArgs {
		what := c.args
		if what == "" {
			what = "an argument"
		}
		msgs = append(msgs, fmt.Sprintf("missing %s", what))
	}
	if c.maxArgs >= 0 && len(positional) > c.maxArgs {
		extra := positional[c.maxArgs]
		msg := fmt.Sprintf("unexpected argument %q", extra)
		if fs.Lookup("patient") != nil && checkNationalID(extra) == nil {
			msg += fmt.Sprintf(" (to name the patient, write --patient %s)", extra)
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) > 0 {
		return &usageError{msg: strings.Join(msgs, "\n")}
	}
	return nil
}

// checkNationalID checks a Norwegian national identity number with the
// registry's one rule, in words for whoever typed it.
func checkNationalID(id string) error {
	if _, err := registry.ValidNorwegianID(id); err != nil {
		reason := err.Error()
		if i := strings.Index(reason, `": `); i >= 0 {
			reason = reason[i+3:]
		}
		return fmt.Errorf("%q is not a valid Norwegian identity number (fødselsnummer, D-nummer or H-nummer: 11 digits): %s", id, reason)
	}
	return nil
}

// execute runs the command line args against the tree root and returns
// the exit status.
func execute(ctx context.Context, root *cmd, args []string, env func(string) string, stdout, stderr io.Writer) int {
	p, err := split(root, args)
	if err != nil {
		return reportUsage(stderr, p.cmd, err)
	}
	c := p.cmd
	if p.help {
		c.printUsage(stdout)
		return exitOK
	}
	if c.run == nil {
		if c.parent == nil && len(args) == 0 {
			c.printUsage(stderr)
			return exitUsage
		}
		return reportUsage(stderr, c, usageErrorf("name a command: %s", c.subNames()))
	}
	fs := c.flagSet()
	if err := p.parse(fs, env); err != nil {
		return reportUsage(stderr, c, err)
	}
	if err := c.check(fs, p.positional); err != nil {
		return reportUsage(stderr, c, err)
	}
	err = c.run(ctx, &invocation{args: p.positional, stdout: stdout, stderr: stderr, cmd: c, fs: fs})
	if err == nil {
		return exitOK
	}
	return reportUsage(stderr, c, err)
}

// reportUsage writes err for command c and returns the exit status it
// calls for.
func reportUsage(w io.Writer, c *cmd, err error) int {
	var ue *usageError
	var ce *configError
	switch {
	case errors.As(err, &ue) || errors.Is(err, audit.ErrUsage):
		msg := strings.TrimPrefix(err.Error(), audit.ErrUsage.Error()+": ")
		fmt.Fprintf(w, "%s: %s\n\n", c.path(), strings.ReplaceAll(msg, "\n", "\n  "))
		c.printUsage(w)
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(w, "%s: %v\nRun '%s -h' for its flags.\n", c.path(), err, c.path())
		return exitUsage
	}
	fmt.Fprintf(w, "%s: %v\n", c.path(), err)
	return exitFailure
}

// printUsage writes the usage of c: its synopsis, its subcommands and the
// flags that apply to it.
func (c *cmd) printUsage(w io.Writer) {
	fs := c.flagSet()
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	line := "usage: " + c.path()
	if len(c.subs) > 0 {
		line += " <command>"
	}
	if hasFlags {
		line += " [flags]"
	}
	if c.args != "" {
		line += " " + c.args
	}
	fmt.Fprintln(w, line)
	if c.summary != "" {
		fmt.Fprintf(w, "\n%s\n", upperFirst(c.summary))
	}
	if c.doc != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.doc))
	}
	if len(c.subs) > 0 {
		fmt.Fprintln(w, "\nCommands:")
		width := 0
		for _, s := range c.subs {
			width = max(width, len(s.name))
		}
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
		}
	}
	if hasFlags {
		if len(c.subs) > 0 {
			fmt.Fprintln(w, "\nFlags (of every command above):")
		} else {
			fmt.Fprintln(w, "\nFlags:")
		}
		printFlags(w, fs, c.shown)
		if c.shownNote != "" {
			fmt.Fprintf(w, "\n%s\n", c.shownNote)
		}
	}
	switch {
	case len(c.subs) > 0:
		fmt.Fprintf(w, "\nRun '%s <command> -h' for the flags of a command.\n", c.path())
	case hasFlags:
		example := ""
		for _, name := range []string{"url", "postgres-url", "data", "listen"} {
			if fs.Lookup(name) != nil && example == "" {
				example = name
			}
		}
		fs.VisitAll(func(f *flag.Flag) {
			if example == "" {
				example = f.Name
			}
		})
		fmt.Fprintf(w, "\nFlags go before or after arguments. Each can also be set in the environment\n"+
			"(--%s as %s)", example, envName(example))
		if fs.Lookup("config") != nil {
			fmt.Fprint(w, " or as 'name = value' in a --config file")
		}
		fmt.Fprintln(w, ".")
	}
}

// printFlags lists the flags of fs (only those named in shown, when set).
func printFlags(w io.Writer, fs *flag.FlagSet, shown []string) {
	var all []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if shown == nil || slices.Contains(shown, f.Name) {
			all = append(all, f)
		}
	})
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, f := range all {
		name, usage := flag.UnquoteUsage(f)
		switch {
		case isBoolFlag(f):
			name = ""
		case name == "string" || name == "value":
			name = "VALUE"
		case name == "int" || name == "uint" || name == "float":
			name = "NUMBER"
		case name == "duration":
			name = "DURATION" // 90s, 10m, 1h30m
		}
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		if !isZeroDefault(f) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", head, strings.ReplaceAll(usage, "\n", "\n      "))
	}
}

// isZeroDefault reports whether f's default is its type's zero value.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "auto":
		return true
	}
	// A Value whose zero prints like its default (lists) is zero too.
	t := reflect.TypeOf(f.Value)
	if t.Kind() == reflect.Pointer {
		if z, ok := reflect.New(t.Elem()).Interface().(flag.Value); ok {
			return z.String() == f.DefValue
		}
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
