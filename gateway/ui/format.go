package ui

import (
	"html/template"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Norwegian times whatever the host has installed

	"pjd/trust"
)

var oslo = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Oslo"); err == nil {
		return loc
	}
	return time.UTC
})

func (u *UI) loadTemplates() error {
	funcs := template.FuncMap{
		"date":        fmtDate,
		"datetime":    fmtDateTime,
		"isodate":     isoDate,
		"size":        fmtSize,
		"nin":         fmtNIN,
		"role":        roleLabel,
		"purpose":     purposeLabel,
		"outcome":     outcomeLabel,
		"flag":        flagLabel,
		"flagText":    flagText,
		"format":      formatLabel,
		"static":      u.staticURL,
		"docURL":      docURL,
		"contentURL":  contentURL,
		"downloadURL": downloadURL,
		"add":         func(a, b int) int { return a + b },
		"roleOf":      roleOf,
		"tx":          txLabel,
		"field":       newTextField,
	}
	pages, err := templateNames()
	if err != nil {
		return err
	}
	u.pages = map[string]*template.Template{}
	for _, p := range pages {
		if p == "layout.html" || strings.HasPrefix(p, "_") {
			continue
		}
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_partials.html", "templates/"+p)
		if err != nil {
			return err
		}
		u.pages[p] = t
	}
	return nil
}

func templateNames() ([]string, error) {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(oslo()).Format("02.01.2006")
}

func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(oslo()).Format("02.01.2006 15:04")
}

// isoDate is the value of an <input type=date>.
func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(oslo()).Format("2006-01-02")
}

// fmtSize writes a size the Norwegian way (decimal comma).
func fmtSize(n int64) string {
	switch {
	case n < 0:
		return "ukjent"
	case n < 1000:
		return strconv.FormatInt(n, 10) + " byte"
	case n < 1000*1000:
		return strings.Replace(strconv.FormatFloat(float64(n)/1000, 'f', 0, 64), ".", ",", 1) + " kB"
	default:
		return strings.Replace(strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64), ".", ",", 1) + " MB"
	}
}

// fmtNIN writes a national identity number as "DDMMÅÅ NNNNN".
func fmtNIN(s string) string {
	if len(s) == 11 {
		return s[:6] + "\u00a0" + s[6:]
	}
	return s
}

// roles are Volven 9060 authorisations (the common ones).
var roles = map[string]string{
	"LE": "Lege", "PS": "Psykolog", "SP": "Sykepleier", "TL": "Tannlege", "JO": "Jordmor",
	"FT": "Fysioterapeut", "ET": "Ergoterapeut", "HE": "Helsesekretær", "FA1": "Provisorfarmasøyt",
	"FA2": "Reseptarfarmasøyt", "KI": "Kiropraktor", "OI": "Ortopediingeniør", "RA": "Radiograf",
	"BI": "Bioingeniør", "AU": "Audiograf", "AM": "Ambulansearbeider", "HF": "Helsefagarbeider",
	"VE": "Vernepleier", "OP": "Optiker", "PM": "Paramedisiner", "KE": "Klinisk ernæringsfysiolog",
}

// roleOf is roleLabel, or "" for no role.
func roleOf(c Code) string {
	if c.Code == "" && c.Display == "" {
		return ""
	}
	return roleLabel(c)
}

func roleLabel(c Code) string {
	if r, ok := roles[c.Code]; ok {
		return r
	}
	return c.Label()
}

func purposeLabel(c Code) string {
	switch c.Code {
	case trust.PurposeTreat:
		return "Behandling"
	case trust.PurposeETreat:
		return "Akutt behandling"
	case trust.PurposeBTG:
		return "Nødtilgang"
	case trust.PurposeCOC:
		return "Koordinering av helsehjelp"
	case "":
		return "–"
	}
	return c.Label()
}

func outcomeLabel(o Outcome) string {
	switch o {
	case OutcomePermit:
		return "Tillatt"
	case OutcomeDeny:
		return "Avvist"
	case OutcomeError:
		return "Feil"
	}
	return string(o)
}

