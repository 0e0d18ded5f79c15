package trigger_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// testAttributes are the attributes the tests declare: one of each type.
var testAttributes = []trigger.Attribute{
	{Name: "assignee", Type: trigger.AttrString},
	{Name: "priority", Type: trigger.AttrInt},
	{Name: "vip", Type: trigger.AttrBool},
	{Name: "due", Type: trigger.AttrTime},
	{Name: "tags", Type: trigger.AttrList},
}

// compileAttrs compiles definitions with testAttributes declared.
func compileAttrs(t testing.TB, defs ...trigger.Definition) (*trigger.Set, error) {
	t.Helper()
	for i := range defs {
		if defs[i].ID == "" {
			defs[i].ID = fmt.Sprintf("t%d", i)
		}
		if defs[i].Actions == nil {
			defs[i].Actions = []trigger.ActionDefinition{{Type: trigger.ActionWebhook, URL: "https://example.com/hook"}}
		}
	}
	return trigger.Compile(defs, &trigger.Options{Attributes: testAttributes})
}

// attrEvent is a change of the attributes of an otherwise unchanged
// ticket; a nil before is a creation.
func attrEvent(before, after trigger.Attrs) *trigger.Event {
	var b *payload.Ticket
	if before != nil {
		b = &payload.Ticket{Id: 7}
	}
	ev := trigger.NewEvent(b, &payload.Ticket{Id: 7})
	ev.BeforeAttrs, ev.AfterAttrs = before, after
	return ev
}

