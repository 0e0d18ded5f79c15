package trigger

import (
	"sync"
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
// tickets it points to may be changed while it is in use. Call Release when every trigger has been evaluated.
type Event struct {
	// Before is the ticket before the change, or nil when the ticket was
	// created.
	Before *payload.Ticket
	// After is the ticket after the change. Nil is treated as an empty
	// ticket.
	After *payload.Ticket
	// BeforeAttrs and AfterAttrs are the host attributes of the ticket
	// before and after the change (see Attribute). Nil means none. Set
	// them after NewEvent, before the first trigger is evaluated. They
	// must pass Schema.Check (the engine checks them): values of another
	// type than declared read as their getters read them in conditions,
	// but not always so in the Changed helpers, and values over
	// MaxAttrBytes void the cost bound of expressions.
	BeforeAttrs, AfterAttrs Attrs

	built bool      // NewEvent set sides
	once  sync.Once // sets sides for an Event built without NewEvent
	sides [2]side   // after, before: what conditions compare; see sidesOf

	slot vmSlot       // the VM and Env expression programs run on; see Release
	fit  atomic.Int32 // whether the tickets fit the expression budget; see fitsBudget
}

// NewEvent returns the Event for a change from before to after. before is
// nil when the ticket was created.
func NewEvent(before, after *payload.Ticket) *Event {
	e := &Event{Before: before, After: after, built: true}
	e.sides = [2]side{{t: orZero(after), attrs: &e.AfterAttrs}, {t: orZero(before), attrs: &e.BeforeAttrs}}
	return e
}

// Release returns the Event's expression VM to a pool for the next Event
// (optional: without it the next Event allocates its own). Call it with
// defer right after NewEvent; calling it again is harmless.
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

// sidesOf returns the two sides of the change that conditions compare,
// with tickets never nil. They are built once per Event.
func (e *Event) sidesOf() (after, before *side) {
	if !e.built {
		e.once.Do(func() {
			e.sides = [2]side{{t: orZero(e.After), attrs: &e.AfterAttrs}, {t: orZero(e.Before), attrs: &e.BeforeAttrs}}
		})
	}
	return &e.sides[0], &e.sides[1]
}

// makeEnv builds the expression environment, boxed: the Event keeps it
// so that running each trigger's program does not allocate it again.
func (e *Event) makeEnv() any { return e.env() }

// env returns the expression environment of the change.
func (e *Event) env() Env {
	env := Env{Previous: e.Before, Event: e.Kind(), Attr: e.AfterAttrs, PreviousAttr: e.BeforeAttrs}
	if e.After != nil {
		env.Ticket = *e.After
	}
	return env
}
