package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pjd/cmd/pjd/internal/demo"
	"pjd/conformance/testenv"
)

// The command-line contract of pjd (cli.go): every command's -h, the exit
// status and message of wrong invocations, flags anywhere. Messages are
// matched by substring: they are what a person reads.

// pjdRun runs pjd in-process with args and returns its exit status and
// output.
func pjdRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = run(ctx, args, &o, &e)
	return code, o.String(), e.String()
}

// everyCommand calls fn for every command of the tree.
func everyCommand(fn func(c *cmd)) {
	var walk func(c *cmd)
	walk = func(c *cmd) {
		fn(c)
		for _, s := range c.subs {
			walk(s)
		}
	}
	walk(commandTree())
}

func cmdArgs(c *cmd) []string { return strings.Fields(c.path())[1:] }

// flagNames are the names of the flags that apply to c (those its usage
// shows, when it names them).
func flagNames(c *cmd) map[string]bool {
	names := map[string]bool{}
	c.flagSet().VisitAll(func(f *flag.Flag) {
		if c.shown == nil || slices.Contains(c.shown, f.Name) {
			names[f.Name] = true
		}
	})
	return names
}

// TestCLIHelpOfEveryCommand: -h, --help and help print the command's usage
// on stdout with exit status 0: its subcommands, and exactly the flags
// that apply to it.
func TestCLIHelpOfEveryCommand(t *testing.T) {
	allFlags := map[string]bool{}
	everyCommand(func(c *cmd) {
		for n := range flagNames(c) {
			allFlags[n] = true
		}
	})
	everyCommand(func(c *cmd) {
		t.Run(strings.ReplaceAll(c.path(), " ", "_"), func(t *testing.T) {
			forms := [][]string{append(cmdArgs(c), "-h"), append(cmdArgs(c), "--help")}
			if len(c.subs) > 0 || c.maxArgs == 0 {
				forms = append(forms, append(cmdArgs(c), "help"), append([]string{"help"}, cmdArgs(c)...))
			}
			for _, args := range forms {
				code, stdout, stderr := pjdRun(t, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("pjd %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
				}
				if !strings.HasPrefix(stdout, "usage: "+c.path()) {
					t.Fatalf("pjd %s does not start with its usage line:\n%s", strings.Join(args, " "), stdout)
				}
				for _, s := range c.subs {
					if !regexp.MustCompile(`(?m)^  ` + s.name + ` `).MatchString(stdout) {
						t.Errorf("pjd %s does not list the subcommand %s:\n%s", strings.Join(args, " "), s.name, stdout)
					}
				}
				mine := flagNames(c)
				for n := range allFlags {
					listed := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(n) + `( |$)`).MatchString(stdout)
					if listed != mine[n] {
						t.Errorf("pjd %s: flag --%s listed %v, applies %v", strings.Join(args, " "), n, listed, mine[n])
					}
				}
			}
		})
	})
}

// TestCLIFlagKindsAgree: a flag name takes a value in every command or in
// none, so the parser can step over flags before the subcommand is known.
func TestCLIFlagKindsAgree(t *testing.T) {
	kinds := map[string]bool{}
	where := map[string]string{}
	everyCommand(func(c *cmd) {
		c.flagSet().VisitAll(func(f *flag.Flag) {
			b := isBoolFlag(f)
			if k, ok := kinds[f.Name]; ok && k != b {
				t.Errorf("--%s is a boolean in one of %s and %s but not the other", f.Name, where[f.Name], c.path())
			}
			kinds[f.Name], where[f.Name] = b, c.path()
		})
	})
}

