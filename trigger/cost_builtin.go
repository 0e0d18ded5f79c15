package trigger

import (
	"math"
	"regexp/syntax"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// The cost bounds of expr's builtins and of matches; see cost.go.

// allowedBuiltins are the expr builtins an expression may call: those the
// cost bound knows. Every other builtin is disabled.
var allowedBuiltins = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"count": true, "sum": true, "reduce": true,
	"len": true, "type": true, "abs": true, "ceil": true, "floor": true, "round": true,
	"int": true, "float": true, "string": true,
	"trim": true, "trimPrefix": true, "trimSuffix": true, "upper": true, "lower": true,
	"split": true, "splitAfter": true, "replace": true, "join": true,
	"indexOf": true, "lastIndexOf": true, "hasPrefix": true, "hasSuffix": true,
	"max": true, "min": true, "mean": true, "median": true,
	"now": true, "duration": true, "date": true,
	"first": true, "last": true, "get": true, "take": true, "reverse": true, "concat": true,
}

// regexpCost bounds the steps of matching the regular expression pattern
// against a text of up to size bytes, and returns the number of
// instructions of its program. Go's matcher is linear: it runs each
// instruction at most once per byte it scans, about a step each. A pattern
// anchored at the start of the text without unbounded repetition scans
// at most as many bytes as it can match. An invalid pattern (which expr
// reports) costs nothing.
func regexpCost(pattern string, size uint64) (steps, insts uint64) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, 0
	}
	re = re.Simplify()
	prog, err := syntax.Compile(re)
	if err != nil {
		return 0, 0
	}
	insts = uint64(len(prog.Inst))
	if re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0 {
		// Matched with strings.Index, as contains is.
		return 2 * size / bytesPerStep, insts
	}
	scanned := size
	if prog.StartCond()&syntax.EmptyBeginText != 0 {
		scanned = min(size, matchLength(re))
	}
	return smul(sadd(scanned, 1), insts), insts
}

// matchLength returns the most bytes re can match, or inf.
func matchLength(re *syntax.Regexp) uint64 {
	switch re.Op {
	case syntax.OpLiteral:
		return uint64(4 * len(re.Rune))
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 4
	case syntax.OpCapture:
		return matchLength(re.Sub[0])
	case syntax.OpConcat:
		n := uint64(0)
		for _, sub := range re.Sub {
			n = sadd(n, matchLength(sub))
		}
		return n
	case syntax.OpAlternate:
		n := uint64(0)
		for _, sub := range re.Sub {
			n = max(n, matchLength(sub))
		}
		return n
	case syntax.OpQuest:
		return matchLength(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return inf
		}
		return smul(uint64(re.Max), matchLength(re.Sub[0]))
	case syntax.OpStar, syntax.OpPlus:
		return inf
	}
	return 0 // empty-width assertions and the empty match
}

