package trigger

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// kind is the type of a condition field's value.
type kind uint8

const (
	kindString kind = iota + 1
	kindInt
	kindEvent
	kindBool // an attribute
	kindTime // an attribute
	kindList // an attribute
)

// opSet is a set of operators, one bit per payload.Operator code.
type opSet uint32

func opsOf(codes ...payload.Operator) opSet {
	var s opSet
	for _, c := range codes {
		s |= 1 << uint(c)
	}
	return s
}

func (s opSet) has(op payload.Operator) bool { return s&(1<<uint(op)) != 0 }

// operators maps each condition operator's name to its code.
var operators = map[string]payload.Operator{
	"is":               payload.OperatorIs,
	"is_not":           payload.OperatorIsNot,
	"contains":         payload.OperatorContains,
	"not_contains":     payload.OperatorNotContains,
	"less_than":        payload.OperatorLessThan,
	"greater_than":     payload.OperatorGreaterThan,
	"present":          payload.OperatorPresent,
	"not_present":      payload.OperatorNotPresent,
	"changed":          payload.OperatorChanged,
	"not_changed":      payload.OperatorNotChanged,
	"changed_to":       payload.OperatorChangedTo,
	"changed_from":     payload.OperatorChangedFrom,
	"not_changed_to":   payload.OperatorNotChangedTo,
	"not_changed_from": payload.OperatorNotChangedFrom,
	"includes":         payload.OperatorIncludes,
	"not_includes":     payload.OperatorNotIncludes,
}

// takesValue reports whether a condition with operator op needs a value.
func takesValue(op payload.Operator) bool {
	switch op {
	case payload.OperatorPresent, payload.OperatorNotPresent,
		payload.OperatorChanged, payload.OperatorNotChanged:
		return false
	}
	return true
}

// The operators each kind of field accepts.
var (
	allOps = opsOf(payload.OperatorIs, payload.OperatorIsNot,
		payload.OperatorContains, payload.OperatorNotContains,
		payload.OperatorLessThan, payload.OperatorGreaterThan,
		payload.OperatorPresent, payload.OperatorNotPresent,
		payload.OperatorChanged, payload.OperatorNotChanged,
		payload.OperatorChangedTo, payload.OperatorChangedFrom,
		payload.OperatorNotChangedTo, payload.OperatorNotChangedFrom)
	stringOps = allOps &^ opsOf(payload.OperatorLessThan, payload.OperatorGreaterThan)
	intOps    = allOps &^ opsOf(payload.OperatorContains, payload.OperatorNotContains)
	idOps     = opsOf(payload.OperatorIs, payload.OperatorIsNot,
		payload.OperatorLessThan, payload.OperatorGreaterThan,
		payload.OperatorPresent, payload.OperatorNotPresent)
	eventOps  = opsOf(payload.OperatorIs, payload.OperatorIsNot)
	changeOps = opsOf(payload.OperatorChanged, payload.OperatorNotChanged,
		payload.OperatorChangedTo, payload.OperatorChangedFrom,
		payload.OperatorNotChangedTo, payload.OperatorNotChangedFrom)
	boolOps = changeOps | opsOf(payload.OperatorIs, payload.OperatorIsNot)
	timeOps = intOps
	listOps = changeOps | opsOf(payload.OperatorIncludes, payload.OperatorNotIncludes,
		payload.OperatorPresent, payload.OperatorNotPresent)
)

// field is a ticket field that conditions and expression helpers can name.
type field struct {
	name     string
	criteria payload.Criteria
	kind     kind
	ops      opSet
	str      func(*side) string   // kindString
	num      func(*side) int      // kindInt
	flag     func(*side) bool     // kindBool
	when     func(*side) int64    // kindTime: see timeKey
	list     func(*side) []string // kindList
}

// describe names the field with its kind, as in `string field "Status"`.
func (f *field) describe() string {
	if f.criteria == payload.CriteriaAttribute {
		return fmt.Sprintf("%s attribute %q", map[kind]string{kindString: "string", kindInt: "int", kindBool: "bool", kindTime: "time", kindList: "list"}[f.kind], f.name)
	}
	switch f.kind {
	case kindString:
		return fmt.Sprintf("string field %q", f.name)
	case kindInt:
		return fmt.Sprintf("int field %q", f.name)
	}
	return fmt.Sprintf("field %q", f.name)
}

