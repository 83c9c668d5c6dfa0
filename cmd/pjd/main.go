// Command pjd is the one binary of pasientens journaldokumenter: the server
// (pjd serve) and the tools around it (migrations, client commands for
// sources and consumers, audit review, conformance runs, benchmarks).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// A command is one subcommand of pjd.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":       {"run the server (pjd serve --dev for a local demo)", runServe},
		"migrate":     {"apply database migrations and exit", runMigrate},
		"submit":      {"register documents (ITI-41) with a repository", runSubmit},
		"get":         {"retrieve a document (ITI-43)", runGet},
		"find":        {"find a patient's documents (ITI-18 FindDocuments)", runFind},
		"token":       {"get a development HelseID token (--dev servers only)", runToken},
		"audit":       {"search, export and verify the audit log", runAudit},
		"repository":  {"repository maintenance (pjd repository sweep)", runRepository},
		"mhd":         {"MHD consumer: search (ITI-67) and read (ITI-68) with a dev token", runMHD},
		"blocks":      {"manage patients' blocks (sperringer): add, list, lift", runBlocks},
		"conformance": {"run the IHE conformance scenarios against a server", runConformance},
		"dev-issuer":  {"run the development token issuer over HTTPS with its own CA (testing production mode)", runDevIssuer},
		"bench":       {"run benchmarks (pjd bench registry)", runBench},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pjd: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "pjd %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: pjd <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'pjd <command> -h' for the flags of a command. Every flag can also be set")
	fmt.Fprintln(w, "as PJD_<FLAG_NAME> in the environment or as 'flag-name = value' in a --config file.")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pjd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
