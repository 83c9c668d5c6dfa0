package mhd

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"pjd/gateway/fhir"
	"pjd/registry"
)

// ITI-65 Provide Document Bundle: a transaction Bundle becomes the same
// registry.Submission and documents that ITI-41 produces, so MHD sources
// register through the same repository path.

// Document is the content of one DocumentEntry of an ITI-65 bundle. Data
// streams the decoded bytes (from the bundle already read into memory, so
// nothing is buffered twice); Size and SHA1 were computed while the bundle
// was validated, so a bundle whose content does not decode is refused
// before anything is stored.
type Document struct {
	ID          string // the DocumentEntry id
	ContentType string
	Size        int64
	SHA1        string // lower-case hex
	Data        io.Reader
}

// Provide is a parsed ITI-65 request.
type Provide struct {
	Submission *registry.Submission
	Documents  []Document

	entries []provideEntry
}

// provideEntry remembers, per bundle entry in request order, what it
// became, for ProvideResponse.
type provideEntry struct {
	kind   string // DocumentReference, List, Binary, or "superseded" (a PUT marking a replaced DocumentReference)
	object string // registry object id; for Binary the DocumentEntry id
}

// Relationship codes of DocumentReference.relatesTo and their association
// types. transforms and replaces on the same target together make
// XFRM_RPLC (R4 has no code of its own for it).
var relatesToTypes = map[string]string{
	"replaces":   registry.AssocReplace,
	"appends":    registry.AssocAppend,
	"transforms": registry.AssocTransform,
	"signs":      registry.AssocSigns,
}

// MaxProvideEntries bounds the entries of one ITI-65 bundle.
const MaxProvideEntries = 1000

type rawEntry struct {
	FullURL  string              `json:"fullUrl"`
	Resource json.RawMessage     `json:"resource"`
	Request  *fhir.BundleRequest `json:"request"`
}

type rawBundle struct {
	ResourceType string     `json:"resourceType"`
	Type         string     `json:"type"`
	Entry        []rawEntry `json:"entry"`
}

// entry is a decoded bundle entry.
type entry struct {
	i        int
	fullURL  string
	method   string
	resource fhir.Resource
	objectID string // registry id of what it becomes
	used     bool   // a Binary referenced by a DocumentReference
}

func (e *entry) expr(path string) string {
	s := "Bundle.entry[" + strconv.Itoa(e.i) + "]"
	if path != "" {
		s += ".resource." + path
	}
	return s
}

type provideParser struct {
	errs
	entries []*entry
	byURL   map[string]*entry
	sub     *registry.Submission
	patient string
	docs    []Document
	assocN  int
}

func (pp *provideParser) bad(expr, format string, args ...any) {
	if !pp.full() {
		pp.add(http.StatusBadRequest, fhir.IssueStructure, expr, format, args...)
	}
}

func (pp *provideParser) unprocessable(xdsCode, expr, format string, args ...any) {
	if !pp.full() {
		pp.xds(http.StatusUnprocessableEntity, xdsCode, expr, format, args...)
	}
}

// ParseProvideBundle reads an ITI-65 transaction Bundle (JSON) of at most
// limit bytes and maps it to a registry.Submission (xds_metadata.md §5):
// the SubmissionSet List to the SubmissionSet, folder Lists to Folders,
// DocumentReferences to DocumentEntries, relatesTo to RPLC/APND/XFRM/
// XFRM_RPLC/signs associations, and the HasMember associations MHD implies
// (SubmissionSet→DocumentEntry Original, SubmissionSet→Folder, Folder→
// DocumentEntry with its SubmissionSet→association HasMember, and
// SubmissionSet→DocumentEntry Reference for List entries naming documents
// already registered). Content comes from Binary entries the attachment url
// points at, or from attachment.data.
//
// Registry object ids are the official urn:uuid identifiers when given,
// else the entries' fullUrls (urn:uuid:… ids, or symbolic ids the registry
// replaces); associations get symbolic ids ("assoc-N"). Errors are *Error:
// 413 for a body over limit, 400 for what is not a well-formed transaction
// Bundle of the supported resources, 422 (with the XDS error code) for
// what breaks a Document Sharing rule — patients that differ
// (XDSPatientIdDoesNotMatch), a document without metadata or metadata
// without a document, unresolvable references, not exactly one
// SubmissionSet. All problems found are reported at once.
func ParseProvideBundle(r io.Reader, limit int64) (*Provide, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "", "the request body could not be read")
	}
	if int64(len(body)) > limit {
		return nil, fhir.NewError(http.StatusRequestEntityTooLarge, fhir.IssueTooCostly, "", "the bundle is larger than %d bytes", limit)
	}
	var rb rawBundle
	if err := json.Unmarshal(body, &rb); err != nil {
		return nil, fhir.NewError(http.StatusBadRequest, fhir.IssueStructure, "Bundle", "the body is not a JSON FHIR Bundle")
	}
	pp := &provideParser{byURL: map[string]*entry{}, sub: &registry.Submission{}}
	switch {
	case rb.ResourceType != "Bundle":
		pp.bad("Bundle", "resourceType must be Bundle")
	case rb.Type != "transaction":
		pp.bad("Bundle.type", "Bundle.type must be transaction")
	case len(rb.Entry) == 0:
		pp.bad("Bundle.entry", "the bundle has no entries")
	case len(rb.Entry) > MaxProvideEntries:
		pp.bad("Bundle.entry", "the bundle has more than %d entries", MaxProvideEntries)
	}
	if err := pp.err(); err != nil {
		return nil, err
	}
	pp.decode(rb.Entry)
	if err := pp.err(); err != nil {
		return nil, err
	}
	pp.build()
	if err := pp.err(); err != nil {
		return nil, err
	}
	p := &Provide{Submission: pp.sub, Documents: pp.docs}
	for _, e := range pp.entries {
		kind := e.resource.Type()
		if e.method == http.MethodPut {
			kind = "superseded"
		}
		p.entries = append(p.entries, provideEntry{kind: kind, object: e.objectID})
	}
	return p, nil
}

