package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/registry"
)

// pjd patients link / show / unlink against a --dev data folder: the
// links are made, shown and ended, and each change is in the audit log.
func TestPatientsCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--data", dir), &out, &errb); code != want {
			t.Fatalf("pjd %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	cli(0, "migrate")
	if _, err := audit.LoadOrCreateDevKey(dir); err != nil {
		t.Fatal(err)
	}
	dnr, fnr := registry.SyntheticDnr(31), registry.SyntheticFnr(31)
	if out := cli(0, "patients", "link", "--from", dnr, "--to", fnr, "--reason", "fikk fødselsnummer"); !strings.Contains(out, dnr+" is replaced by "+fnr) {
		t.Fatalf("link said %q", out)
	}
	if out := cli(2, "patients", "link", "--from", dnr, "--to", fnr); !strings.Contains(out, "already linked") {
		t.Fatalf("second link said %q", out)
	}
	out := cli(0, "patients", "show", dnr)
	if !strings.Contains(out, "current: "+fnr) || !strings.Contains(out, "fikk fødselsnummer") {
		t.Fatalf("show said %q", out)
	}
	if out := cli(0, "patients", "unlink", "--from", dnr); !strings.Contains(out, "no longer replaced") {
		t.Fatalf("unlink said %q", out)
	}
	if out := cli(0, "patients", "show", dnr); !strings.Contains(out, "current: "+dnr) {
		t.Fatalf("show after unlink said %q", out)
	}
	var page struct{ Records []audit.Record }
	if err := json.Unmarshal([]byte(cli(0, "audit", "search", "--patient", dnr, "--format", "json")), &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Records {
		if r.Transaction == audit.TxITI104 {
			got = append(got, string(r.Action)+"/"+string(r.Outcome))
		}
	}
	// Newest first: the unlink, the refused second link, the link.
	if want := "update/permit create/error create/permit create/permit"; strings.Join(got, " ") != want {
		t.Fatalf("ITI-104 records %v, want %s", got, want)
	}
}
