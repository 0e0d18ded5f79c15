package sqllog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

// The group commit tests hold a group as if a batch were being written,
// queue calls behind it, and then let them go: the queued calls become
// one batch, whatever the scheduling.

// hold marks g busy, as while a batch is written, so that calls queue.
func hold(t *testing.T, g *group) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy {
		t.Fatal("group is busy before the test holds it")
	}
	g.busy = true
}

// waitQueued waits until n calls wait in g's queue.
func waitQueued(t *testing.T, g *group, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		g.mu.Lock()
		k := len(g.queue)
		g.mu.Unlock()
		if k == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", k, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// queued returns how many calls wait in g's queue.
func queued(g *group) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// idle reports whether g has no batch being written.
func idle(g *group) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.busy && len(g.queue) == 0
}

// queue runs the calls, each in its goroutine, while g is held, and
// returns once they wait in g's queue in their order. wait returns their
// results.
func queue(t *testing.T, g *group, calls []func() error) (wait func() []error) {
	t.Helper()
	hold(t, g)
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
		waitQueued(t, g, i+1)
	}
	return func() []error {
		wg.Wait()
		if !idle(g) {
			t.Error("group not idle after the batches")
		}
		return errs
	}
}

// inBatch queues the calls while g is held, writes them as one batch and
// returns their results.
func inBatch(t *testing.T, g *group, calls []func() error) []error {
	t.Helper()
	wait := queue(t, g, calls)
	g.mu.Lock()
	batch := g.take()
	g.mu.Unlock()
	if len(batch) != len(calls) {
		t.Errorf("batch of %d calls, want %d", len(batch), len(calls))
	}
	batch[0].done <- outcome{lead: batch}
	return wait()
}

// claimAll adds n pending entries and claims them for owner.
func claimAll(t *testing.T, l *Log, owner string, n int) []*executionlog.Entry {
	t.Helper()
	entries := make([]*executionlog.Entry, n)
	for i := range entries {
		entries[i] = newEntry(at(-time.Hour), i+1)
	}
	if err := l.Add(context.Background(), entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	got, err := l.Claim(context.Background(), executionlog.Claim{Owner: owner, Now: at(0), Lease: time.Hour, Limit: n})
	if err != nil || len(got) != n {
		t.Fatalf("Claim: %d entries, %v; want %d", len(got), err, n)
	}
	return entries
}

// mustGetEntry returns the entry with id.
func mustGetEntry(t *testing.T, l *Log, id string) executionlog.Entry {
	t.Helper()
	e, err := l.Get(context.Background(), executionlog.Scope{}, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return e
}

// succeeded returns the update of e by owner to succeeded, with attempt 1.
func succeeded(e *executionlog.Entry, owner string, i int) executionlog.Update {
	return executionlog.Update{ID: e.ID, Owner: owner, Status: executionlog.StatusSucceeded, Now: at(time.Minute),
		Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), Duration: time.Duration(i) * time.Millisecond,
			StatusCode: 200, ResponseBody: fmt.Sprintf("ok %d", i)}}
}

