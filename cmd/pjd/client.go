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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	config  string
	url     string
	timeout time.Duration
}

func defineClientFlags(fs *flag.FlagSet) *clientFlags {
	c := &clientFlags{}
	fs.StringVar(&c.config, "config", "", "read settings from this file (lines of 'name = value')")
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the pjd server")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long")
	return c
}

func (c *clientFlags) xds() *xdsclient.Client {
	return xdsclient.New(c.url, &http.Client{Timeout: c.timeout})
}

// patientCX turns a national identity number into the XDS patient id with
// the assigning authority its kind implies.
func patientCX(id string) (string, error) {
	kind, err := registry.ValidNorwegianID(id)
	if err != nil {
		return "", fmt.Errorf("--patient: %v", err)
	}
	oid := map[string]string{registry.KindFnr: registry.OIDFnr, registry.KindDnr: registry.OIDDnr, registry.KindHnr: registry.OIDHnr}[kind]
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

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("submit", stderr)
	cf := defineClientFlags(fs)
	patient := fs.String("patient", "", "patient F-nr, D-nr or H-nr (required)")
	class := fs.String("class", "A00-1", "classCode (Volven 9602, X00-1); code or code^scheme")
	typ := fs.String("type", "A03-2", "typeCode (Volven 9602, Xnn-2); code or code^scheme")
	title := fs.String("title", "", "document title (default: the file name)")
	comments := fs.String("comments", "", "document comments")
	mimeType := fs.String("mime-type", "", "media type (default: from the file name)")
	orgName := fs.String("org-name", "Syntetisk sykehus HF", "author institution name")
	orgNr := fs.String("org-nr", "991919198", "author institution organisation number")
	department := fs.String("department", "", "author department name")
	resh := fs.String("resh", "", "author department RESH id")
	authorHPR := fs.String("author-hpr", "", "author's HPR number")
	authorName := fs.String("author-name", "", "author's name, 'Given Family'")
	facility := fs.String("facility", "86.101^2.16.578.1.12.4.1.1.1303", "healthcareFacilityTypeCode (code^scheme)")
	practice := fs.String("practice-setting", "S03^2.16.578.1.12.4.1.1.8655", "practiceSettingCode (code^scheme)")
	conf := fs.String("confidentiality", "N^2.16.578.1.12.4.1.1.9603", "confidentialityCode (code^scheme)")
	sourceID := fs.String("source-id", "2.999.578.2", "sourceId (OID) of this source")
	created := fs.String("created", "", "creationTime (YYYYMMDDhhmmss; default now)")
	if err := loadConfig(fs, args, os.Getenv); err != nil {
		return err
	}
	files := fs.Args()
	var p problems
	if *patient == "" {
		p.addf("--patient is required")
	}
	if len(files) == 0 {
		p.addf("name at least one FILE to submit")
	}
	pid, err := patientCX(*patient)
	if *patient != "" && err != nil {
		p.addf("%v", err)
	}
	codes := map[string]*registry.Code{}
	for name, v := range map[string]struct {
		val, scheme string
	}{"--class": {*class, registry.OIDVolven9602}, "--type": {*typ, registry.OIDVolven9602}, "--facility": {*facility, ""},
		"--practice-setting": {*practice, ""}, "--confidentiality": {*conf, registry.OIDVolven9603}} {
		c, err := parseCode(v.val, v.scheme)
		if err != nil || c.Scheme == "" {
			p.addf("%s: give code^scheme", name)
			continue
		}
		codes[name] = &c
	}
	when := time.Now().UTC()
	if *created != "" {
		t, err := registry.ParseDTM(*created)
		if err != nil {
			p.addf("--created: %v", err)
		}
		when = t
	}
	if err := p.err(); err != nil {
		return err
	}
	dtm := registry.FormatDTM(when)
	author := registry.Author{Institutions: []string{registry.XON{OrganizationName: *orgName,
		AssigningAuthority: registry.HD{UniversalID: registry.OIDOrgnr, UniversalIDType: "ISO"}, OrganizationIdentifier: *orgNr}.String()}}
	if *department != "" && *resh != "" {
		author.Institutions = append(author.Institutions, registry.XON{OrganizationName: *department,
			AssigningAuthority: registry.HD{UniversalID: registry.OIDRESH, UniversalIDType: "ISO"}, OrganizationIdentifier: *resh}.String())
	}
	if *authorHPR != "" || *authorName != "" {
		given, family, _ := strings.Cut(*authorName, " ")
		x := registry.XCN{ID: *authorHPR, GivenName: given, FamilyName: family}
		if *authorHPR != "" {
			x.AssigningAuthority = registry.HD{UniversalID: registry.OIDHPR, UniversalIDType: "ISO"}
		}
		author.Person = x.String()
	}
	root := newOID()
	sub := &registry.Submission{SubmissionSet: &registry.SubmissionSet{
		ID: "SubmissionSet01", UniqueID: root + ".1", SourceID: *sourceID, PatientID: pid, SubmissionTime: dtm,
		ContentType: *codes["--class"], Authors: []registry.Author{author},
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
		mt := *mimeType
		if mt == "" {
			mt = mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
			if i := strings.IndexByte(mt, ';'); i >= 0 {
				mt = mt[:i]
			}
			if mt == "" {
				mt = "application/octet-stream"
			}
		}
		t := *title
		if t == "" {
			t = filepath.Base(name)
		} else if len(files) > 1 {
			t = fmt.Sprintf("%s (%d)", t, i+1)
		}
		id := fmt.Sprintf("Document%02d", i+1)
		sub.Documents = append(sub.Documents, &registry.DocumentEntry{
			ID: id, ObjectType: registry.ObjectTypeStable, UniqueID: fmt.Sprintf("%s.2.%d", root, i+1), PatientID: pid,
			MimeType: mt, Title: t, Comments: *comments, LanguageCode: "nb-NO", CreationTime: dtm, SourcePatientID: pid,
			Authors: []registry.Author{author}, Class: *codes["--class"], Type: *codes["--type"],
			Format:       formatFor(mt),
			FacilityType: *codes["--facility"], PracticeSetting: *codes["--practice-setting"],
			Confidentiality: []registry.Code{*codes["--confidentiality"]},
		})
		sub.Associations = append(sub.Associations, &registry.Association{ID: fmt.Sprintf("HasMember%02d", i+1),
			Type: registry.AssocHasMember, Source: "SubmissionSet01", Target: id, SubmissionSetStatus: registry.SubmissionSetStatusOriginal})
		docs = append(docs, xdsclient.Document{ID: id, MimeType: mt, Body: f})
	}
	resp, err := cf.xds().Provide(ctx, sub, docs)
	if err != nil {
		return err
	}
	for _, e := range resp.Errors {
		fmt.Fprintf(stderr, "%s: %s\n", e.Code, e.Context)
	}
	if resp.Errors.Failed() {
		return errors.New("the repository rejected the submission")
	}
	fmt.Fprintf(stdout, "submission set  %s\n", sub.SubmissionSet.UniqueID)
	for i, d := range sub.Documents {
		fmt.Fprintf(stdout, "document        %s  %s\n", d.UniqueID, files[i])
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

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("get", stderr)
	cf := defineClientFlags(fs)
	out := fs.String("o", "", "write the document to this file (default: its uniqueId + an extension)")
	repoID := fs.String("repository", "", "repositoryUniqueId (default: looked up in the registry)")
	if err := loadConfig(fs, append([]string(nil), reorderArgs(args)...), os.Getenv); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: pjd get DOCUMENT-UNIQUE-ID [-o FILE] [--repository ID]")
	}
	uid := fs.Arg(0)
	xc := cf.xds()
	var entry *registry.DocumentEntry
	if *repoID == "" {
		entries, err := xc.DocumentsByUniqueID(ctx, []string{uid})
		if err != nil {
			return fmt.Errorf("looking the document up in the registry: %w", err)
		}
		for _, e := range entries {
			if entry == nil || e.Status == registry.StatusApproved {
				entry = e
			}
		}
		if entry == nil {
			return fmt.Errorf("the registry has no document %s", uid)
		}
		*repoID = entry.RepositoryUniqueID
	}
	res, err := xc.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: *repoID, DocumentUniqueID: uid}})
	if err != nil {
		return err
	}
	defer res.Close()
	for _, e := range res.Response.Errors {
		fmt.Fprintf(stderr, "%s: %s\n", e.Code, e.Context)
	}
	d, body, err := res.Next()
	if errors.Is(err, io.EOF) {
		return errors.New("the repository returned no document")
	}
	if err != nil {
		return err
	}
	name := *out
	if name == "" {
		name = uid + extFor(d.MimeType)
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".pjd-get-*")
	if err != nil {
		return err
	}
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && entry != nil && entry.Hash != "" && hex.EncodeToString(h.Sum(nil)) != entry.Hash {
		err = errors.New("the document's SHA-1 does not match the registry's hash")
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	fmt.Fprintf(stdout, "%s  %d bytes  %s\n", name, n, d.MimeType)
	return nil
}

