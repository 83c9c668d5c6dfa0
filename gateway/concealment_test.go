package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"pjd/gateway/audit"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
	"pjd/trust/devissuer"
	"pjd/trust/policy"
)

// A patient's block (sperring) must not show: a blocked search is answered
// exactly as a search for a patient without documents — same status, same
// headers that matter, same body once patient numbers, ids and times are
// normalised — on every path that searches: MHD DocumentReference (GET and
// POST _search), MHD List (GET and POST _search), the UI's document list,
// and ITI-18 over SOAP. The audit record still says the block refused it.
//
// Before, the blocked DocumentReference search answered 200 with an empty
// body (not FHIR), List answered 403 patient-block and ITI-18 a
// RegistryError naming the rule.
func TestBlockIsConcealed(t *testing.T) {
	h := newHarness(t, options{ui: true})
	h.seed()
	ctx := context.Background()
	blocked, empty := patientP, devissuer.SyntheticPatients()[2] // P has documents; the other has none
	gp := mustPersona("fastlege")
	if _, err := h.blocks.Add(ctx, policy.Block{PatientID: blocked, PractitionerID: gp.PID}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status  int
		headers http.Header
		body    string
	}
	btg := gp
	btg.PurposeOfUse = trust.Coding{Code: trust.PurposeBTG, System: "urn:oid:" + oid.PurposeOfUse, Text: "Break the glass"}
	persona := gp
	ask := func(t *testing.T, patient string, send func(tok *devissuer.Token) *http.Response) answer {
		t.Helper()
		resp := send(h.tokenAs(persona, patient))
		b := readBody(t, resp)
		a := answer{status: resp.StatusCode, headers: http.Header{}, body: normalise(string(b), patient)}
		for _, k := range []string{"Content-Type", "Nhn-Nors-Count", "Nhn-Emergency-Access", "Cache-Control", "Content-Security-Policy"} {
			if v := resp.Header.Values(k); len(v) > 0 {
				a.headers[k] = v
			}
		}
		return a
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	ident := func(p string) string { return "urn:oid:" + oid.FNR + "|" + p }
	paths := []struct {
		name string
		tx   string
		send func(patient string) func(*devissuer.Token) *http.Response
	}{
		{"ITI-67 GET", audit.TxITI67, func(p string) func(*devissuer.Token) *http.Response {
			return func(tok *devissuer.Token) *http.Response { return h.do(tok, http.MethodGet, searchURL(p), nil, nil) }
		}},
		{"ITI-67 POST _search", audit.TxITI67, func(p string) func(*devissuer.Token) *http.Response {
			return func(tok *devissuer.Token) *http.Response {
				body := url.Values{"patient.identifier": {ident(p)}, "status": {"current"}}.Encode()
				return h.do(tok, http.MethodPost, "/fhir/R4/DocumentReference/_search", strings.NewReader(body), form)
			}
		}},
		{"ITI-66 GET", audit.TxITI66, func(p string) func(*devissuer.Token) *http.Response {
			return func(tok *devissuer.Token) *http.Response {
				return h.do(tok, http.MethodGet, "/fhir/R4/List?"+url.Values{"patient.identifier": {ident(p)}}.Encode(), nil, nil)
			}
		}},
		{"ITI-66 POST _search", audit.TxITI66, func(p string) func(*devissuer.Token) *http.Response {
			return func(tok *devissuer.Token) *http.Response {
				body := url.Values{"patient.identifier": {ident(p)}, "code": {"folder"}}.Encode()
				return h.do(tok, http.MethodPost, "/fhir/R4/List/_search", strings.NewReader(body), form)
			}
		}},
		{"UI list", audit.TxUIList, func(p string) func(*devissuer.Token) *http.Response {
			return func(tok *devissuer.Token) *http.Response { return h.uiGet(tok, p, "/ui/")[0] }
		}},
	}
	// Breaking the glass does not lift a block, and the answer carries
	// the same emergency labels as for a patient without documents.
	paths = append(paths, struct {
		name string
		tx   string
		send func(patient string) func(*devissuer.Token) *http.Response
	}{"ITI-67 GET, break the glass", audit.TxITI67, func(p string) func(*devissuer.Token) *http.Response {
		return func(tok *devissuer.Token) *http.Response { return h.do(tok, http.MethodGet, searchURL(p), nil, nil) }
	}})
	for _, path := range paths {
		persona = gp
		if strings.Contains(path.name, "break the glass") {
			persona = btg
		}
		t.Run(path.name, func(t *testing.T) {
			seq := h.head()
			got := ask(t, blocked, path.send(blocked))
			recs := h.since(seq)
			want := ask(t, empty, path.send(empty))
			if got.status != http.StatusOK {
				t.Errorf("blocked patient: status %d, want 200", got.status)
			}
			if got.status != want.status || !equalHeaders(got.headers, want.headers) || got.body != want.body {
				t.Fatalf("a blocked patient is told apart from one without documents:\nblocked: %d %v\n%s\nwithout documents: %d %v\n%s",
					got.status, got.headers, got.body, want.status, want.headers, want.body)
			}
			if !hasBlockRefusal(recs, path.tx) {
				t.Errorf("no audit record of the refusal by %s: %+v", policy.RulePatientBlock, recs)
			}
		})
	}
}

// The SOAP paths: a person's stored query with an XUA assertion, ITI-18
// on /xds/registry and ITI-38 on /xca/responding, read off the wire.
func TestBlockIsConcealedSOAP(t *testing.T) {
	s := newXUASigner(t)
	h := newXUAHarness(t, s) // xuaPatient has documents
	ctx := context.Background()
	blocked, empty := xuaPatient, devissuer.SyntheticPatients()[2]
	if _, err := h.blocks.Add(ctx, policy.Block{PatientID: blocked, OrgNr: "960510542"}); err != nil { // the assertion's organisation
		t.Fatal(err)
	}
	// query sends q for patient over one path, through rt.
	type query func(t *testing.T, patient string, rt http.RoundTripper, q *registry.Query) (*registry.QueryResult, registry.Response, error)
	for _, path := range []struct {
		tx    string
		query query
	}{
		{audit.TxITI18, func(t *testing.T, patient string, rt http.RoundTripper, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
			c := xuaClient(h, xuaSecurityFor(t, s, patient, nil))
			c.SOAP.HTTP = &http.Client{Transport: rt}
			return c.Query(ctx, q)
		}},
		{audit.TxITI38, func(t *testing.T, patient string, rt http.RoundTripper, q *registry.Query) (*registry.QueryResult, registry.Response, error) {
			c := xcaXUA(h, xuaSecurityFor(t, s, patient, nil))
			c.c.HTTP = &http.Client{Transport: rt}
			res, rr, _, err := c.query(t, q)
			return res, rr, err
		}},
	} {
		for _, q := range []struct {
			name  string
			query func(patient string) *registry.Query
		}{
			{"GetAll LeafClass", func(p string) *registry.Query { return getAll(p, registry.ReturnLeafClass) }},
			{"GetAll ObjectRef", func(p string) *registry.Query { return getAll(p, registry.ReturnObjectRef) }},
			{"FindDocuments", findDocuments},
		} {
			t.Run(path.tx+" "+q.name, func(t *testing.T) {
				wire := func(patient string) (int, string, *registry.QueryResult, registry.Response) {
					rec := &recorder{rt: h.srv.Client().Transport}
					res, rr, err := path.query(t, patient, rec, q.query(patient))
					if err != nil {
						t.Fatalf("query for %s: %v", patient, err)
					}
					return rec.status, normalise(rec.body.String(), patient), res, rr
				}
				seq := h.head()
				gs, got, res, rr := wire(blocked)
				recs := h.since(seq)
				ws, want, _, _ := wire(empty)
				if gs != ws || got != want {
					t.Fatalf("a blocked patient is told apart from one without documents:\nblocked: %d\n%s\nwithout documents: %d\n%s", gs, got, ws, want)
				}
				if rr.Status != registry.ResponseSuccess || res.Len() != 0 {
					t.Fatalf("answer %+v with %d objects; want an empty Success", rr, res.Len())
				}
				if !hasBlockRefusal(recs, path.tx) {
					t.Errorf("no audit record of the refusal by %s: %+v", policy.RulePatientBlock, recs)
				}
			})
		}
	}
}

// recorder keeps the last response body it carried.
type recorder struct {
	rt     http.RoundTripper
	status int
	body   bytes.Buffer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.status = resp.StatusCode
	r.body.Reset()
	r.body.Write(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

var (
	reUUID  = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	rePage  = regexp.MustCompile(`_page=[A-Za-z0-9_%.-]+`)
	reNonce = regexp.MustCompile(`(nonce|value|content|csrf[a-z_-]*)="[A-Za-z0-9_+/=-]{16,}"`)
	reBound = regexp.MustCompile(`MIMEBoundary[A-Za-z0-9_.=-]+|uuid:[A-Za-z0-9_.=-]+`)
)

// normalise replaces what differs between two answers for reasons other
// than what they say: the patient's number, generated ids, times, page
// tokens, nonces.
func normalise(s, patient string) string {
	s = strings.ReplaceAll(s, patient, "PATIENT")
	// As the UI shows it: birth date, a (no-break) space, personal number.
	s = regexp.MustCompile(patient[:6]+`(\s|\x{a0}|\x{202f})`+patient[6:]).ReplaceAllString(s, "PATIENT")
	s = reUUID.ReplaceAllString(s, "UUID")
	s = reTime.ReplaceAllString(s, "TIME")
	s = rePage.ReplaceAllString(s, "_page=PAGE")
	s = reNonce.ReplaceAllString(s, `$1="NONCE"`)
	s = reBound.ReplaceAllString(s, "BOUNDARY")
	return s
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

func hasBlockRefusal(recs []audit.Record, tx string) bool {
	for _, r := range recs {
		if r.Transaction == tx && r.Outcome == audit.OutcomeDeny && r.Rule == policy.RulePatientBlock {
			return true
		}
	}
	return false
}
