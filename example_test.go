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
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// A host loads its triggers, creates an engine, and reports each ticket
// change. The webhook is delivered in the background and recorded in the
// execution log.
func ExampleEngine_OnTicketChange() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("receiver got %s with %d bytes of JSON\n", r.Method, len(body))
	}))
	defer receiver.Close()

	// The receiver runs on 127.0.0.1, which the SSRF guard refuses unless
	// allowed: once, in the Config, for loading and for sending.
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	cfg := tickethooks.Config{
		Log:           log,
		Logger:        slog.New(slog.DiscardHandler),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	set, err := trigger.Parse([]byte(`[{
		"id": "resolved", "name": "Resolved tickets",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "`+receiver.URL+`/hooks/tickets"}]}]`), cfg.TriggerOptions(trigger.Options{}))
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

	before := &payload.Ticket{Id: 7, Subject: "Broken printer", Status: "InAttendance"}
	after := &payload.Ticket{Id: 7, Subject: "Broken printer", Status: "Resolved"}
	if err := engine.OnTicketChange(context.Background(), before, after); err != nil {
		fmt.Println(err)
		return
	}

	// Wait for the delivery to settle, then read the log as an admin would.
	for {
		page, _ := log.Query(context.Background(), executionlog.Filter{TicketID: 7})
		if len(page.Entries) == 1 && page.Entries[0].Status != executionlog.StatusPending {
			e := page.Entries[0]
			fmt.Printf("ticket %d, trigger %s: %s after %d attempt(s)\n", e.TicketID, e.TriggerID, e.Status, len(e.Attempts))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Output:
	// receiver got POST with 213 bytes of JSON
	// ticket 7, trigger resolved: succeeded after 1 attempt(s)
}
