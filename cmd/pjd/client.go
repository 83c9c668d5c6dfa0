package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/registry/oid"
	"pjd/repository"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	config  string
	url     string
	timeout time.Duration
}

func (c *clientFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "read settings from this file (lines of 'name = value')")
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the pjd server (also PJD_URL)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long")
}

func (c *clientFlags) xds() *xdsclient.Client {
	return xdsclient.New(c.url, &http.Client{Timeout: c.timeout})
}

// patientCX turns a national identity number (checked by the command
// line, cmd.ids) into the XDS patient id with the assigning authority its
// kind implies.
func patientCX(id string) (string, error) {
	kind, err := registry.ValidNorwegianID(id)
	if err != nil {
		return "", usageErrorf("--patient: %v", checkNationalID(id))
	}
	oid := map[string]string{registry.KindFnr: oid.FNR, registry.KindDnr: oid.DNR, registry.KindHnr: oid.HNR}[kind]
	return registry.NewPatientCX(id, oid).String(), nil
}

// newOID returns a fresh unique OID under 2.25 (ITU-T X.667: a UUID as an
// integer).
func newOID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return "2.25." + new(big.Int).SetBytes(b[:]).String()
}

func parseCode(s, defaultScheme string) (registry.Code, error) {
	code, scheme, _ := strings.Cut(s, "^")
	if code == "" {
		return registry.Code{}, fmt.Errorf("empty code")
	}
	if scheme == "" {
		scheme = defaultScheme
	}
	return registry.Code{Code: code, Scheme: scheme}, nil
}

// submitOptions are the flags of pjd submit.
type submitOptions struct {
	clientFlags
	patient, class, typ, title, comments, mimeType, orgName, orgNr, department, resh string
	authorHPR, authorName, facility, practice, conf, sourceID, created               string
}

func submitCmd() *cmd {
	o := &submitOptions{}
	return &cmd{
		name: "submit", summary: "register documents (ITI-41) with a repository",
		args: "FILE...", minArgs: 1, maxArgs: -1,
		flags: func(fs *flag.FlagSet) {
			o.clientFlags.define(fs)
			fs.StringVar(&o.patient, "patient", "", patientUsage)
			fs.StringVar(&o.class, "class", "A00-1", "classCode (Volven 9602, X00-1); code or code^scheme")
			fs.StringVar(&o.typ, "type", "A03-2", "typeCode (Volven 9602, Xnn-2); code or code^scheme")
			fs.StringVar(&o.title, "title", "", "document title (default: the file name)")
			fs.StringVar(&o.comments, "comments", "", "document comments")
			fs.StringVar(&o.mimeType, "mime-type", "", "media type (default: from the file name)")
			fs.StringVar(&o.orgName, "org-name", "Syntetisk sykehus HF", "author institution name")
			fs.StringVar(&o.orgNr, "org-nr", "991919198", "author institution organisation number")
			fs.StringVar(&o.department, "department", "", "author department name")
			fs.StringVar(&o.resh, "resh", "", "author department RESH id")
			fs.StringVar(&o.authorHPR, "author-hpr", "", "author's HPR number")
			fs.StringVar(&o.authorName, "author-name", "", "author's name, 'Given Family'")
			fs.StringVar(&o.facility, "facility", "86.101^2.16.578.1.12.4.1.1.1303", "healthcareFacilityTypeCode (code^scheme)")
			fs.StringVar(&o.practice, "practice-setting", "S03^2.16.578.1.12.4.1.1.8655", "practiceSettingCode (code^scheme)")
			fs.StringVar(&o.conf, "confidentiality", "N^2.16.578.1.12.4.1.1.9603", "confidentialityCode (code^scheme)")
			fs.StringVar(&o.sourceID, "source-id", "2.999.578.2", "sourceId (OID) of this source")
			fs.StringVar(&o.created, "created", "", "creationTime (YYYYMMDDhhmmss; default now)")
		},
		required: []string{"patient"}, ids: []string{"patient"},
		run: func(ctx context.Context, inv *invocation) error {
			return submit(ctx, o, inv.args, inv.stdout, inv.stderr)
		},
	}
}

