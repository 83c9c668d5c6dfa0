package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/gateway/fhir"
	"pjd/gateway/mhd"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

type fhirBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Meta         *struct {
		Security []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"security"`
	} `json:"meta"`
	Link []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Response *struct {
			Status   string `json:"status"`
			Location string `json:"location"`
		} `json:"response"`
	} `json:"entry"`
}

func (b *fhirBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

type docRef struct {
	ResourceType     string `json:"resourceType"`
	ID               string `json:"id"`
	MasterIdentifier struct {
		Value string `json:"value"`
	} `json:"masterIdentifier"`
	Content []struct {
		Attachment struct {
			URL         string `json:"url"`
			ContentType string `json:"contentType"`
		} `json:"attachment"`
	} `json:"content"`
	RelatesTo []json.RawMessage `json:"relatesTo"`
}

type fhirList struct {
	ResourceType string `json:"resourceType"`
	Code         struct {
		Coding []struct {
			Code string `json:"code"`
		} `json:"coding"`
	} `json:"code"`
	Entry []struct {
		Item struct {
			Reference string `json:"reference"`
		} `json:"item"`
	} `json:"entry"`
}

type outcome = fhir.OperationOutcome

func decode[T any](t *testing.T, resp *http.Response) (T, []byte) {
	t.Helper()
	var v T
	b := readBody(t, resp)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response (%d) is not JSON: %v\n%s", resp.StatusCode, err, b)
	}
	return v, b
}

// wantOutcome checks an error answer: status, FHIR content type and an
// OperationOutcome with the issue code.
func wantOutcome(t *testing.T, resp *http.Response, status int, code string) outcome {
	t.Helper()
	if code == "" {
		t.Fatal("wantOutcome needs the issue code the answer must carry")
	}
	o, b := decode[outcome](t, resp)
	if resp.StatusCode != status || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 || o.Issue[0].Code != code {
		t.Fatalf("HTTP %d %s, want %d with an OperationOutcome (%s)", resp.StatusCode, b, status, code)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/fhir+json") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	return o
}

func searchURL(patient string, extra ...string) string {
	q := url.Values{"patient.identifier": {"urn:oid:" + oid.FNR + "|" + patient}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	return "/fhir/R4/DocumentReference?" + q.Encode()
}

func docRefs(t *testing.T, b fhirBundle) []docRef {
	t.Helper()
	var out []docRef
	for _, e := range b.Entry {
		var d docRef
		if err := json.Unmarshal(e.Resource, &d); err != nil || d.ResourceType != "DocumentReference" {
			t.Fatalf("entry %s: %v", e.Resource, err)
		}
		out = append(out, d)
	}
	return out
}

func uniqueIDs(refs []docRef) []string {
	var out []string
	for _, d := range refs {
		out = append(out, strings.TrimPrefix(d.MasterIdentifier.Value, "urn:oid:"))
	}
	return out
}

// The four approved documents of patientP a health worker may see, newest
// first (the NORS one is hidden).
func visibleP() []string {
	return []string{registry.SampleUniqueID(seqMore, 2), registry.SampleUniqueID(seqMore, 1), registry.SampleUniqueID(seqMore, 0), uidNormal}
}

func TestMHDFindDocuments(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)

	var b fhirBundle
	var resp *http.Response
	rec := h.oneRecord(t, func() {
		resp = h.do(tok, http.MethodGet, searchURL(patientP, "status", "current"), nil, nil)
		b, _ = decode[fhirBundle](t, resp)
	})
	if resp.StatusCode != http.StatusOK || b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total == nil || *b.Total != 4 {
		t.Fatalf("search: %d %+v", resp.StatusCode, b)
	}
	if got := uniqueIDs(docRefs(t, b)); strings.Join(got, " ") != strings.Join(visibleP(), " ") {
		t.Fatalf("documents %v, want %v (newest first, NORS hidden)", got, visibleP())
	}
	if resp.Header.Get(mhd.HeaderNorsCount) != "1" {
		t.Fatalf("%s = %q, want 1", mhd.HeaderNorsCount, resp.Header.Get(mhd.HeaderNorsCount))
	}
	if resp.Header.Get("NHN-Emergency-Access") != "" || b.Meta != nil && len(b.Meta.Security) > 0 {
		t.Fatal("an ordinary search is marked as emergency access")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	if rec.Transaction != audit.TxITI67 || rec.Outcome != audit.OutcomePermit || rec.Rule != policy.RuleHealthWorkerCare ||
		rec.PatientID != patientP || rec.HiddenNORS != 1 || rec.Actor.PID != mustPersona("fastlege").PID ||
		rec.Credential != string(trust.CredentialHelseIDDPoP) || rec.RequestID != resp.Header.Get("X-Request-Id") ||
		!strings.Contains(rec.Query, "status=current") {
		t.Fatalf("record %+v", rec)
	}

	// The same search through POST _search and through the nhn-patient-nin
	// header.
	form := url.Values{"patient.identifier": {"urn:oid:" + oid.FNR + "|" + patientP}, "status": {"current"}}
	resp = h.do(tok, http.MethodPost, "/fhir/R4/DocumentReference/_search", strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	b2, _ := decode[fhirBundle](t, resp)
	if resp.StatusCode != http.StatusOK || b2.Total == nil || *b2.Total != 4 {
		t.Fatalf("POST _search: %d %+v", resp.StatusCode, b2)
	}
	resp = h.do(tok, http.MethodGet, "/fhir/R4/DocumentReference?status=current", nil, http.Header{mhd.HeaderPatientNIN: {patientP}})
	b3, _ := decode[fhirBundle](t, resp)
	if resp.StatusCode != http.StatusOK || b3.Total == nil || *b3.Total != 4 {
		t.Fatalf("patient in the header: %d %+v", resp.StatusCode, b3)
	}
}

// Paging: each page has _count entries and a next link until the last;
// the links never carry the patient, and every page is audited.
func TestMHDPaging(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)
	seq := h.head()
	next := searchURL(patientP, "_count", "1")
	var got []string
	pages := 0
	for next != "" {
		pages++
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		resp := h.do(tok, http.MethodGet, next, nil, nil)
		b, raw := decode[fhirBundle](t, resp)
		if resp.StatusCode != http.StatusOK || len(b.Entry) != 1 || b.Total == nil || *b.Total != 4 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, raw)
		}
		got = append(got, uniqueIDs(docRefs(t, b))...)
		next = b.link("next")
		for _, l := range b.Link {
			if strings.Contains(l.URL, patientP) && l.Relation == "next" {
				t.Fatalf("the next link carries the patient: %s", l.URL)
			}
			if !strings.HasPrefix(l.URL, h.base+"/fhir/R4/DocumentReference?") {
				t.Fatalf("link %s is not under the public base URL", l.URL)
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(visibleP(), " ") {
		t.Fatalf("pages gave %v, want %v", got, visibleP())
	}
	recs := h.since(seq)
	if len(recs) != 4 {
		t.Fatalf("%d records for 4 pages", len(recs))
	}
	for _, r := range recs {
		if r.PatientID != patientP || strings.Contains(r.Query, "_page") {
			t.Fatalf("page record %+v (the page token must not be recorded)", r)
		}
	}
	// A tampered page token is a 400, and another principal's token cannot
	// use a page of someone else's search to reach another patient.
	resp := h.do(tok, http.MethodGet, "/fhir/R4/DocumentReference?_count=1&_page=AAAAtampered", nil, nil)
	wantOutcome(t, resp, http.StatusBadRequest, fhir.IssueInvalid)
	first, _ := decode[fhirBundle](t, h.do(tok, http.MethodGet, searchURL(patientP, "_count", "1"), nil, nil))
	other := h.token("fastlege", patientQ)
	resp = h.do(other, http.MethodGet, first.link("next"), nil, nil)
	wantOutcome(t, resp, http.StatusForbidden, "forbidden")
}

// Emergency access is answered, marked in the header and the Bundle's
// security labels, and flagged in the audit record.
func TestMHDBreakTheGlass(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	btg := mustPersona("fastlege")
	btg.PurposeOfUse = trust.Coding{Code: trust.PurposeBTG, System: "urn:oid:" + oid.PurposeOfUse, Text: "Break the glass"}
	tok := h.tokenAs(btg, patientP)
	var resp *http.Response
	var b fhirBundle
	rec := h.oneRecord(t, func() {
		resp = h.do(tok, http.MethodGet, searchURL(patientP), nil, nil)
		b, _ = decode[fhirBundle](t, resp)
	})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("NHN-Emergency-Access") != "BTG" {
		t.Fatalf("BTG search: %d, NHN-Emergency-Access %q", resp.StatusCode, resp.Header.Get("NHN-Emergency-Access"))
	}
	if b.Meta == nil || len(b.Meta.Security) != 1 || b.Meta.Security[0].Code != "BTG" {
		t.Fatalf("Bundle security labels %+v", b.Meta)
	}
	if !rec.Flags.BTG || rec.Rule != policy.RuleHealthWorkerEmergency {
		t.Fatalf("record %+v is not flagged", rec)
	}
	// Reading a document under BTG is marked too.
	resp = h.do(tok, http.MethodGet, docRefs(t, b)[0].Content[0].Attachment.URL, nil, nil)
	readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("NHN-Emergency-Access") != "BTG" {
		t.Fatalf("BTG read: %d %q", resp.StatusCode, resp.Header.Get("NHN-Emergency-Access"))
	}
	etreat := mustPersona("fastlege")
	etreat.PurposeOfUse = trust.Coding{Code: trust.PurposeETreat, System: "urn:oid:" + oid.PurposeOfUse}
	resp = h.do(h.tokenAs(etreat, patientP), http.MethodGet, searchURL(patientP), nil, nil)
	readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("NHN-Emergency-Access") != "ETREAT" {
		t.Fatalf("ETREAT search: %d %q", resp.StatusCode, resp.Header.Get("NHN-Emergency-Access"))
	}
}

// Bad parameters get a 400 OperationOutcome naming the parameter, and are
// audited as refusals.
func TestMHDBadParameters(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)
	bad := patientP[:10] + string('0'+(patientP[10]-'0'+1)%10)
	for _, c := range []struct {
		name, target string
		code         string // the issue type
	}{
		{"unknown parameter", searchURL(patientP, "foo", "bar"), fhir.IssueNotSupported},
		{"no patient", "/fhir/R4/DocumentReference?status=current", fhir.IssueRequired},
		{"bad check digit", searchURL(bad), fhir.IssueValue},
		{"two patients", searchURL(patientP) + "&patient.identifier=urn:oid:" + oid.FNR + "%7C" + patientQ, fhir.IssueValue},
		{"bad _count", searchURL(patientP, "_count", "many"), fhir.IssueValue},
		{"bad date", searchURL(patientP, "date", "ge2024-13-45"), fhir.IssueValue},
		{"list: unknown parameter", "/fhir/R4/List?patient.identifier=urn:oid:" + oid.FNR + "%7C" + patientP + "&foo=1", fhir.IssueNotSupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			rec := h.oneRecord(t, func() {
				resp = h.do(tok, http.MethodGet, c.target, nil, nil)
				o := wantOutcome(t, resp, http.StatusBadRequest, c.code)
				if o.Issue[0].Severity != "error" && o.Issue[0].Severity != "fatal" {
					t.Fatalf("issue %+v", o.Issue[0])
				}
			})
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != "invalid-request" || len(rec.Documents) != 0 {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

// Every refused credential gets 401/403 with a DPoP challenge and an
// OperationOutcome, and is audited with an unknown actor.
func TestMHDBadTokens(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	good := h.token("fastlege", patientP)
	target := h.base + searchURL(patientP)
	send := func(mut func(r *http.Request)) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		if err := good.Authorize(req); err != nil {
			t.Fatal(err)
		}
		mut(req)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		sig := []byte(parts[2])
		if sig[0] == 'A' {
			sig[0] = 'B'
		} else {
			sig[0] = 'A'
		}
		return parts[0] + "." + parts[1] + "." + string(sig)
	}
	otherProof, _ := devissuer.Proof(good.Key, http.MethodGet, h.base+"/fhir/R4/List", good.AccessToken, timeNow())
	for _, c := range []struct {
		name      string
		mut       func(r *http.Request)
		status    int
		challenge string // in WWW-Authenticate
	}{
		{"no credential", func(r *http.Request) { r.Header.Del("Authorization"); r.Header.Del("DPoP") }, 401, "DPoP"},
		{"bearer scheme", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+good.AccessToken) }, 401, `error="invalid_token"`},
		{"tampered signature", func(r *http.Request) { r.Header.Set("Authorization", "DPoP "+tamper(good.AccessToken)) }, 401, `error="invalid_token"`},
		{"not a JWT", func(r *http.Request) { r.Header.Set("Authorization", "DPoP not-a-token") }, 401, `error="invalid_token"`},
		{"no proof", func(r *http.Request) { r.Header.Del("DPoP") }, 401, "invalid_dpop_proof"},
		{"proof for another URL", func(r *http.Request) { r.Header.Set("DPoP", otherProof) }, 401, "invalid_dpop_proof"},
		{"garbage patient header", func(r *http.Request) {
			r.Header.Del("Authorization")
			r.Header.Set(mhd.HeaderPatientNIN, strings.Repeat("9", 300))
		}, 401, "DPoP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			rec := h.oneRecord(t, func() { resp = send(c.mut) })
			o := wantOutcome(t, resp, c.status, fhir.IssueLogin)
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "DPoP") || !strings.Contains(ch, c.challenge) {
				t.Errorf("WWW-Authenticate %q, want a DPoP challenge with %s", ch, c.challenge)
			}
			if bytes.Contains([]byte(o.Issue[0].Diagnostics), []byte(good.AccessToken[:20])) {
				t.Error("the token is echoed")
			}
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != "authentication" || rec.Actor.Kind != audit.ActorUnknown {
				t.Errorf("record %+v", rec)
			}
		})
	}
	t.Run("replayed proof", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		if err := good.Authorize(req); err != nil {
			t.Fatal(err)
		}
		hdr := req.Header.Clone()
		first := h.do(nil, http.MethodGet, target, nil, hdr)
		readBody(t, first)
		second := h.do(nil, http.MethodGet, target, nil, hdr)
		if first.StatusCode != http.StatusOK {
			t.Fatalf("first use: %d", first.StatusCode)
		}
		wantOutcome(t, second, http.StatusUnauthorized, "login")
	})
	t.Run("insufficient scope", func(t *testing.T) {
		resp := h.do(h.token("compliance", ""), http.MethodGet, searchURL(patientP), nil, nil)
		wantOutcome(t, resp, http.StatusForbidden, "forbidden")
		if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, "insufficient_scope") {
			t.Fatalf("WWW-Authenticate %q", ch)
		}
	})
}

// Policy refusals: 403 for a principal refused outright, with the rule.
func TestMHDPolicyRefusals(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	for _, c := range []struct {
		name, persona, attested, patient, rule string
	}{
		{"nurse", "sykepleier", patientP, patientP, policy.RuleAuthorizationNotAllowed},
		{"attested for another patient", "fastlege", patientQ, patientP, policy.RuleAttestationPatientBinding},
		{"citizen asking about someone else", "citizen", "", patientP, policy.RuleCitizenOtherPatient},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			rec := h.oneRecord(t, func() {
				resp = h.do(h.token(c.persona, c.attested), http.MethodGet, searchURL(c.patient), nil, nil)
				o := wantOutcome(t, resp, http.StatusForbidden, "forbidden")
				if !strings.Contains(o.Issue[0].Diagnostics, c.rule) {
					t.Fatalf("diagnostics %q", o.Issue[0].Diagnostics)
				}
			})
			if rec.Outcome != audit.OutcomeDeny || rec.Rule != c.rule {
				t.Fatalf("record %+v", rec)
			}
		})
	}
	t.Run("citizen reads own", func(t *testing.T) {
		resp := h.do(h.token("citizen", ""), http.MethodGet, searchURL(citizenID), nil, nil)
		b, _ := decode[fhirBundle](t, resp)
		if resp.StatusCode != http.StatusOK || b.Total == nil || *b.Total != 1 {
			t.Fatalf("citizen: %d %+v", resp.StatusCode, b)
		}
	})
}

// ITI-68: the document streams with its metadata's media type, an ETag of
// its hash and If-None-Match; a NORS document, another patient's and an
// unknown one all get the same 404.
func TestMHDRetrieve(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)
	b, _ := decode[fhirBundle](t, h.do(tok, http.MethodGet, searchURL(patientP), nil, nil))
	var docURL string
	for _, d := range docRefs(t, b) {
		if strings.HasSuffix(d.MasterIdentifier.Value, uidNormal) {
			docURL = d.Content[0].Attachment.URL
		}
	}
	if !strings.HasPrefix(docURL, h.base+"/mhd/document?") {
		t.Fatalf("attachment URL %q", docURL)
	}
	want := registry.SampleDocument(seqMixed, 0, cx(patientP))
	var resp *http.Response
	rec := h.oneRecord(t, func() { resp = h.do(tok, http.MethodGet, docURL, nil, nil) })
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("read: %d %q", resp.StatusCode, body)
	}
	entry, err := h.reg.Reader().Documents(t.Context(), registry.DocumentFilter{UniqueIDs: []string{uidNormal}})
	if err != nil || len(entry) != 1 {
		t.Fatal(err)
	}
	etag := mhd.DocumentETag(entry[0].Hash)
	for k, v := range map[string]string{"Content-Type": "text/plain", "ETag": etag, "X-Content-Type-Options": "nosniff",
		"Cache-Control": "private, no-store"} {
		if resp.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	if resp.ContentLength != int64(len(want)) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("Content-Length %d, Content-Disposition %q", resp.ContentLength, resp.Header.Get("Content-Disposition"))
	}
	if rec.Transaction != audit.TxITI68 || rec.Outcome != audit.OutcomePermit || len(rec.Documents) != 1 ||
		rec.Documents[0].UniqueID != uidNormal || rec.Documents[0].Disposition != audit.DocReturned {
		t.Fatalf("record %+v", rec)
	}
	// If-None-Match: 304 without a body (still audited: the caller has the
	// document).
	rec = h.oneRecord(t, func() { resp = h.do(tok, http.MethodGet, docURL, nil, http.Header{"If-None-Match": {etag}}) })
	if body := readBody(t, resp); resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d %q", resp.StatusCode, body)
	}
	if rec.Outcome != audit.OutcomePermit {
		t.Fatalf("record %+v", rec)
	}
	resp = h.do(tok, http.MethodGet, docURL, nil, http.Header{"If-None-Match": {`"0000000000000000000000000000000000000000"`}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("another ETag: %d", resp.StatusCode)
	}

	// Refused and unknown documents look alike.
	retrieveURL := func(uid string) string {
		return mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, uid)
	}
	var bodies [][]byte
	for _, c := range []struct {
		name string
		uid  string
		hdr  http.Header
		out  audit.Outcome
	}{
		{"NORS", uidNORS, nil, audit.OutcomeDeny},
		{"unknown", uidUnknown, nil, audit.OutcomeError},
		{"another patient's, patient attested", uidQ, nil, audit.OutcomeDeny},
		{"another patient's, patient in the header", uidQ, http.Header{mhd.HeaderPatientNIN: {patientP}}, audit.OutcomeDeny},
		{"unknown, patient in the header", uidUnknown, http.Header{mhd.HeaderPatientNIN: {patientP}}, audit.OutcomeError},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			rec := h.oneRecord(t, func() { resp = h.do(tok, http.MethodGet, retrieveURL(c.uid), nil, c.hdr) })
			_, raw := decode[outcome](t, resp)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("HTTP %d %s, want 404", resp.StatusCode, raw)
			}
			for _, k := range []string{"ETag", "Content-Disposition", "NHN-Emergency-Access"} {
				if resp.Header.Get(k) != "" {
					t.Fatalf("a 404 carries %s", k)
				}
			}
			bodies = append(bodies, raw)
			if rec.Outcome != c.out {
				t.Fatalf("record %+v", rec)
			}
		})
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("404 bodies differ:\n%s\n%s", bodies[0], b)
		}
	}
	t.Run("nurse", func(t *testing.T) {
		resp := h.do(h.token("sykepleier", patientP), http.MethodGet, docURL, nil, nil)
		wantOutcome(t, resp, http.StatusForbidden, "forbidden")
		resp = h.do(h.token("sykepleier", patientP), http.MethodGet, retrieveURL(uidUnknown), nil, nil)
		wantOutcome(t, resp, http.StatusForbidden, "forbidden")
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, c := range []struct{ query, code string }{
			{"", fhir.IssueRequired},
			{"?uniqueId=" + uidNormal, fhir.IssueRequired},
			{"?repositoryUniqueId=not-an-oid&uniqueId=1.2", fhir.IssueValue},
			{"?repositoryUniqueId=1.2&uniqueId=1.2&extra=1", fhir.IssueNotSupported},
		} {
			resp := h.do(tok, http.MethodGet, "/mhd/document"+c.query, nil, nil)
			wantOutcome(t, resp, http.StatusBadRequest, c.code)
		}
	})
	t.Run("garbage patient header", func(t *testing.T) {
		resp := h.do(tok, http.MethodGet, docURL, nil, http.Header{mhd.HeaderPatientNIN: {strings.Repeat("x", 300)}})
		o, raw := decode[outcome](t, resp)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound || o.ResourceType != "OperationOutcome" {
			t.Fatalf("HTTP %d %s, want a 400 or 404 (never 503)", resp.StatusCode, raw)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp := h.do(tok, http.MethodHead, docURL, nil, nil)
		if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(want)) || resp.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: %d %d", resp.StatusCode, resp.ContentLength)
		}
	})
}

// A document is served by ITI-68 as its source declared it — text/html,
// SVG, XML included — but in a sandbox with nothing allowed and never
// sniffed, so that opening its URL in a browser cannot run script in
// pjd's origin.
func TestMHDRetrieveSandboxesActiveContent(t *testing.T) {
	h := newHarness(t, options{})
	types := []string{"text/html", "image/svg+xml", "application/xml", "text/xml", "application/xhtml+xml",
		"application/javascript", "text/plain", "application/pdf"}
	sub := registry.SampleSubmission(registry.SampleOptions{Patient: cx(patientP), Documents: len(types), Seq: 9401})
	for i, d := range sub.Documents {
		d.MimeType = types[i]
	}
	h.provide(sub, 9401)
	tok := h.token("fastlege", patientP)
	for i, mt := range types {
		t.Run(mt, func(t *testing.T) {
			resp := h.do(tok, http.MethodGet, mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, sub.Documents[i].UniqueID), nil, nil)
			readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"sandbox", "default-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
				t.Errorf("Content-Security-Policy %q lets the document run script or act as pjd", csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != mt {
				t.Errorf("X-Content-Type-Options %q, Content-Type %q", resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Type"))
			}
		})
	}
}

// A document whose stored bytes are damaged is cut off, never delivered
// as complete, and the failure is audited.
func TestMHDRetrieveBrokenStream(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	h.damageBlob(registry.SampleDocument(seqMixed, 0, cx(patientP)), bytes.ToLower)
	tok := h.token("fastlege", patientP)
	seq := h.head()
	req, _ := http.NewRequest(http.MethodGet, mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, uidNormal), nil)
	if err := tok.Authorize(req); err != nil {
		t.Fatal(err)
	}
	resp, err := h.srv.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a damaged document was delivered as complete")
	}
	recs := h.since(seq)
	if len(recs) != 2 || recs[0].Outcome != audit.OutcomePermit || recs[1].Outcome != audit.OutcomeError ||
		len(recs[1].Documents) != 1 || recs[1].Documents[0].UniqueID != uidNormal {
		t.Fatalf("records %+v, want the permit and the failed stream", recs)
	}
}

// ITI-66: SubmissionSets and Folders of the patient, without the NORS
// document among their members.
func TestMHDFindLists(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)
	nors, err := h.reg.Reader().Documents(t.Context(), registry.DocumentFilter{UniqueIDs: []string{uidNORS}})
	if err != nil || len(nors) != 1 {
		t.Fatal(err)
	}
	var resp *http.Response
	var b fhirBundle
	rec := h.oneRecord(t, func() {
		resp = h.do(tok, http.MethodGet, "/fhir/R4/List?patient.identifier=urn:oid:"+oid.FNR+"%7C"+patientP, nil, nil)
		b, _ = decode[fhirBundle](t, resp)
	})
	if resp.StatusCode != http.StatusOK || b.Total == nil || *b.Total != 3 {
		t.Fatalf("lists: %d %+v", resp.StatusCode, b)
	}
	kinds := map[string]int{}
	for _, e := range b.Entry {
		var l fhirList
		if err := json.Unmarshal(e.Resource, &l); err != nil || l.ResourceType != "List" {
			t.Fatalf("entry %s", e.Resource)
		}
		kinds[l.Code.Coding[0].Code]++
		for _, m := range l.Entry {
			if strings.Contains(m.Item.Reference, strings.TrimPrefix(nors[0].ID, "urn:uuid:")) {
				t.Fatalf("the NORS document is a member: %s", e.Resource)
			}
		}
	}
	if kinds["submissionset"] != 2 || kinds["folder"] != 1 {
		t.Fatalf("list kinds %v", kinds)
	}
	if resp.Header.Get(mhd.HeaderNorsCount) != "1" || rec.Transaction != audit.TxITI66 || rec.HiddenNORS != 1 {
		t.Fatalf("NORS count %q, record %+v", resp.Header.Get(mhd.HeaderNorsCount), rec)
	}
	resp = h.do(h.token("sykepleier", patientP), http.MethodGet, "/fhir/R4/List?patient.identifier=urn:oid:"+oid.FNR+"%7C"+patientP, nil, nil)
	wantOutcome(t, resp, http.StatusForbidden, "forbidden")
}

// ITI-65: a source's transaction Bundle is stored and registered, and can
// then be found and read.
func TestMHDProvide(t *testing.T) {
	h := newHarness(t, options{maxProvide: 64 << 10})
	bundle := readFixture(t, "iti65_provide.json")
	content := readFixture(t, "iti65_provide.txt")
	patient := registry.SyntheticFnr(303)
	src := h.token("sykehus-epj", "")
	post := func(tok *devissuer.Token, body []byte) *http.Response {
		return h.do(tok, http.MethodPost, "/fhir/R4", bytes.NewReader(body), http.Header{"Content-Type": {"application/fhir+json"}})
	}
	resp := post(src, bundle)
	b, raw := decode[fhirBundle](t, resp)
	if resp.StatusCode != http.StatusOK || b.Type != "transaction-response" || len(b.Entry) != 3 {
		t.Fatalf("provide: %d %s", resp.StatusCode, raw)
	}
	for _, e := range b.Entry {
		if e.Response == nil || !strings.HasPrefix(e.Response.Status, "201") {
			t.Fatalf("entry response %+v", e.Response)
		}
	}
	// Find it and read it.
	tok := h.token("sykehuslege", patient)
	sb, _ := decode[fhirBundle](t, h.do(tok, http.MethodGet, searchURL(patient), nil, nil))
	refs := docRefs(t, sb)
	if len(refs) != 1 || refs[0].MasterIdentifier.Value != "urn:oid:2.999.578.9.3.1" {
		t.Fatalf("search after provide: %+v", refs)
	}
	resp = h.do(tok, http.MethodGet, refs[0].Content[0].Attachment.URL, nil, nil)
	if got := readBody(t, resp); resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Fatalf("read after provide: %d %q", resp.StatusCode, got)
	}

	// Refusals.
	foreign := strings.ReplaceAll(string(bundle), "910000047", registry.SampleOrgnr)
	foreign = strings.ReplaceAll(foreign, "2.999.578.9.3.1", "2.999.578.9.3.2")
	foreign = strings.ReplaceAll(foreign, "2.999.578.9.2.1", "2.999.578.9.2.2")
	wantOutcome(t, post(src, []byte(foreign)), http.StatusForbidden, "forbidden")
	wantOutcome(t, post(src, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[`)), http.StatusBadRequest, fhir.IssueStructure)
	wantOutcome(t, post(src, []byte(`{"resourceType":"Patient"}`)), http.StatusBadRequest, fhir.IssueStructure)
	wantOutcome(t, post(src, bytes.Repeat([]byte(" "), 70<<10)), http.StatusRequestEntityTooLarge, fhir.IssueTooCostly)
	// The same Bundle again (the same entryUUIDs and uniqueIds): the
	// registry's errors, as an OperationOutcome carrying their XDS codes.
	o := wantOutcome(t, post(src, bundle), http.StatusUnprocessableEntity, fhir.IssueProcessing)
	var xdsCodes []string
	for _, is := range o.Issue {
		xdsCodes = append(xdsCodes, mhd.XDSCode(is))
	}
	if want := []string{registry.ErrCodeRegistryMetadataError, registry.ErrCodeRegistryMetadataError,
		registry.ErrCodeDuplicateUniqueIDInRegistry}; !slices.Equal(xdsCodes, want) {
		t.Fatalf("XDS codes %q, want %q: %+v", xdsCodes, want, o.Issue)
	}
	resp = post(nil, bundle)
	wantOutcome(t, resp, http.StatusUnauthorized, fhir.IssueLogin)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP") {
		t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp = post(h.token("fastlege", patient), bundle)
	wantOutcome(t, resp, http.StatusForbidden, fhir.IssueForbidden)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	if ds, _ := h.reg.Reader().Documents(t.Context(), registry.DocumentFilter{}); len(ds) != 1 {
		t.Fatalf("%d documents after the refusals, want the 1 provided", len(ds))
	}
	// An unknown resource path under /fhir/R4/.
	wantOutcome(t, h.do(src, http.MethodPost, "/fhir/R4/Patient", bytes.NewReader(bundle), nil), http.StatusNotFound, fhir.IssueNotFound)
}

