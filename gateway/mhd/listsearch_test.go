package mhd

import (
	"net/url"
	"reflect"
	"testing"

	"pjd/gateway/fhir"
	"pjd/registry"
	"pjd/registry/oid"
)

func TestParseListSearchFilters(t *testing.T) {
	for _, c := range []struct {
		name    string
		query   string
		ss      *registry.SubmissionSetFilter
		folders *registry.FolderFilter
	}{
		{"both kinds by default", pidKari,
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved}},
		{"submissionset", pidKari + "&code=submissionset", &registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved}, nil},
		{"folder with system", pidKari + "&code=" + url.QueryEscape(SystemListTypes+"|folder"), nil, &registry.FolderFilter{PatientID: patientKari, Statuses: approved}},
		{"code OR", pidKari + "&code=folder,submissionset",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved}},
		{"code AND of different kinds: nothing", pidKari + "&code=folder&code=submissionset", nil, nil},
		{"status retired (List word)", pidKari + "&code=folder&status=retired", nil, &registry.FolderFilter{PatientID: patientKari, Statuses: []string{registry.StatusDeprecated}}},
		{"date", pidKari + "&date=ge2024-03-15&date=lt2024-03-16",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved, SubmissionTime: registry.TimeRange{From: "20240315000000", To: "20240316000000"}},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved, LastUpdateTime: registry.TimeRange{From: "20240315000000", To: "20240316000000"}}},
		{"designationType", pidKari + "&designationType=urn:oid:2.16.578.1.12.4.1.1.9602|A00-1",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved, ContentTypes: registry.CodeSet{{Code: "A00-1", Scheme: oid.Volven9602}}},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved, Codes: []registry.CodeSet{{{Code: "A00-1", Scheme: oid.Volven9602}}}}},
		{"sourceId (ignored for folders)", pidKari + "&sourceId=urn:oid:2.16.578.1.12.4.1.7.4.1",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved, SourceIDs: []string{"2.16.578.1.12.4.1.7.4.1"}},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved}},
		{"source names :exact", pidKari + "&code=submissionset&source.family:exact=Lege&source.given:exact=Lise",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved, AuthorPersons: []string{"%^Lege^Lise^%"}}, nil},
		{"identifier", pidKari + "&identifier=urn:ietf:rfc:3986|urn:oid:2.16.578.1.12.4.1.7.2.3.7",
			&registry.SubmissionSetFilter{PatientID: patientKari, Statuses: approved, UniqueIDs: []string{"2.16.578.1.12.4.1.7.2.3.7"}},
			&registry.FolderFilter{PatientID: patientKari, Statuses: approved, UniqueIDs: []string{"2.16.578.1.12.4.1.7.2.3.7"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseListSearch(parseQuery(t, c.query), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Resume(testPager(t, nil)); err != nil {
				t.Fatal(err)
			}
			ss, okSS, err := s.SubmissionSetFilter()
			if err != nil {
				t.Fatal(err)
			}
			f, okF, _ := s.FolderFilter()
			if okSS != (c.ss != nil) || (okSS && !reflect.DeepEqual(ss, *c.ss)) {
				t.Errorf("submission set filter %v %#v, want %#v", okSS, ss, c.ss)
			}
			if okF != (c.folders != nil) || (okF && !reflect.DeepEqual(f, *c.folders)) {
				t.Errorf("folder filter %v %#v, want %#v", okF, f, c.folders)
			}
		})
	}
}

func TestParseListSearchRejects(t *testing.T) {
	testRejections(t, []rejection{
		{"no patient", "code=folder", nil, 400, fhir.IssueRequired, "patient.identifier"},
		{"unknown code", pidKari + "&code=manifest", nil, 400, fhir.IssueValue, "code"},
		{"code other system", pidKari + "&code=http://loinc.org|folder", nil, 400, fhir.IssueValue, "code"},
		{"code modifier", pidKari + "&code:not=folder", nil, 400, fhir.IssueNotSupported, "code:not"},
		{"status unknown", pidKari + "&status=pending", nil, 400, fhir.IssueValue, "status"},
		{"date malformed", pidKari + "&date=2024-3-1", nil, 400, fhir.IssueValue, "date"},
		{"designationType empty", pidKari + "&designationType=", nil, 400, fhir.IssueValue, "designationType"},
		{"source modifier", pidKari + "&source.given:below=x", nil, 400, fhir.IssueNotSupported, "source.given:below"},
		{"unknown parameter", pidKari + "&title=x", nil, 400, fhir.IssueNotSupported, "title"},
		{"identifier other system", pidKari + "&identifier=http://x|1", nil, 400, fhir.IssueValue, "identifier"},
		{"_count", pidKari + "&_count=x", nil, 400, fhir.IssueValue, "_count"},
		{"patient reference", "patient=Patient/1", nil, 400, fhir.IssueNotSupported, "patient"},
	}, ParseListSearch)
}

