package conformance

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/ebrim"
	"pjd/registry/oid"
	"pjd/repository"
)

// ITI-41 Provide and Register Document Set-b and ITI-43 Retrieve Document
// Set: MTOM and inline submissions, every repository error, retrieval of
// several documents with one missing.

const (
	tx41 = "ITI-41"
	tx43 = "ITI-43"
)

func provideScenarios() []Scenario {
	s := scenariosOf(tx41)
	out := []Scenario{
		s("provide-one-document-mtom", provideOne),
		s("provide-several-documents-mtom", provideSeveral),
		s("provide-inline-base64", provideInline),
		s("provide-without-hash-and-size", provideNoHash),
	}
	out = append(out, rowScenarios(tx41, provideRejections())...)
	return append(out, s("registry-error-passed-back-unchanged", providePassBack))
}

// A provideRejection is an ITI-41 submission the repository must refuse:
// a fresh submission of docs documents for a new patient with their
// contents, broken by breaks, refused with exactly code and every
// codeContext fragment breaks returns named; none of its documents is
// registered.
type provideRejection struct {
	name   string
	docs   int
	code   string
	breaks func(t *T, sub *registry.Submission, content map[string][]byte) (contexts []string, err error)
}

func provideRejections() []provideRejection {
	return []provideRejection{
		{"wrong-hash", 2, registry.ErrCodeRepositoryMetadataError, func(_ *T, sub *registry.Submission, _ map[string][]byte) ([]string, error) {
			d := sub.Documents[1]
			d.Hash = strings.Repeat("ab", 20)
			return []string{d.UniqueID, "hash"}, nil
		}},
		{"wrong-size", 2, registry.ErrCodeRepositoryMetadataError, func(_ *T, sub *registry.Submission, _ map[string][]byte) ([]string, error) {
			d := sub.Documents[1]
			n := *d.Size + 7
			d.Size = &n
			return []string{d.UniqueID, "size"}, nil
		}},
		{"missing-document", 2, registry.ErrCodeMissingDocument, func(_ *T, sub *registry.Submission, content map[string][]byte) ([]string, error) {
			delete(content, "Document02")
			return []string{sub.Documents[1].UniqueID}, nil
		}},
		{"missing-document-metadata", 1, registry.ErrCodeMissingDocumentMetadata, func(_ *T, _ *registry.Submission, content map[string][]byte) ([]string, error) {
			content["Document99"] = []byte("et dokument uten metadata\n")
			return []string{"Document99"}, nil
		}},
		{"duplicate-uniqueid-in-message", 2, registry.ErrCodeRepositoryDuplicateUniqueIDInMessage, func(_ *T, sub *registry.Submission, _ map[string][]byte) ([]string, error) {
			sub.Documents[1].UniqueID = sub.Documents[0].UniqueID
			return []string{sub.Documents[0].UniqueID}, nil
		}},
		{"document-over-maximum-size-declared", 1, registry.ErrCodeRepositoryError, func(t *T, sub *registry.Submission, _ map[string][]byte) ([]string, error) {
			max, err := t.maxDocument()
			if err != nil {
				return nil, err
			}
			n := max + 1
			sub.Documents[0].Size = &n
			return []string{fmt.Sprint(max)}, nil
		}},
		{"document-over-maximum-size-streamed", 1, registry.ErrCodeRepositoryError, func(t *T, sub *registry.Submission, content map[string][]byte) ([]string, error) {
			max, err := t.maxDocument()
			if err != nil {
				return nil, err
			}
			sub.Documents[0].Hash, sub.Documents[0].Size = "", nil
			content["Document01"] = bytes.Repeat([]byte("x"), int(max)+1)
			return []string{fmt.Sprint(max)}, nil
		}},
	}
}

func (r provideRejection) label() string { return r.name }

// run provides the broken submission and checks the refusal.
func (r provideRejection) run(ctx context.Context, t *T) error {
	sub, seq := t.Submission(t.NewPatient(), r.docs, false)
	content := contentsOf(sub, seq)
	contexts, err := r.breaks(t, sub, content)
	if err != nil {
		return err
	}
	return t.provideRejected(ctx, sub, content, []string{r.code}, contexts...)
}

