package conformance

import (
	"context"
	"fmt"
	"slices"

	"github.com/beevik/etree"

	"pjd/gateway/soap"
	"pjd/gateway/xca"
	"pjd/registry"
	"pjd/registry/ebrim"
)

// XCA Initiating Gateway (/xca/initiating, XDS Affinity Domain option):
// what can be checked against any target, federating or not — ITI-18
// answered with the local documents, home on every object; the id-based
// queries require home; an unknown community is XDSUnknownCommunity.

func initiatingQuery(ctx context.Context, c *soap.Client, base string, q *registry.Query) (*registry.QueryResult, registry.Response, *etree.Element, error) {
	return soapQuery(ctx, c, base+xca.InitiatingPath, ebrim.ActionStoredQuery, q)
}

func xigQuery(ctx context.Context, t *T) error {
	home, p, entries, _, err := t.xcaSeed(ctx, 1)
	if err != nil {
		return err
	}
	uid := entries[0].UniqueID
	q := findDocuments(p)
	res, rr, body, err := initiatingQuery(ctx, t.systemXCA(), t.env.target.BaseURL, q)
	if err != nil {
		return err
	}
	// Communities the target federates with may fail (PartialSuccess, one
	// XDSUnavailableCommunity each); the local document is there anyway.
	if rr.Status == registry.ResponseFailure {
		return fmt.Errorf("/xca/initiating FindDocuments: Failure %v", rr.Errors)
	}
	for _, e := range rr.Errors {
		if e.Location == "" {
			return fmt.Errorf("/xca/initiating FindDocuments: error without location %+v", e)
		}
	}
	i := slices.IndexFunc(res.Documents, func(d *registry.DocumentEntry) bool { return d.UniqueID == uid })
	if i < 0 || !sameCommunity(res.Documents[i].HomeCommunityID, home) {
		return fmt.Errorf("/xca/initiating FindDocuments: the target's document %s is missing or not of home %s", uid, home)
	}
	if err := eachObject(body, func(o *etree.Element) error {
		if o.SelectAttrValue("home", "") == "" {
			return fmt.Errorf("/xca/initiating: %s %s has no home", o.Tag, o.SelectAttrValue("id", ""))
		}
		return nil
	}); err != nil {
		return err
	}
	// The id-based query needs home; with the target's own it finds the
	// document; with an unknown community it is XDSUnknownCommunity.
	byID := NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).List(registry.ParamDocumentEntryUniqueID, uid).Query()
	res, rr, _, err = initiatingQuery(ctx, t.systemXCA(), t.env.target.BaseURL, byID)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure || res.Len() != 0 || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeMissingHomeCommunityID {
		return fmt.Errorf("/xca/initiating GetDocuments without home: %s %v, want Failure %s", rr.Status, rr.Errors, registry.ErrCodeMissingHomeCommunityID)
	}
	byID.HomeCommunityID = home
	res, rr, _, err = initiatingQuery(ctx, t.systemXCA(), t.env.target.BaseURL, byID)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseSuccess || len(res.Documents) != 1 || res.Documents[0].UniqueID != uid {
		return fmt.Errorf("/xca/initiating GetDocuments with the target's home: %s %v, %d documents", rr.Status, rr.Errors, len(res.Documents))
	}
	byID.HomeCommunityID = "urn:oid:2.999.9.8.7"
	res, rr, _, err = initiatingQuery(ctx, t.systemXCA(), t.env.target.BaseURL, byID)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure || res.Len() != 0 || len(rr.Errors) != 1 || rr.Errors[0].Code != registry.ErrCodeUnknownCommunity ||
		rr.Errors[0].Location != byID.HomeCommunityID {
		return fmt.Errorf("/xca/initiating GetDocuments of an unknown community: %s %v, want Failure %s at %s", rr.Status, rr.Errors,
			registry.ErrCodeUnknownCommunity, byID.HomeCommunityID)
	}
	return nil
}