func submit(ctx context.Context, o *submitOptions, files []string, stdout, stderr io.Writer) error {
	in, err := o.check(files)
	if err != nil {
		return err
	}
	dtm := registry.FormatDTM(in.when)
	author := o.author()
	root := newOID()
	sub := &registry.Submission{SubmissionSet: &registry.SubmissionSet{
		ID: "SubmissionSet01", UniqueID: root + ".1", SourceID: o.sourceID, PatientID: in.pid, SubmissionTime: dtm,
		ContentType: in.codes["--class"], Authors: []registry.Author{author},
	}}
	var docs []xdsclient.Document
	var opened []*os.File
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		opened = append(opened, f)
		mt := o.mimeTypeOf(name)
		t := o.title
		if t == "" {
			t = filepath.Base(name)
		} else if len(files) > 1 {
			t = fmt.Sprintf("%s (%d)", t, i+1)
		}
		id := fmt.Sprintf("Document%02d", i+1)
		sub.Documents = append(sub.Documents, &registry.DocumentEntry{
			ID: id, ObjectType: registry.ObjectTypeStable, UniqueID: fmt.Sprintf("%s.2.%d", root, i+1), PatientID: in.pid,
			MimeType: mt, Title: t, Comments: o.comments, LanguageCode: "nb-NO", CreationTime: dtm, SourcePatientID: in.pid,
			Authors: []registry.Author{author}, Class: in.codes["--class"], Type: in.codes["--type"],
			Format:       formatFor(mt),
			FacilityType: in.codes["--facility"], PracticeSetting: in.codes["--practice-setting"],
			Confidentiality: []registry.Code{in.codes["--confidentiality"]},
		})
		sub.Associations = append(sub.Associations, &registry.Association{ID: fmt.Sprintf("HasMember%02d", i+1),
			Type: registry.AssocHasMember, Source: "SubmissionSet01", Target: id, SubmissionSetStatus: registry.SubmissionSetStatusOriginal})
		docs = append(docs, xdsclient.Document{ID: id, MimeType: mt, Body: f})
	}
	resp, err := o.xds().Provide(ctx, sub, docs)
	if err != nil {
		return o.explain(err)
	}
	if err := printErrors(stderr, resp.Errors, "the repository rejected the submission"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "submission set  %s\n", sub.SubmissionSet.UniqueID)
	for i, d := range sub.Documents {
		fmt.Fprintf(stdout, "document        %s  %s\n", d.UniqueID, files[i])
	}
	return nil
}

// submitInput is what submit's flags and files say, checked.
type submitInput struct {
	pid   string                   // the patient's CX
	codes map[string]registry.Code // by flag name
	when  time.Time                // creation and submission time
}

// check checks the flags and files of pjd submit and reports every
// problem at once, as a usage error.
func (o *submitOptions) check(files []string) (submitInput, error) {
	var msgs []string
	pid, err := patientCX(o.patient)
	if err != nil {
		msgs = append(msgs, err.Error())
	}
	in := submitInput{pid: pid, codes: map[string]registry.Code{}, when: time.Now().UTC()}
	for name, v := range map[string]struct {
		val, scheme string
	}{"--class": {o.class, oid.Volven9602}, "--type": {o.typ, oid.Volven9602}, "--facility": {o.facility, ""},
		"--practice-setting": {o.practice, ""}, "--confidentiality": {o.conf, oid.Volven9603}} {
		c, err := parseCode(v.val, v.scheme)
		if err != nil || c.Scheme == "" {
			msgs = append(msgs, name+": give code^scheme")
			continue
		}
		in.codes[name] = c
	}
	if o.created != "" {
		t, err := registry.ParseDTM(o.created)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("--created: %v", err))
		}
		in.when = t
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil {
			msgs = append(msgs, fmt.Sprintf("cannot read %s: %v", f, cause(err)))
		} else if !fi.Mode().IsRegular() {
			msgs = append(msgs, fmt.Sprintf("%s is not a file", f))
		}
	}
	if len(msgs) > 0 {
		sort.Strings(msgs)
		return in, &usageError{msg: strings.Join(msgs, "\n")}
	}
	return in, nil
}

