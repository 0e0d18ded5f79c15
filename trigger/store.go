package trigger

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/tickethooks/tickethooks/payload"
)

// Source supplies triggers to the engine. A multi-tenant host returns the
// triggers of the ticket's account.
//
// Implementations must be safe for concurrent use. ForTicket returns the
// triggers to evaluate for a change of t, in the order they should run;
// disabled triggers may be included (Match skips them). Trigger returns the
// trigger with the given id as it is now, or an error matching ErrNotFound
// when there is none; the engine calls it at delivery time to read a
// webhook action's current URL, headers and signing secrets. Both return
// ctx.Err() when ctx is done before they finish.
type Source interface {
	ForTicket(ctx context.Context, t *payload.Ticket) ([]*Trigger, error)
	Trigger(ctx context.Context, id string) (*Trigger, error) // ErrNotFound when unknown
}

// Store is an in-memory Source holding one Set, which can be replaced while
// the engine runs. It is safe for concurrent use.
type Store struct {
	set atomic.Pointer[Set]
}

var _ Source = (*Store)(nil)

// emptySet is the Set of a Store given nil.
var emptySet = &Set{byID: map[string]*Trigger{}}

// NewStore returns a Store holding s; a nil s means no triggers.
func NewStore(s *Set) *Store {
	st := &Store{}
	st.Replace(s)
	return st
}

// Replace atomically swaps in set (nil means no triggers). Evaluations
// already running keep the triggers they were given.
func (s *Store) Replace(set *Set) {
	if set == nil {
		set = emptySet
	}
	s.set.Store(set)
}

// Set returns the current Set, never nil.
func (s *Store) Set() *Set {
	if set := s.set.Load(); set != nil {
		return set
	}
	return emptySet // a zero Store
}

// ForTicket returns every trigger of the current Set, whatever the ticket.
// Callers must not modify the slice.
func (s *Store) ForTicket(ctx context.Context, _ *payload.Ticket) ([]*Trigger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Set().Triggers(), nil
}

// Trigger returns the trigger with the given id from the current Set, or
// an error matching ErrNotFound.
func (s *Store) Trigger(ctx context.Context, id string) (*Trigger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t, ok := s.Set().Get(id); ok {
		return t, nil
	}
	return nil, fmt.Errorf("trigger %q: %w", id, ErrNotFound)
}
