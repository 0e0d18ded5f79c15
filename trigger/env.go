package trigger

import (
	"math"
	"strings"

	"github.com/tickethooks/tickethooks/payload"
)

// Env is the environment a trigger's expression is evaluated in. Its fields
// and methods are the names an expression can use:
//
//	Ticket                           the ticket after the change
//	Previous                         the ticket before the change; nil on creation
//	Event                            "created" or "updated"
//	Changed("Status")                whether a field's value changed
//	ChangedTo("Status", "Resolved")  whether it changed to a value
//	ChangedFrom("Urgency", "Low")    whether it changed from a value
//	CustomField(12)                  the value of custom field 12, or ""
//	Attr.assignee                    a host attribute after the change (see Attribute)
//	PreviousAttr.assignee            the attribute before the change
//	Ticket.ActionCount()             the true number of actions (see payload.Ticket)
//
// The field names the Changed helpers accept are those of conditions that
// can change: Subject, Status, Justification, Urgency, ServiceFirstLevel,
// SlaSolutionTime, ActionCount, CustomField:<id> and Attr.<name> for a
// declared attribute. They must be written as
// string literals, and are checked when the trigger is loaded. The helpers
// compare as the changed, changed_to and changed_from operators do, and treat
// a nil Previous as an empty ticket. On a list attribute, ChangedTo("Attr.tags",
// "vip") means the tag was added and ChangedFrom that it was removed.
//
// Attr.<name> and PreviousAttr.<name> must name a declared attribute; the
// expression reads it with the type declared, and a missing value reads as
// that type's zero value. Attr and PreviousAttr cannot be used otherwise.
//
// Env is passed to the expression by value: expressions cannot change it.
//
// Expressions made only of Ticket's int and string fields, Event,
// CustomField, the Changed helpers, literals, comparisons, in and the
// boolean operators are not run on an Env at all but as Go closures over
// the two tickets, with the same results (see the package documentation).
type Env struct {
	// Ticket is the ticket after the change.
	Ticket payload.Ticket
	// Previous is the ticket before the change; nil on creation.
	Previous *payload.Ticket
	// Event is "created" or "updated".
	Event string
	// Attr and PreviousAttr are the host attributes after and before the
	// change; expressions read them as Attr.<name>.
	Attr         Attrs
	PreviousAttr Attrs
}

// sides returns the sides of the change e describes.
func (e *Env) sides() (after, before *side) {
	return &side{t: &e.Ticket, attrs: &e.Attr}, &side{t: orZero(e.Previous), attrs: &e.PreviousAttr}
}

// orZero returns t, or the zero ticket when t is nil.
func orZero(t *payload.Ticket) *payload.Ticket {
	if t == nil {
		return &zeroTicket
	}
	return t
}

// Changed reports whether the named field's value differs from its previous
// value. It returns false for a name that is not a field that can change.
func (e Env) Changed(field string) bool {
	if name, ok := strings.CutPrefix(field, attrPrefix); ok {
		return !attrEqual(e.Attr[name], e.PreviousAttr[name])
	}
	f, ok := helperField(field)
	if !ok {
		return false
	}
	a, b := e.sides()
	if f.kind == kindInt {
		return f.num(a) != f.num(b)
	}
	return f.str(a) != f.str(b)
}

// ChangedTo reports whether the named field changed and now equals v. It
// returns false when v is not of the field's type (a string for string
// fields, an integer for int fields).
func (e Env) ChangedTo(field string, v any) bool {
	return changedHelper(&e, field, v, false)
}

// ChangedFrom reports whether the named field changed and previously equaled
// v. It returns false when v is not of the field's type.
func (e Env) ChangedFrom(field string, v any) bool {
	return changedHelper(&e, field, v, true)
}

// changedHelper implements ChangedTo and, with from set, ChangedFrom.
func changedHelper(e *Env, field string, v any, from bool) bool {
	if name, ok := strings.CutPrefix(field, attrPrefix); ok {
		now, old := e.Attr[name], e.PreviousAttr[name]
		if from {
			now, old = old, now
		}
		return attrChangedTo(now, old, v)
	}
	f, ok := helperField(field)
	if !ok {
		return false
	}
	now, old := e.sides()
	if from {
		now, old = old, now
	}
	if f.kind == kindInt {
		n, ok := toInt(v)
		return ok && changedTo(f.num(now), f.num(old), n)
	}
	s, ok := v.(string)
	return ok && changedTo(f.str(now), f.str(old), s)
}

// CustomField returns the Value of the ticket's first custom field value
// whose CustomFieldId is id, or "" when there is none.
func (e Env) CustomField(id int) string {
	v, _ := e.Ticket.CustomField(id)
	return v
}

// helperField resolves the name of a packet field given to a Changed
// helper.
func helperField(name string) (*field, bool) {
	f, err := lookupField(name, nil)
	if err != nil || !f.ops.has(payload.OperatorChanged) {
		return nil, false
	}
	return f, true
}

// toInt converts an expression's number to an int when it is integral.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), n >= math.MinInt && n <= math.MaxInt
	case uint:
		return int(n), n <= math.MaxInt
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), uint64(n) <= math.MaxInt
	case uint64:
		return int(n), n <= math.MaxInt
	case float32:
		return floatToInt(float64(n))
	case float64:
		return floatToInt(n)
	}
	return 0, false
}

func floatToInt(f float64) (int, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int(f), true
}