// TestCLIWrongInvocations: a wrong invocation exits 2 with what is wrong
// and the usage; a failure at run time exits 1 with what failed.
func TestCLIWrongInvocations(t *testing.T) {
	fnr := demo.Patients()[0].ID
	dir := t.TempDir()
	notat := filepath.Join(dir, "notat.txt")
	if err := os.WriteFile(notat, []byte("Kontrolltime.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(dir, "data")
	if code, _, stderr := pjdRun(t, "migrate", "--data", dbDir); code != 0 {
		t.Fatalf("pjd migrate: %d %s", code, stderr)
	}
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close()
	for _, tc := range []struct {
		args []string
		code int
		want []string // in stderr
	}{
		{nil, 2, []string{"usage: pjd <command>", "serve", "version"}},
		{[]string{"nope"}, 2, []string{`unknown command "nope"`, "usage: pjd <command>"}},
		{[]string{"mhd"}, 2, []string{"name a command: search, read or request", "usage: pjd mhd <command>"}},
		{[]string{"repository"}, 2, []string{"name a command: sweep", "usage: pjd repository <command>"}},
		{[]string{"blocks"}, 2, []string{"name a command: add, list or lift", "usage: pjd blocks <command>"}},
		{[]string{"audit"}, 2, []string{"name a command: search, export or verify"}},
		{[]string{"bench", "nope"}, 2, []string{`unknown command "nope": all, dpop, transfer, register, mhd, federation, registry or growth`}},
		{[]string{"find"}, 2, []string{"--patient is required: the patient's fødselsnummer or D-nummer (11 digits)", "usage: pjd find [flags]"}},
		{[]string{"find", fnr}, 2, []string{`unexpected argument "` + fnr + `"`, "write --patient " + fnr}},
		{[]string{"find", "--patient", "1234"}, 2, []string{`--patient: "1234" is not a valid Norwegian identity number`, "want 11 digits"}},
		{[]string{"find", "--patient"}, 2, []string{"flag --patient needs a value"}},
		{[]string{"find", "--nope", "--patient", fnr}, 2, []string{"unknown flag --nope"}},
		{[]string{"find", "--all=maybe", "--patient", fnr}, 2, []string{`invalid value "maybe" for --all`}},
		{[]string{"mhd", "search"}, 2, []string{"--patient is required", "usage: pjd mhd search"}},
		{[]string{"mhd", "read"}, 2, []string{"missing ATTACHMENT-URL"}},
		{[]string{"mhd", "read", "--patient", fnr, "notaurl"}, 2, []string{`"notaurl" is not an attachment URL`}},
		{[]string{"mhd", "search", "--patient", fnr, "--param", "type"}, 2, []string{`--param "type": write name=value`}},
		{[]string{"audit", "search", "--patient", "12345678901", "--data", dbDir}, 2,
			[]string{`--patient: "12345678901" is not a valid Norwegian identity number`, "check digit"}},
		{[]string{"audit", "search", "--expect-head", "1:ab", "--data", dbDir}, 2, []string{"flag --expect-head does not apply to pjd audit search"}},
		{[]string{"audit", "search", "--format", "xml", "--data", dbDir}, 2, []string{"--format must be table or json", "usage: pjd audit search"}},
		{[]string{"audit", "verify", "--data", filepath.Join(dir, "none")}, 1, []string{"no pjd database at " + filepath.Join(dir, "none", "registry.db")}},
		{[]string{"submit", notat}, 2, []string{"--patient is required"}},
		{[]string{"submit", "--patient", fnr}, 2, []string{"missing FILE..."}},
		{[]string{"submit", "--patient", fnr, filepath.Join(dir, "missing.txt")}, 2, []string{"cannot read " + filepath.Join(dir, "missing.txt")}},
		{[]string{"submit", notat, "--patient", fnr, "--url", deadURL}, 1, []string{"cannot reach the pjd server at " + deadURL}},
		{[]string{"get"}, 2, []string{"missing DOCUMENT-UNIQUE-ID"}},
		{[]string{"get", "1.2", "1.3"}, 2, []string{`unexpected argument "1.3"`}},
		{[]string{"get", "-o", "/nonexistent-dir/x.pdf", "2.999.578.10.7.2"}, 1, []string{"cannot write /nonexistent-dir/x.pdf: the folder /nonexistent-dir does not exist"}},
		{[]string{"find", "--patient", fnr, "--url", deadURL}, 1, []string{"cannot reach the pjd server at " + deadURL, "--url or PJD_URL"}},
		{[]string{"token", "--persona", "nobody"}, 2, []string{`--persona: "nobody" is not one of fastlege`}},
		{[]string{"token", "--format", "xml"}, 2, []string{`--format: "xml" is not json, token or saml`}},
		{[]string{"token", "--patient", "13915810034"}, 2, []string{"second check digit is wrong"}},
		{[]string{"blocks", "add", "--patient", fnr, "--data", dbDir}, 2, []string{"say who is blocked: --hpr, --practitioner or --org"}},
		{[]string{"blocks", "add", "--patient", fnr, "--practitioner", "1", "--data", dbDir}, 2, []string{`--practitioner: "1" is not a valid`}},
		{[]string{"blocks", "list", "--data", dbDir}, 2, []string{"--patient is required"}},
		{[]string{"blocks", "lift", "--data", dbDir}, 2, []string{"missing BLOCK-ID"}},
		{[]string{"blocks", "lift", "--data", dbDir, "no-such-block"}, 1, []string{"no block no-such-block in force"}},
		{[]string{"serve", "--max-results", "many"}, 2, []string{`invalid value "many" for --max-results`}},
		{[]string{"serve", "--dev", "--listen", "nowhere"}, 2, []string{"--listen", "Run 'pjd serve -h'"}},
		{[]string{"serve", "--dev", "extra"}, 2, []string{`unexpected argument "extra"`}},
		{[]string{"repository", "sweep", "--dev", "--data", filepath.Join(dir, "none"), "--issuer", "https://x"}, 1, []string{"no data folder " + filepath.Join(dir, "none")}},
		{[]string{"repository", "sweep", "--nope"}, 2, []string{"unknown flag --nope"}},
		{[]string{"conformance", "--run", "("}, 2, []string{"--run: error parsing regexp"}},
		{[]string{"conformance", "--client-cert", "x.pem"}, 2, []string{"--client-cert and --client-key go together"}},
		{[]string{"version", "extra"}, 2, []string{`unexpected argument "extra"`}},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			code, stdout, stderr := pjdRun(t, tc.args...)
			if code != tc.code {
				t.Fatalf("pjd %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("pjd %s: stderr does not say %q:\n%s", strings.Join(tc.args, " "), w, stderr)
				}
			}
			if tc.code == 2 && !strings.Contains(stderr, "usage: ") && !strings.Contains(stderr, " -h' for its flags") {
				t.Errorf("pjd %s: a usage error without the usage:\n%s", strings.Join(tc.args, " "), stderr)
			}
			if tc.code == 1 && strings.Contains(stderr, "usage: ") {
				t.Errorf("pjd %s: a failure printed the usage:\n%s", strings.Join(tc.args, " "), stderr)
			}
			if strings.Contains(stderr, ".pjd-get-") {
				t.Errorf("pjd %s: the error names a temporary file:\n%s", strings.Join(tc.args, " "), stderr)
			}
		})
	}
}

