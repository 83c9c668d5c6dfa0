package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"pjd/gateway/audit"
	"pjd/gateway/tracing"
	"pjd/gateway/xcaclient"
	"pjd/registry"
)

// Federation (issue 12). A Guard configured with Communities is this
// node's XCA initiating gateway on every consumer path that goes through
// FindDocuments (ITI-67, the UI list): the local registry and every
// community are asked IN PARALLEL, each community within its own deadline
// (xcaclient), and their entries are merged into one set before policy
// decides — so NORS hiding, windows and blocks apply to a remote entry as
// to a local one — and before the caller sorts and pages it, so paging is
// one sequence over all communities. The search is audited ONCE, with
// each community's outcome and the documents each returned (their home).
//
// A community that fails (down, slow past its deadline, garbage, skipped
// by its breaker) never fails the search: FindResult.Communities names it
// and the protocol edge tells the consumer (MHD: an OperationOutcome
// entry; XDS: XDSUnavailableCommunity with PartialSuccess).
//
// [judgement] a failure of the local registry fails the search as it does
// without federation (503): this node's own registry is the one source a
// consumer cannot be told to do without.

// ErrCodeUnavailableCommunity is the RegistryError of a community that
// would have been asked but gave no answer (ITI TF-3 Table 4.2.4.1-2; only
// an initiating gateway raises it, in ITI-18/ITI-43 answers).
const ErrCodeUnavailableCommunity = "XDSUnavailableCommunity"

// Community is one other community a federated search asks; an
// *xcaclient.Client.
type Community interface {
	Community() xcaclient.Community
	Query(ctx context.Context, out xcaclient.Outbound, q *registry.Query) (*registry.QueryResult, registry.ErrorList, error)
	RetrieveOne(ctx context.Context, out xcaclient.Outbound, repositoryUniqueID, uniqueID string) (*xcaclient.Document, error)
}

// CommunityOutcome is one community's part in a federated search.
type CommunityOutcome struct {
	ID   string // homeCommunityId, urn:oid:…
	Name string // display name
	// Failed: the community's documents are missing from the answer (no
	// valid answer, or an answer of Failure); the consumer must be told.
	Failed bool
	// Kind is the xcaclient.Kind of a failure, "errors" for an answer
	// that carried RegistryErrors, "" for a clean answer.
	Kind string
	// Message says what happened, safe for the consumer (no URL, no Go
	// error text).
	Message string
	// Errors are the RegistryErrors to pass on to an XDS consumer, each
	// with a location.
	Errors registry.ErrorList
	// Documents is how many entries the community returned (before
	// policy).
	Documents int
}

// federating reports whether searches go to other communities too.
func (g *Guard) federating() bool { return len(g.communities) > 0 }

// HomeCommunityID is this node's homeCommunityId when it federates with
// other communities, else "".
func (g *Guard) HomeCommunityID() string {
	if !g.federating() {
		return ""
	}
	return g.home
}

// withEventID gives a federated call the correlation id it carries to
// every community: the consumer's nhn-event-id, else a new one (recorded
// in the audit record too, so both sides share it).
func (g *Guard) withEventID(c Call) Call {
	if g.federating() && c.EventID == "" {
		c.EventID = uuid.NewString()
	}
	return c
}

