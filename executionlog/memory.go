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

	"github.com/google/btree"

	"github.com/tickethooks/tickethooks/internal/textcut"
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
	// byID indexes every entry by ID.
	byID map[string]*Entry
	// all holds every entry in (CreatedAt, ID) order, for Query.
	all *btree.BTreeG[*Entry]
	// queue holds the pending entries in (NextAttemptAt, ID) order, so
	// Claim reads the due ones first and never scans finished entries.
	queue *btree.BTreeG[*Entry]
	// done holds the finished entries in (CreatedAt, ID) order, so that
	// Add evicts the oldest of them without scanning the pending ones.
	done *btree.BTreeG[*Entry]
	// byKey indexes the entries that have a ChangeKey by their tenant,
	// the key, their trigger and their action.
	byKey map[changeKey]*Entry
	// pending counts the pending entries of each tenant that has any.
	pending map[string]int
}

// changeKey identifies the entries that one change may record once: its
// key, the trigger and the webhook action.
type changeKey struct {
	tenant, key, trigger string
	action               int
}

// keyOf returns the change key of e, and false when e has none.
func keyOf(e *Entry) (changeKey, bool) {
	return changeKey{e.Tenant, e.ChangeKey, e.TriggerID, e.ActionIndex}, e.ChangeKey != ""
}

// treeDegree is the degree of the log's B-trees: nodes of up to 63
// entries keep inserts and deletes at a few cache lines each.
const treeDegree = 32

var (
	_ Log             = (*Memory)(nil)
	_ AttemptRecorder = (*Memory)(nil)
	_ Pruner          = (*Memory)(nil)
	_ PendingCounter  = (*Memory)(nil)
)

// NewMemory returns an empty Memory log.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	byCreated := func(a, b *Entry) bool { return compareEntries(a, b) < 0 }
	return &Memory{
		max:     opts.MaxEntries,
		byID:    make(map[string]*Entry),
		all:     btree.NewG(treeDegree, byCreated),
		queue:   btree.NewG(treeDegree, func(a, b *Entry) bool { return compareDue(a, b) < 0 }),
		done:    btree.NewG(treeDegree, byCreated),
		byKey:   make(map[changeKey]*Entry),
		pending: make(map[string]int),
	}
}

// Add implements Log.Add, storing copies of entries. An entry whose ID is
// already in the log, or appears twice in entries, fails the whole Add.
// Add evicts to make room (see Memory), which forgets the change keys of
// the evicted entries.
func (m *Memory) Add(ctx context.Context, entries []*Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	var seen map[string]struct{} // ids of a batch of several
	if len(entries) > 1 {
		seen = make(map[string]struct{}, len(entries))
	}
	for i, e := range entries {
		if err := ValidateNew(e); err != nil {
			return fmt.Errorf("executionlog: add entry %d: %w", i, err)
		}
		if _, ok := m.byID[e.ID]; ok {
			return fmt.Errorf("executionlog: add entry %d: id %q already exists", i, e.ID)
		}
		if _, ok := seen[e.ID]; ok {
			return fmt.Errorf("executionlog: add entry %d: id %q appears twice in the batch", i, e.ID)
		}
		if seen != nil {
			seen[e.ID] = struct{}{}
		}
	}

	// dups holds the stored id each skipped entry duplicates, by its
	// position; batch the ids of the keys this call stores.
	dups := make(map[int]string)
	var batch map[changeKey]string
	for i, e := range entries {
		k, ok := keyOf(e)
		if !ok {
			continue
		}
		if s, ok := m.byKey[k]; ok {
			dups[i] = s.ID
		} else if id, ok := batch[k]; ok {
			dups[i] = id
		} else {
			if batch == nil {
				batch = make(map[changeKey]string)
			}
			batch[k] = e.ID
		}
	}

	n := len(entries) - len(dups)
	if over := m.all.Len() + n - m.max; over > 0 {
		if over > m.done.Len() {
			return fmt.Errorf("%w: adding %d entries to %d of at most %d, of which %d are pending",
				ErrFull, n, m.all.Len(), m.max, m.queue.Len())
		}
		m.evict(over)
	}

	for i, e := range entries {
		if id, ok := dups[i]; ok {
			e.DuplicateOf = id
			continue
		}
		if e.DuplicateOf != "" { // written only when it changes; see sqllog's insert
			e.DuplicateOf = ""
		}
		c := copyEntry(e)
		c.LeaseOwner, c.LeaseUntil, c.Note = "", time.Time{}, ""
		if c.Status != StatusPending {
			c.NextAttemptAt = time.Time{}
		}
		for j := range c.Attempts {
			c.Attempts[j].Number = j + 1
		}
		toUTC(&c)
		p := &c
		m.all.ReplaceOrInsert(p)
		m.byID[p.ID] = p
		if k, ok := keyOf(p); ok {
			m.byKey[k] = p
		}
		m.file(p)
	}
	return nil
}