// When the audit log is down, MHD answers 503 and nothing else.
func TestMHDAuditUnavailable(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	tok := h.token("fastlege", patientP)
	if err := h.audit.Close(); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{searchURL(patientP), mhd.RetrieveURL(h.base, registry.SampleRepositoryUniqueID, uidNormal),
		"/fhir/R4/List?patient.identifier=urn:oid:" + oid.FNR + "%7C" + patientP} {
		resp := h.do(tok, http.MethodGet, target, nil, nil)
		o := wantOutcome(t, resp, http.StatusServiceUnavailable, "transient")
		if strings.Contains(o.Issue[0].Diagnostics, "sql") || strings.Contains(o.Issue[0].Diagnostics, "closed") {
			t.Fatalf("internal detail: %q", o.Issue[0].Diagnostics)
		}
	}
	// Even an unauthenticated request cannot be answered without its record.
	resp := h.do(nil, http.MethodGet, searchURL(patientP), nil, nil)
	wantOutcome(t, resp, http.StatusServiceUnavailable, "transient")
}

// The audit review API: compliance staff see the log, a citizen their own
// part of it, a health worker nothing.
func TestAuditViewer(t *testing.T) {
	h := newHarness(t, options{})
	h.seed()
	// Make some history: a GP searches patientP and the citizen.
	h.do(h.token("fastlege", patientP), http.MethodGet, searchURL(patientP), nil, nil)
	h.do(h.token("fastlege", citizenID), http.MethodGet, searchURL(citizenID), nil, nil)

	resp := h.do(h.token("compliance", ""), http.MethodGet, "/fhir/R4/AuditEvent?subtype=ITI-67&patient="+patientP, nil, nil)
	b, raw := decode[fhirBundle](t, resp)
	if resp.StatusCode != http.StatusOK || len(b.Entry) != 1 || !bytes.Contains(raw, []byte(uidNormal)) {
		t.Fatalf("compliance: %d %s", resp.StatusCode, raw)
	}
	resp = h.do(h.token("citizen", ""), http.MethodGet, "/fhir/R4/AuditEvent", nil, nil)
	b, raw = decode[fhirBundle](t, resp)
	if resp.StatusCode != http.StatusOK || len(b.Entry) != 1 || bytes.Contains(raw, []byte(mustPersona("fastlege").PID)) {
		t.Fatalf("citizen: %d %s", resp.StatusCode, raw)
	}
	if !bytes.Contains(raw, []byte(mustPersona("fastlege").HPRNumber)) {
		t.Fatalf("the citizen does not see who looked: %s", raw)
	}
	resp = h.do(h.token("citizen", ""), http.MethodGet, "/fhir/R4/AuditEvent?patient="+patientP, nil, nil)
	wantOutcome(t, resp, http.StatusForbidden, fhir.IssueForbidden)
	resp = h.do(h.token("fastlege", patientP), http.MethodGet, "/fhir/R4/AuditEvent", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a health worker reading the audit log: %d", resp.StatusCode)
	}
	resp = h.do(nil, http.MethodGet, "/fhir/R4/AuditEvent", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP") {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
