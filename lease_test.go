package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// An attempt that outlives its lease must not be sent a second time by the
// same engine when it claims the entry again.
func TestOwnAttemptOutlivingLeaseIsNotSentTwice(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ids := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids[r.Header.Get("Webhook-Id")]++
		mu.Unlock()
		time.Sleep(300 * time.Millisecond) // longer than the lease
	}))
	t.Cleanup(srv.Close)
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(srv.URL)), Lease: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond,
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]
	mu.Lock()
	defer mu.Unlock()
	if ids[en.ID] != 1 || len(en.Attempts) != 1 {
		t.Errorf("receiver got the delivery %d times and the log has %d attempts; want 1 and 1", ids[en.ID], len(en.Attempts))
	}
}

// answeredSender answers every request with 200, then holds the answer
// until the engine cancels the attempt: the moment when Close gives up
// waiting after the receiver already answered.
type answeredSender struct{ answered chan struct{} }

func (s answeredSender) Send(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
	close(s.answered)
	<-ctx.Done()
	return &webhook.Response{StatusCode: http.StatusOK}, nil
}

// When Close gives up waiting after the receiver already answered, the
// answer is recorded rather than the entry released for a second send.
func TestCloseRecordsAnsweredAttempt(t *testing.T) {
	t.Parallel()
	sender := answeredSender{answered: make(chan struct{})}
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger("http://127.0.0.1:1")), Sender: sender})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-sender.answered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Close(ctx); err != context.Canceled {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 {
		t.Errorf("entry is %s with %d attempts, want the answered attempt recorded as succeeded", en.Status, len(en.Attempts))
	}
}

// Entries claimed ahead of a free worker go back to the log, unleased and
// with no attempt counted, when the engine stops.
func TestCloseReleasesEntriesClaimedAhead(t *testing.T) {
	t.Parallel()
	url, arrived, _ := blockingReceiver(t)
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	// Three triggers fire on one change: three entries in one Add, before
	// the first claim.
	triggers := loadTriggers(t, fmt.Sprintf(`[
		{"id": "a", "actions": [{"type": "webhook", "url": %[1]q}]},
		{"id": "b", "actions": [{"type": "webhook", "url": %[1]q}]},
		{"id": "c", "actions": [{"type": "webhook", "url": %[1]q}]}]`, url))
	e, _ := newEngine(t, tickethooks.Config{Triggers: triggers, Log: log, Workers: 1})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	// One entry is in flight; the dispatcher claimed the next ones ahead.
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	leased := 0
	for _, en := range page.Entries {
		if en.LeaseOwner != "" {
			leased++
		}
	}
	if leased < 2 {
		t.Fatalf("%d entries leased with one worker busy, want the next one claimed ahead too", leased)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Close(ctx); err != context.Canceled {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	page, err = log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range page.Entries {
		if en.Status != executionlog.StatusPending || en.LeaseOwner != "" || len(en.Attempts) != 0 {
			t.Errorf("trigger %s: %s, lease %q, %d attempts; want pending, unleased, no attempt", en.TriggerID, en.Status, en.LeaseOwner, len(en.Attempts))
		}
	}
}

// A retry that falls due while its attempt is still ending (here, in a slow
// OnDestination callback) may be claimed again by the engine's own
// dispatcher; it must not then sit leased and idle for the whole lease.
func TestRetryClaimedWhileAttemptEndsIsNotStranded(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 503, 200)
	var once sync.Once
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
		Retry:    fastRetry(3),
		Lease:    time.Hour, // a stranded entry would wait this long
		Destinations: tickethooks.DestinationPolicy{
			FailingThreshold: 1, // an event after every failure
		},
		OnDestination: func(tickethooks.DestinationEvent) {
			once.Do(func() { time.Sleep(300 * time.Millisecond) }) // the retry falls due meanwhile
		},
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 2 {
		t.Errorf("entry is %s after %d attempts, want succeeded after 2", en.Status, len(en.Attempts))
	}
}

// Close returns soon after its context ends even while a host action runs:
// the action's context ends with it.
func TestCloseCancelsHostActionsWhenGivingUp(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	notes := tickethooks.NoteWriterFunc(func(ctx context.Context, _ tickethooks.ActionCall, _ string) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, `[{"id": "n", "actions": [{"type": "note", "text": "hi"}]}]`),
		Notes:    notes,
	})
	called := make(chan error, 1)
	go func() { called <- e.OnTicketChange(context.Background(), nil, ticket("New")) }()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); err != context.DeadlineExceeded {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	if err := <-called; !errors.Is(err, tickethooks.ErrAction) || !errors.Is(err, context.Canceled) {
		t.Errorf("OnTicketChange = %v, want ErrAction wrapping context.Canceled", err)
	}
}
