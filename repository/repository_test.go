package repository_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
)

func TestNewConfig(t *testing.T) {
	blobs, _ := backends[0].open(t)
	reg := &countingRegistry{}
	for _, tc := range []struct {
		name string
		cfg  repository.Config
	}{
		{"no unique id", repository.Config{Blobs: blobs, Registry: reg}},
		{"unique id not an OID", repository.Config{UniqueID: "repo-1", Blobs: blobs, Registry: reg}},
		{"OID with leading zero arc", repository.Config{UniqueID: "2.16.0578", Blobs: blobs, Registry: reg}},
		{"OID too long", repository.Config{UniqueID: "2." + strings.Repeat("1.", 32) + "1", Blobs: blobs, Registry: reg}},
		{"no blob store", repository.Config{UniqueID: repoID, Registry: reg}},
		{"no registry", repository.Config{UniqueID: repoID, Blobs: blobs}},
		{"negative size limit", repository.Config{UniqueID: repoID, Blobs: blobs, Registry: reg, MaxDocumentSize: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := repository.New(tc.cfg); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	r, err := repository.New(repository.Config{UniqueID: repoID, Blobs: blobs, Registry: reg})
	if err != nil || r.UniqueID() != repoID {
		t.Fatalf("New = %v, %v", r, err)
	}
}

// TestProvideAndRetrieve is the whole happy path on every backend: a
// multi-document ITI-41, the registry's view of it, ITI-43 and ITI-68.
func TestProvideAndRetrieve(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		sub, ids := submission(3)
		bodies := map[string][]byte{}
		for i, id := range ids {
			bodies[id] = body(i)
		}
		bodies[ids[2]] = []byte{} // an empty document is a document
		// A source may send hash (any case) and size; when right they pass.
		sub.Documents[0].Hash = strings.ToUpper(sha1Hex(bodies[ids[0]]))
		size := int64(len(bodies[ids[0]]))
		sub.Documents[0].Size = &size
		sub.Documents[1].RepositoryUniqueID = "1.2.3" // replaced by ours

		warnings, err := provide(t, e.repo, sub, ids, bodies)
		if err != nil || warnings.Failed() {
			t.Fatalf("provide: %v, %v", warnings, err)
		}
		var uids []string
		for _, d := range sub.Documents {
			uids = append(uids, d.UniqueID)
		}
		entries, err := e.reg.DocumentsByUniqueID(ctx, uids)
		if err != nil || len(entries) != 3 {
			t.Fatalf("registry holds %d entries, %v", len(entries), err)
		}
		for _, en := range entries {
			i := slices.Index(uids, en.UniqueID)
			want := bodies[ids[i]]
			if en.RepositoryUniqueID != repoID || en.Hash != sha1Hex(want) || en.Size == nil || *en.Size != int64(len(want)) {
				t.Errorf("entry %s: repositoryUniqueId %q hash %q size %v; want %s %s %d", en.UniqueID, en.RepositoryUniqueID, en.Hash, en.Size, repoID, sha1Hex(want), len(want))
			}
		}
		if n := len(objects(t, e.blobs)); n != 6 {
			t.Errorf("%d objects stored, want 6 (a .bin and a .meta per document)", n)
		}

		// ITI-43, in an order different from the upload's.
		reqs := []repository.DocumentRequest{
			{RepositoryUniqueID: repoID, DocumentUniqueID: uids[2], HomeCommunityID: "urn:oid:2.16.578.1.12.4.1.7.1"},
			{RepositoryUniqueID: repoID, DocumentUniqueID: uids[0]},
			{RepositoryUniqueID: repoID, DocumentUniqueID: uids[1]},
		}
		res, err := e.repo.Retrieve(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Response.Status != registry.ResponseSuccess || len(res.Response.Errors) != 0 || len(res.Documents) != 3 {
			t.Fatalf("Retrieve = %+v", res.Response)
		}
		for i, d := range res.Documents {
			want := bodies[ids[slices.Index(uids, reqs[i].DocumentUniqueID)]]
			if d.DocumentUniqueID != reqs[i].DocumentUniqueID || d.RepositoryUniqueID != repoID || d.HomeCommunityID != reqs[i].HomeCommunityID ||
				d.MimeType != "text/plain" || d.Size != int64(len(want)) || d.Hash != sha1Hex(want) {
				t.Errorf("document %d = %+v", i, d)
			}
			if got := readAll(t, d.Open); !bytes.Equal(got, want) {
				t.Errorf("document %d: read %d bytes that differ from the %d stored", i, len(got), len(want))
			}
		}

		// ITI-68: the gateway has the entry from its query.
		for _, en := range entries {
			rc, size, err := e.repo.Open(ctx, en)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || size != *en.Size || int64(len(got)) != size || sha1Hex(got) != en.Hash {
				t.Errorf("Open(%s): %d bytes (size %d), %v", en.UniqueID, len(got), size, err)
			}
		}
	})
}

// TestUploadRejections has a row per ITI-41 rule: the XDS code it must
// produce, and that nothing is left in storage or in the registry.
func TestUploadRejections(t *testing.T) {
	type fixture struct {
		sub    *registry.Submission
		ids    []string
		bodies map[string][]byte
	}
	rows := []struct {
		name   string
		docs   int
		limit  int64
		edit   func(t *testing.T, e *env, f *fixture)
		want   []string
		regHit bool // the registry was asked (and said no)
	}{
		{name: "DocumentEntry without a document", docs: 2, want: []string{registry.ErrCodeMissingDocument},
			edit: func(t *testing.T, e *env, f *fixture) { f.ids = f.ids[:1] }},
		{name: "document without a DocumentEntry", docs: 1, want: []string{registry.ErrCodeMissingDocumentMetadata},
			edit: func(t *testing.T, e *env, f *fixture) {
				f.ids = append(f.ids, "Document99")
				f.bodies["Document99"] = []byte("stray")
			}},
		{name: "document with an empty id", docs: 1, want: []string{registry.ErrCodeMissingDocumentMetadata},
			edit: func(t *testing.T, e *env, f *fixture) { f.ids = append(f.ids, "") }},
		{name: "the same document id twice", docs: 1, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) { f.ids = append(f.ids, f.ids[0]) }},
		{name: "duplicate uniqueId in the message", docs: 2, want: []string{registry.ErrCodeRepositoryDuplicateUniqueIDInMessage},
			edit: func(t *testing.T, e *env, f *fixture) { f.sub.Documents[1].UniqueID = f.sub.Documents[0].UniqueID }},
		{name: "DocumentEntry without uniqueId", docs: 1, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) { f.sub.Documents[0].UniqueID = "" }},
		{name: "hash differs from the document", docs: 2, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) { f.sub.Documents[1].Hash = sha1Hex([]byte("another document")) }},
		{name: "size differs from the document", docs: 2, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) {
				n := int64(len(f.bodies[f.ids[1]]) + 1)
				f.sub.Documents[1].Size = &n
			}},
		{name: "hash and size both differ", docs: 1, want: []string{registry.ErrCodeRepositoryMetadataError, registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) {
				n := int64(1)
				f.sub.Documents[0].Size = &n
				f.sub.Documents[0].Hash = strings.Repeat("0", 40)
			}},
		{name: "hash not a SHA-1 in hex", docs: 1, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) { f.sub.Documents[0].Hash = "not-a-hash" }},
		{name: "negative size", docs: 1, want: []string{registry.ErrCodeRepositoryMetadataError},
			edit: func(t *testing.T, e *env, f *fixture) {
				n := int64(-1)
				f.sub.Documents[0].Size = &n
			}},
		{name: "declared document never sent", docs: 2, want: []string{registry.ErrCodeMissingDocument},
			edit: func(t *testing.T, e *env, f *fixture) { delete(f.bodies, f.ids[1]) }},
		{name: "document over the size limit", docs: 2, limit: 1 << 10, want: []string{registry.ErrCodeRepositoryError},
			edit: func(t *testing.T, e *env, f *fixture) { f.bodies[f.ids[1]] = bytes.Repeat([]byte("x"), 1<<10+1) }},
		{name: "declared size over the size limit", docs: 1, limit: 1 << 10, want: []string{registry.ErrCodeRepositoryError},
			edit: func(t *testing.T, e *env, f *fixture) {
				n := int64(1<<10 + 1)
				f.sub.Documents[0].Size = &n
			}},
		{name: "registry: unknown patient (returned unchanged)", docs: 2, regHit: true, want: []string{registry.ErrCodeUnknownPatientID},
			edit: func(t *testing.T, e *env, f *fixture) {
				p := "12345678901^^^&" + oid.FNR + "&ISO"
				f.sub.SubmissionSet.PatientID = p
				for _, d := range f.sub.Documents {
					d.PatientID, d.SourcePatientID = p, p
				}
			}},
		{name: "registry: uniqueId registered with another hash", docs: 1, regHit: true, want: []string{registry.ErrCodeNonIdenticalHash},
			edit: func(t *testing.T, e *env, f *fixture) {
				// Register the same uniqueId first, with other bytes of
				// the same size.
				sub, ids := submission(1)
				sub.Documents[0].UniqueID = f.sub.Documents[0].UniqueID
				first := bytes.Clone(f.bodies[f.ids[0]])
				first[0] ^= 1
				if _, err := provide(t, e.repo, sub, ids, map[string][]byte{ids[0]: first}); err != nil {
					t.Fatalf("first submission: %v", err)
				}
			}},
	}
	forEachBackend(t, func(t *testing.T, open func(*testing.T) repository.BlobStore) {
		for _, tc := range rows {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, open(t), func(c *repository.Config) { c.MaxDocumentSize = tc.limit })
				sub, ids := submission(tc.docs)
				f := &fixture{sub: sub, ids: ids, bodies: map[string][]byte{}}
				for i, id := range ids {
					f.bodies[id] = body(i)
				}
				tc.edit(t, e, f)
				before := objects(t, e.blobs)
				registersBefore := e.reg.registers

				_, err := provide(t, e.repo, f.sub, f.ids, f.bodies)
				if got := errCodes(err); !slices.Equal(got, tc.want) {
					t.Fatalf("error %v: codes %q, want %q", err, got, tc.want)
				}
				for _, x := range err.(registry.ErrorList) {
					if x.Severity != registry.SeverityError || x.Context == "" {
						t.Errorf("RegistryError %+v: want Error severity and a codeContext", x)
					}
				}
				if got := objects(t, e.blobs); !slices.Equal(got, before) {
					t.Errorf("blobs left behind: %q", got)
				}
				if hit := e.reg.registers > registersBefore; hit != tc.regHit {
					t.Errorf("registry asked: %v, want %v", hit, tc.regHit)
				}
				var uids []string
				for _, d := range f.sub.Documents {
					uids = append(uids, d.UniqueID)
				}
				got, err := e.reg.DocumentsByUniqueID(t.Context(), uids)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range got {
					if d.Hash == sha1Hex(f.bodies[f.ids[0]]) {
						t.Errorf("rejected document %s was registered", d.UniqueID)
					}
				}
			})
		}
	})
}

