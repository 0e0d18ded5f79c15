package tickethooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// TestDurableRetryWaitsInDatabase: a retry is a row in the database, not a
// timer in the engine. An entry that got a 503 waits, pending and
// unleased, while its engine stops; another engine performs the retry
// with the same delivery id.
func TestDurableRetryWaitsInDatabase(t *testing.T) {
	t.Parallel()
	forEachBackend(t, allDurable, testRetryWaitsInDatabase)
}

func testRetryWaitsInDatabase(t *testing.T, db *durableDB) {
	ctx := context.Background()
	rcv := newReceiver(t, 503, 200)
	// Retries wait an hour. The second engine's clock is two hours ahead,
	// so nobody waits for it.
	const wait = time.Hour
	retry := webhook.RetryPolicy{
		MaxAttempts: 3,
		NewBackOff:  func() backoff.BackOff { return backoff.NewConstantBackOff(wait) },
		MaxDelay:    2 * wait,
	}
	l1 := db.log(t, db.open(t))
	first, _ := newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, rcv.URL), Log: l1, Retry: retry, Owner: "first",
	})
	before, after := resolving(7)
	fired := time.Now()
	if err := first.OnTicketChange(ctx, before, after); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	var en executionlog.Entry
	waitFor(t, "the first attempt to be recorded", func() bool {
		entries := allEntries(t, l1)
		if len(entries) == 1 && len(entries[0].Attempts) == 1 {
			en = entries[0]
			return true
		}
		return false
	})
	check := func(when string) {
		t.Helper()
		if en.Status != executionlog.StatusPending || en.LeaseOwner != "" || !en.LeaseUntil.IsZero() {
			t.Errorf("%s: entry is %s, leased to %q until %v; want pending with no lease", when, en.Status, en.LeaseOwner, en.LeaseUntil)
		}
		if due := en.NextAttemptAt; due.Before(fired.Add(wait - time.Minute)) {
			t.Errorf("%s: next attempt at %v, want about %v after %v", when, due, wait, fired)
		}
	}
	check("after the 503")

	// The engine stops: nothing is in flight, the retry stays in the log.
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := l1.Get(ctx, executionlog.Scope{}, en.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	en = got
	check("after Close")

	// Another engine, through its own pool, finds the retry due and makes
	// it.
	l2 := db.log(t, db.open(t))
	newEngine(t, tickethooks.Config{
		Triggers: durableTriggers(t, rcv.URL), Log: l2, Retry: retry, Owner: "second",
		Now: func() time.Time { return time.Now().Add(2 * wait) },
	})
	done := waitSettled(t, l2, 1)[0]
	if done.ID != en.ID || done.Status != executionlog.StatusSucceeded {
		t.Errorf("entry %s is %s, want %s succeeded", done.ID, done.Status, en.ID)
	}
	var codes []int
	for _, a := range done.Attempts {
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 200}, codes); diff != "" {
		t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
	}
	var ids []string
	for _, r := range rcv.got() {
		ids = append(ids, r.header.Get("Webhook-Id"))
	}
	if diff := cmp.Diff([]string{en.ID, en.ID}, ids); diff != "" {
		t.Errorf("webhook-ids received mismatch (-want +got):\n%s", diff)
	}
}
