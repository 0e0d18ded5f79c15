package executionlogtest

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

var concurrencyTests = []test{
	{"ClaimsNeverShared", testConcurrentClaims},
	{"Updates", testConcurrentUpdates},
	{"AddsAllOrNothingEach", testConcurrentAdds},
}

func testConcurrentClaims(t *testing.T, l executionlog.Log) {
	const entries, owners = 200, 4
	batch := make([]*executionlog.Entry, entries)
	for i := range batch {
		batch[i] = dueAt(-time.Duration(i)*time.Second, i+1)
	}
	mustAdd(t, l, batch...)

	// Each owner claims small batches until nothing is left, then
	// finishes what it claimed.
	claimed := make([][]string, owners)
	var wg sync.WaitGroup
	for o := range owners {
		wg.Go(func() {
			owner := fmt.Sprintf("engine-%d", o)
			for range entries {
				got, err := l.Claim(context.Background(), executionlog.Claim{Owner: owner, Now: at(0), Lease: time.Hour, Limit: 7})
				if err != nil {
					t.Errorf("Claim(%s): %v", owner, err)
					return
				}
				if len(got) == 0 {
					break
				}
				for _, e := range got {
					if e.LeaseOwner != owner {
						t.Errorf("entry %s claimed by %s has lease owner %q", e.ID, owner, e.LeaseOwner)
					}
					claimed[o] = append(claimed[o], e.ID)
				}
			}
			for _, id := range claimed[o] {
				err := l.Update(context.Background(), executionlog.Update{ID: id, Owner: owner, Status: executionlog.StatusSucceeded,
					Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(time.Second)})
				if err != nil {
					t.Errorf("Update(%s by %s): %v", id, owner, err)
				}
			}
		})
	}
	wg.Wait()

	count := make(map[string]int)
	for o, list := range claimed {
		for _, id := range list {
			count[id]++
			if count[id] > 1 {
				t.Errorf("entry %s handed to more than one claim (last to engine-%d)", id, o)
			}
		}
	}
	if len(count) != entries {
		t.Errorf("%d distinct entries claimed, want %d", len(count), entries)
	}
	page := mustQuery(t, l, executionlog.Filter{Status: executionlog.StatusSucceeded, Limit: executionlog.MaxLimit})
	if diff := cmp.Diff(entries, len(page.Entries)); diff != "" {
		t.Errorf("succeeded entries count mismatch (-want +got):\n%s", diff)
	}
}

// testConcurrentUpdates runs many updates at once: of entries whose lease
// the updating owner holds, of entries leased to another owner, of
// entries nobody claimed, of a finished entry and of unknown ids. Each
// must get its own result, as it would alone: the held leases' updates
// are stored with their attempts, the others change nothing.
func testConcurrentUpdates(t *testing.T, l executionlog.Log) {
	const held, others, unclaimed, unknown = 40, 8, 8, 8
	mine := make([]*executionlog.Entry, held)
	theirs := make([]*executionlog.Entry, others)
	free := make([]*executionlog.Entry, unclaimed)
	for i := range mine {
		mine[i] = dueAt(-time.Hour, i+1)
	}
	for i := range theirs {
		theirs[i] = dueAt(-time.Hour, 100+i)
	}
	for i := range free {
		free[i] = dueAt(time.Hour, 200+i) // not due: stays unclaimed
	}
	finished := dueAt(-2*time.Hour, 300)
	mustAdd(t, l, finished)
	claimOne(t, l, finished, "a", at(0))
	mustUpdate(t, l, executionlog.Update{ID: finished.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusFailed, Now: at(time.Second)})
	mustAdd(t, l, theirs...)
	if got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: at(0), Lease: time.Hour, Limit: others}); len(got) != others {
		t.Fatalf("Claim(b) = %d entries, want %d", len(got), others)
	}
	mustAdd(t, l, mine...)
	mustAdd(t, l, free...)
	if got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Hour, Limit: held + 1}); len(got) != held {
		t.Fatalf("Claim(a) = %d entries, want %d", len(got), held)
	}

	type call struct {
		u    executionlog.Update
		want error // nil, ErrLeaseLost or ErrNotFound
	}
	var calls []call
	want := make(map[string]executionlog.Entry)
	for i, e := range mine {
		// Every kind of outcome: a retry, a success, a failure, a release.
		u := executionlog.Update{ID: e.ID, Owner: "a", Now: at(time.Duration(i+1) * time.Second)}
		w := clone(e)
		w.UpdatedAt = u.Now
		switch i % 4 {
		case 0:
			u.Attempt, u.Status, u.NextAttemptAt = failedAttempt(1, at(0)), executionlog.StatusPending, at(time.Minute)
			w.NextAttemptAt = u.NextAttemptAt
		case 1:
			u.Attempt = &executionlog.Attempt{Number: 1, StartedAt: at(0), Duration: time.Duration(i) * time.Millisecond,
				StatusCode: 200, ResponseBody: fmt.Sprintf("ok %d", i)}
			u.Status = executionlog.StatusSucceeded
			w.NextAttemptAt = time.Time{}
		case 2:
			u.Attempt, u.Status = failedAttempt(1, at(0)), executionlog.StatusFailed
			w.NextAttemptAt = time.Time{}
		case 3:
			u.Status, u.NextAttemptAt, u.Note = executionlog.StatusPending, at(2*time.Minute), "destination paused"
			w.NextAttemptAt, w.Note = u.NextAttemptAt, u.Note
		}
		w.Status = u.Status
		if u.Attempt != nil {
			w.Attempts = []executionlog.Attempt{*u.Attempt}
		}
		want[e.ID] = w
		calls = append(calls, call{u: u})
	}
	refused := []*executionlog.Entry{finished}
	refused = append(refused, theirs...)
	refused = append(refused, free...)
	for _, e := range refused {
		calls = append(calls, call{u: executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(9, at(0)),
			Status: executionlog.StatusSucceeded, Now: at(time.Hour)}, want: executionlog.ErrLeaseLost})
		want[e.ID] = mustGet(t, l, e.ID)
	}
	for i := range unknown {
		calls = append(calls, call{u: executionlog.Update{ID: executionlog.NewID(at(time.Duration(i) * time.Hour)), Owner: "a",
			Attempt: failedAttempt(1, at(0)), Status: executionlog.StatusFailed, Now: at(time.Hour)}, want: executionlog.ErrNotFound})
	}

	errs := make([]error, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			<-start
			errs[i] = l.Update(context.Background(), c.u)
		})
	}
	close(start)
	wg.Wait()

	for i, c := range calls {
		switch {
		case c.want == nil && errs[i] != nil:
			t.Errorf("Update(%s by %s) error = %v, want success", c.u.ID, c.u.Owner, errs[i])
		case c.want != nil && !errors.Is(errs[i], c.want):
			t.Errorf("Update(%s by %s) error = %v, want %v", c.u.ID, c.u.Owner, errs[i], c.want)
		}
	}
	for id, w := range want {
		if diff := cmp.Diff(w, mustGet(t, l, id), entryOpts); diff != "" {
			t.Errorf("entry %s after the concurrent updates mismatch (-want +got):\n%s", id, diff)
		}
	}
}

