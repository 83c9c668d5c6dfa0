package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
)

// The document lifecycle (issue 13): ITI-57 Update Document Set, ITI-62
// Remove Metadata, ITI-86 Remove Documents, ITI-51 Multi-Patient Stored
// Query, and ITI-104 patient identity links, each as the research
// digest's checklist (§13) has it. Every scenario works on its own fresh
// patient.

const (
	tx57  = "ITI-57"
	tx62  = "ITI-62"
	tx86  = "ITI-86"
	tx51  = "ITI-51"
	tx104 = "ITI-104"
)

func lifecycleScenarios() []Scenario {
	out := []Scenario{
		scenario(tx57, "update-title-new-version", updateTitle),
		scenario(tx57, "concurrent-updates-one-wins", concurrentUpdates),
		scenario(tx57, "deprecate-and-approve-again", statusRoundTrip),
		scenario(tx62, "remove-submission-and-document", removeAll),
		scenario(tx86, "remove-document-after-metadata", removeDocument),
		scenario(tx51, "multi-patient-query-by-system", multiPatientQuery),
		scenario(tx104, "link-dnummer-to-fodselsnummer", identityLink),
		scenario("ITI-67", "history-of-an-updated-document", mhdHistory),
		scenario("CONSENT", "citizen-blocks-one-document", consentBlock),
	}
	out = append(out, rowScenarios(tx57, updateRejections())...)
	out = append(out, rowScenarios(tx62, removeRejections())...)
	out = append(out, rowScenarios(tx86, removeDocumentsRejections())...)
	out = append(out, rowScenarios(tx51, multiPatientRejections())...)
	return out
}

// sourceOrg rewrites the sample organisation in sub's SubmissionSet to
// the target's source organisation.
func (t *T) sourceOrg(sub *registry.Submission) *registry.Submission {
	org := t.env.target.SourceOrgNr
	if org == sampleOrgnr || sub.SubmissionSet == nil {
		return sub
	}
	for i := range sub.SubmissionSet.Authors {
		for j, inst := range sub.SubmissionSet.Authors[i].Institutions {
			sub.SubmissionSet.Authors[i].Institutions[j] = strings.Replace(inst, sampleOrgnr, org, 1)
		}
	}
	return sub
}

// updateOf is a valid ITI-57 request making a new version of prev,
// changed by mod (nil: the title).
func (t *T) updateOf(prev *registry.DocumentEntry, mod func(d *registry.DocumentEntry)) *registry.Submission {
	return t.sourceOrg(registry.SampleUpdate(newSeq(), prev, mod))
}

// statusOf is a valid ITI-57 status change of target from one status to
// another.
func (t *T) statusOf(patient, target, from, to string) *registry.Submission {
	return t.sourceOrg(registry.SampleStatusUpdate(newSeq(), CX(patient), target, from, to))
}

// Update sends ITI-57 and returns the response.
func (t *T) Update(ctx context.Context, sub *registry.Submission) (registry.Response, error) {
	rr, err := t.XDS.Update(ctx, sub)
	if err != nil {
		return rr, fmt.Errorf("ITI-57: %w", err)
	}
	return rr, nil
}

// versions returns every version of lid (GetDocuments by logicalID,
// $MetadataLevel 2).
func (t *T) versions(ctx context.Context, lid string) ([]*registry.DocumentEntry, error) {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnLeafClass).
		List(registry.ParamDocumentEntryLogicalID, lid).Raw(registry.ParamMetadataLevel, "2"))
	if err != nil {
		return nil, err
	}
	return res.Documents, nil
}

