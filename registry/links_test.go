package registry_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"pjd/registry"
	"pjd/registry/oid"
)

// TestPatientLinks: a D-nummer replaced by a fødselsnummer finds the same
// documents as it, presented with the current number; submissions under
// the old number are refused naming the new one; chains resolve; unlink
// undoes it all.
func TestPatientLinks(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		e := newEnvOn(t, open)
		ctx := context.Background()
		dnr, fnr, merged := registry.SampleDnrPatientID(1), registry.SamplePatientID(5), registry.SamplePatientID(6)
		e.register(sample(1, registry.SampleOptions{Patient: dnr, Documents: 2}))
		e.register(sample(2, registry.SampleOptions{Patient: fnr}))
		a, c, b := e.doc(registry.SampleUniqueID(1, 0)), e.doc(registry.SampleUniqueID(1, 1)), e.doc(registry.SampleUniqueID(2, 0))
		find := func(pid string) *registry.QueryResult {
			t.Helper()
			res, err := e.reg.Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
				Params: findDocs(pid, approvedOnly)})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		presented := func(res *registry.QueryResult) []string {
			var out []string
			for _, d := range res.Documents {
				out = append(out, d.PatientID)
			}
			return out
		}
		if got := docIDs(find(dnr)); !reflect.DeepEqual(got, sortedIDs(a, c)) {
			t.Fatalf("before the link, the D-nummer finds %v", got)
		}

		l, err := e.reg.LinkPatient(ctx, dnr, fnr, "pjd patients link (os-user:test)", "fødselsnummer tildelt")
		if err != nil {
			t.Fatal(err)
		}
		if l.From != dnr || l.To != fnr || !l.Active() || !l.LinkedAt.Equal(t0) {
			t.Errorf("link %+v", l)
		}
		for _, pid := range []string{dnr, fnr} {
			res := find(pid)
			if got := docIDs(res); !reflect.DeepEqual(got, sortedIDs(a, b, c)) {
				t.Errorf("%s finds %v, want the documents of both numbers", pid, got)
			}
			if got := presented(res); !reflect.DeepEqual(got, []string{fnr, fnr, fnr}) {
				t.Errorf("%s: documents presented with %v, want the fødselsnummer", pid, got)
			}
		}
		byID, err := e.reg.Query(ctx, &registry.Query{ID: registry.QueryGetDocuments, ReturnType: registry.ReturnLeafClass,
			Params: []registry.Slot{p(registry.ParamDocumentEntryEntryUUID, list(a.ID))}})
		if err != nil || len(byID.Documents) != 1 || byID.Documents[0].PatientID != fnr {
			t.Errorf("GetDocuments of the D-nummer's document: %+v, %v", byID, err)
		}
		if _, err := e.reg.Query(ctx, &registry.Query{ID: registry.QueryGetAll, ReturnType: registry.ReturnLeafClass, Params: []registry.Slot{
			p(registry.ParamPatientID, quote(dnr)), p(registry.ParamDocumentEntryStatus, approvedOnly),
			p(registry.ParamSubmissionSetStatus, approvedOnly), p(registry.ParamFolderStatus, approvedOnly)}}); err != nil {
			t.Errorf("GetAll LeafClass across the linked numbers: %v", err)
		}
		if a.PatientID != dnr || e.doc(a.UniqueID).PatientID != dnr {
			t.Error("the stored patientId was rewritten")
		}
		id, err := e.reg.ResolvePatient(ctx, dnr)
		if err != nil || id.Current != fnr || !reflect.DeepEqual(id.All, sorted(dnr, fnr)) {
			t.Errorf("ResolvePatient(D-nummer) = %+v, %v", id, err)
		}

		// ITI-42 under the old number: refused naming the new one.
		_, err = e.reg.Register(ctx, sample(3, registry.SampleOptions{Patient: dnr}))
		if got := codesOf(t, err); !reflect.DeepEqual(got, []string{unknownPID}) || !contextMentions(err, dnr, "replaced by", fnr) {
			t.Errorf("register under the D-nummer: %v", err)
		}
		// Under the new one, replacing the D-nummer's document: the same
		// person, accepted.
		s := sample(4, registry.SampleOptions{Patient: fnr})
		relation(s, registry.AssocReplace, a.ID)
		e.register(s)
		// ITI-57 of a D-nummer document: under the D-nummer refused, under
		// the fødselsnummer accepted (the same person).
		_, err = e.reg.Update(ctx, registry.SampleUpdate(5, c, nil))
		if got := codesOf(t, err); !reflect.DeepEqual(got, []string{unknownPID}) || !contextMentions(err, fnr) {
			t.Errorf("update under the D-nummer: %v", err)
		}
		upd := registry.SampleUpdate(6, c, func(d *registry.DocumentEntry) { d.PatientID = fnr })
		upd.SubmissionSet.PatientID = fnr
		if _, err := e.reg.Update(ctx, upd); err != nil {
			t.Fatalf("update under the current number: %v", err)
		}

		// A merge of the fødselsnummer into another: the chain resolves.
		e.advance(time.Hour)
		if _, err := e.reg.LinkPatient(ctx, fnr, merged, "adm", "sammenslåing"); err != nil {
			t.Fatal(err)
		}
		if id, _ := e.reg.ResolvePatient(ctx, dnr); id.Current != merged || len(id.All) != 3 {
			t.Errorf("after the merge: %+v", id)
		}
		if got := presented(find(dnr)); len(got) == 0 || got[0] != merged {
			t.Errorf("presented after the merge: %v", got)
		}
		// Refusals.
		if _, err := e.reg.LinkPatient(ctx, merged, dnr, "adm", ""); !errors.Is(err, registry.ErrLinkCycle) {
			t.Errorf("a cycle: %v", err)
		}
		if _, err := e.reg.LinkPatient(ctx, dnr, registry.SamplePatientID(7), "adm", ""); !errors.Is(err, registry.ErrAlreadyLinked) {
			t.Errorf("a second link from the D-nummer: %v", err)
		}

		// Unlink the D-nummer: it is its own person again.
		e.advance(time.Hour)
		ended, err := e.reg.UnlinkPatient(ctx, dnr, "adm", "feil kobling")
		if err != nil || ended.Active() || ended.UnlinkReason != "feil kobling" {
			t.Fatalf("unlink: %+v, %v", ended, err)
		}
		if got := docIDs(find(dnr)); len(got) != 0 {
			t.Errorf("after unlink the D-nummer finds %v (its document was replaced)", got)
		}
		res, err := e.reg.Query(ctx, &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
			Params: findDocs(dnr, anyStatus)})
		// A (replaced) is the D-nummer's again; C's latest version was made
		// under the fødselsnummer and stays with it.
		if err != nil || len(res.Documents) != 1 || res.Documents[0].ID != a.ID || res.Documents[0].PatientID != dnr {
			t.Errorf("after unlink, the D-nummer's document is presented as its own: %+v, %v", res, err)
		}
		e.register(sample(7, registry.SampleOptions{Patient: dnr}))
		hist, err := e.reg.PatientLinks(ctx, dnr)
		if err != nil || len(hist) != 1 || hist[0].Active() || !hist[0].UnlinkedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("history %+v, %v", hist, err)
		}
		if _, err := e.reg.UnlinkPatient(ctx, dnr, "adm", ""); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("unlinking twice: %v", err)
		}
	})
}

