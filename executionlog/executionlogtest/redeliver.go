package executionlogtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var redeliverTests = []test{
	{"FailedBackToPending", testRedeliverFailed},
	{"Succeeded", testRedeliverSucceeded},
	{"AddedFinal", testRedeliverAddedFinal},
	{"Twice", testRedeliverTwice},
	{"Pending", testRedeliverPending},
	{"Unknown", testRedeliverUnknown},
	{"Concurrent", testRedeliverConcurrent},
}

// failEntry claims e for owner "a" at now and records attempts that fail
// it, the last with a note.
func failEntry(t *testing.T, l executionlog.Log, e *executionlog.Entry, now time.Time, attempts int) {
	t.Helper()
	for i := range attempts {
		claimOne(t, l, e, "a", now)
		u := executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(i+1, now),
			Status: executionlog.StatusPending, NextAttemptAt: now, Now: now}
		if i == attempts-1 {
			u.Status, u.Note = executionlog.StatusFailed, "gave up after the last attempt"
		}
		mustUpdate(t, l, u)
	}
}

func testRedeliverFailed(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	failEntry(t, l, e, at(0), 2)
	before := mustGet(t, l, e.ID)

	now := at(time.Hour)
	if err := l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, now); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	want := before
	want.Status = executionlog.StatusPending
	want.SeriesStart = 2
	want.NextAttemptAt = now
	want.Note = ""
	want.UpdatedAt = now
	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
		t.Errorf("entry after Redeliver mismatch (-want +got):\n%s", diff)
	}

	// It is due at now, not before, and keeps its id and attempts.
	if got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: now.Add(-time.Microsecond), Lease: time.Minute, Limit: 10}); len(got) != 0 {
		t.Errorf("Claim before the redelivery is due returned %v, want none", ids(got))
	}
	claimed := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: now, Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{e.ID}, ids(claimed)); diff != "" {
		t.Fatalf("Claim after Redeliver mismatch (-want +got):\n%s", diff)
	}
	if c := claimed[0]; c.SeriesStart != 2 || len(c.Attempts) != 2 {
		t.Errorf("claimed entry has SeriesStart %d and %d attempts, want 2 and 2", c.SeriesStart, len(c.Attempts))
	}
	ok := executionlog.Attempt{Number: 3, StartedAt: now, StatusCode: 200}
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "b", Attempt: &ok, Status: executionlog.StatusSucceeded, Now: now})
	got := mustGet(t, l, e.ID)
	if got.Status != executionlog.StatusSucceeded || len(got.Attempts) != 3 || got.SeriesStart != 2 {
		t.Errorf("after the redelivered attempt: status %s, %d attempts, SeriesStart %d; want succeeded, 3, 2",
			got.Status, len(got.Attempts), got.SeriesStart)
	}
	page := mustQuery(t, l, executionlog.Filter{Status: executionlog.StatusFailed})
	if len(page.Entries) != 0 {
		t.Errorf("Query(failed) after a successful redelivery returned %v, want none", ids(page.Entries))
	}
}

func testRedeliverSucceeded(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusSucceeded,
		Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(time.Second)})

	if err := l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, at(time.Minute)); err != nil {
		t.Fatalf("Redeliver(succeeded entry): %v", err)
	}
	page := mustQuery(t, l, executionlog.Filter{Status: executionlog.StatusPending})
	if diff := cmp.Diff([]string{e.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("Query(pending) after Redeliver mismatch (-want +got):\n%s", diff)
	}
	claimOne(t, l, e, "b", at(time.Minute))
}

func testRedeliverAddedFinal(t *testing.T, l executionlog.Log) {
	e := newEntry(at(0), 7)
	e.Test = true
	e.Status = executionlog.StatusFailed
	e.Attempts = sentAttempts()
	mustAdd(t, l, e)

	if err := l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, at(time.Minute)); err != nil {
		t.Fatalf("Redeliver(entry added final): %v", err)
	}
	claimed := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(time.Minute), Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{e.ID}, ids(claimed)); diff != "" {
		t.Fatalf("Claim after Redeliver mismatch (-want +got):\n%s", diff)
	}
	if c := claimed[0]; c.SeriesStart != 2 || !c.Test || len(c.Attempts) != 2 {
		t.Errorf("claimed entry: SeriesStart %d, Test %t, %d attempts; want 2, true, 2", c.SeriesStart, c.Test, len(c.Attempts))
	}
}

func testRedeliverTwice(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	failEntry(t, l, e, at(0), 1)
	if err := l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, at(time.Minute)); err != nil {
		t.Fatalf("first Redeliver: %v", err)
	}
	failEntry(t, l, e, at(time.Minute), 2)
	if err := l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, at(time.Hour)); err != nil {
		t.Fatalf("second Redeliver: %v", err)
	}
	got := mustGet(t, l, e.ID)
	if got.SeriesStart != 3 || len(got.Attempts) != 3 || !got.NextAttemptAt.Equal(at(time.Hour)) {
		t.Errorf("after the second Redeliver: SeriesStart %d, %d attempts, due %v; want 3, 3, %v",
			got.SeriesStart, len(got.Attempts), got.NextAttemptAt, at(time.Hour))
	}
}

func testRedeliverPending(t *testing.T, l executionlog.Log) {
	idle, leased := dueAt(0, 1), dueAt(time.Second, 2)
	mustAdd(t, l, idle, leased)
	got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 1})
	if diff := cmp.Diff([]string{idle.ID}, ids(got)); diff != "" {
		t.Fatalf("Claim mismatch (-want +got):\n%s", diff)
	}
	leased, idle = idle, leased // the claimed one is now leased

	for _, id := range []string{idle.ID, leased.ID} {
		before := mustGet(t, l, id)
		err := l.Redeliver(context.Background(), executionlog.Scope{}, id, at(time.Hour))
		if !errors.Is(err, executionlog.ErrNotFinished) {
			t.Errorf("Redeliver(pending %s) error = %v, want ErrNotFinished", id, err)
		}
		if diff := cmp.Diff(before, mustGet(t, l, id), entryOpts); diff != "" {
			t.Errorf("pending entry after a refused Redeliver mismatch (-want +got):\n%s", diff)
		}
	}
}

func testRedeliverUnknown(t *testing.T, l executionlog.Log) {
	mustAdd(t, l, dueAt(0, 1))
	err := l.Redeliver(context.Background(), executionlog.Scope{}, executionlog.NewID(at(0)), at(time.Minute))
	if !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Redeliver(unknown id) error = %v, want ErrNotFound", err)
	}
}

func testRedeliverConcurrent(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	failEntry(t, l, e, at(0), 1)

	const callers = 8
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			errs[i] = l.Redeliver(context.Background(), executionlog.Scope{}, e.ID, at(time.Minute))
		})
	}
	wg.Wait()
	succeeded := 0
	for i, err := range errs {
		switch {
		case err == nil:
			succeeded++
		case !errors.Is(err, executionlog.ErrNotFinished):
			t.Errorf("Redeliver %d error = %v, want nil or ErrNotFinished", i, err)
		}
	}
	if succeeded != 1 {
		t.Errorf("%d of %d concurrent Redeliver calls succeeded, want exactly 1", succeeded, callers)
	}
	if got := mustGet(t, l, e.ID); got.Status != executionlog.StatusPending || got.SeriesStart != 1 {
		t.Errorf("after concurrent Redeliver: status %s, SeriesStart %d; want pending, 1", got.Status, got.SeriesStart)
	}
}
