package sqlstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"pjd/registry"
)

func TestNormDTM(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"2024", "20240000000000", true},
		{"202401", "20240100000000", true},
		{"20240105", "20240105000000", true},
		{"2024010508", "20240105080000", true},
		{"202401050815", "20240105081500", true},
		{"20240105081530", "20240105081530", true},
		{"20240105081530.1234", "20240105081530", true},
		{"20240105081530+0100", "20240105081530", true},
		{"202401050815301", "20240105081530", true},
		{"", "", false},
		{"x2024", "", false},
		{"2024-01-05", "20240000000000", true}, // stored values are kept lenient; bounds are not
	} {
		got, ok := NormDTM(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormDTM(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestDTMBound(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" = rejected
	}{
		{"2024", "20240000000000"},
		{"20240105", "20240105000000"},
		{"20240105081530", "20240105081530"},
		{"20240105081530.5", "20240105081530"},
		{"20240105081530.1234+0100", "20240105081530"},
		{"202401050815-0500", "20240105081500"},
		{"", ""},
		{"202", ""},
		{"20240", ""},
		{"2024010508153012", ""},
		{"2024-01-05", ""},
		{"20240105T0815", ""},
		{"2024010508.5", ""}, // fraction only after seconds
		{"20240105081530.12345", ""},
		{"20240105+01", ""},
		{"abc", ""},
		{"2024 ", ""},
	} {
		got, err := dtmBound(c.in)
		switch {
		case c.want == "" && !errors.Is(err, ErrInvalid):
			t.Errorf("dtmBound(%q) = %q, %v; want ErrInvalid", c.in, got, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("dtmBound(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCheckStrings(t *testing.T) {
	d := &registry.DocumentEntry{ID: "x", Authors: []registry.Author{{Institutions: []string{"ok", "b\x00d"}}}}
	err := CheckStrings("DocumentEntry", d)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "DocumentEntry.Authors[0].Institutions[1]") {
		t.Errorf("got %v, want ErrInvalid naming DocumentEntry.Authors[0].Institutions[1]", err)
	}
	d.Authors[0].Institutions[1] = "æøå"
	d.Events = []registry.Code{{Code: "\xe6"}}
	if err := CheckStrings("DocumentEntry", d); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Events[0].Code") {
		t.Errorf("got %v, want ErrInvalid naming Events[0].Code", err)
	}
	d.Events = nil
	if err := CheckStrings("DocumentEntry", d); err != nil {
		t.Errorf("valid entry refused: %v", err)
	}
}

// TestValuesAreParameters builds every query with every filter field set
// to a distinct marker and checks that no marker reaches the SQL text:
// values travel only as arguments.
func TestValuesAreParameters(t *testing.T) {
	n := 0
	marker := func() string { n++; return fmt.Sprintf("'mark%03d", n) }
	fill := func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch f.Interface().(type) {
			case string:
				f.SetString(marker())
			case []string:
				f.Set(reflect.ValueOf([]string{marker(), marker()}))
			case registry.CodeSet:
				f.Set(reflect.ValueOf(registry.CodeSet{{Code: marker(), Scheme: marker()}, {Code: marker()}}))
			case []registry.CodeSet:
				f.Set(reflect.ValueOf([]registry.CodeSet{{{Code: marker(), Scheme: marker()}}, {{Code: marker()}}}))
			case registry.TimeRange:
				f.Set(reflect.ValueOf(registry.TimeRange{From: "2024", To: "2025"}))
			case int:
				f.SetInt(7)
			case bool:
				f.SetBool(true)
			default:
				t.Fatalf("filter field %s of type %s not covered", v.Type().Field(i).Name, f.Type())
			}
		}
	}
	for _, d := range []*Dialect{testDialect("$"), testDialect("?")} {
		var df registry.DocumentFilter
		var sf registry.SubmissionSetFilter
		var ff registry.FolderFilter
		var af registry.AssociationFilter
		for _, f := range []any{&df, &sf, &ff, &af} {
			fill(reflect.ValueOf(f).Elem())
		}
		check := func(name, q string, args []any, run bool, err error) {
			if err != nil || !run {
				t.Fatalf("%s: run %v, %v", name, run, err)
			}
			if strings.Contains(q, "mark") || strings.Contains(q, "2024") {
				t.Errorf("%s: a value reached the SQL text:\n%s", name, q)
			}
			if got, want := strings.Count(q, placeholderMark(d)), len(args); d.Placeholder(1) == "?" && got != want {
				t.Errorf("%s: %d markers for %d arguments", name, got, want)
			}
		}
		q, args, run, err := DocumentQuery(d, &df)
		check("documents", q, args, run, err)
		q, args, run, err = SubmissionSetQuery(d, &sf)
		check("submission sets", q, args, run, err)
		q, args, run, err = FolderQuery(d, &ff)
		check("folders", q, args, run, err)
		q, args, run, err = AssociationQuery(d, &af)
		check("associations", q, args, run, err)
	}
}

func placeholderMark(d *Dialect) string { return d.Placeholder(1)[:1] }

// testDialect is a Dialect for building SQL text only.
func testDialect(mark string) *Dialect {
	return &Dialect{
		Name: "test",
		Placeholder: func(n int) string {
			if mark == "?" {
				return "?"
			}
			return fmt.Sprintf("$%d", n)
		},
		In:      func(col, ph string) string { return col + " IN (" + ph + ")" },
		ListArg: func(vs []string) any { return vs },
		Like:    func(col, ph string) string { return col + " LIKE " + ph },
		LikeArg: func(p string) string { return p },
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff(2*time.Millisecond, 100*time.Millisecond, func(n int64) int64 { return rand.Int64N(n) })
	prevMax := time.Duration(0)
	for attempt := 2; attempt <= 20; attempt++ {
		d := b(attempt)
		ceil := min(2*time.Millisecond<<(attempt-2), 100*time.Millisecond)
		if d < ceil/2 || d > ceil {
			t.Errorf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
		}
		if ceil < prevMax {
			t.Errorf("ceiling shrank at attempt %d", attempt)
		}
		prevMax = ceil
	}
	lo := Backoff(8*time.Millisecond, time.Second, func(int64) int64 { return 0 })(2)
	hi := Backoff(8*time.Millisecond, time.Second, func(n int64) int64 { return n - 1 })(2)
	if lo != 4*time.Millisecond || hi != 8*time.Millisecond {
		t.Errorf("jitter range [%v, %v], want [4ms, 8ms]", lo, hi)
	}
}

func TestSyntheticFnr(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 27, 28, 335, 336, 33599, 33600, 99_999, 100_000, 1_343_999} {
		f := SyntheticFnr(n)
		if len(f) != 11 {
			t.Fatalf("SyntheticFnr(%d) = %q", n, f)
		}
		if seen[f] {
			t.Errorf("SyntheticFnr(%d) = %s repeats", n, f)
		}
		seen[f] = true
		month := int(f[2]-'0')*10 + int(f[3]-'0')
		if month < 81 || month > 92 {
			t.Errorf("%s: month digits %d, want 81…92 (synthetic: month + 80)", f, month)
		}
		if id, ok := registry.NorwegianIDWithCheckDigits(f[:9]); !ok || id != f {
			t.Errorf("%s: check digits: want %q, %v", f, id, ok)
		}
	}
	all := map[string]bool{}
	for n := 0; n < 100_000; n++ {
		f := SyntheticFnr(n)
		if all[f] {
			t.Fatalf("SyntheticFnr(%d) = %s repeats", n, f)
		}
		all[f] = true
	}
	if got := SyntheticPatientID(3); got != SyntheticFnr(3)+"^^^&2.16.578.1.12.4.1.4.1&ISO" {
		t.Errorf("SyntheticPatientID(3) = %s", got)
	}
}
