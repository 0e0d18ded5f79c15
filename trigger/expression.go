package trigger

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// The helpers whose first argument names a field.
var fieldHelpers = map[string]bool{"Changed": true, "ChangedTo": true, "ChangedFrom": true}

// exprProblem is a problem found while compiling an expression.
type exprProblem struct {
	line, column int // from 1; 0 when unknown
	msg          string
	budget       bool // a cost problem, which matches ErrBudget
}

// err returns the problem as an error.
func (p exprProblem) err() error {
	if p.budget {
		return &budgetError{msg: p.msg}
	}
	return errors.New(p.msg)
}

// compileExpression compiles src to a program that yields a bool.
func compileExpression(src string, o *options) (*vm.Program, []exprProblem) {
	return compileSource(src, o.maxExpressionLength, o, exprKind{env: Env{}, asBool: true})
}

// exprKind says what a source is compiled as: an expression of a trigger
// (over Env, yielding a bool) or a body template (over TemplateEnv,
// yielding any value).
type exprKind struct {
	env    any  // the environment: Env{} or TemplateEnv{}
	asBool bool // the result must be a bool
	// result, when set, checks the type-checked tree's result and returns
	// a problem with it, or "".
	result func(tree ast.Node) string
}

// compileSource compiles src, at most maxLen bytes long, as kind says.
func compileSource(src string, maxLen int, o *options, kind exprKind) (*vm.Program, []exprProblem) {
	if len(src) > maxLen {
		return nil, []exprProblem{{msg: fmt.Sprintf("is %d bytes long; the limit is %d", len(src), maxLen)}}
	}
	check := &helperCheck{source: file.NewSource(src), schema: o.schema}
	program, err := compileExpr(src, o, check, kind)
	if len(check.problems) > 0 {
		return nil, check.problems
	}
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			p := exprProblem{msg: fe.Message}
			if fe.Line > 0 {
				p.line, p.column = fe.Line, fe.Column+1
			}
			return nil, []exprProblem{p}
		}
		return nil, []exprProblem{{msg: err.Error()}}
	}
	return program, nil
}

// compileExpr compiles src as expr.Compile does, checking the cost bound
// of the type-checked tree before expr optimizes it, and turning a panic
// inside expr into an error. A cost problem is added to check's problems.
func compileExpr(src string, o *options, check *helperCheck, kind exprKind) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("cannot compile: %v", r)
		}
	}()
	config := conf.CreateNew()
	for _, op := range exprOptions(o, check, kind) {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := checker.ParseCheck(src, config)
	if err == nil {
		check.strayAttrs()
	}
	if err != nil || len(check.problems) > 0 {
		return nil, err
	}
	if kind.result != nil {
		if msg := kind.result(tree.Node); msg != "" {
			check.add(leftmost(tree.Node), msg)
			return nil, nil
		}
	}
	checkCost(tree.Node, reflect.TypeOf(kind.env), func(n ast.Node, msg string) {
		check.add(n, msg)
		check.problems[len(check.problems)-1].budget = true
	})
	if len(check.problems) > 0 {
		return nil, nil
	}
	if err := optimizer.Optimize(&tree.Node, config); err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fe.Bind(tree.Source)
		}
		return nil, err
	}
	return compiler.Compile(tree, config)
}

// exprOptions are the options expressions (and templates) are compiled
// with.
func exprOptions(o *options, check *helperCheck, kind exprKind) []expr.Option {
	ops := []expr.Option{expr.Env(kind.env)}
	if kind.asBool {
		ops = append(ops, expr.AsBool())
	}
	ops = append(ops,
		expr.MaxNodes(uint(o.maxNodes)),
		expr.Patch(check),
	)
	// Only the builtins whose cost the bound knows; repeat, for one, can
	// build a string of gigabytes in one call.
	for _, b := range builtin.Builtins {
		if !allowedBuiltins[b.Name] {
			ops = append(ops, expr.DisableBuiltin(b.Name))
		}
	}
	return ops
}

// helperCheck is an expr patch visitor that checks, before type checking,
// that each call of a Changed helper names a field with a string literal,
// and that each Attr.<name> and PreviousAttr.<name> names a declared
// attribute. It rewrites the latter to the call of the Attrs getter of
// the attribute's type, such as Attr.List("tags"), so that the checker
// knows its type.
type helperCheck struct {
	source   file.Source
	schema   *Schema
	problems []exprProblem
	attrRefs []ast.Node        // every Attr and PreviousAttr seen
	readers  map[ast.Node]bool // those that are the receiver of a getter call made here
	envRefs  []ast.Node        // every $env seen
	envNamed map[ast.Node]bool // those followed by a literal name: $env.X, $env["X"]
}