// decode checks each entry's envelope and decodes its resource.
func (pp *provideParser) decode(raw []rawEntry) {
	for i, re := range raw {
		e := &entry{i: i, fullURL: re.FullURL}
		base := "Bundle.entry[" + strconv.Itoa(i) + "]"
		if len(re.Resource) == 0 || string(re.Resource) == "null" {
			pp.bad(base+".resource", "entry without a resource")
			continue
		}
		if err := json.Unmarshal(re.Resource, &e.resource); err != nil {
			pp.bad(base+".resource", "the resource is not valid FHIR JSON for its type")
			continue
		}
		typ := e.resource.Type()
		switch typ {
		case "DocumentReference", "List", "Binary":
		default:
			pp.bad(base+".resource", "resources of type %s are not accepted in ITI-65 (only List, DocumentReference and Binary; reference the patient by identifier)", typ)
			continue
		}
		if e.fullURL == "" {
			pp.bad(base+".fullUrl", "entry without fullUrl")
			continue
		}
		if _, dup := pp.byURL[e.fullURL]; dup {
			pp.bad(base+".fullUrl", "fullUrl %s appears twice", e.fullURL)
			continue
		}
		if re.Request == nil {
			pp.bad(base+".request", "a transaction entry needs request")
			continue
		}
		e.method = re.Request.Method
		switch {
		case e.method == http.MethodPost && re.Request.URL == typ:
		case e.method == http.MethodPut && typ == "DocumentReference":
			dr := e.resource.Value.(*fhir.DocumentReference)
			if dr.Status != "superseded" || re.Request.URL != "DocumentReference/"+dr.ID || dr.ID == "" {
				pp.bad(base+".request", "PUT is accepted only to mark a replaced DocumentReference superseded (request.url DocumentReference/<id>, status superseded)")
				continue
			}
		default:
			pp.bad(base+".request", "request must be POST %s", typ)
			continue
		}
		pp.entries = append(pp.entries, e)
		pp.byURL[e.fullURL] = e
	}
}

