package trigger_test

import (
	"fmt"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// A helpdesk declares the attributes its tickets have beyond the packet,
// and triggers match on them: here, the tag "vip" added to a ticket
// assigned within the billing team.
func ExampleAttribute() {
	opts := &trigger.Options{Attributes: []trigger.Attribute{
		{Name: "team", Type: trigger.AttrString},
		{Name: "tags", Type: trigger.AttrList},
	}}
	set, err := trigger.Parse([]byte(`[{"id": "vip-billing",
		"conditions": {"all": [{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}]},
		"expression": "Attr.team == \"billing\"",
		"actions": [{"type": "webhook", "url": "https://hooks.example.com/vip"}]}]`), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	tr := set.Triggers()[0]
	ticket := &payload.Ticket{Id: 7, Status: "Open"}

	ev := trigger.NewEvent(ticket, ticket)
	ev.BeforeAttrs = trigger.Attrs{"team": "billing", "tags": []string{"refund"}}
	ev.AfterAttrs = trigger.Attrs{"team": "billing", "tags": []string{"refund", "vip"}}
	fmt.Println("tag added:", tr.Match(ev), tr.WebhookEvents())
	ev.Release()

	ev = trigger.NewEvent(ticket, ticket)
	ev.BeforeAttrs = trigger.Attrs{"team": "billing", "tags": []string{"vip"}}
	ev.AfterAttrs = ev.BeforeAttrs
	fmt.Println("already tagged:", tr.Match(ev))
	ev.Release()

	// A condition on an attribute that is not declared does not load.
	_, err = trigger.Parse([]byte(`[{"id": "x", "expression": "Attr.inbox == \"email\"",
		"actions": [{"type": "webhook", "url": "https://hooks.example.com/x"}]}]`), opts)
	fmt.Println(err)
	// Output:
	// tag added: true [{12 11} {11 15}]
	// already tagged: false
	// trigger "x": expression: line 1, column 6: unknown attribute "inbox" (declared: tags, team)
}
