package tickethooks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
)

// fire reports that ticket id changed to Resolved.
func fire(t *testing.T, e *tickethooks.Engine, id int) {
	t.Helper()
	before, after := ticket("Open"), ticket("Resolved")
	before.Id, after.Id = id, id
	if err := e.OnTicketChange(context.Background(), before, after); err != nil {
		t.Fatalf("OnTicketChange(ticket %d): %v", id, err)
	}
}

// byTicket returns the entries of ticket id among entries.
func byTicket(entries []executionlog.Entry, id int) []executionlog.Entry {
	var out []executionlog.Entry
	for _, en := range entries {
		if en.TicketID == id {
			out = append(out, en)
		}
	}
	return out
}

func TestRedeliverStartsANewSeries(t *testing.T) {
	t.Parallel()
	// Two attempts fail the first series; the redelivered series fails
	// once, is retried, and succeeds.
	rcv := newReceiver(t, 500, 500, 500, 200)
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
		Retry:    fastRetry(2),
	})
	fire(t, e, 42)
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusFailed || len(en.Attempts) != 2 {
		t.Fatalf("first series: %s after %d attempts, want failed after 2", en.Status, len(en.Attempts))
	}

	if err := e.Redeliver(context.Background(), executionlog.Scope{}, en.ID); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	en = waitSettled(t, log, 1)[0]

	// With attempts counted from the start of the log, attempt 3 would
	// have been the last; counted from the series it is the first of two.
	if en.Status != executionlog.StatusSucceeded || en.SeriesStart != 2 {
		t.Errorf("after Redeliver: %s with SeriesStart %d, want succeeded with 2", en.Status, en.SeriesStart)
	}
	var numbers, codes []int
	for _, a := range en.Attempts {
		numbers = append(numbers, a.Number)
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, numbers); diff != "" {
		t.Errorf("attempt numbers mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{500, 500, 500, 200}, codes); diff != "" {
		t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
	}
	// The receiver sees one delivery id throughout, with the real secrets.
	for i, r := range rcv.got() {
		if got := r.header.Get("Webhook-Id"); got != en.ID {
			t.Errorf("request %d webhook-id = %q, want %q", i, got, en.ID)
		}
		if got := r.header.Get("Authorization"); got != "Bearer s3cr3t-token" {
			t.Errorf("request %d Authorization = %q, want the trigger's secret", i, got)
		}
	}

	// A succeeded entry may be sent again, too.
	if err := e.Redeliver(context.Background(), executionlog.Scope{}, en.ID); err != nil {
		t.Fatalf("Redeliver(succeeded): %v", err)
	}
	en = waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 5 || en.SeriesStart != 4 {
		t.Errorf("after the second Redeliver: %s, %d attempts, SeriesStart %d; want succeeded, 5, 4",
			en.Status, len(en.Attempts), en.SeriesStart)
	}
}

func TestRedeliverErrors(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url))})
	fire(t, e, 42)
	<-arrived // the delivery is in flight: its entry is pending
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("Query: %d entries, %v; want 1", len(page.Entries), err)
	}
	pending := page.Entries[0].ID

	tests := []struct {
		name string
		id   string
		want error
	}{
		{"Pending", pending, executionlog.ErrNotFinished},
		{"Unknown", executionlog.NewID(page.Entries[0].CreatedAt), executionlog.ErrNotFound},
		{"Empty", "", executionlog.ErrNotFound},
	}
	for _, tc := range tests {
		if err := e.Redeliver(context.Background(), executionlog.Scope{}, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("%s: Redeliver error = %v, want %v", tc.name, err, tc.want)
		}
	}
	close(release)
	waitSettled(t, log, 1)
}