func TestAttributeConditions(t *testing.T) {
	t.Parallel()
	noon := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tags := func(v ...string) trigger.Attrs { return trigger.Attrs{"tags": v} }
	tests := []struct {
		field, op     string
		value         any // nil for none
		before, after trigger.Attrs
		want          bool
	}{
		// string
		{"Attr.assignee", "is", "bob", nil, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "is", "bob", nil, trigger.Attrs{}, false},
		{"Attr.assignee", "is_not", "bob", nil, trigger.Attrs{"assignee": "ann"}, true},
		{"Attr.assignee", "contains", "OB", nil, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "not_contains", "x", nil, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "present", nil, nil, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "not_present", nil, nil, nil, true},
		{"Attr.assignee", "changed", nil, trigger.Attrs{"assignee": "ann"}, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "changed", nil, trigger.Attrs{"assignee": "bob"}, trigger.Attrs{"assignee": "bob"}, false},
		{"Attr.assignee", "not_changed", nil, trigger.Attrs{"assignee": "bob"}, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "changed_to", "bob", trigger.Attrs{}, trigger.Attrs{"assignee": "bob"}, true},   // assigned
		{"Attr.assignee", "changed_from", "bob", trigger.Attrs{"assignee": "bob"}, trigger.Attrs{}, true}, // unassigned
		{"Attr.assignee", "not_changed_to", "bob", trigger.Attrs{"assignee": "bob"}, trigger.Attrs{"assignee": "bob"}, true},
		{"Attr.assignee", "not_changed_from", "bob", trigger.Attrs{"assignee": "bob"}, trigger.Attrs{}, false},
		// int
		{"Attr.priority", "is", 3, nil, trigger.Attrs{"priority": 3}, true},
		{"Attr.priority", "is_not", 3, nil, trigger.Attrs{"priority": 3}, false},
		{"Attr.priority", "less_than", 3, nil, trigger.Attrs{"priority": 2}, true},
		{"Attr.priority", "greater_than", 3, nil, trigger.Attrs{"priority": 2}, false},
		{"Attr.priority", "present", nil, nil, trigger.Attrs{"priority": 0}, false},
		{"Attr.priority", "not_present", nil, nil, trigger.Attrs{"priority": 1}, false},
		{"Attr.priority", "changed", nil, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, true},
		{"Attr.priority", "not_changed", nil, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, false},
		{"Attr.priority", "changed_to", 2, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, true},
		{"Attr.priority", "changed_from", 1, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, true},
		{"Attr.priority", "not_changed_to", 2, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, false},
		{"Attr.priority", "not_changed_from", 2, trigger.Attrs{"priority": 1}, trigger.Attrs{"priority": 2}, true},
		// bool
		{"Attr.vip", "is", true, nil, trigger.Attrs{"vip": true}, true},
		{"Attr.vip", "is", false, nil, nil, true},
		{"Attr.vip", "is_not", true, nil, trigger.Attrs{"vip": true}, false},
		{"Attr.vip", "changed", nil, trigger.Attrs{"vip": false}, trigger.Attrs{"vip": true}, true},
		{"Attr.vip", "not_changed", nil, trigger.Attrs{}, trigger.Attrs{"vip": false}, true},
		{"Attr.vip", "changed_to", true, trigger.Attrs{}, trigger.Attrs{"vip": true}, true},
		{"Attr.vip", "changed_from", true, trigger.Attrs{"vip": true}, trigger.Attrs{"vip": false}, true},
		{"Attr.vip", "not_changed_to", true, trigger.Attrs{"vip": true}, trigger.Attrs{"vip": true}, true},
		{"Attr.vip", "not_changed_from", false, trigger.Attrs{}, trigger.Attrs{"vip": true}, false},
		// time: compared by instant, whatever the location
		{"Attr.due", "is", "2026-12-04T12:00:00Z", nil, trigger.Attrs{"due": noon.In(time.FixedZone("x", 3600))}, true},
		{"Attr.due", "is_not", "2026-12-04T12:00:00Z", nil, trigger.Attrs{"due": noon}, false},
		{"Attr.due", "less_than", "2026-12-05T00:00:00Z", nil, trigger.Attrs{"due": noon}, true},
		{"Attr.due", "greater_than", "2026-12-05T00:00:00+13:00", nil, trigger.Attrs{"due": noon}, true},
		{"Attr.due", "present", nil, nil, trigger.Attrs{"due": noon}, true},
		{"Attr.due", "not_present", nil, nil, trigger.Attrs{"due": time.Time{}}, true},
		{"Attr.due", "changed", nil, trigger.Attrs{"due": noon}, trigger.Attrs{"due": noon.Add(time.Hour)}, true},
		{"Attr.due", "not_changed", nil, trigger.Attrs{"due": noon}, trigger.Attrs{"due": noon.UTC()}, true},
		{"Attr.due", "changed_to", "2026-12-04T12:00:00Z", trigger.Attrs{}, trigger.Attrs{"due": noon}, true},
		{"Attr.due", "changed_from", "2026-12-04T12:00:00Z", trigger.Attrs{"due": noon}, trigger.Attrs{}, true},
		{"Attr.due", "not_changed_to", "2026-12-04T12:00:00Z", trigger.Attrs{}, trigger.Attrs{"due": noon}, false},
		{"Attr.due", "not_changed_from", "2026-12-04T12:00:00Z", trigger.Attrs{}, trigger.Attrs{"due": noon}, true},
		// list: includes, and the change operators read as a set
		{"Attr.tags", "includes", "vip", nil, tags("a", "vip"), true},
		{"Attr.tags", "includes", "vip", nil, tags("a"), false},
		{"Attr.tags", "not_includes", "vip", nil, tags("a"), true},
		{"Attr.tags", "present", nil, nil, tags("a"), true},
		{"Attr.tags", "present", nil, nil, tags(), false},
		{"Attr.tags", "not_present", nil, nil, nil, true},
		{"Attr.tags", "changed", nil, tags("a", "b"), tags("b", "a", "a"), false},
		{"Attr.tags", "changed", nil, tags("a"), tags("a", "b"), true},
		{"Attr.tags", "not_changed", nil, tags("a"), tags("a"), true},
		{"Attr.tags", "changed_to", "vip", tags("a"), tags("a", "vip"), true},      // tag added
		{"Attr.tags", "changed_to", "vip", tags("vip"), tags("a", "vip"), false},   // already there
		{"Attr.tags", "changed_from", "vip", tags("vip", "a"), tags("a"), true},    // tag removed
		{"Attr.tags", "changed_from", "vip", tags("a"), tags(), false},             // never there
		{"Attr.tags", "not_changed_to", "vip", tags("a"), tags("a", "vip"), false}, // added
		{"Attr.tags", "not_changed_from", "vip", tags("vip"), tags("vip"), true},   // kept
		{"Attr.tags", "changed_to", "vip", nil, tags("vip"), true},                 // created with it
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s %v before=%v after=%v", tt.field, tt.op, tt.value, tt.before, tt.after)
		cd := trigger.ConditionDefinition{Field: tt.field, Operator: tt.op}
		if tt.value != nil {
			cd.Value = raw(tt.value)
		}
		set, err := compileAttrs(t, trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{cd}}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		tr := set.Triggers()[0]
		if got := tr.Match(attrEvent(tt.before, tt.after)); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", name, got, tt.want)
		}
		if diff := cmp.Diff([]payload.WebhookEvent{{Criteria: payload.CriteriaAttribute, Operator: operatorCode(t, tt.op)}}, tr.WebhookEvents()); diff != "" {
			t.Errorf("%s: WebhookEvents (-want +got):\n%s", name, diff)
		}
	}
}