func TestLinkPatientRejections(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fnr := registry.SamplePatientID(1)
	for _, tc := range []struct {
		name, from, to, by string
	}{
		{"itself", fnr, fnr, "adm"},
		{"not a CX", "13116900216", fnr, "adm"},
		{"wrong assigning authority", registry.NewPatientCX(registry.SyntheticFnr(2), oid.DNR).String(), fnr, "adm"},
		{"unknown patient", "12345678901^^^&" + oid.FNR + "&ISO", fnr, "adm"},
		{"nobody made it", registry.SamplePatientID(2), fnr, " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.reg.LinkPatient(ctx, tc.from, tc.to, tc.by, ""); !errors.Is(err, registry.ErrInvalidPatientID) {
				t.Errorf("got %v, want ErrInvalidPatientID", err)
			}
		})
	}
	if _, err := e.reg.ResolvePatient(ctx, "x"); !errors.Is(err, registry.ErrInvalidPatientID) {
		t.Errorf("ResolvePatient of a non-CX: %v", err)
	}
	if id, err := e.reg.ResolvePatient(ctx, fnr); err != nil || id.Current != fnr || !reflect.DeepEqual(id.All, []string{fnr}) {
		t.Errorf("ResolvePatient without links: %+v, %v", id, err)
	}
}