// evict removes the n oldest finished entries. The caller holds m.mu and
// has checked that there are at least n finished entries.
func (m *Memory) evict(n int) {
	for range n {
		e, ok := m.done.DeleteMin()
		if !ok {
			return
		}
		m.forget(e)
	}
}

// forget removes e from the indexes other than the queue and the
// finished entries. The caller holds m.mu.
func (m *Memory) forget(e *Entry) {
	m.all.Delete(e)
	delete(m.byID, e.ID)
	if k, ok := keyOf(e); ok && m.byKey[k] == e {
		delete(m.byKey, k)
	}
}

// file puts e in the queue when it is pending and among the finished
// entries otherwise. The caller holds m.mu.
func (m *Memory) file(e *Entry) {
	if e.Status == StatusPending {
		m.queue.ReplaceOrInsert(e)
		m.pending[e.Tenant]++
	} else {
		m.done.ReplaceOrInsert(e)
	}
}

// remove deletes entries from every index and returns how many. The
// caller holds m.mu.
func (m *Memory) remove(entries []*Entry) int64 {
	for _, e := range entries {
		m.unfile(e)
		m.forget(e)
	}
	return int64(len(entries))
}

// unfile takes e out of the queue or the finished entries, before its
// status or due time changes or it is deleted. The caller holds m.mu.
func (m *Memory) unfile(e *Entry) {
	if e.Status != StatusPending {
		m.done.Delete(e)
		return
	}
	m.queue.Delete(e)
	if m.pending[e.Tenant]--; m.pending[e.Tenant] <= 0 {
		delete(m.pending, e.Tenant)
	}
}

// Claim implements Log.Claim.
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
	// scan skips at most the entries being worked on, and the entries of
	// tenants skipped or with their share taken.
	var out []Entry
	var taken map[string]int // entries claimed per tenant, with PerTenant
	if c.PerTenant > 0 {
		taken = make(map[string]int)
	}
	skip := skipSet(c.SkipTenants)
	until := now.Add(c.Lease)
	m.queue.Ascend(func(e *Entry) bool {
		if len(out) == c.Limit || e.NextAttemptAt.After(now) {
			return false
		}
		if e.LeaseOwner != "" && e.LeaseUntil.After(now) {
			return true
		}
		if _, ok := skip[e.Tenant]; ok {
			return true
		}
		if taken != nil {
			if taken[e.Tenant] >= c.PerTenant {
				return true
			}
			taken[e.Tenant]++
		}
		e.LeaseOwner, e.LeaseUntil = c.Owner, until
		out = append(out, copyEntry(e))
		return true
	})
	return out, nil
}

// skipSet returns the tenants of Claim.SkipTenants as a set, at most
// MaxSkipTenants of them.
func skipSet(tenants []string) map[string]struct{} {
	if len(tenants) == 0 {
		return nil
	}
	tenants = tenants[:min(len(tenants), MaxSkipTenants)]
	set := make(map[string]struct{}, len(tenants))
	for _, t := range tenants {
		set[t] = struct{}{}
	}
	return set
}

// Update implements Log.Update.
func (m *Memory) Update(ctx context.Context, u Update) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !u.Status.Valid() {
		return fmt.Errorf("executionlog: update %q: unknown status %q", u.ID, textcut.Cut(string(u.Status), 64))
	}
	return m.change(ctx, AllTenants, u.ID, func(e *Entry) error {
		if e.Status != StatusPending {
			return fmt.Errorf("%w: entry %q is %s", ErrLeaseLost, u.ID, e.Status)
		}
		if u.Owner == "" || e.LeaseOwner != u.Owner {
			return fmt.Errorf("%w: entry %q is not leased to %q", ErrLeaseLost, u.ID, u.Owner)
		}
		m.unfile(e) // before NextAttemptAt, its key, changes
		if u.Attempt != nil {
			appendAttempt(e, *u.Attempt)
		}
		e.Status = u.Status
		e.NextAttemptAt = time.Time{}
		if u.Status == StatusPending {
			e.NextAttemptAt = u.NextAttemptAt.UTC()
		}
		e.LeaseOwner, e.LeaseUntil = "", time.Time{}
		e.Note = u.Note
		e.UpdatedAt = u.Now.UTC()
		m.file(e)
		return nil
	})
}

// change runs f on the entry of scope s with the given id while holding
// the write lock. It returns ctx.Err() when ctx is done, ErrNotFound for an
// unknown id or an entry outside s, and otherwise what f returns.
func (m *Memory) change(ctx context.Context, s Scope, id string, f func(e *Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.find(s, id)
	if err != nil {
		return err
	}
	return f(e)
}

// find returns the entry of scope s with the given id, or ErrNotFound, as
// for an unknown id, when it is outside s. The caller holds m.mu.
func (m *Memory) find(s Scope, id string) (*Entry, error) {
	e, ok := m.byID[id]
	if !ok || !s.Includes(e.Tenant) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, textcut.Cut(id, 64))
	}
	return e, nil
}

