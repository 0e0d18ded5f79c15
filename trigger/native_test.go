package trigger

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tickethooks/tickethooks/payload"
)

// vmResult evaluates tr's program on expr's VM, whether or not tr has a
// Go closure.
func vmResult(tr *Trigger, ev *Event) (bool, error) {
	return runProgram(tr.program, ev)
}

func TestNativePath(t *testing.T) {
	t.Parallel()
	native := []string{
		`Ticket.Status == "Resolved" && Ticket.Urgency in ["High","Critical"] && Ticket.SlaSolutionTime > 60`,
		`true`,
		// The examples of the package documentation.
		`Ticket.SlaSolutionTime > 60 && ChangedTo("Status", "Resolved")`,
		`Event == "updated" && CustomField(12) in ["Gold", "Platinum"]`,
		`Ticket.Id in [-1, 5]`,
		`not (Ticket.Id <= 5) or 60 >= Ticket.SlaSolutionTime`,
		`Ticket.Status not in ["Open", "New"] and !(Event == "created")`,
		`Event in ["created"] || Event != "updated"`,
		`Ticket.Id in [1, 2, 3] || Ticket.Id in 10..20 || 1 < Ticket.Id < 5`,
		`Ticket.Subject contains "fire" || Ticket.Subject startsWith "Re:" || "abc" endsWith Ticket.Status`,
		`Ticket["Status"] == Ticket.Urgency`,
		`Changed("Status") && ChangedTo("SlaSolutionTime", 60.0) && ChangedFrom("CustomField:12", "Gold")`,
		`ChangedTo("ActionCount", 3) || ChangedTo("Status", "a" + "b")`,
		`CustomField(12) in ["Gold", "Platinum"] && CustomField(13) == ""`,
		`$env.Changed("Status") || ("Urgency" | Changed())`,
	}
	vm := []string{
		`Previous != nil && Previous.Status == "Open"`,
		`Previous == nil`,
		`len(Ticket.Actions) > 2`,
		`Ticket.SlaSolutionTime == 60.0`,
		`Ticket.SlaSolutionTime + 1 > 60`,
		`Ticket.Status matches "^Res"`,
		`Ticket.Status < "M"`,
		`Ticket.Id in [1, 2.5]`,
		`Ticket.Status in []`,
		`upper(Ticket.Status) == "RESOLVED"`,
		`any(Ticket.Actions, .Id > 1)`,
		`Ticket?.Status == "Resolved"`,
		`ChangedTo("Status", Ticket.Subject)`,
		`let s = Ticket.Status; s == "Resolved"`,
		`Ticket.Status == "Resolved" && Ticket.Actions[0].Id == 1`,
		`Event == "created" ? true : Ticket.Id > 5`,
		`any(Ticket.Actions, .Description contains "refund")`,
	}
	for _, src := range native {
		tr := compileTestTrigger(t, src)
		if tr.native == nil || !tr.HasExpression() {
			t.Errorf("%s: native = %v, HasExpression = %v; want a closure and true", src, tr.native != nil, tr.HasExpression())
		}
	}
	for _, src := range vm {
		tr := compileTestTrigger(t, src)
		if tr.native != nil || !tr.HasExpression() {
			t.Errorf("%s: native = %v, HasExpression = %v; want the VM and true", src, tr.native != nil, tr.HasExpression())
		}
	}
}

// gen generates random expressions over the Go-path subset, with some
// constructs outside it mixed in.
type gen struct {
	r *rand.Rand
	// outside is set when the expression uses a construct outside the
	// subset; literal when it holds a bool literal, which expr may fold
	// away together with such a construct.
	outside, literal bool
}