func updateTitle(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	prev := docs[0]
	rr, err := t.Update(ctx, t.updateOf(prev, nil))
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-57 title update", rr); err != nil {
		return err
	}
	vs, err := t.versions(ctx, prev.LogicalID)
	if err != nil {
		return err
	}
	if len(vs) != 2 {
		return fmt.Errorf("GetDocuments by logicalID found %d versions, want 2", len(vs))
	}
	byVersion := map[string]*registry.DocumentEntry{}
	for _, v := range vs {
		byVersion[v.Version] = v
	}
	v1, v2 := byVersion["1"], byVersion["2"]
	switch {
	case v1 == nil || v2 == nil:
		return fmt.Errorf("versions %v, want 1 and 2", []string{vs[0].Version, vs[1].Version})
	case v1.Status != registry.StatusDeprecated || v2.Status != registry.StatusApproved:
		return fmt.Errorf("statuses v1 %s v2 %s, want Deprecated and Approved", v1.Status, v2.Status)
	case v1.ID == v2.ID || v1.LogicalID != v2.LogicalID || v1.UniqueID != v2.UniqueID || v1.ID != v1.LogicalID:
		return fmt.Errorf("ids v1 %s/%s v2 %s/%s: want the same lid and uniqueId, new entryUUID", v1.ID, v1.LogicalID, v2.ID, v2.LogicalID)
	case !strings.HasSuffix(v2.Title, "(oppdatert)"):
		return fmt.Errorf("v2 title %q, want the new one", v2.Title)
	}
	// $MetadataLevel 1 (FindDocuments) shows the current version only.
	found, err := t.FindDocuments(ctx, p, registry.StatusApproved, registry.StatusDeprecated)
	if err != nil {
		return err
	}
	if len(found) != 1 || found[0].Version != "2" {
		return fmt.Errorf("FindDocuments found %d entries, want only version 2", len(found))
	}
	return nil
}

// Two sources updating one logical document at once: exactly one new
// version, and the other gets XDSMetadataVersionError (digest §2.7).
func concurrentUpdates(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	const n = 2
	var wg sync.WaitGroup
	resps := make([]registry.Response, n)
	errs := make([]error, n)
	for i := range n {
		sub := t.updateOf(docs[0], nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = t.Update(ctx, sub)
		}()
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil {
			return errs[i]
		}
		if resps[i].Status == registry.ResponseSuccess {
			won++
			continue
		}
		if err := wantErrors("the losing update", resps[i].Errors, []string{registry.ErrCodeMetadataVersionError}); err != nil {
			return err
		}
	}
	if won != 1 {
		return fmt.Errorf("%d of %d concurrent updates succeeded, want exactly 1", won, n)
	}
	vs, err := t.versions(ctx, docs[0].LogicalID)
	if err != nil {
		return err
	}
	if len(vs) != 2 {
		return fmt.Errorf("%d versions after the race, want 2", len(vs))
	}
	return nil
}

func statusRoundTrip(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	d := docs[0]
	for _, step := range [][2]string{{registry.StatusApproved, registry.StatusDeprecated}, {registry.StatusDeprecated, registry.StatusApproved}} {
		rr, err := t.Update(ctx, t.statusOf(p, d.ID, step[0], step[1]))
		if err != nil {
			return err
		}
		if err := wantSuccess("ITI-57 status "+step[0]+" → "+step[1], rr); err != nil {
			return err
		}
		e, err := t.EntryByUniqueID(ctx, d.UniqueID)
		if err != nil {
			return err
		}
		if e.Status != step[1] {
			return fmt.Errorf("status after the change %s, want %s", e.Status, step[1])
		}
	}
	return nil
}

// updateRejection is one ITI-57 request the registry must refuse.
type updateRejection struct {
	name string
	code string
	// build makes the request from the registered document d of patient.
	build func(t *T, patient string, d *registry.DocumentEntry) *registry.Submission
}

func (r updateRejection) label() string { return r.name }

func (r updateRejection) run(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	rr, err := t.Update(ctx, r.build(t, p, docs[0]))
	if err != nil {
		return err
	}
	if err := wantErrors(r.name, rr.Errors, []string{r.code}); err != nil {
		return err
	}
	vs, err := t.versions(ctx, docs[0].LogicalID)
	if err != nil {
		return err
	}
	if len(vs) != 1 || vs[0].Status != registry.StatusApproved {
		return fmt.Errorf("%s: the refused update left %d versions (status %s), want the original alone", r.name, len(vs), vs[0].Status)
	}
	return nil
}

func setPreviousVersion(sub *registry.Submission, v string) {
	for _, a := range sub.Associations {
		for i, s := range a.Extra {
			if s.Name == registry.SlotPreviousVersion {
				a.Extra[i].Values = []string{v}
			}
		}
	}
}