// testGroupUpdates writes one batch of updates: held leases (with and
// without attempts), two updates of one entry, a lost lease and an
// unknown id. Each gets the result it would get alone.
func testGroupUpdates(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	entries := claimAll(t, tl.Log, "a", 6)
	other := newEntry(at(-time.Hour), 99)
	if err := tl.Add(ctx, []*executionlog.Entry{other}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if _, err := tl.Claim(ctx, executionlog.Claim{Owner: "b", Now: at(0), Lease: time.Hour, Limit: 1}); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	otherBefore := mustGetEntry(t, tl.Log, other.ID)

	release := executionlog.Update{ID: entries[4].ID, Owner: "a", Status: executionlog.StatusPending,
		NextAttemptAt: at(time.Hour), Note: "paused", Now: at(time.Minute)}
	updates := []executionlog.Update{
		succeeded(entries[0], "a", 0),
		succeeded(entries[1], "a", 1),
		succeeded(entries[2], "a", 2),
		succeeded(entries[3], "a", 3),
		release,
		succeeded(entries[5], "a", 5),
		succeeded(entries[5], "a", 6), // the same entry again: its lease is gone by then
		succeeded(other, "a", 7),      // leased to b
		succeeded(newEntry(at(0), 1), "a", 8),
	}
	want := []error{nil, nil, nil, nil, nil, nil, executionlog.ErrLeaseLost, executionlog.ErrLeaseLost, executionlog.ErrNotFound}
	calls := make([]func() error, len(updates))
	for i, u := range updates {
		calls[i] = func() error { return tl.Update(ctx, u) }
	}
	wait := queue(t, tl.updates, calls)
	tl.handOff(tl.updates) // one batch, then the second update of entries[5]
	errs := wait()

	for i, err := range errs {
		if want[i] == nil && err != nil || want[i] != nil && !errors.Is(err, want[i]) {
			t.Errorf("update %d: error = %v, want %v", i, err, want[i])
		}
	}
	for i, e := range entries {
		got := mustGetEntry(t, tl.Log, e.ID)
		w := *e
		w.UpdatedAt = at(time.Minute)
		if i == 4 {
			w.NextAttemptAt, w.Note = release.NextAttemptAt, release.Note
		} else {
			w.Status, w.NextAttemptAt = executionlog.StatusSucceeded, time.Time{}
			w.Attempts = []executionlog.Attempt{*updates[i].Attempt}
		}
		if diff := cmp.Diff(w, got, entryOpts); diff != "" {
			t.Errorf("entry %d after the batch mismatch (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(otherBefore, mustGetEntry(t, tl.Log, other.ID), entryOpts); diff != "" {
		t.Errorf("entry leased to another owner changed (-want +got):\n%s", diff)
	}
}

// testGroupUpdateFallback writes a batch in which one update cannot be
// written (its attempt collides with a stray attempt row): the batch fails,
// each update is written alone, and only that one fails.
func testGroupUpdateFallback(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	entries := claimAll(t, tl.Log, "a", 5)
	bad := entries[2]
	mustExec(t, tl.Log, "INSERT INTO "+tl.attempts+" ("+attemptCols+") VALUES (?, 1, 1, ?, 0, 0, NULL, NULL, ?)",
		bad.ID, tl.d.timeArg(at(0)), false)
	badBefore := mustGetEntry(t, tl.Log, bad.ID)

	calls := make([]func() error, len(entries))
	for i, e := range entries {
		calls[i] = func() error { return tl.Update(ctx, succeeded(e, "a", i)) }
	}
	errs := inBatch(t, tl.updates, calls)

	for i, e := range entries {
		if e == bad {
			if errs[i] == nil || errors.Is(errs[i], executionlog.ErrLeaseLost) || errors.Is(errs[i], executionlog.ErrNotFound) {
				t.Errorf("update of the entry whose attempt collides: error = %v, want the database's error", errs[i])
			}
			if diff := cmp.Diff(badBefore, mustGetEntry(t, tl.Log, e.ID), entryOpts); diff != "" {
				t.Errorf("entry of the failed update changed (-want +got):\n%s", diff)
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("update %d: %v, want success", i, errs[i])
		}
		if got := mustGetEntry(t, tl.Log, e.ID); got.Status != executionlog.StatusSucceeded || len(got.Attempts) != 1 {
			t.Errorf("entry %d: status %s with %d attempts, want succeeded with 1", i, got.Status, len(got.Attempts))
		}
	}
}

// testGroupAdds writes one batch of Add calls, one of which holds an id
// already in the log and another the same new id as a third: each call
// stores all of its entries or none, and fails alone.
func testGroupAdds(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	existing := newEntry(at(0), 1)
	if err := tl.Add(ctx, []*executionlog.Entry{existing}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	twin := newEntry(at(0), 2)
	calls := [][]*executionlog.Entry{
		{newEntry(at(0), 10), newEntry(at(0), 11)},
		{newEntry(at(0), 20), existing, newEntry(at(0), 21)}, // fails: existing is in the log
		{newEntry(at(0), 30), twin},                          // one of this call
		{newEntry(at(0), 40)},
		{twin, newEntry(at(0), 50)}, // and this one fails
	}
	fns := make([]func() error, len(calls))
	for i, entries := range calls {
		fns[i] = func() error { return tl.Add(ctx, entries) }
	}
	errs := inBatch(t, tl.adds, fns)

	// The batch fails, and the calls are written alone, concurrently:
	// either twin call may come first.
	if (errs[2] == nil) == (errs[4] == nil) {
		t.Errorf("two Add calls with the same new id: errors %v and %v, want exactly one", errs[2], errs[4])
	}
	wantErr := []bool{false, true, errs[2] != nil, false, errs[4] != nil}
	for i, entries := range calls {
		if (errs[i] != nil) != wantErr[i] {
			t.Errorf("Add call %d: error = %v, want error: %v", i, errs[i], wantErr[i])
		}
		for _, e := range entries {
			if e == existing || e == twin {
				continue
			}
			_, err := tl.Get(ctx, executionlog.Scope{}, e.ID)
			if wantErr[i] && !errors.Is(err, executionlog.ErrNotFound) {
				t.Errorf("entry %s of the failed call %d: Get error = %v, want ErrNotFound", e.ID, i, err)
			}
			if !wantErr[i] && err != nil {
				t.Errorf("entry %s of call %d: Get error = %v, want it stored", e.ID, i, err)
			}
		}
	}
	if got := mustGetEntry(t, tl.Log, twin.ID); got.TicketID != twin.TicketID {
		t.Errorf("twin entry has ticket %d, want %d", got.TicketID, twin.TicketID)
	}
}

// testGroupMixed writes Add and Update calls that queue together: on
// SQLite they share a batch, elsewhere their groups are separate.
func testGroupMixed(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	if tl.adds != tl.updates {
		t.Skip("Add and Update batches are separate in this dialect")
	}
	ctx := context.Background()
	entries := claimAll(t, tl.Log, "a", 3)
	fresh := []*executionlog.Entry{newEntry(at(0), 10), newEntry(at(0), 11)}
	calls := []func() error{
		func() error { return tl.Update(ctx, succeeded(entries[0], "a", 0)) },
		func() error { return tl.Add(ctx, fresh[:1]) },
		func() error { return tl.Update(ctx, succeeded(entries[1], "b", 1)) }, // not b's lease
		func() error { return tl.Add(ctx, fresh[1:]) },
		func() error { return tl.Update(ctx, succeeded(entries[2], "a", 2)) },
	}
	errs := inBatch(t, tl.adds, calls)
	want := []error{nil, nil, executionlog.ErrLeaseLost, nil, nil}
	for i, err := range errs {
		if want[i] == nil && err != nil || want[i] != nil && !errors.Is(err, want[i]) {
			t.Errorf("call %d: error = %v, want %v", i, err, want[i])
		}
	}
	for _, e := range fresh {
		mustGetEntry(t, tl.Log, e.ID)
	}
	for i, e := range entries {
		got := mustGetEntry(t, tl.Log, e.ID)
		if wantStatus := map[bool]executionlog.Status{true: executionlog.StatusPending, false: executionlog.StatusSucceeded}[i == 1]; got.Status != wantStatus {
			t.Errorf("entry %d: status %s, want %s", i, got.Status, wantStatus)
		}
	}
}

// testGroupCancelQueued cancels calls while they wait in the queue: they
// return the context's error and write nothing.
func testGroupCancelQueued(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	entries := claimAll(t, tl.Log, "a", 1)
	before := mustGetEntry(t, tl.Log, entries[0].ID)
	fresh := newEntry(at(0), 10)

	groups := []*group{tl.updates}
	if tl.adds != tl.updates {
		groups = append(groups, tl.adds)
	}
	for _, g := range groups {
		hold(t, g)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = tl.Update(ctx, succeeded(entries[0], "a", 0)) })
	wg.Go(func() { errs[1] = tl.Add(ctx, []*executionlog.Entry{fresh}) })
	if tl.adds == tl.updates {
		waitQueued(t, tl.adds, 2)
	} else {
		waitQueued(t, tl.updates, 1)
		waitQueued(t, tl.adds, 1)
	}
	cancel()
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("call %d cancelled while queued: error = %v, want context.Canceled", i, err)
		}
	}
	for _, g := range groups {
		if n := queued(g); n != 0 {
			t.Errorf("%d calls left in the queue, want 0", n)
		}
		tl.handOff(g)
		if !idle(g) {
			t.Error("group not idle after the hold ends")
		}
	}

	if diff := cmp.Diff(before, mustGetEntry(t, tl.Log, entries[0].ID), entryOpts); diff != "" {
		t.Errorf("entry of the cancelled update changed (-want +got):\n%s", diff)
	}
	if _, err := tl.Get(context.Background(), executionlog.Scope{}, fresh.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(entry of the cancelled Add) error = %v, want ErrNotFound", err)
	}
}

// testGroupCancelTaken cancels calls after they were taken into a batch,
// the batch's leader among them: the batch is still written, for them
// too. Only when every call of a batch has given up does it fail, and
// then each fails alone with its own context's error.
func testGroupCancelTaken(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	entries := claimAll(t, tl.Log, "a", 4)
	g := tl.updates

	run := func(ctxs []context.Context, es []*executionlog.Entry, cancel func()) []error {
		calls := make([]func() error, len(es))
		for i, e := range es {
			calls[i] = func() error { return tl.Update(ctxs[i], succeeded(e, "a", i)) }
		}
		wait := queue(t, g, calls)
		g.mu.Lock()
		batch := g.take()
		g.mu.Unlock()
		cancel()
		batch[0].done <- outcome{lead: batch}
		return wait()
	}

	// The leader and another give up; the third does not.
	c1, cancel1 := context.WithCancel(context.Background())
	c2, cancel2 := context.WithCancel(context.Background())
	errs := run([]context.Context{c1, c2, context.Background()}, entries[:3], func() { cancel1(); cancel2() })
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d taken into the batch: %v, want success", i, err)
		}
		if got := mustGetEntry(t, tl.Log, entries[i].ID); got.Status != executionlog.StatusSucceeded {
			t.Errorf("entry %d: status %s, want succeeded", i, got.Status)
		}
	}

	// Everyone gives up: nothing is written.
	c3, cancel3 := context.WithCancel(context.Background())
	c4, cancel4 := context.WithCancel(context.Background())
	entries = append(entries[3:], claimAll(t, tl.Log, "a", 1)...)
	errs = run([]context.Context{c3, c4}, entries, func() { cancel3(); cancel4() })
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("update %d of a batch everyone left: error = %v, want context.Canceled", i, err)
		}
		if got := mustGetEntry(t, tl.Log, entries[i].ID); got.Status != executionlog.StatusPending || got.LeaseOwner != "a" {
			t.Errorf("entry %d: status %s leased to %q, want pending, leased to a", i, got.Status, got.LeaseOwner)
		}
	}
}

