package trigger_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

func TestOperators(t *testing.T) {
	t.Parallel()
	var (
		resolved = ticket("Resolved")
		open     = ticket("Open")
		noStatus = ticket("")
		withSla  = func(n int) *payload.Ticket { return ticket("Open", func(t *payload.Ticket) { t.SlaSolutionTime = n }) }
		withActs = func(n int) *payload.Ticket {
			return ticket("Open", func(t *payload.Ticket) { t.Actions = make([]payload.Action, n) })
		}
		withField = func(id int, v string) *payload.Ticket {
			return ticket("Open", func(t *payload.Ticket) {
				t.CustomFieldValues = []payload.CustomFieldValue{{CustomFieldId: 1, Value: "other"}, {CustomFieldId: id, Value: v}, {CustomFieldId: id, Value: "second"}}
			})
		}
		subject = func(s string) *payload.Ticket {
			return ticket("Open", func(t *payload.Ticket) { t.Subject = s })
		}
	)
	tests := []struct {
		field, op     string
		value         any // nil: no value
		before, after *payload.Ticket
		want          bool
	}{
		// string: is / is_not, exact and case-sensitive
		{"Status", "is", "Resolved", nil, resolved, true},
		{"Status", "is", "resolved", nil, resolved, false},
		{"Status", "is", "Resolved", resolved, open, false},
		{"Status", "is_not", "Resolved", open, open, true},
		{"Status", "is_not", "Resolved", open, resolved, false},
		// contains / not_contains, case-insensitive
		{"Subject", "contains", "ON FIRE", nil, subject("Printer on fire"), true},
		{"Subject", "contains", "water", nil, subject("Printer on fire"), false},
		{"Subject", "contains", "", nil, subject(""), true},
		{"Subject", "contains", "ÉTÉ", nil, subject("un été chaud"), true},
		{"Subject", "contains", "k", nil, subject("5 \u212a"), true}, // Kelvin sign folds to k
		{"Subject", "contains", "straße", nil, subject("STRAßE 5"), true},
		{"Subject", "not_contains", "fire", open, subject("Printer on FIRE"), false},
		{"Subject", "not_contains", "water", open, subject("Printer on fire"), true},
		// present / not_present
		{"Status", "present", nil, nil, open, true},
		{"Status", "present", nil, open, noStatus, false},
		{"Status", "not_present", nil, open, noStatus, true},
		// changed / not_changed; on creation the previous ticket is empty
		{"Status", "changed", nil, nil, open, true},
		{"Status", "changed", nil, nil, noStatus, false},
		{"Status", "changed", nil, open, resolved, true},
		{"Status", "changed", nil, open, open, false},
		{"Status", "not_changed", nil, open, open, true},
		{"Status", "not_changed", nil, open, resolved, false},
		{"Status", "not_changed", nil, nil, open, false},
		// changed_to / changed_from and their negations
		{"Status", "changed_to", "Resolved", nil, resolved, true},
		{"Status", "changed_to", "Resolved", open, resolved, true},
		{"Status", "changed_to", "Resolved", resolved, resolved, false},
		{"Status", "changed_to", "Resolved", resolved, open, false},
		{"Status", "changed_from", "Open", open, resolved, true},
		{"Status", "changed_from", "Open", open, open, false},
		{"Status", "changed_from", "Open", nil, resolved, false},
		{"Status", "changed_from", "", nil, resolved, true},
		{"Status", "not_changed_to", "Resolved", open, resolved, false},
		{"Status", "not_changed_to", "Resolved", resolved, resolved, true},
		{"Status", "not_changed_to", "Resolved", nil, open, true},
		{"Status", "not_changed_from", "Open", open, resolved, false},
		{"Status", "not_changed_from", "Open", resolved, open, true},
		// other string fields
		{"Urgency", "is", "High", nil, open, true},
		{"Justification", "not_present", nil, nil, open, true},
		{"ServiceFirstLevel", "is", "", nil, open, true},
		// int fields
		{"SlaSolutionTime", "is", 90, nil, withSla(90), true},
		{"SlaSolutionTime", "is_not", 90, nil, withSla(90), false},
		{"SlaSolutionTime", "less_than", 60, nil, withSla(59), true},
		{"SlaSolutionTime", "less_than", 60, nil, withSla(60), false},
		{"SlaSolutionTime", "greater_than", 60, nil, withSla(61), true},
		{"SlaSolutionTime", "greater_than", 60, nil, withSla(60), false},
		{"SlaSolutionTime", "greater_than", -1, nil, withSla(0), true},
		{"SlaSolutionTime", "present", nil, nil, withSla(0), false},
		{"SlaSolutionTime", "not_present", nil, nil, withSla(0), true},
		{"SlaSolutionTime", "changed", nil, withSla(30), withSla(60), true},
		{"SlaSolutionTime", "changed", nil, nil, withSla(0), false},
		{"SlaSolutionTime", "not_changed", nil, withSla(30), withSla(30), true},
		{"SlaSolutionTime", "changed_to", 60, withSla(30), withSla(60), true},
		{"SlaSolutionTime", "changed_to", 60, nil, withSla(60), true},
		{"SlaSolutionTime", "changed_from", 30, withSla(30), withSla(60), true},
		{"SlaSolutionTime", "not_changed_to", 60, withSla(60), withSla(60), true},
		{"SlaSolutionTime", "not_changed_from", 30, withSla(30), withSla(60), false},
		{"ActionCount", "greater_than", 1, nil, withActs(2), true},
		{"ActionCount", "changed", nil, withActs(2), withActs(3), true},
		{"ActionCount", "changed", nil, withActs(3), withActs(3), false},
		{"ActionCount", "is", 0, nil, withActs(0), true},
		// Id
		{"Id", "is", 42, nil, open, true},
		{"Id", "is_not", 42, nil, open, false},
		{"Id", "less_than", 100, open, open, true},
		{"Id", "greater_than", 100, open, open, false},
		{"Id", "present", nil, nil, open, true},
		{"Id", "not_present", nil, nil, &payload.Ticket{}, true},
		// custom fields: the first value with the id
		{"CustomField:7", "is", "Gold", nil, withField(7, "Gold"), true},
		{"CustomField:7", "is", "second", nil, withField(7, "Gold"), false},
		{"CustomField:7", "contains", "GOL", nil, withField(7, "Gold"), true},
		{"CustomField:7", "present", nil, nil, withField(7, "Gold"), true},
		{"CustomField:8", "present", nil, nil, withField(7, "Gold"), false},
		{"CustomField:8", "not_present", nil, nil, withField(7, "Gold"), true},
		{"CustomField:7", "changed_to", "Gold", withField(7, "Silver"), withField(7, "Gold"), true},
		{"CustomField:7", "changed_from", "Silver", withField(7, "Silver"), withField(7, "Gold"), true},
		{"CustomField:7", "changed", nil, nil, withField(7, "Gold"), true},
		{"CustomField:7", "not_changed", nil, withField(7, "Gold"), withField(7, "Gold"), true},
		// Event
		{"Event", "is", "created", nil, open, true},
		{"Event", "is", "created", open, open, false},
		{"Event", "is", "updated", open, open, true},
		{"Event", "is_not", "created", open, open, true},
		{"Event", "is_not", "updated", open, open, false},
	}
	for _, tt := range tests {
		kind := "update"
		if tt.before == nil {
			kind = "create"
		}
		name := fmt.Sprintf("%s %s %v on %s", tt.field, tt.op, tt.value, kind)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var v json.RawMessage
			if tt.value != nil {
				v = raw(tt.value)
			}
			tr := compileOne(t, withCondition(tt.field, tt.op, v))
			ev := trigger.NewEvent(tt.before, tt.after)
			if got := tr.Match(ev); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			got, err := tr.Evaluate(ev)
			if err != nil || got != tt.want {
				t.Errorf("Evaluate = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestAllAnyExpression(t *testing.T) {
	t.Parallel()
	all := []trigger.ConditionDefinition{{Field: "Status", Operator: "changed_to", Value: raw("Resolved")}}
	anyOf := []trigger.ConditionDefinition{
		{Field: "Urgency", Operator: "is", Value: raw("High")},
		{Field: "Urgency", Operator: "is", Value: raw("Critical")},
	}
	urgency := func(u string) func(*payload.Ticket) { return func(t *payload.Ticket) { t.Urgency = u } }
	sla := func(n int) func(*payload.Ticket) { return func(t *payload.Ticket) { t.SlaSolutionTime = n } }
	tests := []struct {
		name          string
		def           trigger.Definition
		before, after *payload.Ticket
		want          bool
	}{
		{"no conditions fire on every change", trigger.Definition{}, ticket("Open"), ticket("Open"), true},
		{"no conditions fire on creation", trigger.Definition{}, nil, ticket("Open"), true},
		{"all holds", trigger.Definition{Conditions: trigger.Conditions{All: all}}, ticket("Open"), ticket("Resolved"), true},
		{"all fails", trigger.Definition{Conditions: trigger.Conditions{All: all}}, ticket("Open"), ticket("Open"), false},
		{"any first holds", trigger.Definition{Conditions: trigger.Conditions{Any: anyOf}}, nil, ticket("Open", urgency("High")), true},
		{"any second holds", trigger.Definition{Conditions: trigger.Conditions{Any: anyOf}}, nil, ticket("Open", urgency("Critical")), true},
		{"any none holds", trigger.Definition{Conditions: trigger.Conditions{Any: anyOf}}, nil, ticket("Open", urgency("Low")), false},
		{"all and any hold", trigger.Definition{Conditions: trigger.Conditions{All: all, Any: anyOf}}, ticket("Open"), ticket("Resolved", urgency("Critical")), true},
		{"all holds, any fails", trigger.Definition{Conditions: trigger.Conditions{All: all, Any: anyOf}}, ticket("Open"), ticket("Resolved", urgency("Low")), false},
		{"all, any and expression hold", trigger.Definition{Conditions: trigger.Conditions{All: all, Any: anyOf}, Expression: "Ticket.SlaSolutionTime > 60"},
			ticket("Open"), ticket("Resolved", sla(61)), true},
		{"expression fails", trigger.Definition{Conditions: trigger.Conditions{All: all, Any: anyOf}, Expression: "Ticket.SlaSolutionTime > 60"},
			ticket("Open"), ticket("Resolved", sla(60)), false},
		{"expression alone", trigger.Definition{Expression: `Ticket.Status == "Open"`}, nil, ticket("Open"), true},
		{"disabled", trigger.Definition{Enabled: boolPtr(false)}, nil, ticket("Open"), false},
		{"enabled explicitly", trigger.Definition{Enabled: boolPtr(true)}, nil, ticket("Open"), true},
		{"on created only, created", trigger.Definition{On: []string{"created"}}, nil, ticket("Open"), true},
		{"on created only, updated", trigger.Definition{On: []string{"created"}}, ticket("Open"), ticket("Open"), false},
		{"on updated only, created", trigger.Definition{On: []string{"updated"}}, nil, ticket("Open"), false},
		{"on updated only, updated", trigger.Definition{On: []string{"updated"}}, ticket("Open"), ticket("Open"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := compileOne(t, tt.def)
			if got := tr.Match(trigger.NewEvent(tt.before, tt.after)); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	set, err := trigger.Parse([]byte(`[{"id": "a", "actions": [{"type": "note", "text": "x"}]}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := set.Get("a")
	if !ok {
		t.Fatal(`Get("a") found nothing`)
	}
	got := struct{ Enabled, OnCreated, OnUpdated bool }{tr.Enabled, tr.On(true), tr.On(false)}
	want := struct{ Enabled, OnCreated, OnUpdated bool }{true, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
	// The definition is returned as written: defaults are not filled in.
	wantDef := trigger.Definition{ID: "a", Actions: []trigger.ActionDefinition{{Type: "note", Text: "x"}}}
	if diff := cmp.Diff(wantDef, tr.Definition()); diff != "" {
		t.Errorf("Definition mismatch (-want +got):\n%s", diff)
	}
	if _, ok := set.Get("b"); ok {
		t.Error(`Get("b") found a trigger`)
	}
}

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		def  trigger.Definition
		want []payload.WebhookEvent
	}{
		{"none", trigger.Definition{}, nil},
		{"all, any, expression in order", trigger.Definition{
			Conditions: trigger.Conditions{
				All: []trigger.ConditionDefinition{
					{Field: "Status", Operator: "changed_to", Value: raw("Resolved")},
					{Field: "Event", Operator: "is", Value: raw("updated")},
				},
				Any: []trigger.ConditionDefinition{
					{Field: "Urgency", Operator: "is", Value: raw("High")},
					{Field: "CustomField:3", Operator: "not_present"},
					{Field: "SlaSolutionTime", Operator: "greater_than", Value: raw(5)},
				},
			},
			Expression: "true",
		}, []payload.WebhookEvent{
			{Criteria: payload.CriteriaStatus, Operator: payload.OperatorChangedTo},
			{Criteria: payload.CriteriaEvent, Operator: payload.OperatorIs},
			{Criteria: payload.CriteriaUrgency, Operator: payload.OperatorIs},
			{Criteria: payload.CriteriaCustomField, Operator: payload.OperatorNotPresent},
			{Criteria: payload.CriteriaSlaSolutionTime, Operator: payload.OperatorGreaterThan},
			{Criteria: payload.CriteriaExpression, Operator: payload.OperatorMatches},
		}},
		{"every field and operator code", trigger.Definition{Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{
			{Field: "Id", Operator: "is", Value: raw(1)},
			{Field: "Subject", Operator: "is_not", Value: raw("a")},
			{Field: "Status", Operator: "contains", Value: raw("a")},
			{Field: "Justification", Operator: "not_contains", Value: raw("a")},
			{Field: "Urgency", Operator: "present"},
			{Field: "ServiceFirstLevel", Operator: "not_present"},
			{Field: "SlaSolutionTime", Operator: "less_than", Value: raw(1)},
			{Field: "ActionCount", Operator: "greater_than", Value: raw(1)},
			{Field: "Subject", Operator: "changed"},
			{Field: "Subject", Operator: "not_changed"},
			{Field: "Subject", Operator: "changed_from", Value: raw("a")},
			{Field: "Subject", Operator: "not_changed_to", Value: raw("a")},
			{Field: "Subject", Operator: "not_changed_from", Value: raw("a")},
			{Field: "Event", Operator: "is_not", Value: raw("created")},
		}}}, []payload.WebhookEvent{
			{Criteria: 1, Operator: 1}, {Criteria: 2, Operator: 2}, {Criteria: 3, Operator: 3},
			{Criteria: 4, Operator: 4}, {Criteria: 5, Operator: 7}, {Criteria: 6, Operator: 8},
			{Criteria: 7, Operator: 5}, {Criteria: 8, Operator: 6}, {Criteria: 2, Operator: 9},
			{Criteria: 2, Operator: 10}, {Criteria: 2, Operator: 12}, {Criteria: 2, Operator: 13},
			{Criteria: 2, Operator: 14}, {Criteria: 9, Operator: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := compileOne(t, tt.def)
			if diff := cmp.Diff(tt.want, tr.WebhookEvents()); diff != "" {
				t.Errorf("WebhookEvents mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvent(t *testing.T) {
	t.Parallel()
	created := trigger.NewEvent(nil, ticket("Open"))
	updated := trigger.NewEvent(ticket("Open"), ticket("Resolved"))
	got := []any{created.Created(), created.Kind(), updated.Created(), updated.Kind()}
	want := []any{true, "created", false, "updated"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Created/Kind mismatch (-want +got):\n%s", diff)
	}

	// A literal Event works too, and a nil After is an empty ticket.
	tr := compileOne(t, trigger.Definition{
		Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{{Field: "Status", Operator: "not_present"}}},
		Expression: `Event == "updated" && Ticket.Status == ""`,
	})
	if !tr.Match(&trigger.Event{Before: ticket("Open")}) {
		t.Error("Match(literal Event with nil After) = false, want true")
	}
	if ok, err := tr.Evaluate(nil); ok || err == nil {
		t.Errorf("Evaluate(nil) = %v, %v; want false and an error", ok, err)
	}
	if tr.Match(nil) {
		t.Error("Match(nil) = true, want false")
	}
}

// TestMatchStructuredDoesNotAllocate is not parallel: AllocsPerRun counts
// the allocations of every goroutine.
func TestMatchStructuredDoesNotAllocate(t *testing.T) {
	tr := compileOne(t, trigger.Definition{Conditions: trigger.Conditions{
		All: []trigger.ConditionDefinition{
			{Field: "Status", Operator: "changed_to", Value: raw("Resolved")},
			{Field: "Subject", Operator: "contains", Value: raw("FIRE")},
			{Field: "CustomField:4", Operator: "not_present"},
		},
		Any: []trigger.ConditionDefinition{{Field: "SlaSolutionTime", Operator: "greater_than", Value: raw(10)}},
	}})
	ev := trigger.NewEvent(ticket("Open"), ticket("Resolved"))
	if !tr.Match(ev) {
		t.Fatal("Match = false, want true")
	}
	if n := testing.AllocsPerRun(100, func() { tr.Match(ev) }); n != 0 {
		t.Errorf("Match allocates %v times per run, want 0", n)
	}
}

// boolPtr returns a pointer to b, for Definition.Enabled.
func boolPtr(b bool) *bool { return &b }
