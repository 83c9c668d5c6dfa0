package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"pjd/gateway/access"
	"pjd/gateway/xcaclient"
	"pjd/trust"
)

// communityFlag collects --community values. Each is one community
// (xcaclient.ParseCommunity's form); repeating the flag adds one. In the
// environment (PJD_COMMUNITY) or the config file (community = …), where
// a setting is given once, several are separated by commas: a comma
// followed by "urn:oid:" starts the next one.
type communityFlag []string

func (c *communityFlag) String() string { return strings.Join(*c, ",") }

func (c *communityFlag) Set(s string) error {
	for {
		i := strings.Index(s, ",urn:oid:")
		if j := strings.Index(s, ", urn:oid:"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			break
		}
		*c = append(*c, strings.TrimSpace(s[:i]))
		s = strings.TrimLeft(s[i+1:], " ")
	}
	if s = strings.TrimSpace(s); s != "" {
		*c = append(*c, s)
	}
	return nil
}

// federationFlags are serve's settings of federation (issue 12).
type federationFlags struct {
	specs communityFlag
	// communities are specs parsed and validated (validate fills it).
	communities []xcaclient.Community
}

func (f *federationFlags) define(fs *flag.FlagSet) {
	fs.Var(&f.specs, "community", "another community to federate searches to (XCA initiating gateway): "+
		"'urn:oid:<homeCommunityId>=<responding gateway URL>[;name=<display name>][;timeout=3s][;max=16][;cert=<PEM>;key=<PEM>][;ca=<PEM>]'; "+
		"repeatable (in the environment or config file, separate several with commas)")
}

// checkFederation parses the communities; federating needs this node's
// own homeCommunityId, and no community may be this node or be named twice.
func (c *serveConfig) checkFederation(p *problems) {
	c.federation.communities = nil
	seen := map[string]bool{}
	for _, spec := range c.federation.specs {
		cm, err := xcaclient.ParseCommunity(spec)
		if err != nil {
			p.addf("--community: %v", err)
			continue
		}
		if seen[cm.ID] {
			p.addf("--community: %s given twice", cm.ID)
		}
		seen[cm.ID] = true
		if home := c.respondingHome(); home != "" && xcaclient.SameID(home, cm.ID) {
			p.addf("--community: %s is this node's own --home-community-id", cm.ID)
		}
		c.federation.communities = append(c.federation.communities, cm)
	}
	if len(c.federation.specs) > 0 && c.respondingHome() == "" {
		p.addf("--community needs --home-community-id (this node's own community)")
	}
}

// communities makes the client of each configured community.
func (c *serveConfig) communityClients(_ context.Context, identity xcaclient.IdentityFunc) ([]access.Community, error) {
	var out []access.Community
	for _, cm := range c.federation.communities {
		cl, err := xcaclient.New(cm, xcaclient.Options{Identity: identity})
		if err != nil {
			return nil, fmt.Errorf("--community %s: %w", cm.ID, err)
		}
		out = append(out, cl)
	}
	return out, nil
}

// outboundIdentity is the XUA assertion this gateway sends a community
// for the consumer p (wsse:Security), minted with its --xua-signing-key;
// a system principal sends none (the hop's mTLS certificate is its
// identity, trust.ErrMintSystem), nor does a gateway without a key.
func (a *app) outboundIdentity(_ context.Context, p *trust.Principal, audience string) ([]*etree.Element, error) {
	if a.xua == nil {
		return nil, nil
	}
	as, err := a.xua.Mint(p, audience)
	if errors.Is(err, trust.ErrMintSystem) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []*etree.Element{trust.SecurityHeader(as, time.Now())}, nil
}