// Visit implements ast.Visitor.
func (c *helperCheck) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == "$env" {
		c.envRefs = append(c.envRefs, id)
	}
	if m, ok := (*node).(*ast.MemberNode); ok {
		if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			if _, lit := m.Property.(*ast.StringNode); lit {
				if c.envNamed == nil {
					c.envNamed = map[ast.Node]bool{}
				}
				c.envNamed[id] = true
			}
		}
	}
	if isAttrRef(*node) {
		c.attrRefs = append(c.attrRefs, *node)
	}
	if m, ok := (*node).(*ast.MemberNode); ok && isAttrRef(m.Node) {
		c.attrMember(node, m)
		return
	}
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	name := calleeName(call.Callee)
	if !fieldHelpers[name] || len(call.Arguments) == 0 {
		return // not a helper, or an arity error the checker reports
	}
	arg := call.Arguments[0]
	lit, ok := arg.(*ast.StringNode)
	if !ok {
		c.add(leftmost(arg), fmt.Sprintf("the first argument of %s must be a string literal naming a field", name))
		return
	}
	f, err := lookupField(lit.Value, c.schema)
	if err != nil {
		c.add(arg, fmt.Sprintf("%s: %v", name, err))
		return
	}
	if !f.ops.has(payload.OperatorChanged) {
		c.add(arg, fmt.Sprintf("%s does not apply to field %q, which does not change", name, f.name))
		return
	}
	if name == "Changed" || len(call.Arguments) < 2 {
		return
	}
	// A literal value of the wrong type could never match.
	val := call.Arguments[1]
	fits := true
	switch v := val.(type) {
	case *ast.StringNode:
		fits = f.kind == kindString || f.kind == kindList
	case *ast.IntegerNode:
		fits = f.kind == kindInt
	case *ast.FloatNode:
		_, integral := floatToInt(v.Value)
		fits = f.kind == kindInt && integral
	case *ast.BoolNode:
		fits = f.kind == kindBool
	case *ast.NilNode, *ast.ArrayNode, *ast.MapNode:
		fits = false
	}
	if !fits {
		want := map[kind]string{kindString: "a string", kindList: "a string", kindInt: "an integer",
			kindBool: "true or false", kindTime: "a time"}[f.kind]
		c.add(val, fmt.Sprintf("%s: value for %s must be %s", name, f.describe(), want))
	}
}

// isAttrRef reports whether n is Attr or PreviousAttr, or the same read
// through $env.
func isAttrRef(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value == "Attr" || n.Value == "PreviousAttr"
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			if p, ok := n.Property.(*ast.StringNode); ok {
				return p.Value == "Attr" || p.Value == "PreviousAttr"
			}
		}
	}
	return false
}

// attrMember checks Attr.<name> (or PreviousAttr.<name>) and rewrites
// it, at *node, to the getter call that reads the attribute with its
// declared type.
func (c *helperCheck) attrMember(node *ast.Node, m *ast.MemberNode) {
	if c.readers == nil {
		c.readers = map[ast.Node]bool{}
	}
	c.readers[m.Node] = true // reported here if wrong, not again by strayAttrs
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		c.add(m, "an attribute must be named with a literal: write Attr.<name>")
		return
	}
	if m.Method {
		c.add(m, fmt.Sprintf("unknown attribute %q: write Attr.<name> to read an attribute", textcut.Cut(p.Value, maxQuoted)))
		return
	}
	if _, err := attrField(attrPrefix+p.Value, p.Value, c.schema); err != nil {
		c.add(m, err.Error())
		return
	}
	t, _ := c.schema.Type(p.Value)
	callee := &ast.MemberNode{Node: m.Node, Property: &ast.StringNode{Value: t.getter()}, Method: true}
	callee.SetLocation(m.Location())
	callee.Property.SetLocation(m.Location())
	call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{p}}
	ast.Patch(node, call)
}

// strayAttrs reports each Attr or PreviousAttr that is not followed by
// an attribute name, and each $env not followed by a literal name: an
// alias of $env (let e = $env, [$env][0], a map holding it) would read
// attributes around the checks above, and a template would encode the
// whole environment.
func (c *helperCheck) strayAttrs() {
	for _, n := range c.envRefs {
		if !c.envNamed[n] {
			c.add(n, "$env must be followed by a literal name, such as $env.Ticket")
		}
	}
	for _, n := range c.attrRefs {
		if !c.readers[n] {
			c.add(n, "Attr and PreviousAttr must be followed by .<attribute name>")
		}
	}
}