// testGroupUpdatesAppend writes one batch of updates on entries that
// already have attempts with errors: each new attempt is stored after the
// earlier ones, and error search finds the errors of both.
func testGroupUpdatesAppend(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	entries := claimAll(t, tl.Log, "a", 3)
	for i, e := range entries {
		// A first attempt fails alone; the retry is claimed again.
		if err := tl.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusPending,
			NextAttemptAt: at(time.Minute), Now: at(time.Second),
			Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 503, Error: fmt.Sprintf("first failure %d", i)}}); err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	if got, err := tl.Claim(ctx, executionlog.Claim{Owner: "a", Now: at(time.Minute), Lease: time.Hour, Limit: 3}); err != nil || len(got) != 3 {
		t.Fatalf("Claim: %d entries, %v; want 3", len(got), err)
	}
	calls := make([]func() error, len(entries))
	for i, e := range entries {
		calls[i] = func() error {
			return tl.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusFailed, Now: at(2 * time.Minute),
				Attempt: &executionlog.Attempt{Number: 2, StartedAt: at(time.Minute), StatusCode: 500, Error: fmt.Sprintf("second failure %d", i)}})
		}
	}
	for i, err := range inBatch(t, tl.updates, calls) {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i, e := range entries {
		got := mustGetEntry(t, tl.Log, e.ID)
		var errs []string
		for _, a := range got.Attempts {
			errs = append(errs, fmt.Sprintf("%d %s", a.Number, a.Error))
		}
		want := []string{fmt.Sprintf("1 first failure %d", i), fmt.Sprintf("2 second failure %d", i)}
		if diff := cmp.Diff(want, errs); diff != "" || got.Status != executionlog.StatusFailed {
			t.Errorf("entry %d: %s, attempts mismatch (-want +got):\n%s", i, got.Status, diff)
		}
		for _, text := range want {
			page, err := tl.Query(ctx, executionlog.Filter{ErrorText: text[2:]})
			if err != nil || len(page.Entries) != 1 || page.Entries[0].ID != e.ID {
				t.Errorf("error search %q: %d entries, %v; want entry %d", text[2:], len(page.Entries), err, i)
			}
		}
	}
}
