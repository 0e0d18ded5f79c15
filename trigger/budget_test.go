package trigger_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// doublings is a let chain of n string doublings of the subject.
func doublings(n int) string {
	var b strings.Builder
	b.WriteString("let a0 = Ticket.Subject + Ticket.Subject; ")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "let a%d = a%d + a%d; ", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "len(a%d) > 0", n-1)
	return b.String()
}

// refusal is what a budget load error says.
type refusal struct {
	Path         string
	Line, Column int
	Construct    string // the message up to " can " or " is "
	Budget       bool   // errors.Is(err, trigger.ErrBudget)
}

func TestExpressionBudgetRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr string
		want       refusal
	}{
		{"reduce doubling", `len(reduce(1..40, #acc + #acc, Ticket.Subject)) > 0`,
			refusal{"expression", 1, 24, `the "+" operator`, true}},
		{"let chain of 34 doublings", doublings(34),
			refusal{"expression", 1, 91, `the "+" operator`, true}},
		{"four nested loops", `let r = 1..1000; all(r, {all(r, {all(r, {all(r, {true})})})})`,
			refusal{"expression", 1, 34, "all()", true}},
		{"quadratic over actions", `all(Ticket.Actions, {all(Ticket.Actions, {true})})`,
			refusal{"expression", 1, 1, "all()", true}},
		{"range with a ticket bound", `len(map(1..Ticket.Id, #)) > 0`,
			refusal{"expression", 1, 10, "the range 1..Ticket.Id", true}},
		{"huge literal range", `len(1..100000000) > 0`,
			refusal{"expression", 1, 6, "the range 1..100000000", true}},
		{"replace blow-up", `let s = replace(Ticket.Subject, "", Ticket.Subject); len(s) > 0`,
			refusal{"expression", 1, 9, "replace()", true}},
		{"reduce of lists", `len(reduce(1..100, concat(#acc, #acc), [1])) > 0`,
			refusal{"expression", 1, 20, "concat()", true}},
		{"regular expression scanning the whole text", `Ticket.Subject matches "[a-z ,;#1]*[a-z ,;#1]*X"`,
			refusal{"expression", 1, 16, `the "matches" operator`, true}},
		{"dynamic regular expression", `Ticket.Subject matches Ticket.Status`,
			refusal{"expression", 1, 16, "the pattern of matches must be a string literal, so that its cost", true}},
		{"too deep to bound", strings.Repeat("reduce(1..2, ", 16) + "#acc" + strings.Repeat(", 0)", 16) + " > 0",
			refusal{"expression", 1, 183, "the expression is too complex for its cost to be bounded", true}},
		{"disabled builtin", `toJSON(Ticket) != ""`,
			refusal{"expression", 1, 1, "unknown name toJSON", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Compile([]trigger.Definition{{ID: "t", Expression: tt.expr, Actions: note}}, nil)
			var e *trigger.Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, want a *trigger.Error", tt.expr, err)
			}
			msg := e.Err.Error()
			construct, _, _ := strings.Cut(msg, " can ")
			construct, _, _ = strings.Cut(construct, " (")
			got := refusal{e.Path, e.Line, e.Column, construct, errors.Is(err, trigger.ErrBudget)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("load error %q mismatch (-want +got):\n%s", err, diff)
			}
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Errorf("load error %v does not match ErrInvalid", err)
			}
		})
	}
}

// legitimateExpressions are expressions the documentation shows or that
// hosts write; they must keep loading.
var legitimateExpressions = []string{
	`Ticket.SlaSolutionTime > 60`,
	`Ticket.SlaSolutionTime > 60 && ChangedTo("Status", "Resolved")`,
	`Event == "updated" && CustomField(12) in ["Gold", "Platinum"]`,
	`any(Ticket.Actions, .Description contains "refund")`,
	`Previous != nil && Previous.Status != Ticket.Status`,
	`upper(Ticket.Status) == "RESOLVED"`,
	`lower(Ticket.Subject) contains "printer"`,
	`Ticket.Subject matches "(?i)^urgent"`,
	`Ticket.Subject matches "refund" || Ticket.Status matches "^(Open|New)$"`,
	`len(Ticket.Actions) > 3 && Ticket.Actions[0].Description startsWith "Hi"`,
	`all(Ticket.Actions, {any(.Attachments, .FileName endsWith ".pdf")})`,
	`count(Ticket.Actions, len(.Attachments) > 0) >= 2`,
	`reduce(Ticket.Actions, #acc + len(.Description), 0) > 100`,
	`len(join(map(Ticket.Actions, .Description), ",")) > 3`,
	`"vip" in split(CustomField(7), ",")`,
	`any(Ticket.CustomFieldValues, .CustomFieldId == 12 && .Value == "Gold")`,
	`let s = trim(Ticket.Subject); s != "" && s == upper(s)`,
	`sum(map(Ticket.Actions, len(.Attachments))) > 5`,
	`Ticket.Id in 1..1000 || Ticket.Urgency not in ["Low"]`,
	`now().Year() >= 2024 && date("2024-01-01").Before(now())`,
	`indexOf(Ticket.Subject, "#") >= 0 && replace(Ticket.Subject, "#", "") != ""`,
	`first(Ticket.Actions)?.Id == 1 && last(Ticket.Actions)?.Id > 1`,
	`len(filter(1..100, # % 7 == 0)) == 14`,
}

