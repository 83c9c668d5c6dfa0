package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"pjd/gateway/audit"
	"pjd/gateway/tracing"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/trust/policy"
)

// The Initiating Gateway's stored query (ITI-18 on /xca/initiating, XDS
// Affinity Domain option; ITI TF-1 §18.2.1, §18.2.3.1): the same Guard,
// the same policy and the same audit as ITI-18 on /xds/registry, over the
// local registry and the communities.

// FederatedResult is the answer to a federated stored query.
type FederatedResult struct {
	*registry.QueryResult
	// Homes is the homeCommunityId of every object of the answer, by id
	// (an ObjectRef answer carries ids only).
	Homes map[string]string
	// Communities is each community's part (in configuration order).
	Communities []CommunityOutcome
	// LocalAsked: the local registry answered (the answer is at worst a
	// PartialSuccess when a community failed).
	LocalAsked bool
}

// Errors are the RegistryErrors of the answer: the registry's warnings and
// every community's errors, each with its location.
func (r *FederatedResult) Errors() registry.ErrorList {
	l := slices.Clone(r.Warnings)
	for _, o := range r.Communities {
		l = append(l, o.Errors...)
	}
	return l
}

// FederatedQuery runs an ITI-18 stored query as the initiating gateway.
// home is AdhocQuery/@home: "" asks the local registry and every
// community in parallel (the query must name a patient: the edge requires
// home on the id-based queries), this node's id asks the local registry
// only, another community's id asks that community only, and a community
// this node does not federate with is ErrUnknownCommunity. The entries of
// all are merged before policy decides on them, and the query is audited
// once, with each community's outcome.
func (g *Guard) FederatedQuery(ctx context.Context, c Call, q *registry.Query) (*FederatedResult, error) {
	c = g.withEventID(c)
	local, cms := true, g.communities
	if home := q.HomeCommunityID; home != "" {
		switch {
		case g.home != "" && xcaclient.SameID(home, g.home):
			cms = nil
		case g.community(home) != nil:
			local, cms = false, []Community{g.community(home)}
		default:
			if err := g.RecordRefusal(ctx, c, audit.ActionQuery, queryPatient(q), "unknown-community", "homeCommunityId "+home+" is not known here"); err != nil {
				return nil, err
			}
			return nil, ErrUnknownCommunity
		}
	}
	patient := queryPatient(q)
	system := isSystem(c.Principal)
	if !system {
		if patient == "" {
			patient = impliedPatient(c.Principal)
		}
		if patient != "" {
			pre, err := g.decide(ctx, c, policy.ActionFind, patient, nil)
			if err != nil {
				return nil, err
			}
			if !pre.Permitted() {
				res, err := g.queryDenied(ctx, c, q, patient, pre, nil)
				if err != nil {
					return nil, err
				}
				return &FederatedResult{QueryResult: res, LocalAsked: true}, nil
			}
		}
	}
	inner := *q
	inner.ReturnType = registry.ReturnLeafClass
	inner.HomeCommunityID = ""
	merged, outcomes, err := g.askAll(ctx, c, &inner, local, cms, patient)
	if err != nil {
		return nil, g.queryRejected(ctx, c, q, err)
	}
	homes := map[string]string{}
	for _, d := range merged.Documents {
		homes[d.ID] = d.HomeCommunityID
	}
	for _, s := range merged.SubmissionSets {
		homes[s.ID] = s.HomeCommunityID
	}
	for _, f := range merged.Folders {
		homes[f.ID] = f.HomeCommunityID
	}
	var (
		out *registry.QueryResult
		r   audit.Record
	)
	if system {
		out = merged
		r = g.record(c, audit.ActionQuery)
		r.Outcome = audit.OutcomePermit
		r.Rule, r.Reason = ruleSystem, reasonSystem
		r.PatientID = patient
		for _, d := range merged.Documents {
			r.Documents = append(r.Documents, auditDocument(d, audit.DocReturned))
			if r.PatientID == "" {
				r.PatientID = patientNumber(d.PatientID)
			}
		}
		if q.ReturnType == registry.ReturnObjectRef {
			asObjectRefs(out)
		}
	} else {
		if patient == "" {
			patient = resultPatient(merged)
		}
		dec, err := g.decide(ctx, c, policy.ActionFind, patient, merged.Documents)
		if err != nil {
			return nil, err
		}
		if !dec.Permitted() {
			res, err := g.queryDenied(ctx, c, q, patient, dec, merged.Documents)
			if err != nil {
				return nil, err
			}
			return &FederatedResult{QueryResult: res, LocalAsked: true}, nil
		}
		out, r = g.permittedQuery(c, q, merged, dec, patient)
	}
	out.ReturnType = q.ReturnType
	r.Communities = auditCommunities(outcomes)
	if err := g.commit(ctx, r); err != nil {
		return nil, err
	}
	return &FederatedResult{QueryResult: out, Homes: homes, Communities: outcomes, LocalAsked: local}, nil
}