func updateRejections() []updateRejection {
	return []updateRejection{
		{"stale-previous-version", registry.ErrCodeMetadataVersionError, func(t *T, _ string, d *registry.DocumentEntry) *registry.Submission {
			sub := t.updateOf(d, nil)
			setPreviousVersion(sub, "2")
			return sub
		}},
		{"unique-id-changed", registry.ErrCodeMetadataUpdateError, func(t *T, _ string, d *registry.DocumentEntry) *registry.Submission {
			return t.updateOf(d, func(n *registry.DocumentEntry) { n.UniqueID = NewOID() })
		}},
		{"unknown-logical-id", registry.ErrCodeMetadataUpdateError, func(t *T, _ string, d *registry.DocumentEntry) *registry.Submission {
			return t.updateOf(d, func(n *registry.DocumentEntry) { n.LogicalID = NewUUID() })
		}},
		{"hash-changed", registry.ErrCodeNonIdenticalHash, func(t *T, _ string, d *registry.DocumentEntry) *registry.Submission {
			return t.updateOf(d, func(n *registry.DocumentEntry) { n.Hash = strings.Repeat("ab", 20) })
		}},
		{"patient-id-changed", registry.ErrCodePatientIDReconciliationError, func(t *T, _ string, d *registry.DocumentEntry) *registry.Submission {
			other := CX(newPatient())
			sub := t.updateOf(d, func(n *registry.DocumentEntry) { n.PatientID = other })
			sub.SubmissionSet.PatientID = other
			return sub
		}},
		{"status-original-not-current", registry.ErrCodeMetadataUpdateError, func(t *T, p string, d *registry.DocumentEntry) *registry.Submission {
			return t.statusOf(p, d.ID, registry.StatusDeprecated, registry.StatusApproved)
		}},
		{"status-same-value", registry.ErrCodeMetadataUpdateOperationError, func(t *T, p string, d *registry.DocumentEntry) *registry.Submission {
			return t.statusOf(p, d.ID, registry.StatusApproved, registry.StatusApproved)
		}},
	}
}

// removal is what an ITI-62 of one provided document needs: its
// SubmissionSet, the SS→DE HasMember and the entry.
type removal struct {
	patient       string
	set, hm, doc  string
	entry         *registry.DocumentEntry
	repositoryUID string
}

func (t *T) providedForRemoval(ctx context.Context) (*removal, error) {
	p := t.NewPatient()
	entries, _, err := t.provided(ctx, p, 1, nil)
	if err != nil {
		return nil, err
	}
	e := entries[0]
	res, err := t.Query(ctx, NewQuery(registry.QueryGetSubmissionSets, registry.ReturnLeafClass).List(registry.ParamUUID, e.ID))
	if err != nil {
		return nil, err
	}
	if len(res.SubmissionSets) != 1 {
		return nil, fmt.Errorf("GetSubmissionSets found %d sets, want 1", len(res.SubmissionSets))
	}
	rm := &removal{patient: p, set: res.SubmissionSets[0].ID, doc: e.ID, entry: e, repositoryUID: e.RepositoryUniqueID}
	for _, a := range res.Associations {
		if a.Type == registry.AssocHasMember && a.Target == e.ID {
			rm.hm = a.ID
		}
	}
	if rm.hm == "" {
		return nil, fmt.Errorf("GetSubmissionSets returned no HasMember of %s", e.ID)
	}
	return rm, nil
}

// RemoveMetadata sends ITI-62.
func (t *T) RemoveMetadata(ctx context.Context, ids ...string) (registry.Response, error) {
	rr, err := t.XDS.RemoveMetadata(ctx, ids)
	if err != nil {
		return rr, fmt.Errorf("ITI-62: %w", err)
	}
	return rr, nil
}

func removeAll(ctx context.Context, t *T) error {
	rm, err := t.providedForRemoval(ctx)
	if err != nil {
		return err
	}
	rr, err := t.RemoveMetadata(ctx, rm.set, rm.hm, rm.doc)
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-62 of SubmissionSet, HasMember and DocumentEntry", rr); err != nil {
		return err
	}
	return t.nothingOf(ctx, rm.patient)
}

