package audit_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
)

var (
	compliance = audit.Viewer{Kind: audit.ViewerCompliance, PID: audittest.OfficerPID, Name: "Kontroll Kari"}
	citizenA   = audit.Viewer{Kind: audit.ViewerCitizen, PID: audittest.PatientA, Name: "Pasient A"}
)

func oslo(y int, m time.Month, d, h, min int) time.Time {
	loc, _ := time.LoadLocation("Europe/Oslo")
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func TestParseSearchAccepts(t *testing.T) {
	docTx := audit.DocumentTransactions
	cases := []struct {
		name  string
		query string
		v     audit.Viewer
		want  audit.Filter
	}{
		{"nothing", "", compliance, audit.Filter{}},
		{"patient bare", "patient=" + audittest.PatientA, compliance, audit.Filter{PatientID: audittest.PatientA}},
		{"patient with system", "patient=urn:oid:2.16.578.1.12.4.1.4.1|" + audittest.PatientA, compliance, audit.Filter{PatientID: audittest.PatientA}},
		{"patient with bare oid system", "patient=2.16.578.1.12.4.1.4.1|" + audittest.PatientA, compliance, audit.Filter{PatientID: audittest.PatientA}},
		{"agent hpr bare", "agent=9144897", compliance, audit.Filter{AgentHPR: "9144897"}},
		{"agent hpr system", "agent=urn:oid:2.16.578.1.12.4.1.4.4|9144897", compliance, audit.Filter{AgentHPR: "9144897"}},
		{"agent fnr", "agent=" + audittest.DoctorPID, compliance, audit.Filter{AgentPID: audittest.DoctorPID}},
		{"entity-id", "entity-id=2.16.578.1.12.4.1.7.1.1.1001", compliance, audit.Filter{EntityID: "2.16.578.1.12.4.1.7.1.1.1001"}},
		{"entity-id urn:oid with system", "entity-id=urn:ietf:rfc:3986|urn:oid:1.2.3", compliance, audit.Filter{EntityID: "1.2.3"}},
		{"date day is an Oslo day", "date=2024-03-19", compliance, audit.Filter{From: oslo(2024, 3, 19, 0, 0), To: oslo(2024, 3, 20, 0, 0)}},
		{"date month", "date=2024-02", compliance, audit.Filter{From: oslo(2024, 2, 1, 0, 0), To: oslo(2024, 3, 1, 0, 0)}},
		{"date year", "date=2024", compliance, audit.Filter{From: oslo(2024, 1, 1, 0, 0), To: oslo(2025, 1, 1, 0, 0)}},
		{"date ge le", "date=ge2024-03-01&date=le2024-03-31", compliance, audit.Filter{From: oslo(2024, 3, 1, 0, 0), To: oslo(2024, 4, 1, 0, 0)}},
		{"date gt lt", "date=gt2024-03-01&date=lt2024-03-31", compliance, audit.Filter{From: oslo(2024, 3, 2, 0, 0), To: oslo(2024, 3, 31, 0, 0)}},
		{"date narrowest wins", "date=ge2024-01-01&date=ge2024-03-01&date=lt2024-06-01&date=lt2024-04-01", compliance, audit.Filter{From: oslo(2024, 3, 1, 0, 0), To: oslo(2024, 4, 1, 0, 0)}},
		{"dateTime seconds", "date=ge2024-03-19T06:45:00Z", compliance, audit.Filter{From: time.Date(2024, 3, 19, 6, 45, 0, 0, time.UTC)}},
		{"dateTime minutes eq", "date=2024-03-19T06:45Z", compliance, audit.Filter{From: time.Date(2024, 3, 19, 6, 45, 0, 0, time.UTC), To: time.Date(2024, 3, 19, 6, 46, 0, 0, time.UTC)}},
		{"dateTime offset ms", "date=le2024-03-19T07:45:00.123%2B01:00", compliance, audit.Filter{To: time.Date(2024, 3, 19, 6, 45, 0, 124000000, time.UTC)}},
		{"outcome codes", "outcome=4,8", compliance, audit.Filter{Outcomes: []audit.Outcome{audit.OutcomeDeny, audit.OutcomeError}}},
		{"outcome words", "outcome=permit", compliance, audit.Filter{Outcomes: []audit.Outcome{audit.OutcomePermit}}},
		{"outcome 12 matches nothing", "outcome=12", compliance, audit.Filter{Outcomes: []audit.Outcome{}}},
		{"purpose", "purpose=ETREAT,BTG", compliance, audit.Filter{PurposeCodes: []string{"ETREAT", "BTG"}}},
		{"purpose with system", "purpose=http://terminology.hl7.org/CodeSystem/v3-ActReason|TREAT", compliance, audit.Filter{PurposeCodes: []string{"TREAT"}}},
		{"flagged", "flagged=true", compliance, audit.Filter{FlaggedOnly: true}},
		{"subtype", "subtype=ITI-67,urn:ihe:event-type-code|ITI-68", compliance, audit.Filter{Transactions: []string{"ITI-67", "ITI-68"}}},
		{"paging", "_count=20&_cursor=981&_sort=date&_format=json", compliance, audit.Filter{Limit: 20, Cursor: 981, Ascending: true}},
		{"citizen gets own log of document accesses", "", citizenA, audit.Filter{PatientID: audittest.PatientA, Transactions: docTx}},
		{"citizen may name themselves", "patient=" + audittest.PatientA + "&agent=9144897", citizenA, audit.Filter{PatientID: audittest.PatientA, AgentHPR: "9144897", Transactions: docTx}},
		{"citizen subtype limited to document transactions", "subtype=ITI-68,AUDIT-SEARCH", citizenA, audit.Filter{PatientID: audittest.PatientA, Transactions: []string{"ITI-68"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := audit.ParseSearch(q, c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !got.From.Equal(c.want.From) || !got.To.Equal(c.want.To) {
				t.Fatalf("range [%v, %v), want [%v, %v)", got.From, got.To, c.want.From, c.want.To)
			}
			got.From, got.To, c.want.From, c.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestParseSearchRejects has one row per rejection; each names the
// parameter and the kind.
func TestParseSearchRejects(t *testing.T) {
	cases := []struct {
		name  string
		query string
		v     audit.Viewer
		param string
		kind  error
	}{
		{"unknown parameter", "foo=bar", compliance, "foo", audit.ErrBadParameter},
		{"modifier", "patient:identifier=" + audittest.PatientA, compliance, "patient:identifier", audit.ErrBadParameter},
		{"empty value", "patient=", compliance, "patient", audit.ErrBadParameter},
		{"patient twice", "patient=" + audittest.PatientA + "&patient=" + audittest.PatientB, compliance, "patient", audit.ErrBadParameter},
		{"patient too short", "patient=1234", compliance, "patient", audit.ErrBadParameter},
		{"patient letters", "patient=0507660032x", compliance, "patient", audit.ErrBadParameter},
		{"patient wrong system", "patient=urn:oid:2.16.578.1.12.4.1.4.4|" + audittest.PatientA, compliance, "patient", audit.ErrBadParameter},
		{"patient sql", "patient=' OR 1=1 --", compliance, "patient", audit.ErrBadParameter},
		{"agent neither", "agent=abc", compliance, "agent", audit.ErrBadParameter},
		{"agent hpr too long", "agent=urn:oid:2.16.578.1.12.4.1.4.4|12345678901", compliance, "agent", audit.ErrBadParameter},
		{"agent fnr system short", "agent=urn:oid:2.16.578.1.12.4.1.4.1|123", compliance, "agent", audit.ErrBadParameter},
		{"agent unknown system", "agent=urn:x|123", compliance, "agent", audit.ErrBadParameter},
		{"entity-id too long", "entity-id=" + strings.Repeat("1", 300), compliance, "entity-id", audit.ErrBadParameter},
		{"date garbage", "date=yesterday", compliance, "date", audit.ErrBadParameter},
		{"date bad month", "date=2024-13-01", compliance, "date", audit.ErrBadParameter},
		{"date time without zone", "date=2024-03-19T06:45:00", compliance, "date", audit.ErrBadParameter},
		{"date with unescaped plus", "date=2024-03-19T06:45:00+01:00", compliance, "date", audit.ErrBadParameter},
		{"date unsupported prefix", "date=ne2024-03-19", compliance, "date", audit.ErrBadParameter},
		{"date approximate prefix", "date=ap2024", compliance, "date", audit.ErrBadParameter},
		{"outcome unknown", "outcome=2", compliance, "outcome", audit.ErrBadParameter},
		{"purpose wrong system", "purpose=urn:oid:2.16.578.1.12.4.1.1.9151|15", compliance, "purpose", audit.ErrBadParameter},
		{"purpose bad code", "purpose=TREAT%3BDROP", compliance, "purpose", audit.ErrBadParameter},
		{"flagged not bool", "flagged=yes please", compliance, "flagged", audit.ErrBadParameter},
		{"subtype bad", "subtype=iti 67", compliance, "subtype", audit.ErrBadParameter},
		{"subtype wrong system", "subtype=http://x|ITI-67", compliance, "subtype", audit.ErrBadParameter},
		{"count zero", "_count=0", compliance, "_count", audit.ErrBadParameter},
		{"count too big", "_count=100000", compliance, "_count", audit.ErrBadParameter},
		{"count not a number", "_count=ten", compliance, "_count", audit.ErrBadParameter},
		{"cursor negative", "_cursor=-5", compliance, "_cursor", audit.ErrBadParameter},
		{"sort other", "_sort=patient", compliance, "_sort", audit.ErrBadParameter},
		{"format xml", "_format=xml", compliance, "_format", audit.ErrBadParameter},
		{"citizen asks for another patient", "patient=" + audittest.PatientB, citizenA, "patient", audit.ErrForbidden},
		{"citizen searches agent by F-nr", "agent=" + audittest.DoctorPID, citizenA, "agent", audit.ErrForbidden},
		{"citizen without identity", "", audit.Viewer{Kind: audit.ViewerCitizen}, "patient", audit.ErrForbidden},
		{"no viewer kind", "", audit.Viewer{}, "", audit.ErrForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = audit.ParseSearch(q, c.v)
			var pe *audit.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParamError", err)
			}
			if pe.Param != c.param || !errors.Is(err, c.kind) {
				t.Fatalf("got %v (param %q); want param %q, kind %v", err, pe.Param, c.param, c.kind)
			}
			if c.param != "" && !strings.Contains(err.Error(), `"`+c.param+`"`) {
				t.Fatalf("message %q does not name the parameter", err)
			}
		})
	}
}

func TestBundleLinks(t *testing.T) {
	q := url.Values{"patient": {audittest.PatientA}, "_count": {"2"}}
	recs := []audit.Record{sealedFull(t), sealedFull(t)}
	recs[1].ID = "00000000-0000-4000-8000-000000000002"
	b, _ := json.Marshal(audit.Bundle("https://pjd.test/fhir/R4/", q, audit.Page{Records: recs, Next: 5}, audit.View{}))
	var m struct {
		ResourceType, Type string
		Link               []struct{ Relation, URL string }
		Entry              []struct {
			FullURL  string
			Resource struct{ ResourceType, ID string }
			Search   struct{ Mode string }
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.ResourceType != "Bundle" || m.Type != "searchset" || len(m.Entry) != 2 {
		t.Fatalf("bundle %s", b)
	}
	if m.Link[0].Relation != "self" || m.Link[0].URL != "https://pjd.test/fhir/R4/AuditEvent?_count=2&patient="+audittest.PatientA {
		t.Errorf("self link %+v", m.Link[0])
	}
	if len(m.Link) != 2 || m.Link[1].Relation != "next" || m.Link[1].URL != "https://pjd.test/fhir/R4/AuditEvent?_count=2&_cursor=5&patient="+audittest.PatientA {
		t.Errorf("next link %+v", m.Link)
	}
	if m.Entry[1].FullURL != "https://pjd.test/fhir/R4/AuditEvent/"+recs[1].ID || m.Entry[1].Resource.ResourceType != "AuditEvent" || m.Entry[1].Search.Mode != "match" {
		t.Errorf("entry %+v", m.Entry[1])
	}
	last, _ := json.Marshal(audit.Bundle("https://pjd.test/fhir/R4", q, audit.Page{}, audit.View{}))
	if strings.Contains(string(last), `"next"`) || strings.Contains(string(last), `"entry"`) {
		t.Errorf("empty last page: %s", last)
	}
}

// FuzzParseSearch: whatever the query string, ParseSearch returns a
// filter or a ParamError — never a panic or another error — and a
// citizen's filter is always confined to their own log.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"", "patient=" + audittest.PatientA, "date=ge2024-03-01&date=lt2024-04-01T00:00:00.5+02:00",
		"agent=urn:oid:2.16.578.1.12.4.1.4.4|9144897&outcome=0,4", "purpose=BTG&flagged=true&_count=5&_cursor=9",
		"subtype=ITI-67&_sort=date", "date=2024-02-30", "date=gt9999-12-31T23:59:59.999999999Z", "entity-id=%00",
		"patient=" + audittest.PatientB + "&agent=" + audittest.DoctorPID,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, asCitizen bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		v := compliance
		if asCitizen {
			v = citizenA
		}
		flt, err := audit.ParseSearch(q, v)
		if err != nil {
			var pe *audit.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParamError", err)
			}
			return
		}
		if asCitizen && (flt.PatientID != audittest.PatientA || flt.AgentPID != "") {
			t.Fatalf("citizen filter escaped their log: %+v", flt)
		}
		if flt.PageSize() < 1 || flt.PageSize() > audit.MaxLimit {
			t.Fatalf("page size %d", flt.PageSize())
		}
	})
}
