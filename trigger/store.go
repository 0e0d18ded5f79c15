package trigger

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tickethooks/tickethooks/payload"
)

// Source supplies triggers to the engine, for one tenant (account) at a
// time. A single-tenant host has one tenant, "".
//
// Implementations must be safe for concurrent use. ForTicket returns the
// triggers of tenant to evaluate for a change of t, in the order they
// should run; disabled triggers may be included (Match skips them). Every
// trigger it returns must belong to tenant (Trigger.Tenant): the engine
// refuses, logs and counts one that does not, so that a source's mistake
// cannot send one account's tickets to another account's receiver.
// Trigger returns tenant's trigger with the given id as it is now, or an
// error matching ErrNotFound when there is none; the engine calls it at
// delivery time to read a webhook action's current URL, headers and
// signing secrets. Trigger ids are unique per tenant, so both take the
// tenant. Both return ctx.Err() when ctx is done before they finish.
type Source interface {
	ForTicket(ctx context.Context, tenant string, t *payload.Ticket) ([]*Trigger, error)
	Trigger(ctx context.Context, tenant, id string) (*Trigger, error) // ErrNotFound when unknown
}

// Store is an in-memory Source holding one Set per tenant, each of which
// can be replaced while the engine runs. A single-tenant host uses the
// Set of tenant "". It is safe for concurrent use.
type Store struct {
	mu   sync.Mutex // serializes writers
	sets atomic.Pointer[map[string]*Set]
}

var _ Source = (*Store)(nil)

// emptySet is the Set of a tenant without triggers.
var emptySet = &Set{byID: map[string]*Trigger{}}

// NewStore returns a Store holding s, the Set of its tenant (s.Tenant());
// a nil s means no triggers.
func NewStore(s *Set) *Store {
	st := &Store{}
	st.Replace(s)
	return st
}

// Replace atomically swaps in set as the Set of its tenant, set.Tenant()
// (nil means no triggers for tenant ""). The Sets of other tenants stay.
// Evaluations already running keep the triggers they were given.
func (s *Store) Replace(set *Set) {
	if set == nil {
		set = emptySet
	}
	s.update(func(m map[string]*Set) { m[set.tenant] = set })
}

// Remove drops the triggers of tenant, as for an account that leaves.
func (s *Store) Remove(tenant string) {
	s.update(func(m map[string]*Set) { delete(m, tenant) })
}

// update replaces the map of Sets with a copy changed by f.
func (s *Store) update(f func(map[string]*Set)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m map[string]*Set
	if old := s.sets.Load(); old != nil {
		m = maps.Clone(*old)
	}
	if m == nil {
		m = make(map[string]*Set, 1)
	}
	f(m)
	s.sets.Store(&m)
}

// Set returns the current Set of tenant "", never nil.
func (s *Store) Set() *Set { return s.TenantSet("") }

// TenantSet returns the current Set of tenant, never nil.
func (s *Store) TenantSet(tenant string) *Set {
	if m := s.sets.Load(); m != nil {
		if set, ok := (*m)[tenant]; ok {
			return set
		}
	}
	return emptySet
}

// Tenants returns the tenants that have a Set, sorted.
func (s *Store) Tenants() []string {
	m := s.sets.Load()
	if m == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(*m))
}

// ForTicket returns every trigger of tenant's current Set, whatever the
// ticket. Callers must not modify the slice.
func (s *Store) ForTicket(ctx context.Context, tenant string, _ *payload.Ticket) ([]*Trigger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.TenantSet(tenant).Triggers(), nil
}

// Trigger returns the trigger with the given id from tenant's current
// Set, or an error matching ErrNotFound.
func (s *Store) Trigger(ctx context.Context, tenant, id string) (*Trigger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t, ok := s.TenantSet(tenant).Get(id); ok {
		return t, nil
	}
	return nil, fmt.Errorf("trigger %q: %w", id, ErrNotFound)
}
