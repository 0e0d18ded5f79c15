package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

func TestNoMatchRecordsNothing(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Pending")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	// Already Resolved: no change, so changed_to does not hold.
	if err := e.OnTicketChange(context.Background(), ticket("Resolved"), ticket("Resolved")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 0 {
		t.Errorf("got %d entries, want none", len(page.Entries))
	}
}

func TestOnTicketChangeErrors(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	if err := e.OnTicketChange(context.Background(), nil, nil); !errors.Is(err, tickethooks.ErrNilTicket) {
		t.Errorf("nil ticket: err = %v, want ErrNilTicket", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.OnTicketChange(context.Background(), nil, ticket("New")); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	triggers := loadTriggers(t, fmt.Sprintf(`[
		{"id": "first", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		 "actions": [{"type": "note", "text": "sent to billing"}, {"type": "webhook", "url": %q}, {"type": "tag", "name": "billed"}]},
		{"id": "second", "conditions": {"all": [{"field": "Status", "operator": "is", "value": "Resolved"}]},
		 "actions": [{"type": "note", "text": "second trigger"}]}]`, rcv.URL))

	var e *tickethooks.Engine
	var calls []string
	notes := tickethooks.NoteWriterFunc(func(ctx context.Context, call tickethooks.ActionCall, text string) error {
		calls = append(calls, call.Trigger.ID+": note "+text)
		// A note updates the ticket, which the host reports as a change:
		// the triggers that fired already must not fire again.
		return e.OnTicketChange(ctx, call.After, call.After)
	})
	tag := tickethooks.ActionHandlerFunc(func(ctx context.Context, call tickethooks.ActionCall) error {
		calls = append(calls, fmt.Sprintf("%s: %s %s", call.Trigger.ID, call.Action.Type, call.Action.Params))
		return errors.New("tag service down")
	})
	e, log := newEngine(t, tickethooks.Config{
		Triggers: triggers, Notes: notes, Actions: map[string]tickethooks.ActionHandler{"tag": tag},
	})
	err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved"))
	if !errors.Is(err, tickethooks.ErrAction) || !strings.Contains(err.Error(), `trigger "first" action 2 (tag)`) {
		t.Errorf("err = %v, want ErrAction naming trigger first action 2", err)
	}
	want := []string{
		"first: note sent to billing",
		`first: tag {"type":"tag","name":"billed"}`,
		"second: note second trigger",
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("action calls mismatch (-want +got):\n%s", diff)
	}
	if n := len(waitSettled(t, log, 1)); n != 1 {
		t.Errorf("got %d entries, want 1 (the webhook is recorded once despite the nested change)", n)
	}
}

func TestNoHandler(t *testing.T) {
	t.Parallel()
	triggers := loadTriggers(t, `[{"id": "n", "actions": [{"type": "note", "text": "hi"}]}]`)
	e, _ := newEngine(t, tickethooks.Config{Triggers: triggers})
	if err := e.OnTicketChange(context.Background(), nil, ticket("New")); !errors.Is(err, tickethooks.ErrNoHandler) {
		t.Errorf("err = %v, want ErrNoHandler", err)
	}
}

func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(srv.URL)), Workers: 4})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tk := ticket("Resolved")
			tk.Id = i + 1
			if err := e.OnTicketChange(context.Background(), ticket("Open"), tk); err != nil {
				t.Errorf("OnTicketChange: %v", err)
			}
		})
	}
	wg.Wait()
	entries := waitSettled(t, log, n)
	seen := map[int]bool{}
	for _, en := range entries {
		if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 {
			t.Errorf("entry %s: %s after %d attempts", en.ID, en.Status, len(en.Attempts))
		}
		seen[en.TicketID] = true
	}
	if len(entries) != n || len(seen) != n || hits.Load() != n {
		t.Errorf("%d entries for %d tickets, %d requests; want %d of each", len(entries), len(seen), hits.Load(), n)
	}
}

// cancellingSource hands out its triggers and cancels the caller's context
// as it does, as a caller that gives up during evaluation would.
type cancellingSource struct {
	*trigger.Store
	cancel context.CancelFunc
}

func (s cancellingSource) ForTicket(ctx context.Context, tenant string, t *payload.Ticket) ([]*trigger.Trigger, error) {
	ts, err := s.Store.ForTicket(ctx, tenant, t)
	s.cancel()
	return ts, err
}

