package logview_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// The page and API over a real engine: a delivery the receiver refused is
// redelivered from the API once the receiver is fixed.
func TestWithEngine(t *testing.T) {
	t.Parallel()
	var fixed atomic.Bool
	var requests atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if !fixed.Load() {
			http.Error(w, "unknown field WebhookEvents", http.StatusBadRequest)
		}
	}))
	t.Cleanup(receiver.Close)

	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	set, err := trigger.Parse([]byte(`[{"id": "resolved", "name": "Resolved tickets",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "`+receiver.URL+`/hooks"}]}]`), &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers:     trigger.NewStore(set),
		Log:          log,
		Sender:       webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback}),
		Logger:       slog.New(slog.DiscardHandler),
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close(context.Background()) })
	s := newServer(t, logview.Config{Log: log, Redeliverer: engine, Now: time.Now})

	ctx := context.Background()
	if err := engine.OnTicketChange(ctx, &payload.Ticket{Id: 7, Status: "New"}, &payload.Ticket{Id: 7, Status: "Resolved"}); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.TestWebhook(ctx, "", trigger.Action{Type: trigger.ActionWebhook, URL: receiver.URL + "/hooks"}, tickethooks.WebhookSample{}); err != nil {
		t.Fatal(err)
	}
	settled := func(status executionlog.Status) executionlog.Entry {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			page, err := log.Query(ctx, executionlog.Filter{TicketID: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Entries) == 1 && page.Entries[0].Status == status {
				return page.Entries[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("entry of ticket 7 did not become %s: %+v", status, page.Entries)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	failed := settled(executionlog.StatusFailed)

	// Both show in the list; the test send cannot be redelivered.
	if got, _ := apiIDs(t, s.get(t, "/api/entries?status=failed").body); len(got) != 2 {
		t.Fatalf("failed entries %v, want the delivery and the test send", got)
	}
	test, _ := apiIDs(t, s.get(t, "/api/entries?error=400&ticket=").body)
	for _, id := range test {
		if id == failed.ID {
			continue
		}
		if r := s.postJSON(t, "/api/entries/"+id+"/redeliver", ""); r.status != http.StatusConflict {
			t.Errorf("redelivering the test send: status %d, want 409", r.status)
		}
	}

	fixed.Store(true)
	r := s.postJSON(t, "/api/redeliver", `{"ticket": 7}`)
	if r.status != http.StatusOK || apiRedeliveredCount(t, r.body) != 1 {
		t.Fatalf("POST /api/redeliver = %d %s, want 1 redelivered", r.status, r.body)
	}
	settled(executionlog.StatusSucceeded)

	var got struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		SeriesStart int    `json:"series_start"`
		Attempts    []struct {
			Number     int    `json:"number"`
			StatusCode int    `json:"status_code"`
			Error      string `json:"error"`
		} `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(s.get(t, "/api/entries/"+failed.ID).body), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != failed.ID || got.Status != "succeeded" || got.SeriesStart != 1 || len(got.Attempts) != 2 ||
		got.Attempts[0].StatusCode != 400 || got.Attempts[1].StatusCode != 200 || got.Attempts[1].Number != 2 {
		t.Errorf("entry after redelivery = %+v, want succeeded at attempt 2 of a series from 1", got)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("receiver got %d requests, want 3 (delivery, test send, redelivery)", n)
	}
}

// apiRedeliveredCount returns the count of a redelivery response.
func apiRedeliveredCount(t *testing.T, body string) int {
	t.Helper()
	var r struct {
		Redelivered int `json:"redelivered"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return r.Redelivered
}
