package tickethooks_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// An admin writes a body template for a Slack incoming webhook and presses
// "Preview": the engine renders the body the action would send, without
// sending anything.
func ExampleEngine_PreviewWebhook() {
	set, err := trigger.Parse([]byte(`[{"id": "slack", "name": "Tell #support", "actions": [{"type": "webhook",
		"url": "https://hooks.example.com/services/T0/B0/XXXX", "secret_url": true,
		"body": "{\"text\": \"Ticket #\" + string(Ticket.Id) + \" is \" + Ticket.Status}"}]}]`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers: trigger.NewStore(set),
		Log:      executionlog.NewMemory(executionlog.MemoryOptions{}),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	t := set.Triggers()[0]
	preview, err := engine.PreviewWebhook(t.Actions[0], tickethooks.WebhookSample{
		Ticket:  &payload.Ticket{Id: 1042, Subject: "Printer on fire", Status: "Resolved"},
		Trigger: t,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(preview.Method, preview.URL, preview.ContentType)
	fmt.Println(string(preview.Body))
	// Output:
	// POST https://hooks.example.com application/json
	// {"text":"Ticket #1042 is Resolved"}
}
