package trigger

import (
	"cmp"
	"reflect"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/tickethooks/tickethooks/payload"
)

// nativeExpression compiles the syntax tree of a compiled expression (the
// tree expr has type-checked and optimized, the one its VM runs) to a Go
// closure, when every node of the tree is in the subset below. It returns
// nil otherwise, and the expression keeps running on expr's VM.
//
// The subset holds only constructs that cannot fail at run time and whose
// result is certain to equal the VM's:
//
//	true, false, !x, not x, x && y, x and y, x || y, x or y, parentheses
//	Ticket.<F> for the int fields Id and SlaSolutionTime and the string
//	  fields Subject, Status, Justification, Urgency and ServiceFirstLevel
//	Event, CustomField(<int literal>), string and int literals
//	a == b, a != b between two strings or two ints
//	a < b, a <= b, a > b, a >= b between two ints
//	a contains b, a startsWith b, a endsWith b between two strings
//	a in [...], a not in [...] with a list of literals of a's type, and
//	  an int in <integer>..<integer> (which expr turns into >= and <=)
//	Changed("F"), ChangedTo("F", literal), ChangedFrom("F", literal)
//	Attr.<name> of a string, int or bool attribute, and
//	  "literal" in Attr.<name> of a list attribute
//
// Everything else (Previous, arithmetic, functions and builtins, floats,
// nil, lists other than the right side of in, member access other than
// Ticket's fields, variables, predicates, ...) leaves the expression on
// the VM.
func nativeExpression(n ast.Node) cond {
	return boolExpr(n)
}

// constant returns a condition that always yields v.
func constant(v bool) cond {
	return func(_, _ *side, _ bool) bool { return v }
}

// byEvent returns a condition that yields ifCreated on creation and
// ifUpdated on update.
func byEvent(ifCreated, ifUpdated bool) cond {
	switch {
	case ifCreated == ifUpdated:
		return constant(ifCreated)
	case ifCreated:
		return func(_, _ *side, created bool) bool { return created }
	default:
		return func(_, _ *side, created bool) bool { return !created }
	}
}

// boolExpr compiles a node that yields a bool, or returns nil.
func boolExpr(n ast.Node) cond {
	switch n := n.(type) {
	case *ast.BoolNode:
		return constant(n.Value)
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return nil
		}
		c := boolExpr(n.Node)
		if c == nil {
			return nil
		}
		return func(a, b *side, created bool) bool { return !c(a, b, created) }
	case *ast.BinaryNode:
		if and, ok := isAnd(n.Operator); ok {
			return junction(n, and)
		}
		if n.Operator == "in" {
			return inExpr(n)
		}
		return compareExpr(n)
	case *ast.CallNode:
		if get, ok := attrGetter(n, "Bool"); ok {
			return func(a, _ *side, _ bool) bool { return a.attrs.Bool(get) }
		}
		return helperExpr(n)
	}
	return nil
}