func TestExpressionBudgetAccepted(t *testing.T) {
	t.Parallel()
	for _, src := range legitimateExpressions {
		if _, err := trigger.Compile([]trigger.Definition{{ID: "t", Expression: src, Actions: note}}, nil); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
}

func TestExpressionBudgetRuntime(t *testing.T) {
	t.Parallel()
	// The expression loads: on a ticket within BudgetTicketSize its range
	// holds at most 256 Ki ints. On a ticket eight times larger it would
	// build more than the VM's memory budget allows; it is not run, and
	// fails that trigger only.
	set, err := trigger.Compile([]trigger.Definition{
		{ID: "big", Expression: `len(1..len(Ticket.Subject)) > 0`, Actions: note},
		{ID: "small", Expression: `Ticket.Status == "Open" && Ticket.Subject contains "x"`, Actions: note},
		{ID: "vm", Expression: `len(Ticket.Subject) > 0`, Actions: note},
	}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	huge := ticket("Open", func(tk *payload.Ticket) { tk.Subject = strings.Repeat("x", 8*trigger.BudgetTicketSize) })
	ev := trigger.NewEvent(nil, huge)
	defer ev.Release()
	type result struct {
		Match, Budget bool
		Line, Column  int
	}
	var got []result
	for _, tr := range set.Triggers() {
		_, err := tr.Evaluate(ev)
		var re *trigger.RuntimeError
		r := result{Match: tr.Match(ev), Budget: errors.Is(err, trigger.ErrBudget)}
		if errors.As(err, &re) {
			r.Line, r.Column = re.Line, re.Column
		}
		got = append(got, r)
	}
	// The expressions that run on expr's VM are not run: the ticket is
	// larger than their cost bound holds for. The one compiled to a Go
	// closure, which has no loop, runs.
	want := []result{{false, true, 0, 0}, {true, false, 0, 0}, {false, true, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results mismatch (-want +got):\n%s", diff)
	}
}

// budgetTickets are tickets of nearly BudgetTicketSize bytes encoded, of
// different shapes: one long subject, many actions, and a mix.
func budgetTickets(t testing.TB) []*payload.Ticket {
	t.Helper()
	text := func(n int) string {
		return strings.Repeat("Refund, printer; a #1 ", n/22+1)[:n]
	}
	long := ticket("Open", func(tk *payload.Ticket) { tk.Subject = text(250 << 10) })
	many := ticket("Open", func(tk *payload.Ticket) {
		for i := range 3700 {
			tk.Actions = append(tk.Actions, payload.Action{Id: i})
		}
	})
	mixed := ticket("Open", func(tk *payload.Ticket) {
		tk.Subject = text(60 << 10)
		tk.Actions = append(tk.Actions, payload.Action{Id: 1, Description: text(60 << 10)})
		for i := range 900 {
			a := payload.Action{Id: i + 2, Description: text(40)}
			if i%20 == 0 {
				a.Attachments = []payload.Attachment{{FileName: "a.pdf"}}
			}
			tk.Actions = append(tk.Actions, a)
		}
		for i := range 100 {
			tk.CustomFieldValues = append(tk.CustomFieldValues, payload.CustomFieldValue{CustomFieldId: i, Value: text(100)})
		}
	})
	tickets := []*payload.Ticket{long, many, mixed}
	for i, tk := range tickets {
		b, err := payload.Encode(tk)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > trigger.BudgetTicketSize || len(b) < trigger.BudgetTicketSize*3/4 {
			t.Fatalf("budget ticket %d is %d bytes encoded; want near %d", i, len(b), trigger.BudgetTicketSize)
		}
	}
	return tickets
}

// The generous multiples of the budget the property test asserts, so that
// it does not fail on a loaded machine.
const (
	memoryMargin = 2
	timeMargin   = 5
	budgetTime   = 10 * time.Millisecond
)

// measure evaluates tr on ev and returns the bytes it allocated and the
// CPU time it took (the wall time where CPU time is not available): on a
// machine shared by many processes, wall time counts the time others ran.
func measure(tr *trigger.Trigger, ev *trigger.Event) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := cpuTime()
	_, _ = tr.Evaluate(ev)
	took := cpuTime() - start
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took
}

// worst is the most an evaluation took.
type worst struct {
	mem     uint64
	memSrc  string
	took    time.Duration
	tookSrc string
}

// checkBudget loads src and, when it loads, evaluates it on each ticket
// as created and as updated, and fails t when an evaluation exceeds a
// generous multiple of the budget. It reports whether src loaded, and
// records the most an evaluation took in w.
func checkBudget(t *testing.T, src string, tickets []*payload.Ticket, w *worst) bool {
	t.Helper()
	set, err := trigger.Compile([]trigger.Definition{{ID: "t", Expression: src, Actions: note}}, nil)
	if err != nil {
		return false
	}
	tr := set.Triggers()[0]
	for i, tk := range tickets {
		for _, before := range []*payload.Ticket{nil, tk} {
			ev := trigger.NewEvent(before, tk)
			mem, took := measure(tr, ev)
			ev.Release()
			if mem > w.mem {
				w.mem, w.memSrc = mem, src
			}
			if took > w.took {
				w.took, w.tookSrc = took, src
			}
			if mem > memoryMargin*trigger.MaxExpressionMemory {
				t.Errorf("%q on ticket %d allocated %d bytes; the budget is %d", src, i, mem, trigger.MaxExpressionMemory)
			}
			if !raceEnabled && took > timeMargin*budgetTime {
				t.Errorf("%q on ticket %d took %v; the budget is %v", src, i, took, budgetTime)
			}
		}
	}
	return true
}

// exprGen generates random expressions from expr's grammar, typed so that
// many of them load: closures over ranges and the ticket's lists, nested,
// let chains, string concatenation and the allowed builtins.
type exprGen struct {
	r     *rand.Rand
	items []string // the type of # in each enclosing closure: "int", "string", "action"
	vars  int
}

func (g *exprGen) pick(opts ...func() string) string { return opts[g.r.IntN(len(opts))]() }

func (g *exprGen) item() string {
	if len(g.items) == 0 {
		return ""
	}
	return g.items[len(g.items)-1]
}

// closure generates a closure body over a list whose elements are of kind.
func (g *exprGen) closure(kind string, body func() string) string {
	g.items = append(g.items, kind)
	defer func() { g.items = g.items[:len(g.items)-1] }()
	return "{" + body() + "}"
}

func (g *exprGen) boolean(d int) string {
	if d <= 0 {
		return g.pick(
			func() string { return "true" },
			func() string { return g.integer(0) + " > " + g.integer(0) },
			func() string { return g.str(0) + " contains " + g.str(0) },
			func() string { return `ChangedTo("Status", "Open")` },
		)
	}
	return g.pick(
		func() string { return g.integer(d-1) + " < " + g.integer(d-1) },
		func() string { return g.str(d-1) + " == " + g.str(d-1) },
		func() string { return g.str(d-1) + " startsWith " + g.str(d-1) },
		func() string { return "(" + g.boolean(d-1) + " && " + g.boolean(d-1) + ")" },
		func() string { return "!" + g.boolean(d-1) },
		func() string {
			name := []string{"all", "any", "none", "one"}[g.r.IntN(4)]
			kind, list := g.list(d - 1)
			return name + "(" + list + ", " + g.closure(kind, func() string { return g.boolean(d - 1) }) + ")"
		},
		func() string {
			g.vars++
			v := fmt.Sprintf("v%d", g.vars)
			return "(let " + v + " = " + g.str(d-1) + "; len(" + v + ") > " + g.integer(d-1) + ")"
		},
		func() string {
			return g.str(d-1) + " matches " + []string{`"^[a-z]{1,8},"`, `"[a-z]+,"`, `"a,b"`}[g.r.IntN(3)]
		},
		func() string { return g.str(d-1) + " in split(" + g.str(d-1) + ", \",\")" },
	)
}

func (g *exprGen) integer(d int) string {
	leaf := []func() string{
		func() string { return fmt.Sprint(g.r.IntN(5)) },
		func() string { return fmt.Sprint(g.r.IntN(100000)) },
		func() string { return "Ticket.SlaSolutionTime" },
	}
	if g.item() == "int" {
		leaf = append(leaf, func() string { return "#" })
	}
	if len(g.items) > 0 {
		leaf = append(leaf, func() string { return "#index" })
	}
	if d <= 0 {
		return g.pick(leaf...)
	}
	return g.pick(append(leaf,
		func() string { return "len(" + g.str(d-1) + ")" },
		func() string { _, l := g.list(d - 1); return "len(" + l + ")" },
		func() string { return "(" + g.integer(d-1) + " + " + g.integer(d-1) + ")" },
		func() string { return "(" + g.integer(d-1) + " * " + g.integer(d-1) + ")" },
		func() string {
			kind, list := g.list(d - 1)
			return "count(" + list + ", " + g.closure(kind, func() string { return g.boolean(d - 1) }) + ")"
		},
		func() string {
			kind, list := g.list(d - 1)
			return "reduce(" + list + ", " + g.closure(kind, func() string { return "#acc + " + g.integer(d-1) }) + ", 0)"
		},
		func() string { return "indexOf(" + g.str(d-1) + ", \",\")" },
	)...)
}

func (g *exprGen) str(d int) string {
	leaf := []func() string{
		func() string { return "Ticket.Subject" },
		func() string { return `"a,b"` },
		func() string { return "CustomField(3)" },
	}
	switch g.item() {
	case "string":
		leaf = append(leaf, func() string { return "#" })
	case "action":
		leaf = append(leaf, func() string { return ".Description" })
	}
	if d <= 0 {
		return g.pick(leaf...)
	}
	return g.pick(append(leaf,
		func() string { return "(" + g.str(d-1) + " + " + g.str(d-1) + ")" },
		func() string { return "upper(" + g.str(d-1) + ")" },
		func() string { return "trim(" + g.str(d-1) + ")" },
		func() string { return "replace(" + g.str(d-1) + ", \"a\", " + g.str(d-1) + ")" },
		func() string { return "join(" + g.strList(d-1) + ", " + g.str(d-1) + ")" },
		func() string { return "string(" + g.integer(d-1) + ")" },
		func() string {
			kind, list := g.list(d - 1)
			return "reduce(" + list + ", " + g.closure(kind, func() string { return "#acc + " + g.str(d-1) }) + ", " + g.str(d-1) + ")"
		},
		func() string {
			g.vars++
			v := fmt.Sprintf("v%d", g.vars)
			return "(let " + v + " = " + g.str(d-1) + "; " + v + " + " + v + ")"
		},
	)...)
}

func (g *exprGen) strList(d int) string {
	return g.pick(
		func() string { return "split(" + g.str(d) + ", \",\")" },
		func() string { return "map(Ticket.Actions, .Description)" },
		func() string {
			kind, list := g.list(d)
			return "map(" + list + ", " + g.closure(kind, func() string { return g.str(d) }) + ")"
		},
		func() string { return "[" + g.str(d) + ", " + g.str(d) + "]" },
	)
}

// list returns a list expression and the kind of its elements.
func (g *exprGen) list(d int) (string, string) {
	switch g.r.IntN(6) {
	case 0:
		return "int", g.integer(max(0, d-1)) + ".." + g.integer(max(0, d-1))
	case 1:
		return "int", fmt.Sprintf("1..%d", []int{10, 1000, 100000}[g.r.IntN(3)])
	case 2:
		return "action", "Ticket.Actions"
	case 3:
		return "string", g.strList(max(0, d-1))
	case 4:
		return "int", "1..len(" + g.str(max(0, d-1)) + ")"
	default:
		kind, list := g.list(max(0, d-1))
		return kind, "filter(" + list + ", " + g.closure(kind, func() string { return g.boolean(max(0, d-1)) }) + ")"
	}
}

// TestExpressionBudgetProperty generates expressions, and checks that
// every one that loads evaluates within the budget on tickets of nearly
// BudgetTicketSize bytes.
func TestExpressionBudgetProperty(t *testing.T) {
	// Not parallel: it measures the bytes the process allocates.
	tickets := budgetTickets(t)
	n := 1500
	if testing.Short() {
		n = 200
	}
	g := &exprGen{r: rand.New(rand.NewPCG(10, 1))}
	loaded := 0
	var w worst
	for range n {
		g.vars = 0
		src := g.boolean(1 + g.r.IntN(4))
		if len(src) > trigger.DefaultMaxExpressionLength {
			continue
		}
		if checkBudget(t, src, tickets, &w) {
			loaded++
		}
	}
	// The generator must exercise the evaluation, not only the refusals.
	if loaded < n/4 {
		t.Errorf("only %d of %d generated expressions loaded", loaded, n)
	}
	t.Logf("%d of %d generated expressions loaded; most memory %d bytes by %q; most time %v by %q",
		loaded, n, w.mem, w.memSrc, w.took, w.tookSrc)
}

// FuzzExpressionBudget checks that every expression that loads evaluates
// within the budget on tickets of nearly BudgetTicketSize bytes.
func FuzzExpressionBudget(f *testing.F) {
	for _, src := range legitimateExpressions {
		f.Add(src)
	}
	f.Add(`len(reduce(1..40, #acc + #acc, Ticket.Subject)) > 0`)
	f.Add(doublings(34))
	f.Add(`let r = 1..1000; all(r, {all(r, {all(r, {all(r, {true})})})})`)
	f.Add(`let r = 1..300; all(r, {all(r, {# > 0})})`)
	f.Add(`len(upper(Ticket.Subject + Ticket.Subject)) > 0`)
	f.Add(`len(join(map(Ticket.Actions, .Description + .Description), ",")) > 0`)
	f.Add(`any(split(Ticket.Subject, ""), {# == "x"})`)
	var tickets []*payload.Ticket
	f.Fuzz(func(t *testing.T, src string) {
		if tickets == nil {
			tickets = budgetTickets(t)
		}
		checkBudget(t, src, tickets, &worst{})
	})
}

// nearBudget are expressions whose cost bound is near MaxExpressionSteps
// or that build large values, with the budget ticket they cost most on.
var nearBudget = []struct {
	expr   string
	ticket int // index in budgetTickets
}{
	{`let r = 1..300; all(r, {all(r, {# > 0})})`, 0},
	{`reduce(1..70000, {#acc + 0}, 0) > 0`, 0},
	{`count(1..70000, # > 5) > 0`, 0},
	{`len(upper(Ticket.Subject)) > 0`, 0},
	{`len(join(map(1..4, {Ticket.Subject}), ",")) > 0`, 0},
	{`len(split(Ticket.Subject, ",")) > 0`, 0},
	{`len(1..len(Ticket.Subject)) > 0`, 0},
	{`reduce(Ticket.Actions, #acc + len(.Description), 0) > 100`, 1},
	{`count(Ticket.Actions, {len(Ticket.Subject) > 0}) > 0`, 1},
}

// BenchmarkExpressionBudget measures expressions near the budget on the
// budget tickets; cpu-ns/op is the process's CPU time, which a loaded
// machine inflates less than the wall time.
func BenchmarkExpressionBudget(b *testing.B) {
	tickets := budgetTickets(b)
	for _, nb := range nearBudget {
		tr := compileOne(b, trigger.Definition{Expression: nb.expr})
		b.Run(nb.expr, func(b *testing.B) {
			ev := trigger.NewEvent(nil, tickets[nb.ticket])
			defer ev.Release()
			start := cpuTime()
			for b.Loop() {
				_, _ = tr.Evaluate(ev)
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestExpressionBudgetRefusedFromReview checks constructs whose cost the
// bound once underestimated: trimming with a cutset read from the ticket,
// a reduce whose accumulator grows with #index, and date with a time zone
// name in a loop.
func TestExpressionBudgetRefusedFromReview(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`all(1..30, trim(Ticket.Subject, Ticket.Status) == "")`,
		`let r = reduce(1..32, concat(#acc, map(1..#index, 0)), []); len(r) > 0 and all(1..len(r), {all(1..len(r), {all(1..10, true)})})`,
		`all(1..44000, date("2023-08-14", "2006-01-02", "America/Argentina/ComodRivadavia") != now())`,
	} {
		_, err := trigger.Compile([]trigger.Definition{{ID: "x", Expression: src, Actions: note}}, nil)
		if !errors.Is(err, trigger.ErrBudget) {
			t.Errorf("Compile(%s) = %v, want an error matching ErrBudget", src, err)
		}
	}
}
