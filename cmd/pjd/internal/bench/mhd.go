package bench

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pjd/cmd/pjd/internal/synth"
	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/fhir"
	"pjd/gateway/mhd"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust/devissuer"
)

// ---- mhd: ITI-67 / ITI-68 with and without trust and audit ----

// MHDOptions shape the MHD benchmark.
type MHDOptions struct {
	Count     int           // serial requests per case
	Rate      float64       // offered requests/s of the fixed-rate runs
	Duration  time.Duration // of each fixed-rate and maximum-throughput run
	Workers   int           // clients of the maximum-throughput runs
	Documents int           // the patient's documents
}

// mhdReadSize is the size of the document ITI-68 reads.
const mhdReadSize = 1 << 20

// MHD serves the MHD endpoints twice from one pjd server (PostgreSQL,
// Redis, S3): at the server's own address with everything (DPoP proof,
// token, attestation, policy, blocks, the audit record written and
// chained before the answer), and at a second address with the same
// handlers and Guard except that audit records are discarded, so the
// difference is what the audit chain costs. The direct baselines call the
// registry and repository without HTTP, trust or audit: the same filter
// and rendering (ITI-67), the same lookup and stream (ITI-68).
type MHD struct {
	srv        *Server
	noAudit    *http.Server
	noAuditURL string
	hc         *http.Client
	patient    string // F-nr
	form       string // ITI-67 _search body
	docs       int
	readPath   string // ITI-68 path and query
	readDoc    synth.Doc
	readUID    string
	total      int              // documents an ITI-67 search at the server's own address finds
	tok        *devissuer.Token // the fastlege's
	closers    closers
}

// discardAudit takes audit records and keeps none. It backs only the
// "no-audit" comparison endpoints of this benchmark, to show what the
// audit chain costs; no server ever runs with it.
type discardAudit struct{}

func (discardAudit) Log(context.Context, audit.Record) error { return nil }

// NewMHD starts the MHD benchmark's server (with start) on svc, registers
// the patient's docs documents, starts the no-audit endpoints and warms
// every path up.
func NewMHD(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, docs int) (_ *MHD, err error) {
	return newMHD(ctx, start, svc, log, docs, "--dev-regions=false")
}