// builtin bounds a call of an allowed builtin.
func (c *costCheck) builtin(n *ast.BuiltinNode) (aval, cost) {
	if !allowedBuiltins[n.Name] {
		return c.refuse(n, "%s is not allowed in expressions", n.Name)
	}
	switch n.Name {
	case "all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex", "count", "sum":
		if len(n.Arguments) == 2 {
			return c.predicate(n)
		}
	case "reduce":
		return c.reduce(n)
	}
	args := make([]aval, len(n.Arguments))
	var k cost
	for i, x := range n.Arguments {
		var kx cost
		args[i], kx = c.eval(x)
		k = k.plus(kx)
	}
	arg := func(i int) aval {
		if i < len(args) {
			return args[i]
		}
		return aval{k: aNil}
	}
	a := arg(0)
	switch n.Name {
	case "len":
		switch a.k {
		case aList, aMap:
			return intVal(0, int(min(a.n, math.MaxInt32))), k
		case aString, aRecord, aUnknown:
			return intVal(0, int(min(a.size, math.MaxInt32))), k
		}
		return anyInt, k
	case "count":
		if a.k == aList {
			return intVal(0, int(min(a.n, math.MaxInt32))), k.plus(cost{steps: a.n})
		}
	case "sum", "mean", "median", "max", "min":
		if len(args) == 1 && a.k == aList {
			k = k.plus(cost{steps: smul(a.n, 4), mem: smul(a.n, 16)})
			if n.Name == "max" || n.Name == "min" {
				return *a.elem, k
			}
			return scalarVal, k
		}
		v := a
		for _, x := range args[1:] {
			v = join(v, x)
		}
		if v.k == aInt && n.Name != "sum" && n.Name != "mean" && n.Name != "median" {
			return v, k
		}
		return scalarVal, k
	case "type":
		return strVal(16), k
	case "abs", "ceil", "floor", "round", "float", "now", "duration", "date":
		if n.Name == "abs" && a.k == aInt {
			if a.lo == math.MinInt {
				return intVal(0, math.MaxInt), k
			}
			return intVal(0, max(a.hi, -a.lo, 0)), k
		}
		if n.Name == "date" && len(n.Arguments) > 2 {
			// A time zone name loads and parses a zoneinfo file at each
			// call.
			k = k.plus(cost{steps: zoneSteps})
		}
		return scalarVal, k.plus(touch(sadd(a.size, arg(1).size), 0))
	case "int":
		if a.k == aInt {
			return a, k
		}
		return anyInt, k.plus(touch(a.size, 0))
	case "string":
		switch a.k {
		case aString:
			return a, k
		case aInt, aScalar, aNil:
			return strVal(40), k.plus(touch(40, 40))
		}
	case "trim", "trimPrefix", "trimSuffix":
		if n.Name == "trim" && len(n.Arguments) > 1 && !asciiLiteral(n.Arguments[1]) {
			// Trimming with a cutset that is not ASCII looks each rune
			// up in the whole cutset.
			return a, k.plus(touch(smul(sadd(a.size, 1), sadd(arg(1).size, 1)), 0))
		}
		return a, k.plus(touch(sadd(a.size, arg(1).size), 0))
	case "upper", "lower":
		// A byte of invalid UTF-8 becomes U+FFFD, 3 bytes.
		s := smul(a.size, 3)
		return strVal(s), k.plus(runes(a.size)).plus(touch(s, s))
	case "split", "splitAfter":
		if a.k == aString {
			// Split by a literal separator, a string is scanned; by
			// another, which may be "", it is cut rune by rune.
			pieces, scan, each := sadd(a.size, 1), runes(a.size), uint64(4)
			if sep, ok := n.Arguments[1].(*ast.StringNode); ok && sep.Value != "" {
				pieces, scan, each = a.size/uint64(len(sep.Value))+1, touch(a.size, 0), 2
			}
			return listVal(pieces, a.size, a), k.plus(scan).plus(cost{steps: smul(pieces, each), mem: smul(pieces, 16)})
		}
	case "replace":
		if a.k == aString {
			old, repl := arg(1), arg(2)
			// Every occurrence of old, or every rune when old is empty,
			// may become repl.
			s := sadd(a.size, smul(sadd(a.size, 1), repl.size))
			return strVal(s), k.plus(runes(a.size)).plus(touch(sadd(s, old.size), s))
		}
	case "join":
		if a.k == aList {
			sep := uint64(0)
			if len(args) > 1 {
				sep = arg(1).size
			}
			s := sadd(a.size, smul(a.n, sep))
			if a.elem.k != aString && a.elem.k != aNil {
				break
			}
			return strVal(s), k.plus(touch(s, s)).plus(cost{steps: smul(a.n, 2)})
		}
	case "indexOf", "lastIndexOf":
		return intVal(-1, int(min(a.size, math.MaxInt32))), k.plus(touch(smul(sadd(a.size, arg(1).size), 2), 0))
	case "hasPrefix", "hasSuffix":
		return scalarVal, k.plus(touch(arg(1).size, 0))
	case "first", "last":
		if a.k == aList {
			return *a.elem, k
		}
	case "get":
		switch a.k {
		case aList, aMap:
			return join(*a.elem, aval{k: aNil}), k
		case aRecord:
			return aval{k: aUnknown, size: a.size}, k
		}
	case "take":
		if a.k == aList {
			return a, k.plus(touch(0, smul(a.n, 16)))
		}
	case "reverse":
		if a.k == aList {
			return a, k.plus(touch(smul(a.n, 16), smul(a.n, 16)))
		}
	case "concat":
		r := aval{k: aNil}
		for _, x := range args {
			if x.k != aList {
				return c.refuse(n, "the library cannot bound concat of %s", kindName(x))
			}
			r = listVal(sadd(r.n, x.n), sadd(r.size, x.size), join(derefElem(r), *x.elem))
		}
		return r, k.plus(touch(smul(r.n, 16), smul(r.n, 16)))
	}
	return c.refuse(n, "the library cannot bound %s on %s", describe(n), kindName(a))
}

