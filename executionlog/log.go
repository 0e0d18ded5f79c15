package executionlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/tenantname"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Status is the state of an Entry.
type Status string

// The states of an Entry. An entry starts pending and ends succeeded or
// failed; it leaves a final state only when Redeliver puts it back in the
// queue.
const (
	StatusPending   Status = "pending"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Valid reports whether s is one of the defined states.
func (s Status) Valid() bool {
	return s == StatusPending || s == StatusSucceeded || s == StatusFailed
}

// Entry is one firing of a webhook action: the request it sends, every
// attempt made so far, and its delivery state. The entry's ID is also the
// delivery id that receivers see in the webhook-id header, the same on every
// attempt.
type Entry struct {
	// ID identifies the entry and the delivery. IDs sort in creation order.
	ID string
	// Tenant is the account the entry belongs to: the tenant of the
	// trigger that fired, or "" in a single-tenant log (see ValidateTenant).
	// Every scoped operation (Get, Redeliver, Query, Delete) sees only the
	// entries of its tenant.
	Tenant string
	// TriggerID and TriggerName identify the trigger that fired.
	TriggerID   string
	TriggerName string
	// ActionIndex is the position of the webhook action in the trigger's
	// action list. The engine reads the action's current headers from the
	// trigger at each attempt, so secrets are never stored in the log.
	ActionIndex int
	// TicketID is the ticket number (the packet's Id).
	TicketID int
	// Event is "created" or "updated", or "test" for a test send.
	Event string
	// URL is where the packet is POSTed.
	URL string
	// RequestHeaders are the headers sent with the request, with secret
	// values (Authorization, Cookie, API keys, headers marked secret)
	// replaced by "[REDACTED]".
	RequestHeaders map[string]string
	// RequestBody is the JSON data packet.
	RequestBody []byte
	// Status is the delivery state.
	Status Status
	// Attempts lists every attempt, oldest first.
	Attempts []Attempt
	// SeriesStart is the number of attempts made before the current series:
	// 0 until the entry is redelivered, then len(Attempts) at the
	// redelivery. The retry policy counts attempts from it.
	SeriesStart int
	// Test marks an entry recorded by a test send rather than a trigger.
	Test bool
	// NextAttemptAt is when a pending entry is next due. It is zero for
	// entries in a final state.
	NextAttemptAt time.Time
	// LeaseOwner and LeaseUntil say which engine holds a pending entry and
	// until when. An entry whose lease has expired may be claimed by another
	// engine.
	LeaseOwner string
	LeaseUntil time.Time
	// Note says why a pending entry waits beyond its retry schedule, such
	// as a paused destination. Each Update replaces it; Add ignores it and
	// Redeliver clears it.
	Note string
	// CreatedAt is when the trigger fired; UpdatedAt when the entry last
	// changed.
	CreatedAt time.Time
	UpdatedAt time.Time
	// ChangeKey is the host's idempotency key for the ticket change that
	// recorded the entry, such as the id of the change or event in the
	// host's own database; empty when the host gave none. It holds at most
	// MaxChangeKeyBytes bytes of valid UTF-8 without NUL (see
	// ValidateChangeKey). A log stores at most one entry per Tenant and
	// non-empty ChangeKey, TriggerID and ActionIndex, so that a change reported
	// again with its key records nothing new (see Log.Add).
	ChangeKey string
	// DuplicateOf is set by Add, and only by Add, on an entry it did not
	// store because the log already held an entry with the same Tenant and
	// non-empty ChangeKey, TriggerID and ActionIndex: it is the ID of that stored
	// entry, the webhook-id its receiver sees. Add clears it on the entries
	// it stores, and entries read from a log never have it.
	DuplicateOf string
}

// MaxChangeKeyBytes is the longest Entry.ChangeKey, in bytes.
const MaxChangeKeyBytes = 200

// Attempt is one try at delivering an entry.
type Attempt struct {
	// Number is the attempt's place among the entry's attempts, from 1, in
	// the order the log recorded them. The log assigns it when Add, Update
	// or AttemptRecorder.RecordAttempt stores the attempt, whatever the
	// caller set, so that attempts recorded by different engines never
	// share a number. An attempt recorded late (see AttemptRecorder) may
	// have started before the attempts recorded ahead of it.
	Number int
	// StartedAt is when the request was sent; Duration how long the attempt
	// took until the response body was read or the error occurred.
	StartedAt time.Time
	Duration  time.Duration
	// StatusCode is the HTTP status of the response, or 0 when no response
	// arrived.
	StatusCode int
	// Error describes why the attempt failed: a transport error, or the
	// status the receiver answered with. It is empty for a successful
	// attempt.
	Error string
	// ResponseBody is the start of the response body, up to the sender's
	// capture limit; ResponseTruncated says whether there was more.
	ResponseBody      string
	ResponseTruncated bool
}

// LastAttempt returns the entry's most recent attempt, or false when no
// attempt has been made.
func (e *Entry) LastAttempt() (Attempt, bool) {
	if len(e.Attempts) == 0 {
		return Attempt{}, false
	}
	return e.Attempts[len(e.Attempts)-1], true
}

// Filter selects entries in Query and Delete. Zero fields do not filter,
// except the tenant: a Filter always selects the entries of one tenant,
// Tenant ("" in a single-tenant log), unless AllTenants is set.
type Filter struct {
	// Tenant keeps the entries of one tenant. It is always applied: the
	// zero Filter selects the entries of tenant "", which are all the
	// entries of a single-tenant log.
	Tenant string
	// AllTenants selects the entries of every tenant, ignoring Tenant: an
	// operator's view, for the host's own staff only.
	AllTenants bool
	// From and To bound CreatedAt: From <= CreatedAt < To.
	From, To time.Time
	// TicketID keeps entries of one ticket number.
	TicketID int
	// TriggerID keeps entries of one trigger.
	TriggerID string
	// Status keeps entries in one state.
	Status Status
	// ErrorText keeps entries with an attempt whose Error contains this
	// text, compared case-insensitively.
	ErrorText string
	// Limit is the page size. Defaults to DefaultLimit; at most MaxLimit.
	Limit int
	// Cursor continues a previous query: pass the Next of its Page, with the
	// same filter.
	Cursor string
}

// Scope returns the tenants f selects.
func (f Filter) Scope() Scope { return Scope{Tenant: f.Tenant, AllTenants: f.AllTenants} }

// Scope names the tenants whose entries an operation may see and change:
// one tenant, Tenant ("" in a single-tenant log), or every tenant when
// AllTenants is set. The zero Scope is tenant "". An entry outside the
// scope is treated as if it did not exist: Get and Redeliver return
// ErrNotFound for it, as for an unknown id, so that a scoped caller
// cannot learn that another tenant's entry exists.
type Scope struct {
	Tenant     string
	AllTenants bool
}

// TenantScope returns the Scope of one tenant.
func TenantScope(tenant string) Scope { return Scope{Tenant: tenant} }

// AllTenants is the Scope of every tenant: an operator's view, for the
// host's own staff only.
var AllTenants = Scope{AllTenants: true}

// Includes reports whether the entries of tenant are in s.
func (s Scope) Includes(tenant string) bool { return s.AllTenants || s.Tenant == tenant }

// Check returns an error wrapping ErrInvalidTenant when s names a tenant
// that ValidateTenant refuses.
func (s Scope) Check() error {
	if s.AllTenants {
		return nil
	}
	return ValidateTenant(s.Tenant)
}

// Page sizes for Filter.Limit.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Page is one page of query results, newest first.
type Page struct {
	Entries []Entry
	// Next is the cursor of the following page, or "" on the last page.
	Next string
}

// Claim asks for due pending entries.
type Claim struct {
	// Owner names the claiming engine; it must be unique among engines
	// sharing a log.
	Owner string
	// Now is the claim time: entries with NextAttemptAt <= Now and no
	// unexpired lease are due.
	Now time.Time
	// Lease is how long the claimed entries stay reserved for Owner.
	Lease time.Duration
	// Limit is the most entries to return.
	Limit int
	// PerTenant, when positive, is the most entries of any one tenant to
	// return, so that one tenant's backlog cannot fill a claim: a claim
	// takes the oldest due entries of each tenant, at most PerTenant of
	// each. Logs look for due entries among the oldest ones, so with many
	// busy tenants the share is approximate.
	PerTenant int
	// SkipTenants lists tenants whose entries are not claimed, such as
	// tenants already at their limit of deliveries in flight.
	SkipTenants []string
}

// MaxSkipTenants is the most tenants a Claim may skip; logs ignore the
// ones beyond it.
const MaxSkipTenants = 100

// Update records the outcome of work on a claimed entry.
type Update struct {
	// ID is the entry; Owner must hold its lease.
	ID    string
	Owner string
	// Attempt, when not nil, is appended to the entry's attempts. A nil
	// Attempt releases the entry without counting an attempt (for example
	// when the engine stops mid-attempt).
	Attempt *Attempt
	// Status is the entry's new state.
	Status Status
	// NextAttemptAt is when a pending entry is due again.
	NextAttemptAt time.Time
	// Note replaces the entry's Note; empty clears it.
	Note string
	// Now is the time of the update.
	Now time.Time
}

// Errors returned by Log implementations.
var (
	// ErrNotFound means no entry has the requested id.
	ErrNotFound = errors.New("executionlog: entry not found")
	// ErrLeaseLost means the entry is no longer leased to the updating
	// owner: its lease expired and another engine claimed it, or it is no
	// longer pending.
	ErrLeaseLost = errors.New("executionlog: lease lost")
	// ErrFull means the log cannot hold more entries until some pending
	// ones finish.
	ErrFull = errors.New("executionlog: log is full")
	// ErrInvalidFilter means a Filter field or its Cursor is malformed.
	ErrInvalidFilter = errors.New("executionlog: invalid filter")
	// ErrNotFinished means Redeliver was asked to redeliver an entry that
	// is still pending: it is being delivered or will be retried.
	ErrNotFinished = errors.New("executionlog: entry is not finished")
	// ErrInvalidChangeKey means an Entry.ChangeKey is too long, is not
	// valid UTF-8 or holds a NUL byte.
	ErrInvalidChangeKey = errors.New("executionlog: invalid change key")
	// ErrInvalidTenant means a tenant is too long, or not UTF-8 text
	// without control characters (see ValidateTenant).
	ErrInvalidTenant = errors.New("executionlog: invalid tenant")
)

// Log stores execution log entries and is the delivery queue: the engine
// adds pending entries, claims the due ones, and records each attempt.
//
// Implementations must be safe for concurrent use by several goroutines and,
// for shared stores, by several engines. Every method honours ctx. Errors
// wrap the sentinels below: match them with errors.Is. The
// executionlogtest package checks an implementation against this
// contract.
type Log interface {
	// Add stores new entries, all or none. The caller sets every field
	// except LeaseOwner, LeaseUntil and Note, which Add ignores. Entries
	// are normally pending, with no attempts, to be claimed and delivered;
	// an entry may also be added already succeeded or failed with the
	// attempts that were made, as a record of a send made outside the
	// queue (such as a test send). Add stores Attempts as given for every
	// status, keeps NextAttemptAt only for pending entries, and rejects an
	// entry without an ID or CreatedAt, with an ID that CheckID refuses
	// (over MaxIDLength bytes, not UTF-8, or holding NUL), with an
	// undefined Status, with a SeriesStart outside 0..len(Attempts), with
	// an invalid ChangeKey or Tenant (see ValidateNew). Add numbers each
	// entry's attempts from 1 in the order given. It returns ErrFull when
	// a bounded log has no room.
	//
	// Add does not store an entry whose ChangeKey is not empty and equals
	// the ChangeKey of an entry the log holds, or of an earlier entry of
	// the same call, with the same Tenant, TriggerID and ActionIndex: it skips the
	// entry without an error and sets its DuplicateOf to the ID of the
	// stored entry. It stores the other entries, all or none, and clears
	// their DuplicateOf; after an error, DuplicateOf is unspecified. The
	// check and the store are atomic: of concurrent Adds of entries with
	// one key, trigger and action, exactly one stores its entry and the
	// others learn its ID. A key is known for as long as its entry is kept
	// (a bounded log's eviction or a SQL log's Prune forgets it). Empty
	// keys never collide. An entry whose ID the log already holds, or that
	// appears twice in one call, fails the whole Add.
	Add(ctx context.Context, entries []*Entry) error
	// Claim leases up to c.Limit due pending entries to c.Owner, oldest due
	// first (by NextAttemptAt, then ID), and returns them with the lease
	// set. An entry is due when its NextAttemptAt is at or before c.Now
	// and it has no lease, or a lease that ended at or before c.Now. Claim
	// returns no entries when c.Limit is not positive, and an error when
	// c.Owner is empty or c.Lease is not positive.
	Claim(ctx context.Context, c Claim) ([]Entry, error)
	// Update records the outcome of an attempt on a claimed entry and clears
	// its lease. It appends u.Attempt, when not nil, numbered after the
	// attempts recorded so far; sets Status and Note; sets NextAttemptAt
	// (zero for a final state); and sets UpdatedAt to u.Now. An owner whose
	// lease has ended may still update while no other owner has claimed
	// the entry. It returns ErrNotFound for an unknown id, ErrLeaseLost
	// when u.Owner no longer holds the lease or the entry is not pending,
	// and an error for an undefined u.Status.
	Update(ctx context.Context, u Update) error
	// Redeliver puts a finished (succeeded or failed) entry of scope s
	// back in the queue: pending, due at now, with SeriesStart set to the number of
	// attempts made so far, which it keeps, the lease and Note cleared and
	// UpdatedAt set to now. The delivery keeps its id, so receivers see
	// the same webhook-id. It is atomic: of several concurrent Redeliver
	// calls on one entry, one succeeds. It returns ErrNotFound for an
	// unknown id or an entry outside s, and ErrNotFinished for a pending
	// entry.
	Redeliver(ctx context.Context, s Scope, id string, now time.Time) error
	// Get returns one entry of scope s, or ErrNotFound: for an unknown id,
	// an entry outside s, an id that CheckID refuses or a scope that
	// Scope.Check refuses.
	Get(ctx context.Context, s Scope, id string) (Entry, error)
	// Query returns the entries matching f, newest first (by CreatedAt,
	// then ID), of f's tenant only unless f.AllTenants is set. It returns
	// ErrInvalidFilter for a malformed filter or cursor: whatever
	// Filter.Normalize refuses.
	Query(ctx context.Context, f Filter) (Page, error)
	// Delete deletes every entry matching f, whatever its status, with
	// its attempts, and returns how many it deleted: to erase an account
	// that leaves (Filter{Tenant: t}) or one ticket's data (with
	// TicketID). It ignores f.Limit and f.Cursor and, like Query, sees
	// f's tenant only unless f.AllTenants is set. A pending entry deleted
	// while an engine delivers it is not recorded again: the engine's
	// Update returns ErrNotFound. It returns ErrInvalidFilter for what
	// Filter.Normalize refuses.
	Delete(ctx context.Context, f Filter) (int64, error)
}

// Pruner is implemented by logs that keep finished entries until they are
// pruned (every dialect of the SQL log, and the memory log, which also
// evicts).
type Pruner interface {
	// Prune deletes the finished (succeeded or failed) entries of scope s
	// created before olderThan, with their attempts, and returns how many
	// it deleted. Pending entries are never pruned.
	Prune(ctx context.Context, s Scope, olderThan time.Time) (int64, error)
}

// PendingCounter is implemented by logs that can count one tenant's
// pending entries, for the engine's per-tenant limit on pending entries.
type PendingCounter interface {
	// CountPending returns the number of pending entries of tenant, or
	// limit when there are at least limit (a positive limit lets a log
	// stop counting there).
	CountPending(ctx context.Context, tenant string, limit int) (int, error)
}

// TxAdder is implemented by logs stored in a SQL database. AddTx adds
// entries inside the caller's transaction, so they commit or roll back with
// the caller's own writes (the transactional outbox). It follows the rules
// of Log.Add, skipped change keys included; a skipped entry does not abort
// the caller's transaction. tx must belong to the log's database; AddTx
// neither commits nor rolls it back, and after an error the caller should
// roll it back.
type TxAdder interface {
	AddTx(ctx context.Context, tx *sql.Tx, entries []*Entry) error
}

// AttemptRecorder is implemented by logs that can record an attempt made
// under a lease that has since been lost. An engine whose Update returned
// ErrLeaseLost (its lease expired while the database could not be reached,
// and another engine claimed the entry) uses it so that an attempt which
// reached the receiver still appears in the log.
//
// Detect it with a type assertion; the memory log and every dialect of
// the SQL log implement it.
type AttemptRecorder interface {
	// RecordAttempt appends a to the attempts of the entry id, whatever
	// its status and lease, numbered after the attempts recorded so far
	// (a.Number is ignored), makes its Error searchable and sets the
	// entry's UpdatedAt to now. It changes nothing else: the status, the
	// lease, NextAttemptAt, SeriesStart and Note stay as they are, so the
	// engine that holds the entry goes on undisturbed, and its own Update
	// is numbered after the late attempt. The attempt counts in the
	// entry's current series, as every attempt recorded after SeriesStart
	// does.
	//
	// It returns ErrNotFound for an unknown id. It is safe for concurrent
	// use with every other method.
	RecordAttempt(ctx context.Context, id string, a Attempt, now time.Time) error
}

// ValidateNew checks an entry passed to Log.Add against the rules every
// Log applies: not nil, with an ID that CheckID allows and a CreatedAt, a
// defined Status, a SeriesStart within 0..len(Attempts) and a valid
// ChangeKey (see ValidateChangeKey). Log implementations call it so that
// they refuse the same entries with the same errors.
func ValidateNew(e *Entry) error {
	if e == nil {
		return errors.New("entry is nil")
	}
	if err := CheckID(e.ID); err != nil {
		return err
	}
	switch {
	case e.CreatedAt.IsZero():
		return fmt.Errorf("entry %q has no created time", e.ID)
	case !e.Status.Valid():
		return fmt.Errorf("entry %q has unknown status %q", e.ID, textcut.Cut(string(e.Status), 64))
	case e.SeriesStart < 0 || e.SeriesStart > len(e.Attempts):
		return fmt.Errorf("entry %q has series start %d outside 0..%d, its number of attempts", e.ID, e.SeriesStart, len(e.Attempts))
	}
	if err := ValidateChangeKey(e.ChangeKey); err != nil {
		return fmt.Errorf("entry %q: %w", e.ID, err)
	}
	if err := ValidateTenant(e.Tenant); err != nil {
		return fmt.Errorf("entry %q: %w", e.ID, err)
	}
	return nil
}

// MaxTenantBytes is the longest tenant, in bytes.
const MaxTenantBytes = tenantname.MaxBytes

// ValidateTenant checks a tenant: at most MaxTenantBytes bytes of valid
// UTF-8 without NUL or other control characters, which every log stores
// and indexes as given. The empty tenant is valid: it is the tenant of a
// single-tenant log. The error wraps ErrInvalidTenant.
func ValidateTenant(tenant string) error {
	if err := tenantname.Check(tenant); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTenant, err)
	}
	return nil
}

// ValidateChangeKey checks an idempotency key for Entry.ChangeKey: at most
// MaxChangeKeyBytes bytes of valid UTF-8 without NUL, which every log
// stores as given. The empty key is valid (no key). The error wraps
// ErrInvalidChangeKey.
func ValidateChangeKey(key string) error {
	switch {
	case len(key) > MaxChangeKeyBytes:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidChangeKey, len(key), MaxChangeKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidChangeKey, textcut.Cut(key, 64))
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: %q holds a NUL byte", ErrInvalidChangeKey, textcut.Cut(key, 64))
	}
	return nil
}
