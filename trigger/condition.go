package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// side is one side of a change: a ticket, never nil (on creation the
// before side is the zero ticket), and its host attributes, never nil
// (they point into the Event, which the host may fill in after NewEvent).
type side struct {
	t     *payload.Ticket
	attrs *Attrs
}

// cond is a compiled structured condition or expression.
type cond func(after, before *side, created bool) bool

// zeroTicket stands in for the previous ticket on creation. It is never
// modified.
var zeroTicket payload.Ticket

// compileCondition checks one condition definition and compiles it to a
// closure. It returns every problem it finds.
func compileCondition(def ConditionDefinition, schema *Schema) (cond, payload.WebhookEvent, []error) {
	var errs []error
	f, err := lookupField(def.Field, schema)
	if err != nil {
		errs = append(errs, err)
	}
	op, ok := operators[def.Operator]
	if !ok {
		if def.Operator == "" {
			errs = append(errs, errors.New("operator is required"))
		} else {
			errs = append(errs, fmt.Errorf("unknown operator %q", textcut.Cut(def.Operator, maxQuoted)))
		}
	}
	if errs != nil {
		return nil, payload.WebhookEvent{}, errs
	}
	if !f.ops.has(op) {
		return nil, payload.WebhookEvent{}, []error{fmt.Errorf("operator %q does not apply to %s", def.Operator, f.describe())}
	}
	hasValue := !isNull(def.Value)
	if !takesValue(op) {
		if hasValue {
			return nil, payload.WebhookEvent{}, []error{fmt.Errorf("operator %q takes no value", def.Operator)}
		}
	} else if !hasValue {
		return nil, payload.WebhookEvent{}, []error{fmt.Errorf("operator %q requires a value", def.Operator)}
	}
	ev := payload.WebhookEvent{Criteria: f.criteria, Operator: op}
	switch f.kind {
	case kindString:
		var v string
		if hasValue {
			if v, err = stringValue(def.Value); err != nil {
				return nil, ev, []error{fmt.Errorf("value must be a JSON string for %s", f.describe())}
			}
		}
		return stringCond(f.str, op, v), ev, nil
	case kindInt:
		var v int
		if hasValue {
			if v, err = intValue(def.Value); err != nil {
				return nil, ev, []error{fmt.Errorf("value must be a JSON integer for %s", f.describe())}
			}
		}
		return intCond(f.num, op, v), ev, nil
	case kindBool:
		var v bool
		if hasValue {
			if err := json.Unmarshal(bytes.TrimSpace(def.Value), &v); err != nil {
				return nil, ev, []error{fmt.Errorf("value must be true or false for %s", f.describe())}
			}
		}
		return valueCond(f.flag, op, v), ev, nil
	case kindTime:
		var v int64
		if hasValue {
			s, err := stringValue(def.Value)
			t, terr := time.Parse(time.RFC3339Nano, s)
			if err != nil || terr != nil || t.IsZero() {
				return nil, ev, []error{fmt.Errorf("value must be an RFC 3339 time, such as \"2026-01-02T15:04:05Z\", for %s", f.describe())}
			}
			v = timeKey(t)
		}
		return ordered(f.when, op, v), ev, nil
	case kindList:
		var v string
		if hasValue {
			if v, err = stringValue(def.Value); err != nil {
				return nil, ev, []error{fmt.Errorf("value must be a JSON string for %s", f.describe())}
			}
		}
		return listCond(f.list, op, v), ev, nil
	default: // kindEvent
		v, err := stringValue(def.Value)
		if err != nil || (v != eventCreated && v != eventUpdated) {
			return nil, ev, []error{fmt.Errorf("value for field %q must be %q or %q", f.name, eventCreated, eventUpdated)}
		}
		want := v == eventCreated
		if op == payload.OperatorIs {
			return func(_, _ *side, created bool) bool { return created == want }, ev, nil
		}
		return func(_, _ *side, created bool) bool { return created != want }, ev, nil
	}
}

// isNull reports whether a condition value is absent.
func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// stringValue decodes a JSON string.
func stringValue(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' {
		return "", errors.New("not a JSON string")
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// intValue decodes a JSON integer: no fraction, no exponent, no quotes.
func intValue(v json.RawMessage) (int, error) {
	v = bytes.TrimSpace(v)
	if !json.Valid(v) {
		return 0, errors.New("not JSON")
	}
	return strconv.Atoi(string(v))
}

// stringCond compiles a condition on a string field.
func stringCond(get func(*side) string, op payload.Operator, v string) cond {
	switch op {
	case payload.OperatorContains:
		n := newFolded(v)
		return func(a, _ *side, _ bool) bool { return n.in(get(a)) }
	case payload.OperatorNotContains:
		n := newFolded(v)
		return func(a, _ *side, _ bool) bool { return !n.in(get(a)) }
	}
	return valueCond(get, op, v)
}

// intCond compiles a condition on an int field.
func intCond(get func(*side) int, op payload.Operator, v int) cond {
	return ordered(get, op, v)
}

// ordered compiles a condition on an int or time value.
func ordered[T int | int64](get func(*side) T, op payload.Operator, v T) cond {
	switch op {
	case payload.OperatorLessThan:
		return func(a, _ *side, _ bool) bool { return get(a) < v }
	case payload.OperatorGreaterThan:
		return func(a, _ *side, _ bool) bool { return get(a) > v }
	}
	return valueCond(get, op, v)
}

// valueCond compiles the operators that string and int fields share:
// equality, presence (a value other than the zero value) and change.
func valueCond[T comparable](get func(*side) T, op payload.Operator, v T) cond {
	var zero T
	switch op {
	case payload.OperatorIs:
		return func(a, _ *side, _ bool) bool { return get(a) == v }
	case payload.OperatorIsNot:
		return func(a, _ *side, _ bool) bool { return get(a) != v }
	case payload.OperatorPresent:
		return func(a, _ *side, _ bool) bool { return get(a) != zero }
	case payload.OperatorNotPresent:
		return func(a, _ *side, _ bool) bool { return get(a) == zero }
	case payload.OperatorChanged:
		return func(a, b *side, _ bool) bool { return get(a) != get(b) }
	case payload.OperatorNotChanged:
		return func(a, b *side, _ bool) bool { return get(a) == get(b) }
	case payload.OperatorChangedTo:
		return func(a, b *side, _ bool) bool { return changedTo(get(a), get(b), v) }
	case payload.OperatorChangedFrom:
		return func(a, b *side, _ bool) bool { return changedTo(get(b), get(a), v) }
	case payload.OperatorNotChangedTo:
		return func(a, b *side, _ bool) bool { return !changedTo(get(a), get(b), v) }
	case payload.OperatorNotChangedFrom:
		return func(a, b *side, _ bool) bool { return !changedTo(get(b), get(a), v) }
	}
	return nil // unreachable: the operator was checked against the field
}

// changedTo reports whether a value moved from old to now and now is v.
// Called with the arguments swapped it answers "changed from v".
func changedTo[T comparable](now, old, v T) bool { return now == v && now != old }
