package trigger

import (
	"fmt"
	"math"
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// The cost bound.
//
// costCheck walks an expression's type-checked syntax tree (before expr
// optimizes it) and computes, for each node, an upper bound on the values
// it can yield and on the steps and bytes its evaluation takes, on any
// tickets of at most BudgetTicketSize bytes encoded. The bound is an
// abstract evaluation: a string is its greatest length, an int an interval,
// a list its greatest length, the greatest total size of its elements and
// one abstract element, a ticket (or part of one) its greatest encoded
// size, from which the bounds of its strings and lists follow.
//
// A closure run over a list of n elements whose sizes sum to at most T,
// each at most e, costs at most ceil(T/e) runs at size e plus n runs at
// size 0: every cost the walk computes is a sum, product or maximum of
// sizes with non-negative coefficients, so it is convex in the element
// sizes and its sum over the elements is greatest when they are all empty
// but for as many as the total allows, which are as large as they can be.
// This is what keeps any(Ticket.Actions, .Description contains "x") linear
// in the ticket while all(Ticket.Actions, {all(Ticket.Actions, ...)}) is
// quadratic. A reduce accumulator is followed for up to reduceRounds
// rounds; one that still grows after them must grow by the same amount
// each round, and is extrapolated.
//
// Anything the walk does not know how to bound (a builtin outside
// allowedBuiltins, a method it does not know, a value of unknown type used
// where its size matters, a range with unbounded ends) is refused: the
// bound is conservative.

// inf is the saturation value of sizes and costs.
const inf = uint64(1) << 62

// costFuel is the most nodes the walk visits for one expression: closures
// are walked twice and reduce bodies up to reduceRounds+1 times, so deep
// nesting could otherwise take long to load.
const costFuel = 50_000

// closureSteps is the steps counted for each run of a closure body
// besides the body's own: the VM runs about as many instructions to move
// to the next element.
const closureSteps = 8

// recordSteps is the steps counted for reading a field or an element of
// a struct, which the VM does by reflection.
const recordSteps = 8

// reduceRounds is how many rounds of a reduce the walk follows before it
// extrapolates the accumulator's growth.
const reduceRounds = 32

// cost is a bound on the work and memory of evaluating a node.
type cost struct{ steps, mem uint64 }

func (c cost) plus(d cost) cost { return cost{sadd(c.steps, d.steps), sadd(c.mem, d.mem)} }
func (c cost) times(n uint64) cost {
	return cost{smul(c.steps, n), smul(c.mem, n)}
}
func (c cost) max(d cost) cost { return cost{max(c.steps, d.steps), max(c.mem, d.mem)} }

// runes returns the cost of processing b bytes rune by rune.
func runes(b uint64) cost { return cost{steps: b} }

// touch returns the cost of reading or writing b bytes, allocating alloc.
func touch(b, alloc uint64) cost {
	return cost{steps: sadd(b/bytesPerStep, alloc/bytesPerAllocStep), mem: alloc}
}

func sadd(a, b uint64) uint64 {
	if a >= inf || b >= inf || a+b >= inf {
		return inf
	}
	return a + b
}

func smul(a, b uint64) uint64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a >= inf/b {
		return inf
	}
	return a * b
}

// frame is the scope of one closure run.
type frame struct {
	item, acc aval
	index     aval
	keepIndex bool // index is set by the caller, for all the runs it stands for
}

// binding is a let variable.
type binding struct {
	name string
	val  aval
}

// costCheck bounds the cost of an expression.
type costCheck struct {
	fail   func(n ast.Node, msg string) // reports the first problem
	failed bool
	fuel   int
	frames []frame
	vars   []binding
	env    aval
	envT   reflect.Type // Env or TemplateEnv
}

// checkCost reports, through fail, the first node of tree whose cost bound
// exceeds the budget or cannot be computed. env is the type of the
// environment: Env, or TemplateEnv for a body template.
func checkCost(tree ast.Node, env reflect.Type, fail func(n ast.Node, msg string)) {
	c := &costCheck{fail: fail, fuel: costFuel, envT: env,
		env: aval{k: aRecord, t: env, size: 2 * BudgetTicketSize}}
	c.eval(tree)
}