// operatorCode is the stable code of an operator name.
func operatorCode(t testing.TB, op string) payload.Operator {
	codes := map[string]payload.Operator{
		"is": 1, "is_not": 2, "contains": 3, "not_contains": 4, "less_than": 5, "greater_than": 6,
		"present": 7, "not_present": 8, "changed": 9, "not_changed": 10, "changed_to": 11,
		"changed_from": 12, "not_changed_to": 13, "not_changed_from": 14, "includes": 16, "not_includes": 17,
	}
	c, ok := codes[op]
	if !ok {
		t.Fatalf("no code for %q", op)
	}
	return c
}

// TestAttributeCodesStable pins the codes receivers see for attribute
// conditions.
func TestAttributeCodesStable(t *testing.T) {
	t.Parallel()
	got := []int{int(payload.CriteriaAttribute), int(payload.OperatorIncludes), int(payload.OperatorNotIncludes)}
	if diff := cmp.Diff([]int{12, 16, 17}, got); diff != "" {
		t.Errorf("codes changed (-want +got):\n%s", diff)
	}
}

func TestAttributeLoadErrors(t *testing.T) {
	t.Parallel()
	cond := func(field, op string, v any) trigger.Definition {
		cd := trigger.ConditionDefinition{Field: field, Operator: op}
		if v != nil {
			cd.Value = raw(v)
		}
		return trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{cd}}}
	}
	expr := func(src string) trigger.Definition { return trigger.Definition{Expression: src} }
	tests := []struct {
		name       string
		def        trigger.Definition
		path       string
		line, col  int
		wantInText string
	}{
		{"unknown attribute", cond("Attr.team", "is", "x"), "conditions.all[0]", 0, 0, `unknown attribute "team" (declared: assignee, due, priority, tags, vip)`},
		{"string value for int", cond("Attr.priority", "is", "3"), "conditions.all[0]", 0, 0, `value must be a JSON integer for int attribute "Attr.priority"`},
		{"int value for string", cond("Attr.assignee", "is", 3), "conditions.all[0]", 0, 0, `value must be a JSON string for string attribute "Attr.assignee"`},
		{"string for bool", cond("Attr.vip", "is", "true"), "conditions.all[0]", 0, 0, `value must be true or false for bool attribute "Attr.vip"`},
		{"bad time", cond("Attr.due", "less_than", "tomorrow"), "conditions.all[0]", 0, 0, `value must be an RFC 3339 time`},
		{"includes on a string", cond("Attr.assignee", "includes", "x"), "conditions.all[0]", 0, 0, `operator "includes" does not apply to string attribute "Attr.assignee"`},
		{"contains on a list", cond("Attr.tags", "contains", "x"), "conditions.all[0]", 0, 0, `operator "contains" does not apply to list attribute "Attr.tags"`},
		{"less_than on a bool", cond("Attr.vip", "less_than", true), "conditions.all[0]", 0, 0, `operator "less_than" does not apply to bool attribute "Attr.vip"`},
		{"list value for includes", cond("Attr.tags", "includes", []string{"a"}), "conditions.all[0]", 0, 0, `value must be a JSON string for list attribute "Attr.tags"`},
		{"expression: unknown attribute", expr("Ticket.Id > 1 &&\n  Attr.team == \"x\""), "expression", 2, 8, `unknown attribute "team"`},
		{"expression: wrong type", expr(`Attr.priority == "high"`), "expression", 1, 15, `mismatched types int and string`},
		{"expression: list compared with a string", expr(`Attr.tags == "vip"`), "expression", 1, 11, `mismatched types []string and string`},
		{"expression: bare Attr", expr(`len(Attr) > 0`), "expression", 1, 5, `Attr and PreviousAttr must be followed by .<attribute name>`},
		{"expression: computed name", expr(`Attr["ass" + "ignee"] == ""`), "expression", 1, 5, `an attribute must be named with a literal`},
		{"expression: getter called", expr(`Attr.String("assignee") == ""`), "expression", 1, 6, `unknown attribute "String"`},
		{"expression: Changed with a wrong type", expr(`ChangedTo("Attr.vip", "yes")`), "expression", 1, 23, `ChangedTo: value for bool attribute "Attr.vip" must be true or false`},
		{"expression: Changed unknown", expr(`Changed("Attr.nope")`), "expression", 1, 9, `unknown attribute "nope"`},
		{"expression: $env aliased", expr(`let e = $env; e.Attr.team == ""`), "expression", 1, 9, `$env must be followed by a literal name`},
		{"expression: $env in a list", expr(`any([$env], #.Attr.team == "")`), "expression", 1, 6, `$env must be followed by a literal name`},
		{"expression: $env computed name", expr(`$env["At" + "tr"].team == ""`), "expression", 1, 1, `$env must be followed by a literal name`},
	}
	for _, tt := range tests {
		_, err := compileAttrs(t, tt.def)
		var te *trigger.Error
		if !errors.As(err, &te) || !errors.Is(err, trigger.ErrInvalid) {
			t.Errorf("%s: err = %v, want a *trigger.Error", tt.name, err)
			continue
		}
		got := []any{te.Path, te.Line, te.Column}
		if diff := cmp.Diff([]any{tt.path, tt.line, tt.col}, got); diff != "" {
			t.Errorf("%s: %v: path, line, column (-want +got):\n%s", tt.name, err, diff)
		}
		if !strings.Contains(err.Error(), tt.wantInText) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.wantInText)
		}
	}

	// Without declarations, an attribute is unknown, and says so.
	_, err := trigger.Compile([]trigger.Definition{{ID: "a", Expression: `Attr.team == ""`,
		Actions: []trigger.ActionDefinition{{Type: trigger.ActionWebhook, URL: "https://example.com/"}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no attributes are declared (Options.Attributes)") {
		t.Errorf("undeclared: err = %v", err)
	}
}

func TestAttributeDeclarationErrors(t *testing.T) {
	t.Parallel()
	for _, attrs := range [][]trigger.Attribute{
		{{Name: "Team", Type: trigger.AttrString}},
		{{Name: "", Type: trigger.AttrString}},
		{{Name: "a-b", Type: trigger.AttrString}},
		{{Name: "1a", Type: trigger.AttrString}},
		{{Name: strings.Repeat("a", trigger.MaxAttrNameBytes+1), Type: trigger.AttrString}},
		{{Name: "a", Type: "float"}},
		{{Name: "a", Type: trigger.AttrString}, {Name: "a", Type: trigger.AttrInt}},
	} {
		_, err := trigger.Compile(nil, &trigger.Options{Attributes: attrs})
		if !errors.Is(err, trigger.ErrAttribute) || !errors.Is(err, trigger.ErrInvalid) {
			t.Errorf("%v: err = %v, want ErrAttribute and ErrInvalid", attrs, err)
		}
	}
}

func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	s, err := trigger.NewSchema(testAttributes)
	if err != nil {
		t.Fatal(err)
	}
	ok := trigger.Attrs{"assignee": "bob", "priority": 2, "vip": true, "due": time.Now(), "tags": []string{"a"}, "team": nil}
	delete(ok, "team")
	if err := s.Check(ok); err != nil {
		t.Errorf("Check(%v) = %v", ok, err)
	}
	for _, bad := range []trigger.Attrs{
		{"team": "x"},
		{"priority": "2"},
		{"priority": int64(2)},
		{"tags": []any{"a"}},
		{"due": "2026-01-01"},
		{"assignee": strings.Repeat("x", trigger.MaxAttrBytes)},
		{"tags": make([]string, trigger.MaxListItems+1)},
	} {
		if err := s.Check(bad); !errors.Is(err, trigger.ErrAttribute) {
			t.Errorf("Check(%.60v) = %v, want ErrAttribute", bad, err)
		}
	}
}

// TestAttributeConditionsAgreeWithExpressions is the differential test:
// each structured attribute condition, written again as an expression
// (by hand, with the VM's operators rather than the helpers where it
// can), agrees with it on random changes.
func TestAttributeConditionsAgreeWithExpressions(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	words := []string{"", "a", "bob", "Bob", "vip", "VIP", "x y"}
	times := []string{"2026-01-01T00:00:00Z", "2026-06-30T12:30:00.000001Z", "2027-01-01T00:00:00+02:00"}
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	type pair struct {
		cd   trigger.ConditionDefinition
		expr string
	}
	var pairs []pair
	add := func(field, op string, v any, expr string) {
		cd := trigger.ConditionDefinition{Field: field, Operator: op}
		if v != nil {
			cd.Value = raw(v)
		}
		pairs = append(pairs, pair{cd, expr})
	}
	for _, w := range words {
		add("Attr.assignee", "is", w, "Attr.assignee == "+q(w))
		add("Attr.assignee", "is_not", w, "Attr.assignee != "+q(w))
		add("Attr.assignee", "contains", w, "lower(Attr.assignee) contains lower("+q(w)+")")
		add("Attr.assignee", "not_contains", w, "not (lower(Attr.assignee) contains lower("+q(w)+"))")
		add("Attr.assignee", "changed_to", w, fmt.Sprintf("Attr.assignee == %s && PreviousAttr.assignee != %[1]s", q(w)))
		add("Attr.assignee", "changed_from", w, fmt.Sprintf("ChangedFrom(\"Attr.assignee\", %s)", q(w)))
		add("Attr.assignee", "not_changed_to", w, fmt.Sprintf("!(Attr.assignee == %s && PreviousAttr.assignee != %[1]s)", q(w)))
		add("Attr.assignee", "not_changed_from", w, fmt.Sprintf("!(PreviousAttr.assignee == %s && Attr.assignee != %[1]s)", q(w)))
		add("Attr.tags", "includes", w, q(w)+" in Attr.tags")
		add("Attr.tags", "not_includes", w, q(w)+" not in Attr.tags")
		add("Attr.tags", "changed_to", w, fmt.Sprintf("%s in Attr.tags && %[1]s not in PreviousAttr.tags", q(w)))
		add("Attr.tags", "changed_from", w, fmt.Sprintf("ChangedFrom(\"Attr.tags\", %s)", q(w)))
		add("Attr.tags", "not_changed_to", w, fmt.Sprintf("!ChangedTo(\"Attr.tags\", %s)", q(w)))
		add("Attr.tags", "not_changed_from", w, fmt.Sprintf("!(%s in PreviousAttr.tags && %[1]s not in Attr.tags)", q(w)))
	}
	for _, n := range []int{-1, 0, 1, 5} {
		add("Attr.priority", "is", n, fmt.Sprintf("Attr.priority == %d", n))
		add("Attr.priority", "less_than", n, fmt.Sprintf("Attr.priority < %d", n))
		add("Attr.priority", "greater_than", n, fmt.Sprintf("Attr.priority > %d", n))
		add("Attr.priority", "changed_to", n, fmt.Sprintf("ChangedTo(\"Attr.priority\", %d)", n))
		add("Attr.priority", "changed_from", n, fmt.Sprintf("PreviousAttr.priority == %d && Attr.priority != %[1]d", n))
	}
	for _, b := range []bool{true, false} {
		add("Attr.vip", "is", b, fmt.Sprintf("Attr.vip == %v", b))
		add("Attr.vip", "changed_to", b, fmt.Sprintf("Attr.vip == %v && PreviousAttr.vip != %[1]v", b))
		add("Attr.vip", "changed_from", b, fmt.Sprintf("ChangedFrom(\"Attr.vip\", %v)", b))
	}
	for _, ts := range times {
		add("Attr.due", "less_than", ts, fmt.Sprintf("Attr.due < date(%q)", ts))
		add("Attr.due", "greater_than", ts, fmt.Sprintf("Attr.due > date(%q)", ts))
		add("Attr.due", "is", ts, fmt.Sprintf("Attr.due == date(%q)", ts))
		add("Attr.due", "changed_to", ts, fmt.Sprintf("ChangedTo(\"Attr.due\", date(%q))", ts))
	}
	for _, f := range []string{"assignee", "priority", "vip", "due", "tags"} {
		add("Attr."+f, "changed", nil, fmt.Sprintf("Changed(\"Attr.%s\")", f))
		add("Attr."+f, "not_changed", nil, fmt.Sprintf("!Changed(\"Attr.%s\")", f))
	}
	add("Attr.assignee", "present", nil, `Attr.assignee != ""`)
	add("Attr.priority", "not_present", nil, `Attr.priority == 0`)
	add("Attr.due", "present", nil, `!Attr.due.IsZero()`)
	add("Attr.tags", "present", nil, `len(Attr.tags) > 0`)
	add("Attr.tags", "not_present", nil, `len(Attr.tags) == 0`)
	add("Attr.tags", "changed", nil, `any(Attr.tags, # not in PreviousAttr.tags) || any(PreviousAttr.tags, # not in Attr.tags)`)

	var defs []trigger.Definition
	for _, p := range pairs {
		defs = append(defs,
			trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{p.cd}}},
			trigger.Definition{Expression: p.expr})
	}
	set, err := compileAttrs(t, defs...)
	if err != nil {
		t.Fatal(err)
	}
	randomAttrs := func() trigger.Attrs {
		a := trigger.Attrs{}
		if r.IntN(4) > 0 {
			a["assignee"] = pick(words)
		}
		if r.IntN(4) > 0 {
			a["priority"] = r.IntN(9) - 2
		}
		if r.IntN(4) > 0 {
			a["vip"] = r.IntN(2) == 0
		}
		if r.IntN(4) > 0 {
			tm, _ := time.Parse(time.RFC3339Nano, pick(times))
			a["due"] = tm.Add(time.Duration(r.IntN(3)-1) * time.Microsecond)
		}
		if r.IntN(4) > 0 {
			var l []string
			for range r.IntN(4) {
				l = append(l, pick(words))
			}
			a["tags"] = l
		}
		return a
	}
	ts := set.Triggers()
	held := make([]int, len(pairs))
	for range 400 {
		var before trigger.Attrs
		if r.IntN(5) > 0 {
			before = randomAttrs()
		}
		ev := attrEvent(before, randomAttrs())
		for i := 0; i < len(ts); i += 2 {
			s, serr := ts[i].Evaluate(ev)
			e, eerr := ts[i+1].Evaluate(ev)
			if serr != nil || eerr != nil || s != e {
				p := pairs[i/2]
				t.Fatalf("%s %s %s: structured %v (%v), expression %q %v (%v); before %v, after %v",
					p.cd.Field, p.cd.Operator, p.cd.Value, s, serr, p.expr, e, eerr, ev.BeforeAttrs, ev.AfterAttrs)
			}
			if s {
				held[i/2]++
			}
		}
	}
	// Every pair was compared both holding and not holding, save the
	// conditions no change can decide otherwise.
	for i, n := range held {
		if p := pairs[i]; (n == 0 || n == 400) && !(p.cd.Operator == "contains" && string(p.cd.Value) == `""`) && !(p.cd.Operator == "not_contains" && string(p.cd.Value) == `""`) {
			t.Errorf("%s %s %s held in %d of 400 changes: the random changes do not exercise it", p.cd.Field, p.cd.Operator, p.cd.Value, n)
		}
	}
}

