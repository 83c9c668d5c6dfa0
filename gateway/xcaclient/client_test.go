package xcaclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/soap"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/trust"
	"pjd/trust/devissuer"
)

const (
	vestID  = "urn:oid:2.16.578.1.12.4.5.100.1"
	patient = "13915810033^^^&2.16.578.1.12.4.1.4.1&ISO"
)

// community is a responding gateway under the test's control: it answers
// ITI-38 with the registry's own ebRIM encoder, or misbehaves as told.
type community struct {
	t       *testing.T
	mu      sync.Mutex
	answer  func(w http.ResponseWriter, r *soap.Request) // nil: docs
	docs    []*registry.DocumentEntry
	seen    []*soap.Request
	headers []http.Header
	started chan struct{} // a request arrived (slow mode)
	gone    chan struct{} // the slow request's context ended
	srv     *httptest.Server
}

func newCommunity(t *testing.T) *community {
	c := &community{t: t, started: make(chan struct{}, 16), gone: make(chan struct{}, 16)}
	mux := &soap.Mux{}
	mux.Handle(xcaclient.ActionCrossGatewayQuery, func(w http.ResponseWriter, r *soap.Request) {
		c.mu.Lock()
		c.seen = append(c.seen, r)
		c.headers = append(c.headers, r.HTTP.Header.Clone())
		answer := c.answer
		c.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		res := &registry.QueryResult{ReturnType: registry.ReturnLeafClass, Documents: c.docs}
		_ = soap.WriteResponse(w, xcaclient.ActionCrossGatewayQuery+"Response", r.Addressing.MessageID,
			ebrim.EncodeAdhocQueryResponse(res, registry.ResponseSuccess, nil))
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

func (c *community) config() xcaclient.Community {
	return xcaclient.Community{ID: vestID, URL: c.srv.URL + "/xca/responding", Name: "Helse Vest"}
}

func entry(uid, home string) *registry.DocumentEntry {
	return &registry.DocumentEntry{
		ID: "urn:uuid:" + uid, UniqueID: "2.25." + strings.TrimPrefix(uid, "0"), PatientID: patient,
		Status: registry.StatusApproved, MimeType: "text/plain", HomeCommunityID: home,
		CreationTime: "20261201120000", RepositoryUniqueID: "2.16.578.1.12.4.5.100.1.2",
		Class: registry.Code{Code: "A00-1", Scheme: "2.16.578.1.12.4.1.1.9602"},
		Type:  registry.Code{Code: "A03-2", Scheme: "2.16.578.1.12.4.1.1.9602"},
	}
}

func findDocuments() *registry.Query {
	return &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnObjectRef, Params: []registry.Slot{
		{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + patient + "'"}},
		{Name: registry.ParamDocumentEntryStatus, Values: []string{"('" + registry.StatusApproved + "')"}},
	}}
}

func newClient(t *testing.T, c xcaclient.Community, o xcaclient.Options) *xcaclient.Client {
	t.Helper()
	cl, err := xcaclient.New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestQuerySendsITI38AndReturnsTheCommunitysDocuments(t *testing.T) {
	c := newCommunity(t)
	c.docs = []*registry.DocumentEntry{entry("11111111-1111-4111-8111-111111111111", vestID),
		entry("22222222-2222-4222-8222-222222222222", "2.16.578.1.12.4.5.100.1")} // bare OID: the same community
	cl := newClient(t, c.config(), xcaclient.Options{})
	const event = "6f1c2f8e-3c1a-4f57-9d0f-0b6f3f1b2a10"
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	res, errs, err := cl.Query(context.Background(), xcaclient.Outbound{EventID: event, Traceparent: tp}, findDocuments())
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, errs %v", err, errs)
	}
	if len(res.Documents) != 2 {
		t.Fatalf("%d documents", len(res.Documents))
	}
	for _, d := range res.Documents {
		if d.HomeCommunityID != vestID {
			t.Errorf("home %q, want %q", d.HomeCommunityID, vestID)
		}
	}
	req := c.seen[0]
	q, err := ebrim.ParseAdhocQueryRequest(req.Body())
	if err != nil {
		t.Fatal(err)
	}
	if q.HomeCommunityID != vestID || q.ReturnType != registry.ReturnLeafClass {
		t.Errorf("sent home %q returnType %q", q.HomeCommunityID, q.ReturnType)
	}
	if h := c.headers[0]; h.Get("nhn-event-id") != event || h.Get("traceparent") != tp {
		t.Errorf("HTTP headers %v", h)
	}
	id := req.Header().FindElement("./context/context-identifier")
	if id == nil || id.Text() != "urn:uuid:"+event {
		t.Errorf("no WS-Context context-identifier for the event id")
	}
}

// Every way a community can answer badly is an error for that community,
// of the right kind, and names it without internal detail.
func TestQueryFailures(t *testing.T) {
	garbage := func(w http.ResponseWriter, _ *soap.Request) {
		w.Header().Set("Content-Type", "application/soap+xml")
		_, _ = w.Write([]byte("<env:Envelope><not xml"))
	}
	wrongBody := func(w http.ResponseWriter, r *soap.Request) {
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID, ebrim.EncodeRegistryResponse(registry.Response{Status: registry.ResponseSuccess}))
	}
	fault := func(w http.ResponseWriter, _ *soap.Request) {
		_ = soap.WriteFault(w, soap.ReceiverFault("broken", nil))
	}
	html := func(w http.ResponseWriter, _ *soap.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>proxy error</html>"))
	}
	huge := func(w http.ResponseWriter, r *soap.Request) {
		var docs []*registry.DocumentEntry
		for i := range 50 {
			d := entry("33333333-3333-4333-8333-3333333333"+string(rune('a'+i%26))+string(rune('a'+i/26)), vestID)
			docs = append(docs, d)
		}
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID,
			ebrim.EncodeAdhocQueryResponse(&registry.QueryResult{ReturnType: registry.ReturnLeafClass, Documents: docs}, registry.ResponseSuccess, nil))
	}
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *soap.Request)
		limits soap.Limits
		kind   xcaclient.Kind
	}{
		{"not XML", garbage, soap.Limits{}, xcaclient.KindMalformed},
		{"not an AdhocQueryResponse", wrongBody, soap.Limits{}, xcaclient.KindMalformed},
		{"SOAP fault", fault, soap.Limits{}, xcaclient.KindFault},
		{"HTML error page", html, soap.Limits{}, xcaclient.KindMalformed},
		{"larger than the limits", huge, soap.Limits{MaxEnvelope: 8 << 10, MaxElements: 200}, xcaclient.KindMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCommunity(t)
			c.answer = tc.answer
			cl := newClient(t, c.config(), xcaclient.Options{Limits: tc.limits})
			res, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments())
			var f *xcaclient.Failure
			if !errors.As(err, &f) || !errors.Is(err, xcaclient.ErrCommunity) {
				t.Fatalf("err %v (result %v), want a Failure", err, res)
			}
			if f.Kind != tc.kind {
				t.Errorf("kind %q, want %q (%v)", f.Kind, tc.kind, err)
			}
			if !strings.HasPrefix(f.Message, "Helse Vest ") || strings.Contains(f.Message, c.srv.URL) {
				t.Errorf("message %q", f.Message)
			}
		})
	}
	t.Run("down", func(t *testing.T) {
		c := newCommunity(t)
		cfg := c.config()
		c.srv.Close()
		_, _, err := newClient(t, cfg, xcaclient.Options{}).Query(context.Background(), xcaclient.Outbound{}, findDocuments())
		var f *xcaclient.Failure
		if !errors.As(err, &f) || f.Kind != xcaclient.KindUnreachable {
			t.Fatalf("err %v", err)
		}
	})
}

