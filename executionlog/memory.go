package executionlog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// DefaultMaxEntries is the default capacity of a Memory log.
const DefaultMaxEntries = 10_000

// MemoryOptions configures a Memory log.
type MemoryOptions struct {
	// MaxEntries is the most entries the log holds. When an Add would go
	// beyond it, the oldest finished (succeeded or failed) entries are
	// evicted; pending entries are never evicted. Defaults to 10,000.
	MaxEntries int
}

// Memory is a Log kept in process memory: the log of a single engine that
// does not need its deliveries to survive a restart, and of tests and
// examples.
//
// Memory is bounded by MemoryOptions.MaxEntries. Add evicts the oldest
// finished entries to make room and returns ErrFull, adding nothing, when
// there is not enough room even after evicting every finished entry.
//
// Memory is safe for concurrent use. Every method returns ctx.Err() when ctx
// is already done. Entries returned by Claim, Get and Query are copies:
// changing them does not change the log.
type Memory struct {
	max int

	mu sync.RWMutex
	// sorted holds every entry in ascending (CreatedAt, ID) order.
	sorted []*Entry
	// byID indexes every entry by ID.
	byID map[string]*Entry
	// queue holds the pending entries in ascending (NextAttemptAt, ID)
	// order, so Claim reads the due ones first and never scans finished
	// entries.
	queue []*Entry
}

var _ Log = (*Memory)(nil)

// NewMemory returns an empty Memory log.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Memory{
		max:  opts.MaxEntries,
		byID: make(map[string]*Entry),
	}
}

// Add stores copies of entries, all or none. Each entry must have an ID
// that is not in the log yet, a CreatedAt, a defined Status and a
// SeriesStart within 0..len(Attempts). Pending entries join the queue;
// entries added succeeded or failed (records of sends made outside the
// queue) are stored with their attempts and a zero NextAttemptAt.
// LeaseOwner, LeaseUntil and Note are ignored. Add returns ErrFull when the
// log has no room for all of them, even after evicting every finished
// entry.
func (m *Memory) Add(ctx context.Context, entries []*Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	seen := make(map[string]struct{}, len(entries))
	for i, e := range entries {
		if err := validateNew(e); err != nil {
			return fmt.Errorf("executionlog: add entry %d: %w", i, err)
		}
		if _, ok := m.byID[e.ID]; ok {
			return fmt.Errorf("executionlog: add entry %d: id %q already exists", i, e.ID)
		}
		if _, ok := seen[e.ID]; ok {
			return fmt.Errorf("executionlog: add entry %d: id %q appears twice in the batch", i, e.ID)
		}
		seen[e.ID] = struct{}{}
	}

	if over := len(m.sorted) + len(entries) - m.max; over > 0 {
		finished := len(m.sorted) - len(m.queue)
		if over > finished {
			return fmt.Errorf("%w: adding %d entries to %d of at most %d, of which %d are pending",
				ErrFull, len(entries), len(m.sorted), m.max, len(m.queue))
		}
		// Evict a batch (1/64 of the log) at a time, so that a full log
		// does not scan every entry on every Add.
		m.evict(min(max(over, m.max/64), finished))
	}

	for _, e := range entries {
		c := copyEntry(e)
		c.LeaseOwner, c.LeaseUntil, c.Note = "", time.Time{}, ""
		if c.Status != StatusPending {
			c.NextAttemptAt = time.Time{}
		}
		toUTC(&c)
		p := &c
		i, _ := slices.BinarySearchFunc(m.sorted, p, compareEntries)
		m.sorted = slices.Insert(m.sorted, i, p)
		m.byID[p.ID] = p
		if p.Status == StatusPending {
			m.enqueue(p)
		}
	}
	return nil
}

// validateNew checks an entry passed to Add.
func validateNew(e *Entry) error {
	switch {
	case e == nil:
		return errors.New("entry is nil")
	case e.ID == "":
		return errors.New("id is empty")
	case e.CreatedAt.IsZero():
		return fmt.Errorf("entry %q has no created time", e.ID)
	case !e.Status.Valid():
		return fmt.Errorf("entry %q has unknown status %q", e.ID, truncate(string(e.Status), 64))
	case e.SeriesStart < 0 || e.SeriesStart > len(e.Attempts):
		return fmt.Errorf("entry %q has series start %d outside 0..%d, its number of attempts", e.ID, e.SeriesStart, len(e.Attempts))
	}
	return nil
}