var (
	genStrings    = []string{"", "Open", "Resolved", "High", "Critical", "Low", "Gold", "created", "updated", "Res", "ved", "o", "Printer on fire", "ÄÖ"}
	genInts       = []string{"0", "1", "-1", "5", "42", "60", "61", "240", "100000", "9223372036854775807"}
	genStrFields  = []string{"Subject", "Status", "Justification", "Urgency", "ServiceFirstLevel"}
	genIntFields  = []string{"Id", "SlaSolutionTime"}
	genChangeable = []string{"Subject", "Status", "Justification", "Urgency", "ServiceFirstLevel", "SlaSolutionTime", "ActionCount", "CustomField:12", "CustomField:13"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) strLit() string { return strconv.Quote(g.pick(genStrings)) }

func (g *gen) strOperand() string {
	switch g.r.IntN(6) {
	case 0, 1:
		return g.strLit()
	case 2:
		return "Event"
	case 3:
		return fmt.Sprintf("CustomField(%d)", 12+g.r.IntN(2))
	case 4:
		return fmt.Sprintf("Ticket[%q]", g.pick(genStrFields))
	}
	return "Ticket." + g.pick(genStrFields)
}

func (g *gen) intOperand() string {
	if g.r.IntN(2) == 0 {
		return g.pick(genInts)
	}
	return "Ticket." + g.pick(genIntFields)
}

func (g *gen) list(elem func() string) string {
	n := 1 + g.r.IntN(10)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = elem()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// constants notes operands that are all literals: expr may fold such a
// comparison to true or false, and a construct outside the subset with it.
func (g *gen) constants(operands ...string) {
	for _, o := range operands {
		if strings.HasPrefix(o, "Ticket") || strings.HasPrefix(o, "CustomField") || o == "Event" {
			return
		}
	}
	g.literal = true
}

func (g *gen) leaf() string {
	switch g.r.IntN(12) {
	case 0:
		ops := []string{"==", "!=", "contains", "startsWith", "endsWith"}
		l, r := g.strOperand(), g.strOperand()
		g.constants(l, r)
		return l + " " + g.pick(ops) + " " + r
	case 1:
		ops := []string{"==", "!=", "<", "<=", ">", ">="}
		l, r := g.intOperand(), g.intOperand()
		g.constants(l, r)
		return l + " " + g.pick(ops) + " " + r
	case 2:
		l := g.strOperand()
		g.constants(l)
		return l + " " + g.pick([]string{"in", "not in"}) + " " + g.list(g.strLit)
	case 3:
		lit := func() string { return g.pick(genInts) }
		if g.r.IntN(4) == 0 {
			return "Ticket." + g.pick(genIntFields) + " in " + g.pick(genInts[:5]) + ".." + g.pick(genInts[3:8])
		}
		return "Ticket." + g.pick(genIntFields) + " " + g.pick([]string{"in", "not in"}) + " " + g.list(lit)
	case 4:
		return fmt.Sprintf("Changed(%q)", g.pick(genChangeable))
	case 5, 6:
		f := g.pick(genChangeable)
		name := g.pick([]string{"ChangedTo", "ChangedFrom"})
		kind, _ := lookupField(f, nil)
		v := g.strLit()
		if kind.kind == kindInt {
			v = g.pick(append([]string{"60.0", "3.0", "0.0"}, genInts[:9]...))
		}
		return fmt.Sprintf("%s(%q, %s)", name, f, v)
	case 7:
		g.literal = true
		return g.pick([]string{"true", "false"})
	case 8:
		if g.r.IntN(2) == 0 {
			return "1 < Ticket.Id < 100"
		}
		return g.pick(genInts) + " < Ticket.SlaSolutionTime <= " + g.pick(genInts)
	case 9, 10:
		g.outside = true
		return g.pick([]string{
			`Previous != nil && Previous.Status == "Open"`,
			`Previous.Status == "Open"`,
			`Previous == nil`,
			`len(Ticket.Actions) > 1`,
			`Ticket.SlaSolutionTime == 60.0`,
			`Ticket.SlaSolutionTime > 59.5`,
			`Ticket.Id + 1 > 42`,
			`Ticket.Status matches "^R"`,
			`Ticket.Status in ["Open", 1]`,
			`Ticket.Id in [1, 2.5]`,
			`upper(Ticket.Status) == "OPEN"`,
			`Ticket.Status < "M"`,
			`any(Ticket.Actions, .Id > 1)`,
			`Ticket.Actions[2].Id == 3`,
			`ChangedTo("Status", Ticket.Urgency)`,
			`Ticket?.Urgency == "High"`,
			`Event == nil`,
		})
	}
	return fmt.Sprintf("CustomField(%d) == %s", 12+g.r.IntN(2), g.strLit())
}

func (g *gen) expr(depth int) string {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(7) {
	case 0:
		return "!(" + g.expr(depth-1) + ")"
	case 1:
		return "not (" + g.expr(depth-1) + ")"
	case 2:
		return "(" + g.expr(depth-1) + ")"
	}
	op := g.pick([]string{"&&", "and", "||", "or"})
	n := 2 + g.r.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.expr(depth - 1)
		if strings.ContainsAny(parts[i], "&|") || strings.Contains(parts[i], " and ") || strings.Contains(parts[i], " or ") {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " "+op+" ")
}

// randomTicket returns a ticket with values from the generator's pools.
func randomTicket(r *rand.Rand) *payload.Ticket {
	g := &gen{r: r}
	t := &payload.Ticket{
		Id:                r.IntN(100),
		Subject:           g.pick(genStrings),
		Status:            g.pick(genStrings),
		Justification:     g.pick(genStrings),
		Urgency:           g.pick(genStrings),
		ServiceFirstLevel: g.pick(genStrings),
		SlaSolutionTime:   []int{0, 1, 5, 59, 60, 61, 240, -1, 100000}[r.IntN(9)],
	}
	for i := range r.IntN(4) {
		t.Actions = append(t.Actions, payload.Action{Id: i + 1, Description: "reply"})
	}
	for range r.IntN(4) {
		t.CustomFieldValues = append(t.CustomFieldValues, payload.CustomFieldValue{CustomFieldId: 11 + r.IntN(3), Value: g.pick(genStrings)})
	}
	return t
}

// randomChange returns a change: a creation, an update, or an update of a
// ticket that is not given (nil after).
func randomChange(r *rand.Rand) (before, after *payload.Ticket) {
	after = randomTicket(r)
	switch r.IntN(10) {
	case 0, 1, 2:
		return nil, after
	case 3:
		return randomTicket(r), nil
	case 4, 5:
		// A small change of the same ticket.
		before = after.Clone()
		before.Status = (&gen{r: r}).pick(genStrings)
		before.SlaSolutionTime = r.IntN(100)
		return before, after
	}
	return randomTicket(r), after
}

// checkSame compares, for one change, the trigger's result with the
// result of its program on expr's VM.
func checkSame(t *testing.T, tr *Trigger, src string, before, after *payload.Ticket) {
	t.Helper()
	ev := NewEvent(before, after)
	defer ev.Release()
	want, werr := vmResult(tr, ev)
	got, gerr := tr.Evaluate(ev)
	if tr.native != nil && werr != nil {
		t.Fatalf("%s: on the Go path, but the VM failed: %v", src, werr)
	}
	if got != want || (gerr == nil) != (werr == nil) {
		t.Fatalf("%s\nbefore: %+v\nafter: %+v\nEvaluate = %v, %v; VM = %v, %v (Go path: %v)", src, before, after, got, gerr, want, werr, tr.native != nil)
	}
}

// TestNativeMatchesVM generates random expressions and changes and checks
// that every expression on the Go path yields what expr's VM yields for
// the same compiled program.
func TestNativeMatchesVM(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	exprs, changes := 3000, 40
	if testing.Short() {
		exprs = 300
	}
	var onGo, onVM, rejected int
	for range exprs {
		g := &gen{r: r}
		src := g.expr(4)
		set, err := Compile([]Definition{{ID: "t", Expression: src, Actions: []ActionDefinition{{Type: ActionNote, Text: "x"}}}}, nil)
		if err != nil {
			// An expression expr's checker refuses; none is expected,
			// but such an expression would not load at all.
			rejected++
			continue
		}
		tr := set.Triggers()[0]
		switch {
		case !g.outside && tr.native == nil:
			t.Fatalf("%s: only the Go-path subset, but it runs on the VM", src)
		case g.outside && !g.literal && tr.native != nil:
			t.Fatalf("%s: outside the subset, but it has a Go closure", src)
		}
		if tr.native != nil {
			onGo++
		} else {
			onVM++
		}
		for range changes {
			before, after := randomChange(r)
			checkSame(t, tr, src, before, after)
		}
	}
	t.Logf("%d expressions on the Go path, %d on the VM, %d refused at load time, %d changes each", onGo, onVM, rejected, changes)
	if onGo < exprs/4 || onVM < exprs/10 {
		t.Errorf("%d on the Go path, %d on the VM: the generator covers too little of one", onGo, onVM)
	}
}

// FuzzNativeExpression checks, for fuzzed expressions and tickets, that
// an expression on the Go path yields what expr's VM yields.
func FuzzNativeExpression(f *testing.F) {
	f.Add(`Ticket.Status == "Resolved" && Ticket.Urgency in ["High","Critical"] && Ticket.SlaSolutionTime > 60`, "Resolved", "Critical", 240, "Open", 12, "Gold", false)
	f.Add(`ChangedTo("Status", "Resolved") || Changed("CustomField:12")`, "Resolved", "Low", 0, "Resolved", 12, "", true)
	f.Add(`not (Event == "created") and CustomField(12) not in ["Gold", "Platinum"]`, "", "", -1, "x", 13, "Platinum", false)
	f.Add(`Ticket.Subject contains "fire" || 60 >= Ticket.SlaSolutionTime || Ticket.Id in [1, 2, 3]`, "Printer on fire", "High", 60, "", 1, "x", false)
	f.Add(`ChangedFrom("SlaSolutionTime", 60.0) && Ticket.Status != Ticket.Urgency`, "a", "a", 61, "b", 0, "", false)
	f.Add(`Previous != nil && Previous.Status == "Open"`, "Resolved", "High", 5, "Open", 12, "Gold", false)
	f.Fuzz(func(t *testing.T, src, status, urgency string, sla int, prevStatus string, cfID int, cfValue string, created bool) {
		if len(src) > DefaultMaxExpressionLength {
			return
		}
		set, err := Compile([]Definition{{ID: "t", Expression: src, Actions: []ActionDefinition{{Type: ActionNote, Text: "x"}}}}, nil)
		if err != nil {
			return
		}
		tr := set.Triggers()[0]
		if !tr.HasExpression() {
			return
		}
		after := &payload.Ticket{Id: sla % 1000, Subject: status + urgency, Status: status, Urgency: urgency, SlaSolutionTime: sla,
			ServiceFirstLevel: cfValue, Justification: prevStatus,
			Actions:           []payload.Action{{Id: 1}},
			CustomFieldValues: []payload.CustomFieldValue{{CustomFieldId: cfID, Value: cfValue}}}
		before := &payload.Ticket{Id: after.Id, Subject: after.Subject, Status: prevStatus, Urgency: status, SlaSolutionTime: -sla,
			CustomFieldValues: []payload.CustomFieldValue{{CustomFieldId: 12, Value: status}}}
		if created {
			before = nil
		}
		checkSame(t, tr, src, before, after)
		checkSame(t, tr, src, after, before)
	})
}