// flagTexts are the Norwegian label and explanation of each review flag.
var flagTexts = map[Flag]struct{ label, text string }{
	FlagBTG:                 {"Nødtilgang (BTG)", "Helsepersonellet brukte nødtilgang («knuste glasset») uten vanlig behandlingsrelasjon."},
	FlagETREAT:              {"Akutt behandling (ETREAT)", "Tilgangen ble gitt for akutt behandling."},
	FlagOutsideCareRelation: {"Utenfor behandlingsrelasjon", "Virksomheten til helsepersonellet har ingen registrert behandlingsrelasjon med pasienten."},
	FlagManyPatients:        {"Mange pasienter på kort tid", "Helsepersonellet har sett dokumentene til mange pasienter på kort tid."},
	FlagReview:              {"Til vurdering", "Tilgangsregelen ba om etterfølgende kontroll."},
}

// flagLabel is a flag's label; an unknown flag shows as itself.
func flagLabel(f Flag) string {
	if t, ok := flagTexts[f]; ok {
		return t.label
	}
	return string(f)
}

// flagText explains a flag ("" for an unknown one).
func flagText(f Flag) string { return flagTexts[f].text }

// viewKind says how the viewer shows a MIME type: "pdf" in the
// browser's PDF viewer, "image" as <img>, "text" as escaped text (XML,
// HTML, SVG and every other text type included), "download" otherwise.
func viewKind(mimeType string) string {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "download"
	}
	switch {
	case mt == "application/pdf":
		return "pdf"
	case mt == "image/png" || mt == "image/jpeg" || mt == "image/gif" || mt == "image/webp":
		return "image"
	case strings.HasPrefix(mt, "text/"), mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "application/hl7-v2":
		return "text"
	}
	return "download"
}

func formatLabel(mimeType string) string {
	mt, _, _ := mime.ParseMediaType(mimeType)
	switch {
	case mt == "application/pdf":
		return "PDF"
	case mt == "text/plain":
		return "Tekst"
	case mt == "text/html":
		return "HTML"
	case mt == "image/svg+xml":
		return "SVG"
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return "XML"
	case strings.HasPrefix(mt, "image/"):
		return "Bilde"
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return "JSON"
	case mt == "application/dicom":
		return "DICOM"
	}
	return "Annet"
}

func docURL(ref, back string) string {
	v := url.Values{"id": {ref}}
	if back != "" {
		v.Set("liste", back)
	}
	return "/ui/document?" + v.Encode()
}

func contentURL(ref string) string { return "/ui/content?" + url.Values{"id": {ref}}.Encode() }

func downloadURL(ref string) string {
	return "/ui/content?" + url.Values{"id": {ref}, "last-ned": {"1"}}.Encode()
}

// userLabel is how the header names the logged-in person.
func userLabel(p *trust.Principal) string {
	var parts []string
	if p.Name != "" {
		parts = append(parts, p.Name)
	}
	switch p.Kind {
	case trust.HealthWorker:
		if r := roleLabel(Code{Code: p.Authorization.Code, Display: p.Authorization.Text}); r != "" {
			parts = append(parts, strings.ToLower(r))
		}
		org := p.PointOfCare.Name
		if org == "" {
			org = p.LegalEntity.Name
		}
		if org != "" {
			parts = append(parts, org)
		}
	case trust.Compliance:
		parts = append(parts, "tilgangskontroll")
	case trust.Citizen:
		if len(parts) == 0 {
			parts = append(parts, "innbygger")
		}
	}
	return strings.Join(parts, ", ")
}

// txLabel names a transaction in plain Norwegian.
func txLabel(tx string) string {
	switch tx {
	case "UI-LIST":
		return "Så dokumentlisten"
	case "UI-VIEW":
		return "Åpnet dokument"
	case "ITI-67", "ITI-18", "ITI-38", "ITI-66":
		return "Søkte etter dokumenter"
	case "ITI-68", "ITI-43", "ITI-39":
		return "Hentet dokument"
	case "AUDIT-SEARCH":
		return "Søkte i tilgangsloggen"
	case "AUDIT-EXPORT":
		return "Eksporterte tilgangsloggen"
	}
	return tx
}

// textField is one text input of a search form.
type textField struct {
	ID, Label, Hint, Value, Error string
	Numeric                       bool
}

func newTextField(id, label, hint, value, err string, numeric bool) textField {
	return textField{ID: id, Label: label, Hint: hint, Value: value, Error: err, Numeric: numeric}
}
