package trigger

import (
	"errors"

	"github.com/expr-lang/expr/vm"

	"github.com/tickethooks/tickethooks/payload"
)

// TypeTicket is the only trigger type: triggers on ticket changes.
const TypeTicket = "Ticket"

// errNilArgument is returned by Evaluate for a nil Trigger or Event.
var errNilArgument = errors.New("trigger: nil trigger or event")

// Trigger is a compiled trigger. It is immutable and safe for concurrent
// use; callers must not modify its fields.
type Trigger struct {
	// ID identifies the trigger within its tenant.
	ID string
	// Tenant is the account the trigger belongs to: Options.Tenant of the
	// load that built it ("" for a single-tenant host).
	Tenant string
	// Name is the trigger's label for people; it may be empty.
	Name string
	// Enabled says whether the trigger fires at all.
	Enabled bool
	// Actions are the trigger's actions, in definition order.
	Actions []Action

	def     Definition
	on      uint8
	all     []cond
	any     []cond
	program *vm.Program // nil without an expression
	native  cond        // the expression as a Go closure, when it has one
	events  []payload.WebhookEvent
}

// Definition returns a copy of the definition the trigger was built from,
// as written (defaults are not filled in).
func (t *Trigger) Definition() Definition { return t.def.clone() }

// On reports whether the trigger fires on the creation of a ticket (created
// true) or on its update (created false).
func (t *Trigger) On(created bool) bool {
	if created {
		return t.on&onCreated != 0
	}
	return t.on&onUpdated != 0
}

// HasExpression reports whether the trigger has an expression.
func (t *Trigger) HasExpression() bool { return t.program != nil }

// Match reports whether the trigger fires for ev: it is enabled, it is on
// ev's kind of change, all its "all" conditions hold, at least one of its
// "any" conditions holds when it has any, and its expression holds. An
// expression that fails at run time does not hold. Match does not allocate
// for a trigger without an expression or whose expression runs as a Go
// closure; for one whose expression runs on expr's VM it allocates only
// what expr itself does, once the Event keeps a VM.
func (t *Trigger) Match(ev *Event) bool {
	ok, _ := t.Evaluate(ev)
	return ok
}

// Evaluate is Match that also reports why an expression could not be
// evaluated: it returns false and a *RuntimeError when the expression fails
// at run time, and an error for a nil Trigger or Event. Expressions that
// run as Go closures (see the package documentation) never fail.
func (t *Trigger) Evaluate(ev *Event) (bool, error) {
	if t == nil || ev == nil {
		return false, errNilArgument
	}
	created := ev.Before == nil
	if !t.Enabled || !t.On(created) {
		return false, nil
	}
	after, before := ev.sidesOf()
	for _, c := range t.all {
		if !c(after, before, created) {
			return false, nil
		}
	}
	if len(t.any) > 0 {
		held := false
		for _, c := range t.any {
			if c(after, before, created) {
				held = true
				break
			}
		}
		if !held {
			return false, nil
		}
	}
	if t.program == nil {
		return true, nil
	}
	if t.native != nil {
		return t.native(after, before, created), nil
	}
	ok, err := runProgram(t.program, ev)
	if err != nil {
		return false, runtimeError(t.ID, err)
	}
	return ok, nil
}

// WebhookEvents returns one {Criteria, Operator} pair per condition: the
// "all" conditions, then the "any" conditions, then {CriteriaExpression,
// OperatorMatches} when the trigger has an expression. The slice is shared:
// callers must not modify it (copy it into a packet).
func (t *Trigger) WebhookEvents() []payload.WebhookEvent { return t.events }
