package mhd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"pjd/gateway"
	"pjd/gateway/access"
	"pjd/gateway/audit"
	"pjd/gateway/authn"
	"pjd/gateway/fhir"
	"pjd/gateway/xcaclient"
	"pjd/registry"
	"pjd/trust"
)

// Endpoints serves the FHIR R4 MHD endpoints: ITI-67 and ITI-66 searches, ITI-68
// reads and ITI-65 provide. Each request is authenticated with a HelseID
// DPoP token (and, for health workers, the attestation) and goes through
// the access Guard.
type Endpoints struct {
	Guard   *access.Guard
	Tokens  authn.TokenVerifier
	Pager   *Pager
	BaseURL string // public base URL, no trailing slash
	// MaxProvide bounds an ITI-65 request body.
	MaxProvide int64
	Log        *slog.Logger
	Metrics    gateway.Metrics
}

// Routes mounts the MHD endpoints on s.
func (m *Endpoints) Routes(s *gateway.Server) {
	s.Handle("GET /fhir/R4/DocumentReference", http.HandlerFunc(m.findDocuments))
	s.Handle("POST /fhir/R4/DocumentReference/_search", http.HandlerFunc(m.findDocuments))
	s.Handle("GET /fhir/R4/List", http.HandlerFunc(m.findLists))
	s.Handle("POST /fhir/R4/List/_search", http.HandlerFunc(m.findLists))
	s.Handle("GET /mhd/document", http.HandlerFunc(m.retrieve))
	s.Handle("POST /fhir/R4", http.HandlerFunc(m.provide))
	s.Handle("POST /fhir/R4/", http.HandlerFunc(m.provide))
	s.Handle("GET /fhir/R4/DocumentReference/{id}/_history", http.HandlerFunc(m.history))
	s.Handle("GET /fhir/R4/DocumentReference/{id}/_history/{vid}", http.HandlerFunc(m.history))
	s.Handle("GET /fhir/R4/Consent", http.HandlerFunc(m.consentSearch))
	s.Handle("POST /fhir/R4/Consent", http.HandlerFunc(m.consentCreate))
	s.Handle("GET /fhir/R4/Consent/{id}", http.HandlerFunc(m.consentRead))
	s.Handle("DELETE /fhir/R4/Consent/{id}", http.HandlerFunc(m.consentDelete))
	s.Handle("PUT /fhir/R4/Patient", http.HandlerFunc(m.patientFeed))
	s.Handle("DELETE /fhir/R4/Patient", http.HandlerFunc(m.patientRemove))
}

// Scope sets of the endpoints: the PJD scopes, and the citizen's.
var (
	scopesSearch = []string{trust.ScopeReadDocumentReferences, trust.ScopeReadDocumentReferencesKJ, trust.ScopeCitizen}
	scopesRead   = []string{trust.ScopeReadDocument, trust.ScopeCitizen}
	scopesCreate = []string{trust.ScopeRegister}
)

func (m *Endpoints) call(r *http.Request, p *trust.Principal, tx string) access.Call {
	q := r.URL.RawQuery
	if r.Method == http.MethodPost && r.PostForm != nil {
		q = r.PostForm.Encode()
	}
	return access.Call{
		Principal:   p,
		Transaction: tx,
		Query:       redactQuery(q),
		RequestID:   gateway.RequestIDFrom(r.Context()),
		EventID:     r.Header.Get(HeaderEventID),
		Traceparent: r.Header.Get("traceparent"),
		SourceIP:    gateway.ClientIP(r),
		UserAgent:   r.UserAgent(),
	}
}

// redactQuery drops the page token (opaque, and carries the patient
// sealed) from what is recorded.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	parts = slices.DeleteFunc(parts, func(s string) bool { return strings.HasPrefix(s, "_page=") })
	return strings.Join(parts, "&")
}