func (c *costCheck) refuse(n ast.Node, format string, args ...any) (aval, cost) {
	if !c.failed {
		c.failed = true
		c.fail(n, fmt.Sprintf(format, args...))
	}
	return aval{k: aUnknown, size: inf}, cost{inf, inf}
}

// eval bounds the value and cost of n, and refuses n when its cost is over
// the budget.
func (c *costCheck) eval(n ast.Node) (aval, cost) {
	if c.failed {
		return aval{k: aUnknown, size: inf}, cost{inf, inf}
	}
	if c.fuel--; c.fuel < 0 {
		return c.refuse(n, "the expression is too complex for its cost to be bounded")
	}
	v, k := c.node(n)
	k.steps = sadd(k.steps, 1)
	if c.failed {
		return v, k
	}
	if k.mem > MaxExpressionMemory {
		return c.refuse(n, "%s can allocate %s on a ticket of %d KiB; the budget is %d MiB",
			describe(n), amount(k.mem, "bytes"), BudgetTicketSize>>10, MaxExpressionMemory>>20)
	}
	if k.steps > MaxExpressionSteps {
		return c.refuse(n, "%s can take %s on a ticket of %d KiB; the budget is %d",
			describe(n), amount(k.steps, "steps"), BudgetTicketSize>>10, MaxExpressionSteps)
	}
	return v, k
}

// describe names the construct n for an error message.
func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.BuiltinNode:
		return n.Name + "()"
	case *ast.BinaryNode:
		if n.Operator == ".." {
			return "the range " + n.String()
		}
		return fmt.Sprintf("the %q operator", n.Operator)
	case *ast.CallNode:
		return calleeName(n.Callee) + "()"
	case *ast.VariableDeclaratorNode:
		return "let " + n.Name
	}
	s := n.String()
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// amount formats a bound for an error message.
func amount(v uint64, unit string) string {
	if v >= inf {
		return "an unbounded number of " + unit
	}
	return fmt.Sprintf("up to %d %s", v, unit)
}

// node bounds n's value and the cost of evaluating it, but for the step
// counted for n itself.
func (c *costCheck) node(n ast.Node) (aval, cost) {
	switch n := n.(type) {
	case *ast.NilNode:
		return aval{k: aNil}, cost{}
	case *ast.BoolNode, *ast.FloatNode:
		return scalarVal, cost{}
	case *ast.IntegerNode:
		return intVal(n.Value, n.Value), cost{}
	case *ast.StringNode:
		return strVal(uint64(len(n.Value))), cost{}
	case *ast.BytesNode:
		return strVal(uint64(len(n.Value))), cost{}
	case *ast.IdentifierNode:
		return c.identifier(n)
	case *ast.PointerNode:
		if len(c.frames) == 0 {
			return c.refuse(n, "%s is used outside a closure", describe(n))
		}
		f := c.frames[len(c.frames)-1]
		switch n.Name {
		case "":
			return f.item, cost{}
		case "acc":
			return f.acc, cost{}
		case "index":
			return f.index, cost{}
		}
		return c.refuse(n, "the library cannot bound #%s", n.Name)
	case *ast.ChainNode:
		return c.eval(n.Node)
	case *ast.UnaryNode:
		v, k := c.eval(n.Node)
		if n.Operator == "-" && v.k == aInt {
			if v.lo == math.MinInt {
				return anyInt, k
			}
			return intVal(-v.hi, -v.lo), k
		}
		if n.Operator == "+" {
			return v, k
		}
		return scalarVal, k
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.MemberNode:
		return c.member(n)
	case *ast.SliceNode:
		v, k := c.eval(n.Node)
		for _, x := range []ast.Node{n.From, n.To} {
			if x != nil {
				_, kx := c.eval(x)
				k = k.plus(kx)
			}
		}
		if v.k == aList {
			k = k.plus(touch(0, smul(v.n, 16)))
		}
		return v, k
	case *ast.CallNode:
		return c.call(n)
	case *ast.BuiltinNode:
		return c.builtin(n)
	case *ast.ConditionalNode:
		_, k := c.eval(n.Cond)
		v1, k1 := c.eval(n.Exp1)
		v2, k2 := c.eval(n.Exp2)
		return join(v1, v2), k.plus(k1.max(k2))
	case *ast.VariableDeclaratorNode:
		v, k := c.eval(n.Value)
		c.vars = append(c.vars, binding{n.Name, v})
		r, kr := c.eval(n.Expr)
		c.vars = c.vars[:len(c.vars)-1]
		return r, k.plus(kr)
	case *ast.SequenceNode:
		var v aval
		var k cost
		for _, x := range n.Nodes {
			var kx cost
			v, kx = c.eval(x)
			k = k.plus(kx)
		}
		return v, k
	case *ast.ArrayNode:
		elem, k, size := aval{k: aNil}, cost{}, uint64(0) // join(nil, v) is v
		for _, x := range n.Nodes {
			v, kx := c.eval(x)
			k, size, elem = k.plus(kx), sadd(size, v.size), join(elem, v)
		}
		return listVal(uint64(len(n.Nodes)), size, elem), k.plus(touch(0, uint64(16*len(n.Nodes))))
	case *ast.MapNode:
		elem, k, size := aval{k: aNil}, cost{}, uint64(0)
		for _, p := range n.Pairs {
			pair, ok := p.(*ast.PairNode)
			if !ok {
				return c.refuse(p, "the library cannot bound %s", describe(p))
			}
			kk, kc := c.eval(pair.Key)
			v, kv := c.eval(pair.Value)
			k, size, elem = k.plus(kc).plus(kv), sadd(size, sadd(kk.size, v.size)), join(elem, v)
		}
		return aval{k: aMap, n: uint64(len(n.Pairs)), size: size, elem: &elem}, k.plus(touch(0, uint64(48*len(n.Pairs))))
	}
	return c.refuse(n, "the library cannot bound %s", describe(n))
}