// evict removes the n oldest finished entries. The caller holds m.mu and
// has checked that there are at least n finished entries.
func (m *Memory) evict(n int) {
	kept := m.sorted[:0]
	for _, e := range m.sorted {
		if n > 0 && e.Status != StatusPending {
			delete(m.byID, e.ID)
			n--
			continue
		}
		kept = append(kept, e)
	}
	clear(m.sorted[len(kept):])
	m.sorted = kept
}

// Claim leases up to c.Limit due pending entries to c.Owner, ordered by
// NextAttemptAt and then ID. An entry is due when its NextAttemptAt is not
// after c.Now and it has no lease, or its lease ended at or before c.Now.
// Claim returns no entries when c.Limit is not positive, and an error when
// c.Owner is empty or c.Lease is not positive.
func (m *Memory) Claim(ctx context.Context, c Claim) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Owner == "" {
		return nil, errors.New("executionlog: claim: owner is empty")
	}
	if c.Lease <= 0 {
		return nil, fmt.Errorf("executionlog: claim: lease %s is not positive", c.Lease)
	}
	if c.Limit <= 0 {
		return nil, nil
	}
	now := c.Now.UTC()

	m.mu.Lock()
	defer m.mu.Unlock()

	// The queue is in due order. Leased entries keep their place, so the
	// scan skips at most the entries being worked on.
	var out []Entry
	until := now.Add(c.Lease)
	for _, e := range m.queue {
		if len(out) == c.Limit || e.NextAttemptAt.After(now) {
			break
		}
		if e.LeaseOwner != "" && e.LeaseUntil.After(now) {
			continue
		}
		e.LeaseOwner, e.LeaseUntil = c.Owner, until
		out = append(out, copyEntry(e))
	}
	return out, nil
}

// Update records the outcome of work on a claimed entry: it appends
// u.Attempt when it is not nil, sets the status, sets NextAttemptAt (zero
// for a final state), clears the lease and sets UpdatedAt to u.Now.
//
// It returns ErrNotFound for an unknown id, ErrLeaseLost when the entry is
// not pending or u.Owner does not hold its lease, and an error when u.Status
// is not a defined state. An owner whose lease has ended may still update
// the entry as long as no other owner has claimed it.
func (m *Memory) Update(ctx context.Context, u Update) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !u.Status.Valid() {
		return fmt.Errorf("executionlog: update %q: unknown status %q", u.ID, u.Status)
	}

	m.mu.Lock()
	defer m.mu.Unlock()

	e, ok := m.byID[u.ID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, u.ID)
	}
	if e.Status != StatusPending {
		return fmt.Errorf("%w: entry %q is %s", ErrLeaseLost, u.ID, e.Status)
	}
	if u.Owner == "" || e.LeaseOwner != u.Owner {
		return fmt.Errorf("%w: entry %q is not leased to %q", ErrLeaseLost, u.ID, u.Owner)
	}

	m.dequeue(e)
	if u.Attempt != nil {
		a := *u.Attempt
		a.StartedAt = a.StartedAt.UTC()
		e.Attempts = append(e.Attempts, a)
	}
	e.Status = u.Status
	e.NextAttemptAt = time.Time{}
	if u.Status == StatusPending {
		e.NextAttemptAt = u.NextAttemptAt.UTC()
	}
	e.LeaseOwner, e.LeaseUntil = "", time.Time{}
	e.Note = u.Note
	e.UpdatedAt = u.Now.UTC()
	if e.Status == StatusPending {
		m.enqueue(e)
	}
	return nil
}

