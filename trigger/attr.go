package trigger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// AttrType is the type of a host attribute's value.
type AttrType string

// The attribute types, with the Go type of their values in Attrs.
const (
	AttrString AttrType = "string" // string
	AttrInt    AttrType = "int"    // int
	AttrBool   AttrType = "bool"   // bool
	AttrTime   AttrType = "time"   // time.Time
	AttrList   AttrType = "list"   // []string, such as tags
)

// Attribute declares one attribute that the host's tickets have beyond the
// data packet's fields, such as an assignee, a team, tags or the host's
// own UUID. Conditions name it as "Attr.<name>" and expressions as
// Attr.<name> (and PreviousAttr.<name> for the value before the change).
// Attributes never enter the data packet; a body template can put them in
// a request.
type Attribute struct {
	// Name is 1 to MaxAttrNameBytes bytes: a lower-case ASCII letter,
	// then lower-case letters, digits and underscores.
	Name string
	// Type is the type of the attribute's values.
	Type AttrType
}

// Limits of attributes.
const (
	// MaxAttributes is the most attributes a host can declare.
	MaxAttributes = 256
	// MaxAttrNameBytes is the longest attribute name.
	MaxAttrNameBytes = 64
	// MaxAttrBytes caps the size of the values of one side of a change
	// (all its strings and list elements, plus 16 bytes per value and
	// element), as Schema.Check counts it. The engine refuses a change
	// over it, so that the cost bound of every expression holds; a host
	// that builds Events itself must call Schema.Check.
	MaxAttrBytes = 64 << 10
	// MaxListItems is the most elements of a list attribute's value.
	MaxListItems = 256
)

// attrPrefix starts a condition field that names an attribute.
const attrPrefix = "Attr."

// Attrs holds a ticket's attribute values by name: a string, an int, a
// bool, a time.Time or a []string, as the attribute's type says. A
// missing attribute reads as the zero value of its type (an empty list
// for a list). A nil Attrs has no values.
type Attrs map[string]any

// The getters below are what expressions call when they read
// Attr.<name>; a value of another type than the one asked for reads as
// the zero value.

// String returns the string attribute name, or "".
func (a Attrs) String(name string) string { s, _ := a[name].(string); return s }

// Int returns the int attribute name, or 0.
func (a Attrs) Int(name string) int { n, _ := a[name].(int); return n }

// Bool returns the bool attribute name, or false.
func (a Attrs) Bool(name string) bool { b, _ := a[name].(bool); return b }

// Time returns the time attribute name, or the zero time.
func (a Attrs) Time(name string) time.Time { t, _ := a[name].(time.Time); return t }

// List returns the list attribute name, or an empty list (which a body
// template encodes as [], not null). Callers must not modify it.
func (a Attrs) List(name string) []string {
	if l, _ := a[name].([]string); l != nil {
		return l
	}
	return emptyList
}

// emptyList is the value of a missing list attribute. Being empty, it
// cannot be modified.
var emptyList = []string{}

// getter returns the name of the Attrs method that reads an attribute of
// type t.
func (t AttrType) getter() string {
	switch t {
	case AttrString:
		return "String"
	case AttrInt:
		return "Int"
	case AttrBool:
		return "Bool"
	case AttrTime:
		return "Time"
	case AttrList:
		return "List"
	}
	return ""
}

// Schema is a validated list of attributes, by name.
type Schema struct {
	byName map[string]AttrType
	names  []string // sorted
}

// ErrAttribute is matched by the errors of attribute declarations and of
// attribute values that do not fit them.
var ErrAttribute = errors.New("trigger: invalid attribute")

// NewSchema validates attribute declarations.
func NewSchema(attrs []Attribute) (*Schema, error) {
	if len(attrs) > MaxAttributes {
		return nil, fmt.Errorf("%w: %d attributes declared; the limit is %d", ErrAttribute, len(attrs), MaxAttributes)
	}
	s := &Schema{byName: make(map[string]AttrType, len(attrs))}
	for i, a := range attrs {
		if err := checkAttrName(a.Name); err != nil {
			return nil, fmt.Errorf("%w: attributes[%d]: %w", ErrAttribute, i, err)
		}
		if a.Type.getter() == "" {
			return nil, fmt.Errorf("%w: attribute %q: unknown type %q (want string, int, bool, time or list)", ErrAttribute, a.Name, textcut.Cut(string(a.Type), maxQuoted))
		}
		if _, dup := s.byName[a.Name]; dup {
			return nil, fmt.Errorf("%w: attribute %q is declared twice", ErrAttribute, a.Name)
		}
		s.byName[a.Name] = a.Type
		s.names = append(s.names, a.Name)
	}
	slices.Sort(s.names)
	return s, nil
}