// A community that does not answer within its timeout fails with
// KindTimeout, and its request is abandoned (the server sees its request
// end) rather than left running.
func TestQueryTimeoutAbandonsTheRequest(t *testing.T) {
	c := newCommunity(t)
	release := make(chan struct{})
	defer close(release)
	c.answer = func(w http.ResponseWriter, r *soap.Request) {
		c.started <- struct{}{}
		select {
		case <-r.HTTP.Context().Done():
			c.gone <- struct{}{}
		case <-release:
		}
	}
	cfg := c.config()
	cfg.Timeout = 50 * time.Millisecond
	_, _, err := newClient(t, cfg, xcaclient.Options{}).Query(context.Background(), xcaclient.Outbound{}, findDocuments())
	var f *xcaclient.Failure
	if !errors.As(err, &f) || f.Kind != xcaclient.KindTimeout {
		t.Fatalf("err %v, want a timeout", err)
	}
	if !strings.Contains(f.Message, "did not answer within 50ms") {
		t.Errorf("message %q", f.Message)
	}
	<-c.started
	<-c.gone // the community saw its request abandoned
}

// Beyond MaxConcurrent calls in flight a call fails at once (KindBusy),
// without reaching the community.
func TestQueryBoundedConcurrency(t *testing.T) {
	c := newCommunity(t)
	release := make(chan struct{})
	c.answer = func(w http.ResponseWriter, r *soap.Request) {
		c.started <- struct{}{}
		<-release
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID,
			ebrim.EncodeAdhocQueryResponse(&registry.QueryResult{ReturnType: registry.ReturnLeafClass}, registry.ResponseSuccess, nil))
	}
	cfg := c.config()
	cfg.MaxConcurrent = 2
	cl := newClient(t, cfg, xcaclient.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments())
			errs <- err
		})
	}
	<-c.started
	<-c.started // both slots taken
	_, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments())
	var f *xcaclient.Failure
	if !errors.As(err, &f) || f.Kind != xcaclient.KindBusy {
		t.Errorf("third call: %v, want busy", err)
	}
	close(release)
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("call in a slot: %v", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) != 2 {
		t.Errorf("community saw %d requests, want 2", len(c.seen))
	}
}

