// Command testsummary reads `go test -json` on standard input and prints
// what a person needs from a long run: a line per package as it finishes,
// the full output of every failed test, and at the end how many tests
// passed, which were skipped and why — grouped, so that "S3 unavailable"
// on 55 tests reads as one line:
//
//	2304 tests passed, 60 skipped: S3 (versitygw v1.8.0) ×55, rsyslogd ×2, …
//
// Lines that are not JSON (build errors) are copied through. It exits 1
// when a test or package failed, or — with -strict — when any test was
// skipped (make test passes -strict under CI=true, where nothing may
// skip); 0 otherwise. make test runs it: go test -json ./... | go run ./.ci/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// skipLine is the message of testenv.Unavailable.
var skipLine = regexp.MustCompile(`^skipped: (.+?) unavailable: (.*)$`)

// location is the "file.go:12: " test output adds before a message.
var location = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

type key struct{ pkg, test string }

// group is the tests skipped for one reason.
type group struct {
	name   string
	reason string // the first test's, when tests give different ones
	tests  []string
}

type summary struct {
	out     io.Writer
	output  map[key][]string // output so far, per test (test "" = the package)
	passed  int
	failed  []key
	pkgFail []string
	groups  map[string]*group
	order   []string
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, output: map[key][]string{}, groups: map[string]*group{}}
}

func (s *summary) add(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.output[k] = append(s.output[k], e.Output)
		return
	case "pass", "fail", "skip":
	default:
		return
	}
	if e.Test == "" { // a package finished
		switch e.Action {
		case "fail":
			s.pkgFail = append(s.pkgFail, e.Package)
			fmt.Fprintf(s.out, "FAIL  %s (%.1fs)\n", e.Package, e.Elapsed)
			for _, l := range s.output[k] {
				if !strings.HasPrefix(l, "FAIL") && !strings.HasPrefix(l, "ok ") {
					fmt.Fprint(s.out, "      ", l)
				}
			}
		case "pass":
			fmt.Fprintf(s.out, "ok    %s (%.1fs)\n", e.Package, e.Elapsed)
		}
		s.drop(e.Package)
		return
	}
	switch e.Action {
	case "pass":
		s.passed++
	case "fail":
		s.failed = append(s.failed, k)
		fmt.Fprintf(s.out, "--- FAIL: %s %s\n", e.Package, e.Test)
		for _, l := range s.output[k] {
			fmt.Fprint(s.out, "    ", l)
		}
	case "skip":
		name, reason := skipReason(s.output[k])
		g := s.groups[name]
		if g == nil {
			g = &group{name: name, reason: reason}
			s.groups[name] = g
			s.order = append(s.order, name)
		}
		g.tests = append(g.tests, e.Package+" "+e.Test)
	}
	if e.Action != "fail" {
		delete(s.output, k)
	}
}

// drop forgets the output kept for a finished package.
func (s *summary) drop(pkg string) {
	for k := range s.output {
		if k.pkg == pkg {
			delete(s.output, k)
		}
	}
}

// skipReason finds why a test skipped in its output: the group (the
// service testenv could not start, or the message itself) and the reason.
func skipReason(lines []string) (name, reason string) {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		msg = append(msg, strings.TrimSpace(location.ReplaceAllString(l, "")))
	}
	if len(msg) == 0 {
		return "no reason given", ""
	}
	// The skip message is the last one the test wrote.
	last := msg[len(msg)-1]
	for _, m := range msg {
		if skipLine.MatchString(m) {
			last = m
		}
	}
	if m := skipLine.FindStringSubmatch(last); m != nil {
		return m[1], m[2]
	}
	if len(last) > 120 {
		last = last[:120] + "…"
	}
	return last, ""
}

// report prints the end of the run and returns whether it passed.
func (s *summary) report(strict bool) bool {
	total := 0
	for _, g := range s.groups {
		total += len(g.tests)
	}
	fmt.Fprintln(s.out)
	if len(s.failed) > 0 {
		fmt.Fprintf(s.out, "%d failed:\n", len(s.failed))
		for _, k := range s.failed {
			fmt.Fprintf(s.out, "  %s %s\n", k.pkg, k.test)
		}
	}
	for _, p := range s.pkgFail {
		if !s.hasFailedTest(p) {
			fmt.Fprintf(s.out, "package %s failed (build error, panic or timeout: see above)\n", p)
		}
	}
	line := fmt.Sprintf("%d tests passed", s.passed)
	if len(s.failed) > 0 {
		line += fmt.Sprintf(", %d failed", len(s.failed))
	}
	if total == 0 {
		line += ", none skipped"
	} else {
		sort.SliceStable(s.order, func(i, j int) bool { return len(s.groups[s.order[i]].tests) > len(s.groups[s.order[j]].tests) })
		var parts []string
		for _, n := range s.order {
			parts = append(parts, fmt.Sprintf("%s ×%d", n, len(s.groups[n].tests)))
		}
		line += fmt.Sprintf(", %d skipped: %s", total, strings.Join(parts, ", "))
	}
	fmt.Fprintln(s.out, line)
	for _, n := range s.order {
		if g := s.groups[n]; g.reason != "" {
			fmt.Fprintf(s.out, "  %s ×%d: %s\n", g.name, len(g.tests), g.reason)
		}
	}
	ok := len(s.failed) == 0 && len(s.pkgFail) == 0
	if strict && total > 0 {
		fmt.Fprintf(s.out, "FAIL: %d tests skipped, and nothing may skip here (CI=true)\n", total)
		ok = false
	}
	return ok
}

func (s *summary) hasFailedTest(pkg string) bool {
	for _, k := range s.failed {
		if k.pkg == pkg {
			return true
		}
	}
	return false
}

func main() {
	strict := flag.Bool("strict", false, "fail when any test was skipped")
	flag.Parse()
	s := newSummary(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(os.Stdout, "%s\n", line)
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stdout, "testsummary: reading go test -json: %v\n", err)
		os.Exit(1)
	}
	if !s.report(*strict) {
		os.Exit(1)
	}
}
