package tickethooks_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// An admin presses "Send test" on a webhook form: the engine sends a sample
// packet at once, returns the request it sent and what the receiver
// answered, and records the send in the execution log, marked as a test.
func ExampleEngine_TestWebhook() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error": "unknown field WebhookEvents"}`)
	}))
	defer receiver.Close()

	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      trigger.NewStore(nil),
		Log:           log,
		Logger:        slog.New(slog.DiscardHandler),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	secret, _ := webhook.NewSecret()
	action := trigger.Action{
		Type:    trigger.ActionWebhook,
		URL:     receiver.URL + "/hooks/tickets",
		Headers: map[string]string{"Authorization": "Bearer erp-token"},
		Secrets: []string{secret},
	}
	sample := tickethooks.WebhookSample{Ticket: &payload.Ticket{Id: 1042, Subject: "Printer on fire", Status: "New"}}
	res, err := engine.TestWebhook(context.Background(), "", action, sample)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("sent %s %d bytes of %s\n", res.Request.Method, len(res.Request.Body), res.Request.ContentType)
	fmt.Printf("receiver answered %d: %s\n", res.Response.StatusCode, res.Response.Body)

	page, _ := log.Query(context.Background(), executionlog.Filter{TicketID: 1042})
	e := page.Entries[0]
	a, _ := e.LastAttempt()
	fmt.Printf("logged: test=%t status=%s error=%q authorization=%s\n", e.Test, e.Status, a.Error, e.RequestHeaders["Authorization"])
	// Output:
	// sent POST 184 bytes of application/json
	// receiver answered 422: {"error": "unknown field WebhookEvents"}
	// logged: test=true status=failed error="receiver answered 422 Unprocessable Entity" authorization=[REDACTED]
}

// After the receiver is fixed, the admin sends the failed deliveries of a
// ticket again. Each keeps its webhook-id, so the receiver can tell a
// redelivery from a new event.
func ExampleEngine_RedeliverMatching() {
	var fixed, accepted atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		accepted.Store(r.Header.Get("Webhook-Id") != "")
	}))
	defer receiver.Close()

	set, err := trigger.Parse([]byte(`[{"id": "resolved", "name": "Resolved tickets",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "`+receiver.URL+`/hooks/tickets"}]}]`),
		&trigger.Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:      trigger.NewStore(set),
		Log:           log,
		Logger:        slog.New(slog.DiscardHandler),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	ctx := context.Background()
	before := &payload.Ticket{Id: 7, Status: "InAttendance"}
	after := &payload.Ticket{Id: 7, Status: "Resolved"}
	if err := engine.OnTicketChange(ctx, before, after); err != nil {
		fmt.Println(err)
		return
	}
	settled := func() executionlog.Entry {
		for {
			page, _ := log.Query(ctx, executionlog.Filter{TicketID: 7})
			if len(page.Entries) == 1 && page.Entries[0].Status != executionlog.StatusPending {
				return page.Entries[0]
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	e := settled()
	fmt.Println(e.Status, "after", len(e.Attempts), "attempt")

	fixed.Store(true)
	n, err := engine.RedeliverMatching(ctx, executionlog.Filter{TicketID: 7}, 100)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("redelivered", n)
	e = settled()
	fmt.Println("receiver accepted", accepted.Load())
	fmt.Println(e.Status, "after", len(e.Attempts), "attempts; this series started after attempt", e.SeriesStart)
	// Output:
	// failed after 1 attempt
	// redelivered 1
	// receiver accepted true
	// succeeded after 2 attempts; this series started after attempt 1
}
