package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// run feeds events to a summary and returns what it printed and whether
// the run passed.
func runEvents(t *testing.T, strict bool, events ...event) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	s := newSummary(&out)
	for _, e := range events {
		// Through JSON, as go test -json writes them.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		s.add(back)
	}
	ok := s.report(strict)
	return out.String(), ok
}

func out(pkg, test, text string) event {
	return event{Action: "output", Package: pkg, Test: test, Output: text}
}

func skipped(pkg, test, msg string) []event {
	return []event{
		out(pkg, test, "=== RUN   "+test+"\n"),
		out(pkg, test, "    x_test.go:12: "+msg+"\n"),
		out(pkg, test, "--- SKIP: "+test+" (0.00s)\n"),
		{Action: "skip", Package: pkg, Test: test},
	}
}

func TestSummaryGroupsSkipsByService(t *testing.T) {
	var ev []event
	ev = append(ev, event{Action: "pass", Package: "p", Test: "TestA"}, event{Action: "pass", Package: "p", Test: "TestA/sub"})
	ev = append(ev, skipped("p", "TestS3One", "skipped: S3 (versitygw v1.8.0) unavailable: versitygw v1.8.0 not found; building it failed")...)
	ev = append(ev, skipped("p", "TestS3Two", "skipped: S3 (versitygw v1.8.0) unavailable: versitygw v1.8.0 not found; building it failed")...)
	ev = append(ev, skipped("q", "TestSyslog", "skipped: rsyslogd unavailable: exec: not found")...)
	ev = append(ev, skipped("q", "TestShort", "1 GiB round trips: skipped with -short")...)
	ev = append(ev, event{Action: "pass", Package: "p"}, event{Action: "pass", Package: "q"})
	got, ok := runEvents(t, false, ev...)
	if !ok {
		t.Fatalf("a run with skips but no failures failed:\n%s", got)
	}
	for _, want := range []string{
		"2 tests passed, 4 skipped: S3 (versitygw v1.8.0) ×2, rsyslogd ×1, 1 GiB round trips: skipped with -short ×1\n",
		"  S3 (versitygw v1.8.0) ×2: versitygw v1.8.0 not found; building it failed\n",
		"  rsyslogd ×1: exec: not found\n",
		"ok    p ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if _, ok := runEvents(t, true, ev...); ok {
		t.Error("-strict passed a run with skipped tests")
	}
}

func TestSummaryPrintsFailures(t *testing.T) {
	got, ok := runEvents(t, false,
		out("p", "TestBad", "=== RUN   TestBad\n"),
		out("p", "TestBad", "    bad_test.go:7: want 2, got 3\n"),
		out("p", "TestBad", "--- FAIL: TestBad (0.00s)\n"),
		event{Action: "fail", Package: "p", Test: "TestBad"},
		event{Action: "pass", Package: "p", Test: "TestGood"},
		event{Action: "fail", Package: "p"},
		out("broken", "", "broken/x.go:3:1: syntax error\n"),
		event{Action: "fail", Package: "broken"},
	)
	if ok {
		t.Fatalf("a failed run passed:\n%s", got)
	}
	for _, want := range []string{"--- FAIL: p TestBad", "want 2, got 3", "1 failed:\n  p TestBad", "FAIL  broken",
		"syntax error", "package broken failed", "1 tests passed, 1 failed, none skipped"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
