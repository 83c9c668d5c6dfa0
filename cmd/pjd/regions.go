package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"pjd/cmd/pjd/internal/demo"
	"pjd/gateway/xcaclient"
	"pjd/gateway/xdsclient"
	"pjd/trust/devissuer"
)

// devRegion is one of the regional demo communities `pjd serve --dev`
// runs in its own process (issue 12): its own store (SQLite and files
// under <data>/regions/<slug>/) and homeCommunityId, served on the same
// port under /regions/<slug>/ (its responding gateway at
// /regions/<slug>/xca/responding), trusting the node's own dev XUA key.
type devRegion struct {
	slug, name string
	id         string // homeCommunityId
	repository string // repositoryUniqueId
	root       string // uniqueId root of its demo documents
}

// devRegions are the regions of --dev (ids as in the README's
// three-process example).
var devRegions = []devRegion{
	{slug: "vest", name: "Helse Vest", id: "urn:oid:2.999.578.3.1", repository: "2.999.578.3.1.1", root: "2.999.578.11"},
	{slug: "nord", name: "Helse Nord", id: "urn:oid:2.999.578.3.2", repository: "2.999.578.3.2.1", root: "2.999.578.12"},
}

// path is where the region is mounted.
func (r devRegion) path() string { return "/regions/" + r.slug }

// runsDevRegions reports whether this server runs the dev regions: --dev
// with the gateway role (and all roles), plain HTTP, as the dev community
// (no --home-community-id: a node given its own is a region or a node of
// a federation set up by hand), unless --dev-regions=false.
func (c *serveConfig) runsDevRegions() bool {
	return c.dev && c.devRegions && c.has(roleGateway) && c.tlsCert == "" && c.homeCommunityID == ""
}

// addDevRegions makes the dev regions communities of this node (base is
// the URL the server listens on). Called before the app is built.
func (c *serveConfig) addDevRegions(base string) error {
	for _, r := range devRegions {
		if slices.ContainsFunc(c.federation.communities, func(cm xcaclient.Community) bool { return xcaclient.SameID(cm.ID, r.id) }) {
			return fmt.Errorf("--community %s: that id is a dev region's (give --dev-regions=false to federate with another process under it)", r.id)
		}
		cm, err := xcaclient.ParseCommunity(r.id + "=" + base + r.path() + "/xca/responding;name=" + r.name)
		if err != nil {
			return err
		}
		c.federation.communities = append(c.federation.communities, cm)
	}
	return nil
}

// regionConfig is the configuration of the region r of the node c: --dev,
// the registry and repository roles, SQLite and files in its own folder,
// trusting the node's dev XUA signing certificate for its own audience.
func (c *serveConfig) regionConfig(r devRegion, xuaIssuer string) *serveConfig {
	rc := *c
	rc.data = filepath.Join(c.data, "regions", r.slug)
	rc.roles = listFlag{roleRegistry, roleRepository}
	rc.homeCommunityID, rc.repositoryID = r.id, r.repository
	rc.federation = federationFlags{}
	rc.publicURL = c.publicURL + r.path()
	rc.postgresURL, rc.redisURL, rc.s3Endpoint, rc.s3Bucket = "", "", "", ""
	rc.blobDir = filepath.Join(rc.data, "blobs")
	rc.tlsCert, rc.tlsKey = "", ""
	rc.syslogAddr = ""
	rc.pageKeyFile, rc.auditKeyFile = "", ""
	rc.xuaSigningKey, rc.xuaSigningCert = "", ""
	rc.xuaIssuer = rc.publicURL + devXUAPath
	rc.samlCerts = listFlag{filepath.Join(c.dataPath("dev-issuer"), devissuer.FileDevXUACert)}
	rc.samlIssuers = listFlag{xuaIssuer}
	rc.samlAudiences = listFlag{r.id}
	rc.demoData = triBool{}
	return &rc
}

// buildDevRegions builds the regions of a --dev node a and mounts each
// under /regions/<slug>/.
func (a *app) buildDevRegions(ctx context.Context) error {
	if a.xua == nil {
		return errors.New("dev regions: the node has no XUA signing key")
	}
	for _, r := range devRegions {
		ra, err := buildApp(ctx, a.cfg.regionConfig(r, a.xua.Issuer), a.log.With(slog.String("region", r.name)))
		if err != nil {
			return fmt.Errorf("dev region %s: %w", r.name, err)
		}
		a.onClose(ra.close)
		a.regions = append(a.regions, ra)
		a.srv.Handle(r.path()+"/", http.StripPrefix(r.path(), ra.handler))
	}
	return nil
}

// seedDevRegions registers each region's demo documents (once per data
// folder): a different half of the demo documents in each region, under
// its own uniqueIds, titled with the region's name.
func (a *app) seedDevRegions(ctx context.Context, base string) error {
	var docs []demo.Document
	for _, d := range demo.Documents(time.Now()) {
		if d.Replaces < 0 {
			docs = append(docs, d)
		}
	}
	for i, r := range devRegions {
		marker := filepath.Join(a.cfg.data, "regions", r.slug, "demo-seeded")
		if _, err := os.Stat(marker); err == nil {
			continue
		}
		client := xdsclient.New(base+r.path(), &http.Client{Timeout: time.Minute})
		n := 0
		for j, d := range docs {
			if j%len(devRegions) != i {
				continue
			}
			d.Title += " (" + r.name + ")"
			d.Created = d.Created.Add(-time.Duration(i+1) * 24 * time.Hour)
			sub := d.Submission(fmt.Sprintf("%s.%d", r.root, j+1), "2.999.578.2", "")
			resp, err := client.Provide(ctx, sub, []xdsclient.Document{{ID: "Document01", MimeType: d.MimeType, Body: bytes.NewReader(d.Content)}})
			if err != nil {
				return fmt.Errorf("%s: demo document %d: %w", r.name, j+1, err)
			}
			if resp.Errors.Failed() {
				return fmt.Errorf("%s: demo document %d rejected: %w", r.name, j+1, resp.Errors)
			}
			n++
		}
		if err := os.WriteFile(marker, []byte(r.root+"\n"), 0o600); err != nil {
			return err
		}
		a.log.Info("dev region seeded", "region", r.name, "home", r.id, "documents", n)
	}
	return nil
}