// testConcurrentAdds runs many Add calls at once, one of them with an
// entry already in the log and two with the same new entry. Each call
// stores all of its entries or none: the call with the existing id fails
// alone, exactly one of the two with the same new id succeeds, and the
// other calls store everything.
func testConcurrentAdds(t *testing.T, l executionlog.Log) {
	const calls, per = 24, 3
	existing := dueAt(0, 1)
	mustAdd(t, l, existing)
	batches := make([][]*executionlog.Entry, calls)
	for i := range batches {
		for j := range per {
			batches[i] = append(batches[i], dueAt(0, 100*i+j))
		}
	}
	const dup, twinA, twinB = 5, 11, 17
	batches[dup][1] = existing
	twin := dueAt(0, 9999)
	batches[twinA][2], batches[twinB][0] = twin, twin
	want := make([][]executionlog.Entry, calls)
	for i, batch := range batches {
		for _, e := range batch {
			want[i] = append(want[i], clone(e))
		}
	}

	errs := make([]error, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, batch := range batches {
		wg.Go(func() {
			<-start
			errs[i] = l.Add(context.Background(), batch)
		})
	}
	close(start)
	wg.Wait()

	if errs[dup] == nil {
		t.Errorf("Add(call with an id already in the log) succeeded, want an error")
	}
	if (errs[twinA] == nil) == (errs[twinB] == nil) {
		t.Errorf("Add of two calls with the same new id: errors %v and %v, want exactly one to succeed", errs[twinA], errs[twinB])
	}
	for i := range batches {
		if i != dup && i != twinA && i != twinB && errs[i] != nil {
			t.Errorf("Add(call %d) error = %v, want success", i, errs[i])
		}
		for j, w := range want[i] {
			if w.ID == existing.ID || w.ID == twin.ID {
				continue
			}
			got, err := l.Get(context.Background(), executionlog.Scope{}, w.ID)
			switch {
			case errs[i] != nil && !errors.Is(err, executionlog.ErrNotFound):
				t.Errorf("entry %d of the failed call %d: Get error = %v, want ErrNotFound", j, i, err)
			case errs[i] == nil && err != nil:
				t.Errorf("entry %d of call %d: Get error = %v, want it stored", j, i, err)
			case errs[i] == nil:
				if diff := cmp.Diff(w, got, entryOpts); diff != "" {
					t.Errorf("entry %d of call %d mismatch (-want +got):\n%s", j, i, diff)
				}
			}
		}
	}
	if diff := cmp.Diff(clone(existing), mustGet(t, l, existing.ID), entryOpts); diff != "" {
		t.Errorf("entry added twice mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(clone(twin), mustGet(t, l, twin.ID), entryOpts); diff != "" {
		t.Errorf("entry of two calls mismatch (-want +got):\n%s", diff)
	}
}