// reorderArgs moves flags before positional arguments so "get ID -o f"
// works as well as "get -o f ID".
func reorderArgs(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && takesValue(a) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func takesValue(flag string) bool {
	switch strings.TrimLeft(flag, "-") {
	case "h", "help", "json":
		return false
	}
	return true
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

func runFind(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("find", stderr)
	cf := defineClientFlags(fs)
	patient := fs.String("patient", "", "patient F-nr, D-nr or H-nr (required)")
	all := fs.Bool("all", false, "include deprecated (replaced) documents")
	asJSON := fs.Bool("json", false, "print the DocumentEntries as JSON")
	if err := loadConfig(fs, args, os.Getenv); err != nil {
		return err
	}
	pid, err := patientCX(*patient)
	if err != nil {
		return err
	}
	status := "('" + registry.StatusApproved + "')"
	if *all {
		status = "('" + registry.StatusApproved + "','" + registry.StatusDeprecated + "')"
	}
	res, rr, err := cf.xds().Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: []registry.Slot{
			{Name: registry.ParamDocumentEntryPatientID, Values: []string{"'" + pid + "'"}},
			{Name: registry.ParamDocumentEntryStatus, Values: []string{status}},
		}})
	if err != nil {
		return err
	}
	for _, e := range rr.Errors {
		fmt.Fprintf(stderr, "%s: %s\n", e.Code, e.Context)
	}
	if rr.Errors.Failed() {
		return errors.New("the registry rejected the query")
	}
	if *asJSON {
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