func TestListSearchMatch(t *testing.T) {
	ss, f := folderAndSet()
	for _, c := range []struct {
		query     string
		ss, fold  bool
		otherKind bool
	}{
		{"", true, false, false}, // the folder is Deprecated
		{"status=current,superseded", true, true, false},
		{"code=folder&status=retired", false, true, false},
		{"code=submissionset&status=retired", false, false, false},
		{"status=retired,current&date=2024-03-15", true, false, false},
		{"status=retired,current&date=2024-03-16", false, true, false},
		{"status=retired,current&designationType=urn:oid:2.16.578.1.12.4.1.1.9602|E00-1", false, true, false},
		{"status=retired,current&designationType=urn:oid:2.16.578.1.12.4.1.1.9602|A00-1&designationType=E00-1", false, true, false},
		{"status=retired,current&designationType=A00-1", true, true, false},
		{"status=retired,current&sourceId=urn:oid:2.16.578.1.12.4.1.7.4.1", true, true, false},
		{"status=retired,current&sourceId=urn:oid:1.2.3", false, true, false},
		{"status=retired,current&source.family=LEG", true, true, false},
		{"status=retired,current&source.given=frida", false, true, false},
		{"status=retired,current&identifier=urn:oid:2.16.578.1.12.4.1.7.2.3.7", false, true, false},
		{"status=retired,current&identifier=urn:uuid:5e1f0000-0000-4000-8000-000000000001", true, false, false},
	} {
		s, err := ParseListSearch(parseQuery(t, c.query), header(fnrKari))
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if got := s.MatchSubmissionSet(ss); got != c.ss {
			t.Errorf("%q: MatchSubmissionSet = %v", c.query, got)
		}
		if got := s.MatchFolder(f); got != c.fold {
			t.Errorf("%q: MatchFolder = %v", c.query, got)
		}
	}
	s, _ := ParseListSearch(nil, header(fnrOla))
	if s.MatchSubmissionSet(ss) {
		t.Error("another patient's submission set matched")
	}
	s, _ = ParseListSearch(url.Values{"_page": {"x"}}, nil)
	if _, _, err := s.SubmissionSetFilter(); err == nil {
		t.Error("filter without a patient")
	}
	if _, _, err := s.FolderFilter(); err == nil {
		t.Error("filter without a patient")
	}
}

func TestParseRetrieveQuery(t *testing.T) {
	for _, c := range []rejection{
		{"missing uniqueId", "repositoryUniqueId=1.2.3", nil, 400, fhir.IssueRequired, "uniqueId"},
		{"missing repository", "uniqueId=1.2.3", nil, 400, fhir.IssueRequired, "repositoryUniqueId"},
		{"repository not an OID", "repositoryUniqueId=abc&uniqueId=1.2", nil, 400, fhir.IssueValue, "repositoryUniqueId"},
		{"uniqueId with a space", "repositoryUniqueId=1.2.3&uniqueId=1.2%203", nil, 400, fhir.IssueValue, "uniqueId"},
		{"uniqueId too long", "repositoryUniqueId=1.2.3&uniqueId=" + longID, nil, 400, fhir.IssueValue, "uniqueId"},
		{"repeated", "repositoryUniqueId=1.2.3&uniqueId=1&uniqueId=2", nil, 400, fhir.IssueValue, "uniqueId"},
		{"unknown parameter", "repositoryUniqueId=1.2.3&uniqueId=1&homeCommunityId=urn:oid:1.2", nil, 400, fhir.IssueNotSupported, "homeCommunityId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseRetrieveQuery(parseQuery(t, c.query))
			if err == nil {
				t.Fatal("accepted")
			}
			checkRejection(t, c, err)
		})
	}
	repo, uid, err := ParseRetrieveQuery(url.Values{"repositoryUniqueId": {"2.16.578.1.12.4.1.7.3.1"}, "uniqueId": {"1.2.3^x"}})
	if err != nil || repo != "2.16.578.1.12.4.1.7.3.1" || uid != "1.2.3^x" {
		t.Errorf("%q %q %v", repo, uid, err)
	}
}

var longID = func() string {
	b := make([]byte, 129)
	for i := range b {
		b[i] = '1'
	}
	return string(b)
}()

func TestDocumentETag(t *testing.T) {
	if got := DocumentETag("0A4D55A8D778E5022FAB701977C5D840BBC486D0"); got != `"sha1-0a4d55a8d778e5022fab701977c5d840bbc486d0"` {
		t.Errorf("etag %s", got)
	}
	for _, bad := range []string{"", "0a4d", "0a4d55a8d778e5022fab701977c5d840bbc486dz"} {
		if DocumentETag(bad) != "" {
			t.Errorf("etag for %q", bad)
		}
	}
}