// TestLinkPatientConcurrentCycle: two links that would together form a
// cycle, made at once: exactly one is stored.
func TestLinkPatientConcurrentCycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		e := newEnvOn(t, open)
		x, y := registry.SamplePatientID(11), registry.SamplePatientID(12)
		errs := make(chan error, 2)
		for _, pair := range [][2]string{{x, y}, {y, x}} {
			go func() {
				_, err := e.reg.LinkPatient(context.Background(), pair[0], pair[1], "adm", "")
				errs <- err
			}()
		}
		var got []string
		for range 2 {
			err := <-errs
			switch {
			case err == nil:
				got = append(got, "ok")
			case errors.Is(err, registry.ErrLinkCycle):
				got = append(got, "cycle")
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, []string{"cycle", "ok"}) {
			t.Errorf("outcomes %v, want one link and one cycle refusal", got)
		}
	})
}

// TestMultiPatientQuery: ITI-51 FindDocumentsForMultiplePatients and
// FindFoldersForMultiplePatients.
func TestMultiPatientQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(t *testing.T) registry.Store) {
		l := newLifecycle(t, open)
		ctx := context.Background()
		run := func(id string, params ...registry.Slot) (*registry.QueryResult, error) {
			return l.e.reg.MultiPatientQuery(ctx, &registry.Query{ID: id, ReturnType: registry.ReturnLeafClass, Params: params})
		}
		res, err := run(registry.QueryFindDocumentsForMultiplePatients,
			p(registry.ParamDocumentEntryPatientID, list(patient1, patient2)), p(registry.ParamDocumentEntryStatus, approvedOnly))
		if err != nil {
			t.Fatal(err)
		}
		if got := docIDs(res); !reflect.DeepEqual(got, sortedIDs(l.d1, l.d2, l.d3)) {
			t.Errorf("two patients: %v", got)
		}
		// Patient ids only (the PatientId Only Option), in the TF sample's
		// status spelling.
		res, err = run(registry.QueryFindDocumentsForMultiplePatients,
			p(registry.ParamDocumentEntryPatientID, "("+quote(patient2)+")"),
			p(registry.ParamDocumentEntryStatus, "('urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Approved')"))
		if err != nil || !reflect.DeepEqual(docIDs(res), sortedIDs(l.d3)) {
			t.Errorf("one patient, ResponseStatusType spelling: %v, %v", docIDs(res), err)
		}
		// No patient: a class code across all patients.
		res, err = run(registry.QueryFindDocumentsForMultiplePatients,
			p(registry.ParamDocumentEntryClassCode, list(code(registry.SampleClassEpikrise))), p(registry.ParamDocumentEntryStatus, approvedOnly))
		if err != nil || len(res.Documents) != 3 {
			t.Errorf("class code only: %d, %v", len(res.Documents), err)
		}
		// Linked numbers are found too.
		dnr := registry.SampleDnrPatientID(3)
		if _, err := l.e.reg.LinkPatient(ctx, dnr, patient2, "adm", ""); err != nil {
			t.Fatal(err)
		}
		res, err = run(registry.QueryFindDocumentsForMultiplePatients,
			p(registry.ParamDocumentEntryPatientID, list(dnr)), p(registry.ParamDocumentEntryStatus, approvedOnly))
		if err != nil || !reflect.DeepEqual(docIDs(res), sortedIDs(l.d3)) {
			t.Errorf("by a linked D-nummer: %v, %v", docIDs(res), err)
		}
		res, err = run(registry.QueryFindFoldersForMultiplePatients,
			p(registry.ParamFolderPatientID, list(patient1, patient2)), p(registry.ParamFolderStatus, approvedOnly))
		if err != nil || len(res.Folders) != 1 || res.Folders[0].ID != l.f1.ID {
			t.Errorf("folders of two patients: %+v, %v", res, err)
		}
		res, err = run(registry.QueryFindFoldersForMultiplePatients,
			p(registry.ParamFolderCodeList, list(code(registry.SampleClassEpikrise))), p(registry.ParamFolderStatus, approvedOnly))
		if err != nil || len(res.Folders) != 1 {
			t.Errorf("folders by code: %+v, %v", res, err)
		}

		for _, tc := range []struct {
			name   string
			id     string
			params []registry.Slot
			code   string
		}{
			{"status only (testkit 12364)", registry.QueryFindDocumentsForMultiplePatients,
				[]registry.Slot{p(registry.ParamDocumentEntryStatus, approvedOnly)}, registry.ErrCodeStoredQueryMissingParam},
			{"no status", registry.QueryFindDocumentsForMultiplePatients,
				[]registry.Slot{p(registry.ParamDocumentEntryPatientID, list(patient1))}, registry.ErrCodeStoredQueryMissingParam},
			{"folders: status only", registry.QueryFindFoldersForMultiplePatients,
				[]registry.Slot{p(registry.ParamFolderStatus, approvedOnly)}, registry.ErrCodeStoredQueryMissingParam},
			{"a malformed patient id", registry.QueryFindDocumentsForMultiplePatients,
				[]registry.Slot{p(registry.ParamDocumentEntryPatientID, list(patient1, "13116900216")), p(registry.ParamDocumentEntryStatus, approvedOnly)},
				registry.ErrCodeRegistryError},
			{"an ITI-18 query", registry.QueryFindDocuments, findDocs(patient1, approvedOnly), registry.ErrCodeUnknownStoredQuery},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := run(tc.id, tc.params...)
				if got := codesOf(t, err); !reflect.DeepEqual(got, []string{tc.code}) {
					t.Errorf("codes %v, want %s (%v)", got, tc.code, err)
				}
			})
		}
	})
}

