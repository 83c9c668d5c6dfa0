package registry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultMaxResults is the XDSTooManyResults limit when Config.MaxResults
// is 0. It is also the largest limit New accepts: the stored queries look
// up the objects related to a result by id, and a bound of 10000 ids keeps
// every such lookup within the bound-parameter limits of both databases
// (SQLite 32766, PostgreSQL 65535) and a response's memory bounded.
const DefaultMaxResults = 10000

// Config configures a Registry. Only Store is required.
type Config struct {
	Store           Store
	ValueSets       *ValueSets       // nil: the embedded Norwegian profile (DefaultValueSets)
	Patients        PatientIDChecker // nil: NorwegianPatientIDs{}
	MaxResults      int              // XDSTooManyResults above this many objects; 0 → 10000 (also the maximum)
	HomeCommunityID string           // "urn:oid:…", set as home on LeafClass results when non-empty
	Now             func() time.Time // nil → time.Now
	NewUUID         func() string    // nil → "urn:uuid:" + random UUID v4
}

// Registry is the XDS document registry: it validates and stores ITI-42
// submissions and answers ITI-18 stored queries over a Store. It is safe
// for concurrent use.
type Registry struct {
	store      Store
	valueSets  *ValueSets
	patients   PatientIDChecker
	maxResults int
	home       string
	now        func() time.Time
	newUUID    func() string
}

// New returns a Registry for cfg.
func New(cfg Config) (*Registry, error) {
	if cfg.Store == nil {
		return nil, errors.New("registry: Config.Store is required")
	}
	if cfg.MaxResults < 0 || cfg.MaxResults > DefaultMaxResults {
		return nil, fmt.Errorf("registry: Config.MaxResults %d is outside 0…%d", cfg.MaxResults, DefaultMaxResults)
	}
	if cfg.HomeCommunityID != "" {
		oid, ok := strings.CutPrefix(cfg.HomeCommunityID, "urn:oid:")
		if !ok || !ValidOID(oid) {
			return nil, fmt.Errorf("registry: Config.HomeCommunityID %q is not urn:oid: followed by an OID", cfg.HomeCommunityID)
		}
	}
	r := &Registry{
		store:      cfg.Store,
		valueSets:  cfg.ValueSets,
		patients:   cfg.Patients,
		maxResults: cfg.MaxResults,
		home:       cfg.HomeCommunityID,
		now:        cfg.Now,
		newUUID:    cfg.NewUUID,
	}
	if r.valueSets == nil {
		r.valueSets = DefaultValueSets()
	}
	if r.patients == nil {
		r.patients = NorwegianPatientIDs{}
	}
	if r.maxResults == 0 {
		r.maxResults = DefaultMaxResults
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.newUUID == nil {
		r.newUUID = func() string { return "urn:uuid:" + uuid.NewString() }
	}
	return r, nil
}

// Reader gives read access to the registry's objects for the gateway
// (MHD search, repository lookups). It applies no XDS query semantics and
// no access policy: the caller does.
func (r *Registry) Reader() Reader { return r.store }

// ValueSets returns the value sets the registry checks codes against (for
// display names in UIs).
func (r *Registry) ValueSets() *ValueSets { return r.valueSets }