// Provide sends sub with ITI-41 (MTOM), the documents' bytes by
// DocumentEntry id, in the order of sub.Documents, then any extra ids.
func (t *T) Provide(ctx context.Context, sub *registry.Submission, content map[string][]byte) (registry.Response, error) {
	var docs []xdsclient.Document
	seen := map[string]bool{}
	for _, d := range sub.Documents {
		if b, ok := content[d.ID]; ok {
			docs = append(docs, xdsclient.Document{ID: d.ID, MimeType: d.MimeType, Body: bytes.NewReader(b)})
			seen[d.ID] = true
		}
	}
	for id, b := range content {
		if !seen[id] {
			docs = append(docs, xdsclient.Document{ID: id, MimeType: "text/plain", Body: bytes.NewReader(b)})
		}
	}
	resp, err := t.XDS.Provide(ctx, sub, docs)
	if err != nil {
		return resp, fmt.Errorf("ITI-41: %w", err)
	}
	return resp, nil
}

// ProvideInline sends sub with ITI-41 as plain SOAP, each document inline
// as base64.
func (t *T) ProvideInline(ctx context.Context, sub *registry.Submission, content map[string][]byte) (registry.Response, error) {
	var parts []ebrim.DocumentPart
	for _, d := range sub.Documents {
		if b, ok := content[d.ID]; ok {
			parts = append(parts, ebrim.DocumentPart{ID: d.ID, Inline: b})
		}
	}
	resp, err := t.XDS.SOAP.Call(ctx, t.XDS.RepositoryURL, ebrim.ActionProvide, ebrim.EncodeProvideAndRegister(sub, parts))
	if err != nil {
		return registry.Response{}, fmt.Errorf("ITI-41: %w", err)
	}
	defer resp.Close()
	rr, err := ebrim.ParseRegistryResponse(resp.Body())
	if err != nil {
		return registry.Response{}, fmt.Errorf("ITI-41 response: %w", err)
	}
	return rr, nil
}

func wantSuccess(what string, rr registry.Response) error {
	if rr.Status != registry.ResponseSuccess || rr.Errors.Failed() {
		return fmt.Errorf("%s: %s %v, want Success", what, shortType(rr.Status), rr.Errors)
	}
	return nil
}

// contentsOf returns the sample contents of sub's documents by id.
func contentsOf(sub *registry.Submission, seq uint64) map[string][]byte {
	m := map[string][]byte{}
	for i, d := range sub.Documents {
		m[d.ID] = Document(sub, seq, i)
	}
	return m
}

// provided provides a fresh submission of n documents for patient and
// returns the registered entries with their contents.
func (t *T) provided(ctx context.Context, patient string, n int, mutate func(*registry.Submission, map[string][]byte)) ([]*registry.DocumentEntry, [][]byte, error) {
	sub, seq := t.Submission(patient, n, false)
	content := contentsOf(sub, seq)
	if mutate != nil {
		mutate(sub, content)
	}
	rr, err := t.Provide(ctx, sub, content)
	if err != nil {
		return nil, nil, err
	}
	if err := wantSuccess("ITI-41 of a valid submission", rr); err != nil {
		return nil, nil, err
	}
	var entries []*registry.DocumentEntry
	var bodies [][]byte
	for _, d := range sub.Documents {
		e, err := t.EntryByUniqueID(ctx, d.UniqueID)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
		bodies = append(bodies, content[d.ID])
	}
	return entries, bodies, nil
}

// checkStored checks the registered entry against the bytes sent.
func checkStored(e *registry.DocumentEntry, body []byte) error {
	sum := sha1.Sum(body)
	switch {
	case e.RepositoryUniqueID == "":
		return fmt.Errorf("registered entry %s has no repositoryUniqueId", e.UniqueID)
	case e.Hash != hex.EncodeToString(sum[:]):
		return fmt.Errorf("registered entry %s has hash %s, the document's SHA-1 is %x", e.UniqueID, e.Hash, sum)
	case e.Size == nil || *e.Size != int64(len(body)):
		return fmt.Errorf("registered entry %s has size %v, the document has %d bytes", e.UniqueID, e.Size, len(body))
	}
	return nil
}