// authenticate verifies the request's token for scopes, answering 401/403
// (with WWW-Authenticate) and recording the refusal when it fails.
func (m *Endpoints) authenticate(w http.ResponseWriter, r *http.Request, tx string, action audit.Action, scopes []string) (*trust.Principal, bool) {
	p, err := m.Tokens.VerifyRequest(r.Context(), r, trust.Requirement{Scopes: scopes, HTU: m.BaseURL + r.URL.Path})
	if err == nil {
		return p, true
	}
	m.Log.WarnContext(r.Context(), "MHD request refused: credential not accepted", "err", err)
	patient := headerPatient(r)
	if aerr := m.Guard.RecordRefusal(r.Context(), m.call(r, nil, tx), action, patient, "authentication", trust.Description(err)); aerr != nil {
		fhir.WriteTransient(w, gateway.RetryAfter, "the access log is unavailable; try again later")
		return nil, false
	}
	writeAuthError(w, err, scopes[0])
	return nil, false
}

// writeAuthError answers a refused credential: its status, the DPoP
// challenge, and an OperationOutcome; a dependency of the check that is
// unavailable (the replay cache, the issuer's keys) is a transient 503.
// readBody reads a request body of at most limit bytes; one that is
// larger or cannot be read is answered 413 too-costly, naming what the
// body is ("the Consent is larger than …").
func readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		fhir.WriteError(w, fhir.NewError(http.StatusRequestEntityTooLarge, fhir.IssueTooCostly, "", "the %s is larger than %d bytes", what, limit))
		return nil, false
	}
	return body, true
}

func writeAuthError(w http.ResponseWriter, err error, scope string) {
	status := trust.HTTPStatus(err)
	if status == http.StatusServiceUnavailable {
		fhir.WriteTransient(w, gateway.RetryAfter, trust.Description(err))
		return
	}
	if h := trust.WWWAuthenticate(err, scope); h != "" {
		w.Header().Set("WWW-Authenticate", h)
	}
	fhir.WriteError(w, fhir.NewError(status, fhir.RefusalIssue(status), "", "%s", trust.Description(err)))
}

// guardError answers an error from the Guard.
func (m *Endpoints) guardError(w http.ResponseWriter, r *http.Request, err error) {
	var d *access.Denied
	var failure *xcaclient.Failure
	switch {
	case errors.As(err, &d) && d.Conceal, errors.Is(err, access.ErrNotFound):
		fhir.WriteError(w, fhir.NotFound("no such document"))
	case errors.Is(err, access.ErrUnknownCommunity):
		fhir.WriteError(w, fhir.NotFound("no such community"))
	case errors.As(err, &d):
		fhir.WriteError(w, fhir.Forbidden("access denied by policy (%s)", d.Rule))
	case errors.As(err, &failure):
		// A community holding the document could not be asked: said so,
		// by name (never its URL or the cause).
		m.Log.WarnContext(r.Context(), "MHD request failed: a community is unavailable", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, failure.Message+"; try again later")
	case errors.Is(err, access.ErrAudit):
		m.Log.WarnContext(r.Context(), "MHD request failed: the audit log is unavailable", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, "the access log is unavailable, so nothing can be returned; try again later")
	case access.Unavailable(err):
		m.Log.WarnContext(r.Context(), "MHD request failed: a dependency is unavailable", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, "the service is temporarily unavailable; try again later")
	case gateway.ClientGone(r, err):
		m.Log.InfoContext(r.Context(), "MHD request cancelled by the client", "err", err)
		fhir.WriteTransient(w, gateway.RetryAfter, "the request was cancelled")
	case errors.Is(err, access.ErrTooMany):
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueTooCostly, "", "the search matches too many documents; narrow it"))
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(context.Cause(r.Context()), gateway.ErrRequestTimeout):
		// The request's deadline (Limits.RequestTimeout) passed: a
		// dependency is slow. Transient, and nothing was returned.
		m.Log.WarnContext(r.Context(), "MHD request timed out", "err", err)
		fhir.WriteTransient(w, gateway.BusyRetryAfter, "the service did not answer in time; try again later")
	default:
		if e := FromRegistryErrors(err); e != nil && e.Status != http.StatusInternalServerError {
			fhir.WriteError(w, e)
			return
		}
		m.Log.ErrorContext(r.Context(), "MHD request failed", "err", err)
		fhir.WriteError(w, fhir.Internal())
	}
}