// author is the submission's author: the organisation (and department),
// and the person when named.
func (o *submitOptions) author() registry.Author {
	author := registry.Author{Institutions: []string{registry.XON{OrganizationName: o.orgName,
		AssigningAuthority: registry.HD{UniversalID: oid.OrgNr, UniversalIDType: "ISO"}, OrganizationIdentifier: o.orgNr}.String()}}
	if o.department != "" && o.resh != "" {
		author.Institutions = append(author.Institutions, registry.XON{OrganizationName: o.department,
			AssigningAuthority: registry.HD{UniversalID: oid.RESH, UniversalIDType: "ISO"}, OrganizationIdentifier: o.resh}.String())
	}
	if o.authorHPR != "" || o.authorName != "" {
		given, family, _ := strings.Cut(o.authorName, " ")
		x := registry.XCN{ID: o.authorHPR, GivenName: given, FamilyName: family}
		if o.authorHPR != "" {
			x.AssigningAuthority = registry.HD{UniversalID: oid.HPR, UniversalIDType: "ISO"}
		}
		author.Person = x.String()
	}
	return author
}

// mimeTypeOf is --mime-type, else the file name's, else
// application/octet-stream.
func (o *submitOptions) mimeTypeOf(name string) string {
	if o.mimeType != "" {
		return o.mimeType
	}
	mt := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	return mt
}

// printErrors prints the RegistryErrors of an answer, one a line, and
// returns an error saying refused when they failed the request.
func printErrors(stderr io.Writer, errs registry.ErrorList, refused string) error {
	for _, e := range errs {
		fmt.Fprintf(stderr, "%s: %s\n", e.Code, e.Context)
	}
	if errs.Failed() {
		return errors.New(refused)
	}
	return nil
}

// formatFor picks the Norwegian formatCode of a media type.
func formatFor(mt string) registry.Code {
	switch {
	case mt == "application/pdf":
		return registry.Code{Code: "urn:no:ehelse:document:pdf", Scheme: "formatCodes"}
	case strings.HasPrefix(mt, "image/"):
		return registry.Code{Code: "urn:no:ehelse:document:image", Scheme: "formatCodes"}
	case strings.HasPrefix(mt, "text/plain"):
		return registry.Code{Code: "urn:no:ehelse:document:text", Scheme: "formatCodes"}
	}
	return registry.Code{Code: "urn:ihe:iti:xds:2017:mimeTypeSufficient", Scheme: "1.3.6.1.4.1.19376.1.2.3"}
}

func getCmd() *cmd {
	cf := &clientFlags{}
	var out, repoID string
	return &cmd{
		name: "get", summary: "retrieve a document (ITI-43) by its uniqueId",
		args: "DOCUMENT-UNIQUE-ID", minArgs: 1, maxArgs: 1,
		flags: func(fs *flag.FlagSet) {
			cf.define(fs)
			fs.StringVar(&out, "o", "", "write the document to this file (default: its uniqueId + an extension, in this folder)")
			fs.StringVar(&repoID, "repository", "", "repositoryUniqueId (default: looked up in the registry)")
		},
		run: func(ctx context.Context, inv *invocation) error {
			return get(ctx, cf, inv.args[0], out, repoID, inv.stdout, inv.stderr)
		},
	}
}

func get(ctx context.Context, cf *clientFlags, uid, out, repoID string, stdout, stderr io.Writer) error {
	if out != "" {
		if err := checkOutputDir(out); err != nil {
			return err
		}
	}
	xc := cf.xds()
	var entry *registry.DocumentEntry
	if repoID == "" {
		entries, err := xc.DocumentsByUniqueID(ctx, []string{uid})
		if err != nil {
			return fmt.Errorf("looking the document up in the registry: %w", cf.explain(err))
		}
		for _, e := range entries {
			if entry == nil || e.Status == registry.StatusApproved {
				entry = e
			}
		}
		if entry == nil {
			return fmt.Errorf("the registry has no document %s", uid)
		}
		repoID = entry.RepositoryUniqueID
	}
	res, err := xc.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: repoID, DocumentUniqueID: uid}})
	if err != nil {
		return cf.explain(err)
	}
	defer res.Close()
	_ = printErrors(stderr, res.Response.Errors, "") // whether a document came is what decides
	d, body, err := res.Next()
	if errors.Is(err, io.EOF) {
		return errors.New("the repository returned no document")
	}
	if err != nil {
		return err
	}
	name := out
	if name == "" {
		name = uid + extFor(d.MimeType)
	}
	var check func(sum []byte) error
	if entry != nil && entry.Hash != "" {
		check = func(sum []byte) error {
			if hex.EncodeToString(sum) != entry.Hash {
				return errors.New("the document's SHA-1 does not match the registry's hash")
			}
			return nil
		}
	}
	n, err := writeFileAtomically(name, body, check)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s  %d bytes  %s\n", name, n, d.MimeType)
	return nil
}