// Five failures within the window open the breaker: the community is
// skipped, said to be skipped, and not called, until the cooldown has
// passed; a success closes it again.
func TestQueryBreaker(t *testing.T) {
	c := newCommunity(t)
	failing := true
	c.answer = func(w http.ResponseWriter, r *soap.Request) {
		if failing {
			_ = soap.WriteFault(w, soap.ReceiverFault("broken", nil))
			return
		}
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID,
			ebrim.EncodeAdhocQueryResponse(&registry.QueryResult{ReturnType: registry.ReturnLeafClass}, registry.ResponseSuccess, nil))
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cl := newClient(t, c.config(), xcaclient.Options{Now: func() time.Time { return now }})
	query := func() error {
		_, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments())
		return err
	}
	for i := range 5 {
		var f *xcaclient.Failure
		if err := query(); !errors.As(err, &f) || f.Kind != xcaclient.KindFault {
			t.Fatalf("call %d: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	var f *xcaclient.Failure
	if err := query(); !errors.As(err, &f) || f.Kind != xcaclient.KindSkipped {
		t.Fatalf("after 5 failures: %v, want skipped", err)
	}
	if f.Message != "Helse Vest skipped: 5 failures in the last 30s" {
		t.Errorf("message %q", f.Message)
	}
	if len(c.seen) != 5 {
		t.Errorf("the skipped call reached the community (%d requests)", len(c.seen))
	}
	now = now.Add(xcaclient.DefaultBreakerCooldown)
	failing = false
	if err := query(); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	failing = true
	if err := query(); errors.As(err, &f) && f.Kind == xcaclient.KindSkipped {
		t.Errorf("one failure after a success skipped the community")
	}
}

// Objects without the community's home, or with another community's, are
// left out with an error naming the community; the community's own
// errors are passed on with its location, XDSUnknownPatientId dropped.
func TestQueryUntrustedAnswer(t *testing.T) {
	c := newCommunity(t)
	good := entry("11111111-1111-4111-8111-111111111111", vestID)
	c.answer = func(w http.ResponseWriter, r *soap.Request) {
		docs := []*registry.DocumentEntry{good, entry("22222222-2222-4222-8222-222222222222", ""),
			entry("33333333-3333-4333-8333-333333333333", "urn:oid:9.9.9")}
		res := &registry.QueryResult{ReturnType: registry.ReturnLeafClass, Documents: docs}
		errs := registry.ErrorList{
			registry.Warningf(registry.ErrCodeUnknownPatientID, "unknown patient"),
			registry.Warningf("XDSSomethingElse", "a warning without location"),
		}
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID, ebrim.EncodeAdhocQueryResponse(res, registry.ResponseSuccess, errs))
	}
	res, errs, err := newClient(t, c.config(), xcaclient.Options{}).Query(context.Background(), xcaclient.Outbound{}, findDocuments())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Documents) != 1 || res.Documents[0].ID != good.ID {
		t.Fatalf("documents %v", res.Documents)
	}
	codes := map[string]string{}
	for _, e := range errs {
		codes[e.Code] = e.Location
	}
	want := map[string]string{"XDSSomethingElse": vestID, registry.ErrCodeMissingHomeCommunityID: vestID, registry.ErrCodeUnknownCommunity: vestID}
	if len(codes) != len(want) {
		t.Errorf("errors %v", errs)
	}
	for code, loc := range want {
		if codes[code] != loc {
			t.Errorf("error %s location %q, want %q (%v)", code, codes[code], loc, errs)
		}
	}
}

