package audit_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
)

func TestCSVExport(t *testing.T) {
	r := sealedFull(t)
	r.Reason = "=HYPERLINK(\"http://evil\",\"click\")"
	r.Actor.Name = "+47 Doctor, \"quoted\"\nnext line"
	r.UserAgent = "@SUM(1+1)"
	r.Query = "-2+3"
	var buf bytes.Buffer
	w := audit.NewCSVWriter(&buf, audit.View{})
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, strings.Join(audit.CSVColumns, ",")+"\r\n") || !strings.HasSuffix(out, "\r\n") {
		t.Errorf("want CRLF record ends (RFC 4180); got %q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180 CSV: %v", err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], audit.CSVColumns) {
		t.Fatalf("header %v", rows[0])
	}
	cell := func(col string) string { return rows[1][slices.Index(audit.CSVColumns, col)] }
	checks := map[string]string{
		"seq":                        "7",
		"id":                         r.ID,
		"time":                       "2024-03-19T06:45:00.123Z",
		"reason":                     "'" + r.Reason,
		"actor_name":                 "'" + r.Actor.Name,
		"user_agent":                 "'@SUM(1+1)",
		"query":                      "'-2+3",
		"actor_pid":                  audittest.DoctorPID,
		"flags":                      "btg;review",
		"documents_returned":         "2.16.578.1.12.4.1.7.1.1.1001",
		"documents_refused":          "2.16.578.1.12.4.1.7.1.1.1002",
		"documents_hidden":           "2.16.578.1.12.4.1.7.1.1.1003",
		"hidden_nors_count":          "1",
		"decision_ref_user_selected": "true",
		"purpose_of_use":             "BTG",
		"patient_id":                 audittest.PatientA,
		"hash":                       r.Hash,
	}
	for col, want := range checks {
		if got := cell(col); got != want {
			t.Errorf("%s = %q, want %q", col, got, want)
		}
	}
	for i, c := range rows[1] {
		if c != "" && strings.ContainsAny(c[:1], "=+-@\t\r") {
			t.Errorf("column %s starts with a formula character: %q", audit.CSVColumns[i], c)
		}
	}

	// The citizen view leaves out the health worker's F-nr and network details.
	buf.Reset()
	cw := audit.NewCSVWriter(&buf, audit.View{Audience: audit.ForCitizen})
	cw.Write(sealedFull(t))
	cw.Flush()
	if s := buf.String(); strings.Contains(s, audittest.DoctorPID) || strings.Contains(s, "192.0.2.10") || !strings.Contains(s, "August September") {
		t.Errorf("citizen CSV: %s", s)
	}

	// An empty export is just the header.
	buf.Reset()
	empty := audit.NewCSVWriter(&buf, audit.View{})
	empty.Flush()
	if got := buf.String(); got != strings.Join(audit.CSVColumns, ",")+"\r\n" {
		t.Errorf("empty export %q", got)
	}
}

func TestNDJSONExport(t *testing.T) {
	var buf bytes.Buffer
	w := audit.NewNDJSONWriter(&buf, audit.View{})
	a, b := sealedFull(t), sealedFull(t)
	b.ID = "00000000-0000-4000-8000-000000000002"
	w.Write(a)
	w.Write(b)
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	var ids []string
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m["resourceType"] != "AuditEvent" {
			t.Fatalf("line is %v", m["resourceType"])
		}
		ids = append(ids, m["id"].(string))
	}
	if !slices.Equal(ids, []string{a.ID, b.ID}) {
		t.Fatalf("ids %v", ids)
	}
}
