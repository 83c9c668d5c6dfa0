package conformance

import (
	"os"
	"regexp"
	"testing"

	"pjd/registry"
)

func TestNewPatientIsSyntheticAndValid(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		p := newPatient()
		if kind, err := registry.ValidNorwegianID(p); err != nil || kind != registry.KindFnr {
			t.Fatalf("%s: kind %q, err %v; want a valid F-nr", p, kind, err)
		}
		if !registry.IsSyntheticNorwegianID(p) {
			t.Fatalf("%s is not a synthetic number", p)
		}
		seen[p] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("2000 draws gave only %d distinct patients", len(seen))
	}
}

func TestParseAuditEvent(t *testing.T) {
	raw, err := os.ReadFile("../testdata/audit/auditevent_full_compliance.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := parseAuditEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case e.Subtype != "ITI-67" || e.Outcome != AuditPermit || e.Rule != "btg-permitted":
		t.Errorf("subtype %q outcome %q rule %q", e.Subtype, e.Outcome, e.Rule)
	case !e.Flagged("btg") || !e.Flagged("review") || e.Flagged("etreat"):
		t.Errorf("flags %v", e.Flags)
	case e.Patient != "05876600309" || e.HiddenNORS != 1:
		t.Errorf("patient %q hidden NORS %d", e.Patient, e.HiddenNORS)
	case len(e.RequestIDs) != 1 || e.RequestIDs[0] != "req-0001":
		t.Errorf("request ids %v", e.RequestIDs)
	}
	want := map[string]string{"2.16.578.1.12.4.1.7.1.1.1001": "returned", "2.16.578.1.12.4.1.7.1.1.1002": "refused", "2.16.578.1.12.4.1.7.1.1.1003": "hidden"}
	if len(e.Documents) != len(want) {
		t.Fatalf("documents %v, want %v", e.Documents, want)
	}
	for k, v := range want {
		if e.Documents[k] != v {
			t.Errorf("documents %v, want %v", e.Documents, want)
		}
	}
	if _, err := parseAuditEvent([]byte(`{"outcome": 4}`)); err == nil {
		t.Error("a malformed AuditEvent parsed")
	}
}

func TestWantAudit(t *testing.T) {
	ev := AuditEvent{Outcome: AuditDeny, Rule: "r", Documents: map[string]string{"1.2": "refused"}}
	for _, tc := range []struct {
		name   string
		events []AuditEvent
		want   AuditWant
		ok     bool
	}{
		{"match", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, Rule: "r", Documents: map[string]string{"1.2": "refused"}}, true},
		{"none", nil, AuditWant{Outcome: AuditDeny}, false},
		{"two", []AuditEvent{ev, ev}, AuditWant{Outcome: AuditDeny}, false},
		{"outcome", []AuditEvent{ev}, AuditWant{Outcome: AuditPermit}, false},
		{"rule", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, Rule: "x"}, false},
		{"documents", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, Documents: map[string]string{}}, false},
		{"disposition", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, Documents: map[string]string{"1.2": "returned"}}, false},
		{"flag missing", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, Flags: []string{"btg"}}, false},
		{"nors", []AuditEvent{ev}, AuditWant{Outcome: AuditDeny, HiddenNORS: 1}, false},
	} {
		if err := wantAudit(tc.name, tc.events, tc.want); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestWantErrors(t *testing.T) {
	e := func(code, ctx string) registry.Error { return registry.Errorf(code, "%s", ctx) }
	list := registry.ErrorList{e("A", "about 1.2.3"), registry.Warningf("W", "ignored")}
	if err := wantErrors("x", list, []string{"A"}, "1.2.3"); err != nil {
		t.Error(err)
	}
	for name, err := range map[string]error{
		"accepted":      wantErrors("x", registry.ErrorList{registry.Warningf("W", "w")}, []string{"A"}),
		"other code":    wantErrors("x", registry.ErrorList{e("A", ""), e("B", "")}, []string{"A"}),
		"missing code":  wantErrors("x", list, []string{"A", "C"}),
		"context named": wantErrors("x", list, []string{"A"}, "9.9"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestScenarioCatalogue(t *testing.T) {
	names := map[string]bool{}
	for _, s := range Scenarios() {
		if s.Name == "" || s.Transaction == "" || s.Run == nil {
			t.Fatalf("incomplete scenario %+v", s)
		}
		if names[s.Name] {
			t.Fatalf("scenario %s twice", s.Name)
		}
		names[s.Name] = true
	}
	if n := Count("ITI-42") + Count("ITI-18"); n < 40 {
		t.Errorf("%d ITI-42/ITI-18 scenarios, want at least 40", n)
	}
	for _, tx := range []string{"ITI-41", "ITI-43", "ITI-65", "ITI-66", "ITI-67", "ITI-68", "AUDIT", "SECURITY"} {
		if Count(tx) == 0 {
			t.Errorf("no %s scenario", tx)
		}
	}
	if got := Select(regexp.MustCompile(`^ITI-43/`)); len(got) != Count("ITI-43") {
		t.Errorf("Select ^ITI-43/: %d, want %d", len(got), Count("ITI-43"))
	}
}