// findAll returns the entries of f from the local registry and, when
// federating, from every community, and each community's outcome.
// Remote entries carry their community's home; local ones this node's.
//
// f may select the patient by every number linked to the asked one
// (PatientIDs, ITI-104 links, which are this node's knowledge): the
// communities are asked for the patient as the consumer named it
// (asked, a CX), and their entries are kept when they are that patient's.
func (g *Guard) findAll(ctx context.Context, c Call, f registry.DocumentFilter, asked string) ([]*registry.DocumentEntry, []CommunityOutcome, error) {
	if !g.federating() {
		docs, err := g.reg.Reader().Documents(ctx, f)
		return docs, nil, err
	}
	ctx, span := tracing.Start(ctx, "federated search")
	defer span.End()
	out := xcaclient.Outbound{Principal: c.Principal, EventID: c.EventID, Traceparent: c.Traceparent}
	rf := f
	rf.PatientID, rf.PatientIDs = asked, nil
	q := remoteQuery(rf)
	outcomes := make([]CommunityOutcome, len(g.communities))
	remote := make([][]*registry.DocumentEntry, len(g.communities))
	var wg sync.WaitGroup
	for i, cm := range g.communities {
		wg.Go(func() {
			cctx, cspan := tracing.StartClient(ctx, "ITI-38 "+cm.Community().ID, tracing.AttrCommunity.String(cm.Community().ID))
			res, errs, err := cm.Query(cctx, out, q)
			outcomes[i], remote[i] = g.outcome(cctx, cm.Community(), res, errs, err, rf)
			cspan.SetAttributes(tracing.AttrOutcome.String(outcomeName(outcomes[i])))
			tracing.End(cspan, err)
		})
	}
	lctx, lspan := tracing.Start(ctx, "local registry query")
	local, lerr := g.reg.Reader().Documents(lctx, f)
	tracing.End(lspan, lerr)
	wg.Wait()
	if lerr != nil {
		return nil, nil, lerr
	}
	for _, d := range local {
		if d.HomeCommunityID == "" {
			d.HomeCommunityID = g.home
		}
	}
	docs := local
	for _, r := range remote {
		docs = append(docs, r...)
	}
	return docs, outcomes, nil
}

// outcomeName is the outcome a community span records: "ok", "errors"
// (answered with errors) or the failure kind (unreachable, timeout, …).
func outcomeName(o CommunityOutcome) string {
	if o.Kind == "" {
		return "ok"
	}
	return o.Kind
}

// outcome turns one community's answer into its outcome and the entries
// that match f.
func (g *Guard) outcome(ctx context.Context, cm xcaclient.Community, res *registry.QueryResult, errs registry.ErrorList, err error,
	f registry.DocumentFilter) (CommunityOutcome, []*registry.DocumentEntry) {
	o := CommunityOutcome{ID: cm.ID, Name: cm.DisplayName(), Errors: errs}
	var fail *xcaclient.Failure
	switch {
	case errors.As(err, &fail):
		g.log.WarnContext(ctx, "federated search: community failed", "community", cm.ID, "kind", fail.Kind, "err", err)
		o.Failed, o.Kind, o.Message = true, string(fail.Kind), fail.Message
		o.Errors = append(o.Errors, registry.Error{Code: ErrCodeUnavailableCommunity, Severity: registry.SeverityError,
			Location: cm.ID, Context: fmt.Sprintf("%s (%s): %s", cm.DisplayName(), cm.ID, strings.TrimPrefix(fail.Message, cm.DisplayName()+" "))})
		return o, nil
	case err != nil:
		// The consumer went away, or something that is not the
		// community's fault: the community's part is missing all the same.
		o.Failed, o.Kind, o.Message = true, string(xcaclient.KindUnreachable), cm.DisplayName()+" could not be asked"
		o.Errors = append(o.Errors, registry.Error{Code: ErrCodeUnavailableCommunity, Severity: registry.SeverityError,
			Location: cm.ID, Context: cm.DisplayName() + " (" + cm.ID + ") could not be asked"})
		return o, nil
	case res == nil:
		o.Failed, o.Kind, o.Message = true, "errors", cm.DisplayName()+" answered with an error"
		return o, nil
	}
	if errs.Failed() {
		o.Kind, o.Message = "errors", cm.DisplayName()+" answered with errors; some of its documents may be missing"
	}
	o.Documents = len(res.Documents)
	docs := slices.DeleteFunc(res.Documents, func(d *registry.DocumentEntry) bool { return !matchesFilter(f, d) })
	return o, docs
}

