package xcatest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"pjd/gateway/soap"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/sqlite"
)

// Mode is how a Region answers.
type Mode int32

const (
	Serve   Mode = iota // answer the query
	Slow                // hold the request until the caller gives up
	Garbage             // answer with something that is not XML
	Down                // refuse connections
)

// Region is a community under a test's control.
type Region struct {
	ID, Name string
	Reg      *registry.Registry

	srv  *httptest.Server
	url  string
	mode atomic.Int32
	// Abandoned receives once per Slow request the caller gave up on.
	Abandoned chan struct{}

	mu      sync.Mutex
	queries []*registry.Query
	headers []http.Header
}

// NewRegion starts a region with homeCommunityId id ("urn:oid:…").
func NewRegion(t testing.TB, id, name string) *Region {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "region.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.New(registry.Config{Store: st, HomeCommunityID: id, Patients: registry.NorwegianPatientIDs{AllowSynthetic: true}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Region{ID: id, Name: name, Reg: reg, Abandoned: make(chan struct{}, 64)}
	mux := &soap.Mux{}
	mux.Handle(xcaclient.ActionCrossGatewayQuery, r.query)
	r.srv = httptest.NewServer(mux)
	r.url = r.srv.URL + "/xca/responding"
	t.Cleanup(r.srv.Close)
	return r
}

// Register registers sub's metadata in the region's registry.
func (r *Region) Register(t testing.TB, sub *registry.Submission) {
	t.Helper()
	if _, err := r.Reg.Register(context.Background(), sub); err != nil {
		t.Fatalf("region %s: registering: %v", r.Name, err)
	}
}

// SetMode changes how the region answers from now on. Down closes the
// server for good.
func (r *Region) SetMode(m Mode) {
	r.mode.Store(int32(m))
	if m == Down {
		r.srv.Close()
	}
}

// Community is the region as a --community configuration.
func (r *Region) Community() xcaclient.Community {
	return xcaclient.Community{ID: r.ID, URL: r.url, Name: r.Name}
}

// Queries are the ITI-38 queries the region received, and the HTTP
// headers of each.
func (r *Region) Queries() ([]*registry.Query, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*registry.Query(nil), r.queries...), append([]http.Header(nil), r.headers...)
}

func (r *Region) query(w http.ResponseWriter, req *soap.Request) {
	q, err := ebrim.ParseAdhocQueryRequest(req.Body())
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.headers = append(r.headers, req.HTTP.Header.Clone())
	r.mu.Unlock()
	answer := func(res *registry.QueryResult, errs registry.ErrorList) {
		_ = soap.WriteResponse(w, xcaclient.ActionCrossGatewayQuery+"Response", req.Addressing.MessageID,
			ebrim.EncodeAdhocQueryResponse(res, registry.StatusFor(errs), errs))
	}
	switch Mode(r.mode.Load()) {
	case Slow:
		<-req.HTTP.Context().Done()
		r.Abandoned <- struct{}{}
		return
	case Garbage:
		w.Header().Set("Content-Type", soap.MediaSOAP12)
		_, _ = w.Write([]byte("<env:Envelope><oops"))
		return
	}
	if err != nil {
		l, _ := registry.AsErrors(err)
		answer(nil, l)
		return
	}
	if q.HomeCommunityID != "" && !xcaclient.SameID(q.HomeCommunityID, r.ID) {
		answer(nil, registry.ErrorList{{Code: registry.ErrCodeUnknownCommunity, Severity: registry.SeverityError, Location: r.ID,
			Context: "homeCommunityId " + q.HomeCommunityID + " is not served here"}})
		return
	}
	res, err := r.Reg.Query(req.HTTP.Context(), q)
	if err != nil {
		l, ok := registry.AsErrors(err)
		if !ok {
			l = registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryError, "the registry failed")}
		}
		answer(nil, l)
		return
	}
	answer(res, nil)
}
