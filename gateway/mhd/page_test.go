package mhd

import (
	"errors"
	"net/url"
	"pjd/gateway/fhir"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fixedNow is the pinned clock of the paging tests.
var fixedNow = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)

func testPager(t *testing.T, now *time.Time) *Pager {
	t.Helper()
	clk := func() time.Time { return fixedNow }
	if now != nil {
		clk = func() time.Time { return *now }
	}
	p, err := NewPager(testKey, clk, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPagerRejectsBadConfig(t *testing.T) {
	if _, err := NewPager([]byte("short"), time.Now, 0); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewPager(testKey, nil, 0); err == nil {
		t.Error("nil clock accepted")
	}
}

// nextQuery parses the query of a next link.
func nextQuery(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestPaging(t *testing.T) {
	now := fixedNow
	p := testPager(t, &now)
	s, err := ParseDocumentSearch(parseQuery(t, pidKari+"&_count=2&category=A00-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resume(p); err != nil {
		t.Fatal(err)
	}
	self, next := s.Links(p, "https://pjd.test.nhn.no", 5)
	if strings.Contains(self+next, fnrKari) || strings.Contains(self+next, "patient") {
		t.Errorf("links carry the patient: %s %s", self, next)
	}
	if from, to := s.PageBounds(5); from != 0 || to != 2 {
		t.Errorf("bounds %d %d", from, to)
	}

	// Follow next without the patient: the token carries it.
	q := nextQuery(t, next)
	s2, err := ParseDocumentSearch(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Filter(); !errors.Is(err, ErrPageNotResumed) {
		t.Fatalf("Filter before Resume = %v, want ErrPageNotResumed", err)
	}
	if s2.Match(fullEntry()) {
		t.Error("Match before Resume accepted an entry")
	}
	if err := s2.Resume(p); err != nil {
		t.Fatal(err)
	}
	f, err := s2.Filter()
	if err != nil || f.PatientID != patientKari || s2.Offset != 2 {
		t.Fatalf("resumed filter %+v offset %d err %v", f, s2.Offset, err)
	}
	_, next2 := s2.Links(p, "https://pjd.test.nhn.no", 5)
	s3, _ := ParseDocumentSearch(nextQuery(t, next2), header(fnrKari)) // with the same patient again
	if err := s3.Resume(p); err != nil || s3.Offset != 4 {
		t.Fatalf("third page: offset %d, %v", s3.Offset, err)
	}
	if from, to := s3.PageBounds(5); from != 4 || to != 5 {
		t.Errorf("last page bounds %d %d", from, to)
	}
	if _, last := s3.Links(p, "https://pjd.test.nhn.no", 5); last != "" {
		t.Errorf("next on the last page: %s", last)
	}

	for _, c := range []struct {
		name   string
		mutate func(q url.Values, h *string)
		code   string
	}{
		{"tampered token", func(q url.Values, h *string) {
			tok := []byte(q.Get("_page"))
			tok[len(tok)/2] ^= 1
			if tok[len(tok)/2] == '-' || tok[len(tok)/2] == '_' {
				tok[len(tok)/2] = 'A'
			}
			q.Set("_page", string(tok))
		}, fhir.IssueInvalid},
		{"not base64", func(q url.Values, h *string) { q.Set("_page", "!!!") }, fhir.IssueInvalid},
		{"truncated", func(q url.Values, h *string) { q.Set("_page", q.Get("_page")[:10]) }, fhir.IssueInvalid},
		{"other filter", func(q url.Values, h *string) { q.Set("category", "E00-1") }, fhir.IssueInvalid},
		{"other patient", func(q url.Values, h *string) { *h = fnrOla }, fhir.IssueInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := nextQuery(t, next)
			nin := ""
			c.mutate(q, &nin)
			s, err := ParseDocumentSearch(q, header(nin))
			if err != nil {
				t.Fatal(err)
			}
			checkRejection(t, rejection{status: 400, code: c.code, expr: "_page"}, s.Resume(p))
			if _, err := s.Filter(); err == nil {
				t.Error("Filter works after a failed Resume")
			}
		})
	}

	t.Run("other resource", func(t *testing.T) {
		ls, err := ParseListSearch(url.Values{"_page": {nextQuery(t, next).Get("_page")}, "_count": {"2"}, "category": {"A00-1"}}, nil)
		if err == nil {
			checkRejection(t, rejection{status: 400, code: fhir.IssueInvalid, expr: "_page"}, ls.Resume(p))
		}
	})
	t.Run("other key", func(t *testing.T) {
		other, _ := NewPager([]byte("fedcba9876543210fedcba9876543210"), func() time.Time { return now }, time.Hour)
		s, _ := ParseDocumentSearch(nextQuery(t, next), nil)
		checkRejection(t, rejection{status: 400, code: fhir.IssueInvalid, expr: "_page"}, s.Resume(other))
	})
	t.Run("expired", func(t *testing.T) {
		later := now.Add(time.Hour + time.Second)
		s, _ := ParseDocumentSearch(nextQuery(t, next), nil)
		checkRejection(t, rejection{status: 400, code: fhir.IssueExpired, expr: "_page"}, s.Resume(testPager(t, &later)))
	})
}

func TestPagingCountZero(t *testing.T) {
	p := testPager(t, nil)
	s, _ := ParseDocumentSearch(parseQuery(t, "_count=0"), header(fnrKari))
	if err := s.Resume(p); err != nil {
		t.Fatal(err)
	}
	if _, next := s.Links(p, "https://x", 10); next != "" {
		t.Errorf("_count=0 must not page: %s", next)
	}
	if from, to := s.PageBounds(10); from != 0 || to != 0 {
		t.Errorf("bounds %d %d", from, to)
	}
}