func (m *Endpoints) renderOptions() RenderOptions {
	return RenderOptions{BaseURL: m.BaseURL, Display: m.Guard.DisplayFunc(), HomeCommunityID: m.Guard.HomeCommunityID()}
}

// searcher authenticates a search (GET, or POST …/_search with a form)
// and reads its parameters into r.Form.
func (m *Endpoints) searcher(w http.ResponseWriter, r *http.Request, tx string) (*trust.Principal, bool) {
	p, ok := m.authenticate(w, r, tx, audit.ActionQuery, scopesSearch)
	if !ok {
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, "", "the request body is not a valid form"))
		return nil, false
	}
	return p, true
}

// findDocuments is ITI-67 Find Document References.
func (m *Endpoints) findDocuments(w http.ResponseWriter, r *http.Request) {
	p, ok := m.searcher(w, r, audit.TxITI67)
	if !ok {
		return
	}
	s, err := ParseDocumentSearch(r.Form, r.Header)
	if err == nil {
		err = s.Resume(m.Pager)
	}
	var f registry.DocumentFilter
	if err == nil {
		f, err = s.Filter()
	}
	if err != nil {
		m.badRequest(w, r, p, audit.TxITI67, err)
		return
	}
	var from, to int
	opts := m.renderOptions()
	res, err := m.Guard.FindDocuments(r.Context(), m.call(r, p, audit.TxITI67), access.FindRequest{
		PatientID: s.Patient.ID, PatientOID: s.Patient.OID, Filter: f, Match: s.Match, Related: true,
		Page: func(docs []*registry.DocumentEntry) []*registry.DocumentEntry {
			// Newest first, and stable, so pages do not shift between requests.
			slices.SortStableFunc(docs, func(a, b *registry.DocumentEntry) int {
				if c := cmp.Compare(sortDTM(b.CreationTime), sortDTM(a.CreationTime)); c != 0 {
					return c
				}
				if c := cmp.Compare(a.UniqueID, b.UniqueID); c != 0 {
					return c
				}
				// A copy held by two communities is two entries.
				return cmp.Compare(a.HomeCommunityID, b.HomeCommunityID)
			})
			from, to = s.PageBounds(len(docs))
			return docs[from:to]
		},
		// Rendered while the audit record commits.
		Render: func(res *access.FindResult) ([]byte, error) {
			entries := make([]fhir.Resource, 0, len(res.Documents))
			for _, d := range res.Documents {
				entries = append(entries, fhir.R(DocumentReferenceFrom(d, res.Associations, opts)))
			}
			entries = append(entries, communityOutcomes(res.Communities)...)
			self, next := s.Links(m.Pager, m.BaseURL, res.Total)
			b := SearchSet(entries, res.Total, self, next)
			if codes := emergencyCodes(res.Flags); len(codes) > 0 {
				if b.Meta == nil {
					b.Meta = &fhir.Meta{}
				}
				for _, c := range codes {
					b.Meta.Security = append(b.Meta.Security, fhir.Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: c})
				}
			}
			var buf bytes.Buffer
			if err := fhir.Encode(&buf, b, s.Pretty); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		},
	})
	if err != nil {
		m.guardError(w, r, err)
		return
	}
	if codes := emergencyCodes(res.Flags); len(codes) > 0 {
		w.Header().Set("NHN-Emergency-Access", strings.Join(codes, ","))
	}
	w.Header().Set(HeaderNorsCount, strconv.Itoa(res.HiddenNORS))
	fhir.WriteBody(w, http.StatusOK, res.Rendered)
	m.Metrics.Transaction("ITI-67", "Success")
}

// emergencyCodes are the purposes of use (BTG, ETREAT) under which an
// answer was given through emergency access: the response says so in the
// NHN-Emergency-Access header and the Bundle's security labels.
func emergencyCodes(f audit.Flags) []string {
	var codes []string
	if f.BTG {
		codes = append(codes, "BTG")
	}
	if f.ETREAT {
		codes = append(codes, "ETREAT")
	}
	return codes
}

// sortDTM is s normalised for sorting (as it is when it does not parse).
func sortDTM(s string) string {
	if n, err := registry.NormalizeDTM(s); err == nil {
		return n
	}
	return s
}

