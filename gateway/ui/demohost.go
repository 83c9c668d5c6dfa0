package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The demo host (only with Dev) plays Kjernejournal: pick a persona and a
// patient, and it makes the server-to-server launch call with the
// persona's credential (from DemoLauncher) and embeds the launch URL in an
// iframe, as the real host would.

type demoData struct {
	Personas  []DemoPersona
	Patients  []DemoPatient
	Persona   string
	Patient   string
	LaunchURL string
	Error     string
	Frame     string // iframe title
}

// origin is the scheme://host the demo request came in on, used when
// BaseURL is not configured.
func (u *UI) origin(r *http.Request) string {
	if u.cfg.BaseURL != "" {
		return u.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// demoLaunchCall makes the host's launch call in-process: a real request
// to the launch handler, authorised by DemoLauncher.
func (u *UI) demoLaunchCall(r *http.Request, persona, patient string) (int, []byte, http.Header) {
	form := url.Values{}
	if patient != "" {
		form.Set("patient", patient)
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.origin(r)+"/ui/launch", strings.NewReader(form.Encode()))
	if err != nil {
		return http.StatusInternalServerError, nil, nil
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = r.RemoteAddr
	if err := u.cfg.DemoLauncher(r.Context(), req, persona, patient); err != nil {
		u.log.WarnContext(r.Context(), "ui: demo launcher", "err", err)
		b, _ := json.Marshal(oauthError{Error: "invalid_request", Description: "the demo persona could not be authorised"})
		return http.StatusBadRequest, b, nil
	}
	rec := &answer{header: http.Header{}, code: http.StatusOK}
	u.api(u.launchPost).ServeHTTP(rec, req)
	return rec.code, rec.body.Bytes(), rec.header
}

// answer keeps an in-process handler's response (the binary links no
// net/http/httptest).
type answer struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }

func (a *answer) WriteHeader(code int) {
	if !a.wrote {
		a.code, a.wrote = code, true
	}
}

func (a *answer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

func (u *UI) demoPersona(id string) (DemoPersona, bool) {
	i := slices.IndexFunc(u.cfg.DemoPersonas, func(p DemoPersona) bool { return p.ID == id })
	if i < 0 {
		return DemoPersona{}, false
	}
	return u.cfg.DemoPersonas[i], true
}

// demoHost is GET /ui/demo-host[?persona=…&patient=…].
func (u *UI) demoHost(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := demoData{Personas: u.cfg.DemoPersonas, Patients: u.cfg.DemoPatients, Persona: q.Get("persona"), Patient: q.Get("patient")}
	if d.Persona == "" && len(d.Personas) > 0 {
		d.Persona = d.Personas[0].ID
	}
	if d.Patient == "" && len(d.Patients) > 0 {
		d.Patient = d.Patients[0].ID
	}
	if q.Get("persona") != "" {
		p, ok := u.demoPersona(d.Persona)
		switch {
		case !ok:
			d.Error = "Ukjent persona."
		default:
			patient := d.Patient
			if p.Kind == "compliance" {
				patient = ""
			}
			status, body, _ := u.demoLaunchCall(r, p.ID, patient)
			var lr LaunchResponse
			if status != http.StatusOK || json.Unmarshal(body, &lr) != nil {
				var oe oauthError
				_ = json.Unmarshal(body, &oe)
				d.Error = "Oppstarten ble avvist (" + http.StatusText(status) + "): " + oe.Description
			} else {
				d.LaunchURL = lr.LaunchURL
				d.Frame = "Pasientens journaldokumenter – " + p.Label
			}
		}
	}
	var buf bytes.Buffer
	if err := u.pages["demohost.html"].ExecuteTemplate(&buf, "demohost", d); err != nil {
		u.log.ErrorContext(r.Context(), "ui: rendering demo host", "err", err)
		http.Error(w, "Noe gikk galt.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// demoLaunch is POST /ui/demo-host/launch (persona, patient): the launch
// call on behalf of a demo persona, answered as POST /ui/launch answers.
// Browser tests use it to get a launch URL without a HelseID client.
func (u *UI) demoLaunch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLaunchBody)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "the form body could not be read"})
		return
	}
	p, ok := u.demoPersona(r.PostForm.Get("persona"))
	if !ok {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "unknown persona"})
		return
	}
	status, body, hdr := u.demoLaunchCall(r, p.ID, r.PostForm.Get("patient"))
	if v := hdr.Get("WWW-Authenticate"); v != "" {
		w.Header().Set("WWW-Authenticate", v)
	}
	w.Header().Set("Content-Type", "application/json")
	setRetryAfter(w, status)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
