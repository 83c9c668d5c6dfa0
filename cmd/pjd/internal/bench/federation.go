package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"pjd/gateway/access"
	"pjd/gateway/mhd"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/trust"
)

// ---- federation: ITI-67 fanned out to two communities vs one community ----

// FederationBenchmark measures, at o.Rate for o.Duration each, the ITI-67
// search of the MHD benchmark (o.Documents documents of the patient) on a
// node that federates with two communities (pjd serve --dev's dev
// regions: responding gateways in the same process, each its own SQLite
// store and files, each holding the same documents of the patient), on a
// node that federates with nobody (its own PostgreSQL database, the same
// documents), and a direct ITI-38 FindDocuments on each community with
// the federating node's client and XUA: what the community itself takes.
func FederationBenchmark(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, o MHDOptions) ([]Row, error) {
	// Each node its own database: in pjd bench all, the MHD case has
	// registered the same patient's documents in the shared one.
	federating, err := svc.onDatabase(ctx, "pjd_bench_federated")
	if err != nil {
		return nil, err
	}
	fed, err := newMHD(ctx, start, federating, log, o.Documents)
	if err != nil {
		return nil, fmt.Errorf("federating node: %w", err)
	}
	defer fed.Close()
	if len(fed.srv.Communities) < 2 {
		return nil, errors.New("the federating node runs no dev regions")
	}
	one, err := svc.onDatabase(ctx, "pjd_bench_single")
	if err != nil {
		return nil, err
	}
	single, err := NewMHD(ctx, start, one, log, o.Documents)
	if err != nil {
		return nil, fmt.Errorf("single node: %w", err)
	}
	defer single.Close()

	p, err := fed.principal(ctx)
	if err != nil {
		return nil, err
	}
	cases := []Case{
		{Name: "iti-67/single/rate", Unit: "searches", Op: single.search(single.srv.URL)},
		{Name: "iti-67/federated/rate", Unit: "searches", Op: fed.search(fed.srv.URL), Baseline: "iti-67/single/rate"},
	}
	for _, cm := range fed.srv.Communities {
		op := fed.findIn(cm, p)
		for range 3 { // works, and is warm
			if err := op(ctx, 0); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
		cases = append(cases, Case{Name: "iti-38/" + cm.Community().Name + "/rate", Unit: "queries", Op: op})
	}
	var rows []Row
	for _, c := range cases {
		rows = append(rows, c.Row(RunAtRate(ctx, o.Rate, o.Duration, c.Op)))
	}
	return rows, rowsErr(rows)
}

// principal is the fastlege's Principal as this node's verifier makes it
// from the token and a DPoP proof of an ITI-67 search: what a federated
// search sends the communities for.
func (m *MHD) principal(ctx context.Context) (*trust.Principal, error) {
	var sent *http.Request
	hc := &http.Client{Transport: m.tok.Transport(capture(func(r *http.Request) { sent = r }))}
	const path = "/fhir/R4/DocumentReference/_search"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.srv.URL+path, strings.NewReader(m.form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(mhd.HeaderPatientNIN, m.patient)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	p, err := m.srv.Tokens.VerifyRequest(ctx, sent, trust.Requirement{Scope: trust.ScopeReadDocumentReferences, HTU: m.srv.URL + path})
	if err != nil {
		return nil, fmt.Errorf("the fastlege's principal: %w", err)
	}
	return p, nil
}

// capture is a RoundTripper that hands the request to fn and answers 204
// without sending it.
type capture func(*http.Request)

func (c capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c(r)
	return &http.Response{StatusCode: http.StatusNoContent, Body: io.NopCloser(strings.NewReader("")), Request: r, Header: http.Header{}}, nil
}

// findIn is one ITI-38 FindDocuments for the patient in the community cm,
// sent as the federating node sends it (its client, the XUA it mints for
// p); the answer must hold every document of the patient there.
func (m *MHD) findIn(cm access.Community, p *trust.Principal) Op {
	q := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + registry.NewPatientCX(m.patient, oid.FNR).String() + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
	return func(ctx context.Context, i uint64) error {
		res, errs, err := cm.Query(ctx, xcaclient.Outbound{Principal: p, EventID: fmt.Sprintf("pjd-bench-%d-%d", time.Now().UnixNano(), i)}, q)
		if err != nil {
			return fmt.Errorf("ITI-38: %w", err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("ITI-38: %v", errs)
		}
		if len(res.Documents) != m.docs {
			return fmt.Errorf("ITI-38: %d documents, want %d", len(res.Documents), m.docs)
		}
		return nil
	}
}

// FederationTarget is the line of issue 12's target: the p99 the fan-out
// adds to a search (federated − single, at the same fixed rate) is at most
// the slowest community's own p99 + 5 ms.
func FederationTarget(rows []Row) Target {
	fed, single := findRow(rows, "iti-67/federated/rate"), findRow(rows, "iti-67/single/rate")
	var slow Row
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "iti-38/") && r.Lat.P99 >= slow.Lat.P99 {
			slow = r
		}
	}
	over := fed.Lat.P99 - single.Lat.P99
	t := Target{ID: "I12", What: fmt.Sprintf("ITI-67 federated to 2 communities, p99 fan-out overhead at %.0f/s (p99 %s vs %s single)",
		fed.Lat.Offered, msf(fed.Lat.P99), msf(single.Lat.P99)),
		Figure: msf(over), Baseline: "slowest community p99 " + msf(slow.Lat.P99),
		Goal: "≤ slowest community p99 + 5 ms"}
	if slow.Lat.P99 > 0 {
		t.Ratio = float64(over) / float64(slow.Lat.P99)
	}
	t.Met = fed.Lat.OK > 0 && single.Lat.OK > 0 && slow.Lat.OK > 0 && over <= slow.Lat.P99+5*time.Millisecond
	return t
}
