package trigger_test

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

const benchExpression = `Ticket.SlaSolutionTime > 60 && Ticket.Urgency in ["High", "Critical"] && Event == "updated"`

func benchEvent() *trigger.Event {
	before := &payload.Ticket{Id: 7, Subject: "Printer on fire in the third floor", Status: "Open", Urgency: "Critical", SlaSolutionTime: 240}
	after := before.Clone()
	after.Status = "Resolved"
	return trigger.NewEvent(before, after)
}

// BenchmarkMatchStructured measures a trigger with three structured
// conditions (about 30 ns and no allocation is the target per condition).
func BenchmarkMatchStructured(b *testing.B) {
	tr := compileOne(b, trigger.Definition{ID: "b", Conditions: trigger.Conditions{
		All: []trigger.ConditionDefinition{
			{Field: "Status", Operator: "changed_to", Value: raw("Resolved")},
			{Field: "Subject", Operator: "contains", Value: raw("FIRE")},
		},
		Any: []trigger.ConditionDefinition{
			{Field: "Urgency", Operator: "is", Value: raw("High")},
			{Field: "Urgency", Operator: "is", Value: raw("Critical")},
		},
	}})
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if !tr.Match(ev) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchExpression measures a trigger with an expression only.
// Compare with BenchmarkRawExpr, the same program run directly.
func BenchmarkMatchExpression(b *testing.B) {
	tr := compileOne(b, trigger.Definition{ID: "b", Expression: benchExpression})
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if !tr.Match(ev) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRawExpr runs the same program as BenchmarkMatchExpression on one
// reused vm.VM over the same environment: the floor Match can reach.
func BenchmarkRawExpr(b *testing.B) {
	program, err := expr.Compile(benchExpression, expr.Env(trigger.Env{}), expr.AsBool())
	if err != nil {
		b.Fatal(err)
	}
	ev := benchEvent()
	var env any = trigger.Env{Ticket: *ev.After, Previous: ev.Before, Event: ev.Kind()}
	var m vm.VM
	b.ReportAllocs()
	for b.Loop() {
		out, err := m.Run(program, env)
		if err != nil || out != true {
			b.Fatal(out, err)
		}
	}
}

// BenchmarkNewEvent measures preparing one change for evaluation.
func BenchmarkNewEvent(b *testing.B) {
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		trigger.NewEvent(ev.Before, ev.After)
	}
}
