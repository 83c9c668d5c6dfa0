package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pjd/cmd/pjd/internal/demo"
)

// pjd serve --dev runs two regional demo communities in the same process
// (make run shows federation out of the box): a search lists documents of
// three communities, a regional document reads through the national node,
// and the access is found by its event id on both sides.
func TestDevRegions(t *testing.T) {
	ds := devRegionsSearch(t)
	nat, data, tokFile, out, patient, dir := ds.p, ds.data, ds.tokFile, ds.out, ds.patient, t.TempDir()
	for _, want := range []string{devHomeCommunityID + " ", devRegions[0].id + " ", devRegions[1].id + " ", "(Helse Vest)", "(Helse Nord)"} {
		if !strings.Contains(out, want) {
			t.Errorf("search output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "kunne ikke hentes") {
		t.Errorf("a dev region was reported as failed:\n%s", out)
	}

	// A regional document read through the national node is the region's.
	nord := devRegions[1]
	m := regexp.MustCompile(`http://\S+homeCommunityId=` + regexp.QuoteMeta(strings.ReplaceAll(nord.id, ":", "%3A")) + `\S+uniqueId=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no attachment URL of a Helse Nord document in:\n%s", out)
	}
	got := filepath.Join(dir, "nord.bin")
	if _, err := runPJD(t, time.Minute, "mhd", "read", "--url", nat.URL, "--token-file", tokFile, "--patient", patient.ID, "--o", got, m[0]); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "nord-direct.bin")
	if _, err := runPJD(t, time.Minute, "get", "--url", nat.URL+nord.path(), m[1], "-o", want); err != nil {
		t.Fatal(err)
	}
	a, errA := os.ReadFile(got)
	b, errB := os.ReadFile(want)
	if errA != nil || errB != nil || len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("the document read through the national node (%d bytes, %v) is not Helse Nord's (%d bytes, %v)", len(a), errA, len(b), errB)
	}

	// One event id on both sides of the read.
	js, err := runPJD(t, time.Minute, "audit", "search", "--data", data, "--subtype", "ITI-68", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`"nhn_event_id":\s*"([^"]+)"`).FindStringSubmatch(js)
	if ids == nil {
		t.Fatalf("the national read has no event id: %s", js)
	}
	for _, side := range []struct{ data, tx string }{{data, "ITI-68"}, {filepath.Join(data, "regions", nord.slug), "ITI-39"}} {
		out, err := runPJD(t, time.Minute, "audit", "search", "--data", side.data, "--event-id", ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, side.tx) || !strings.Contains(out, "Frida Fastlege") {
			t.Errorf("%s: audit search --event-id %s found no %s by the health worker:\n%s", side.data, ids[1], side.tx, out)
		}
	}
}

// devSearch is a pjd serve --dev with its dev regions, and the result of
// one federated mhd search on it as the fastlege.
type devSearch struct {
	p       *pjdProcess
	data    string // the server's --data
	tokFile string // the fastlege's token
	patient demo.Patient
	out     string // the search's output
}

// devRegionsSearch starts pjd serve --dev with the dev regions and args,
// and runs one federated mhd search as the fastlege.
func devRegionsSearch(t *testing.T, args ...string) devSearch {
	t.Helper()
	ds := devSearch{data: t.TempDir(), tokFile: filepath.Join(t.TempDir(), "fastlege.json"), patient: demo.Patients()[0]}
	ds.p = startPJD(t, "dev", append([]string{"--dev", "--data", ds.data, "--dev-regions=true"}, args...)...)
	waitRegionsSeeded(t, ds.data)
	tok, err := runPJD(t, time.Minute, "token", "--url", ds.p.URL, "--persona", "fastlege", "--patient", ds.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ds.tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	ds.out, err = runPJD(t, time.Minute, "mhd", "search", "--url", ds.p.URL, "--token-file", ds.tokFile, "--patient", ds.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ds.out, "(Helse Vest)") || !strings.Contains(ds.out, "(Helse Nord)") {
		t.Fatalf("the search was not federated:\n%s", ds.out)
	}
	return ds
}

// Which servers run the dev regions, and a --community that takes a dev
// region's id is refused with the way out.
func TestDevRegionsWhen(t *testing.T) {
	all := listFlag{roleRegistry, roleRepository, roleGateway}
	for _, tc := range []struct {
		name string
		c    serveConfig
		want bool
	}{
		{"--dev", serveConfig{dev: true, devRegions: true, roles: all}, true},
		{"--dev-regions=false", serveConfig{dev: true, roles: all}, false},
		{"without --dev", serveConfig{devRegions: true, roles: all}, false},
		{"a region (--home-community-id)", serveConfig{dev: true, devRegions: true, roles: all, homeCommunityID: "urn:oid:2.999.578.3.1"}, false},
		{"without the gateway role", serveConfig{dev: true, devRegions: true, roles: listFlag{roleRegistry, roleRepository}}, false},
		{"HTTPS", serveConfig{dev: true, devRegions: true, roles: all, tlsCert: "cert.pem"}, false},
	} {
		if got := tc.c.runsDevRegions(); got != tc.want {
			t.Errorf("%s: runsDevRegions %v, want %v", tc.name, got, tc.want)
		}
	}
	c := serveConfig{dev: true, devRegions: true, roles: all}
	if err := c.addDevRegions("http://127.0.0.1:8080"); err != nil || len(c.federation.communities) != len(devRegions) ||
		c.federation.communities[0].URL != "http://127.0.0.1:8080/regions/vest/xca/responding" || c.federation.communities[1].Name != "Helse Nord" {
		t.Fatalf("addDevRegions: %v %+v", err, c.federation.communities)
	}
	err := c.addDevRegions("http://127.0.0.1:8080")
	if err == nil || !strings.Contains(err.Error(), "--dev-regions=false") {
		t.Fatalf("a community with a dev region's id: %v", err)
	}
}

// waitRegionsSeeded waits (bounded, 60 s) until the dev regions of the
// server on data are seeded: they are seeded after the national node,
// which starts serving first, and the child process can tell only by the
// last region's marker file.
func waitRegionsSeeded(t *testing.T, data string) {
	t.Helper()
	marker := filepath.Join(data, "regions", devRegions[len(devRegions)-1].slug, "demo-seeded")
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if i == 600 {
			t.Fatal("the dev regions were never seeded")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