// headerPatient is the patient the nhn-patient-nin header names, or ""
// when it names none or something that is not a national identity number:
// an unchecked header must not go into an audit record (where a value
// the record refuses would turn a 400 or 401 into a 503).
func headerPatient(r *http.Request) string {
	if p := r.Header.Get(HeaderPatientNIN); trust.ValidNIN(p) {
		return p
	}
	return ""
}

// badRequest answers (and records) a request with invalid parameters.
func (m *Endpoints) badRequest(w http.ResponseWriter, r *http.Request, p *trust.Principal, tx string, err error) {
	patient := headerPatient(r)
	if aerr := m.Guard.RecordRefusal(r.Context(), m.call(r, p, tx), audit.ActionQuery, patient, "invalid-request", "the request's parameters were rejected"); aerr != nil {
		fhir.WriteTransient(w, gateway.RetryAfter, "the access log is unavailable; try again later")
		return
	}
	var e *fhir.Error
	if errors.As(err, &e) {
		fhir.WriteError(w, e)
		return
	}
	fhir.WriteError(w, fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, "", "invalid request"))
}

// findLists is ITI-66 Find Document Lists.
func (m *Endpoints) findLists(w http.ResponseWriter, r *http.Request) {
	p, ok := m.searcher(w, r, audit.TxITI66)
	if !ok {
		return
	}
	s, err := ParseListSearch(r.Form, r.Header)
	if err == nil {
		err = s.Resume(m.Pager)
	}
	req := access.ListsRequest{MatchSubmissionSet: nil, MatchFolder: nil}
	if err == nil {
		var ssf registry.SubmissionSetFilter
		var ff registry.FolderFilter
		var okSS, okF bool
		if ssf, okSS, err = s.SubmissionSetFilter(); err == nil && okSS {
			req.SubmissionSets = &ssf
			req.MatchSubmissionSet = s.MatchSubmissionSet
		}
		if err == nil {
			if ff, okF, err = s.FolderFilter(); err == nil && okF {
				req.Folders = &ff
				req.MatchFolder = s.MatchFolder
			}
		}
	}
	if err != nil {
		m.badRequest(w, r, p, audit.TxITI66, err)
		return
	}
	req.PatientID, req.PatientOID = s.Patient.ID, s.Patient.OID
	res, err := m.Guard.FindLists(r.Context(), m.call(r, p, audit.TxITI66), req)
	if err != nil {
		m.guardError(w, r, err)
		return
	}
	folderIDs := map[string]bool{}
	for _, f := range res.Folders {
		folderIDs[f.ID] = true
	}
	kind := func(id string) MemberKind {
		switch {
		case res.Documents[id]:
			return MemberDocument
		case folderIDs[id]:
			return MemberFolder
		}
		return MemberOther
	}
	opts := m.renderOptions()
	var lists []fhir.Resource
	for _, ss := range res.SubmissionSets {
		lists = append(lists, fhir.R(ListFromSubmissionSet(ss, Members(ss.ID, res.Members, kind), opts)))
	}
	for _, f := range res.Folders {
		lists = append(lists, fhir.R(ListFromFolder(f, Members(f.ID, res.Members, kind), opts)))
	}
	from, to := s.PageBounds(len(lists))
	self, next := s.Links(m.Pager, m.BaseURL, len(lists))
	w.Header().Set(HeaderNorsCount, strconv.Itoa(res.HiddenNORS))
	m.Metrics.Transaction("ITI-66", "Success")
	fhir.Write(w, http.StatusOK, SearchSet(lists[from:to], len(lists), self, next), s.Pretty)
}