// A Failure answer returns no result, and the community's errors.
func TestQueryFailureAnswer(t *testing.T) {
	c := newCommunity(t)
	c.answer = func(w http.ResponseWriter, r *soap.Request) {
		errs := registry.ErrorList{registry.Errorf(registry.ErrCodeRegistryError, "internal")}
		_ = soap.WriteResponse(w, "urn:x", r.Addressing.MessageID, ebrim.EncodeAdhocQueryResponse(nil, registry.ResponseFailure, errs))
	}
	res, errs, err := newClient(t, c.config(), xcaclient.Options{}).Query(context.Background(), xcaclient.Outbound{}, findDocuments())
	if err != nil || res != nil {
		t.Fatalf("res %v err %v", res, err)
	}
	if len(errs) != 1 || errs[0].Location != vestID || errs[0].Code != registry.ErrCodeRegistryError {
		t.Errorf("errors %v", errs)
	}
}

// An outbound identity that cannot be made fails the call before the
// community is asked, and does not count against its breaker.
func TestQueryIdentityFailure(t *testing.T) {
	c := newCommunity(t)
	var audience string
	cl := newClient(t, c.config(), xcaclient.Options{Identity: func(_ context.Context, _ *trust.Principal, aud string) ([]*etree.Element, error) {
		audience = aud
		return nil, errors.New("no attestation")
	}})
	for range xcaclient.DefaultBreakerFailures + 1 {
		_, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments())
		var f *xcaclient.Failure
		if !errors.As(err, &f) || f.Kind != xcaclient.KindIdentity {
			t.Fatalf("err %v, want an identity failure", err)
		}
	}
	if len(c.seen) != 0 {
		t.Errorf("the community was asked %d times", len(c.seen))
	}
	if audience != vestID {
		t.Errorf("audience %q, want the community's id", audience)
	}
}