// appendAttempt appends a to the attempts of e, numbered after them. The
// caller holds m.mu.
func appendAttempt(e *Entry, a Attempt) {
	a.Number = len(e.Attempts) + 1
	a.StartedAt = a.StartedAt.UTC()
	e.Attempts = append(e.Attempts, a)
}

// RecordAttempt implements AttemptRecorder.RecordAttempt.
func (m *Memory) RecordAttempt(ctx context.Context, id string, a Attempt, now time.Time) error {
	return m.change(ctx, AllTenants, id, func(e *Entry) error {
		appendAttempt(e, a)
		e.UpdatedAt = now.UTC()
		return nil
	})
}

// Redeliver implements Log.Redeliver.
func (m *Memory) Redeliver(ctx context.Context, s Scope, id string, now time.Time) error {
	now = now.UTC()
	return m.change(ctx, s, id, func(e *Entry) error {
		if e.Status == StatusPending {
			return fmt.Errorf("%w: entry %q is pending", ErrNotFinished, id)
		}
		m.unfile(e)
		e.Status = StatusPending
		e.SeriesStart = len(e.Attempts)
		e.NextAttemptAt = now
		e.LeaseOwner, e.LeaseUntil = "", time.Time{}
		e.Note = ""
		e.UpdatedAt = now
		m.file(e)
		return nil
	})
}

// compareDue orders pending entries by NextAttemptAt and then ID.
func compareDue(a, b *Entry) int {
	if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// Get implements Log.Get.
func (m *Memory) Get(ctx context.Context, s Scope, id string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()

	e, err := m.find(s, id)
	if err != nil {
		return Entry{}, err
	}
	return copyEntry(e), nil
}

// Query implements Log.Query.
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

	// Scan the entries before the upper bound (the end of the time range
	// or the cursor, whichever is first), newest first, down to the
	// start of the time range.
	var upper *Entry
	if !f.To.IsZero() {
		upper = &Entry{CreatedAt: f.To} // before every entry created at To
	}
	if f.Cursor != "" {
		at, id, err := DecodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c := (&Entry{CreatedAt: at, ID: id}); upper == nil || compareEntries(c, upper) < 0 {
			upper = c
		}
	}
	var page Page
	m.scan(f, upper, func(e *Entry) bool {
		if len(page.Entries) == f.Limit {
			last := page.Entries[len(page.Entries)-1]
			page.Next = EncodeCursor(last.CreatedAt, last.ID)
			return false
		}
		page.Entries = append(page.Entries, copyEntry(e))
		return true
	})
	return page, nil
}

// scan calls visit on the entries matching the normalized filter f,
// newest first, below upper when it is not nil, until visit returns
// false. The caller holds m.mu.
func (m *Memory) scan(f Filter, upper *Entry, visit func(e *Entry) bool) {
	each := func(e *Entry) bool {
		if upper != nil && compareEntries(e, upper) >= 0 {
			return true // the bound itself
		}
		if !f.From.IsZero() && e.CreatedAt.Before(f.From) {
			return false
		}
		if !matches(e, f) {
			return true
		}
		return visit(e)
	}
	if upper != nil {
		m.all.DescendLessOrEqual(upper, each)
	} else {
		m.all.Descend(each)
	}
}

// Delete implements Log.Delete.
func (m *Memory) Delete(ctx context.Context, f Filter) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := f.Normalize()
	if err != nil {
		return 0, err
	}
	var upper *Entry
	if !f.To.IsZero() {
		upper = &Entry{CreatedAt: f.To}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []*Entry
	m.scan(f, upper, func(e *Entry) bool {
		gone = append(gone, e)
		return true
	})
	return m.remove(gone), nil
}

// Prune implements Pruner.Prune.
func (m *Memory) Prune(ctx context.Context, s Scope, olderThan time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.Check(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []*Entry
	m.done.AscendLessThan(&Entry{CreatedAt: olderThan.UTC()}, func(e *Entry) bool {
		if s.Includes(e.Tenant) {
			gone = append(gone, e)
		}
		return true
	})
	return m.remove(gone), nil
}

// CountPending implements PendingCounter.CountPending.
func (m *Memory) CountPending(ctx context.Context, tenant string, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	n := m.pending[tenant]
	m.mu.RUnlock()
	if limit > 0 && n > limit {
		n = limit
	}
	return n, nil
}

// matches reports whether e passes the filters of f other than the time
// range and the cursor.
func matches(e *Entry, f Filter) bool {
	return (f.AllTenants || e.Tenant == f.Tenant) &&
		(f.TicketID == 0 || e.TicketID == f.TicketID) &&
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
	c.RequestHeaders = maps.Clone(e.RequestHeaders)
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