// RetrieveAll sends ITI-43 for reqs and reads every returned document.
func (t *T) RetrieveAll(ctx context.Context, reqs []repository.DocumentRequest) (registry.Response, map[string][]byte, error) {
	res, err := t.XDS.Retrieve(ctx, reqs)
	if err != nil {
		return registry.Response{}, nil, fmt.Errorf("ITI-43: %w", err)
	}
	defer res.Close()
	got := map[string][]byte{}
	for {
		d, body, err := res.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res.Response, got, fmt.Errorf("ITI-43: reading the documents: %w", err)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return res.Response, got, fmt.Errorf("ITI-43: reading document %s: %w", d.DocumentUniqueID, err)
		}
		got[d.DocumentUniqueID] = b
	}
	if len(got) != len(res.Docs) {
		return res.Response, got, fmt.Errorf("ITI-43: %d DocumentResponses but %d attachments", len(res.Docs), len(got))
	}
	return res.Response, got, nil
}

func requests(entries ...*registry.DocumentEntry) []repository.DocumentRequest {
	out := make([]repository.DocumentRequest, len(entries))
	for i, e := range entries {
		out[i] = repository.DocumentRequest{RepositoryUniqueID: e.RepositoryUniqueID, DocumentUniqueID: e.UniqueID}
	}
	return out
}

// retrieveAndCompare retrieves entries and checks every byte.
func (t *T) retrieveAndCompare(ctx context.Context, entries []*registry.DocumentEntry, bodies [][]byte) error {
	rr, got, err := t.RetrieveAll(ctx, requests(entries...))
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-43", rr); err != nil {
		return err
	}
	if len(got) != len(entries) {
		return fmt.Errorf("ITI-43 returned %d documents, want %d", len(got), len(entries))
	}
	for i, e := range entries {
		if !bytes.Equal(got[e.UniqueID], bodies[i]) {
			return fmt.Errorf("ITI-43 returned %d bytes for %s that differ from the %d provided", len(got[e.UniqueID]), e.UniqueID, len(bodies[i]))
		}
	}
	return nil
}

func provideOne(ctx context.Context, t *T) error {
	entries, bodies, err := t.provided(ctx, t.NewPatient(), 1, nil)
	if err != nil {
		return err
	}
	if err := checkStored(entries[0], bodies[0]); err != nil {
		return err
	}
	return t.retrieveAndCompare(ctx, entries, bodies)
}

func provideSeveral(ctx context.Context, t *T) error {
	entries, bodies, err := t.provided(ctx, t.NewPatient(), 3, func(sub *registry.Submission, c map[string][]byte) {
		// Different sizes and media types.
		c["Document02"] = bytes.Repeat([]byte("syntetisk røntgensvar\n"), 5000)
		sub.Documents[1].MimeType = "text/plain"
		setContent(sub.Documents[1], c["Document02"])
		c["Document03"] = []byte("%PDF-1.4\n% syntetisk\n")
		sub.Documents[2].MimeType = "application/pdf"
		setContent(sub.Documents[2], c["Document03"])
	})
	if err != nil {
		return err
	}
	for i, e := range entries {
		if err := checkStored(e, bodies[i]); err != nil {
			return err
		}
	}
	return t.retrieveAndCompare(ctx, entries, bodies)
}

func provideInline(ctx context.Context, t *T) error {
	p := t.NewPatient()
	sub, seq := t.Submission(p, 2, false)
	content := contentsOf(sub, seq)
	rr, err := t.ProvideInline(ctx, sub, content)
	if err != nil {
		return err
	}
	if err := wantSuccess("ITI-41 with inline documents", rr); err != nil {
		return err
	}
	var entries []*registry.DocumentEntry
	var bodies [][]byte
	for _, d := range sub.Documents {
		e, err := t.EntryByUniqueID(ctx, d.UniqueID)
		if err != nil {
			return err
		}
		if err := checkStored(e, content[d.ID]); err != nil {
			return err
		}
		entries, bodies = append(entries, e), append(bodies, content[d.ID])
	}
	return t.retrieveAndCompare(ctx, entries, bodies)
}

func provideNoHash(ctx context.Context, t *T) error {
	entries, bodies, err := t.provided(ctx, t.NewPatient(), 1, func(sub *registry.Submission, _ map[string][]byte) {
		sub.Documents[0].Hash, sub.Documents[0].Size = "", nil
	})
	if err != nil {
		return err
	}
	return checkStored(entries[0], bodies[0])
}

