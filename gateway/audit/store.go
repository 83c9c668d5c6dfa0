package audit

import (
	"context"
	"time"
)

// Store keeps the audit log. gateway/audit/sqlaudit implements it for
// PostgreSQL and SQLite; gateway/audit/audittest holds the suite both
// pass.
//
// A Store never updates or deletes a record: the only write is Append.
type Store interface {
	Appender
	Searcher

	// Iterate calls fn for every stored row with seq > after, in
	// ascending seq order, streaming (memory does not grow with the log).
	// It returns fn's first error. Rows are returned as stored, tampered
	// or not: Verify judges them.
	Iterate(ctx context.Context, after int64, fn func(*Sealed) error) error

	// Head returns the last checkpoint Append wrote: the seq and hash of
	// the newest record as of the newest committed batch. The zero Head
	// means nothing has been appended.
	Head(ctx context.Context) (Head, error)
}

// Appender is the write side the Logger needs.
type Appender interface {
	// Append seals recs onto the end of the chain and stores them in one
	// transaction: it locks the chain (across processes), reads the head,
	// calls SealBatch, inserts the rows and a head checkpoint, and
	// commits. On success every record has Seq and Hash set; on error
	// nothing was stored. Store errors wrap ErrUnavailable.
	Append(ctx context.Context, key *Key, recs []*Record) error
}

// Searcher is the read side the review API needs.
type Searcher interface {
	// Search returns one page of records matching f, newest first (or
	// oldest first with f.Ascending).
	Search(ctx context.Context, f Filter) (Page, error)
}

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Filter selects records. Fields combine with AND; a zero field does not
// constrain; a non-nil empty slice matches nothing.
type Filter struct {
	PatientID string // exact
	AgentPID  string // the actor's F-nr/D-nr
	AgentHPR  string // the actor's HPR number
	EntityID  string // a document unique id the record names
	// EventID: the record's correlation id (nhn-event-id), the same on
	// every node one federated access went through.
	EventID string
	// From ≤ time < To; a zero bound is open.
	From, To time.Time
	Outcomes []Outcome // any of
	// PurposeCodes: any of these purpose-of-use codes (TREAT, ETREAT …).
	PurposeCodes []string
	Transactions []string // any of
	FlaggedOnly  bool

	// Cursor continues a search: only records past this seq in the sort
	// direction (0 = from the start). Page.Next gives the value.
	Cursor    int64
	Ascending bool
	// Limit is the page size: 0 means DefaultLimit; capped at MaxLimit.
	Limit int
}

// PageSize returns the effective page size of f.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}

// Page is one page of search results.
type Page struct {
	Records []Record
	// Next is the Cursor for the following page; 0 when this is the last.
	Next int64
}