// checkAttrName checks an attribute name.
func checkAttrName(name string) error {
	if name == "" || len(name) > MaxAttrNameBytes {
		return fmt.Errorf("name %q must be 1 to %d bytes", textcut.Cut(name, maxQuoted), MaxAttrNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_') {
			continue
		}
		return fmt.Errorf("name %q must be a lower-case ASCII letter followed by lower-case letters, digits and underscores", textcut.Cut(name, maxQuoted))
	}
	return nil
}

// Type returns the type of the attribute name, and whether it is
// declared.
func (s *Schema) Type(name string) (AttrType, bool) {
	if s == nil {
		return "", false
	}
	t, ok := s.byName[name]
	return t, ok
}

// Attributes returns the declarations, sorted by name.
func (s *Schema) Attributes() []Attribute {
	if s == nil {
		return nil
	}
	out := make([]Attribute, len(s.names))
	for i, n := range s.names {
		out[i] = Attribute{Name: n, Type: s.byName[n]}
	}
	return out
}

// Check reports whether values fits the schema: every name declared,
// every value of its attribute's type (nil reads as absent), lists of at
// most MaxListItems, and at most MaxAttrBytes in all. The error names the attribute at fault and
// matches ErrAttribute.
func (s *Schema) Check(values Attrs) error {
	size := 0
	for name, v := range values {
		t, ok := s.Type(name)
		if !ok {
			return fmt.Errorf("%w: %q is not a declared attribute", ErrAttribute, textcut.Cut(name, maxQuoted))
		}
		size += 16
		fits := false
		switch v := v.(type) {
		case string:
			fits = t == AttrString
			size += len(v)
		case int:
			fits = t == AttrInt
		case bool:
			fits = t == AttrBool
		case time.Time:
			fits = t == AttrTime
		case []string:
			fits = t == AttrList
			if len(v) > MaxListItems {
				return fmt.Errorf("%w: attribute %q has %d elements; the limit is %d (MaxListItems)", ErrAttribute, name, len(v), MaxListItems)
			}
			for _, e := range v {
				size += 16 + len(e)
			}
		case nil:
			fits = true
		}
		if !fits {
			return fmt.Errorf("%w: attribute %q is a %s; its value is a %T", ErrAttribute, name, t, v)
		}
	}
	if size > MaxAttrBytes {
		return fmt.Errorf("%w: values take %d bytes; the limit is %d (MaxAttrBytes)", ErrAttribute, size, MaxAttrBytes)
	}
	return nil
}

// attrField returns the condition field "Attr.<name>" for a declared
// attribute.
func attrField(fieldName, name string, schema *Schema) (*field, error) {
	t, ok := schema.Type(name)
	if !ok {
		if schema == nil || len(schema.names) == 0 {
			return nil, fmt.Errorf("unknown attribute %q: no attributes are declared (Options.Attributes)", textcut.Cut(name, maxQuoted))
		}
		return nil, fmt.Errorf("unknown attribute %q (declared: %s)", textcut.Cut(name, maxQuoted), textcut.Cut(strings.Join(schema.names, ", "), 512))
	}
	f := &field{name: fieldName, criteria: payload.CriteriaAttribute}
	switch t {
	case AttrString:
		f.kind, f.ops = kindString, stringOps
		f.str = func(s *side) string { return s.attrs.String(name) }
	case AttrInt:
		f.kind, f.ops = kindInt, intOps
		f.num = func(s *side) int { return s.attrs.Int(name) }
	case AttrBool:
		f.kind, f.ops = kindBool, boolOps
		f.flag = func(s *side) bool { return s.attrs.Bool(name) }
	case AttrTime:
		f.kind, f.ops = kindTime, timeOps
		f.when = func(s *side) int64 { return timeKey(s.attrs.Time(name)) }
	case AttrList:
		f.kind, f.ops = kindList, listOps
		f.list = func(s *side) []string { return s.attrs.List(name) }
	}
	return f, nil
}

