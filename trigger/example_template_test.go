package trigger_test

import (
	"fmt"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// A webhook action with a body template sends a Slack-shaped message
// instead of the ticket packet. The template is an expression; Render
// encodes its value as JSON, so a status with quotes cannot break it.
func ExampleAction_Render() {
	set, err := trigger.Parse([]byte(`[{"id": "slack", "name": "Tell Slack", "actions": [{"type": "webhook",
		"url": "https://hooks.example.com/services/T0/B0/XXXX", "secret_url": true,
		"body": "{\"text\": \"Ticket #\" + string(Ticket.Id) + \" is \" + Ticket.Status}"}]}]`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	t := set.Triggers()[0]
	ev := trigger.NewEvent(nil, &payload.Ticket{Id: 42, Subject: "Printer on fire", Status: `Waiting for "Acme" <ops>`})
	defer ev.Release()

	body, contentType, err := t.Actions[0].Render(ev, t)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(contentType)
	fmt.Println(string(body))
	// Output:
	// application/json
	// {"text":"Ticket #42 is Waiting for \"Acme\" <ops>"}
}

// A form body: the template's value is a flat map, sent with PUT.
func ExampleAction_Render_form() {
	set, err := trigger.Parse([]byte(`[{"id": "form", "actions": [{"type": "webhook",
		"url": "https://example.com/tickets", "method": "PUT", "content_type": "application/x-www-form-urlencoded",
		"body": "{id: Ticket.Id, subject: Ticket.Subject, trigger: Trigger.ID, created: Event == \"created\"}"}]}]`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	t := set.Triggers()[0]
	ev := trigger.NewEvent(nil, &payload.Ticket{Id: 7, Subject: "VPN & Wi-Fi down"})
	defer ev.Release()
	body, contentType, err := t.Actions[0].Render(ev, t)
	fmt.Println(t.Actions[0].Method, contentType, err)
	fmt.Println(string(body))
	// Output:
	// PUT application/x-www-form-urlencoded <nil>
	// created=true&id=7&subject=VPN+%26+Wi-Fi+down&trigger=form
}

// Templates are checked when the triggers load: an unknown field, a
// form body that is not a map, or a template too costly to run are
// errors with their line and column.
func ExampleParse_bodyTemplate() {
	_, err := trigger.Parse([]byte(`[{"id": "typo", "actions": [{"type": "webhook", "url": "https://example.com/hooks",
		"body": "{\"text\": Ticket.Subjet}"}]},
	{"id": "form", "actions": [{"type": "webhook", "url": "https://example.com/hooks",
		"content_type": "application/x-www-form-urlencoded", "body": "Ticket.Subject"}]},
	{"id": "verb", "actions": [{"type": "webhook", "url": "https://example.com/hooks", "method": "DELETE"}]}]`), nil)
	fmt.Println(err)
	// Output:
	// trigger "typo": actions[0].body: line 1, column 17: type payload.Ticket has no field Subjet
	// trigger "form": actions[0].body: line 1, column 1: an application/x-www-form-urlencoded body must be a map of names to values, not string
	// trigger "verb": actions[0].method: unknown method "DELETE" (want "POST", "PUT" or "PATCH")
}