// attrGetter reports whether n is the call the helper check made of
// Attr.<name> (the value after the change) for an attribute read with
// getter, and returns the name.
func attrGetter(n ast.Node, getter string) (string, bool) {
	call, ok := n.(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return "", false
	}
	m, ok := call.Callee.(*ast.MemberNode)
	if !ok || !m.Method {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "Attr" {
		return "", false
	}
	p, ok := m.Property.(*ast.StringNode)
	name, lit := call.Arguments[0].(*ast.StringNode)
	if !ok || !lit || p.Value != getter {
		return "", false
	}
	return name.Value, true
}

// isAnd reports whether op is && (true) or || (false); ok is false for
// other operators.
func isAnd(op string) (and, ok bool) {
	switch op {
	case "&&", "and":
		return true, true
	case "||", "or":
		return false, true
	}
	return false, false
}

// junction compiles a chain of && (and true) or || (and false) into one
// closure that evaluates its operands in order and stops at the first
// that decides the result, as the VM does.
func junction(n *ast.BinaryNode, and bool) cond {
	var cs []cond
	var collect func(ast.Node) bool
	collect = func(m ast.Node) bool {
		if b, ok := m.(*ast.BinaryNode); ok {
			if a, ok := isAnd(b.Operator); ok && a == and {
				return collect(b.Left) && collect(b.Right)
			}
		}
		c := boolExpr(m)
		if c == nil {
			return false
		}
		cs = append(cs, c)
		return true
	}
	if !collect(n) {
		return nil
	}
	if and {
		if len(cs) == 2 {
			x, y := cs[0], cs[1]
			return func(a, b *side, created bool) bool { return x(a, b, created) && y(a, b, created) }
		}
		return func(a, b *side, created bool) bool {
			for _, c := range cs {
				if !c(a, b, created) {
					return false
				}
			}
			return true
		}
	}
	if len(cs) == 2 {
		x, y := cs[0], cs[1]
		return func(a, b *side, created bool) bool { return x(a, b, created) || y(a, b, created) }
	}
	return func(a, b *side, created bool) bool {
		for _, c := range cs {
			if c(a, b, created) {
				return true
			}
		}
		return false
	}
}

// operand is a string or int value an expression compares: a field of the
// ticket after the change (get), or a value that depends at most on the
// kind of change: a literal (ifCreated == ifUpdated) or Event.
type operand[T comparable] struct {
	get                  func(*side) T
	ifCreated, ifUpdated T
}

// at returns the operand's value for a change.
func (o *operand[T]) at(t *side, created bool) T {
	switch {
	case o.get != nil:
		return o.get(t)
	case created:
		return o.ifCreated
	default:
		return o.ifUpdated
	}
}

// literal reports whether the operand is the same for every change, and
// its value.
func (o *operand[T]) literal() (T, bool) {
	return o.ifCreated, o.get == nil && o.ifCreated == o.ifUpdated
}

// ticketFields are the fields of payload.Ticket an expression can read as
// Ticket.<name> on the Go path, with the getters conditions use.
var ticketFields = func() map[string]*field {
	m := map[string]*field{}
	for _, name := range []string{"Id", "Subject", "Status", "Justification", "Urgency", "ServiceFirstLevel", "SlaSolutionTime"} {
		m[name] = fields[name]
	}
	return m
}()

// ticketField returns the field n reads when it is Ticket.<name> or
// Ticket["<name>"] for a field in ticketFields whose type, as expr
// checked it, has kind k.
func ticketField(n *ast.MemberNode, k reflect.Kind) *field {
	id, ok := n.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "Ticket" || n.Optional || n.Method {
		return nil
	}
	p, ok := n.Property.(*ast.StringNode)
	if !ok || n.Type() == nil || n.Type().Kind() != k {
		return nil
	}
	return ticketFields[p.Value]
}

// intLiteral returns the value of an integer literal that expr passes as
// an int.
func intLiteral(n ast.Node) (int, bool) {
	i, ok := n.(*ast.IntegerNode)
	if !ok || i.Type() == nil || i.Type().Kind() != reflect.Int {
		return 0, false
	}
	return i.Value, true
}

// stringOperand compiles a node that yields a string, or returns false.
func stringOperand(n ast.Node) (operand[string], bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return operand[string]{ifCreated: n.Value, ifUpdated: n.Value}, true
	case *ast.IdentifierNode:
		if n.Value == "Event" && n.Type() != nil && n.Type().Kind() == reflect.String {
			return operand[string]{ifCreated: eventCreated, ifUpdated: eventUpdated}, true
		}
	case *ast.MemberNode:
		if f := ticketField(n, reflect.String); f != nil && f.kind == kindString {
			return operand[string]{get: f.str}, true
		}
	case *ast.CallNode:
		if name, ok := attrGetter(n, "String"); ok {
			return operand[string]{get: func(s *side) string { return s.attrs.String(name) }}, true
		}
		if calleeName(n.Callee) != "CustomField" || len(n.Arguments) != 1 {
			break
		}
		if id, ok := intLiteral(n.Arguments[0]); ok {
			return operand[string]{get: customField("", id).str}, true
		}
	}
	return operand[string]{}, false
}