func removeDocument(ctx context.Context, t *T) error {
	rm, err := t.providedForRemoval(ctx)
	if err != nil {
		return err
	}
	req := []repository.DocumentRequest{{RepositoryUniqueID: rm.repositoryUID, DocumentUniqueID: rm.entry.UniqueID}}
	if rr, err := t.RemoveMetadata(ctx, rm.set, rm.hm, rm.doc); err != nil {
		return err
	} else if err := wantSuccess("ITI-62", rr); err != nil {
		return err
	}
	rr, err := t.XDS.RemoveDocuments(ctx, req)
	if err != nil {
		return fmt.Errorf("ITI-86: %w", err)
	}
	if err := wantSuccess("ITI-86 of a document whose metadata is removed", rr); err != nil {
		return err
	}
	// Removed again: nothing is stored any more.
	rr, err = t.XDS.RemoveDocuments(ctx, req)
	if err != nil {
		return fmt.Errorf("ITI-86: %w", err)
	}
	if err := wantErrors("ITI-86 of a removed document", rr.Errors, []string{registry.ErrCodeDocumentUniqueIDError}, rm.entry.UniqueID); err != nil {
		return err
	}
	got, _, err := t.RetrieveAll(ctx, req)
	if err != nil {
		return err
	}
	return wantErrors("ITI-43 of a removed document", got.Errors, []string{registry.ErrCodeDocumentUniqueIDError})
}

// removeRejection is one ITI-62 request the registry must refuse.
type removeRejection struct {
	name string
	code string
	ids  func(rm *removal) []string
}

func (r removeRejection) label() string { return r.name }

func (r removeRejection) run(ctx context.Context, t *T) error {
	rm, err := t.providedForRemoval(ctx)
	if err != nil {
		return err
	}
	rr, err := t.RemoveMetadata(ctx, r.ids(rm)...)
	if err != nil {
		return err
	}
	if err := wantErrors(r.name, rr.Errors, []string{r.code}); err != nil {
		return err
	}
	if _, err := t.EntryByUniqueID(ctx, rm.entry.UniqueID); err != nil {
		return fmt.Errorf("%s: the refused removal removed the document: %w", r.name, err)
	}
	return nil
}

func removeRejections() []removeRejection {
	return []removeRejection{
		{"submission-set-alone-references-exist", registry.ErrCodeReferencesExist, func(rm *removal) []string { return []string{rm.set} }},
		{"document-and-hasmember-leave-set-unreferenced", registry.ErrCodeUnreferencedObject, func(rm *removal) []string { return []string{rm.hm, rm.doc} }},
		{"unknown-object", registry.ErrCodeUnresolvedReference, func(rm *removal) []string { return []string{NewUUID()} }},
	}
}

// removeDocumentsRejection is one ITI-86 request the repository must
// refuse.
type removeDocumentsRejection struct {
	name string
	code string
	req  func(rm *removal) repository.DocumentRequest
}

func (r removeDocumentsRejection) label() string { return r.name }

func (r removeDocumentsRejection) run(ctx context.Context, t *T) error {
	rm, err := t.providedForRemoval(ctx)
	if err != nil {
		return err
	}
	rr, err := t.XDS.RemoveDocuments(ctx, []repository.DocumentRequest{r.req(rm)})
	if err != nil {
		return fmt.Errorf("ITI-86: %w", err)
	}
	if err := wantErrors(r.name, rr.Errors, []string{r.code}); err != nil {
		return err
	}
	return t.retrieveAndCompareOne(ctx, rm)
}

// retrieveAndCompareOne checks that rm's document is still retrievable.
func (t *T) retrieveAndCompareOne(ctx context.Context, rm *removal) error {
	got, docs, err := t.RetrieveAll(ctx, []repository.DocumentRequest{{RepositoryUniqueID: rm.repositoryUID, DocumentUniqueID: rm.entry.UniqueID}})
	if err != nil {
		return err
	}
	if got.Status != registry.ResponseSuccess || len(docs) != 1 {
		return fmt.Errorf("the document is no longer retrievable after a refused ITI-86: %s %v", got.Status, got.Errors)
	}
	return nil
}

