package mhd

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"pjd/gateway/fhir"
	"testing"
	"time"
)

// checkErr asserts the error contract: nil, or an *Error with a 4xx status
// and at least one issue.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var me *fhir.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if me.Status < 400 || me.Status > 499 || len(me.Outcome.Issue) == 0 {
		t.Fatalf("bad *Error %+v", me)
	}
	if _, err := json.Marshal(me.Outcome); err != nil {
		t.Fatal(err)
	}
}

// fuzzRequest makes a search request of a fuzzed query and
// nhn-patient-nin header; ok is false for a query that does not parse.
func fuzzRequest(query, nin string) (url.Values, http.Header, bool) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, false
	}
	h := http.Header{}
	if nin != "" {
		h.Set(HeaderPatientNIN, nin)
	}
	return q, h, true
}

func FuzzParseDocumentSearch(f *testing.F) {
	for _, r := range documentRejections {
		f.Add(r.query, "")
	}
	for _, q := range []string{
		pidKari + "&date=ge2024-01&period=lt2024-03-15T10:00:00%2B01:00&author.family:exact=Lege&category=A00-1,urn:oid:1.2|",
		"related:identifier=urn:oid:1.2|x&identifier=urn:oid:1.2.3&_count=0",
		"date=gt9999&date=lt0001", "date=sa9999-12-31T23:59:59Z", `type=\,\|\$\\`,
	} {
		f.Add(q, fnrKari)
	}
	pager, _ := NewPager(testKey, func() time.Time { return fixedNow }, 0)
	f.Fuzz(func(t *testing.T, query, nin string) {
		q, h, ok := fuzzRequest(query, nin)
		if !ok {
			return
		}
		s, err := ParseDocumentSearch(q, h)
		checkErr(t, err)
		if err != nil {
			return
		}
		if err := s.Resume(pager); err != nil {
			checkErr(t, err)
			return
		}
		filter, err := s.Filter()
		if err != nil || filter.PatientID == "" || filter.PatientID != s.Patient.CX() {
			t.Fatalf("resumed search without its patient: %+v %v", filter, err)
		}
		if s.Count < 0 || s.Count > MaxCount {
			t.Fatalf("count %d", s.Count)
		}
		s.Match(fullEntry())
		s.Links(pager, "https://x", 10)
	})
}

func FuzzParseListSearch(f *testing.F) {
	f.Add(pidKari+"&code=folder&date=ge2024&designationType=A00-1", "")
	f.Add("code=submissionset&source.given:contains=a", fnrKari)
	f.Fuzz(func(t *testing.T, query, nin string) {
		q, h, ok := fuzzRequest(query, nin)
		if !ok {
			return
		}
		s, err := ParseListSearch(q, h)
		checkErr(t, err)
		if err == nil {
			ss, f := folderAndSet()
			s.MatchSubmissionSet(ss)
			s.MatchFolder(f)
		}
	})
}

func FuzzParseProvideBundle(f *testing.F) {
	f.Add(readProvide(f, "iti65_norwegian.json"))
	f.Add(readProvide(f, "ipf_test.json"))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"a","resource":{"resourceType":"List","code":{"coding":[{"code":"submissionset"}]},"subject":{"identifier":{"system":"urn:oid:1.2","value":"x"}}},"request":{"method":"POST","url":"List"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Bundle"}}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseProvideBundle(bytes.NewReader(body), 1<<20)
		if err != nil {
			var me *fhir.Error
			if !errors.As(err, &me) || me.Status < 400 || me.Status > 499 || len(me.Outcome.Issue) == 0 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if p.Submission.SubmissionSet == nil {
			t.Fatal("accepted without a SubmissionSet")
		}
		if len(p.Documents) != len(p.Submission.Documents) {
			t.Fatalf("%d documents for %d entries", len(p.Documents), len(p.Submission.Documents))
		}
		for _, d := range p.Submission.Documents {
			if d.PatientID != p.Submission.SubmissionSet.PatientID {
				t.Fatal("patients differ")
			}
		}
		ProvideResponse(p, nil, RenderOptions{})
	})
}