// leftmost returns the node where n's source text starts, as far as it can
// tell: expr locates member access and operators at their operator.
func leftmost(n ast.Node) ast.Node {
	for {
		switch c := n.(type) {
		case *ast.MemberNode:
			n = c.Node
		case *ast.ChainNode:
			n = c.Node
		case *ast.CallNode:
			n = c.Callee
		case *ast.SliceNode:
			n = c.Node
		case *ast.BinaryNode:
			n = c.Left
		default:
			return n
		}
	}
}

// calleeName returns the name a call node calls: "f" for f(...) and
// $env.f(...), "" otherwise.
func calleeName(n ast.Node) string {
	switch c := n.(type) {
	case *ast.IdentifierNode:
		return c.Value
	case *ast.MemberNode:
		if id, ok := c.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			if s, ok := c.Property.(*ast.StringNode); ok {
				return s.Value
			}
		}
	}
	return ""
}

func (c *helperCheck) add(n ast.Node, msg string) {
	fe := &file.Error{Location: n.Location(), Message: msg}
	fe.Bind(c.source)
	c.problems = append(c.problems, exprProblem{line: fe.Line, column: fe.Column + 1, msg: msg})
}

// vms holds idle expression VMs. A vm.VM is not safe for concurrent use;
// programs are, so any VM runs any trigger's program.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// runProgram runs p over ev's Env and returns its result. It never panics.
//
// It runs p on the VM kept by slot, the Event being evaluated, so that the
// triggers evaluated in turn against one Event share one VM without a
// pool round trip each. When the slot is held by another goroutine it runs
// p on a VM from the pool instead.
func runProgram(p *vm.Program, ev *Event) (result bool, err error) {
	out, err := runVM(p, ev, nil)
	b, _ := out.(bool)
	return b, err
}

// runVM runs p and returns its result, with the memory budget of
// expressions, on tickets that fit the budget only. It never panics. With
// env nil, it runs p over ev's Env, as runProgram says; otherwise over
// env, on a VM from the pool.
func runVM(p *vm.Program, ev *Event, env any) (result any, err error) {
	if !ev.fitsBudget() {
		return nil, errTicketOverBudget
	}
	slot := &ev.slot
	var m *vm.VM
	own := env == nil && slot.busy.CompareAndSwap(0, 1)
	switch {
	case own:
		if slot.m == nil {
			slot.m = vms.Get().(*vm.VM)
		}
		if slot.env == nil {
			slot.env = ev.makeEnv()
		}
		m, env = slot.m, slot.env
	case env == nil:
		m, env = vms.Get().(*vm.VM), ev.makeEnv()
	default:
		m = vms.Get().(*vm.VM)
	}
	defer func() {
		if r := recover(); r != nil {
			// The VM's state is unknown: drop it rather than keep it.
			result, err = nil, fmt.Errorf("panic: %v", r)
			if own {
				slot.m = nil
			}
		} else if !own {
			vms.Put(m)
		}
		if own {
			slot.busy.Store(0)
		}
	}()
	m.MemoryBudget = vmMemoryBudget
	out, err := m.Run(p, env)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// vmSlot keeps one VM for the expression programs run for one Event. busy
// is 1 while a goroutine holds the slot (and m), 0 otherwise. It uses an
// int32 rather than an atomic pointer so that an Event that does not
// otherwise escape can stay on its creator's stack.
type vmSlot struct {
	busy atomic.Int32
	m    *vm.VM
	env  any // Env, boxed at the first program run
}

// release returns the slot's VM to the pool, unless a goroutine holds it.
func (s *vmSlot) release() {
	if !s.busy.CompareAndSwap(0, 1) {
		return
	}
	m := s.m
	s.m = nil
	s.busy.Store(0)
	if m != nil {
		vms.Put(m)
	}
}

// runtimeError describes an error from runProgram for trigger id.
func runtimeError(id string, err error) *RuntimeError {
	re := &RuntimeError{TriggerID: id, Err: err}
	var fe *file.Error
	if errors.As(err, &fe) {
		re.Line, re.Column = fe.Line, fe.Column+1
		switch {
		case fe.Prev == nil && fe.Message == vmBudgetMessage:
			re.Err = runtimeBudgetError
		case fe.Prev != nil:
			re.Err = fe.Prev
		default:
			re.Err = errors.New(fe.Message)
		}
	}
	return re
}
