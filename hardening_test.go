package tickethooks_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// cancellingSource hands out its triggers and cancels the caller's context
// as it does, as a caller that gives up during evaluation would.
type cancellingSource struct {
	*trigger.Store
	cancel context.CancelFunc
}

func (s cancellingSource) ForTicket(ctx context.Context, t *payload.Ticket) ([]*trigger.Trigger, error) {
	ts, err := s.Store.ForTicket(ctx, t)
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
				if err := e.Redeliver(context.Background(), en.ID); !errors.Is(err, tickethooks.ErrNotRedeliverable) {
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

// outageLog is a log whose Update calls that record an attempt fail while
// down is above zero, each failure counting it down: a database that
// drops while a delivery is in flight, then comes back.
type outageLog struct {
	executionlog.Log
	down atomic.Int32
}

func (l *outageLog) Update(ctx context.Context, u executionlog.Update) error {
	if u.Attempt != nil && l.down.Add(-1) >= 0 {
		return errors.New("driver: bad connection")
	}
	return l.Log.Update(ctx, u)
}

// TestOutcomeWriteIsRetriedWhileLeased checks that an attempt whose outcome
// the log fails to take for a while is recorded once the log is back, and
// that the receiver is not sent the delivery again: the engine holds the
// entry, and retries the write, instead of waiting for its lease to end.
func TestOutcomeWriteIsRetriedWhileLeased(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	log := &outageLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{})}
	log.down.Store(6) // about 50+100+200+400+800+1600 ms of outage
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: 2 * time.Second, PollInterval: 10 * time.Millisecond})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	if got := len(rcv.got()); got != 1 {
		t.Errorf("the receiver got %d requests, want 1", got)
	}
	en := entries[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 || en.Attempts[0].StatusCode != 200 {
		t.Errorf("entry is %s with attempts %+v, want succeeded with one attempt answered 200", en.Status, en.Attempts)
	}
}