// identifier bounds a variable or a field of the environment.
func (c *costCheck) identifier(n *ast.IdentifierNode) (aval, cost) {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == n.Value {
			return c.vars[i].val, cost{}
		}
	}
	switch n.Value {
	case "$env":
		return c.env, cost{}
	case "Event":
		return strVal(uint64(len(eventCreated))), cost{}
	}
	if f, ok := c.envT.FieldByName(n.Value); ok {
		return typeVal(f.Type, BudgetTicketSize), cost{}
	}
	return c.refuse(n, "the library cannot bound %s", describe(n))
}

// member bounds x.f and x[i].
func (c *costCheck) member(n *ast.MemberNode) (aval, cost) {
	v, k := c.eval(n.Node)
	_, kp := c.eval(n.Property)
	k = k.plus(kp)
	switch v.k {
	case aList, aMap:
		return *v.elem, k
	case aString:
		return strVal(4), k
	case aRecord:
		if name, ok := n.Property.(*ast.StringNode); ok {
			if f, ok := v.t.FieldByName(name.Value); ok && f.IsExported() {
				return typeVal(f.Type, v.size), k.plus(cost{steps: recordSteps})
			}
		}
	}
	return c.refuse(n, "the library cannot bound %s", describe(n))
}

// binary bounds a binary operator.
func (c *costCheck) binary(n *ast.BinaryNode) (aval, cost) {
	a, ka := c.eval(n.Left)
	b, kb := c.eval(n.Right)
	k := ka.plus(kb)
	switch n.Operator {
	case "and", "&&", "or", "||", "<", ">", "<=", ">=", "startsWith", "endsWith":
		return scalarVal, k.plus(touch(min(a.size, b.size), 0))
	case "==", "!=":
		return scalarVal, k.plus(compareCost(a, b, 1))
	case "contains":
		return scalarVal, k.plus(touch(smul(sadd(a.size, b.size), 2), 0))
	case "matches":
		// RE2 matching is linear in the text times the program's size.
		pat, ok := n.Right.(*ast.StringNode)
		if !ok {
			return c.refuse(n, "the pattern of matches must be a string literal, so that its cost can be bounded")
		}
		steps, insts := regexpCost(pat.Value, a.size)
		return scalarVal, k.plus(cost{steps: steps}).plus(touch(0, smul(insts, 64)))
	case "in":
		switch b.k {
		case aList:
			return scalarVal, k.plus(compareCost(a, b.withElem(), b.n))
		case aMap, aRecord:
			return scalarVal, k.plus(touch(a.size, 0))
		}
		return c.refuse(n, "the library cannot bound %s", describe(n))
	case "??":
		return join(a, b), k
	case "..":
		if a.k != aInt || b.k != aInt {
			return c.refuse(n, "the library cannot bound the range %s", n.String())
		}
		count := uint64(0)
		if b.hi >= a.lo {
			count = sadd(uint64(b.hi-a.lo), 1)
			if b.hi-a.lo < 0 { // overflow
				count = inf
			}
		}
		if count >= inf || count > MaxExpressionMemory/8 {
			return c.refuse(n, "the range %s can hold %s; use bounds that are literals or lengths", n.String(), amount(count, "ints"))
		}
		lo, hi := a.lo, b.hi
		return listVal(count, smul(count, scalarSize), intVal(lo, hi)), k.plus(touch(smul(count, 8), smul(count, 8)))
	case "+":
		switch {
		case a.k == aString && b.k == aString:
			s := sadd(a.size, b.size)
			return strVal(s), k.plus(touch(s, s))
		case a.k == aInt && b.k == aInt:
			return intAdd(a, b), k
		case a.k == aScalar && b.k != aString && b.k != aList, a.k == aInt && b.k == aScalar:
			return scalarVal, k
		}
	case "-":
		switch {
		case a.k == aInt && b.k == aInt:
			if b.lo == math.MinInt {
				return anyInt, k
			}
			return intAdd(a, intVal(-b.hi, -b.lo)), k
		case a.k == aInt || a.k == aScalar:
			return scalarVal, k
		}
	case "*":
		switch {
		case a.k == aInt && b.k == aInt:
			return intMul(a, b), k
		case a.k == aInt || a.k == aScalar:
			return scalarVal, k
		}
	case "/", "**", "^":
		if a.k == aInt || a.k == aScalar {
			return scalarVal, k
		}
	case "%":
		if a.k == aInt {
			return anyInt, k
		}
	}
	return c.refuse(n, "the library cannot bound %s", describe(n))
}

