package registry

import (
	"context"
	"time"
)

// Store keeps registry objects. registry/postgres and registry/sqlite
// implement it; registry/registrytest holds the suite both must pass.
//
// Reads return objects in registration order (oldest first). A filter field
// left at its zero value does not constrain the result; a non-nil but empty
// slice matches nothing.
type Store interface {
	Reader

	// Update runs fn in one transaction, isolated from concurrent ones as
	// if they ran one after the other, and commits when fn returns nil;
	// any error rolls everything back, so a submission is stored whole or
	// not at all. When the database reports a serialization conflict, a
	// deadlock or a unique-key race, Update rolls back and
	// runs fn again (fn must therefore be a pure function of what it reads
	// through tx) up to a bounded number of times, then returns
	// ErrConflict. Errors returned by fn are returned unchanged.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Ping checks that the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Reader is the read side shared by Store and Tx.
type Reader interface {
	Documents(ctx context.Context, f DocumentFilter) ([]*DocumentEntry, error)
	SubmissionSets(ctx context.Context, f SubmissionSetFilter) ([]*SubmissionSet, error)
	Folders(ctx context.Context, f FolderFilter) ([]*Folder, error)
	Associations(ctx context.Context, f AssociationFilter) ([]*Association, error)
	// PatientLinks returns patient identity links (links.go), oldest
	// first.
	PatientLinks(ctx context.Context, f PatientLinkFilter) ([]*PatientLink, error)
}

// Tx is the view of an open Update transaction. Objects passed to the
// Insert methods are complete (UUID ids, registry-assigned status, version
// and lid); the store saves them as given.
type Tx interface {
	Reader
	// InsertDocument stores d as the newest version of its logicalID:
	// every older version of that lid stops being the latest
	// (DocumentFilter.LatestOnly). A second object with the same
	// (LogicalID, Version) is refused as a conflict (the unique key that
	// makes two concurrent updates of one logical document produce one
	// version). An empty Version is version 1.
	InsertDocument(ctx context.Context, d *DocumentEntry) error
	InsertSubmissionSet(ctx context.Context, s *SubmissionSet) error
	// InsertFolder stores f as the newest version of its logicalID, as
	// InsertDocument does.
	InsertFolder(ctx context.Context, f *Folder) error
	InsertAssociation(ctx context.Context, a *Association) error
	// SetDocumentStatus changes a DocumentEntry's availabilityStatus;
	// ErrNotFound when no DocumentEntry has that id.
	SetDocumentStatus(ctx context.Context, id, status string) error
	// SetFolderStatus changes a Folder's availabilityStatus; ErrNotFound
	// when no Folder has that id.
	SetFolderStatus(ctx context.Context, id, status string) error
	// SetAssociationStatus changes an Association's status; ErrNotFound
	// when no Association has that id.
	SetAssociationStatus(ctx context.Context, id, status string) error
	// SetFolderLastUpdateTime sets a Folder's lastUpdateTime (DTM);
	// ErrNotFound when no Folder has that id.
	SetFolderLastUpdateTime(ctx context.Context, id, dtm string) error
	// DeleteObjects physically deletes the DocumentEntries,
	// SubmissionSets, Folders and Associations with these ids (ids of no
	// object are ignored: the registry checked them). When the latest
	// version of a logical document or folder is deleted, the newest one
	// left becomes the latest.
	DeleteObjects(ctx context.Context, ids []string) error
	// InsertPatientLink records an active link. A second active link from
	// the same patient id is refused as a conflict.
	InsertPatientLink(ctx context.Context, l *PatientLink) error
	// EndPatientLink ends the active link from the patient id from,
	// recording when, by whom and why; ErrNotFound when there is none.
	EndPatientLink(ctx context.Context, from string, at time.Time, by, reason string) error
}

// CodeSet is an OR-list of codes: an object matches when it carries any of
// them. A Code with an empty Scheme matches that code in any scheme.
type CodeSet []Code

// TimeRange selects DTM values From ≤ t < To. Bounds are DTM strings of any
// precision (YYYY … YYYYMMDDhhmmss); an empty bound is open. Stores compare
// on the value normalised to 14 digits (missing digits are zero), and an
// object without the attribute never matches a range with a bound.
type TimeRange struct {
	From string
	To   string
}

// IsZero reports whether the range has no bound.
func (r TimeRange) IsZero() bool { return r.From == "" && r.To == "" }

// DocumentFilter selects DocumentEntries. Fields combine with AND.
type DocumentFilter struct {
	PatientID string // exact CX
	// PatientIDs: the entry's patientId is one of these (exact CX; the
	// ids of one person linked by patient links, or ITI-51's list).
	PatientIDs  []string
	IDs         []string // entryUUIDs
	UniqueIDs   []string
	LogicalIDs  []string
	Statuses    []string
	ObjectTypes []string

	Classes          CodeSet
	Types            CodeSet
	PracticeSettings CodeSet
	FacilityTypes    CodeSet
	Formats          CodeSet
	// Events and Confidentiality are AND-of-OR: the entry must match
	// every CodeSet of the list.
	Events          []CodeSet
	Confidentiality []CodeSet

	CreationTime     TimeRange
	ServiceStartTime TimeRange
	ServiceStopTime  TimeRange

	// AuthorPersons are SQL LIKE patterns (% and _, no escape character)
	// matched against any author's authorPerson; OR-combined.
	AuthorPersons []string
	// ReferenceIDs: the entry must carry one of these referenceIdList
	// values (exact match on the CXi string).
	ReferenceIDs []string

	// LatestOnly: only the newest version of each logical document
	// ($MetadataLevel 1 and every default view).
	LatestOnly bool
	// OnlineOnly: no entry whose documentAvailability is Offline
	// ($MetadataLevel 1).
	OnlineOnly bool

	// Limit caps the number of entries returned; 0 means no cap.
	Limit int
}

// SubmissionSetFilter selects SubmissionSets.
type SubmissionSetFilter struct {
	PatientID      string
	PatientIDs     []string // as in DocumentFilter
	IDs            []string
	UniqueIDs      []string
	Statuses       []string
	SourceIDs      []string
	SubmissionTime TimeRange
	// AuthorPersons: LIKE patterns as in DocumentFilter.
	AuthorPersons []string
	ContentTypes  CodeSet
	Limit         int
}

// FolderFilter selects Folders.
type FolderFilter struct {
	PatientID      string
	PatientIDs     []string // as in DocumentFilter
	IDs            []string
	UniqueIDs      []string
	LogicalIDs     []string
	Statuses       []string
	LastUpdateTime TimeRange
	// Codes is AND-of-OR over the folder's codeList.
	Codes []CodeSet
	// LatestOnly: only the newest version of each logical folder.
	LatestOnly bool
	Limit      int
}

// AssociationFilter selects Associations.
type AssociationFilter struct {
	IDs []string
	// SourceOrTarget: associations whose source or target is one of these.
	SourceOrTarget []string
	Sources        []string
	Targets        []string
	Types          []string
	Statuses       []string
	Limit          int
}

// PatientLinkFilter selects patient identity links.
type PatientLinkFilter struct {
	// Patients: links whose From or To is one of these (exact CX).
	Patients []string
	// From: links whose From is one of these.
	From []string
	// Active: only links not ended (UnlinkedAt zero).
	Active bool
	Limit  int
}
