package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Patient identity links: a person registered under one identifier (a
// D-nummer, or a number later merged into another) gets another (a
// fødselsnummer). The link "From is replaced by To" is kept in its own
// table and resolved when the registry reads; stored patientIds are never
// rewritten. That keeps history honest (what a source registered is what
// it registered, byte for byte, and the audit trail names what was
// there), makes unlink a matter of ending the link, and keeps the
// ITI-57 rule "patientId may not change" meaningful: it is compared
// through the links.
//
// Resolution: the links that are active form a forest (each identifier
// has at most one active outgoing link, and a link that would close a
// cycle is refused). The current identifier of a person is the root of
// its tree; every identifier in the tree finds the same documents, and
// results present them with the current identifier.

// PatientLink is one identity link: From (the replaced identifier) is
// replaced by To. Both are CX patient ids in canonical form
// ("<id>^^^&<OID>&ISO").
type PatientLink struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	LinkedAt time.Time `json:"linkedAt"`
	LinkedBy string    `json:"linkedBy"`
	Reason   string    `json:"reason,omitempty"`
	// UnlinkedAt is zero while the link is active.
	UnlinkedAt   time.Time `json:"unlinkedAt,omitzero"`
	UnlinkedBy   string    `json:"unlinkedBy,omitempty"`
	UnlinkReason string    `json:"unlinkReason,omitempty"`
}

// Active reports whether the link has not been ended.
func (l *PatientLink) Active() bool { return l.UnlinkedAt.IsZero() }

// Errors of LinkPatient and UnlinkPatient.
var (
	// ErrInvalidPatientID: an identifier is not a well-formed patient CX,
	// is not one the registry accepts (PatientIDChecker), or From and To
	// are the same.
	ErrInvalidPatientID = errors.New("registry: invalid patient id for a link")
	// ErrAlreadyLinked: From already has an active link (unlink first).
	ErrAlreadyLinked = errors.New("registry: patient id is already linked")
	// ErrLinkCycle: the link would make an identifier replace itself.
	ErrLinkCycle = errors.New("registry: patient link would form a cycle")
)

// maxLinkSteps bounds link resolution (a person with more identifiers
// than this is a data error, reported rather than followed).
const maxLinkSteps = 64

// PatientIdentity is what ResolvePatient found for an identifier.
type PatientIdentity struct {
	// Current is the identifier the person is known by now: the one
	// asked about when it is not linked, otherwise the end of its chain
	// of active links.
	Current string
	// All are every identifier of the person (active links only),
	// Current included, sorted.
	All []string
}

// CanonicalPatientID returns the canonical CX of a patient id
// ("<id>^^^&<OID>&ISO"), or an error wrapping ErrInvalidPatientID.
func CanonicalPatientID(cx string) (string, error) {
	if err := CheckPatientIDFormat(cx); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidPatientID, err)
	}
	c, _ := ParseCX(cx)
	return NewPatientCX(c.ID, c.AssigningAuthority.UniversalID).String(), nil
}

// ResolvePatient returns the identity of a patient id through the active
// links: the current identifier and every identifier of the same person.
// The gateway uses it to let a policy bound to one of them (an
// attestation naming the D-nummer) accept any. pid must be a patient CX
// (ErrInvalidPatientID otherwise).
func (r *Registry) ResolvePatient(ctx context.Context, pid string) (*PatientIdentity, error) {
	c, err := CanonicalPatientID(pid)
	if err != nil {
		return nil, err
	}
	comp, err := linkComponent(ctx, r.store, []string{c})
	if err != nil {
		return nil, fmt.Errorf("registry: resolving patient: %w", err)
	}
	return comp.identity(c), nil
}

// PatientLinks returns every link (active and ended) that names pid as
// From or To, oldest first: the history of a person's identifiers for
// `pjd patients` and the audit view.
func (r *Registry) PatientLinks(ctx context.Context, pid string) ([]*PatientLink, error) {
	c, err := CanonicalPatientID(pid)
	if err != nil {
		return nil, err
	}
	links, err := r.store.PatientLinks(ctx, PatientLinkFilter{Patients: []string{c}})
	if err != nil {
		return nil, fmt.Errorf("registry: reading patient links: %w", err)
	}
	return links, nil
}