// intOperand compiles a node that yields an int, or returns false.
func intOperand(n ast.Node) (operand[int], bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		if v, ok := intLiteral(n); ok {
			return operand[int]{ifCreated: v, ifUpdated: v}, true
		}
	case *ast.MemberNode:
		if f := ticketField(n, reflect.Int); f != nil && f.kind == kindInt {
			return operand[int]{get: f.num}, true
		}
	case *ast.CallNode:
		if name, ok := attrGetter(n, "Int"); ok {
			return operand[int]{get: func(s *side) int { return s.attrs.Int(name) }}, true
		}
	}
	return operand[int]{}, false
}

// The comparisons of the subset, as the VM makes them.
var (
	stringComparisons = map[string]func(x, y string) bool{
		"==":         func(x, y string) bool { return x == y },
		"!=":         func(x, y string) bool { return x != y },
		"contains":   strings.Contains,
		"startsWith": strings.HasPrefix,
		"endsWith":   strings.HasSuffix,
	}
	intComparisons = map[string]func(x, y int) bool{
		"==": func(x, y int) bool { return x == y },
		"!=": func(x, y int) bool { return x != y },
		"<":  func(x, y int) bool { return x < y },
		"<=": func(x, y int) bool { return x <= y },
		">":  func(x, y int) bool { return x > y },
		">=": func(x, y int) bool { return x >= y },
	}
	// mirrored gives, for the comparisons that have one, the operator
	// that compares the operands the other way round: v < x is x > v.
	mirrored = map[string]string{"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
)

// compareExpr compiles a comparison of two strings or two ints, or
// returns nil.
func compareExpr(n *ast.BinaryNode) cond {
	if l, ok := stringOperand(n.Left); ok {
		r, ok := stringOperand(n.Right)
		if !ok {
			return nil
		}
		return compare(n.Operator, l, r, stringComparisons)
	}
	if l, ok := intOperand(n.Left); ok {
		r, ok := intOperand(n.Right)
		if !ok {
			return nil
		}
		return compare(n.Operator, l, r, intComparisons)
	}
	return nil
}

// compare compiles l op r. fieldCond builds the closure for a field
// compared with a literal, or returns nil for operators it does not
// specialize.
func compare[T cmp.Ordered](op string, l, r operand[T], ops map[string]func(x, y T) bool) cond {
	fn := ops[op]
	if fn == nil {
		return nil
	}
	// Both operands known for each kind of change: decide now.
	if l.get == nil && r.get == nil {
		return byEvent(fn(l.ifCreated, r.ifCreated), fn(l.ifUpdated, r.ifUpdated))
	}
	// A field and a literal: the closures structured conditions use.
	if v, ok := r.literal(); ok {
		if c := fieldCond(l.get, op, v); c != nil {
			return c
		}
	}
	if v, ok := l.literal(); ok {
		if c := fieldCond(r.get, mirrored[op], v); c != nil {
			return c
		}
	}
	return func(a, _ *side, created bool) bool { return fn(l.at(a, created), r.at(a, created)) }
}

// fieldCond compiles get(ticket) op v for the comparisons of the subset
// that the structured conditions also make, or returns nil.
func fieldCond[T cmp.Ordered](get func(*side) T, op string, v T) cond {
	switch op {
	case "==":
		return valueCond(get, payload.OperatorIs, v)
	case "!=":
		return valueCond(get, payload.OperatorIsNot, v)
	case "<":
		return func(a, _ *side, _ bool) bool { return get(a) < v }
	case ">":
		return func(a, _ *side, _ bool) bool { return get(a) > v }
	case "<=":
		return func(a, _ *side, _ bool) bool { return get(a) <= v }
	case ">=":
		return func(a, _ *side, _ bool) bool { return get(a) >= v }
	}
	return nil
}

// inExpr compiles x in [literals], or returns nil. expr's optimizer has
// turned a list of string literals, or of int literals with an int on the
// left, into a set, and other lists of literals into a []any that the VM
// compares element by element; lists of another type than x, of mixed
// types, or that are not literals stay on the VM.
func inExpr(n *ast.BinaryNode) cond {
	if name, ok := attrGetter(n.Right, "List"); ok {
		if v, ok := n.Left.(*ast.StringNode); ok {
			return listCond(func(s *side) []string { return s.attrs.List(name) }, payload.OperatorIncludes, v.Value)
		}
		return nil
	}
	c, ok := n.Right.(*ast.ConstantNode)
	if !ok {
		return nil
	}
	switch list := c.Value.(type) {
	case map[string]struct{}:
		if l, ok := stringOperand(n.Left); ok {
			return member(l, list)
		}
	case map[int]struct{}:
		if l, ok := intOperand(n.Left); ok {
			return member(l, list)
		}
	case []any:
		if l, ok := stringOperand(n.Left); ok {
			if set, ok := setOf[string](list); ok {
				return member(l, set)
			}
		} else if l, ok := intOperand(n.Left); ok {
			if set, ok := setOf[int](list); ok {
				return member(l, set)
			}
		}
	}
	return nil
}

// setOf returns the set of the elements of list when they all have type
// T.
func setOf[T comparable](list []any) (map[T]struct{}, bool) {
	set := make(map[T]struct{}, len(list))
	for _, e := range list {
		v, ok := e.(T)
		if !ok {
			return nil, false
		}
		set[v] = struct{}{}
	}
	return set, true
}

// smallSet is the size up to which member compares with each element
// rather than hashing.
const smallSet = 8

// member compiles "l in set".
func member[T comparable](l operand[T], set map[T]struct{}) cond {
	if l.get == nil {
		_, c := set[l.ifCreated]
		_, u := set[l.ifUpdated]
		return byEvent(c, u)
	}
	get := l.get
	if len(set) <= smallSet {
		elems := make([]T, 0, len(set))
		for v := range set {
			elems = append(elems, v)
		}
		return func(a, _ *side, _ bool) bool {
			v := get(a)
			for _, e := range elems {
				if e == v {
					return true
				}
			}
			return false
		}
	}
	own := make(map[T]struct{}, len(set))
	for v := range set {
		own[v] = struct{}{}
	}
	return func(a, _ *side, _ bool) bool {
		_, ok := own[get(a)]
		return ok
	}
}

// helperExpr compiles a call of Changed, ChangedTo or ChangedFrom with a
// literal field name (and a literal value), or returns nil. The closures
// are those of the changed, changed_to and changed_from conditions, which
// compare as the helpers do.
func helperExpr(n *ast.CallNode) cond {
	name := calleeName(n.Callee)
	args := 2
	switch name {
	case "Changed":
		args = 1
	case "ChangedTo", "ChangedFrom":
	default:
		return nil
	}
	if len(n.Arguments) != args {
		return nil
	}
	lit, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		return nil
	}
	f, ok := helperField(lit.Value)
	if !ok {
		return nil
	}
	if name == "Changed" {
		if f.kind == kindInt {
			return valueCond(f.num, payload.OperatorChanged, 0)
		}
		return valueCond(f.str, payload.OperatorChanged, "")
	}
	op := payload.OperatorChangedTo
	if name == "ChangedFrom" {
		op = payload.OperatorChangedFrom
	}
	v, ok := literalArgument(n.Arguments[1])
	if !ok {
		return nil
	}
	// As changedHelper: a value of another type never matches.
	if f.kind == kindInt {
		num, ok := toInt(v)
		if !ok {
			return constant(false)
		}
		return intCond(f.num, op, num)
	}
	s, ok := v.(string)
	if !ok {
		return constant(false)
	}
	return stringCond(f.str, op, s)
}

// literalArgument returns the value the VM passes for a literal argument
// to a parameter of type any: a string, an int, a float64 or a bool.
func literalArgument(n ast.Node) (any, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode:
		return intLiteral(n)
	case *ast.FloatNode:
		if n.Type() != nil && n.Type().Kind() == reflect.Float64 {
			return n.Value, true
		}
	case *ast.BoolNode:
		return n.Value, true
	}
	return nil, false
}