// TestCLIFlagsAnywhere: against a running server with the demo data,
// flags work before and after subcommands and arguments, and a refusal
// is put in words.
func TestCLIFlagsAnywhere(t *testing.T) {
	s := startServer(t, backendEmbedded, "--demo-data=true")
	fnr := demo.Patients()[0].ID
	dir := t.TempDir()
	notat := filepath.Join(dir, "notat.txt")
	if err := os.WriteFile(notat, []byte("Kontrolltime: blodtrykk 128/82.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"audit", "verify", "--data", s.Data}, "OK: "},
		{[]string{"audit", "--data", s.Data, "verify"}, "OK: "},
		{[]string{"--data", s.Data, "audit", "verify"}, "OK: "},
		{[]string{"audit", "search", "--data", s.Data, "--patient", fnr}, "SEQ"},
		{[]string{"blocks", "--data", s.Data, "list", "--patient", fnr}, "ID"},
		{[]string{"blocks", "list", "--patient", fnr, "--data", s.Data}, "ID"},
		{[]string{"find", "--url", s.URL, "--patient", fnr}, "document(s)"},
		{[]string{"find", "--patient=" + fnr, "--url=" + s.URL}, "document(s)"},
		{[]string{"submit", notat, "--patient", fnr, "--url", s.URL, "--title", "Kontroll"}, "submission set"},
		{[]string{"submit", "--url", s.URL, "--patient", fnr, notat}, "submission set"},
		{[]string{"get", demoRoot + ".7.2", "--url", s.URL, "-o", filepath.Join(dir, "a.pdf")}, "a.pdf"},
		{[]string{"get", "-o", filepath.Join(dir, "b.pdf"), "--url", s.URL, demoRoot + ".7.2"}, "b.pdf"},
		{[]string{"mhd", "search", "--url", s.URL, "--patient", fnr}, "document(s)"},
		{[]string{"mhd", "--patient", fnr, "search", "--url", s.URL}, "document(s)"},
		{[]string{"mhd", "--url", s.URL, "search", "--json", "--patient", fnr}, `"resourceType":"Bundle"`},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			code, stdout, stderr := pjdRun(t, tc.args...)
			if code != 0 || !strings.Contains(stdout, tc.want) {
				t.Fatalf("pjd %s: exit %d, stdout lacks %q:\n%s\nstderr: %s", strings.Join(tc.args, " "), code, tc.want, stdout, stderr)
			}
		})
	}
	t.Run("refused search in words", func(t *testing.T) {
		code, stdout, stderr := pjdRun(t, "mhd", "search", "--persona", "sykepleier", "--patient", fnr, "--url", s.URL)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "the server refused the search (HTTP 403 Forbidden): ") || strings.Contains(stderr, "{") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	})
}