// LinkPatient records that from is replaced by to (a D-nummer by a
// fødselsnummer, or a merge): from then finds the same documents as to,
// and ITI-42/ITI-57 under from are refused naming to. by names who made
// the change (a principal, the CLI user), reason why; both are kept.
//
// Refused: ids that are not patient CXs the registry accepts, from == to
// (ErrInvalidPatientID); from already replaced by another id
// (ErrAlreadyLinked); a link that closes a cycle (ErrLinkCycle). The
// check and the insert run in one Store.Update, so two concurrent links
// cannot form a cycle.
func (r *Registry) LinkPatient(ctx context.Context, from, to, by, reason string) (*PatientLink, error) {
	f, err := r.linkablePatient(ctx, from)
	if err != nil {
		return nil, err
	}
	t, err := r.linkablePatient(ctx, to)
	if err != nil {
		return nil, err
	}
	if f == t {
		return nil, fmt.Errorf("%w: %s cannot replace itself", ErrInvalidPatientID, f)
	}
	if strings.TrimSpace(by) == "" {
		return nil, fmt.Errorf("%w: a link must say who made it", ErrInvalidPatientID)
	}
	l := &PatientLink{From: f, To: t, LinkedAt: r.now().UTC(), LinkedBy: by, Reason: reason}
	err = r.store.Update(ctx, func(tx Tx) error {
		out, err := tx.PatientLinks(ctx, PatientLinkFilter{From: []string{f}, Active: true})
		if err != nil {
			return err
		}
		if len(out) > 0 {
			return fmt.Errorf("%w: %s is replaced by %s", ErrAlreadyLinked, f, out[0].To)
		}
		// Following to's chain must not reach from.
		cur := t
		for i := 0; ; i++ {
			if cur == f {
				return fmt.Errorf("%w: %s is already (through links) replaced by %s", ErrLinkCycle, t, f)
			}
			if i == maxLinkSteps {
				return fmt.Errorf("registry: patient link chain from %s is longer than %d", t, maxLinkSteps)
			}
			next, err := tx.PatientLinks(ctx, PatientLinkFilter{From: []string{cur}, Active: true})
			if err != nil {
				return err
			}
			if len(next) == 0 {
				break
			}
			cur = next[0].To
		}
		return tx.InsertPatientLink(ctx, l)
	})
	if err != nil {
		return nil, r.linkError("linking patients", err)
	}
	return l, nil
}

// UnlinkPatient ends the active link from the patient id from: from is
// its own person again (its documents are found under it alone, and it
// may register again). ErrNotFound when from has no active link.
func (r *Registry) UnlinkPatient(ctx context.Context, from, by, reason string) (*PatientLink, error) {
	f, err := CanonicalPatientID(from)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(by) == "" {
		return nil, fmt.Errorf("%w: an unlink must say who made it", ErrInvalidPatientID)
	}
	at := r.now().UTC()
	var ended *PatientLink
	err = r.store.Update(ctx, func(tx Tx) error {
		out, err := tx.PatientLinks(ctx, PatientLinkFilter{From: []string{f}, Active: true})
		if err != nil {
			return err
		}
		if len(out) == 0 {
			return fmt.Errorf("registry: %s has no active link: %w", f, ErrNotFound)
		}
		if err := tx.EndPatientLink(ctx, f, at, by, reason); err != nil {
			return err
		}
		l := *out[0]
		l.UnlinkedAt, l.UnlinkedBy, l.UnlinkReason = at, by, reason
		ended = &l
		return nil
	})
	if err != nil {
		return nil, r.linkError("unlinking patient", err)
	}
	return ended, nil
}

