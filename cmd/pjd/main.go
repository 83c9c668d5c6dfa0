// Command pjd is the one binary of pasientens journaldokumenter: the server
// (pjd serve) and the tools around it (migrations, client commands for
// sources and consumers, audit review, conformance runs, benchmarks).
//
// Every command follows the conventions of cli.go: flags anywhere, -h for
// usage, exit status 2 for a wrong invocation and 1 for a failure.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// commandTree is every pjd command. A new command goes in subs (see
// cli.go for how to write one).
func commandTree() *cmd {
	return (&cmd{
		name: "pjd",
		doc: "pasientens journaldokumenter: an IHE XDS.b registry and repository and an MHD gateway\n" +
			"for Norwegian document sharing. 'pjd serve --dev' runs a local demo (see README.md).",
		subs: []*cmd{
			serveCmd(),
			migrateCmd(),
			submitCmd(),
			getCmd(),
			findCmd(),
			tokenCmd(),
			mhdCmd(),
			auditCmd(),
			blocksCmd(),
			patientsCmd(),
			updateCmd(),
			removeCmd(),
			repositoryCmd(),
			conformanceCmd(),
			devIssuerCmd(),
			benchCmd(),
			versionCmd(),
		},
	}).link()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	return execute(ctx, commandTree(), args, os.Getenv, stdout, stderr)
}

func versionCmd() *cmd {
	return &cmd{
		name: "version", summary: "print the version of pjd, its commit and Go version (also: pjd --version)",
		run: func(_ context.Context, inv *invocation) error {
			_, err := fmt.Fprintln(inv.stdout, versionString(readBuildInfo()))
			return err
		},
	}
}

// readBuildInfo is the running binary's build information (nil when it
// has none).
func readBuildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// versionString says which pjd this is: its module version, the commit it
// was built from (with "+changes" when the tree had uncommitted changes)
// and the Go version, from the build information Go records.
func versionString(bi *debug.BuildInfo) string {
	version, commit, when, modified := "(unknown)", "", "", false
	goVersion := runtime.Version()
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pjd %s", version)
	switch {
	case commit == "":
		b.WriteString(", commit unknown (built without version control information)")
	default:
		fmt.Fprintf(&b, ", commit %s", commit)
		if modified {
			b.WriteString("+changes")
		}
		if when != "" {
			fmt.Fprintf(&b, " (%s)", when)
		}
	}
	fmt.Fprintf(&b, ", %s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
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