// timeKey orders times as conditions compare them: by their instant, to
// the microsecond, with the zero time (absent) as 0.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// listCond compiles a condition on a list attribute: includes and the
// change operators read it as a set.
func listCond(get func(*side) []string, op payload.Operator, v string) cond {
	switch op {
	case payload.OperatorIncludes:
		return func(a, _ *side, _ bool) bool { return slices.Contains(get(a), v) }
	case payload.OperatorNotIncludes:
		return func(a, _ *side, _ bool) bool { return !slices.Contains(get(a), v) }
	case payload.OperatorPresent:
		return func(a, _ *side, _ bool) bool { return len(get(a)) > 0 }
	case payload.OperatorNotPresent:
		return func(a, _ *side, _ bool) bool { return len(get(a)) == 0 }
	case payload.OperatorChanged:
		return func(a, b *side, _ bool) bool { return !sameSet(get(a), get(b)) }
	case payload.OperatorNotChanged:
		return func(a, b *side, _ bool) bool { return sameSet(get(a), get(b)) }
	case payload.OperatorChangedTo: // v was added
		return func(a, b *side, _ bool) bool { return added(get(a), get(b), v) }
	case payload.OperatorChangedFrom: // v was removed
		return func(a, b *side, _ bool) bool { return added(get(b), get(a), v) }
	case payload.OperatorNotChangedTo:
		return func(a, b *side, _ bool) bool { return !added(get(a), get(b), v) }
	case payload.OperatorNotChangedFrom:
		return func(a, b *side, _ bool) bool { return !added(get(b), get(a), v) }
	}
	return nil // unreachable: the operator was checked against the field
}

// added reports whether v is in now but not in old.
func added(now, old []string, v string) bool {
	return slices.Contains(now, v) && !slices.Contains(old, v)
}

// sameSet reports whether two lists hold the same elements, ignoring
// order and repetition. It does not allocate.
func sameSet(x, y []string) bool {
	for _, e := range x {
		if !slices.Contains(y, e) {
			return false
		}
	}
	for _, e := range y {
		if !slices.Contains(x, e) {
			return false
		}
	}
	return true
}

// attrEqual compares two attribute values as the change operators do:
// lists as sets, times by instant, and a missing value (or one of a type
// attributes cannot have) as the zero value of the other's type.
func attrEqual(x, y any) bool {
	x, y = attrValue(x), attrValue(y)
	if x == nil {
		x, y = y, x
	}
	switch xv := x.(type) {
	case nil:
		return true
	case []string:
		yv, _ := y.([]string)
		return sameSet(xv, yv)
	case time.Time:
		yv, _ := y.(time.Time)
		return timeKey(xv) == timeKey(yv)
	case string:
		yv, _ := y.(string)
		return xv == yv && (y != nil || xv == "")
	case int:
		yv, _ := y.(int)
		return xv == yv && (y != nil || xv == 0)
	case bool:
		yv, _ := y.(bool)
		return xv == yv && (y != nil || !xv)
	}
	return false
}

// attrValue returns v when it is a value an attribute can have (a string,
// int, bool, time.Time or []string), and nil otherwise, which reads as
// missing.
func attrValue(v any) any {
	switch v.(type) {
	case string, int, bool, time.Time, []string:
		return v
	}
	return nil
}

// attrChangedTo is ChangedTo for an attribute: on a list, whether v was
// added; otherwise whether the value changed and now equals v.
func attrChangedTo(now, old, v any) bool {
	if l, ok := now.([]string); ok {
		s, ok := v.(string)
		o, _ := old.([]string)
		return ok && added(l, o, s)
	}
	if l, ok := old.([]string); ok {
		s, ok := v.(string)
		return ok && added(nil, l, s)
	}
	if n, ok := toInt(v); ok {
		if _, isInt := now.(int); isInt || now == nil {
			v = n
		}
	}
	return attrEqual(now, v) && !attrEqual(now, old)
}