func (r *Registry) linkError(op string, err error) error {
	switch {
	case errors.Is(err, ErrAlreadyLinked), errors.Is(err, ErrLinkCycle), errors.Is(err, ErrInvalidPatientID),
		errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("registry: %s: %w", op, err)
}

// linkablePatient canonicalises pid and checks it with the registry's
// PatientIDChecker.
func (r *Registry) linkablePatient(ctx context.Context, pid string) (string, error) {
	c, err := CanonicalPatientID(pid)
	if err != nil {
		return "", err
	}
	if err := r.patients.CheckPatientID(ctx, c); err != nil {
		if errors.Is(err, ErrUnknownPatientID) {
			return "", fmt.Errorf("%w: %v", ErrInvalidPatientID, err)
		}
		return "", fmt.Errorf("registry: checking patient id: %w", err)
	}
	return c, nil
}

// component is a set of identifiers connected by active links, with the
// links among them.
type component struct {
	next map[string]string   // from → to
	ids  map[string]bool     // every identifier seen
	prev map[string][]string // to → froms
}

// linkComponent reads the active links reachable from pids (in either
// direction) until no new identifier appears. With no links at all this
// is one indexed read.
func linkComponent(ctx context.Context, rd Reader, pids []string) (*component, error) {
	c := &component{next: map[string]string{}, ids: map[string]bool{}, prev: map[string][]string{}}
	frontier := []string{}
	for _, p := range pids {
		if p != "" && !c.ids[p] {
			c.ids[p] = true
			frontier = append(frontier, p)
		}
	}
	for step := 0; len(frontier) > 0; step++ {
		if step == maxLinkSteps {
			return nil, fmt.Errorf("registry: patient links of %v go deeper than %d steps", pids, maxLinkSteps)
		}
		links, err := rd.PatientLinks(ctx, PatientLinkFilter{Patients: frontier, Active: true})
		if err != nil {
			return nil, err
		}
		frontier = frontier[:0:0]
		for _, l := range links {
			if _, seen := c.next[l.From]; !seen {
				c.next[l.From] = l.To
				c.prev[l.To] = append(c.prev[l.To], l.From)
			}
			for _, p := range []string{l.From, l.To} {
				if !c.ids[p] {
					c.ids[p] = true
					frontier = append(frontier, p)
				}
			}
		}
	}
	return c, nil
}

// current returns the identifier pid is known by now (the root of its
// chain).
func (c *component) current(pid string) string {
	cur := pid
	for i := 0; i < maxLinkSteps; i++ {
		n, ok := c.next[cur]
		if !ok {
			return cur
		}
		cur = n
	}
	return cur
}

// all returns every identifier whose current identifier is root, sorted.
func (c *component) all(root string) []string {
	out := []string{root}
	seen := map[string]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, p := range c.prev[out[i]] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *component) identity(pid string) *PatientIdentity {
	cur := c.current(pid)
	return &PatientIdentity{Current: cur, All: c.all(cur)}
}

// persons resolves patient ids, in whatever spelling a source sent them,
// to their person's current identifier, through the active links read
// once (loadPersons).
type persons struct {
	comp *component
}

// loadPersons reads the links of pids.
func loadPersons(ctx context.Context, rd Reader, pids []string) (*persons, error) {
	var canon []string
	for _, pid := range pids {
		if c, err := CanonicalPatientID(pid); err == nil {
			canon = append(canon, c)
		}
	}
	comp, err := linkComponent(ctx, rd, canon)
	if err != nil {
		return nil, err
	}
	return &persons{comp: comp}, nil
}

// current returns the current identifier of pid's person ("" for an id
// that is not a patient CX: such ids were refused already).
func (ps *persons) current(pid string) string {
	c, err := CanonicalPatientID(pid)
	if err != nil {
		return pid
	}
	if ps == nil {
		return c
	}
	return ps.comp.current(c)
}

// same reports whether a and b identify the same person.
func (ps *persons) same(a, b string) bool { return a == b || ps.current(a) == ps.current(b) }

// replacedBy returns the identifier that replaces pid now, or "".
func (ps *persons) replacedBy(pid string) string {
	if cur := ps.current(pid); cur != "" {
		if c, err := CanonicalPatientID(pid); err == nil && c != cur {
			return cur
		}
	}
	return ""
}

// replacedError is the error for a submission (ITI-42, ITI-57) under a
// patient id that a link has replaced. XDSUnknownPatientId is the TF's
// code for an id "unknown because of patient identifier merge" (ITI TF-3
// Table 4.2.4.1-2 as IPF quotes it); XDSPatientIdDoesNotMatch is about
// two ids in one message disagreeing, which is not the case.
func replacedError(what, pid, by string) Error {
	return Errorf(ErrCodeUnknownPatientID, "%s: patientId %s has been replaced by %s (patient identity link); submit under %s",
		what, pid, by, by)
}