// sizedSource yields n bytes and counts how many were asked of it.
type sizedSource struct{ n, read int64 }

func (s *sizedSource) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	m := min(int64(len(p)), s.n)
	clear(p[:m])
	s.n -= m
	s.read += m
	return int(m), nil
}

// TestSizeLimitStopsReading checks that a document over the limit is cut
// off as the limit is crossed: the source is not read further, and the
// partial blob is gone.
func TestSizeLimitStopsReading(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T) repository.BlobStore) {
		const limit = 6 << 20 // past S3's first part
		e := newEnv(t, open(t), func(c *repository.Config) { c.MaxDocumentSize = limit })
		sub, ids := submission(1)
		u, err := e.repo.NewUpload(t.Context(), sub, ids)
		if err != nil {
			t.Fatal(err)
		}
		src := &sizedSource{n: 100 << 20}
		err = u.Put(t.Context(), ids[0], src)
		if got := errCodes(err); !slices.Equal(got, []string{registry.ErrCodeRepositoryError}) {
			t.Fatalf("Put: %v", err)
		}
		if src.read > limit+1 {
			t.Errorf("read %d bytes of the source, limit %d", src.read, limit)
		}
		if got := objects(t, e.blobs); len(got) != 0 {
			t.Errorf("left behind: %q", got)
		}
		if _, err := u.Commit(t.Context()); !slices.Equal(errCodes(err), []string{registry.ErrCodeRepositoryError}) {
			t.Errorf("Commit after a failed Put: %v", err)
		}
		// Exactly the limit is accepted.
		sub, ids = submission(1)
		u, err = e.repo.NewUpload(t.Context(), sub, ids)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Put(t.Context(), ids[0], &sizedSource{n: limit}); err != nil {
			t.Fatalf("Put of exactly the limit: %v", err)
		}
		u.Abort(t.Context())
	})
}