func removeDocumentsRejections() []removeDocumentsRejection {
	return []removeDocumentsRejection{
		{"metadata-still-registered", registry.ErrCodeRemoveDocumentsError, func(rm *removal) repository.DocumentRequest {
			return repository.DocumentRequest{RepositoryUniqueID: rm.repositoryUID, DocumentUniqueID: rm.entry.UniqueID}
		}},
		{"another-repository", registry.ErrCodeUnknownRepositoryID, func(rm *removal) repository.DocumentRequest {
			return repository.DocumentRequest{RepositoryUniqueID: NewOID(), DocumentUniqueID: rm.entry.UniqueID}
		}},
		{"unknown-document", registry.ErrCodeDocumentUniqueIDError, func(rm *removal) repository.DocumentRequest {
			return repository.DocumentRequest{RepositoryUniqueID: rm.repositoryUID, DocumentUniqueID: NewOID()}
		}},
	}
}

// MultiPatientQuery sends ITI-51.
func (t *T) MultiPatientQuery(ctx context.Context, q *Q) (*registry.QueryResult, registry.Response, error) {
	res, rr, err := t.XDS.MultiPatientQuery(ctx, q.Query())
	if err != nil {
		return nil, rr, fmt.Errorf("ITI-51: %w", err)
	}
	return res, rr, nil
}

// deniedScope turns a refusal for lack of the ITI-51 scope into a skip: a
// target's source certificate need not be granted it (pjd serve
// --system-scope); the --dev loopback source always is.
func deniedScope(rr registry.Response) error {
	for _, e := range rr.Errors {
		if strings.Contains(e.Context, "system-scope-missing") {
			return Skipf("the source is not granted nhn:pjd/multi-patient-query (pjd serve --system-scope ORGNR=nhn:pjd/multi-patient-query)")
		}
	}
	return nil
}

func multiPatientQuery(ctx context.Context, t *T) error {
	p1, p2 := t.NewPatient(), t.NewPatient()
	if _, _, err := t.registered(ctx, p1, 1, false); err != nil {
		return err
	}
	if _, _, err := t.registered(ctx, p2, 2, false); err != nil {
		return err
	}
	res, rr, err := t.MultiPatientQuery(ctx, NewQuery(registry.QueryFindDocumentsForMultiplePatients, registry.ReturnLeafClass).
		List(registry.ParamDocumentEntryPatientID, CX(p1), CX(p2)).List(registry.ParamDocumentEntryStatus, registry.StatusApproved))
	if err != nil {
		return err
	}
	if err := deniedScope(rr); err != nil {
		return err
	}
	if err := wantSuccess("ITI-51 FindDocumentsForMultiplePatients", rr); err != nil {
		return err
	}
	per := map[string]int{}
	for _, d := range res.Documents {
		per[d.PatientID]++
	}
	if per[CX(p1)] != 1 || per[CX(p2)] != 2 || len(res.Documents) != 3 {
		return fmt.Errorf("documents per patient %v, want 1 and 2", per)
	}
	return nil
}

// multiPatientRejection is an ITI-51 query the registry must refuse.
type multiPatientRejection struct {
	name string
	code string
	q    *Q
}

func (r multiPatientRejection) label() string { return r.name }

func (r multiPatientRejection) run(ctx context.Context, t *T) error {
	_, rr, err := t.MultiPatientQuery(ctx, r.q)
	if err != nil {
		return err
	}
	if err := deniedScope(rr); err != nil {
		return err
	}
	return wantErrors(r.name, rr.Errors, []string{r.code})
}

func multiPatientRejections() []multiPatientRejection {
	return []multiPatientRejection{
		{"status-alone-missing-param", registry.ErrCodeStoredQueryMissingParam,
			NewQuery(registry.QueryFindDocumentsForMultiplePatients, registry.ReturnObjectRef).List(registry.ParamDocumentEntryStatus, registry.StatusApproved)},
		{"single-patient-query-id-unknown", registry.ErrCodeUnknownStoredQuery,
			NewQuery(registry.QueryFindDocuments, registry.ReturnObjectRef).List(registry.ParamDocumentEntryStatus, registry.StatusApproved)},
	}
}

