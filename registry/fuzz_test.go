package registry

import (
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for the parsers that read network input: stored-query
// parameter values, the HL7 v2 types, DTM and Norwegian ids. They must never
// panic, and what they accept must survive a format/parse round trip.

func FuzzSplitList(f *testing.F) {
	for _, s := range []string{
		`('a','b')`, "(\n 'x' ,\t'y''z'\n)", `'593603^^^&2.16.756.5.33.2.5.1.5.1&ISO''%20and%20611%3d611--%20`,
		`20221016161616`, `(1, 2)`, `('a'`, `()`, `('',)`, `'`, `''''`, `(a'b)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, _ = parseSingle(raw)
		items, err := splitList(raw)
		if err != nil {
			return
		}
		// Re-encoding the items as a quoted list gives them back.
		q := make([]string, len(items))
		for i, it := range items {
			q[i] = "'" + strings.ReplaceAll(it, "'", "''") + "'"
		}
		again, err := splitList("(" + strings.Join(q, ",") + ")")
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("items %q re-encoded parse to %q, %v", items, again, err)
		}
	})
}

func FuzzParseParams(f *testing.F) {
	f.Add(0, ParamDocumentEntryPatientID, "'15817510067^^^&2.16.578.1.12.4.1.4.1&ISO'", ParamDocumentEntryStatus, "('"+StatusApproved+"')")
	f.Add(1, ParamDocumentEntryEventCodeList, "('a^^^1.2','b^^1.3')", ParamDocumentEntryEventCodeList, "('c^^^1.4')")
	f.Add(5, ParamDocumentEntryEntryUUID, "('urn:uuid:a')", ParamDocumentEntryUniqueID, "'1.2'")
	f.Add(13, ParamDocumentEntryEntryUUID, "'urn:uuid:a'", ParamAssociationTypes, "('"+AssocReplace+"')")
	ids := make([]string, 0, len(storedQueries))
	for id := range storedQueries {
		ids = append(ids, id)
	}
	// Map iteration order is random; sort for a stable index.
	sortStrings(ids)
	f.Fuzz(func(t *testing.T, which int, n1, v1, n2, v2 string) {
		if which < 0 {
			which = -which
		}
		qs := storedQueries[ids[which%len(ids)]]
		q := &Query{ID: ids[which%len(ids)], ReturnType: ReturnLeafClass, Params: []Slot{{Name: n1, Values: []string{v1}}, {Name: n2, Values: []string{v2}}}}
		p, errs := parseParams(qs, q)
		if (p == nil) == (len(errs) == 0) {
			t.Fatalf("params %v with errors %v", p, errs)
		}
		for _, e := range errs {
			if e.Code == "" || e.Context == "" || e.Severity != SeverityError {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func FuzzHL7(f *testing.F) {
	for _, s := range []string{
		"15817510067^^^&2.16.578.1.12.4.1.4.1&ISO",
		"100000001^Testlege^Kari^^^^^^&2.16.578.1.12.4.1.4.4&ISO",
		"Syntetisk sykehus HF^^^^^&2.16.578.1.12.4.1.4.101&ISO^^^^991919198",
		"^NET^Internet^kari@example.no", `a\S\b\T\c\E\d\F\e\R\`, "^Nordmann&van^Ola", `\X0D\`, "&&&", "^^^^^^^^^^",
		"000000000^00000000^0000^^^^", // found by fuzzing: trailing empty CX.7+
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckPatientIDFormat(s)
		_ = CheckCXi(s)
		_ = CheckXCN(s)
		_ = CheckXON(s)
		_ = CheckXTN(s)
		if cx, err := ParseCX(s); err == nil {
			if back, err := ParseCX(cx.String()); err != nil || !reflect.DeepEqual(back, cx) {
				t.Fatalf("CX %q → %+v → %q → %+v, %v", s, cx, cx.String(), back, err)
			}
		}
		if x, err := ParseXCN(s); err == nil {
			if back, err := ParseXCN(x.String()); err != nil || !reflect.DeepEqual(back, x) {
				t.Fatalf("XCN %q → %+v → %q → %+v, %v", s, x, x.String(), back, err)
			}
		}
		if x, err := ParseXON(s); err == nil {
			if back, err := ParseXON(x.String()); err != nil || !reflect.DeepEqual(back, x) {
				t.Fatalf("XON %q → %+v → %q → %+v, %v", s, x, x.String(), back, err)
			}
		}
		if x, err := ParseXTN(s); err == nil {
			if back, err := ParseXTN(x.String()); err != nil || !reflect.DeepEqual(back, x) {
				t.Fatalf("XTN %q → %+v → %q → %+v, %v", s, x, x.String(), back, err)
			}
		}
	})
}

func FuzzDTMAndIDs(f *testing.F) {
	for _, s := range []string{"20240229", "19000229", "2024022913595", "15817510067", "29820010092", "01013350007", "41013950170"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseDTM(s); err == nil {
			norm, err := NormalizeDTM(s)
			if err != nil || len(norm) != 14 || !strings.HasPrefix(norm, s) {
				t.Fatalf("NormalizeDTM(%q) = %q, %v", s, norm, err)
			}
			if FormatDTM(tm)[:len(s)] != s {
				t.Fatalf("FormatDTM(ParseDTM(%q)) = %q", s, FormatDTM(tm))
			}
		}
		kind, err := ValidNorwegianID(s)
		if err == nil && kind != KindFnr && kind != KindDnr && kind != KindHnr {
			t.Fatalf("kind %q", kind)
		}
		if err == nil && len(s) != 11 {
			t.Fatalf("accepted %q", s)
		}
	})
}
