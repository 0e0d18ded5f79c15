package tickethooks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// RecordAttempt passes the call on to the log underneath.
func (l *outageLog) RecordAttempt(ctx context.Context, id string, a executionlog.Attempt, now time.Time) error {
	return l.Log.(executionlog.AttemptRecorder).RecordAttempt(ctx, id, a, now)
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

// TestAttemptUnderLostLeaseIsRecorded checks that an attempt whose outcome
// could not be saved until after another engine took the entry over is
// still recorded, beside that engine's own attempt.
func TestAttemptUnderLostLeaseIsRecorded(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	mem := executionlog.NewMemory(executionlog.MemoryOptions{})
	log := &outageLog{Log: mem}
	log.down.Store(1 << 20) // down until the other engine is done
	lease := 300 * time.Millisecond
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: lease, PollInterval: time.Hour}) // the engine claims once
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first attempt", func() bool { return len(rcv.got()) == 1 })

	// Another engine claims the entry once the lease has ended and records
	// an attempt of its own; then the database comes back.
	var claimed []executionlog.Entry
	waitFor(t, "the lease to end", func() bool {
		var err error
		claimed, err = mem.Claim(context.Background(), executionlog.Claim{Owner: "other", Now: time.Now(), Lease: time.Minute, Limit: 1})
		return err == nil && len(claimed) == 1
	})
	other := executionlog.Attempt{Number: 2, StartedAt: time.Now().UTC().Truncate(time.Microsecond), StatusCode: 200}
	if err := mem.Update(context.Background(), executionlog.Update{ID: claimed[0].ID, Owner: "other",
		Attempt: &other, Status: executionlog.StatusSucceeded, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	log.down.Store(0)

	waitFor(t, "the late attempt", func() bool {
		en, err := mem.Get(context.Background(), claimed[0].ID)
		return err == nil && len(en.Attempts) == 2
	})
	en, _ := mem.Get(context.Background(), claimed[0].ID)
	if en.Status != executionlog.StatusSucceeded {
		t.Errorf("entry status = %s, want succeeded", en.Status)
	}
	var codes []int
	for _, a := range en.Attempts {
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{200, 200}, codes); diff != "" {
		t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
	}
}

// TestURLSecretsAreNotLogged checks that the log and the engine's log
// lines show webhook URLs with their query values redacted, and only the
// scheme and host of a URL marked secret, also in transport errors, while
// the requests go to the real URLs.
func TestURLSecretsAreNotLogged(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	var lines syncBuffer
	defs := fmt.Sprintf(`[{"id": "urls", "name": "URLs", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [
			{"type": "webhook", "url": %q},
			{"type": "webhook", "url": %q, "secret_url": true},
			{"type": "webhook", "url": %q}]}]`,
		rcv.URL+"/hook?token=s3cr3t-query&account=acme", rcv.URL+"/services/T000/B000/s3cr3t-path", closed.URL+"/down?token=s3cr3t-down")
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, defs), Retry: fastRetry(1),
		Logger: slog.New(slog.NewTextHandler(&lines, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 3)
	var urls []string
	for _, en := range entries {
		urls = append(urls, en.URL)
		for _, a := range en.Attempts {
			if strings.Contains(a.Error, "s3cr3t") {
				t.Errorf("attempt error of %s shows a secret: %s", en.URL, a.Error)
			}
		}
	}
	want := []string{rcv.URL + "/hook?token=REDACTED&account=REDACTED", rcv.URL, closed.URL + "/down?token=REDACTED"}
	if diff := cmp.Diff(want, urls, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("logged URLs mismatch (-want +got):\n%s", diff)
	}
	if got := lines.String(); strings.Contains(got, "s3cr3t") {
		t.Errorf("the engine's log lines show a secret:\n%s", got)
	}
	var paths []string
	for _, r := range rcv.got() {
		paths = append(paths, r.url)
	}
	if diff := cmp.Diff([]string{"/hook?token=s3cr3t-query&account=acme", "/services/T000/B000/s3cr3t-path"}, paths,
		cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("requests received mismatch (-want +got):\n%s", diff)
	}
}

// TestTestWebhookRefusesWhatNoLogStores checks that a test send of an
// action built in Go, whose URL or headers no log could store, is refused
// with nothing sent or recorded.
func TestTestWebhookRefusesWhatNoLogStores(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	for name, a := range map[string]trigger.Action{
		"NUL in a header value": {Type: trigger.ActionWebhook, URL: rcv.URL, Headers: map[string]string{"X-Account": "a\x00b"}},
		"URL over the cap":      {Type: trigger.ActionWebhook, URL: rcv.URL + "/" + strings.Repeat("a", trigger.MaxURLBytes)},
		"too many headers": {Type: trigger.ActionWebhook, URL: rcv.URL, Headers: func() map[string]string {
			h := map[string]string{}
			for i := range trigger.MaxHeaders + 1 {
				h[fmt.Sprintf("X-H%d", i)] = "v"
			}
			return h
		}()},
	} {
		if _, err := e.TestWebhook(context.Background(), a, nil); !errors.Is(err, tickethooks.ErrInvalidAction) {
			t.Errorf("%s: TestWebhook = %v, want ErrInvalidAction", name, err)
		}
	}
	if got := len(rcv.got()); got != 0 {
		t.Errorf("the receiver got %d requests, want none", got)
	}
	if got := allEntries(t, log); len(got) != 0 {
		t.Errorf("the log holds %d entries, want none", len(got))
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
