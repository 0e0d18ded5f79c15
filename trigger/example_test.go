package trigger_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

func ExampleParse() {
	definitions := []byte(`[
	{"id": "resolved-urgent", "name": "Resolved urgent tickets", "type": "Ticket", "enabled": true,
	 "on": ["created", "updated"],
	 "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}],
	                "any": [{"field": "Urgency", "operator": "is", "value": "High"},
	                        {"field": "Urgency", "operator": "is", "value": "Critical"}]},
	 "expression": "Ticket.SlaSolutionTime > 60",
	 "actions": [{"type": "webhook", "url": "https://example.com/hooks/tickets", "headers": {"Authorization": "Bearer abc"}, "secret_headers": ["X-Token"]},
	             {"type": "note", "text": "Ticket data sent to the billing system"}]},
	{"id": "new-ticket", "on": ["created"],
	 "actions": [{"type": "webhook", "url": "https://example.com/hooks/new"}]}
	]`)
	set, err := trigger.Parse(definitions, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	before := &payload.Ticket{Id: 7, Status: "In progress", Urgency: "Critical", SlaSolutionTime: 240}
	after := before.Clone()
	after.Status = "Resolved"
	ev := trigger.NewEvent(before, after)

	for _, t := range set.Triggers() {
		if t.Match(ev) {
			fmt.Printf("%s fires on %s: %v\n", t.ID, ev.Kind(), t.WebhookEvents())
			for _, a := range t.Actions {
				fmt.Printf("  %s %s%s\n", a.Type, a.URL, a.Text)
			}
		}
	}
	// Output:
	// resolved-urgent fires on updated: [{3 11} {5 1} {5 1} {11 15}]
	//   webhook https://example.com/hooks/tickets
	//   note Ticket data sent to the billing system
}

func ExampleParse_errors() {
	_, err := trigger.Parse([]byte(`[
	{"id": "x", "conditions": {"all": [{"field": "Status", "operator": "less_than", "value": "Resolved"}]},
	 "expression": "Tickt.Status == \"Open\"",
	 "actions": [{"type": "webhook", "url": "ftp://a"}]}
	]`), nil)
	fmt.Println(err)

	var te *trigger.Error
	if errors.As(err, &te) {
		fmt.Println(errors.Is(err, trigger.ErrInvalid), te.TriggerID, te.Path)
	}
	// Output:
	// trigger "x": conditions.all[0]: operator "less_than" does not apply to string field "Status"
	// trigger "x": expression: line 1, column 1: unknown name Tickt
	// trigger "x": actions[0]: url "ftp://a" must be an absolute http or https URL
	// true x conditions.all[0]
}

func ExampleStore_Replace() {
	load := func(status string) *trigger.Set {
		set, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "status", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": %q}]},
			"actions": [{"type": "webhook", "url": "https://example.com/hooks"}]}]`, status), nil)
		if err != nil {
			panic(err)
		}
		return set
	}
	store := trigger.NewStore(load("Resolved"))
	ctx := context.Background()
	ev := trigger.NewEvent(&payload.Ticket{Status: "Open"}, &payload.Ticket{Status: "Closed"})

	matches := func() {
		triggers, _ := store.ForTicket(ctx, "", ev.After)
		for _, t := range triggers {
			fmt.Println(t.ID, t.Match(ev))
		}
	}
	matches()
	// An administrator edits the trigger; the engine sees the change on
	// its next evaluation, with no restart and no lock.
	store.Replace(load("Closed"))
	matches()
	// Output:
	// status false
	// status true
}
