package trigger

import (
	"sync/atomic"

	"github.com/tickethooks/tickethooks/payload"
)

// The change kinds, as written in a definition's "on" list, in Event
// conditions and in Env.Event.
const (
	eventCreated = "created"
	eventUpdated = "updated"
)

// Event is one ticket change that triggers are evaluated against. Build it
// with NewEvent, once per change, and evaluate every trigger against the
// same Event: the first expression that runs on expr's VM prepares the
// expression environment, and the triggers after it share it.
//
// An Event is safe for concurrent use by many triggers. Neither it nor the
// tickets it points to may be changed while it is in use.
//
// Triggers whose expression runs on expr's VM (see the package
// documentation) share one VM kept by the Event, so that evaluating them
// in turn does not allocate. Call Release when the change's triggers have
// all been evaluated, to return that VM for the next Event to use.
type Event struct {
	// Before is the ticket before the change, or nil when the ticket was
	// created.
	Before *payload.Ticket
	// After is the ticket after the change. Nil is treated as an empty
	// ticket.
	After *payload.Ticket

	slot vmSlot       // the VM and Env expression programs run on; see Release
	fit  atomic.Int32 // whether the tickets fit the expression budget; see fitsBudget
}

// NewEvent returns the Event for a change from before to after. before is
// nil when the ticket was created.
func NewEvent(before, after *payload.Ticket) *Event {
	return &Event{Before: before, After: after}
}

// Release returns the expression VM the Event keeps, if any, to a pool
// shared by all Events. Call it once every trigger has been evaluated
// against the Event, typically with defer right after NewEvent. It is safe
// to call more than once, and it does not end the Event: evaluating an
// expression after Release takes a VM again, for the next Release to
// return. A Release that runs while an evaluation of the Event is still
// running on another goroutine leaves the VM in place. Omitting Release is
// safe too; it costs allocating a new VM for a later Event.
func (e *Event) Release() {
	if e != nil {
		e.slot.release()
	}
}

// Created reports whether the change created the ticket.
func (e *Event) Created() bool { return e.Before == nil }

// Kind returns "created" or "updated".
func (e *Event) Kind() string {
	if e.Created() {
		return eventCreated
	}
	return eventUpdated
}

// tickets returns the tickets conditions compare, never nil.
func (e *Event) tickets() (after, before *payload.Ticket) {
	return orZero(e.After), orZero(e.Before)
}

// makeEnv builds the expression environment, boxed: the Event keeps it
// so that running each trigger's program does not allocate it again.
func (e *Event) makeEnv() any {
	env := Env{Previous: e.Before, Event: e.Kind()}
	if e.After != nil {
		env.Ticket = *e.After
	}
	return env
}