func TestRedeliverMatching(t *testing.T) {
	t.Parallel()
	// The first seven requests (six deliveries and a test send) are
	// refused, and not retried; later ones pass.
	rcv := newReceiver(t, 400, 400, 400, 400, 400, 400, 400, 200)
	ok := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
		Retry:    fastRetry(3),
	})
	for id := 1; id <= 6; id++ {
		fire(t, e, id)
	}
	// A test send that failed, and an entry that succeeded, are never
	// redelivered by RedeliverMatching.
	testAction := trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL + "/test"}
	if _, err := e.TestWebhook(context.Background(), "", testAction, tickethooks.WebhookSample{Ticket: ticket("Open")}); err != nil {
		t.Fatalf("TestWebhook: %v", err)
	}
	waitSettled(t, log, 7)
	okEngine, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(ok.URL)), Log: log})
	fire(t, okEngine, 7)
	if entries := waitSettled(t, log, 8); len(entries) != 8 {
		t.Fatalf("log holds %d entries, want 8", len(entries))
	}
	// okEngine's triggers name another URL, and an engine delivers to the
	// URL of its own trigger: only e delivers from here on.
	if err := okEngine.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	steps := []struct {
		name  string
		f     executionlog.Filter
		limit int
		want  int
	}{
		{"OneTicket", executionlog.Filter{TicketID: 3}, 10, 1},
		{"NoMatch", executionlog.Filter{TicketID: 7}, 10, 0},
		{"ErrorTextCapped", executionlog.Filter{ErrorText: "BAD REQUEST"}, 2, 2},
		{"StatusIgnored", executionlog.Filter{Status: executionlog.StatusSucceeded, ErrorText: "bad request"}, 10, 3},
		{"NothingLeft", executionlog.Filter{}, executionlog.MaxLimit * 5, 0},
	}
	for _, s := range steps {
		n, err := e.RedeliverMatching(ctx, s.f, s.limit)
		if err != nil || n != s.want {
			t.Fatalf("%s: RedeliverMatching = %d, %v; want %d", s.name, n, err, s.want)
		}
		entries := waitSettled(t, log, 8)
		if s.name == "OneTicket" {
			if en := byTicket(entries, 3)[0]; en.Status != executionlog.StatusSucceeded || en.SeriesStart != 1 {
				t.Errorf("ticket 3 after its redelivery: %s with SeriesStart %d, want succeeded with 1", en.Status, en.SeriesStart)
			}
		}
	}
	for _, en := range waitSettled(t, log, 8) {
		want := executionlog.StatusSucceeded
		if en.Test {
			want = executionlog.StatusFailed
		}
		if en.Status != want {
			t.Errorf("entry of ticket %d (test %t) is %s, want %s", en.TicketID, en.Test, en.Status, want)
		}
	}
	if got := len(rcv.got()); got != 7+6 {
		t.Errorf("receiver got %d requests, want 13 (7 first attempts, 6 redeliveries)", got)
	}

	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{}, 0); err == nil {
		t.Error("RedeliverMatching(limit 0) succeeded, want an error")
	}
	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{TicketID: -1}, 10); !errors.Is(err, executionlog.ErrInvalidFilter) {
		t.Errorf("RedeliverMatching(negative ticket) error = %v, want ErrInvalidFilter", err)
	}
}

func TestOperationsAfterClose(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Redeliver(ctx, executionlog.Scope{}, "x"); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("Redeliver after Close: %v, want ErrClosed", err)
	}
	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{}, 10); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("RedeliverMatching after Close: %v, want ErrClosed", err)
	}
	action := trigger.Action{Type: trigger.ActionWebhook, URL: "https://example.com/hooks"}
	if _, err := e.TestWebhook(ctx, "", action, tickethooks.WebhookSample{}); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("TestWebhook after Close: %v, want ErrClosed", err)
	}
}

// TestWholePacketOverALowerLimitCanBeRedelivered checks that an entry
// holding its whole packet, failed by an engine whose MaxBodySize is
// lower than the recording engine's, is not taken for the excerpt of an
// oversize packet: an engine whose limit fits it redelivers it.
func TestWholePacketOverALowerLimitCanBeRedelivered(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	mem := executionlog.NewMemory(executionlog.MemoryOptions{})
	big, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: mem,
		PollInterval: time.Hour})
	if err := big.Close(context.Background()); err != nil { // records, never delivers
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	body := []byte(`{"Id":1,"Subject":"` + strings.Repeat("x", 6000) + `"}`)
	if err := mem.Add(context.Background(), []*executionlog.Entry{{ID: executionlog.NewID(now), TriggerID: "resolved",
		TicketID: 1, Event: "updated", URL: rcv.URL, RequestBody: body, Status: executionlog.StatusPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	small, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: mem, MaxBodySize: 1024})
	entries := waitSettled(t, mem, 1)
	if err := small.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fits, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: mem})
	if err := fits.Redeliver(context.Background(), executionlog.Scope{}, entries[0].ID); err != nil {
		t.Errorf("Redeliver of an entry holding its whole %d-byte packet: %v", len(entries[0].RequestBody), err)
	}
	waitFor(t, "the redelivery", func() bool { return len(rcv.got()) == 1 })
}
