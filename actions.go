package tickethooks

import (
	"context"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// NoteWriter writes the text of a trigger's note action on a ticket. The
// host owns its tickets, so it supplies the implementation. It is called
// synchronously from OnTicketChange, with the context OnTicketChange got
// (see ActionCall for what that context carries).
type NoteWriter interface {
	AddNote(ctx context.Context, call ActionCall, text string) error
}

// NoteWriterFunc adapts a function to the NoteWriter interface.
type NoteWriterFunc func(ctx context.Context, call ActionCall, text string) error

// AddNote calls f.
func (f NoteWriterFunc) AddNote(ctx context.Context, call ActionCall, text string) error {
	return f(ctx, call, text)
}

// ActionHandler runs a custom action type registered in Config.Actions.
// Triggers that use the type must be loaded with its name in
// trigger.Options.ActionTypes, so that they are validated at load time.
type ActionHandler interface {
	RunAction(ctx context.Context, call ActionCall) error
}

// ActionHandlerFunc adapts a function to the ActionHandler interface.
type ActionHandlerFunc func(ctx context.Context, call ActionCall) error

// RunAction calls f.
func (f ActionHandlerFunc) RunAction(ctx context.Context, call ActionCall) error {
	return f(ctx, call)
}

// ActionCall describes one action of a trigger that fired.
//
// If the handler changes the ticket and calls OnTicketChange again with the
// context it was given, the triggers that already fired in this chain do
// not fire again: each trigger fires at most once per original change, as
// in Zendesk's trigger cycle, so actions that update tickets cannot loop.
type ActionCall struct {
	// Trigger is the trigger that fired.
	Trigger *trigger.Trigger
	// Index is the position of Action in the trigger's action list.
	Index  int
	Action trigger.Action
	// Before is the ticket before the change (nil on creation); After is
	// the ticket after it. Handlers must not modify them.
	Before, After *payload.Ticket
	// BeforeAttrs and AfterAttrs are the change's attribute values
	// (WithAttributes), or nil. Handlers must not modify them.
	BeforeAttrs, AfterAttrs trigger.Attrs
	// ChangeKey is the change's idempotency key (WithChangeKey), or "".
	// Note and custom actions run on every call, a change reported again
	// included: a handler that must act once per change can remember it.
	ChangeKey string
}

// firedKey is the context key holding the triggers that fired in the
// current chain of OnTicketChange calls.
type firedKey struct{}

// chainID names a trigger in the set firedInChain returns: trigger ids
// are unique per tenant.
type chainID struct{ tenant, id string }

func firedInChain(ctx context.Context) map[chainID]bool {
	m, _ := ctx.Value(firedKey{}).(map[chainID]bool)
	return m
}

// withFired returns a context that records the triggers fired as fired,
// in addition to the ones ctx already carries.
func withFired(ctx context.Context, fired []*trigger.Trigger) context.Context {
	prev := firedInChain(ctx)
	m := make(map[chainID]bool, len(prev)+len(fired))
	for id := range prev {
		m[id] = true
	}
	for _, t := range fired {
		m[chainID{t.Tenant, t.ID}] = true
	}
	return context.WithValue(ctx, firedKey{}, m)
}