// retrieve is ITI-68 Retrieve Document.
func (m *Endpoints) retrieve(w http.ResponseWriter, r *http.Request) {
	p, ok := m.authenticate(w, r, audit.TxITI68, audit.ActionRead, scopesRead)
	if !ok {
		return
	}
	ref, err := ParseRetrieveRef(r.URL.Query())
	if err == nil && len(r.Header.Values(HeaderPatientNIN)) > 0 && headerPatient(r) == "" {
		err = fhir.NewError(http.StatusBadRequest, fhir.IssueInvalid, HeaderPatientNIN,
			"header %s: not a valid national identity number", HeaderPatientNIN)
	}
	if err != nil {
		m.badRequest(w, r, p, audit.TxITI68, err)
		return
	}
	call := m.call(r, p, audit.TxITI68)
	doc, err := m.Guard.OpenDocumentIn(r.Context(), call, ref.HomeCommunityID, ref.RepositoryUniqueID, ref.UniqueID, headerPatient(r))
	if err != nil {
		m.guardError(w, r, err)
		return
	}
	serveDocument(w, r, m.Guard, call, doc, m.Log, false)
	m.Metrics.Transaction("ITI-68", "Success")
}

// serveDocument streams an authorized document: Content-Type from the
// metadata, Content-Length, an ETag of its hash (If-None-Match → 304). A
// stream that breaks midway aborts the response so the client cannot take
// a truncated document for a whole one, and is recorded. Whatever type the
// source declared, the document is sandboxed (gateway.DocumentCSP) and never
// sniffed: an HTML or SVG document opened from its URL runs nothing in
// pjd's origin.
func serveDocument(w http.ResponseWriter, r *http.Request, g *access.Guard, call access.Call, doc *access.Document, log *slog.Logger, inline bool) {
	d := doc.Entry
	etag := DocumentETag(d.Hash)
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", gateway.DocumentCSP)
	if doc.Flags.BTG || doc.Flags.ETREAT {
		h.Set("NHN-Emergency-Access", map[bool]string{true: "BTG", false: "ETREAT"}[doc.Flags.BTG])
	}
	if etag != "" {
		h.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
			if doc.Discard != nil {
				doc.Discard()
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	rc, size, err := doc.Open(r.Context())
	if err != nil {
		_ = g.RecordError(context.WithoutCancel(r.Context()), call, audit.ActionRead, "", "the document could not be read from storage", d)
		switch {
		case errors.Is(err, access.ErrNotFound):
			log.InfoContext(r.Context(), "opening document failed: its community does not return it", "err", err)
			fhir.WriteError(w, fhir.NotFound("no such document"))
		case access.Unavailable(err):
			log.WarnContext(r.Context(), "opening document failed: storage unavailable", "err", err)
			fhir.WriteTransient(w, gateway.RetryAfter, "the document store is temporarily unavailable; try again later")
		case gateway.ClientGone(r, err):
			log.InfoContext(r.Context(), "opening document cancelled by the client", "err", err)
		default:
			log.ErrorContext(r.Context(), "opening document failed after it was authorized", "err", err)
			fhir.WriteError(w, fhir.Internal())
		}
		return
	}
	defer rc.Close()
	h.Set("Content-Type", d.MimeType)
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if inline {
		h.Set("Content-Disposition", "inline")
	} else {
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFilename(d)))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 256<<10)
	sr := &sourceReader{r: rc}
	if _, err := io.CopyBuffer(w, sr, buf); err != nil {
		if sr.err != nil {
			// Storage broke off mid-document: pjd's problem.
			log.ErrorContext(r.Context(), "document stream failed; response aborted", "err", err)
		} else {
			// Writing to the client failed: it went away.
			log.InfoContext(r.Context(), "document stream not taken by the client; response aborted", "err", err)
		}
		_ = g.RecordError(context.WithoutCancel(r.Context()), call, audit.ActionRead, "", "the document stream broke off", d)
		panic(http.ErrAbortHandler)
	}
}

// sourceReader remembers a read error, so that a failed copy can tell a
// broken source (storage) from a broken destination (the client).
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// safeFilename is a download name built from the uniqueId and media type.
func safeFilename(d *registry.DocumentEntry) string {
	var b strings.Builder
	for _, c := range d.UniqueID {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' {
			b.WriteRune(c)
		}
	}
	ext := map[string]string{"application/pdf": ".pdf", "text/plain": ".txt", "image/jpeg": ".jpg", "image/png": ".png",
		"text/xml": ".xml", "application/xml": ".xml"}[d.MimeType]
	return b.String() + ext
}