// Redeliver puts the finished entry with the given id back in the queue:
// pending, due at now, with SeriesStart set to its number of attempts, the
// lease and Note cleared and UpdatedAt set to now. It returns ErrNotFound
// for an unknown id and ErrNotFinished for a pending entry.
func (m *Memory) Redeliver(ctx context.Context, id string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	e, ok := m.byID[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if e.Status == StatusPending {
		return fmt.Errorf("%w: entry %q is pending", ErrNotFinished, id)
	}
	now = now.UTC()
	e.Status = StatusPending
	e.SeriesStart = len(e.Attempts)
	e.NextAttemptAt = now
	e.LeaseOwner, e.LeaseUntil = "", time.Time{}
	e.Note = ""
	e.UpdatedAt = now
	m.enqueue(e)
	return nil
}

// enqueue inserts the pending entry e into m.queue. The caller holds m.mu.
func (m *Memory) enqueue(e *Entry) {
	i, _ := slices.BinarySearchFunc(m.queue, e, compareDue)
	m.queue = slices.Insert(m.queue, i, e)
}

// dequeue removes the pending entry e from m.queue; e's NextAttemptAt and
// ID must not have changed since it was enqueued. The caller holds m.mu.
func (m *Memory) dequeue(e *Entry) {
	if i, ok := slices.BinarySearchFunc(m.queue, e, compareDue); ok {
		m.queue = slices.Delete(m.queue, i, i+1)
	}
}

// compareDue orders pending entries by NextAttemptAt and then ID.
func compareDue(a, b *Entry) int {
	if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// Get returns a copy of the entry with the given id, or ErrNotFound.
func (m *Memory) Get(ctx context.Context, id string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()

	e, ok := m.byID[id]
	if !ok {
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return copyEntry(e), nil
}

// Query returns copies of the entries matching f, newest first by
// (CreatedAt, ID). It returns an error wrapping ErrInvalidFilter when f is
// malformed (see Filter.Normalize).
func (m *Memory) Query(ctx context.Context, f Filter) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	f, err := f.Normalize()
	if err != nil {
		return Page{}, err
	}

	m.mu.RLock()
	defer m.mu.RUnlock()

	// Entries in m.sorted[lo:hi] are in the time range and before the
	// cursor; scan them from the newest.
	lo, hi := 0, len(m.sorted)
	if !f.From.IsZero() {
		lo, _ = slices.BinarySearchFunc(m.sorted, f.From, func(e *Entry, t time.Time) int {
			return e.CreatedAt.Compare(t)
		})
	}
	if !f.To.IsZero() {
		hi, _ = slices.BinarySearchFunc(m.sorted, f.To, func(e *Entry, t time.Time) int {
			return e.CreatedAt.Compare(t)
		})
	}
	if f.Cursor != "" {
		at, id, err := DecodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		pos, _ := slices.BinarySearchFunc(m.sorted, &Entry{CreatedAt: at, ID: id}, compareEntries)
		hi = min(hi, pos)
	}

	var page Page
	for i := hi - 1; i >= lo; i-- {
		e := m.sorted[i]
		if !matches(e, f) {
			continue
		}
		if len(page.Entries) == f.Limit {
			last := page.Entries[len(page.Entries)-1]
			page.Next = EncodeCursor(last.CreatedAt, last.ID)
			break
		}
		page.Entries = append(page.Entries, copyEntry(e))
	}
	return page, nil
}

// matches reports whether e passes the filters of f other than the time
// range and the cursor.
func matches(e *Entry, f Filter) bool {
	return (f.TicketID == 0 || e.TicketID == f.TicketID) &&
		(f.TriggerID == "" || e.TriggerID == f.TriggerID) &&
		(f.Status == "" || e.Status == f.Status) &&
		MatchesError(e.Attempts, f.ErrorText)
}

// compareEntries orders entries by CreatedAt and then ID.
func compareEntries(a, b *Entry) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// copyEntry returns a deep copy of e: the copy shares no map or slice with
// e.
func copyEntry(e *Entry) Entry {
	c := *e
	if e.RequestHeaders != nil {
		c.RequestHeaders = maps.Clone(e.RequestHeaders)
	}
	c.RequestBody = slices.Clone(e.RequestBody)
	c.Attempts = slices.Clone(e.Attempts)
	return c
}

// toUTC converts every time of e to UTC.
func toUTC(e *Entry) {
	e.NextAttemptAt = e.NextAttemptAt.UTC()
	e.LeaseUntil = e.LeaseUntil.UTC()
	e.CreatedAt = e.CreatedAt.UTC()
	e.UpdatedAt = e.UpdatedAt.UTC()
	for i := range e.Attempts {
		e.Attempts[i].StartedAt = e.Attempts[i].StartedAt.UTC()
	}
}