// checkOutputDir checks, before anything is fetched, that the folder a
// file is to be written into exists.
func checkOutputDir(name string) error {
	dir := filepath.Dir(name)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot write %s: the folder %s does not exist", name, dir)
	case !fi.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a folder", name, dir)
	}
	return nil
}

// writeFileAtomically writes r to name through a temporary file in the
// same folder, renamed into place once complete (and, with check, once
// check accepts the SHA-1 of the bytes). Errors name the file, never the
// temporary one.
func writeFileAtomically(name string, r io.Reader, check func(sha1 []byte) error) (int64, error) {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, ".pjd-get-*")
	if err != nil {
		return 0, fmt.Errorf("cannot write %s in the folder %s: %w", filepath.Base(name), dir, cause(err))
	}
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		err = fmt.Errorf("receiving the document: %w", err)
	}
	if err == nil {
		if err = tmp.Sync(); err != nil {
			err = fmt.Errorf("writing %s: %w", name, cause(err))
		}
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", name, cause(cerr))
	}
	if err == nil && check != nil {
		err = check(h.Sum(nil))
	}
	if err == nil {
		if rerr := os.Rename(tmp.Name(), name); rerr != nil {
			err = fmt.Errorf("cannot write %s: %w", name, cause(rerr))
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, err
	}
	return n, nil
}

// cause is the reason inside an *os.PathError or *os.LinkError ("no such
// file or directory"), for a message that names the file itself.
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// explain puts a failed XDS call in words: a server that cannot be reached
// is named with how to name another.
func (c *clientFlags) explain(err error) error {
	var oe *net.OpError
	if errors.Is(err, xdsclient.ErrUnanswered) && errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("cannot reach the pjd server at %s (is it running? --url or PJD_URL names another): %v", c.url, oe.Err)
	}
	return err
}

func extFor(mt string) string {
	switch mt {
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "application/xml", "text/xml":
		return ".xml"
	}
	return ""
}

func findCmd() *cmd {
	cf := &clientFlags{}
	var patient string
	var all, asJSON bool
	return &cmd{
		name: "find", summary: "find a patient's documents (ITI-18 FindDocuments)",
		flags: func(fs *flag.FlagSet) {
			cf.define(fs)
			fs.StringVar(&patient, "patient", "", patientUsage)
			fs.BoolVar(&all, "all", false, "include deprecated (replaced) documents")
			fs.BoolVar(&asJSON, "json", false, "print the DocumentEntries as JSON")
		},
		required: []string{"patient"}, ids: []string{"patient"},
		run: func(ctx context.Context, inv *invocation) error {
			return find(ctx, cf, patient, all, asJSON, inv.stdout, inv.stderr)
		},
	}
}

func find(ctx context.Context, cf *clientFlags, patient string, all, asJSON bool, stdout, stderr io.Writer) error {
	pid, err := patientCX(patient)
	if err != nil {
		return err
	}
	status := "('" + registry.StatusApproved + "')"
	if all {
		status = "('" + registry.StatusApproved + "','" + registry.StatusDeprecated + "')"
	}
	res, rr, err := cf.xds().Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + pid + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{status}},
		}})
	if err != nil {
		return cf.explain(err)
	}
	if err := printErrors(stderr, rr.Errors, "the registry rejected the query"); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Documents)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tCLASS/TYPE\tTITLE\tMIME TYPE\tSIZE\tUNIQUE ID")
	for _, d := range res.Documents {
		size := ""
		if d.Size != nil {
			size = fmt.Sprint(*d.Size)
		}
		title := d.Title
		if d.Status == registry.StatusDeprecated {
			title += " (replaced)"
		}
		created := d.CreationTime
		if t, err := registry.ParseDTM(created); err == nil {
			created = t.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\n", created, d.Class.Code, d.Type.Code, title, d.MimeType, size, d.UniqueID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d document(s)\n", len(res.Documents))
	return nil
}