// TestQueryIgnoresUnknownParameters: Success with a warning per ignored
// parameter; the malformed code of NIST testkit 11897/old_scheme still
// fails, on the code.
func TestQueryIgnoresUnknownParameters(t *testing.T) {
	l := newLifecycle(t, openSQLite)
	res, err := l.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: findDocs(patient1, approvedOnly, p("$XDSDocumentEntryPracticeSettingCodeScheme", "('2.16.578.1.12.4.1.1.8655')"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Documents) != 2 || len(res.Warnings) != 1 || res.Warnings[0].Severity != registry.SeverityWarning ||
		res.Warnings[0].Code != registry.ErrCodeRegistryError || !strings.Contains(res.Warnings[0].Context, "PracticeSettingCodeScheme") {
		t.Errorf("%d documents, warnings %+v", len(res.Documents), res.Warnings)
	}
	if registry.StatusFor(res.Warnings) != registry.ResponseSuccess {
		t.Error("a warning failed the query")
	}
	_, err = l.e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnLeafClass,
		Params: findDocs(patient1, approvedOnly, p(registry.ParamDocumentEntryPracticeSettingCode, "('Dialysis')"),
			p("$XDSDocumentEntryPracticeSettingCodeScheme", "('Connect-a-thon practiceSettingCodes')"))})
	if got := codesOf(t, err); !reflect.DeepEqual(got, []string{registry.ErrCodeRegistryError}) || !contextMentions(err, registry.ParamDocumentEntryPracticeSettingCode, "Dialysis") {
		t.Errorf("old_scheme: %v", err)
	}
}

// TestMetadataLevelOffline: an Offline DocumentEntry is hidden at level 1.
func TestMetadataLevelOffline(t *testing.T) {
	e := newEnv(t)
	s := sample(1, registry.SampleOptions{Patient: patient1, Documents: 2})
	s.Documents[1].DocumentAvailability = registry.DocumentAvailabilityOffline
	e.register(s)
	for _, tc := range []struct {
		level []registry.Slot
		want  int
	}{{nil, 1}, {[]registry.Slot{level2}, 2}} {
		res, err := e.reg.Query(context.Background(), &registry.Query{ID: registry.QueryFindDocuments, ReturnType: registry.ReturnObjectRef,
			Params: findDocs(patient1, approvedOnly, tc.level...)})
		if err != nil || len(res.Refs) != tc.want {
			t.Errorf("level %v: %d documents, %v; want %d", tc.level, len(res.Refs), err, tc.want)
		}
	}
}
