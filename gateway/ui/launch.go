package ui

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"pjd/registry/oid"
	"pjd/trust"
)

// maxLaunchBody bounds the POST /ui/launch body.
const maxLaunchBody = 4 << 10

// LaunchResponse is the JSON answer to POST /ui/launch.
type LaunchResponse struct {
	LaunchURL string `json:"launch_url"`
	ExpiresIn int    `json:"expires_in"` // seconds
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	setRetryAfter(w, status)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// launchPost is POST /ui/launch: the host, server to server, with its
// HelseID DPoP token (and attestation) and the patient, asks for a
// single-use launch URL bound to both.
func (u *UI) launchPost(w http.ResponseWriter, r *http.Request) {
	p, err := u.backend.AuthenticateLaunch(r)
	if err != nil {
		u.launchAuthError(w, r, err)
		return
	}
	if p == nil {
		u.log.ErrorContext(r.Context(), "ui: AuthenticateLaunch returned no principal and no error")
		writeJSON(w, http.StatusInternalServerError, oauthError{Error: "server_error"})
		return
	}
	patient, err := readLaunchPatient(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: err.Error()})
		return
	}
	switch p.Kind {
	case trust.HealthWorker:
		if patient == "" {
			writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "patient is required"})
			return
		}
	case trust.Citizen:
		if patient != "" && patient != p.Subject {
			writeJSON(w, http.StatusForbidden, oauthError{Error: "access_denied", Description: "a citizen may open only their own access log"})
			return
		}
		patient = p.Subject
	case trust.Compliance:
		if patient != "" {
			writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "compliance launches take no patient"})
			return
		}
	default:
		writeJSON(w, http.StatusForbidden, oauthError{Error: "access_denied", Description: "this kind of client cannot open the UI"})
		return
	}
	token, err := newSecret()
	if err != nil {
		u.log.ErrorContext(r.Context(), "ui: launch token", "err", err)
		writeJSON(w, http.StatusInternalServerError, oauthError{Error: "server_error"})
		return
	}
	now := u.now()
	g := &LaunchGrant{Principal: p, Patient: patient, Issued: now, Expires: now.Add(u.cfg.LaunchTTL)}
	if err := u.store.PutLaunch(r.Context(), storeKey(token), g, u.cfg.LaunchTTL); err != nil {
		u.log.ErrorContext(r.Context(), "ui: storing launch grant", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, oauthError{Error: "temporarily_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, LaunchResponse{
		LaunchURL: u.cfg.BaseURL + "/ui/launch/" + token,
		ExpiresIn: int(u.cfg.LaunchTTL.Seconds()),
	})
}

func (u *UI) launchAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *AuthError
	resp := oauthError{Error: "invalid_token", Description: "the access token or its DPoP proof was not accepted"}
	status := http.StatusUnauthorized
	switch {
	case errors.As(err, &ae):
		if ae.Status >= 400 && ae.Status < 600 {
			status = ae.Status
		}
		if ae.Code != "" {
			resp.Error = ae.Code
		}
		resp.Description = ae.Description
		if ae.WWWAuthenticate != "" {
			w.Header().Set("WWW-Authenticate", ae.WWWAuthenticate)
		}
	case errors.Is(err, ErrUnavailable):
		status, resp = http.StatusServiceUnavailable, oauthError{Error: "temporarily_unavailable"}
	case errors.Is(err, ErrForbidden):
		status, resp = http.StatusForbidden, oauthError{Error: "insufficient_scope", Description: "the credential does not allow opening the UI"}
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `DPoP error="`+resp.Error+`"`)
	}
	if status >= 500 {
		u.log.ErrorContext(r.Context(), "ui: launch authentication", "err", err)
	} else {
		u.log.InfoContext(r.Context(), "ui: launch refused", "err", err)
	}
	writeJSON(w, status, resp)
}

// launchPatientError is a bad launch body; its text goes to the host.
type launchPatientError string

func (e launchPatientError) Error() string { return string(e) }

// readLaunchPatient reads the patient (an 11-digit national identity
// number, bare or as "urn:oid:…|value") from a form or JSON body.
func readLaunchPatient(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLaunchBody)
	var patient string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body struct {
			Patient string `json:"patient"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return "", launchPatientError("the body is not a JSON object {\"patient\": \"…\"}")
		}
		patient = body.Patient
	case "application/x-www-form-urlencoded", "":
		if err := r.ParseForm(); err != nil {
			return "", launchPatientError("the form body could not be read")
		}
		if len(r.PostForm["patient"]) > 1 {
			return "", launchPatientError("patient is given more than once")
		}
		patient = r.PostForm.Get("patient")
	default:
		return "", launchPatientError("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	patient = strings.TrimSpace(patient)
	if patient == "" {
		return "", nil
	}
	if sys, id, ok := strings.Cut(patient, "|"); ok {
		switch strings.TrimPrefix(sys, "urn:oid:") {
		case oid.FNR, oid.DNR, oid.HNR:
		default:
			return "", launchPatientError("patient system must be the F-nr, D-nr or H-nr OID")
		}
		patient = id
	}
	if !trust.ValidNIN(patient) {
		return "", launchPatientError("patient must be an 11-digit national identity number with valid check digits")
	}
	return patient, nil
}

// launchGet is GET /ui/launch/{token}: the browser (in the host's
// iframe) uses the launch URL once; it becomes a session.
func (u *UI) launchGet(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	refused := func() {
		u.render(w, r, nil, http.StatusNotFound, "launch-refused.html", "Lenken er ikke gyldig", nil)
	}
	if !validSecret(token) {
		refused()
		return
	}
	g, err := u.store.TakeLaunch(r.Context(), storeKey(token))
	if errors.Is(err, ErrLaunchNotFound) {
		refused()
		return
	}
	if err != nil {
		u.log.ErrorContext(r.Context(), "ui: taking launch grant", "err", err)
		u.renderError(w, r, nil, http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig", "Prøv igjen om litt.")
		return
	}
	now := u.now()
	if !now.Before(g.Expires) || g.Principal == nil {
		refused()
		return
	}
	id, err := newSecret()
	if err == nil {
		var csrf string
		if csrf, err = newSecret(); err == nil {
			s := &Session{Principal: g.Principal, Patient: g.Patient, CSRF: csrf, Created: now, LastSeen: now, Expires: now.Add(u.cfg.SessionTTL)}
			err = u.store.CreateSession(r.Context(), storeKey(id), s, u.sessionTTL(s, now))
		}
	}
	if err != nil {
		u.log.ErrorContext(r.Context(), "ui: creating session", "err", err)
		u.renderError(w, r, nil, http.StatusServiceUnavailable, "Tjenesten er midlertidig utilgjengelig", "Prøv igjen om litt.")
		return
	}
	u.setCookie(w, id, int(u.cfg.SessionTTL.Seconds()))
	// A page that moves on by itself rather than a redirect: the next
	// request is then initiated by pjd's own page (same-origin), so a
	// SameSite=Strict cookie is sent even when the launch came from
	// another site, and session pages can refuse cross-site requests.
	start := "/ui/"
	switch g.Principal.Kind {
	case trust.Compliance:
		start = "/ui/audit/"
	case trust.Citizen:
		start = "/ui/citizen/"
	}
	u.render(w, r, nil, http.StatusOK, "launched.html", "Åpner …", launchedData{Next: start})
}

type launchedData struct{ Next string }