// remoteQuery is the FindDocuments stored query that asks a community for
// (a superset of) what f selects: the patient, statuses, class and type
// codes and the creation-time range. What it cannot say (uniqueIds, …)
// is applied to the answer by matchesFilter, and FindRequest.Match
// decides every entry exactly as for local ones.
func remoteQuery(f registry.DocumentFilter) *registry.Query {
	q := &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass}
	add := func(name string, values ...string) {
		q.Params = append(q.Params, registry.Slot{Name: name, Values: values})
	}
	add(registry.ParamDocumentEntryPatientID, quote(f.PatientID))
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{registry.StatusApproved}
	}
	add(registry.ParamDocumentEntryStatus, list(statuses))
	codes := func(name string, cs registry.CodeSet) {
		if len(cs) == 0 {
			return
		}
		vs := make([]string, len(cs))
		for i, c := range cs {
			vs[i] = c.Code + "^^" + c.Scheme
		}
		add(name, list(vs))
	}
	codes(registry.ParamDocumentEntryClassCode, f.Classes)
	codes(registry.ParamDocumentEntryTypeCode, f.Types)
	if f.CreationTime.From != "" {
		add(registry.ParamDocumentEntryCreationTimeFrom, f.CreationTime.From)
	}
	if f.CreationTime.To != "" {
		add(registry.ParamDocumentEntryCreationTimeTo, f.CreationTime.To)
	}
	return q
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func list(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	return "(" + strings.Join(q, ",") + ")"
}

// matchesFilter applies to a remote entry the parts of f a community
// cannot be trusted to (or cannot) apply: the patient, statuses,
// uniqueIds, class and type codes, creation time.
func matchesFilter(f registry.DocumentFilter, d *registry.DocumentEntry) bool {
	if f.PatientID != "" && patientNumber(d.PatientID) != patientNumber(f.PatientID) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, d.Status) {
		return false
	}
	if len(f.UniqueIDs) > 0 && !slices.Contains(f.UniqueIDs, d.UniqueID) {
		return false
	}
	inSet := func(cs registry.CodeSet, c registry.Code) bool {
		return len(cs) == 0 || slices.ContainsFunc(cs, func(x registry.Code) bool { return x.Code == c.Code && x.Scheme == c.Scheme })
	}
	if !inSet(f.Classes, d.Class) || !inSet(f.Types, d.Type) {
		return false
	}
	if !f.CreationTime.IsZero() {
		t, err := registry.NormalizeDTM(d.CreationTime)
		if err != nil {
			return false
		}
		if from, err := registry.NormalizeDTM(f.CreationTime.From); f.CreationTime.From != "" && (err != nil || t < from) {
			return false
		}
		if to, err := registry.NormalizeDTM(f.CreationTime.To); f.CreationTime.To != "" && (err != nil || t >= to) {
			return false
		}
	}
	return true
}

// auditCommunities is the record's part for each community asked.
func auditCommunities(os []CommunityOutcome) []audit.Community {
	var out []audit.Community
	for _, o := range os {
		ac := audit.Community{ID: o.ID, Name: o.Name, Outcome: audit.CommunityAnswered, Documents: o.Documents}
		if o.Failed {
			ac.Outcome, ac.Reason = o.Kind, o.Message
		} else if o.Kind != "" {
			ac.Reason = o.Message
		}
		out = append(out, ac)
	}
	return out
}

// community is the configured community with homeCommunityId home, or nil.
func (g *Guard) community(home string) Community {
	for _, cm := range g.communities {
		if xcaclient.SameID(cm.Community().ID, home) {
			return cm
		}
	}
	return nil
}

// ErrUnknownCommunity: a retrieval names a community this node neither is
// nor federates with (XDSUnknownCommunity).
var ErrUnknownCommunity = errors.New("access: unknown community")

