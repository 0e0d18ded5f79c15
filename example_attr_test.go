package tickethooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// A helpdesk passes what it knows beside the packet (here the conversation's
// tags and its own UUID) with each change. The trigger fires when the tag
// vip is added, and its body template sends the UUID to a CRM; the packet
// never carries the attributes.
func ExampleWithAttributes() {
	got := make(chan string, 1)
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + string(body)
	}))
	defer crm.Close()

	cfg := tickethooks.Config{
		Attributes: []trigger.Attribute{
			{Name: "tags", Type: trigger.AttrList},
			{Name: "uuid", Type: trigger.AttrString},
		},
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Logger:        slog.New(slog.DiscardHandler),
	}
	set, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "vip-to-crm",
		"conditions": {"all": [{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}]},
		"actions": [{"type": "webhook", "url": %q, "method": "PUT",
			"body": "{\"external_id\": Attr.uuid, \"status\": Ticket.Status, \"tags\": Attr.tags}"}]}]`, crm.URL),
		cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Triggers = trigger.NewStore(set)
	engine, err := tickethooks.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	ticket := &payload.Ticket{Id: 1042, Subject: "Refund", Status: "Open"}
	uuid := "3f2a9c1e-8b7d-4e6a-9c0f-2d1b5a7e4c33"
	err = engine.OnTicketChange(context.Background(), ticket, ticket, tickethooks.WithAttributes(
		trigger.Attrs{"tags": []string{"refund"}, "uuid": uuid},
		trigger.Attrs{"tags": []string{"refund", "vip"}, "uuid": uuid}))
	if err != nil {
		fmt.Println(err)
		return
	}
	select {
	case req := <-got:
		fmt.Println(req)
	case <-time.After(10 * time.Second):
		fmt.Println("no request")
	}
	// Output:
	// PUT {"external_id":"3f2a9c1e-8b7d-4e6a-9c0f-2d1b5a7e4c33","status":"Open","tags":["refund","vip"]}
}
