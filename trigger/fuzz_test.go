package trigger_test

import (
	"encoding/json"
	"testing"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// FuzzParse checks that Parse never panics, and that what it accepts can be
// evaluated, encoded and parsed again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specJSON))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id": "a", "actions": [{"type": "note", "text": "x"}]}]`))
	f.Add([]byte(`[{"id": "a", "expression": "Previous.Status == \"x\"", "actions": [{"type": "note", "text": "x"}]}]`))
	f.Add([]byte(`[{"id": "a", "expression": "Changed(\"Status\") && ChangedTo(\"SlaSolutionTime\", 5) || CustomField(3) contains \"x\"", "actions": [{"type": "custom", "k": [1, {"a": null}]}]}]`))
	f.Add([]byte(`[{"id": "a", "on": ["updated"], "conditions": {"any": [{"field": "CustomField:9", "operator": "not_changed_from", "value": "x"}, {"field": "Event", "operator": "is", "value": "created"}]}, "actions": [{"type": "webhook", "url": "https://h/p", "headers": {"A": "b"}}]}]`))
	f.Add([]byte(`[{"id": 5, "enabled": "no", "conditions": [], "actions": {}}, 7, null]`))
	f.Add([]byte("[\n{\"id\": \"x\",}\n]"))
	f.Add([]byte(`[{"id":"a","conditions":{"all":[{"field":"Subject","operator":"contains","value":"\u212a"}]},"actions":[{"type":"note","text":"x"}]}]`))

	opts := &trigger.Options{ActionTypes: []string{"custom"}}
	before := &payload.Ticket{Id: 1, Status: "Open", Subject: "Kelvin \u212a", Actions: []payload.Action{{Id: 1}},
		CustomFieldValues: []payload.CustomFieldValue{{CustomFieldId: 9, Value: "x"}}}
	after := &payload.Ticket{Id: 1, Status: "Resolved", Subject: "kelvin k", SlaSolutionTime: 5}
	events := []*trigger.Event{trigger.NewEvent(nil, after), trigger.NewEvent(before, after), trigger.NewEvent(after, before)}

	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := trigger.Parse(data, opts)
		if err != nil {
			if set != nil {
				t.Fatal("Parse returned a Set and an error")
			}
			_ = err.Error()
			return
		}
		defs := []trigger.Definition{}
		for _, tr := range set.Triggers() {
			for _, ev := range events {
				tr.Match(ev)
				_, _ = tr.Evaluate(ev)
			}
			defs = append(defs, tr.Definition())
		}
		data2, err := json.Marshal(defs)
		if err != nil {
			t.Fatalf("Marshal(definitions): %v", err)
		}
		if _, err := trigger.Parse(data2, opts); err != nil {
			t.Fatalf("Parse(Marshal(definitions)): %v\ninput: %q\nencoded: %s", err, data, data2)
		}
	})
}
