package ui

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// The citizen's own blocks on the citizen page: listed, revoked one at a
// time, and (one button) a block of all sharing. Every change goes
// through the Backend, which uses the same Guard functions as the FHIR
// Consent endpoint; the forms are POSTs carrying the session's CSRF
// token, answered with a redirect back to /ui/citizen/ whose melding
// parameter selects one of the fixed notices below (nothing the request
// carries is shown).

// Notices after a block form, by the melding parameter.
var blockNotices = map[string]string{
	"fjernet": "Sperringen er fjernet.",
	"ukjent":  "Sperringen finnes ikke, eller den er allerede fjernet.",
	"sperret": "All deling av dokumentene dine er sperret.",
}

// maxBlockForm bounds the body of a block form (a token and an id).
const maxBlockForm = 4 << 10

// citizenBlocks adds the citizen's blocks to the page data and returns
// the status the blocks part of the page calls for.
func (u *UI) citizenBlocks(r *http.Request, s *reqSession, d *auditData) int {
	d.Notice = blockNotices[r.URL.Query().Get("melding")]
	bs, err := u.backend.CitizenBlocks(r.Context(), s.Principal)
	if err != nil {
		status, t, msg := describeError(err)
		if status >= 500 {
			u.log.ErrorContext(r.Context(), "ui: citizen blocks", "err", err)
		}
		d.BlocksFailed, d.BlocksMessage = true, t+". "+msg
		return status
	}
	d.Blocks = bs
	for _, b := range bs {
		if b.Scope == BlockAll && b.Recipient == "" {
			d.BlockedAll = true
		}
	}
	return http.StatusOK
}

// validCSRF reports whether the POST form r carries the session's token.
func validCSRF(r *http.Request, s *reqSession) bool {
	return r.ParseForm() == nil && s.CSRF != "" &&
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.CSRF)) == 1
}

func (u *UI) refuseForm(w http.ResponseWriter, r *http.Request, s *reqSession) {
	u.renderError(w, r, s, http.StatusForbidden, "Ugyldig forespørsel", "Skjemaet var utløpt. Last siden på nytt og prøv igjen.")
}

// citizenRevoke is POST /ui/citizen/sperringer/fjern: end one block.
func (u *UI) citizenRevoke(w http.ResponseWriter, r *http.Request, s *reqSession) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBlockForm)
	if !validCSRF(r, s) {
		u.refuseForm(w, r, s)
		return
	}
	id := r.PostForm.Get("id")
	if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c == 0x7f }) {
		// No block has such an id: answered as an unknown one.
		http.Redirect(w, r, "/ui/citizen/?melding=ukjent", http.StatusSeeOther)
		return
	}
	err := u.backend.RevokeCitizenBlock(r.Context(), s.Principal, id)
	switch {
	case err == nil:
		http.Redirect(w, r, "/ui/citizen/?melding=fjernet", http.StatusSeeOther)
	case errors.Is(err, ErrNotFound):
		http.Redirect(w, r, "/ui/citizen/?melding=ukjent", http.StatusSeeOther)
	default:
		u.backendError(w, r, s, "revoking a citizen's block", err)
	}
}

// citizenBlockAll is POST /ui/citizen/sperringer: block all sharing.
func (u *UI) citizenBlockAll(w http.ResponseWriter, r *http.Request, s *reqSession) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBlockForm)
	if !validCSRF(r, s) {
		u.refuseForm(w, r, s)
		return
	}
	if err := u.backend.BlockAllSharing(r.Context(), s.Principal); err != nil {
		u.backendError(w, r, s, "blocking all sharing", err)
		return
	}
	http.Redirect(w, r, "/ui/citizen/?melding=sperret", http.StatusSeeOther)
}