func TestUploadMisuse(t *testing.T) {
	blobs, _ := backends[0].open(t)
	e := newEnv(t, blobs)
	ctx := t.Context()
	sub, ids := submission(1)
	u, err := e.repo.NewUpload(ctx, sub, ids)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Put(ctx, "Document77", strings.NewReader("x")); !errors.Is(err, repository.ErrUnknownDocument) {
		t.Errorf("Put of an undeclared id: %v", err)
	}
	if err := u.Put(ctx, ids[0], strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := u.Put(ctx, ids[0], strings.NewReader("x")); !errors.Is(err, repository.ErrUnknownDocument) {
		t.Errorf("second Put of the same id: %v", err)
	}
	if _, err := u.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Commit(ctx); !errors.Is(err, repository.ErrUploadClosed) {
		t.Errorf("second Commit: %v", err)
	}
	if err := u.Put(ctx, ids[0], strings.NewReader("x")); !errors.Is(err, repository.ErrUploadClosed) {
		t.Errorf("Put after Commit: %v", err)
	}
	u.Abort(ctx) // no effect after Commit
	if n := len(objects(t, e.blobs)); n != 2 {
		t.Errorf("Abort after Commit changed storage: %d objects", n)
	}
	if _, err := e.repo.NewUpload(ctx, nil, nil); !slices.Equal(errCodes(err), []string{registry.ErrCodeRepositoryMetadataError}) {
		t.Errorf("NewUpload(nil): %v", err)
	}
}

// TestAbort checks that Abort deletes what was stored, even with the
// request's context already cancelled.
func TestAbort(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		sub, ids := submission(3)
		ctx, cancel := context.WithCancel(t.Context())
		u, err := e.repo.NewUpload(ctx, sub, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids[:2] {
			if err := u.Put(ctx, id, bytes.NewReader(body(i))); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(objects(t, e.blobs)); n != 4 {
			t.Fatalf("%d objects after two Puts", n)
		}
		cancel()
		u.Abort(ctx)
		u.Abort(ctx)
		if got := objects(t, e.blobs); len(got) != 0 {
			t.Fatalf("left after Abort: %q", got)
		}
		if _, err := u.Commit(t.Context()); !errors.Is(err, repository.ErrUploadClosed) {
			t.Fatalf("Commit after Abort: %v", err)
		}
		if e.reg.registers != 0 {
			t.Fatal("an aborted upload reached the registry")
		}
	})
}

func TestUploadTimeout(t *testing.T) {
	blobs, _ := backends[0].open(t)
	e := newEnv(t, blobs, func(c *repository.Config) { c.UploadTimeout = time.Minute })
	ctx := t.Context()
	for _, step := range []string{"Put", "Commit"} {
		t.Run(step, func(t *testing.T) {
			e.clock.Set(0)
			sub, ids := submission(1)
			u, err := e.repo.NewUpload(ctx, sub, ids)
			if err != nil {
				t.Fatal(err)
			}
			if step == "Commit" {
				if err := u.Put(ctx, ids[0], strings.NewReader("x")); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(2 * time.Minute)
			if step == "Put" {
				err = u.Put(ctx, ids[0], strings.NewReader("x"))
			} else {
				_, err = u.Commit(ctx)
			}
			if !errors.Is(err, repository.ErrUploadExpired) {
				t.Fatalf("%s after the timeout: %v", step, err)
			}
			if got := objects(t, e.blobs); len(got) != 0 {
				t.Fatalf("left behind: %q", got)
			}
		})
	}
}

// TestRetrieveErrors covers the ITI-43 statuses: PartialSuccess with one
// XDSDocumentUniqueIdError per missing uniqueId, XDSUnknownRepositoryId,
// Failure when nothing is found.
func TestRetrieveErrors(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		sub, _, _ := provided(t, e.repo, 2)
		have0, have1 := sub.Documents[0].UniqueID, sub.Documents[1].UniqueID
		missing1, missing2 := uid(3), uid(3)
		const otherRepo = "2.16.578.1.12.4.1.7.9.9.9"
		type wantErr struct{ code, location string }
		for _, tc := range []struct {
			name   string
			reqs   []repository.DocumentRequest
			status string
			found  []string
			errs   []wantErr
		}{
			{"all found", []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: have1}}, registry.ResponseSuccess, []string{have1}, nil},
			{"one of three missing",
				[]repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: have0}, {RepositoryUniqueID: repoID, DocumentUniqueID: missing1}, {RepositoryUniqueID: repoID, DocumentUniqueID: have1}},
				registry.ResponsePartialSuccess, []string{have0, have1}, []wantErr{{registry.ErrCodeDocumentUniqueIDError, missing1}}},
			{"all missing",
				[]repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: missing1}, {RepositoryUniqueID: repoID, DocumentUniqueID: missing2}},
				registry.ResponseFailure, nil, []wantErr{{registry.ErrCodeDocumentUniqueIDError, missing1}, {registry.ErrCodeDocumentUniqueIDError, missing2}}},
			{"empty uniqueId", []repository.DocumentRequest{{RepositoryUniqueID: repoID}},
				registry.ResponseFailure, nil, []wantErr{{registry.ErrCodeDocumentUniqueIDError, ""}}},
			{"another repository",
				[]repository.DocumentRequest{{RepositoryUniqueID: otherRepo, DocumentUniqueID: have0}},
				registry.ResponseFailure, nil, []wantErr{{registry.ErrCodeUnknownRepositoryID, have0}}},
			{"another repository and one found",
				[]repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: have0}, {RepositoryUniqueID: otherRepo, DocumentUniqueID: have1}},
				registry.ResponsePartialSuccess, []string{have0}, []wantErr{{registry.ErrCodeUnknownRepositoryID, have1}}},
			{"no request", nil, registry.ResponseFailure, nil, []wantErr{{registry.ErrCodeRepositoryError, ""}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.repo.Retrieve(ctx, tc.reqs)
				if err != nil {
					t.Fatal(err)
				}
				if res.Response.Status != tc.status {
					t.Errorf("status %s, want %s", res.Response.Status, tc.status)
				}
				var found []string
				for _, d := range res.Documents {
					found = append(found, d.DocumentUniqueID)
				}
				if !slices.Equal(found, tc.found) {
					t.Errorf("found %q, want %q", found, tc.found)
				}
				var errs []wantErr
				for _, x := range res.Response.Errors {
					errs = append(errs, wantErr{x.Code, x.Location})
					if x.Severity != registry.SeverityError {
						t.Errorf("%s has severity %s", x.Code, x.Severity)
					}
				}
				if !slices.Equal(errs, tc.errs) {
					t.Errorf("errors %+v, want %+v", errs, tc.errs)
				}
			})
		}

		// ITI-68 Open of entries it cannot serve.
		other := &registry.DocumentEntry{UniqueID: have0, RepositoryUniqueID: otherRepo}
		if _, _, err := e.repo.Open(ctx, other); !errors.Is(err, repository.ErrUnknownRepository) {
			t.Errorf("Open of another repository's entry: %v", err)
		}
		size := int64(3)
		unknown := &registry.DocumentEntry{UniqueID: missing1, RepositoryUniqueID: repoID, Hash: sha1Hex([]byte("abc")), Size: &size}
		if _, _, err := e.repo.Open(ctx, unknown); !errors.Is(err, repository.ErrDocumentNotFound) {
			t.Errorf("Open of an entry with no blob: %v", err)
		}
	})
}

