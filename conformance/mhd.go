package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"pjd/registry/oid"
	"strings"
)

// MHD client helpers: ITI-67/66 searches and ITI-68 reads with a
// credential, and what their answers hold.

const oidFnrURN = "urn:oid:" + oid.FNR

// Answer is an HTTP answer read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a Answer) String() string { return fmt.Sprintf("status %d: %s", a.Status, snippet(a.Body)) }

// patientQuery is the ITI-67/66 query naming patient.
func patientQuery(patient string, extra url.Values) url.Values {
	q := url.Values{"patient.identifier": {oidFnrURN + "|" + patient}}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// patientHeader is the nhn-patient-nin header naming patient.
func patientHeader(patient string) http.Header {
	if patient == "" {
		return nil
	}
	return http.Header{"Nhn-Patient-Nin": {patient}}
}

// MHDGet sends GET path with c (query q, patient in the nhn-patient-nin
// header when not "") and reads the answer.
func (t *T) MHDGet(ctx context.Context, c *http.Client, path string, q url.Values, patient string) (Answer, error) {
	resp, body, err := t.Get(ctx, c, path, q, patientHeader(patient))
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// SearchDocuments runs ITI-67 for patient with c.
func (t *T) SearchDocuments(ctx context.Context, c *http.Client, patient string, extra url.Values) (Answer, error) {
	return t.MHDGet(ctx, c, "/fhir/R4/DocumentReference", patientQuery(patient, extra), patient)
}

// DocRef is what the scenarios read of a DocumentReference.
type DocRef struct {
	UniqueID string
	URL      string
	Status   string
}

// SearchSet is a parsed searchset Bundle.
type SearchSet struct {
	Total    int
	DocRefs  []DocRef
	Lists    []string // List codes: submissionset, folder
	Security []string // Bundle.meta.security codes
}

func parseSearchSet(body []byte) (*SearchSet, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        *int   `json:"total"`
		Meta         *struct {
			Security []struct {
				Code string `json:"code"`
			} `json:"security"`
		} `json:"meta"`
		Entry []struct {
			Resource struct {
				ResourceType     string `json:"resourceType"`
				Status           string `json:"status"`
				MasterIdentifier *struct {
					Value string `json:"value"`
				} `json:"masterIdentifier"`
				Content []struct {
					Attachment struct {
						URL string `json:"url"`
					} `json:"attachment"`
				} `json:"content"`
				Code *struct {
					Coding []struct {
						Code string `json:"code"`
					} `json:"coding"`
				} `json:"code"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total == nil {
		return nil, fmt.Errorf("not a FHIR searchset Bundle with a total: %s", snippet(body))
	}
	s := &SearchSet{Total: *b.Total}
	if b.Meta != nil {
		for _, sc := range b.Meta.Security {
			s.Security = append(s.Security, sc.Code)
		}
	}
	for _, e := range b.Entry {
		r := e.Resource
		switch r.ResourceType {
		case "DocumentReference":
			d := DocRef{Status: r.Status}
			if r.MasterIdentifier != nil {
				d.UniqueID = strings.TrimPrefix(r.MasterIdentifier.Value, "urn:oid:")
			}
			if len(r.Content) > 0 {
				d.URL = r.Content[0].Attachment.URL
			}
			s.DocRefs = append(s.DocRefs, d)
		case "List":
			code := ""
			if r.Code != nil && len(r.Code.Coding) > 0 {
				code = r.Code.Coding[0].Code
			}
			s.Lists = append(s.Lists, code)
		}
	}
	return s, nil
}

// wantSearchSet checks a 200 searchset answer and returns it parsed.
func wantSearchSet(what string, a Answer) (*SearchSet, error) {
	if a.Status != http.StatusOK {
		return nil, fmt.Errorf("%s: %v, want 200", what, a)
	}
	s, err := parseSearchSet(a.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

func (s *SearchSet) uniqueIDs() []string {
	var out []string
	for _, d := range s.DocRefs {
		out = append(out, d.UniqueID)
	}
	return out
}

func (s *SearchSet) ref(uid string) *DocRef {
	for i := range s.DocRefs {
		if s.DocRefs[i].UniqueID == uid {
			return &s.DocRefs[i]
		}
	}
	return nil
}

// wantDocRefs checks the searchset holds exactly the documents uids.
func wantDocRefs(what string, s *SearchSet, uids ...string) error {
	if s.Total != len(uids) || len(s.DocRefs) != len(uids) {
		return fmt.Errorf("%s: total %d with %d DocumentReferences %v, want %d %v", what, s.Total, len(s.DocRefs), s.uniqueIDs(), len(uids), uids)
	}
	for _, u := range uids {
		if s.ref(u) == nil {
			return fmt.Errorf("%s: DocumentReferences %v lack %s", what, s.uniqueIDs(), u)
		}
	}
	return nil
}

// ReadDocument runs ITI-68 on the URL (an attachment URL of the target).
func (t *T) ReadDocument(ctx context.Context, c *http.Client, rawURL, patient string) (Answer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL(u.Path)+"?"+u.RawQuery, nil)
	if err != nil {
		return Answer{}, err
	}
	for k, v := range patientHeader(patient) {
		req.Header[k] = v
	}
	resp, body, err := t.do(c, req)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// retrieveURL is the ITI-68 URL of a document on the target.
func (t *T) retrieveURL(repositoryUniqueID, uniqueID string) string {
	return t.URL("/mhd/document?" + url.Values{"repositoryUniqueId": {repositoryUniqueID}, "uniqueId": {uniqueID}}.Encode())
}

// wantRefused checks a refusal: status in statuses, a FHIR
// OperationOutcome (or no body), and none of the secrets in the answer.
func wantRefused(what string, a Answer, secrets []string, statuses ...int) error {
	ok := false
	for _, s := range statuses {
		ok = ok || a.Status == s
	}
	if !ok {
		return fmt.Errorf("%s: %v, want status %v", what, a, statuses)
	}
	return wantNoSecrets(what, a, secrets)
}

func wantNoSecrets(what string, a Answer, secrets []string) error {
	for _, s := range secrets {
		if s != "" && (bytes.Contains(a.Body, []byte(s)) || strings.Contains(fmt.Sprint(a.Header), s)) {
			return fmt.Errorf("%s: the refusal reveals %q: %s", what, s, snippet(a.Body))
		}
	}
	if bytes.Contains(a.Body, []byte(`"DocumentReference"`)) || bytes.Contains(a.Body, []byte(`"resourceType":"List"`)) {
		return fmt.Errorf("%s: the refusal carries resources: %s", what, snippet(a.Body))
	}
	return nil
}