// TestTotalActions: conditions see the true count, the packet does not
// carry it.
func TestTotalActions(t *testing.T) {
	t.Parallel()
	set, err := compileAttrs(t,
		trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{{Field: "ActionCount", Operator: "greater_than", Value: raw(100)}}}},
		trigger.Definition{Expression: `Ticket.ActionCount() > 100 && len(Ticket.Actions) == 1`},
		trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{{Field: "ActionCount", Operator: "changed"}}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	last := []payload.Action{{Id: 312, Description: "latest"}}
	before := &payload.Ticket{Id: 1, Actions: last, TotalActions: 311}
	after := &payload.Ticket{Id: 1, Actions: last, TotalActions: 312}
	ev := trigger.NewEvent(before, after)
	for _, tr := range set.Triggers() {
		if !tr.Match(ev) {
			t.Errorf("trigger %s does not match a ticket with 312 actions", tr.ID)
		}
	}
	// A host that does not set TotalActions counts Actions, as before.
	if got := (payload.Ticket{Actions: make([]payload.Action, 3)}).ActionCount(); got != 3 {
		t.Errorf("ActionCount without TotalActions = %d, want 3", got)
	}
	body, err := payload.Encode(after)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "TotalActions") || strings.Contains(string(body), "312,") && strings.Contains(string(body), "311") {
		t.Errorf("packet carries the count: %s", body)
	}
}

