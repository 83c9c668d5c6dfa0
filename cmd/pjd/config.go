package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Configuration comes from, in order of precedence: command-line flags,
// environment variables (PJD_ + the flag name upper-cased with - → _, e.g.
// --postgres-url ↔ PJD_POSTGRES_URL), a config file (--config FILE or
// PJD_CONFIG, lines of "name = value", # comments), then defaults. Every
// flag can be set in every way; problems are collected and reported
// together.

// loadConfig parses args into fs as every pjd command does (flags before,
// after and between positional arguments, which fs.Args then returns) and
// fills every flag not given on the command line from the environment and
// then from the config file. Commands of the tree (cli.go) get this done
// for them; loadConfig is for a FlagSet of its own (tests, pjd bench's
// in-process servers).
func loadConfig(fs *flag.FlagSet, args []string, env func(string) string) error {
	leaf := &cmd{name: fs.Name(), maxArgs: -1, flags: func(dst *flag.FlagSet) {
		fs.VisitAll(func(f *flag.Flag) { dst.Var(f.Value, f.Name, f.Usage) })
	}}
	p, err := split(leaf, args)
	if err != nil {
		return err
	}
	if p.help {
		return flag.ErrHelp
	}
	if err := p.parse(fs, env); err != nil {
		return err
	}
	return fs.Parse(append([]string{"--"}, p.positional...))
}

// applyEnvAndFile fills every flag of fs not set on the command line from
// the environment (PJD_<FLAG>) and then from the --config file.
func applyEnvAndFile(fs *flag.FlagSet, env func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var problems []string
	fromEnv := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v := env(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: invalid value %q: %v", envName(f.Name), redactValue(f.Name, v), err))
			}
			fromEnv[f.Name] = true
		}
	})

	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
	}
	if path != "" {
		file, err := os.Open(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("config file: %v", err))
		} else {
			vals, perr := parseConfigFile(file)
			file.Close()
			problems = append(problems, perr...)
			names := make([]string, 0, len(vals))
			for k := range vals {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, name := range names {
				f := fs.Lookup(name)
				if f == nil || name == "config" {
					problems = append(problems, fmt.Sprintf("%s: unknown setting %q", path, name))
					continue
				}
				if set[name] || fromEnv[name] {
					continue
				}
				if err := fs.Set(name, vals[name]); err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s: invalid value %q: %v", path, name, redactValue(name, vals[name]), err))
				}
			}
		}
	}
	if len(problems) > 0 {
		return &configError{problems: problems}
	}
	return nil
}

func envName(flagName string) string {
	return "PJD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseConfigFile(r io.Reader) (map[string]string, []string) {
	vals := map[string]string{}
	var problems []string
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, value, ok := strings.Cut(s, "=")
		if !ok {
			problems = append(problems, fmt.Sprintf("config line %d: expected name = value", line))
			continue
		}
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if _, dup := vals[name]; dup {
			problems = append(problems, fmt.Sprintf("config line %d: %s set twice", line, name))
		}
		vals[name] = value
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("config file: %v", err))
	}
	return vals, problems
}

// redactValue hides secrets in error messages.
func redactValue(name, v string) string {
	if strings.Contains(name, "secret") || strings.Contains(name, "password") || strings.Contains(name, "key") {
		return "…"
	}
	return v
}

// configError lists every configuration problem found.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "configuration has " + plural(len(e.problems), "problem") + ":\n  - " + strings.Join(e.problems, "\n  - ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// problems collects validation failures.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &configError{problems: p}
}

// newFlagSet is a FlagSet for loadConfig: errors are returned, not
// printed (the caller reports them).
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pjd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
