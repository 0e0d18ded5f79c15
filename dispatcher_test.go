package tickethooks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// testClock is a clock that moves only when told to.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testOwner = "engine-a"

// dispatcherFixture is a dispatcher on a memory log holding n pending
// entries due at the clock's time, with workers worker slots and a lease
// of one minute. Its run is not started: tests call its steps.
func dispatcherFixture(t *testing.T, n, workers int) (*dispatcher, *executionlog.Memory, *testClock, chan struct{}) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	entries := make([]*executionlog.Entry, n)
	for i := range entries {
		now := clock.now()
		entries[i] = &executionlog.Entry{ID: executionlog.NewID(now), TriggerID: "t", TicketID: i + 1,
			Event: "updated", URL: "https://hooks.example/in", RequestBody: []byte(`{}`),
			Status: executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	}
	if err := log.Add(context.Background(), entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	closing := make(chan struct{})
	d := newDispatcher(log, testOwner, time.Minute, time.Hour, workers, 0, 0, clock.now,
		slog.New(slog.NewTextHandler(io.Discard, nil)), closing, context.Background())
	return d, log, clock, closing
}

// leases summarizes the log: how many pending entries are leased to
// testOwner, how many are pending and free, and how many are finished.
type leases struct{ Leased, Free, Finished int }

func logLeases(t *testing.T, log executionlog.Log) leases {
	t.Helper()
	var l leases
	f := executionlog.Filter{AllTenants: true, Limit: executionlog.MaxLimit}
	for {
		page, err := log.Query(context.Background(), f)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		for _, en := range page.Entries {
			switch {
			case en.Status != executionlog.StatusPending:
				l.Finished++
			case en.LeaseOwner == testOwner:
				l.Leased++
			default:
				l.Free++
			}
		}
		if page.Next == "" {
			return l
		}
		f.Cursor = page.Next
	}
}

// TestDispatcherClaimAhead checks that a claim takes a worker pool's worth
// of entries beyond the free slots, starts as many as slots are free, and
// starts the ones claimed ahead as slots free up, with no claim each.
func TestDispatcherClaimAhead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		entries      int
		workers      int
		wantStarted  int
		wantClaimed  leases
		wantAfterOne leases // after one delivery ended, succeeded
	}{
		{"fewer than the slots", 1, 2, 1, leases{Leased: 1}, leases{Finished: 1}},
		{"one pool ahead", 10, 2, 2, leases{Leased: 4, Free: 6}, leases{Leased: 3, Free: 6, Finished: 1}},
		{"all claimed", 5, 4, 4, leases{Leased: 5}, leases{Leased: 4, Finished: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, log, clock, _ := dispatcherFixture(t, tt.entries, tt.workers)
			d.claimDue()
			if diff := cmp.Diff(tt.wantStarted, len(d.work)); diff != "" {
				t.Errorf("started mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantClaimed, logLeases(t, log)); diff != "" {
				t.Errorf("log after the claim mismatch (-want +got):\n%s", diff)
			}
			// One delivery ends: its slot takes the next entry claimed
			// ahead, if any, before another claim.
			en := <-d.work
			err := log.Update(context.Background(), executionlog.Update{ID: en.ID, Owner: testOwner,
				Status: executionlog.StatusSucceeded, Now: clock.now()})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			d.finish(en, time.Time{})
			d.startReady()
			if diff := cmp.Diff(min(tt.entries-1, tt.wantStarted), len(d.work)); diff != "" {
				t.Errorf("started after one ended mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAfterOne, logLeases(t, log)); diff != "" {
				t.Errorf("log after one ended mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDispatcherHalfLease checks that an entry claimed ahead that waited
// past half its lease is given back to the log, due now, not started.
func TestDispatcherHalfLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		wait        time.Duration
		wantStarted int
		want        leases
	}{
		{"within half the lease", 30 * time.Second, 1, leases{Leased: 2}},
		{"past half the lease", 31 * time.Second, 0, leases{Leased: 1, Free: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, log, clock, _ := dispatcherFixture(t, 2, 1)
			d.claimDue() // one started, one claimed ahead
			d.finish(<-d.work, time.Time{})
			clock.advance(tt.wait)
			d.startReady()
			if diff := cmp.Diff(tt.wantStarted, len(d.work)); diff != "" {
				t.Errorf("started mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, logLeases(t, log)); diff != "" {
				t.Errorf("log mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDispatcherRenewedClaim checks that an entry claimed again while its
// delivery is in flight is not started twice, and that the delivery gives
// it back when it ends pending, so that it is due on time rather than
// when the renewed lease ends.
func TestDispatcherRenewedClaim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pending   bool // whether the delivery ends pending
		wantAfter leases
	}{
		{"ends pending", true, leases{Free: 1}},
		{"ends finished", false, leases{Leased: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, log, clock, _ := dispatcherFixture(t, 1, 2)
			d.claimDue()
			en := <-d.work
			// The attempt records its outcome, pending and due now, and
			// the dispatcher claims the entry before the delivery ends.
			err := log.Update(context.Background(), executionlog.Update{ID: en.ID, Owner: testOwner,
				Status: executionlog.StatusPending, NextAttemptAt: clock.now(), Now: clock.now()})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			d.claimDue()
			if diff := cmp.Diff(0, len(d.work)); diff != "" {
				t.Errorf("started again while in flight mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(leases{Leased: 1}, logLeases(t, log)); diff != "" {
				t.Errorf("log after the second claim mismatch (-want +got):\n%s", diff)
			}
			var pendingAt time.Time
			if tt.pending {
				pendingAt = clock.now()
			}
			d.finish(en, pendingAt)
			if diff := cmp.Diff(tt.wantAfter, logLeases(t, log)); diff != "" {
				t.Errorf("log after the delivery ended mismatch (-want +got):\n%s", diff)
			}
			d.claimDue()
			if diff := cmp.Diff(1-tt.wantAfter.Leased, len(d.work)); diff != "" {
				t.Errorf("started after the delivery ended mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDispatcherNextWake checks that the dispatcher sleeps until the
// earliest retry it was told of, or the poll interval, and claims again at
// once for a retry that fell due after its last claim.
func TestDispatcherNextWake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		retries []time.Duration // due times of retries, from the last claim
		advance time.Duration   // time passed since the last claim
		want    time.Duration
	}{
		{"none", nil, 0, time.Hour},
		{"earliest retry", []time.Duration{time.Minute, 5 * time.Second, 2 * time.Hour}, 0, 5 * time.Second},
		{"retry after the poll", []time.Duration{2 * time.Hour}, 0, time.Hour},
		{"retry due since the claim", []time.Duration{5 * time.Second, time.Minute}, 10 * time.Second, 0},
		{"retry due at the claim", []time.Duration{0, time.Minute}, time.Second, 59 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, clock, _ := dispatcherFixture(t, 0, 1)
			d.claimedAt = clock.now()
			for _, r := range tt.retries {
				d.slots <- struct{}{}
				d.finish(executionlog.Entry{ID: fmt.Sprint(r)}, clock.now().Add(r))
			}
			clock.advance(tt.advance)
			if diff := cmp.Diff(tt.want, d.nextWake()); diff != "" {
				t.Errorf("nextWake mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDispatcherReleaseOnClose checks that when the engine stops, the
// entries claimed ahead go back to the log, free and due, the entries in
// flight stay with their deliveries, and the workers are told to stop.
func TestDispatcherReleaseOnClose(t *testing.T) {
	t.Parallel()
	d, log, _, closing := dispatcherFixture(t, 10, 2)
	d.claimDue() // two started, two claimed ahead
	close(closing)
	d.run()
	var started []executionlog.Entry
	for en := range d.work { // run closed d.work
		started = append(started, en)
	}
	if diff := cmp.Diff(2, len(started)); diff != "" {
		t.Errorf("started mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(leases{Leased: 2, Free: 8}, logLeases(t, log)); diff != "" {
		t.Errorf("log after close mismatch (-want +got):\n%s", diff)
	}
}

// scriptedSender answers the attempts with the status codes of its
// script in order, the last one repeated, and tells sent of each.
type scriptedSender struct {
	mu     sync.Mutex
	script []int
	n      int
	sent   chan int // the attempt's status code
}

func (s *scriptedSender) Send(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
	s.mu.Lock()
	code := s.script[min(s.n, len(s.script)-1)]
	s.n++
	s.mu.Unlock()
	s.sent <- code
	return &webhook.Response{StatusCode: code}, nil
}

// TestDispatcherRetryWakeUp checks, through an engine, that a retry the
// engine scheduled is made when it falls due, long before the next poll.
func TestDispatcherRetryWakeUp(t *testing.T) {
	t.Parallel()
	set, err := trigger.Parse([]byte(`[{"id": "t", "on": ["updated"],
		"actions": [{"type": "webhook", "url": "https://hooks.example/in"}]}]`), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	sender := &scriptedSender{script: []int{503, 503, 200}, sent: make(chan int, 3)}
	e, err := New(Config{
		Triggers:     trigger.NewStore(set),
		Sender:       sender,
		PollInterval: time.Hour,
		Retry: webhook.RetryPolicy{MaxAttempts: 3,
			NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer e.Close(context.Background())
	if err := e.OnTicketChange(context.Background(), ticketForTest(1, "Open"), ticketForTest(1, "Resolved")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	var got []int
	for range 3 {
		select {
		case code := <-sender.sent:
			got = append(got, code)
		case <-time.After(time.Minute): // a guard against a hang, far below PollInterval
			t.Fatalf("attempts so far %v; the retry was not made when due", got)
		}
	}
	if diff := cmp.Diff([]int{503, 503, 200}, got); diff != "" {
		t.Errorf("attempts mismatch (-want +got):\n%s", diff)
	}
}

// ticketForTest returns ticket id with the given status.
func ticketForTest(id int, status string) *payload.Ticket {
	return &payload.Ticket{Id: id, Subject: "Printer on fire", Status: status}
}

// TestDispatcherManyTenantsAtLimit: with more tenants at their limit than
// a claim can skip, claimDue stops once a claim starts nothing, instead
// of leasing one claim after another of entries that must wait.
func TestDispatcherManyTenantsAtLimit(t *testing.T) {
	t.Parallel()
	// 128 workers and a limit of 1 per tenant: 128 tenants at their
	// limit, more than MaxSkipTenants. Each tenant's entries are
	// adjacent, so claims find the running tenants' next entries first.
	const tenants, each, workers = 1000, 3, 128
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	log := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: tenants * each})
	var entries []*executionlog.Entry
	for i := range tenants * each {
		now := clock.now()
		entries = append(entries, &executionlog.Entry{ID: executionlog.NewID(now), Tenant: fmt.Sprintf("t%04d", i/each),
			TriggerID: "t", TicketID: i + 1, Event: "updated", URL: "https://hooks.example/in", RequestBody: []byte(`{}`),
			Status: executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
	}
	if err := log.Add(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(log, testOwner, time.Minute, time.Hour, workers, 1, 1, clock.now,
		slog.New(slog.NewTextHandler(io.Discard, nil)), make(chan struct{}), context.Background())
	d.claimDue()
	if got := len(d.work); got != workers {
		t.Fatalf("started %d deliveries, want one per worker, %d", got, workers)
	}
	// The last delivery started ends and frees a slot.
	var last executionlog.Entry
	for range workers {
		last = <-d.work
	}
	if err := log.Update(context.Background(), executionlog.Update{ID: last.ID, Owner: testOwner,
		Status: executionlog.StatusSucceeded, Now: clock.now()}); err != nil {
		t.Fatal(err)
	}
	before := logLeases(t, log).Leased
	d.finish(last, time.Time{})
	for range 20 {
		d.claimDue()
	}
	if extra := logLeases(t, log).Leased - before; extra > 20 {
		t.Errorf("20 claim rounds leased %d more entries, want at most one each", extra)
	}
}