var uuidURNRE = regexp.MustCompile(`^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// objectID is the registry id of an entry's resource: its official
// urn:uuid identifier, else its fullUrl.
func objectID(fullURL string, ids []fhir.Identifier) string {
	for _, id := range ids {
		if id.Use == "official" && uuidURNRE.MatchString(id.Value) {
			return strings.ToLower(id.Value)
		}
	}
	if uuidURNRE.MatchString(fullURL) {
		return strings.ToLower(fullURL)
	}
	return fullURL
}

// resolve finds the bundle entry a reference points at: by fullUrl, or
// by Type/id against the entries' resource ids.
func (pp *provideParser) resolve(ref string) *entry {
	if ref == "" {
		return nil
	}
	if e, ok := pp.byURL[ref]; ok {
		return e
	}
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(id, "/") {
		return nil
	}
	for _, e := range pp.entries {
		if e.resource.Type() == typ && resourceIDOf(e.resource) == id && id != "" {
			return e
		}
	}
	return nil
}

func resourceIDOf(r fhir.Resource) string {
	switch r.Value.(type) {
	case *fhir.DocumentReference, *fhir.List, *fhir.Binary:
		return r.ID()
	}
	return ""
}

func (pp *provideParser) build() {
	var ssEntry *entry
	var folders, docs []*entry
	for _, e := range pp.entries {
		switch v := e.resource.Value.(type) {
		case *fhir.List:
			e.objectID = objectID(e.fullURL, v.Identifier)
			switch listKind(v) {
			case "submissionset":
				if ssEntry != nil {
					pp.unprocessable(registry.ErrCodeRegistryMetadataError, e.expr("code"), "a bundle carries exactly one SubmissionSet List")
					continue
				}
				ssEntry = e
			case "folder":
				folders = append(folders, e)
			default:
				pp.bad(e.expr("code"), "List.code must be submissionset or folder (system %s)", SystemListTypes)
			}
		case *fhir.DocumentReference:
			if e.method == http.MethodPut {
				e.objectID = "urn:uuid:" + strings.ToLower(v.ID)
				if !isUUID(v.ID) {
					e.objectID = objectID("", v.Identifier)
				}
				continue
			}
			e.objectID = objectID(e.fullURL, v.Identifier)
			docs = append(docs, e)
		case *fhir.Binary:
			e.objectID = "" // set when a DocumentReference claims it
		}
	}
	if ssEntry == nil {
		pp.unprocessable(registry.ErrCodeRegistryMetadataError, "Bundle.entry", "the bundle has no SubmissionSet List (List with code submissionset)")
		return
	}
	pp.submissionSet(ssEntry)
	for _, e := range folders {
		pp.folder(e)
	}
	for _, e := range docs {
		pp.document(e)
	}
	for _, e := range pp.entries {
		if e.resource.Type() == "Binary" && !e.used {
			pp.unprocessable(registry.ErrCodeMissingDocumentMetadata, e.expr(""), "Binary %s is not the content of any DocumentReference", e.fullURL)
		}
	}
	pp.memberships(ssEntry, folders, docs)
}

func listKind(l *fhir.List) string {
	if l.Code == nil {
		return ""
	}
	for _, c := range l.Code.Coding {
		if c.System == SystemListTypes || c.System == "" {
			if c.Code == "submissionset" || c.Code == "folder" {
				return c.Code
			}
		}
	}
	return ""
}

// subject resolves a subject reference to an XDS patientId and checks it
// is the bundle's one patient.
func (pp *provideParser) subject(e *entry, ref *fhir.Reference) string {
	expr := e.expr("subject")
	if ref == nil {
		pp.unprocessable(registry.ErrCodeUnknownPatientID, expr, "subject is required")
		return ""
	}
	var system, value string
	switch {
	case ref.Identifier != nil:
		system, value = ref.Identifier.System, ref.Identifier.Value
	case strings.HasPrefix(ref.Reference, "Patient?identifier="):
		t := parseToken(strings.TrimPrefix(ref.Reference, "Patient?identifier="))
		system, value = t.System, t.Code
	default:
		pp.unprocessable(registry.ErrCodeUnknownPatientID, expr, "the patient must be referenced by identifier (subject.identifier, system urn:oid:<OID>)")
		return ""
	}
	oid, ok := strings.CutPrefix(system, "urn:oid:")
	if !ok || !registry.ValidOID(oid) || value == "" {
		pp.unprocessable(registry.ErrCodeUnknownPatientID, expr, "the patient identifier needs system urn:oid:<OID> and a value")
		return ""
	}
	if kind, person := personOIDs[oid]; person && !registry.NorwegianIDCheckDigitsValid(value) {
		pp.unprocessable(registry.ErrCodeUnknownPatientID, expr, "the patient identifier is not a valid %s", kind)
		return ""
	}
	cxv := patientCX(value, oid)
	switch {
	case pp.patient == "":
		pp.patient = cxv
	case pp.patient != cxv:
		pp.unprocessable(registry.ErrCodePatientIDDoesNotMatch, expr, "all resources of the bundle must have the same patient")
	}
	return cxv
}

// dtm converts a FHIR dateTime element, reporting a bad one.
func (pp *provideParser) dtm(e *entry, path, v string) string {
	if v == "" {
		return ""
	}
	d, err := dateTimeToDTM(v)
	if err != nil {
		pp.bad(e.expr(path), "%s is not a FHIR dateTime", path)
		return ""
	}
	return d
}

func firstCode(cc *fhir.CodeableConcept) registry.Code {
	if cc == nil || len(cc.Coding) == 0 {
		return registry.Code{}
	}
	return codeFromCoding(cc.Coding[0])
}

func (pp *provideParser) submissionSet(e *entry) {
	l := e.resource.Value.(*fhir.List)
	ss := &registry.SubmissionSet{ID: e.objectID, Status: registry.StatusApproved, Title: l.Title}
	ss.PatientID, ss.UniqueID, ss.Comments = pp.list(e, l)
	if l.Status != "" && l.Status != "current" {
		pp.bad(e.expr("status"), "a SubmissionSet's status must be current")
	}
	ss.SubmissionTime = pp.dtm(e, "date", l.Date)
	cs := &contained{pp: pp, e: e, res: l.Contained}
	for _, x := range l.Extension {
		switch x.URL {
		case ExtDesignationType:
			ss.ContentType = firstCode(x.ValueCodeableConcept)
		case ExtSourceID:
			if x.ValueIdentifier != nil {
				ss.SourceID = uniqueIDFromValue(x.ValueIdentifier.Value)
			}
		case ExtIntendedRecipient:
			if x.ValueReference != nil {
				if r := cs.recipient(x.ValueReference); r != "" {
					ss.IntendedRecipients = append(ss.IntendedRecipients, r)
				}
			}
		}
	}
	if l.Source != nil {
		// A source that only carries ihe-authorOrg (no Practitioner)
		// is an institution-only author.
		var a registry.Author
		if l.Source.Reference != "" || l.Source.Identifier != nil {
			a = cs.author(&fhir.Reference{Reference: l.Source.Reference, Type: l.Source.Type, Identifier: l.Source.Identifier}, "source")
		}
		for _, x := range l.Source.Extension {
			if x.URL == ExtAuthorOrg && x.ValueReference != nil {
				org := cs.author(x.ValueReference, "source.extension")
				a.Institutions = append(a.Institutions, org.Institutions...)
			}
		}
		if !authorEmpty(a) {
			ss.Authors = []registry.Author{a}
		}
	}
	pp.sub.SubmissionSet = ss
}

// list reads what a SubmissionSet and a Folder List share: the patient
// (subject), the uniqueId (the usual identifier) and the comments (the
// notes).
func (pp *provideParser) list(e *entry, l *fhir.List) (patientID, uniqueID, comments string) {
	patientID = pp.subject(e, l.Subject)
	for _, id := range l.Identifier {
		if id.Use == "usual" {
			uniqueID = uniqueIDFromValue(id.Value)
		}
	}
	for _, n := range l.Note {
		comments = joinNonEmpty(comments, n.Text)
	}
	return patientID, uniqueID, comments
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

func authorEmpty(a registry.Author) bool {
	return a.Person == "" && len(a.Institutions) == 0 && len(a.Roles) == 0 && len(a.Specialties) == 0 && len(a.Telecoms) == 0
}

func (pp *provideParser) folder(e *entry) {
	l := e.resource.Value.(*fhir.List)
	f := &registry.Folder{ID: e.objectID, Status: registry.StatusApproved, Title: l.Title}
	f.PatientID, f.UniqueID, f.Comments = pp.list(e, l)
	for _, x := range l.Extension {
		if x.URL == ExtDesignationType && x.ValueCodeableConcept != nil {
			for _, c := range x.ValueCodeableConcept.Coding {
				f.Codes = append(f.Codes, codeFromCoding(c))
			}
		}
	}
	pp.sub.Folders = append(pp.sub.Folders, f)
}

func (pp *provideParser) document(e *entry) {
	dr := e.resource.Value.(*fhir.DocumentReference)
	d := &registry.DocumentEntry{
		ID:         e.objectID,
		Status:     registry.StatusApproved,
		ObjectType: registry.ObjectTypeStable,
		PatientID:  pp.subject(e, dr.Subject),
		Comments:   dr.Description,
		Type:       firstCode(dr.Type),
	}
	if dr.Status != "" && dr.Status != "current" {
		pp.bad(e.expr("status"), "a new DocumentReference's status must be current")
	}
	if dr.MasterIdentifier != nil {
		d.UniqueID = uniqueIDFromValue(dr.MasterIdentifier.Value)
	}
	if len(dr.Category) > 0 {
		d.Class = firstCode(&dr.Category[0])
	}
	for _, sl := range dr.SecurityLabel {
		for _, c := range sl.Coding {
			d.Confidentiality = append(d.Confidentiality, codeFromCoding(c))
		}
	}
	cs := &contained{pp: pp, e: e, res: dr.Contained}
	for i, ref := range dr.Author {
		ref := ref
		if a := cs.author(&ref, "author["+strconv.Itoa(i)+"]"); !authorEmpty(a) {
			d.Authors = append(d.Authors, a)
		}
	}
	if dr.Authenticator != nil {
		d.LegalAuthenticator = cs.author(dr.Authenticator, "authenticator").Person
	}
	if ctx := dr.Context; ctx != nil {
		d.FacilityType = firstCode(ctx.FacilityType)
		d.PracticeSetting = firstCode(ctx.PracticeSetting)
		for _, ev := range ctx.Event {
			for _, c := range ev.Coding {
				d.Events = append(d.Events, codeFromCoding(c))
			}
		}
		if ctx.Period != nil {
			d.ServiceStartTime = pp.dtm(e, "context.period.start", ctx.Period.Start)
			d.ServiceStopTime = pp.dtm(e, "context.period.end", ctx.Period.End)
		}
		if ctx.SourcePatientInfo != nil {
			d.SourcePatientID, d.SourcePatientInfo = cs.sourcePatient(ctx.SourcePatientInfo)
		}
		for _, r := range ctx.Related {
			if r.Identifier != nil && r.Identifier.Value != "" {
				d.ReferenceIDs = append(d.ReferenceIDs, cxiFromIdentifier(r.Identifier, "urn:ihe:iti:xds:2013:uniqueId"))
			}
		}
		for _, r := range ctx.Encounter {
			if r.Identifier != nil && r.Identifier.Value != "" {
				d.ReferenceIDs = append(d.ReferenceIDs, cxiFromIdentifier(r.Identifier, EncounterIDType))
			}
		}
	}
	if d.SourcePatientID == "" {
		d.SourcePatientID = d.PatientID
	}
	switch {
	case len(dr.Content) == 0:
		pp.unprocessable(registry.ErrCodeMissingDocument, e.expr("content"), "the DocumentReference has no content")
	case len(dr.Content) > 1:
		pp.unprocessable(registry.ErrCodeRegistryMetadataError, e.expr("content"), "a DocumentReference carries exactly one content (one document per DocumentEntry)")
	default:
		c := dr.Content[0]
		a := c.Attachment
		d.MimeType = a.ContentType
		d.LanguageCode = a.Language
		d.Title = a.Title
		d.CreationTime = pp.dtm(e, "content[0].attachment.creation", a.Creation)
		if c.Format != nil {
			d.Format = codeFromCoding(*c.Format)
		}
		pp.content(e, d, a)
	}
	pp.relations(e, d, dr.RelatesTo)
	pp.sub.Documents = append(pp.sub.Documents, d)
}

// content finds the document bytes (attachment.data or the Binary the url
// points at), validates them and the declared size and hash.
func (pp *provideParser) content(e *entry, d *registry.DocumentEntry, a fhir.Attachment) {
	expr := e.expr("content[0].attachment")
	var data, contentType string
	switch {
	case a.Data != "" && a.URL != "":
		pp.bad(expr, "give the content as data or as url, not both")
		return
	case a.Data != "":
		data, contentType = a.Data, a.ContentType
	case a.URL != "":
		b := pp.resolve(a.URL)
		if b == nil || b.resource.Type() != "Binary" {
			pp.unprocessable(registry.ErrCodeMissingDocument, expr+".url", "the attachment url must point at a Binary in the bundle")
			return
		}
		if b.used {
			pp.unprocessable(registry.ErrCodeRegistryMetadataError, expr+".url", "Binary %s is the content of more than one DocumentReference", a.URL)
			return
		}
		b.used = true
		b.objectID = d.ID
		bin := b.resource.Value.(*fhir.Binary)
		data, contentType = bin.Data, a.ContentType
		if contentType == "" {
			contentType = bin.ContentType
			d.MimeType = contentType
		}
	default:
		pp.unprocessable(registry.ErrCodeMissingDocument, expr, "the DocumentReference has no document: attachment.data or a url to a Binary in the bundle")
		return
	}
	h := sha1.New()
	n, err := io.Copy(h, base64.NewDecoder(base64.StdEncoding, strings.NewReader(data)))
	if err != nil {
		pp.bad(expr, "the document content is not valid base64")
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if a.Size != nil && *a.Size != n {
		pp.unprocessable(registry.ErrCodeRepositoryMetadataError, expr+".size", "attachment.size %d does not match the content (%d bytes)", *a.Size, n)
	}
	if a.Hash != "" {
		declared, ok := declaredSHA1(a.Hash)
		switch {
		case !ok:
			pp.bad(expr+".hash", "attachment.hash is not a base64 SHA-1")
		case declared != sum:
			pp.unprocessable(registry.ErrCodeRepositoryMetadataError, expr+".hash", "attachment.hash does not match the content")
		}
	}
	d.Hash, d.Size = sum, &n
	pp.docs = append(pp.docs, Document{
		ID: d.ID, ContentType: contentType, Size: n, SHA1: sum,
		Data: base64.NewDecoder(base64.StdEncoding, strings.NewReader(data)),
	})
}

// declaredSHA1 reads attachment.hash in either form MHD sources use: the
// base64 of the 20 digest bytes (FHIR), or the base64 of the 40-character
// hex text (the MHD 4.2.3 examples).
func declaredSHA1(v string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", false
	}
	switch len(b) {
	case 20:
		return hex.EncodeToString(b), true
	case 40:
		if _, err := hex.DecodeString(string(b)); err == nil {
			return strings.ToLower(string(b)), true
		}
	}
	return "", false
}

// relations maps relatesTo to associations from the new entry to the
// existing one.
func (pp *provideParser) relations(e *entry, d *registry.DocumentEntry, rel []fhir.DocumentRelatesTo) {
	byTarget := map[string][]string{}
	var order []string
	for i, r := range rel {
		expr := e.expr("relatesTo[" + strconv.Itoa(i) + "]")
		if _, ok := relatesToTypes[r.Code]; !ok {
			pp.bad(expr+".code", "relatesTo.code %q is not replaces, appends, transforms or signs", r.Code)
			continue
		}
		target, ok := pp.relTarget(r.Target)
		if !ok {
			pp.unprocessable(registry.ErrCodeUnresolvedReference, expr+".target", "relatesTo.target must name an existing DocumentReference by id or official urn:uuid identifier, not one created in this bundle")
			continue
		}
		if _, seen := byTarget[target]; !seen {
			order = append(order, target)
		}
		byTarget[target] = append(byTarget[target], r.Code)
	}
	for _, t := range order {
		codes := byTarget[t]
		if len(codes) == 2 && ((codes[0] == "transforms" && codes[1] == "replaces") || (codes[0] == "replaces" && codes[1] == "transforms")) {
			pp.assoc(registry.AssocTransformReplace, d.ID, t, "")
			continue
		}
		for _, c := range codes {
			pp.assoc(relatesToTypes[c], d.ID, t, "")
		}
	}
}

// relTarget resolves a relatesTo target to the entryUUID of an existing
// DocumentEntry.
func (pp *provideParser) relTarget(ref fhir.Reference) (string, bool) {
	if ref.Reference != "" {
		if t := pp.resolve(ref.Reference); t != nil {
			if t.resource.Type() == "DocumentReference" && t.method == http.MethodPut {
				return t.objectID, t.objectID != ""
			}
			return "", false
		}
		r := ref.Reference
		if i := strings.LastIndex(r, "DocumentReference/"); i >= 0 && (i == 0 || r[i-1] == '/') {
			id := r[i+len("DocumentReference/"):]
			if isUUID(id) {
				return "urn:uuid:" + strings.ToLower(id), true
			}
			return "", false
		}
		if uuidURNRE.MatchString(r) {
			return strings.ToLower(r), true
		}
		return "", false
	}
	if ref.Identifier != nil && uuidURNRE.MatchString(ref.Identifier.Value) && (ref.Identifier.System == "" || ref.Identifier.System == SystemURI) {
		return strings.ToLower(ref.Identifier.Value), true
	}
	return "", false
}

func (pp *provideParser) assoc(typ, source, target, ssStatus string) string {
	pp.assocN++
	a := &registry.Association{
		ID: "assoc-" + strconv.Itoa(pp.assocN), Type: typ, Source: source, Target: target,
		Status: registry.StatusApproved, SubmissionSetStatus: ssStatus,
	}
	pp.sub.Associations = append(pp.sub.Associations, a)
	return a.ID
}

// memberships adds the HasMember associations.
func (pp *provideParser) memberships(ss *entry, folders, docs []*entry) {
	ssID := ss.objectID
	inSS := map[string]bool{}
	for _, d := range docs {
		pp.assoc(registry.AssocHasMember, ssID, d.objectID, registry.SubmissionSetStatusOriginal)
		inSS[d.fullURL] = true
	}
	for _, f := range folders {
		pp.assoc(registry.AssocHasMember, ssID, f.objectID, "")
		inSS[f.fullURL] = true
	}
	// SubmissionSet entries naming registered documents: Reference.
	for i, it := range ss.resource.Value.(*fhir.List).Entry {
		ref := it.Item.Reference
		if t := pp.resolve(ref); t != nil {
			if !inSS[t.fullURL] {
				pp.unprocessable(registry.ErrCodeRegistryMetadataError, ss.expr("entry["+strconv.Itoa(i)+"].item"), "a SubmissionSet entry must be a DocumentReference or folder List")
			}
			continue
		}
		target, ok := pp.relTarget(it.Item)
		if !ok {
			pp.unprocessable(registry.ErrCodeUnresolvedReference, ss.expr("entry["+strconv.Itoa(i)+"].item"), "entry %q is neither in the bundle nor an existing DocumentReference", ref)
			continue
		}
		pp.assoc(registry.AssocHasMember, ssID, target, registry.SubmissionSetStatusReference)
	}
	// Folder entries: Folder→DocumentEntry, and the SubmissionSet's
	// HasMember of that association.
	for _, f := range folders {
		for i, it := range f.resource.Value.(*fhir.List).Entry {
			var target string
			if t := pp.resolve(it.Item.Reference); t != nil {
				if t.resource.Type() != "DocumentReference" || t.method != http.MethodPost {
					pp.unprocessable(registry.ErrCodeRegistryMetadataError, f.expr("entry["+strconv.Itoa(i)+"].item"), "a folder entry must be a DocumentReference")
					continue
				}
				target = t.objectID
			} else {
				var ok bool
				if target, ok = pp.relTarget(it.Item); !ok {
					pp.unprocessable(registry.ErrCodeUnresolvedReference, f.expr("entry["+strconv.Itoa(i)+"].item"), "folder entry %q is neither in the bundle nor an existing DocumentReference", it.Item.Reference)
					continue
				}
			}
			id := pp.assoc(registry.AssocHasMember, f.objectID, target, "")
			pp.assoc(registry.AssocHasMember, ssID, id, "")
		}
	}
}

// contained resolves references inside one resource to its contained
// resources.
type contained struct {
	pp  *provideParser
	e   *entry
	res []fhir.Resource
}

func (c *contained) find(ref string) any {
	id, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	for _, r := range c.res {
		switch r.Value.(type) {
		case *fhir.Practitioner, *fhir.Organization, *fhir.PractitionerRole, *fhir.Patient:
			if r.ID() == id {
				return r.Value
			}
		}
	}
	return nil
}

// author maps an author reference (contained Practitioner, Organization or
// PractitionerRole, or a logical reference by identifier) to an XDS
// author.
func (c *contained) author(ref *fhir.Reference, path string) registry.Author {
	var a registry.Author
	if ref.Reference == "" && ref.Identifier != nil {
		switch ref.Type {
		case "Organization":
			a.Institutions = []string{xonFrom("", ref.Identifier)}
		default:
			a.Person = xcnFrom(ref.Identifier, nil)
		}
		return a
	}
	switch v := c.find(ref.Reference).(type) {
	case *fhir.Practitioner:
		a.Person = practitionerXCN(v)
		a.Telecoms = telecoms(v.Telecom)
	case *fhir.Organization:
		a.Institutions = []string{organizationXON(v)}
		a.Telecoms = telecoms(v.Telecom)
	case *fhir.PractitionerRole:
		if v.Practitioner != nil {
			if p, ok := c.find(v.Practitioner.Reference).(*fhir.Practitioner); ok {
				a.Person = practitionerXCN(p)
				a.Telecoms = telecoms(p.Telecom)
			}
		}
		if v.Organization != nil {
			if o, ok := c.find(v.Organization.Reference).(*fhir.Organization); ok {
				a.Institutions = []string{organizationXON(o)}
			}
		}
		for _, cc := range v.Code {
			a.Roles = append(a.Roles, roleValue(cc))
		}
		for _, cc := range v.Specialty {
			a.Specialties = append(a.Specialties, roleValue(cc))
		}
		a.Telecoms = append(a.Telecoms, telecoms(v.Telecom)...)
	default:
		c.pp.unprocessable(registry.ErrCodeRegistryMetadataError, c.e.expr(path), "an author must be a contained Practitioner, PractitionerRole or Organization (#id), or a reference by identifier")
	}
	return a
}

// recipient maps an intendedRecipient reference to "XON|XCN|XTN".
func (c *contained) recipient(ref *fhir.Reference) string {
	a := c.author(ref, "extension")
	org, person, tel := "", a.Person, ""
	if len(a.Institutions) > 0 {
		org = a.Institutions[0]
	}
	if len(a.Telecoms) > 0 {
		tel = a.Telecoms[0]
	}
	if org == "" && person == "" && tel == "" {
		return ""
	}
	return strings.TrimRight(org+"|"+person+"|"+tel, "|")
}

func telecoms(cps []fhir.ContactPoint) []string {
	var out []string
	for _, cp := range cps {
		if cp.Value != "" {
			out = append(out, xtnFromContactPoint(cp))
		}
	}
	return out
}

func roleValue(cc fhir.CodeableConcept) string {
	for _, c := range cc.Coding {
		if c.Code != "" && c.System != "" {
			s := fhir.SchemeFor(c.System)
			if registry.ValidOID(s) {
				return cxValue(c.Code, isoAuthority(s), "")
			}
			return registry.HL7Escape(c.Code)
		}
	}
	if len(cc.Coding) > 0 && cc.Coding[0].Code != "" {
		return registry.HL7Escape(cc.Coding[0].Code)
	}
	return registry.HL7Escape(cc.Text)
}

func practitionerXCN(p *fhir.Practitioner) string {
	var id *fhir.Identifier
	if len(p.Identifier) > 0 {
		id = &p.Identifier[0]
	}
	var n *fhir.HumanName
	if len(p.Name) > 0 {
		n = &p.Name[0]
	}
	return xcnFrom(id, n)
}

// xcnFrom renders an XCN: 1 id, 2 family, 3 given, 4 further given, 5
// suffix, 6 prefix, 9 assigning authority.
func xcnFrom(id *fhir.Identifier, n *fhir.HumanName) string {
	c := make([]string, 9)
	if id != nil && id.Value != "" {
		c[0] = registry.HL7Escape(id.Value)
		if s := fhir.SchemeFor(id.System); registry.ValidOID(s) {
			c[8] = isoAuthority(s).String()
		}
	}
	if n != nil {
		c[1] = registry.HL7Escape(n.Family)
		if len(n.Given) > 0 {
			c[2] = registry.HL7Escape(n.Given[0])
		}
		if len(n.Given) > 1 {
			c[3] = registry.HL7Escape(strings.Join(n.Given[1:], " "))
		}
		if len(n.Suffix) > 0 {
			c[4] = registry.HL7Escape(n.Suffix[0])
		}
		if len(n.Prefix) > 0 {
			c[5] = registry.HL7Escape(n.Prefix[0])
		}
	}
	return trimComponents(c)
}

func organizationXON(o *fhir.Organization) string {
	var id *fhir.Identifier
	if len(o.Identifier) > 0 {
		id = &o.Identifier[0]
	}
	return xonFrom(o.Name, id)
}

// xonFrom renders an XON: 1 name, 6 assigning authority, 10 organisation
// identifier.
func xonFrom(name string, id *fhir.Identifier) string {
	c := make([]string, 10)
	c[0] = registry.HL7Escape(name)
	if id != nil && id.Value != "" {
		if s := fhir.SchemeFor(id.System); registry.ValidOID(s) {
			c[5] = isoAuthority(s).String()
		}
		c[9] = registry.HL7Escape(id.Value)
	}
	return trimComponents(c)
}

// sourcePatient maps the contained sourcePatientInfo Patient to
// sourcePatientId (its first identifier with an OID system) and
// sourcePatientInfo (PID-3, PID-5, PID-7, PID-8, PID-11).
func (c *contained) sourcePatient(ref *fhir.Reference) (id string, info []string) {
	p, ok := c.find(ref.Reference).(*fhir.Patient)
	if !ok {
		c.pp.unprocessable(registry.ErrCodeRegistryMetadataError, c.e.expr("context.sourcePatientInfo"), "sourcePatientInfo must reference a contained Patient")
		return "", nil
	}
	var pid3 []string
	for _, ident := range p.Identifier {
		s := fhir.SchemeFor(ident.System)
		if ident.Value == "" || !registry.ValidOID(s) {
			continue
		}
		v := patientCX(ident.Value, s)
		if id == "" {
			id = v
		}
		pid3 = append(pid3, v)
	}
	if len(pid3) > 0 {
		info = append(info, "PID-3|"+strings.Join(pid3, "~"))
	}
	var names []string
	for _, n := range p.Name {
		given := ""
		if len(n.Given) > 0 {
			given = n.Given[0]
		}
		middle := ""
		if len(n.Given) > 1 {
			middle = strings.Join(n.Given[1:], " ")
		}
		c := []string{registry.HL7Escape(n.Family), registry.HL7Escape(given), registry.HL7Escape(middle), "", ""}
		if len(n.Suffix) > 0 {
			c[3] = registry.HL7Escape(n.Suffix[0])
		}
		if len(n.Prefix) > 0 {
			c[4] = registry.HL7Escape(n.Prefix[0])
		}
		if v := trimComponents(c); v != "" {
			names = append(names, v)
		}
	}
	if len(names) > 0 {
		info = append(info, "PID-5|"+strings.Join(names, "~"))
	}
	if p.BirthDate != "" {
		if d, err := dateTimeToDTM(p.BirthDate); err == nil {
			info = append(info, "PID-7|"+d)
		} else {
			c.pp.bad(c.e.expr("contained.birthDate"), "birthDate is not a FHIR date")
		}
	}
	switch p.Gender {
	case "male":
		info = append(info, "PID-8|M")
	case "female":
		info = append(info, "PID-8|F")
	case "other":
		info = append(info, "PID-8|O")
	case "unknown":
		info = append(info, "PID-8|U")
	}
	var addrs []string
	for _, a := range p.Address {
		line1, line2 := "", ""
		if len(a.Line) > 0 {
			line1 = a.Line[0]
		}
		if len(a.Line) > 1 {
			line2 = strings.Join(a.Line[1:], " ")
		}
		if v := trimComponents([]string{registry.HL7Escape(line1), registry.HL7Escape(line2), registry.HL7Escape(a.City), registry.HL7Escape(a.State), registry.HL7Escape(a.PostalCode), registry.HL7Escape(a.Country)}); v != "" {
			addrs = append(addrs, v)
		}
	}
	if len(addrs) > 0 {
		info = append(info, "PID-11|"+strings.Join(addrs, "~"))
	}
	return id, info
}

// ProvideResponse builds the transaction-response Bundle of a registered
// ITI-65 request: one entry per request entry, in order, with status
// "201 Created" and the location of what was created —
// DocumentReference/<id>, List/<id>, and for a Binary the ITI-68 URL of its
// document — or "200 OK" for a PUT that marked a replaced
// DocumentReference. assigned maps ids as submitted to the ids the registry
// gave them (symbolic ids replaced by UUIDs); nil when none changed.
func ProvideResponse(p *Provide, assigned map[string]string, opts RenderOptions) fhir.Bundle {
	final := func(id string) string {
		if v, ok := assigned[id]; ok {
			return v
		}
		return id
	}
	docs := map[string]*registry.DocumentEntry{}
	for _, d := range p.Submission.Documents {
		docs[d.ID] = d
	}
	b := fhir.Bundle{Base: fhir.Base{ResourceType: "Bundle"}, Type: "transaction-response"}
	for _, e := range p.entries {
		resp := &fhir.BundleResponse{Status: "201 Created"}
		switch e.kind {
		case "DocumentReference":
			resp.Location = location("DocumentReference", final(e.object))
		case "List":
			resp.Location = location("List", final(e.object))
		case "superseded":
			resp.Status = "200 OK"
			resp.Location = location("DocumentReference", e.object)
		case "Binary":
			if d := docs[e.object]; d != nil && d.RepositoryUniqueID != "" && d.UniqueID != "" {
				resp.Location = RetrieveURL(opts.BaseURL, d.RepositoryUniqueID, d.UniqueID)
			}
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{Response: resp})
	}
	return b
}

func location(typ, id string) string {
	if rid := resourceID(id); rid != "" {
		return typ + "/" + rid
	}
	return ""
}