// newMHD is NewMHD with extra serve flags. When the server federates with
// communities that run in it (Server.Regions), each of them gets the same
// documents of the patient too, so a search there finds them all.
func newMHD(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, docs int, extra ...string) (_ *MHD, err error) {
	m := &MHD{patient: devissuer.SyntheticPatients()[0], docs: docs}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	m.srv, err = startOn(ctx, start, svc, log, &m.closers, extra...)
	if err != nil {
		return nil, err
	}
	a := m.srv

	// The patient's documents, registered through ITI-41 like any source's:
	// small text documents and the 1 MiB one ITI-68 reads; in this node and
	// in each community that runs in it.
	cx := registry.NewPatientCX(m.patient, oid.FNR).String()
	seq := randomSeq()
	m.readDoc = synth.Doc{Seed: seq, Size: mhdReadSize}.WithHash()
	small := make([]synth.Doc, docs-1)
	for i := range small {
		small[i] = synth.Doc{Seed: seq + 1 + uint64(i), Size: 2 << 10}
	}
	for i, base := range append([]string{m.srv.URL}, m.srv.Regions...) {
		xc := xdsclient.New(base, &http.Client{Timeout: 5 * time.Minute})
		for _, group := range [][]synth.Doc{{m.readDoc}, small} {
			if len(group) == 0 {
				continue
			}
			seq += 1000
			sub, xdocs := synth.Submission(seq, cx, group...)
			resp, err := xc.Provide(ctx, sub, xdocs)
			if err != nil || resp.Status != registry.ResponseSuccess {
				return nil, fmt.Errorf("registering the benchmark documents at %s: %v %v", base, err, resp.Errors)
			}
			if i == 0 && group[0] == m.readDoc {
				m.readUID = sub.Documents[0].UniqueID
			}
		}
	}
	m.total = docs * (1 + len(m.srv.Regions))
	m.readPath = mhd.RetrieveURL("", a.RepositoryID, m.readUID)
	m.form = url.Values{"patient.identifier": {"urn:oid:" + oid.FNR + "|" + m.patient}}.Encode()

	// A fastlege's token with the attestation naming the patient, and a
	// client that makes a fresh DPoP proof for every request.
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	m.closers.add(tr.CloseIdleConnections)
	m.tok, err = (&devissuer.Client{HTTP: &http.Client{Transport: tr, Timeout: time.Minute}, Issuer: m.srv.URL + "/dev/helseid"}).Token(ctx, "fastlege", m.patient, nil)
	if err != nil {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	m.hc = &http.Client{Transport: m.tok.Transport(tr), Timeout: time.Minute}

	// The same MHD endpoints with audit records discarded.
	g, err := access.New(access.Config{Registry: a.Registry, Repository: a.Repository, Policy: a.Policy, Audit: discardAudit{},
		Blocks: a.Blocks, DevLoopbackSources: true, Logger: log})
	if err != nil {
		return nil, err
	}
	pageKey := make([]byte, 32)
	_, _ = rand.Read(pageKey)
	pager, err := mhd.NewPager(pageKey, time.Now, 0)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.noAuditURL = "http://" + ln.Addr().String()
	srv := gateway.NewServer(log, gateway.NewPrometheusMetrics(prometheus.NewRegistry()), nil)
	(&mhd.Endpoints{Guard: g, Tokens: a.Tokens, Pager: pager, BaseURL: m.noAuditURL, MaxProvide: 1 << 20,
		Log: log, Metrics: gateway.NopMetrics{}}).Routes(srv)
	m.noAudit = gateway.HTTPServer(ln.Addr().String(), srv, log)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.noAudit.Serve(ln)
	}()
	m.closers.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.noAudit.Shutdown(sctx)
		<-done
	})

	// Every path works before anything is measured (and is warm).
	for _, op := range []Op{m.search(m.srv.URL), m.search(m.noAuditURL), m.searchDirect, m.read(m.srv.URL), m.read(m.noAuditURL), m.readDirect} {
		for range 3 {
			if err := op(ctx, 0); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return m, nil
}

// Close stops the servers and removes what the benchmark made.
func (m *MHD) Close() { m.closers.close() }

// search is one ITI-67 search (POST _search) at base; the answer must be
// a searchset with every document of the patient (at the server's own
// address, also those in the communities it federates with).
func (m *MHD) search(base string) Op {
	want := m.docs
	if base == m.srv.URL {
		want = m.total
	}
	return func(ctx context.Context, _ uint64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/fhir/R4/DocumentReference/_search", strings.NewReader(m.form))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/fhir+json")
		resp, err := m.do(req, "ITI-67")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var b struct {
			Total *int              `json:"total"`
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return fmt.Errorf("ITI-67: %w", err)
		}
		if b.Total == nil {
			return fmt.Errorf("ITI-67: no total with %d entries, want %d", len(b.Entry), want)
		}
		if *b.Total != want || len(b.Entry) != min(want, mhd.DefaultCount) {
			return fmt.Errorf("ITI-67: total %d with %d entries, want %d", *b.Total, len(b.Entry), want)
		}
		return nil
	}
}

// read is one ITI-68 read of the 1 MiB document at base, verified byte for
// byte.
func (m *MHD) read(base string) Op {
	return func(ctx context.Context, _ uint64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+m.readPath, nil)
		if err != nil {
			return err
		}
		resp, err := m.do(req, "ITI-68")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = m.readDoc.Verify(resp.Body)
		return err
	}
}

// do sends req (transaction tx) for the patient with the fastlege's
// client; an answer other than 200 OK is an error with the start of its
// body.
func (m *MHD) do(req *http.Request, tx string) (*http.Response, error) {
	req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, fmt.Errorf("%s: %s: %s", tx, resp.Status, b)
	}
	return resp, nil
}