// newDnr returns a fresh synthetic D-nummer.
func newDnr() string { return registry.SyntheticDnr(int(randUint(1 << 30))) }

// feedPatient is the ITI-104 Patient of D-nummer dnr, replaced by fnr
// when fnr is not "".
func feedPatient(dnr, fnr string) []byte {
	p := map[string]any{"resourceType": "Patient",
		"identifier": []any{map[string]any{"system": "urn:oid:" + oid.DNR, "value": dnr}}}
	if fnr != "" {
		p["active"] = false
		p["link"] = []any{map[string]any{"type": "replaced-by",
			"other": map[string]any{"identifier": map[string]any{"system": "urn:oid:" + oid.FNR, "value": fnr}}}}
	} else {
		p["active"] = true
	}
	b, _ := json.Marshal(p)
	return b
}

// feed sends the ITI-104 conditional update of dnr.
func (t *T) feed(ctx context.Context, dnr, fnr string) error {
	c, err := t.as(ctx, "identitetsfeed", "")
	if err != nil {
		return err
	}
	q := url.Values{"identifier": {"urn:oid:" + oid.DNR + "|" + dnr}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.URL("/fhir/R4/Patient?"+q.Encode()), bytes.NewReader(feedPatient(dnr, fnr)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, body, err := t.do(c, req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ITI-104: status %d: %s, want 200", resp.StatusCode, snippet(body))
	}
	return nil
}

// identityLink registers documents under a D-nummer and a fødselsnummer,
// links them with ITI-104, and checks that both numbers find all of them
// (ITI-18 and MHD), that ITI-42 under the old number is refused naming
// the new one, and that the unlink undoes it.
func identityLink(ctx context.Context, t *T) error {
	dnr, fnr := newDnr(), t.NewPatient()
	dnrCX := registry.NewPatientCX(dnr, oid.DNR).String()
	sub, _ := t.Submission(fnr, 1, false)
	sub.SubmissionSet.PatientID, sub.Documents[0].PatientID = dnrCX, dnrCX
	if err := t.Register(ctx, sub); err != nil {
		return err
	}
	if _, _, err := t.registered(ctx, fnr, 1, false); err != nil {
		return err
	}
	count := func(pid string) (int, error) {
		res, err := t.Query(ctx, NewQuery(registry.QueryFindDocuments, registry.ReturnLeafClass).
			Str(registry.ParamDocumentEntryPatientID, pid).List(registry.ParamDocumentEntryStatus, registry.StatusApproved))
		if err != nil {
			return 0, err
		}
		return len(res.Documents), nil
	}
	if err := t.feed(ctx, dnr, fnr); err != nil {
		return err
	}
	for _, pid := range []string{dnrCX, CX(fnr)} {
		n, err := count(pid)
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("FindDocuments for %s after the link found %d documents, want 2 (both numbers')", pid, n)
		}
	}
	a, err := t.searchAs(ctx, "fastlege", fnr, fnr)
	if err != nil {
		return err
	}
	if s, err := wantSearchSet("MHD search by the new number after the link", a); err != nil {
		return err
	} else if len(s.DocRefs) != 2 {
		return fmt.Errorf("MHD search by the new number found %d documents, want 2", len(s.DocRefs))
	}
	again, _ := t.Submission(fnr, 1, false)
	again.SubmissionSet.PatientID, again.Documents[0].PatientID = dnrCX, dnrCX
	errs, err := t.RegisterErr(ctx, again)
	if err != nil {
		return err
	}
	if err := wantErrors("ITI-42 under the replaced number", errs, []string{registry.ErrCodeUnknownPatientID}, fnr); err != nil {
		return err
	}
	if err := t.feed(ctx, dnr, ""); err != nil {
		return err
	}
	n, err := count(CX(fnr))
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("FindDocuments by the new number after the unlink found %d documents, want 1", n)
	}
	return nil
}