// notRegistered checks that no entry with uid was registered.
func (t *T) notRegistered(ctx context.Context, uids ...string) error {
	res, err := t.Query(ctx, NewQuery(registry.QueryGetDocuments, registry.ReturnObjectRef).List(registry.ParamDocumentEntryUniqueID, uids...))
	if err != nil {
		return err
	}
	if len(res.Refs) != 0 {
		return fmt.Errorf("a rejected document was registered (%d entries found)", len(res.Refs))
	}
	return nil
}

// provideRejected provides sub with content and checks the error codes,
// and that none of sub's documents was registered.
func (t *T) provideRejected(ctx context.Context, sub *registry.Submission, content map[string][]byte, codes []string, contexts ...string) error {
	rr, err := t.Provide(ctx, sub, content)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure {
		return fmt.Errorf("ITI-41: status %s, want Failure (%v)", rr.Status, rr.Errors)
	}
	if err := wantErrors("ITI-41", rr.Errors, codes, contexts...); err != nil {
		return err
	}
	var uids []string
	for _, d := range sub.Documents {
		uids = append(uids, d.UniqueID)
	}
	return t.notRegistered(ctx, uids...)
}

// providePassBack: a submission the repository accepts but the registry
// rejects gets the registry's errors unchanged, and nothing is kept.
func providePassBack(ctx context.Context, t *T) error {
	p, other := t.NewPatient(), t.NewPatient()
	sub, seq := t.Submission(p, 1, false)
	content := contentsOf(sub, seq)
	sub.Documents[0].PatientID = CX(other)
	if err := t.provideRejected(ctx, sub, content, []string{registry.ErrCodePatientIDDoesNotMatch}, other); err != nil {
		return err
	}
	sub2, seq2 := t.Submission(p, 1, false)
	sub2.Documents[0].Type = registry.Code{Code: "Z98-9", Scheme: oid.Volven9602}
	if err := t.provideRejected(ctx, sub2, contentsOf(sub2, seq2), []string{registry.ErrCodeRegistryMetadataError}, "Z98-9"); err != nil {
		return err
	}
	// Unchanged: the same metadata sent straight to the registry (ITI-42)
	// gets the same RegistryErrors, code and codeContext.
	rr, err := t.Provide(ctx, sub, content)
	if err != nil {
		return err
	}
	direct, err := t.RegisterErr(ctx, sub)
	if err != nil {
		return err
	}
	if len(rr.Errors) != len(direct) {
		return fmt.Errorf("ITI-41 answered %v, the registry (ITI-42) %v: not passed back unchanged", rr.Errors, direct)
	}
	for i := range direct {
		if rr.Errors[i].Code != direct[i].Code || rr.Errors[i].Context != direct[i].Context || rr.Errors[i].Severity != direct[i].Severity {
			return fmt.Errorf("ITI-41 answered %v, the registry (ITI-42) %v: not passed back unchanged", rr.Errors[i], direct[i])
		}
	}
	return nil
}

func (t *T) maxDocument() (int64, error) {
	max := t.Target().MaxDocumentSize
	switch {
	case max == 0:
		return 0, Skipf("the target's --max-document-size is not known (pjd conformance --max-document-size N)")
	case max > 64<<20:
		return 0, Skipf("the target's --max-document-size %d is too large to exceed cheaply (at most 64 MiB)", max)
	}
	return max, nil
}

// --- ITI-43 ---

func retrieveScenarios() []Scenario {
	s := scenariosOf(tx43)
	return []Scenario{
		s("retrieve-one", retrieveOne),
		s("retrieve-several-one-request", retrieveSeveral),
		s("retrieve-several-one-missing", retrieveOneMissing),
		s("retrieve-all-missing", retrieveAllMissing),
		s("unknown-repository-id", retrieveUnknownRepository),
		s("retrieve-replaced-document", retrieveReplaced),
	}
}

func retrieveOne(ctx context.Context, t *T) error {
	entries, bodies, err := t.provided(ctx, t.NewPatient(), 1, nil)
	if err != nil {
		return err
	}
	return t.retrieveAndCompare(ctx, entries, bodies)
}