// openRemote authorizes reading a document another community holds
// (ITI-68, the UI viewer, on a federating node). Its metadata is fetched
// first (ITI-38 GetDocuments) so that policy decides on it exactly as on
// a local entry and the retrieval is audited, before the community is
// asked for the bytes (ITI-39) — which happens only when the caller opens
// the document. A community that cannot be asked is an error matching
// xcaclient.ErrCommunity (the edge answers 503, naming it).
func (g *Guard) openRemote(ctx context.Context, c Call, cm Community, repositoryUniqueID, uniqueID, patientHint string) (*Document, error) {
	// One correlation id on both sides, given or not by the consumer.
	c = g.withEventID(c)
	info := cm.Community()
	out := xcaclient.Outbound{Principal: c.Principal, EventID: c.EventID, Traceparent: c.Traceparent}
	q := &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass, HomeCommunityID: info.ID,
		Params: []registry.Slot{{Name: registry.ParamDocumentEntryUniqueID, Values: []string{list([]string{uniqueID})}}}}
	qctx, qspan := tracing.StartClient(ctx, "ITI-38 "+info.ID, tracing.AttrCommunity.String(info.ID))
	res, errs, err := cm.Query(qctx, out, q)
	qspan.SetAttributes(tracing.AttrOutcome.String(lookupOutcome(res, errs, err)))
	tracing.End(qspan, err)
	if err != nil {
		_ = g.RecordError(context.WithoutCancel(ctx), c, audit.ActionRead, patientHint, "the document's community could not be asked: "+info.DisplayName())
		return nil, err
	}
	var d *registry.DocumentEntry
	if res != nil {
		for _, e := range res.Documents {
			if e.UniqueID == uniqueID && e.RepositoryUniqueID == repositoryUniqueID && (d == nil || e.Status == registry.StatusApproved) {
				d = e
			}
		}
	}
	if d == nil {
		if errs.Failed() {
			g.log.InfoContext(ctx, "remote document lookup answered with errors", "community", info.ID, "errors", errs.Error())
		}
		return g.notFound(ctx, c, uniqueID, patientHint)
	}
	return g.authorize(ctx, c, d, patientHint, []audit.Community{{ID: info.ID, Name: info.DisplayName(), Outcome: audit.CommunityAnswered, Documents: 1}},
		func(ctx context.Context) (io.ReadCloser, int64, error) {
			// The ITI-39 span lasts until the document has been read
			// (the body closed): the bytes stream from the community.
			rctx, rspan := tracing.StartClient(ctx, "ITI-39 "+info.ID, tracing.AttrCommunity.String(info.ID))
			doc, err := cm.RetrieveOne(rctx, out, repositoryUniqueID, uniqueID)
			if l, ok := registry.AsErrors(err); ok {
				// The community listed the document but does not return it.
				rspan.SetAttributes(tracing.AttrOutcome.String("errors"))
				tracing.End(rspan, err)
				return nil, 0, fmt.Errorf("%w: %s: %v", ErrNotFound, info.DisplayName(), l)
			}
			if err != nil {
				rspan.SetAttributes(tracing.AttrOutcome.String(failureKind(err)))
				tracing.End(rspan, err)
				return nil, 0, err
			}
			rspan.SetAttributes(tracing.AttrOutcome.String("ok"))
			// The size is unknown (-1): the metadata's is the
			// community's word, not the bytes that come.
			return &remoteBody{d: doc, end: func() { rspan.End() }}, -1, nil
		})
}

// lookupOutcome is the outcome of openRemote's metadata lookup for its
// span: "ok", "errors" (answered with errors) or the failure kind.
func lookupOutcome(res *registry.QueryResult, errs registry.ErrorList, err error) string {
	switch {
	case err != nil:
		return failureKind(err)
	case res == nil || errs.Failed():
		return "errors"
	}
	return "ok"
}

// failureKind is the xcaclient failure kind of err (unreachable when it is
// not a community's failure).
func failureKind(err error) string {
	var fail *xcaclient.Failure
	if errors.As(err, &fail) {
		return string(fail.Kind)
	}
	return string(xcaclient.KindUnreachable)
}

// remoteBody reads a document a community streams, and releases the
// connection (and ends the ITI-39 span) when closed.
type remoteBody struct {
	d    *xcaclient.Document
	end  func()
	once sync.Once
}

func (b *remoteBody) Read(p []byte) (int, error) { return b.d.Body.Read(p) }
func (b *remoteBody) Close() error {
	err := b.d.Close()
	b.once.Do(b.end)
	return err
}

// CommunityName is the display name of the community home, or home
// itself when this node does not federate with it.
func (g *Guard) CommunityName(home string) string {
	if cm := g.community(home); cm != nil {
		return cm.Community().DisplayName()
	}
	return home
}
