package audit

import "testing"

// Index.diff names the first stored column that differs from the one
// derived from the record: one row per column.
func TestIndexDiff(t *testing.T) {
	base := Index{ID: "r1", TimeMS: 1, Transaction: "ITI-67", Outcome: "permit", PatientID: "p", ActorPID: "a",
		ActorHPR: "h", PurposeCode: "TREAT", Flagged: false, EntityIDs: []string{"d1", "d2"}}
	for _, c := range []struct {
		want   string
		change func(x *Index)
	}{
		{"", func(*Index) {}},
		{"id", func(x *Index) { x.ID = "r2" }},
		{"time", func(x *Index) { x.TimeMS++ }},
		{"transaction", func(x *Index) { x.Transaction = "ITI-68" }},
		{"outcome", func(x *Index) { x.Outcome = "deny" }},
		{"patient_id", func(x *Index) { x.PatientID = "q" }},
		{"actor_pid", func(x *Index) { x.ActorPID = "b" }},
		{"actor_hpr", func(x *Index) { x.ActorHPR = "i" }},
		{"purpose_code", func(x *Index) { x.PurposeCode = "BTG" }},
		{"flagged", func(x *Index) { x.Flagged = true }},
		{"entity ids", func(x *Index) { x.EntityIDs = []string{"d1"} }},
		{"id", func(x *Index) { x.ID, x.Outcome = "r2", "deny" }}, // the first column that differs
	} {
		x := base
		x.EntityIDs = append([]string(nil), base.EntityIDs...)
		c.change(&x)
		if got := x.diff(base); got != c.want {
			t.Errorf("diff = %q, want %q", got, c.want)
		}
		if x.Equal(base) != (c.want == "") {
			t.Errorf("%q: Equal = %v", c.want, x.Equal(base))
		}
	}
}