func derefElem(v aval) aval {
	if v.elem == nil {
		return aval{k: aNil}
	}
	return *v.elem
}

// predicate bounds a builtin that runs a closure over a list.
func (c *costCheck) predicate(n *ast.BuiltinNode) (aval, cost) {
	list, k := c.eval(n.Arguments[0])
	body := n.Arguments[1]
	if p, ok := body.(*ast.PredicateNode); ok {
		body = p.Node
	}
	v, total, kc := c.closure(list, body, frame{})
	k = k.plus(kc)
	switch n.Name {
	case "filter":
		return list, k.plus(touch(0, smul(list.n, 16)))
	case "map":
		return listVal(list.n, total, v), k.plus(touch(0, smul(list.n, 16)))
	case "find", "findLast":
		return join(*list.elem, aval{k: aNil}), k
	case "findIndex", "findLastIndex":
		return intVal(-1, int(min(list.n, math.MaxInt32))), k
	case "count":
		return intVal(0, int(min(list.n, math.MaxInt32))), k
	case "sum":
		if v.k == aInt {
			return intMul(v, intVal(0, int(min(list.n, math.MaxInt32)))), k
		}
		return scalarVal, k
	}
	return scalarVal, k
}

// reduce bounds reduce(list, body[, initial]).
func (c *costCheck) reduce(n *ast.BuiltinNode) (aval, cost) {
	if len(n.Arguments) < 2 {
		return c.refuse(n, "the library cannot bound %s", describe(n))
	}
	list, k := c.eval(n.Arguments[0])
	if list.k != aList {
		return c.refuse(n, "the library cannot bound reduce over %s", kindName(list))
	}
	acc := *list.elem
	if len(n.Arguments) > 2 {
		var ki cost
		acc, ki = c.eval(n.Arguments[2])
		k = k.plus(ki)
	}
	body := n.Arguments[1]
	if p, ok := body.(*ast.PredicateNode); ok {
		body = p.Node
	}
	// Follow the accumulator round by round, each round at the largest
	// element, until it stops growing.
	var grew, prevGrew [2]uint64 // size and n added by the last two rounds
	rounds := uint64(0)
	settled := false
	for rounds < list.n && rounds < reduceRounds && !c.failed {
		// One run stands for a round at any index of the whole list.
		v, _, _ := c.closure(listVal(1, list.elem.size, *list.elem), body,
			frame{acc: acc, index: intVal(-1, int(min(list.n, math.MaxInt32))), keepIndex: true})
		next := join(acc, v)
		rounds++
		if same(next, acc) {
			settled = true
			break
		}
		prevGrew, grew = grew, [2]uint64{next.size - min(next.size, acc.size), next.n - min(next.n, acc.n)}
		acc = next
	}
	if c.failed {
		return c.refuse(n, "")
	}
	if !settled && rounds < list.n {
		switch {
		case acc.k == aInt:
			acc = anyInt
		case !acc.sized() || (grew == prevGrew && rounds > 1):
			left := list.n - rounds
			acc.size = sadd(acc.size, smul(left, grew[0]))
			acc.n = sadd(acc.n, smul(left, grew[1]))
		default:
			return c.refuse(n, "the accumulator of reduce() grows faster than the library can bound")
		}
		if acc.size >= inf || acc.n >= inf {
			return c.refuse(n, "the accumulator of reduce() can grow without bound")
		}
	}
	v, _, kc := c.closure(list, body, frame{acc: acc})
	return join(acc, v), k.plus(kc)
}

// zoneSteps is the cost charged for loading a time zone by name, as
// date's third argument does at each call: about 20 µs.
const zoneSteps = 5000

// asciiLiteral reports whether n is a string literal of ASCII characters,
// which strings.Trim looks up in constant time.
func asciiLiteral(n ast.Node) bool {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return false
	}
	for i := 0; i < len(s.Value); i++ {
		if s.Value[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
