package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Stateless ITI-42 checks: everything that depends only on the submission
// (required metadata and formats per xds_metadata.md §2, coded values,
// extra slots, one patient, uniqueness inside the message). The checks that
// need the registry's state run inside the Store.Update of Register
// (register.go). Every problem is collected; nothing stops at the first.

// Slot names an association may carry besides SubmissionSetStatus (ebRIM
// and ITI-57 annotations; harmless on ITI-42).
var associationSlotNames = map[string]bool{
	"PreviousVersion": true, "OriginalStatus": true, "NewStatus": true, "AssociationPropagation": true,
}

// Document availability values (NIST MetadataSupport).
const (
	DocumentAvailabilityOnline  = "urn:ihe:iti:2010:DocumentAvailability:Online"
	DocumentAvailabilityOffline = "urn:ihe:iti:2010:DocumentAvailability:Offline"
)

var (
	mimeTypePattern     = regexp.MustCompile(`^\w+/[-+.\w]+$`)                      // IPF
	languageCodePattern = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`) // IPF, RFC 3066
	hashPattern         = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)                   // SHA-1 hex
	sourcePatientInfoRe = regexp.MustCompile(`^PID-([0-9]{1,2})\|(.*)$`)
)

// validation collects the errors of one submission.
type validation struct {
	errs ErrorList
}

func (v *validation) add(code, format string, args ...any) {
	v.errs = append(v.errs, Errorf(code, format, args...))
}

func (v *validation) meta(format string, args ...any) {
	v.add(ErrCodeRegistryMetadataError, format, args...)
}

// label names an object in a codeContext.
func label(kind, id string) string {
	if id == "" {
		return kind + " (without id)"
	}
	return kind + " " + id
}

// isUUIDURN reports whether id is "urn:uuid:" followed by a UUID in its
// canonical 36-character form.
func isUUIDURN(id string) bool {
	rest, ok := strings.CutPrefix(id, "urn:uuid:")
	if !ok || len(rest) != 36 {
		return false
	}
	_, err := uuid.Parse(rest)
	return err == nil
}

// --- per-attribute helpers ---

func (v *validation) required(obj, attr, value string) bool {
	if value == "" {
		v.meta("%s: %s is missing", obj, attr)
		return false
	}
	return true
}

func (v *validation) oid(obj, attr, value string) {
	if v.required(obj, attr, value) {
		if err := CheckOID(value); err != nil {
			v.meta("%s: %s: %v", obj, attr, err)
		}
	}
}

func (v *validation) dtm(obj, attr, value string, required bool) {
	if value == "" {
		if required {
			v.meta("%s: %s is missing", obj, attr)
		}
		return
	}
	if _, err := ParseDTM(value); err != nil {
		v.meta("%s: %s: %v", obj, attr, err)
	}
}

func (v *validation) patientCX(obj, attr, value string) bool {
	if !v.required(obj, attr, value) {
		return false
	}
	if err := CheckPatientIDFormat(value); err != nil {
		v.meta("%s: %s: %v", obj, attr, err)
		return false
	}
	return true
}

func (v *validation) title(obj, value string, required bool) {
	if value == "" {
		if required {
			v.meta("%s: title is missing", obj)
		}
		return
	}
	if !utf8.ValidString(value) {
		v.meta("%s: title is not valid UTF-8", obj)
	} else if n := utf8.RuneCountInString(value); n > 128 {
		v.meta("%s: title is %d characters long (at most 128)", obj, n)
	}
}

// code checks one coded value: code and codingScheme present, and the
// value sets.
func (v *validation) code(vs *ValueSets, obj, attr string, c Code) {
	if c.Code == "" && c.Scheme == "" {
		v.meta("%s: %s is missing", obj, attr)
		return
	}
	if c.Code == "" {
		v.meta("%s: %s with codingScheme %q has no code", obj, attr, c.Scheme)
		return
	}
	if c.Scheme == "" {
		v.meta("%s: %s %q has no codingScheme", obj, attr, c.Code)
		return
	}
	if err := vs.Check(attr, c); err != nil {
		var ce *CodeError
		if errors.As(err, &ce) && errors.Is(err, ErrUnknownScheme) {
			v.meta("%s: %s %q has codingScheme %q, which is not allowed (%s)", obj, attr, c.Code, c.Scheme, ce.Detail)
		} else {
			v.meta("%s: %s %q is not in the value set of codingScheme %q", obj, attr, c.Code, c.Scheme)
		}
	}
}

func (v *validation) author(obj string, i int, a Author) {
	where := fmt.Sprintf("%s: author %d", obj, i+1)
	// IPF AUTHOR_INCOMPLETE: a person, an institution or a telecom.
	if a.Person == "" && len(a.Institutions) == 0 && len(a.Telecoms) == 0 {
		v.meta("%s has neither authorPerson, authorInstitution nor authorTelecommunication", where)
	}
	if a.Person != "" {
		if err := CheckXCN(a.Person); err != nil {
			v.meta("%s: authorPerson: %v", where, err)
		}
	}
	for _, s := range a.Institutions {
		if err := CheckXON(s); err != nil {
			v.meta("%s: authorInstitution: %v", where, err)
		}
	}
	for _, s := range a.Telecoms {
		if err := CheckXTN(s); err != nil {
			v.meta("%s: authorTelecommunication: %v", where, err)
		}
	}
	for _, s := range append(append([]string(nil), a.Roles...), a.Specialties...) {
		if s == "" {
			v.meta("%s: empty authorRole or authorSpecialty value", where)
		}
	}
}

// extra checks slots XDS does not define: kept when the name starts with
// "urn:" (extra metadata, ITI TF-3 4.1.14), rejected otherwise (NIST
// RegistryMetadataError; we keep extra metadata, so XDSExtraMetadataNotSaved
// never applies).
func (v *validation) extra(obj string, slots []Slot, allowed map[string]bool) {
	seen := map[string]bool{}
	for _, s := range slots {
		switch {
		case s.Name == "":
			v.meta("%s: slot without name", obj)
		case seen[s.Name]:
			v.meta("%s: slot %s appears twice", obj, s.Name)
		case !strings.HasPrefix(s.Name, "urn:") && !allowed[s.Name]:
			v.meta("%s: unknown slot %q (extra metadata slot names must start with \"urn:\")", obj, s.Name)
		}
		seen[s.Name] = true
		for _, val := range s.Values {
			if len(val) > 256 {
				v.meta("%s: slot %s has a value longer than 256 characters", obj, s.Name)
				break
			}
		}
	}
}

// --- objects ---

func (v *validation) submissionSet(vs *ValueSets, s *SubmissionSet) {
	obj := label("SubmissionSet", s.ID)
	v.oid(obj, "uniqueId", s.UniqueID)
	v.oid(obj, "sourceId", s.SourceID)
	v.patientCX(obj, "patientId", s.PatientID)
	v.dtm(obj, "submissionTime", s.SubmissionTime, true)
	v.title(obj, s.Title, false)
	v.code(vs, obj, AttrContentTypeCode, s.ContentType)
	for i, a := range s.Authors {
		v.author(obj, i, a)
	}
	for _, r := range s.IntendedRecipients {
		v.intendedRecipient(obj, r)
	}
	v.extra(obj, s.Extra, nil)
}

// intendedRecipient: "XON|XCN|XTN", at least one part (IPF
// RECIPIENT_EMPTY / INVALID_RECIPIENT).
func (v *validation) intendedRecipient(obj, r string) {
	parts := strings.Split(r, "|")
	if len(parts) > 3 || strings.Trim(r, "|") == "" {
		v.meta("%s: intendedRecipient %q is not XON|XCN|XTN", obj, r)
		return
	}
	checks := []func(string) error{CheckXON, CheckXCN, CheckXTN}
	for i, p := range parts {
		if p == "" {
			continue
		}
		if err := checks[i](p); err != nil {
			v.meta("%s: intendedRecipient: %v", obj, err)
		}
	}
}

func (v *validation) folder(vs *ValueSets, f *Folder) {
	obj := label("Folder", f.ID)
	v.oid(obj, "uniqueId", f.UniqueID)
	v.patientCX(obj, "patientId", f.PatientID)
	v.title(obj, f.Title, true) // IPF MISSING_FOLDER_NAME; §2 cardinality 1
	if len(f.Codes) == 0 {
		v.meta("%s: codeList is missing (at least one code)", obj)
	}
	for _, c := range f.Codes {
		v.code(vs, obj, AttrFolderCodeList, c)
	}
	v.extra(obj, f.Extra, nil)
}

func (v *validation) documentEntry(vs *ValueSets, d *DocumentEntry) {
	obj := label("DocumentEntry", d.ID)
	switch d.ObjectType {
	case ObjectTypeStable:
	case "":
		v.meta("%s: objectType is missing", obj)
	case ObjectTypeOnDemand:
		// IPF WRONG_DOCUMENT_ENTRY_TYPE (default code); NIST uses
		// UnmodifiableMetadataError, which is an ITI-57 code.
		v.meta("%s: objectType %s (On-Demand) cannot be registered by ITI-42; only Stable", obj, d.ObjectType)
	default:
		v.meta("%s: unknown objectType %q", obj, d.ObjectType)
	}
	if v.required(obj, "mimeType", d.MimeType) && !mimeTypePattern.MatchString(d.MimeType) {
		v.meta("%s: mimeType %q is not type/subtype", obj, d.MimeType)
	}
	v.title(obj, d.Title, false)
	// uniqueId: IPF rule (printable ASCII, ≤128), which is ITI TF-3
	// 4.2.3.2.26 (≤128 bytes, structure per formatCode); NIST's
	// OID[^ext≤16] is the CDA special case (ambiguity 1).
	if v.required(obj, "uniqueId", d.UniqueID) {
		if len(d.UniqueID) > 128 {
			v.meta("%s: uniqueId is longer than 128 characters", obj)
		} else if !printableASCII(d.UniqueID) {
			v.meta("%s: uniqueId %q contains characters outside printable ASCII", obj, d.UniqueID)
		}
	}
	v.patientCX(obj, "patientId", d.PatientID)
	v.dtm(obj, "creationTime", d.CreationTime, true)
	if v.required(obj, "hash", d.Hash) && !hashPattern.MatchString(d.Hash) {
		v.meta("%s: hash %q is not a SHA-1 in 40 hexadecimal digits", obj, d.Hash)
	}
	if d.Size == nil {
		v.meta("%s: size is missing", obj)
	} else if *d.Size < 0 {
		v.meta("%s: size %d is negative", obj, *d.Size)
	}
	v.oid(obj, "repositoryUniqueId", d.RepositoryUniqueID)
	if v.required(obj, "languageCode", d.LanguageCode) && !languageCodePattern.MatchString(d.LanguageCode) {
		v.meta("%s: languageCode %q is not an RFC 3066 language tag", obj, d.LanguageCode)
	}
	v.patientCX(obj, "sourcePatientId", d.SourcePatientID)
	for _, p := range d.SourcePatientInfo {
		v.sourcePatientInfo(obj, p)
	}
	if d.LegalAuthenticator != "" {
		if err := CheckXCN(d.LegalAuthenticator); err != nil {
			v.meta("%s: legalAuthenticator: %v", obj, err)
		}
	}
	v.dtm(obj, "serviceStartTime", d.ServiceStartTime, false)
	v.dtm(obj, "serviceStopTime", d.ServiceStopTime, false)
	if d.ServiceStartTime != "" && d.ServiceStopTime != "" {
		start, err1 := NormalizeDTM(d.ServiceStartTime)
		stop, err2 := NormalizeDTM(d.ServiceStopTime)
		if err1 == nil && err2 == nil && start > stop { // IPF TIME_WRONG_CHRONOLOGY
			v.meta("%s: serviceStartTime %s is after serviceStopTime %s", obj, d.ServiceStartTime, d.ServiceStopTime)
		}
	}
	if d.URI != "" {
		if u, err := url.Parse(d.URI); err != nil || u.Scheme == "" {
			v.meta("%s: URI %q is not an absolute URI", obj, d.URI)
		}
	}
	switch d.DocumentAvailability {
	case "", DocumentAvailabilityOnline, DocumentAvailabilityOffline:
	default:
		v.meta("%s: documentAvailability %q is not %s or %s", obj, d.DocumentAvailability,
			DocumentAvailabilityOnline, DocumentAvailabilityOffline)
	}
	for _, r := range d.ReferenceIDs {
		if err := CheckCXi(r); err != nil {
			v.meta("%s: referenceIdList: %v", obj, err)
		}
	}
	for i, a := range d.Authors {
		v.author(obj, i, a)
	}
	v.code(vs, obj, AttrClassCode, d.Class)
	v.code(vs, obj, AttrTypeCode, d.Type)
	v.code(vs, obj, AttrFormatCode, d.Format)
	v.code(vs, obj, AttrFacilityTypeCode, d.FacilityType)
	v.code(vs, obj, AttrPracticeSettingCode, d.PracticeSetting)
	if len(d.Confidentiality) == 0 {
		v.meta("%s: confidentialityCode is missing (at least one)", obj)
	}
	for _, c := range d.Confidentiality {
		v.code(vs, obj, AttrConfidentialityCode, c)
	}
	for _, c := range d.Events {
		v.code(vs, obj, AttrEventCodeList, c)
	}
	if d.Class.Code != "" && d.Type.Code != "" {
		if err := vs.CheckTypeInClass(d.Class, d.Type); err != nil {
			var ce *CodeError
			errors.As(err, &ce)
			v.meta("%s: typeCode %q (codingScheme %q) %s", obj, d.Type.Code, d.Type.Scheme, ce.Detail)
		}
	}
	v.extra(obj, d.Extra, nil)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// sourcePatientInfo: "PID-n|value"; IPF forbids PID-2, PID-4, PID-12,
// PID-19 and fields beyond PID-39.
func (v *validation) sourcePatientInfo(obj, p string) {
	m := sourcePatientInfoRe.FindStringSubmatch(p)
	if m == nil {
		v.meta("%s: sourcePatientInfo %q is not PID-n|value", obj, p)
		return
	}
	n, _ := strconv.Atoi(m[1])
	switch {
	case n < 1 || n > 39:
		v.meta("%s: sourcePatientInfo field PID-%d does not exist in XDS", obj, n)
	case n == 2 || n == 4 || n == 12 || n == 19:
		v.meta("%s: sourcePatientInfo field PID-%d is not allowed in XDS", obj, n)
	}
}

func (v *validation) association(a *Association) {
	obj := label("Association", a.ID)
	switch a.Type {
	case AssocHasMember, AssocReplace, AssocAppend, AssocTransform, AssocTransformReplace, AssocSigns:
	case AssocIsSnapshotOf:
		v.meta("%s: %s needs an On-Demand DocumentEntry, which this registry does not hold", obj, a.Type)
	case "":
		v.meta("%s: associationType is missing", obj)
	default:
		v.meta("%s: unsupported associationType %q", obj, a.Type)
	}
	v.required(obj, "sourceObject", a.Source)
	v.required(obj, "targetObject", a.Target)
	if a.Source != "" && a.Source == a.Target {
		v.meta("%s: sourceObject and targetObject are the same object", obj)
	}
	switch a.SubmissionSetStatus {
	case "", SubmissionSetStatusOriginal, SubmissionSetStatusReference:
	default: // IPF INVALID_SUBMISSION_SET_STATUS
		v.meta("%s: SubmissionSetStatus %q is not Original or Reference", obj, a.SubmissionSetStatus)
	}
	if a.SubmissionSetStatus != "" && a.Type != AssocHasMember {
		v.meta("%s: SubmissionSetStatus on a %s association", obj, a.Type)
	}
	if doc := a.Documentation; doc != nil {
		// ITI TF-3 4.2.2.2: documentation describes a document
		// relationship; IPF DOC_CODE_NOT_ALLOWED_ON_HAS_MEMBER. Any code
		// system: IHE defines none and Norway has none.
		switch {
		case !IsRelationship(a.Type):
			v.meta("%s: a documentation classification belongs on a document relationship (RPLC, APND, XFRM, XFRM_RPLC, signs), not on %s", obj, a.Type)
		case doc.Code == "" || doc.Scheme == "":
			v.meta("%s: the documentation classification needs a code (nodeRepresentation) and a codingScheme", obj)
		}
	}
	v.extra(obj, a.Extra, associationSlotNames)
}

// stateless runs every check that needs only the submission and the
// patient checker: each object on its own, then the checks across them
// (ids, uniqueIds, one patient), then whether the registry knows the
// patients. It returns an internal error only when the checker could not
// decide.
func (r *Registry) stateless(ctx context.Context, sub *Submission) (*validation, error) {
	v := &validation{}
	v.objects(r.valueSets, sub)
	members := membersOf(sub)
	v.entryUUIDs(members)
	v.uniqueIDs(members)
	v.onePatient(sub.SubmissionSet, members)
	if err := r.knownPatients(ctx, v, members); err != nil {
		return nil, err
	}
	return v, nil
}

// objects checks each object of sub on its own.
func (v *validation) objects(vs *ValueSets, sub *Submission) {
	if ss := sub.SubmissionSet; ss == nil {
		v.meta("the submission has no SubmissionSet (exactly one is required)")
	} else {
		v.submissionSet(vs, ss)
		v.text(label(kindSubmissionSet, ss.ID), ss)
	}
	eachObject(v, sub.Folders, kindFolder, func(f *Folder) {
		v.folder(vs, f)
		v.text(label(kindFolder, f.ID), f)
	})
	eachObject(v, sub.Documents, kindDocument, func(d *DocumentEntry) {
		v.documentEntry(vs, d)
		v.text(label(kindDocument, d.ID), d)
	})
	eachObject(v, sub.Associations, kindAssociation, func(a *Association) {
		v.association(a)
		v.text(label(kindAssociation, a.ID), a)
	})
}

// eachObject runs check on each object of a submission's list of kind;
// an empty (nil) one is a metadata error.
func eachObject[X any](v *validation, objects []*X, kind string, check func(*X)) {
	for _, x := range objects {
		if x == nil {
			v.meta("the submission holds an empty %s", kind)
			continue
		}
		check(x)
	}
}

// member is one object of a submission as the checks across objects see
// it. An Association has no uniqueId and no patient.
type member struct {
	kind, id, uniqueID, patientID string
}

// membersOf lists the objects of sub that are there (not nil): the
// SubmissionSet, then Folders, DocumentEntries and Associations in their
// order, which is the order their errors are reported in.
func membersOf(sub *Submission) []member {
	var out []member
	if ss := sub.SubmissionSet; ss != nil {
		out = append(out, member{kindSubmissionSet, ss.ID, ss.UniqueID, ss.PatientID})
	}
	for _, f := range sub.Folders {
		if f != nil {
			out = append(out, member{kindFolder, f.ID, f.UniqueID, f.PatientID})
		}
	}
	for _, d := range sub.Documents {
		if d != nil {
			out = append(out, member{kindDocument, d.ID, d.UniqueID, d.PatientID})
		}
	}
	for _, a := range sub.Associations {
		if a != nil {
			out = append(out, member{kind: kindAssociation, id: a.ID})
		}
	}
	return out
}

// entryUUIDs: every object has an id, unique in the submission, and a
// urn:uuid: id is a UUID (IPF UUID_NOT_UNIQUE, default code).
func (v *validation) entryUUIDs(members []member) {
	ids := map[string]string{}
	for _, m := range members {
		if m.id == "" {
			v.meta("a %s has no id", m.kind)
			continue
		}
		if strings.HasPrefix(m.id, "urn:uuid:") && !isUUIDURN(m.id) {
			v.meta("%s: id is not urn:uuid: followed by a UUID", label(m.kind, m.id))
		}
		if prev, dup := ids[m.id]; dup {
			v.meta("id %s is used by a %s and a %s", m.id, prev, m.kind)
			continue
		}
		ids[m.id] = m.kind
	}
}

// uniqueIDs: uniqueIds are unique in the message (IPF UNIQUE_ID_NOT_UNIQUE
// → XDSRegistryDuplicateUniqueIdInMessage; NIST uses the metadata error).
func (v *validation) uniqueIDs(members []member) {
	uids := map[string]string{}
	for _, m := range members {
		if m.uniqueID == "" {
			continue
		}
		if prev, dup := uids[m.uniqueID]; dup {
			v.add(ErrCodeRegistryDuplicateUniqueIDInMessage, "uniqueId %s is used by %s and %s", m.uniqueID, prev, label(m.kind, m.id))
			continue
		}
		uids[m.uniqueID] = label(m.kind, m.id)
	}
}

// onePatient: every DocumentEntry and Folder has the SubmissionSet's
// patientId (IPF DOC_ENTRY_PATIENT_ID_WRONG / FOLDER_PATIENT_ID_WRONG,
// NIST PatientId.java).
func (v *validation) onePatient(ss *SubmissionSet, members []member) {
	if ss == nil || ss.PatientID == "" {
		return
	}
	for _, m := range members {
		if m.kind != kindSubmissionSet && m.patientID != "" && m.patientID != ss.PatientID {
			v.add(ErrCodePatientIDDoesNotMatch, "%s has patientId %s but the SubmissionSet has %s", label(m.kind, m.id), m.patientID, ss.PatientID)
		}
	}
}

// knownPatients asks the patient checker about each distinct well-formed
// patientId once. It returns an error only when the checker could not
// decide.
func (r *Registry) knownPatients(ctx context.Context, v *validation, members []member) error {
	checked := map[string]bool{}
	for _, m := range members {
		pid := m.patientID
		if pid == "" || checked[pid] || CheckPatientIDFormat(pid) != nil {
			continue
		}
		checked[pid] = true
		err := r.patients.CheckPatientID(ctx, pid)
		switch {
		case err == nil:
		case errors.Is(err, ErrUnknownPatientID):
			v.add(ErrCodeUnknownPatientID, "patientId %s is not known to the registry", pid)
		default:
			return fmt.Errorf("registry: checking patient id: %w", err)
		}
	}
	return nil
}

// text rejects strings that are not valid UTF-8 or hold a NUL byte (or
// another C0 control character than tab, newline and carriage return),
// anywhere in an object: XML cannot carry them and databases refuse them.
func (v *validation) text(obj string, x any) {
	walkText(reflect.ValueOf(x), "", func(path, s string) bool {
		if !utf8.ValidString(s) {
			v.meta("%s: %s is not valid UTF-8", obj, path)
			return false
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				v.meta("%s: %s contains the control character %#02x", obj, path, c)
				return false
			}
		}
		return true
	})
}

// walkText calls fn for every string in x (following pointers, slices and
// exported struct fields, named by their JSON names) until fn returns false.
func walkText(x reflect.Value, path string, fn func(path, s string) bool) bool {
	switch x.Kind() {
	case reflect.String:
		return fn(path, x.String())
	case reflect.Pointer:
		if x.IsNil() {
			return true
		}
		return walkText(x.Elem(), path, fn)
	case reflect.Slice:
		for i := 0; i < x.Len(); i++ {
			if !walkText(x.Index(i), fmt.Sprintf("%s[%d]", path, i), fn) {
				return false
			}
		}
	case reflect.Struct:
		t := x.Type()
		for i := 0; i < x.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if !walkText(x.Field(i), name, fn) {
				return false
			}
		}
	}
	return true
}