func retrieveSeveral(ctx context.Context, t *T) error {
	p := t.NewPatient()
	e1, b1, err := t.provided(ctx, p, 2, nil)
	if err != nil {
		return err
	}
	e2, b2, err := t.provided(ctx, p, 1, nil)
	if err != nil {
		return err
	}
	return t.retrieveAndCompare(ctx, append(e1, e2...), append(b1, b2...))
}

func wantDocumentErrors(what string, rr registry.Response, code string, locations ...string) error {
	if err := wantErrors(what, rr.Errors, []string{code}); err != nil {
		return err
	}
	for _, loc := range locations {
		found := false
		for _, e := range rr.Errors {
			if e.Location == loc || strings.Contains(e.Context, loc) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: no %s names %s: %v", what, code, loc, rr.Errors)
		}
	}
	return nil
}

func retrieveOneMissing(ctx context.Context, t *T) error {
	entries, bodies, err := t.provided(ctx, t.NewPatient(), 2, nil)
	if err != nil {
		return err
	}
	missing := NewOID()
	reqs := append(requests(entries...), repository.DocumentRequest{RepositoryUniqueID: entries[0].RepositoryUniqueID, DocumentUniqueID: missing})
	rr, got, err := t.RetrieveAll(ctx, reqs)
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponsePartialSuccess {
		return fmt.Errorf("ITI-43 with one of three missing: status %s, want PartialSuccess", rr.Status)
	}
	if err := wantDocumentErrors("ITI-43", rr, registry.ErrCodeDocumentUniqueIDError, missing); err != nil {
		return err
	}
	if len(got) != 2 || !bytes.Equal(got[entries[0].UniqueID], bodies[0]) || !bytes.Equal(got[entries[1].UniqueID], bodies[1]) {
		return fmt.Errorf("ITI-43 with one missing delivered %d documents, want the 2 found, byte for byte", len(got))
	}
	return nil
}

func retrieveAllMissing(ctx context.Context, t *T) error {
	entries, _, err := t.provided(ctx, t.NewPatient(), 1, nil)
	if err != nil {
		return err
	}
	m1, m2 := NewOID(), NewOID()
	rr, got, err := t.RetrieveAll(ctx, []repository.DocumentRequest{
		{RepositoryUniqueID: entries[0].RepositoryUniqueID, DocumentUniqueID: m1},
		{RepositoryUniqueID: entries[0].RepositoryUniqueID, DocumentUniqueID: m2}})
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure || len(got) != 0 {
		return fmt.Errorf("ITI-43 of two unknown documents: status %s with %d documents, want Failure with none", rr.Status, len(got))
	}
	return wantDocumentErrors("ITI-43", rr, registry.ErrCodeDocumentUniqueIDError, m1, m2)
}

func retrieveUnknownRepository(ctx context.Context, t *T) error {
	entries, _, err := t.provided(ctx, t.NewPatient(), 1, nil)
	if err != nil {
		return err
	}
	rr, got, err := t.RetrieveAll(ctx, []repository.DocumentRequest{{RepositoryUniqueID: "2.999.578.404", DocumentUniqueID: entries[0].UniqueID}})
	if err != nil {
		return err
	}
	if rr.Status != registry.ResponseFailure || len(got) != 0 {
		return fmt.Errorf("ITI-43 to an unknown repository: status %s with %d documents, want Failure with none", rr.Status, len(got))
	}
	return wantDocumentErrors("ITI-43", rr, registry.ErrCodeUnknownRepositoryID)
}

// retrieveReplaced: a Deprecated document stays retrievable.
func retrieveReplaced(ctx context.Context, t *T) error {
	p := t.NewPatient()
	orig, bodies, err := t.provided(ctx, p, 1, nil)
	if err != nil {
		return err
	}
	if _, _, err := t.provided(ctx, p, 1, func(sub *registry.Submission, _ map[string][]byte) {
		sub.Associations = append(sub.Associations, relation("Rel", registry.AssocReplace, "Document01", orig[0].ID))
	}); err != nil {
		return err
	}
	e, err := t.EntryByUniqueID(ctx, orig[0].UniqueID)
	if err != nil {
		return err
	}
	if e.Status != registry.StatusDeprecated {
		return fmt.Errorf("replaced document has status %s, want Deprecated", e.Status)
	}
	return t.retrieveAndCompare(ctx, orig, bodies)
}