// TestServeBusyPortCreatesNothing: pjd serve listens before it creates
// anything, so a busy port leaves no data folder behind.
func TestServeBusyPortCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "pjd-data")
	code, _, stderr := pjdRun(t, "serve", "--dev", "--listen", ln.Addr().String(), "--data", data)
	if code != 1 || !strings.Contains(stderr, "listening on "+ln.Addr().String()) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("the failed serve left %s behind (%v)", data, err)
	}
}

// TestVersion: pjd version and pjd --version say which pjd this is, from
// the build information.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := pjdRun(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "pjd ") || !strings.Contains(stdout, "go1.") || !strings.Contains(stdout, "commit") {
			t.Fatalf("pjd %s: exit %d, %q", args[0], code, stdout)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "pjd", Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionString(bi)
	for _, want := range []string{"pjd v1.2.3", "commit 0123abcd+changes (2026-01-02T03:04:05Z)", "go1.26.0"} {
		if !strings.Contains(got, want) {
			t.Errorf("versionString = %q, want it to say %q", got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBannerCommandsWork: every command the pjd serve --dev banner prints
// (make run's) runs as printed.
func TestBannerCommandsWork(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Chdir(work)
	ctx, cancel := context.WithCancel(context.Background())
	var banner, logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev", "--listen", "127.0.0.1:" + strconv.Itoa(port), "--data", filepath.Join(work, "data"),
			"--log-level", "warn", "--sweep-interval", "0"}, &banner, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("pjd serve exit %d: %s", code, logs.String())
		}
	})
	for !strings.Contains(banner.String(), "in a browser") {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("pjd serve exit %d before its banner: %s", code, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	var commands []string
	for _, l := range strings.Split(banner.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "./bin/pjd ") || strings.HasPrefix(l, "mkdir ") {
			commands = append(commands, l)
		}
	}
	if len(commands) < 6 {
		t.Fatalf("the banner has %d commands:\n%s", len(commands), banner.String())
	}
	for _, line := range commands {
		args := strings.Fields(line)
		if args[0] == "mkdir" {
			if err := os.MkdirAll(args[len(args)-1], 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		args = args[1:]
		var redirect string
		if i := slices.Index(args, ">"); i >= 0 {
			redirect, args = args[i+1], args[:i]
		}
		code, stdout, stderr := pjdRun(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", line, code, stdout, stderr)
		}
		if redirect != "" {
			if err := os.WriteFile(redirect, []byte(stdout), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}