// searchDirect is the ITI-67 baseline: the same parsed search, registry
// read, filtering, ordering and FHIR rendering, without HTTP, token,
// policy or audit.
func (m *MHD) searchDirect(ctx context.Context, _ uint64) error {
	form, _ := url.ParseQuery(m.form)
	h := http.Header{}
	h.Set(mhd.HeaderPatientNIN, m.patient)
	s, err := mhd.ParseDocumentSearch(form, h)
	if err != nil {
		return err
	}
	f, err := s.Filter()
	if err != nil {
		return err
	}
	a := m.srv
	docs, err := a.Registry.Reader().Documents(ctx, f)
	if err != nil {
		return err
	}
	docs = slices.DeleteFunc(docs, func(d *registry.DocumentEntry) bool { return !s.Match(d) })
	slices.SortStableFunc(docs, func(x, y *registry.DocumentEntry) int {
		if c := cmp.Compare(y.CreationTime, x.CreationTime); c != 0 {
			return c
		}
		return cmp.Compare(x.UniqueID, y.UniqueID)
	})
	from, to := s.PageBounds(len(docs))
	opts := mhd.RenderOptions{BaseURL: m.srv.URL, Display: a.Display}
	entries := make([]fhir.Resource, 0, to-from)
	for _, d := range docs[from:to] {
		entries = append(entries, fhir.R(mhd.DocumentReferenceFrom(d, nil, opts)))
	}
	if len(docs) != m.docs {
		return fmt.Errorf("direct search: %d documents, want %d", len(docs), m.docs)
	}
	return fhir.Encode(io.Discard, mhd.SearchSet(entries, len(docs), "", ""), false)
}

// readDirect is the ITI-68 baseline: the same registry lookup and blob
// stream, without HTTP, token, policy or audit.
func (m *MHD) readDirect(ctx context.Context, _ uint64) error {
	a := m.srv
	docs, err := a.Registry.Reader().Documents(ctx, registry.DocumentFilter{UniqueIDs: []string{m.readUID},
		Statuses: []string{registry.StatusApproved, registry.StatusDeprecated}})
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fmt.Errorf("direct read: %d entries for %s", len(docs), m.readUID)
	}
	rc, _, err := a.Repository.Open(ctx, docs[0])
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = m.readDoc.Verify(rc)
	return err
}

// MHDCase is a case of the MHD benchmark: serial, at the fixed rate, or
// closed loop at the most the server takes.
type MHDCase struct {
	Case
	Mode string // "serial", "rate", "max"
}

// Cases are the MHD cases, each with the baseline it is compared with.
func (m *MHD) Cases() []MHDCase {
	var out []MHDCase
	for _, tx := range []struct {
		name, unit string
		bytes      int64
		http       func(string) Op
		direct     Op
	}{
		{"iti-67", "searches", 0, m.search, m.searchDirect},
		{"iti-68", "reads", mhdReadSize, m.read, m.readDirect},
	} {
		direct := tx.name + "/direct"
		noAudit := tx.name + "/no-audit"
		out = append(out,
			MHDCase{Case{Name: direct, Unit: tx.unit, Bytes: tx.bytes, Op: tx.direct}, "serial"},
			MHDCase{Case{Name: noAudit, Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL), Baseline: direct}, "serial"},
			MHDCase{Case{Name: tx.name + "/full", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit}, "serial"},
			MHDCase{Case{Name: noAudit + "/rate", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL)}, "rate"},
			MHDCase{Case{Name: tx.name + "/full/rate", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit + "/rate"}, "rate"},
			MHDCase{Case{Name: noAudit + "/max", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.noAuditURL)}, "max"},
			MHDCase{Case{Name: tx.name + "/full/max", Unit: tx.unit, Bytes: tx.bytes, Op: tx.http(m.srv.URL), Baseline: noAudit + "/max"}, "max"},
		)
	}
	return out
}

// Run measures one case as o says.
func (c MHDCase) Run(ctx context.Context, o MHDOptions) Latencies {
	switch c.Mode {
	case "rate":
		return RunAtRate(ctx, o.Rate, o.Duration, c.Op)
	case "max":
		return RunClosedLoop(ctx, o.Workers, o.Duration, c.Op)
	}
	return RunSerial(ctx, o.Count, c.Op)
}

// MHDBenchmark runs every MHD case as o says.
func MHDBenchmark(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, o MHDOptions) ([]Row, error) {
	m, err := NewMHD(ctx, start, svc, log, o.Documents)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var rows []Row
	for _, c := range m.Cases() {
		rows = append(rows, c.Row(c.Run(ctx, o)))
	}
	return rows, rowsErr(rows)
}