// TestMatchAttributesDoesNotAllocate is not parallel: AllocsPerRun
// counts the allocations of every goroutine.
func TestMatchAttributesDoesNotAllocate(t *testing.T) {
	set, err := compileAttrs(t, trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{
		{Field: "Attr.tags", Operator: "changed_to", Value: raw("vip")},
		{Field: "Attr.assignee", Operator: "contains", Value: raw("BO")},
		{Field: "Attr.priority", Operator: "greater_than", Value: raw(1)},
		{Field: "Attr.vip", Operator: "is", Value: raw(true)},
		{Field: "Attr.due", Operator: "present"},
		{Field: "Attr.tags", Operator: "changed"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	ev := attrEvent(trigger.Attrs{"tags": []string{"a"}},
		trigger.Attrs{"tags": []string{"a", "vip"}, "assignee": "bob", "priority": 2, "vip": true, "due": time.Now()})
	if !tr.Match(ev) {
		t.Fatal("Match = false, want true")
	}
	if n := testing.AllocsPerRun(100, func() { tr.Match(ev) }); n != 0 {
		t.Errorf("Match allocates %v times per run, want 0", n)
	}
}

// TestMissingListRendersEmpty: a missing list attribute is [] in a body,
// not null.
func TestMissingListRendersEmpty(t *testing.T) {
	t.Parallel()
	set, err := compileAttrs(t, trigger.Definition{Actions: []trigger.ActionDefinition{{Type: trigger.ActionWebhook,
		URL: "https://example.com/hook", Body: `{"tags": Attr.tags, "before": PreviousAttr.tags}`}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	body, _, err := tr.Actions[0].Render(attrEvent(trigger.Attrs{"tags": nil}, nil), tr)
	if want := `{"before":[],"tags":[]}`; err != nil || string(body) != want {
		t.Errorf("Render = %s, %v; want %s", body, err, want)
	}
}

// TestChangedHelpersOnOddValues: the exported helpers never panic on
// values an attribute cannot have (Schema.Check refuses them; a host
// building an Env itself may not have called it); such values read as
// missing.
func TestChangedHelpersOnOddValues(t *testing.T) {
	t.Parallel()
	odd := []any{[]any{"a"}, map[string]any{"a": 1}, struct{ A []int }{}, 1.5, int64(3), nil}
	for _, v := range odd {
		env := trigger.Env{Attr: trigger.Attrs{"tags": v}, PreviousAttr: trigger.Attrs{"tags": []any{"b"}}}
		if env.Changed("Attr.tags") || env.ChangedTo("Attr.tags", "a") || env.ChangedFrom("Attr.tags", "b") {
			t.Errorf("%#v: a helper holds on values that read as missing", v)
		}
	}
	env := trigger.Env{Attr: trigger.Attrs{"n": 0, "s": "", "b": false, "l": []string{}}}
	for _, name := range []string{"n", "s", "b", "l"} {
		if env.Changed("Attr." + name) {
			t.Errorf("Changed(%s) from missing to the zero value = true, want false", name)
		}
	}
}