// askAll runs q (LeafClass) on the local registry (when local) and on
// every community of cms in parallel, and merges the answers: every object
// carries its community's home; a community's objects of another patient
// than patient (when given) are left out, with the associations naming
// them. A failure of the local registry is the error; a community's is
// its outcome.
func (g *Guard) askAll(ctx context.Context, c Call, q *registry.Query, local bool, cms []Community, patient string) (*registry.QueryResult, []CommunityOutcome, error) {
	out := xcaclient.Outbound{Principal: c.Principal, EventID: c.EventID, Traceparent: c.Traceparent}
	outcomes := make([]CommunityOutcome, len(cms))
	remote := make([]*registry.QueryResult, len(cms))
	var wg sync.WaitGroup
	for i, cm := range cms {
		wg.Go(func() {
			cctx, cspan := tracing.StartClient(ctx, "ITI-38 "+cm.Community().ID, tracing.AttrCommunity.String(cm.Community().ID))
			res, errs, err := cm.Query(cctx, out, q)
			var f registry.DocumentFilter
			if patient != "" {
				f.PatientID = patient
			}
			var kept []*registry.DocumentEntry
			var all []*registry.DocumentEntry
			if res != nil {
				all = slices.Clone(res.Documents)
			}
			outcomes[i], kept = g.outcome(cctx, cm.Community(), res, errs, err, f)
			cspan.SetAttributes(tracing.AttrOutcome.String(outcomeName(outcomes[i])))
			tracing.End(cspan, err)
			if res == nil || outcomes[i].Failed {
				return
			}
			dropped := map[string]bool{}
			for _, d := range all {
				if !slices.Contains(kept, d) {
					dropped[d.ID] = true
				}
			}
			res.Documents = kept
			mine := func(p string) bool { return patient == "" || patientNumber(p) == patient }
			res.SubmissionSets = slices.DeleteFunc(res.SubmissionSets, func(s *registry.SubmissionSet) bool {
				dropped[s.ID] = dropped[s.ID] || !mine(s.PatientID)
				return dropped[s.ID]
			})
			res.Folders = slices.DeleteFunc(res.Folders, func(f *registry.Folder) bool {
				dropped[f.ID] = dropped[f.ID] || !mine(f.PatientID)
				return dropped[f.ID]
			})
			res.Associations = withoutHidden(res.Associations, dropped)
			remote[i] = res
		})
	}
	merged := &registry.QueryResult{ReturnType: registry.ReturnLeafClass}
	var lerr error
	if local {
		var res *registry.QueryResult
		if res, lerr = g.reg.Query(ctx, q); lerr == nil {
			merged = res
			for _, d := range res.Documents {
				d.HomeCommunityID = cmpOr(d.HomeCommunityID, g.home)
			}
			for _, s := range res.SubmissionSets {
				s.HomeCommunityID = cmpOr(s.HomeCommunityID, g.home)
			}
			for _, f := range res.Folders {
				f.HomeCommunityID = cmpOr(f.HomeCommunityID, g.home)
			}
		}
	}
	wg.Wait()
	if lerr != nil {
		return nil, nil, lerr
	}
	for _, r := range remote {
		if r == nil {
			continue
		}
		merged.Documents = append(merged.Documents, r.Documents...)
		merged.SubmissionSets = append(merged.SubmissionSets, r.SubmissionSets...)
		merged.Folders = append(merged.Folders, r.Folders...)
		merged.Associations = append(merged.Associations, r.Associations...)
	}
	if !local && len(cms) == 1 && outcomes[0].Failed && len(outcomes[0].Errors) == 0 {
		// A Failure answer without errors still says who failed.
		outcomes[0].Errors = registry.ErrorList{{Code: registry.ErrCodeRegistryError, Severity: registry.SeverityError,
			Location: outcomes[0].ID, Context: outcomes[0].Message}}
	}
	return merged, outcomes, nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// RemoteFailure reports whether err is a community's failure (down, slow,
// garbage, skipped, busy): XDSUnavailableCommunity at an XDS edge.
func RemoteFailure(err error) (xcaclient.Community, string, bool) {
	var f *xcaclient.Failure
	if errors.As(err, &f) {
		name := f.Community.DisplayName()
		return f.Community, fmt.Sprintf("%s (%s): %s", name, f.Community.ID, strings.TrimPrefix(f.Message, name+" ")), true
	}
	return xcaclient.Community{}, "", false
}

// IsHome reports whether home names this node's own community ("" does
// not).
func (g *Guard) IsHome(home string) bool {
	return home != "" && g.home != "" && xcaclient.SameID(home, g.home)
}

// Federates reports whether home is a community this node federates with.
func (g *Guard) Federates(home string) bool { return g.community(home) != nil }