// TestIntegrity tampers with stored bytes and records: a retrieval must
// fail rather than serve bytes that are not the registered ones.
func TestIntegrity(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		sub, ids, bodies := provided(t, e.repo, 1)
		orig := bodies[ids[0]]
		uid0 := sub.Documents[0].UniqueID
		keys := objects(t, e.blobs)
		binKey := keys[0]
		if !strings.HasSuffix(binKey, ".bin") {
			t.Fatalf("unexpected layout %q", keys)
		}
		retrieve := func() *repository.RetrieveResult {
			res, err := e.repo.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: uid0}})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}

		t.Run("same size, other bytes", func(t *testing.T) {
			bad := bytes.Clone(orig)
			bad[10] ^= 1
			if _, err := e.blobs.Put(ctx, binKey, bytes.NewReader(bad)); err != nil {
				t.Fatal(err)
			}
			res := retrieve()
			if len(res.Documents) != 1 {
				t.Fatalf("Retrieve = %+v", res.Response)
			}
			rc, err := res.Documents[0].Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(rc)
			rc.Close()
			if !errors.Is(err, repository.ErrIntegrity) {
				t.Fatalf("reading tampered bytes: %v, want ErrIntegrity", err)
			}
		})
		t.Run("other size", func(t *testing.T) {
			if _, err := e.blobs.Put(ctx, binKey, bytes.NewReader(orig[1:])); err != nil {
				t.Fatal(err)
			}
			res := retrieve()
			if _, err := res.Documents[0].Open(ctx); !errors.Is(err, repository.ErrIntegrity) {
				t.Fatalf("Open of a truncated blob: %v, want ErrIntegrity", err)
			}
		})
		t.Run("copies disagree on SHA-256", func(t *testing.T) {
			if _, err := e.blobs.Put(ctx, binKey, bytes.NewReader(orig)); err != nil {
				t.Fatal(err)
			}
			// A second upload of the same uniqueId, hash and size whose
			// record names another SHA-256 (what a SHA-1 collision looks
			// like).
			metaKey := strings.TrimSuffix(binKey, ".bin") + ".meta"
			rc, _, err := e.blobs.Get(ctx, metaKey)
			if err != nil {
				t.Fatal(err)
			}
			meta, _ := io.ReadAll(rc)
			rc.Close()
			h := binKey[:strings.LastIndexByte(binKey, '/')+1]
			other := h + "29990101T000000.000000000Z-" + strings.Repeat("0", 32)
			var m map[string]any
			if err := json.Unmarshal(meta, &m); err != nil {
				t.Fatal(err)
			}
			m["sha256"] = strings.Repeat("f", 64)
			forged, _ := json.Marshal(m)
			for k, v := range map[string]string{other + ".bin": string(orig), other + ".meta": string(forged)} {
				if _, err := e.blobs.Put(ctx, k, strings.NewReader(v)); err != nil {
					t.Fatal(err)
				}
			}
			res := retrieve()
			if res.Response.Status != registry.ResponseFailure || len(res.Response.Errors) != 1 || res.Response.Errors[0].Code != registry.ErrCodeRepositoryError {
				t.Fatalf("Retrieve with disagreeing copies = %+v", res.Response)
			}
			if strings.Contains(res.Response.Errors[0].Context, "SHA") || strings.Contains(res.Response.Errors[0].Context, "docs/") {
				t.Errorf("codeContext leaks detail: %q", res.Response.Errors[0].Context)
			}
		})
	})
}
