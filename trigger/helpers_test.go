package trigger_test

import (
	"encoding/json"
	"testing"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// note is a valid action for definitions whose actions do not matter.
var note = []trigger.ActionDefinition{{Type: trigger.ActionNote, Text: "fired"}}

// raw encodes v as a condition value.
func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// compileOne compiles a single definition, failing the test on error.
func compileOne(t testing.TB, def trigger.Definition) *trigger.Trigger {
	t.Helper()
	if def.ID == "" {
		def.ID = "t"
	}
	if def.Actions == nil {
		def.Actions = note
	}
	set, err := trigger.Compile([]trigger.Definition{def}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return set.Triggers()[0]
}

// withCondition returns a definition with one "all" condition.
func withCondition(field, op string, value json.RawMessage) trigger.Definition {
	return trigger.Definition{ID: "t", Conditions: trigger.Conditions{
		All: []trigger.ConditionDefinition{{Field: field, Operator: op, Value: value}},
	}, Actions: note}
}

// ticket is a ticket for condition tests.
func ticket(status string, mods ...func(*payload.Ticket)) *payload.Ticket {
	t := &payload.Ticket{Id: 42, Subject: "Printer on fire", Status: status, Urgency: "High", SlaSolutionTime: 90}
	for _, m := range mods {
		m(t)
	}
	return t
}
