package registry

import (
	"context"
	"fmt"
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
	// ITI-51 lists, the TF sample's status spelling, unknown parameters,
	// $MetadataLevel.
	f.Add(14, ParamDocumentEntryPatientID, "('15817510067^^^&2.16.578.1.12.4.1.4.1&ISO',\n '41234567890^^^&2.16.578.1.12.4.1.4.2&ISO')",
		ParamDocumentEntryStatus, "('urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Approved')")
	f.Add(15, ParamFolderCodeList, "('F1^^^1.2')", ParamFolderStatus, "('"+StatusDeprecated+"')")
	f.Add(0, "$XDSDocumentEntryPracticeSettingCodeScheme", "('x')", ParamMetadataLevel, "2")
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
		if p != nil {
			for _, w := range p.warnings {
				if w.Code != ErrCodeRegistryError || w.Severity != SeverityWarning || len(w.Context) > 300 {
					t.Fatalf("bad warning %+v", w)
				}
			}
		}
	})
}

// FuzzUpdateRequest feeds ITI-57 requests of arbitrary shape (ids, lids,
// association types, ends and slots) to the recognition of operations: it
// must never panic, and every problem it reports is a RegistryError with
// a code and a context.
func FuzzUpdateRequest(f *testing.F) {
	f.Add("SS", "Doc", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21", AssocHasMember, "SS", "Doc", SlotPreviousVersion, "1")
	f.Add("SS", "Doc", "Doc", AssocUpdateAvailabilityStatus, "SS", "urn:uuid:0b6cbb2e-2c9f-4b7a-9d55-6f1c8c0e4a21", SlotOriginalStatus, StatusApproved)
	f.Add("SS", "", "", AssocSubmitAssociation, "SS", "Doc", SlotNewStatus, "x")
	f.Add("", "urn:uuid:x", "lid", "urn:elga-bes:AssociationType:NonVersioningUpdate", "", "", SlotAssociationPropagation, "maybe")
	r := &Registry{valueSets: DefaultValueSets(), patients: NorwegianPatientIDs{AllowSynthetic: true}, maxResults: DefaultMaxResults}
	n := 0
	r.newUUID = func() string { n++; return fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n) }
	f.Fuzz(func(t *testing.T, ssID, docID, lid, typ, src, dst, slot, value string) {
		sub := SampleSubmission(SampleOptions{Seq: 1})
		sub.SubmissionSet.ID = ssID
		d := sub.Documents[0]
		d.ID, d.LogicalID = docID, lid
		sub.Associations = []*Association{
			{ID: "a1", Type: AssocHasMember, Source: ssID, Target: docID, Extra: []Slot{{Name: SlotPreviousVersion, Values: []string{"1"}}}},
			{ID: "a2", Type: typ, Source: src, Target: dst, Extra: []Slot{{Name: slot, Values: []string{value}}}},
			{ID: dst, Type: AssocHasMember, Source: src, Target: docID},
		}
		u, err := r.newUpdate(context.Background(), sub)
		if err != nil {
			t.Fatalf("internal error: %v", err)
		}
		for _, e := range u.base {
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