// customFieldPrefix starts the name of a custom field: CustomField:<id>.
const customFieldPrefix = "CustomField:"

// fields holds the fixed fields by name.
var fields = map[string]*field{
	"Id": {name: "Id", criteria: payload.CriteriaId, kind: kindInt, ops: idOps,
		num: func(s *side) int { return s.t.Id }},
	"Subject": {name: "Subject", criteria: payload.CriteriaSubject, kind: kindString, ops: stringOps,
		str: func(s *side) string { return s.t.Subject }},
	"Status": {name: "Status", criteria: payload.CriteriaStatus, kind: kindString, ops: stringOps,
		str: func(s *side) string { return s.t.Status }},
	"Justification": {name: "Justification", criteria: payload.CriteriaJustification, kind: kindString, ops: stringOps,
		str: func(s *side) string { return s.t.Justification }},
	"Urgency": {name: "Urgency", criteria: payload.CriteriaUrgency, kind: kindString, ops: stringOps,
		str: func(s *side) string { return s.t.Urgency }},
	"ServiceFirstLevel": {name: "ServiceFirstLevel", criteria: payload.CriteriaServiceFirstLevel, kind: kindString, ops: stringOps,
		str: func(s *side) string { return s.t.ServiceFirstLevel }},
	"SlaSolutionTime": {name: "SlaSolutionTime", criteria: payload.CriteriaSlaSolutionTime, kind: kindInt, ops: intOps,
		num: func(s *side) int { return s.t.SlaSolutionTime }},
	"ActionCount": {name: "ActionCount", criteria: payload.CriteriaActionCount, kind: kindInt, ops: intOps,
		num: func(s *side) int { return s.t.ActionCount() }},
	"Event": {name: "Event", criteria: payload.CriteriaEvent, kind: kindEvent, ops: eventOps},
}

// fieldNames lists the fixed field names and the custom field form, for
// error messages.
var fieldNames = func() string {
	names := make([]string, 0, len(fields)+1)
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(append(names, customFieldPrefix+"<id>"), ", ")
}()

// lookupField resolves a field name. Custom fields and attributes (from
// schema, which may be nil) are built on demand.
func lookupField(name string, schema *Schema) (*field, error) {
	if f, ok := fields[name]; ok {
		return f, nil
	}
	if rest, ok := strings.CutPrefix(name, attrPrefix); ok {
		return attrField(name, rest, schema)
	}
	if rest, ok := strings.CutPrefix(name, customFieldPrefix); ok {
		id, err := strconv.Atoi(rest)
		if err != nil || id <= 0 || strconv.Itoa(id) != rest {
			return nil, fmt.Errorf("custom field %q must be %s<id> with a positive integer id", textcut.Cut(name, maxQuoted), customFieldPrefix)
		}
		return customField(name, id), nil
	}
	if name == "" {
		return nil, fmt.Errorf("field is required")
	}
	for n := range fields {
		if strings.EqualFold(n, name) {
			return nil, fmt.Errorf("unknown field %q (did you mean %q?)", name, n)
		}
	}
	if len(name) >= len(customFieldPrefix) && strings.EqualFold(name[:len(customFieldPrefix)], customFieldPrefix) {
		return nil, fmt.Errorf("unknown field %q (did you mean %q?)", textcut.Cut(name, maxQuoted), textcut.Cut(customFieldPrefix+name[len(customFieldPrefix):], maxQuoted))
	}
	return nil, fmt.Errorf("unknown field %q (known fields: %s)", textcut.Cut(name, maxQuoted), fieldNames)
}

// customField returns the field for custom field id: the Value of the
// ticket's first CustomFieldValues element with that CustomFieldId.
func customField(name string, id int) *field {
	return &field{name: name, criteria: payload.CriteriaCustomField, kind: kindString, ops: stringOps,
		str: func(s *side) string {
			v, _ := s.t.CustomField(id)
			return v
		}}
}