// compareCost bounds comparing a with n values whose sizes sum to at most
// b.size, each like b. Strings compare by their bytes; other values by
// reflection, field by field and element by element, at a step for a few
// bytes.
func compareCost(a, b aval, n uint64) cost {
	switch {
	case a.k == aNil || b.k == aNil:
		return cost{steps: n}
	case a.k == aString && b.k == aString:
		return cost{steps: sadd(n, min(smul(a.size, n), b.size)/bytesPerStep)}
	}
	return cost{steps: sadd(n, sadd(smul(a.size, n), b.size)/4)}
}

// withElem returns a bound on one element of list v, with the size of all
// of them: compareCost's b for a list.
func (v aval) withElem() aval {
	e := *v.elem
	e.size = v.size
	return e
}

// intAdd adds two intervals, widening on overflow.
func intAdd(a, b aval) aval {
	lo, ok1 := addInt(a.lo, b.lo)
	hi, ok2 := addInt(a.hi, b.hi)
	if !ok1 || !ok2 {
		return anyInt
	}
	return intVal(lo, hi)
}

func addInt(a, b int) (int, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// intMul multiplies two intervals, widening on overflow.
func intMul(a, b aval) aval {
	lo, hi := math.MaxInt, math.MinInt
	for _, x := range []int{a.lo, a.hi} {
		for _, y := range []int{b.lo, b.hi} {
			p := x * y
			if x != 0 && (p/x != y || (x == -1 && y == math.MinInt) || (y == -1 && x == math.MinInt)) {
				return anyInt
			}
			lo, hi = min(lo, p), max(hi, p)
		}
	}
	return intVal(lo, hi)
}

// call bounds a call of one of Env's helpers or of a known method.
func (c *costCheck) call(n *ast.CallNode) (aval, cost) {
	var k cost
	args := make([]aval, len(n.Arguments))
	for i, x := range n.Arguments {
		var kx cost
		args[i], kx = c.eval(x)
		k = k.plus(kx)
	}
	scan := touch(4*BudgetTicketSize, 0) // a helper reads at most both tickets, twice
	switch name := calleeName(n.Callee); name {
	case "Changed", "ChangedTo", "ChangedFrom":
		return scalarVal, k.plus(scan)
	case "CustomField":
		return strVal(BudgetTicketSize), k.plus(scan)
	}
	m, ok := n.Callee.(*ast.MemberNode)
	if !ok {
		return c.refuse(n, "the library cannot bound the call %s", describe(n))
	}
	if isAttrRef(m.Node) {
		// A getter call the helper check made of Attr.<name>: a map
		// lookup, and at most MaxAttrBytes of values.
		read := touch(64, 0)
		switch name, _ := m.Property.(*ast.StringNode); {
		case name == nil:
		case name.Value == "String":
			return strVal(MaxAttrBytes), k.plus(read)
		case name.Value == "List":
			return listVal(MaxListItems, MaxAttrBytes, strVal(MaxAttrBytes)), k.plus(read)
		case name.Value == "Int":
			return anyInt, k.plus(read)
		case name.Value == "Bool", name.Value == "Time":
			return scalarVal, k.plus(read)
		}
	}
	recv, kr := c.eval(m.Node)
	k = k.plus(kr)
	name, _ := m.Property.(*ast.StringNode)
	if recv.k == aRecord && name != nil {
		switch name.Value {
		case "CustomField":
			return strVal(recv.size), k.plus(touch(recv.size, 0))
		case "ActionCount":
			return anyInt, k.plus(touch(0, 0))
		case "Clone":
			return recv, k.plus(touch(recv.size, sadd(recv.size, smul(recv.size, 16))))
		case "MarshalJSON":
			s := smul(recv.size, 6)
			return strVal(s), k.plus(touch(s, s))
		}
	}
	if recv.k == aScalar && name != nil {
		// A method of time.Time or time.Duration: its result is about as
		// long as its layout argument.
		s := uint64(64)
		for _, a := range args {
			s = sadd(s, smul(a.size, 8))
		}
		if t := n.Type(); t != nil && t.Kind() == reflect.String {
			return strVal(s), k.plus(touch(s, s))
		}
		return scalarVal, k.plus(touch(s, 0))
	}
	return c.refuse(n, "the library cannot bound the call %s", describe(n))
}

// closure bounds running body once per element of list, with frame fr
// (whose item is set for each run). It returns the bound on the body's
// value, the total size of the values of all runs, and the total cost.
func (c *costCheck) closure(list aval, body ast.Node, fr frame) (aval, uint64, cost) {
	if list.k != aList {
		v, k := c.refuse(body, "the library cannot bound a closure over %s", kindName(list))
		return v, inf, k
	}
	if !fr.keepIndex {
		fr.index = intVal(-1, int(min(list.n, math.MaxInt32)))
	}
	each := cost{steps: closureSteps}
	if list.elem.k == aRecord {
		// The VM reads a struct element by reflection, copying it.
		each = cost{steps: closureSteps + recordSteps, mem: uint64(list.elem.t.Size())}
	}
	run := func(item aval) (aval, cost) {
		fr.item = item
		c.frames = append(c.frames, fr)
		v, k := c.eval(body)
		c.frames = c.frames[:len(c.frames)-1]
		return v, k.plus(each)
	}
	big := *list.elem
	vb, kb := run(big)
	if !big.sized() || big.size == 0 {
		return vb, smul(list.n, vb.size), kb.times(list.n)
	}
	// As many elements at their largest as the total allows, and every
	// element at size 0.
	full := min(list.n, sadd(list.size/big.size, 1))
	vs, ks := run(big.withSize(0))
	total := sadd(smul(full, vb.size), smul(list.n, vs.size))
	return join(vb, vs), total, kb.times(full).plus(ks.times(list.n))
}

func kindName(v aval) string {
	switch v.k {
	case aString:
		return "a string"
	case aMap:
		return "a map"
	case aRecord:
		return "a " + v.t.Name()
	}
	return "a value of unknown type"
}
