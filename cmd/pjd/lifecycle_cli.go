package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"pjd/registry"
	"pjd/repository"
)

// pjd update and pjd remove: a source's side of the document lifecycle
// (ITI-57, ITI-62 + ITI-86) from the command line, as pjd submit is for
// ITI-41. The source is the caller's credential (loopback in --dev).

// versionsOf returns every version of the document uniqueID
// (GetDocuments at $MetadataLevel 2), oldest first.
func versionsOf(ctx context.Context, cf *clientFlags, uid string) ([]*registry.DocumentEntry, error) {
	res, rr, err := cf.xds().Query(ctx, &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryUniqueID, Values: []string{"('" + strings.ReplaceAll(uid, "'", "''") + "')"}},
			{Name: registry.ParamMetadataLevel, Values: []string{"2"}},
		}})
	if err != nil {
		return nil, cf.explain(err)
	}
	if rr.Errors.Failed() {
		return nil, fmt.Errorf("the registry refused the query: %v", rr.Errors)
	}
	if len(res.Documents) == 0 {
		return nil, fmt.Errorf("the registry has no document %s", uid)
	}
	slices.SortFunc(res.Documents, func(a, b *registry.DocumentEntry) int { return versionNumber(a) - versionNumber(b) })
	return res.Documents, nil
}

func versionNumber(d *registry.DocumentEntry) int {
	n := 0
	fmt.Sscan(d.Version, &n)
	return n
}

func randomSeq() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])>>2 + 1
}

// withOrg makes sub's SubmissionSet authored by organisation org.
func withOrg(sub *registry.Submission, org string) *registry.Submission {
	for i := range sub.SubmissionSet.Authors {
		for j, inst := range sub.SubmissionSet.Authors[i].Institutions {
			sub.SubmissionSet.Authors[i].Institutions[j] = strings.Replace(inst, registry.SampleOrgnr, org, 1)
		}
	}
	return sub
}

func updateCmd() *cmd {
	cf := &clientFlags{}
	var title, comments, status, org string
	return &cmd{
		name: "update", summary: "update a registered document's metadata (ITI-57): a new version, or its status",
		args: "DOCUMENT-UNIQUE-ID", minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) {
			cf.define(fs)
			fs.StringVar(&title, "title", "", "new title (a new version)")
			fs.StringVar(&comments, "comments", "", "new comments (a new version)")
			fs.StringVar(&status, "status", "", "deprecated or approved: change the current version's status")
			fs.StringVar(&org, "org-nr", registry.SampleOrgnr, "the source's organisation number (author of the update's SubmissionSet)")
		},
		run: func(ctx context.Context, inv *invocation) error {
			return update(ctx, cf, inv.args[0], title, comments, status, org, inv.stdout)
		},
	}
}

func update(ctx context.Context, cf *clientFlags, uid, title, comments, status, org string, stdout io.Writer) error {
	if (title == "" && comments == "") == (status == "") {
		return usageErrorf("say what changes: --title and/or --comments (a new version), or --status")
	}
	vs, err := versionsOf(ctx, cf, uid)
	if err != nil {
		return err
	}
	cur := vs[len(vs)-1]
	var sub *registry.Submission
	switch strings.ToLower(status) {
	case "":
		sub = registry.SampleUpdate(randomSeq(), cur, func(d *registry.DocumentEntry) {
			if title != "" {
				d.Title = title
			}
			if comments != "" {
				d.Comments = comments
			}
		})
	case "deprecated", "approved":
		to := registry.StatusDeprecated
		if strings.EqualFold(status, "approved") {
			to = registry.StatusApproved
		}
		sub = registry.SampleStatusUpdate(randomSeq(), cur.PatientID, cur.ID, cur.Status, to)
	default:
		return usageErrorf("--status: %q is not deprecated or approved", status)
	}
	rr, err := cf.xds().Update(ctx, withOrg(sub, org))
	if err != nil {
		return cf.explain(err)
	}
	if rr.Errors.Failed() {
		return fmt.Errorf("the registry refused the update: %v", rr.Errors)
	}
	after, err := versionsOf(ctx, cf, uid)
	if err != nil {
		return err
	}
	last := after[len(after)-1]
	fmt.Fprintf(stdout, "%s: version %s, %s, %q\n", uid, last.Version, strings.TrimPrefix(last.Status, "urn:oasis:names:tc:ebxml-regrep:StatusType:"), last.Title)
	return nil
}

func removeCmd() *cmd {
	cf := &clientFlags{}
	return &cmd{
		name: "remove", summary: "remove a document: its metadata, every version (ITI-62), then its bytes (ITI-86)",
		args: "DOCUMENT-UNIQUE-ID", minArgs: 1, maxArgs: 1,
		flags: cf.define,
		run: func(ctx context.Context, inv *invocation) error {
			return remove(ctx, cf, inv.args[0], inv.stdout)
		},
	}
}

// remove computes what ITI-62 must name to remove every version of a
// document (digest §5.2: each version, every association naming one, and
// each SubmissionSet left with nothing else), sends it, then ITI-86.
func remove(ctx context.Context, cf *clientFlags, uid string, stdout io.Writer) error {
	vs, err := versionsOf(ctx, cf, uid)
	if err != nil {
		return err
	}
	xc := cf.xds()
	assocs := func(id string) ([]*registry.Association, error) {
		res, rr, err := xc.Query(ctx, &registry.Query{ID: registry.QueryGetAssociations, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{{Name: registry.ParamUUID, Values: []string{"('" + id + "')"}}, {Name: registry.ParamMetadataLevel, Values: []string{"2"}}}})
		if err != nil {
			return nil, cf.explain(err)
		}
		if rr.Errors.Failed() {
			return nil, fmt.Errorf("the registry refused the query: %v", rr.Errors)
		}
		return res.Associations, nil
	}
	ids := map[string]bool{}
	var order []string
	add := func(id string) {
		if !ids[id] {
			ids[id] = true
			order = append(order, id)
		}
	}
	var sets []string
	for _, v := range vs {
		add(v.ID)
		as, err := assocs(v.ID)
		if err != nil {
			return err
		}
		for _, a := range as {
			add(a.ID)
			if a.Target == v.ID && (a.Type == registry.AssocHasMember || a.Type == registry.AssocUpdateAvailabilityStatus) && !slices.Contains(sets, a.Source) {
				sets = append(sets, a.Source)
			}
		}
	}
	// A SubmissionSet goes too when everything it holds goes.
	for _, s := range sets {
		as, err := assocs(s)
		if err != nil {
			return err
		}
		all := true
		for _, a := range as {
			if a.Source == s && !ids[a.ID] {
				all = false
			}
		}
		if all {
			add(s)
		}
	}
	rr, err := xc.RemoveMetadata(ctx, order)
	if err != nil {
		return cf.explain(err)
	}
	if rr.Errors.Failed() {
		return fmt.Errorf("the registry refused the removal (ITI-62): %v", rr.Errors)
	}
	fmt.Fprintf(stdout, "%s: metadata removed (%d objects, %d version(s))\n", uid, len(order), len(vs))
	rr, err = xc.RemoveDocuments(ctx, []repository.DocumentRequest{{RepositoryUniqueID: vs[0].RepositoryUniqueID, DocumentUniqueID: uid}})
	if err != nil {
		return cf.explain(err)
	}
	if rr.Errors.Failed() {
		return errors.New("the repository refused to remove the document (ITI-86): " + rr.Errors.Error())
	}
	fmt.Fprintf(stdout, "%s: document removed from repository %s\n", uid, vs[0].RepositoryUniqueID)
	return nil
}