// mhdHistory updates a document and reads its MHD history as the
// fastlege.
func mhdHistory(ctx context.Context, t *T) error {
	p := t.NewPatient()
	_, docs, err := t.registered(ctx, p, 1, false)
	if err != nil {
		return err
	}
	rr, err := t.Update(ctx, t.updateOf(docs[0], nil))
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-57", rr); err != nil {
		return err
	}
	c, err := t.as(ctx, "fastlege", p)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(docs[0].LogicalID, "urn:uuid:")
	a, err := t.MHDGet(ctx, c, "/fhir/R4/DocumentReference/"+id+"/_history", nil, p)
	if err != nil {
		return err
	}
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Resource struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Meta   struct {
					VersionID string `json:"versionId"`
				} `json:"meta"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &b) != nil {
		return fmt.Errorf("_history: %s, want 200 with a Bundle", a)
	}
	if b.Type != "history" || len(b.Entry) != 2 || b.Entry[0].Resource.Meta.VersionID != "2" || b.Entry[0].Resource.Status != "current" ||
		b.Entry[1].Resource.Meta.VersionID != "1" || b.Entry[1].Resource.Status != "superseded" {
		return fmt.Errorf("_history: %s, want versions 2 (current) and 1 (superseded), newest first", a)
	}
	s, err := t.SearchDocuments(ctx, c, p, nil)
	if err != nil {
		return err
	}
	if set, err := wantSearchSet("MHD search after the update", s); err != nil {
		return err
	} else if len(set.DocRefs) != 1 {
		return fmt.Errorf("MHD search found %d entries, want the current version only", len(set.DocRefs))
	}
	return nil
}

// consentBlock: the citizen blocks one of their documents with a FHIR
// Consent; the fastlege's MHD search no longer shows it (the other one
// still shows) and its read is refused as for an unknown document; the
// revocation (DELETE) shows it again, and a revoked consent reads 410.
func consentBlock(ctx context.Context, t *T) error {
	patient := citizenPID()
	entries, _, err := t.seed(ctx, patient, 2, nil)
	if err != nil {
		return err
	}
	cit, err := t.as(ctx, "citizen", "")
	if err != nil {
		return err
	}
	lid := strings.TrimPrefix(entries[0].LogicalID, "urn:uuid:")
	body := `{"resourceType":"Consent","status":"active","provision":{"type":"permit","provision":[{"type":"deny","data":[{"meaning":"instance","reference":{"reference":"DocumentReference/` + lid + `"}}]}]}}`
	send := func(method, path, body string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, t.URL(path), strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, b, err := t.do(cit, req)
		if err != nil {
			return 0, nil, err
		}
		return resp.StatusCode, b, nil
	}
	st, b, err := send(http.MethodPost, "/fhir/R4/Consent", body)
	if err != nil {
		return err
	}
	var made struct {
		ID string `json:"id"`
	}
	if st != http.StatusCreated || json.Unmarshal(b, &made) != nil || made.ID == "" {
		return fmt.Errorf("POST Consent: status %d: %s, want 201 with the consent", st, snippet(b))
	}
	shown := func() (blocked, other bool, err error) {
		a, err := t.searchAs(ctx, "fastlege", patient, patient)
		if err != nil {
			return false, false, err
		}
		s, err := wantSearchSet("fastlege search", a)
		if err != nil {
			return false, false, err
		}
		for _, d := range s.DocRefs {
			blocked = blocked || d.UniqueID == entries[0].UniqueID
			other = other || d.UniqueID == entries[1].UniqueID
		}
		return blocked, other, nil
	}
	blocked, other, err := shown()
	if err != nil {
		return err
	}
	if blocked || !other {
		return fmt.Errorf("with the consent the fastlege sees the blocked document: %v, the other: %v; want false, true", blocked, other)
	}
	if st, b, err := send(http.MethodDelete, "/fhir/R4/Consent/"+made.ID, ""); err != nil {
		return err
	} else if st != http.StatusNoContent {
		return fmt.Errorf("DELETE Consent: status %d: %s, want 204", st, snippet(b))
	}
	if st, _, err := send(http.MethodGet, "/fhir/R4/Consent/"+made.ID, ""); err != nil {
		return err
	} else if st != http.StatusGone {
		return fmt.Errorf("GET of a revoked Consent: status %d, want 410", st)
	}
	if blocked, _, err = shown(); err != nil {
		return err
	}
	if !blocked {
		return errors.New("after the revocation the fastlege still does not see the document")
	}
	return nil
}