// TestOnTicketChangeHonoursContextBetweenTriggers checks that a change
// whose context ends while its triggers are evaluated returns the
// context's error and records nothing, even when no trigger fires.
func TestOnTicketChangeHonoursContextBetweenTriggers(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	store := loadTriggers(t, resolvedTrigger(rcv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, log := newEngine(t, tickethooks.Config{Triggers: cancellingSource{Store: store, cancel: cancel}})

	for _, status := range []string{"Resolved", "Open"} { // fires, and does not fire
		err := e.OnTicketChange(ctx, ticket("New"), ticket(status))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("OnTicketChange to %s with a context cancelled during evaluation = %v, want context.Canceled", status, err)
		}
	}
	if got := allEntries(t, log); len(got) != 0 {
		t.Errorf("the log holds %d entries, want none", len(got))
	}
}

// TestOversizePacketIsNotStored checks that a ticket whose packet is over
// MaxBodySize is recorded, once per webhook action, as a failed entry with
// an excerpt of the packet and an attempt that says why, on every log;
// that nothing is sent; and that the entry cannot be redelivered.
func TestOversizePacketIsNotStored(t *testing.T) {
	t.Parallel()
	for _, b := range append([]durableBackend{{name: "memory"}}, allDurable...) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var log executionlog.Log
			if b.driver != "" {
				db := newDurableDB(t, b)
				log = db.log(t, db.open(t))
			}
			rcv := newReceiver(t)
			store := loadTriggers(t, `[{"id": "big", "name": "Big tickets",
				"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
				"actions": [{"type": "webhook", "url": "`+rcv.URL+`/a"}, {"type": "webhook", "url": "`+rcv.URL+`/b"}]}]`)
			e, log := newEngine(t, tickethooks.Config{Triggers: store, Log: log})

			after := ticket("Resolved")
			after.Justification = "¡" + strings.Repeat("x", 20<<20) // 20 MiB, a 2-byte rune first
			if err := e.OnTicketChange(context.Background(), ticket("Open"), after); err != nil {
				t.Fatalf("OnTicketChange with a 20 MiB ticket: %v", err)
			}
			got := allEntries(t, log)
			if len(got) != 2 {
				t.Fatalf("the log holds %d entries, want 2", len(got))
			}
			for _, en := range got {
				if en.Status != executionlog.StatusFailed {
					t.Errorf("entry %s status = %s, want failed", en.URL, en.Status)
				}
				if n := len(en.RequestBody); n == 0 || n > 4096 {
					t.Errorf("entry %s keeps %d bytes of the packet, want 1 to 4096", en.URL, n)
				}
				if !strings.HasPrefix(string(en.RequestBody), `{"Id":42,`) {
					t.Errorf("entry %s body starts %.40q, want the packet's start", en.URL, en.RequestBody)
				}
				want := []executionlog.Attempt{{Number: 1, StartedAt: en.CreatedAt,
					Error: "ticket packet of 20971742 bytes exceeds the 262144-byte limit (Config.MaxBodySize); not sent. The log keeps its first 4096 bytes"}}
				if diff := cmp.Diff(want, en.Attempts); diff != "" {
					t.Errorf("entry %s attempts mismatch (-want +got):\n%s", en.URL, diff)
				}
				if err := e.Redeliver(context.Background(), executionlog.Scope{}, en.ID); !errors.Is(err, tickethooks.ErrNotRedeliverable) {
					t.Errorf("Redeliver(%s) = %v, want ErrNotRedeliverable", en.URL, err)
				}
			}
			n, err := e.RedeliverMatching(context.Background(), executionlog.Filter{}, 10)
			if err != nil || n != 0 {
				t.Errorf("RedeliverMatching = %d, %v; want 0, nil", n, err)
			}
			if got := rcv.got(); len(got) != 0 {
				t.Errorf("the receiver got %d requests, want none", len(got))
			}
		})
	}
}

// commitLostLog is a log whose Add stores the entries and then returns an
// error, as a commit that reached the database but whose answer was lost
// does (MariaDB's "commit: invalid connection").
type commitLostLog struct {
	executionlog.Log
	lose atomic.Bool
}

func (l *commitLostLog) Add(ctx context.Context, entries []*executionlog.Entry) error {
	if err := l.Log.Add(ctx, entries); err != nil || !l.lose.Swap(false) {
		return err
	}
	return errors.New("commit: invalid connection")
}

// TestChangeKeyRecordsAChangeOnce checks that a change reported again with
// its key, after an error whose outcome was unknown, records nothing new
// and that the receiver gets one webhook; that other keys record anew; and
// that a bad key is refused with nothing recorded, on every log.
func TestChangeKeyRecordsAChangeOnce(t *testing.T) {
	t.Parallel()
	for _, b := range append([]durableBackend{{name: "memory"}}, allDurable...) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var inner executionlog.Log = executionlog.NewMemory(executionlog.MemoryOptions{})
			if b.driver != "" {
				db := newDurableDB(t, b)
				inner = db.log(t, db.open(t))
			}
			log := &commitLostLog{Log: inner}
			log.lose.Store(true)
			rcv := newReceiver(t)
			e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log})
			ctx := context.Background()

			key := tickethooks.WithChangeKey("change-7f3a ✓")
			if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), key); err == nil {
				t.Fatal("the first report returned nil, want the lost commit's error")
			}
			for range 2 { // the host reports the change again, twice
				if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), key); err != nil {
					t.Fatalf("reporting the change again: %v", err)
				}
			}
			bad := strings.Repeat("k", executionlog.MaxChangeKeyBytes+1)
			for _, k := range []string{bad, "nul\x00key", "\xff"} {
				err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithChangeKey(k))
				if !errors.Is(err, executionlog.ErrInvalidChangeKey) {
					t.Errorf("OnTicketChange with key %.20q = %v, want ErrInvalidChangeKey", k, err)
				}
			}
			if err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"), tickethooks.WithChangeKey("change-7f3b")); err != nil {
				t.Fatal(err)
			}
			entries := waitSettled(t, log, 2)
			if len(entries) != 2 {
				t.Fatalf("the log holds %d entries, want 2 (one per key)", len(entries))
			}
			if diff := cmp.Diff([]string{"change-7f3a ✓", "change-7f3b"}, []string{entries[0].ChangeKey, entries[1].ChangeKey}); diff != "" {
				t.Errorf("change keys mismatch (-want +got):\n%s", diff)
			}
			got := rcv.got()
			var ids []string
			for _, r := range got {
				ids = append(ids, r.header.Get("webhook-id"))
			}
			if diff := cmp.Diff([]string{entries[0].ID, entries[1].ID}, ids, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("webhook-ids received mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