// The identity's header blocks go into the SOAP header.
func TestQuerySendsTheIdentity(t *testing.T) {
	c := newCommunity(t)
	cl := newClient(t, c.config(), xcaclient.Options{Identity: func(context.Context, *trust.Principal, string) ([]*etree.Element, error) {
		sec := etree.NewElement("wsse:Security")
		sec.CreateAttr("xmlns:wsse", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd")
		return []*etree.Element{sec}, nil
	}})
	if _, _, err := cl.Query(context.Background(), xcaclient.Outbound{}, findDocuments()); err != nil {
		t.Fatal(err)
	}
	if c.seen[0].Security() == nil {
		t.Error("no wsse:Security header reached the community")
	}
}

func TestParseCommunity(t *testing.T) {
	c, err := xcaclient.ParseCommunity("2.16.578.1.12.4.5.100.1=https://vest.example/xca/responding;name=Helse Vest;timeout=2s;max=4")
	if err != nil {
		t.Fatal(err)
	}
	want := xcaclient.Community{ID: vestID, URL: "https://vest.example/xca/responding", Name: "Helse Vest", Timeout: 2 * time.Second, MaxConcurrent: 4}
	if c != want {
		t.Errorf("got %+v", c)
	}
	for _, bad := range []string{
		"",
		"urn:oid:1.2.3",                                // no URL
		"urn:oid:1.2.x=https://a.example/",             // not an OID
		"urn:oid:1.02.3=https://a.example/",            // leading zero
		"urn:uuid:1.2.3=https://a.example/",            // not urn:oid
		"urn:oid:1.2.3=ftp://a.example/",               // not http(s)
		"urn:oid:1.2.3=https://u:p@a.example/",         // credentials in the URL
		"urn:oid:1.2.3=https://a.example/;timeout=abc", // bad duration
		"urn:oid:1.2.3=https://a.example/;max=x",       // bad number
		"urn:oid:1.2.3=https://a.example/;colour=red",  // unknown option
		"urn:oid:1.2.3=https://a.example/;name",        // option without value
		"urn:oid:1.2.3=https://a.example/;cert=/x.pem", // cert without key
		"urn:oid:1.2.3=http://a.example/;ca=/x.pem",    // TLS option on http
		"urn:oid:1.2.3=https://a.example/;ca=/nonexistent/ca.pem",
		"urn:oid:1.2.3=https://a.example/;timeout=-1s",
		"urn:oid:1." + strings.Repeat("1", 70) + "=https://a.example/", // OID over 64 characters
	} {
		if _, err := xcaclient.ParseCommunity(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A consumer's searches reuse one cached XUA assertion (trust.XUACache),
// but the correlation id travels outside it: each call carries its own
// nhn-event-id (HTTP header and WS-Context), never the one of the call
// the assertion was first minted for.
func TestQueryReusedAssertionCarriesEachCallsEventID(t *testing.T) {
	key, cert, err := devissuer.LoadOrCreateXUASigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &trust.XUAMinter{Signer: &trust.SAMLSigner{Key: key, Cert: cert}, Issuer: "https://pjd.test/xua",
		HomeCommunityID: "urn:oid:2.16.578.1.12.4.5.100", Cache: trust.NewXUACache(8)}
	identity := func(_ context.Context, p *trust.Principal, audience string) ([]*etree.Element, error) {
		a, err := m.Mint(p, audience)
		if err != nil {
			return nil, err
		}
		return []*etree.Element{trust.SecurityHeader(a, time.Now())}, nil
	}
	c := newCommunity(t)
	cl := newClient(t, c.config(), xcaclient.Options{Identity: identity})
	p := &trust.Principal{Kind: trust.HealthWorker, HasAttestation: true, Subject: "13915810033", SecurityLevel: 4,
		AttestedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	events := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"}
	for _, ev := range events {
		if _, _, err := cl.Query(context.Background(), xcaclient.Outbound{Principal: p, EventID: ev}, findDocuments()); err != nil {
			t.Fatal(err)
		}
	}
	if m.Cache.Hits() != 1 {
		t.Fatalf("cache hits %d, want the second call to reuse the assertion", m.Cache.Hits())
	}
	var ids []string
	for i, r := range c.seen {
		a := r.Security().FindElement("./Assertion")
		if a == nil {
			t.Fatalf("call %d: no assertion", i)
		}
		ids = append(ids, a.SelectAttrValue("ID", ""))
		if got := c.headers[i].Get(xcaclient.HeaderEventID); got != events[i] {
			t.Errorf("call %d: nhn-event-id %q, want %q", i, got, events[i])
		}
		ctxID := r.Header().FindElement("./context/context-identifier")
		if ctxID == nil || ctxID.Text() != "urn:uuid:"+events[i] {
			t.Errorf("call %d: WS-Context %v, want urn:uuid:%s", i, ctxID, events[i])
		}
		d := etree.NewDocument()
		d.SetRoot(a.Copy())
		s, _ := d.WriteToString()
		for _, ev := range events {
			if strings.Contains(s, ev) {
				t.Errorf("call %d: the assertion carries the event id %s", i, ev)
			}
		}
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("assertion ids %v: want one reused assertion", ids)
	}
}
