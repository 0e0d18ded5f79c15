package trigger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

func TestExpressions(t *testing.T) {
	t.Parallel()
	gold := func(t *payload.Ticket) {
		t.CustomFieldValues = []payload.CustomFieldValue{{CustomFieldId: 12, Value: "Gold"}}
	}
	sla := func(n int) func(*payload.Ticket) { return func(t *payload.Ticket) { t.SlaSolutionTime = n } }
	replies := func(n int) func(*payload.Ticket) {
		return func(t *payload.Ticket) {
			for i := range n {
				t.Actions = append(t.Actions, payload.Action{Id: i, Description: "please refund me"})
			}
		}
	}
	tests := []struct {
		expr          string
		before, after *payload.Ticket
		want          bool
	}{
		{`Ticket.SlaSolutionTime > 60`, nil, ticket("Open", sla(61)), true},
		{`Ticket.SlaSolutionTime > 60`, nil, ticket("Open", sla(60)), false},
		{`Event == "created"`, nil, ticket("Open"), true},
		{`Event == "created"`, ticket("Open"), ticket("Open"), false},
		{`Previous == nil`, nil, ticket("Open"), true},
		{`Previous != nil && Previous.Status == "Open"`, ticket("Open"), ticket("Resolved"), true},
		{`Previous != nil && Previous.Status == "Open"`, nil, ticket("Resolved"), false},
		{`Changed("Status")`, ticket("Open"), ticket("Resolved"), true},
		{`Changed("Status")`, ticket("Open"), ticket("Open"), false},
		{`Changed("Status")`, nil, ticket("Open"), true},
		{`Changed("Justification")`, nil, ticket("Open"), false},
		{`Changed("SlaSolutionTime")`, ticket("Open", sla(1)), ticket("Open", sla(2)), true},
		{`Changed("ActionCount")`, ticket("Open", replies(1)), ticket("Open", replies(2)), true},
		{`Changed("CustomField:12")`, ticket("Open"), ticket("Open", gold), true},
		{`ChangedTo("Status", "Resolved")`, ticket("Open"), ticket("Resolved"), true},
		{`ChangedTo("Status", "Resolved")`, nil, ticket("Resolved"), true},
		{`ChangedTo("Status", "Resolved")`, ticket("Resolved"), ticket("Resolved"), false},
		{`ChangedTo("SlaSolutionTime", 60)`, ticket("Open", sla(30)), ticket("Open", sla(60)), true},
		{`ChangedTo("SlaSolutionTime", 60.0)`, ticket("Open", sla(30)), ticket("Open", sla(60)), true},
		{`ChangedTo("SlaSolutionTime", Ticket.Subject)`, ticket("Open", sla(30)), ticket("Open", sla(60)), false},
		{`ChangedFrom("Status", "Open")`, ticket("Open"), ticket("Resolved"), true},
		{`ChangedFrom("Status", "Open")`, nil, ticket("Resolved"), false},
		{`ChangedFrom("CustomField:12", "")`, ticket("Open"), ticket("Open", gold), true},
		{`ChangedTo("Status", Previous.Status + "!")`, ticket("Open"), ticket("Open!"), true},
		{`CustomField(12) in ["Gold", "Platinum"]`, nil, ticket("Open", gold), true},
		{`CustomField(13) == ""`, nil, ticket("Open", gold), true},
		{`any(Ticket.Actions, .Description contains "refund")`, nil, ticket("Open", replies(2)), true},
		{`len(Ticket.Actions) > 2`, nil, ticket("Open", replies(2)), false},
		{`Ticket.Status matches "^Res"`, nil, ticket("Resolved"), true},
		{`$env.Changed("Status")`, ticket("Open"), ticket("Resolved"), true},
		{`"Status" | Changed()`, ticket("Open"), ticket("Resolved"), true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			tr := compileOne(t, trigger.Definition{Expression: tt.expr})
			got, err := tr.Evaluate(trigger.NewEvent(tt.before, tt.after))
			if err != nil || got != tt.want {
				t.Errorf("Evaluate = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestExpressionCompileErrors(t *testing.T) {
	t.Parallel()
	long := "Ticket.Id > 0" + strings.Repeat(" ", trigger.DefaultMaxExpressionLength)
	deep := strings.Repeat("Ticket.Id > 0 && ", 200) + "true" // > 1000 nodes
	tests := []struct {
		name string
		expr string
		opts *trigger.Options
		want []trigger.Error // Err compared by message; TriggerID "t", Index 0, Path "expression"
	}{
		{"unknown helper field", `Changed("Stauts")`, nil, []trigger.Error{{Line: 1, Column: 9,
			Err: errors.New(`Changed: unknown field "Stauts" (known fields: ActionCount, Event, Id, Justification, ServiceFirstLevel, SlaSolutionTime, Status, Subject, Urgency, CustomField:<id>)`)}}},
		{"wrong case", `ChangedTo("status", "a")`, nil, []trigger.Error{{Line: 1, Column: 11,
			Err: errors.New(`ChangedTo: unknown field "status" (did you mean "Status"?)`)}}},
		{"field that cannot change", `Changed("Id") || ChangedFrom("Event", "created")`, nil, []trigger.Error{
			{Line: 1, Column: 9, Err: errors.New(`Changed does not apply to field "Id", which does not change`)},
			{Line: 1, Column: 30, Err: errors.New(`ChangedFrom does not apply to field "Event", which does not change`)}}},
		{"not a literal", `Changed(Ticket.Actions[0].Description)`, nil, []trigger.Error{{Line: 1, Column: 9,
			Err: errors.New(`the first argument of Changed must be a string literal naming a field`)}}},
		{"not a literal via $env", `$env.ChangedTo(Event, "a")`, nil, []trigger.Error{{Line: 1, Column: 16,
			Err: errors.New(`the first argument of ChangedTo must be a string literal naming a field`)}}},
		{"literal value of the wrong type", "ChangedTo(\"Status\", 5) ||\nChangedFrom(\"SlaSolutionTime\", \"5\") || ChangedTo(\"Urgency\", nil) || ChangedTo(\"ActionCount\", 1.5) || ChangedTo(\"ActionCount\", 2.0)", nil, []trigger.Error{
			{Line: 1, Column: 21, Err: errors.New(`ChangedTo: value for string field "Status" must be a string`)},
			{Line: 2, Column: 32, Err: errors.New(`ChangedFrom: value for int field "SlaSolutionTime" must be an integer`)},
			{Line: 2, Column: 61, Err: errors.New(`ChangedTo: value for string field "Urgency" must be a string`)},
			{Line: 2, Column: 94, Err: errors.New(`ChangedTo: value for int field "ActionCount" must be an integer`)}}},
		{"wrong arity", `Changed()`, nil, []trigger.Error{{Line: 1, Column: 1,
			Err: errors.New(`not enough arguments to call Changed`)}}},
		{"syntax", `Ticket.Id >`, nil, []trigger.Error{{Line: 1, Column: 11,
			Err: errors.New(`unexpected token EOF`)}}},
		{"repeat is disabled", `repeat("a", 10) == "a"`, nil, []trigger.Error{{Line: 1, Column: 1,
			Err: errors.New(`unknown name repeat`)}}},
		{"too long", long, nil, []trigger.Error{{
			Err: errors.New(`is 4109 bytes long; the limit is 4096`)}}},
		{"longer than a custom limit", `Ticket.Id > 100`, &trigger.Options{MaxExpressionLength: 10}, []trigger.Error{{
			Err: errors.New(`is 15 bytes long; the limit is 10`)}}},
		{"too many nodes", deep, nil, []trigger.Error{{Line: 1, Column: 2837,
			Err: errors.New(`compilation failed: expression exceeds maximum allowed nodes`)}}},
		{"more nodes than a custom limit", `Ticket.Id > 1 && Ticket.Id < 9`, &trigger.Options{MaxNodes: 5}, []trigger.Error{{Line: 1, Column: 24,
			Err: errors.New(`compilation failed: expression exceeds maximum allowed nodes`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Compile([]trigger.Definition{{ID: "t", Expression: tt.expr, Actions: note}}, tt.opts)
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var got []trigger.Error
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var te *trigger.Error
				if !errors.As(e, &te) {
					t.Fatalf("%v is not a *trigger.Error", e)
				}
				got = append(got, *te)
			}
			for i := range tt.want {
				tt.want[i].TriggerID, tt.want[i].Path = "t", "expression"
			}
			byMessage := cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })
			if diff := cmp.Diff(tt.want, got, byMessage); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpressionLimitsAccepted(t *testing.T) {
	t.Parallel()
	// Exactly at the default length limit, and a custom node limit above
	// the default.
	exact := "Ticket.Id > 0" + strings.Repeat(" ", trigger.DefaultMaxExpressionLength-len("Ticket.Id > 0"))
	deep := strings.Repeat("Ticket.Id > 0 && ", 200) + "true"
	for _, tc := range []struct {
		expr string
		opts *trigger.Options
	}{
		{exact, nil},
		{deep, &trigger.Options{MaxNodes: 5000}},
	} {
		if _, err := trigger.Compile([]trigger.Definition{{ID: "t", Expression: tc.expr, Actions: note}}, tc.opts); err != nil {
			t.Errorf("Compile(%d-byte expression): %v", len(tc.expr), err)
		}
	}
}

func TestExpressionRuntimeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want trigger.RuntimeError
	}{
		{`Previous.Status == "Open"`, trigger.RuntimeError{TriggerID: "t", Line: 1, Column: 1,
			Err: errors.New("cannot get Status from Previous")}},
		{`Ticket.Actions[3].Id > 0`, trigger.RuntimeError{TriggerID: "t", Line: 1, Column: 15,
			Err: errors.New("index out of range: 3 (array length is 0)")}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			tr := compileOne(t, trigger.Definition{Expression: tt.expr})
			ev := trigger.NewEvent(nil, ticket("Open"))
			if tr.Match(ev) {
				t.Error("Match = true, want false")
			}
			ok, err := tr.Evaluate(ev)
			if ok {
				t.Error("Evaluate = true, want false")
			}
			var got *trigger.RuntimeError
			if !errors.As(err, &got) {
				t.Fatalf("Evaluate error %v is not a *RuntimeError", err)
			}
			byMessage := cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })
			if diff := cmp.Diff(&tt.want, got, byMessage); diff != "" {
				t.Errorf("RuntimeError mismatch (-want +got):\n%s", diff)
			}
			if errors.Is(err, trigger.ErrInvalid) {
				t.Error("a run-time error matches ErrInvalid")
			}
		})
	}
}
