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

var lateAttemptTests = []test{
	{"WhileAnotherOwnerHoldsTheLease", testLateWhileHeld},
	{"AfterAnotherOwnerFinished", testLateAfterFinished},
	{"OnUnclaimedEntry", testLateUnclaimed},
	{"Unknown", testLateUnknown},
	{"ConcurrentWithUpdate", testLateConcurrent},
}

// recorder returns l as an AttemptRecorder, or skips the test when l is
// not one.
func recorder(t *testing.T, l executionlog.Log) executionlog.AttemptRecorder {
	t.Helper()
	r, ok := l.(executionlog.AttemptRecorder)
	if !ok {
		t.Skipf("%T does not implement executionlog.AttemptRecorder", l)
	}
	return r
}

// mustRecord records a late attempt and fails the test on error.
func mustRecord(t *testing.T, r executionlog.AttemptRecorder, id string, a executionlog.Attempt, now time.Time) {
	t.Helper()
	if err := r.RecordAttempt(context.Background(), id, a, now); err != nil {
		t.Fatalf("RecordAttempt(%q): %v", id, err)
	}
}

// lostLease adds an entry, lets owner "a" claim it at at(0) for a
// minute, and then "b" claim it after the lease ended; "a" then finds
// its Update refused. It returns the entry as "b" claimed it.
func lostLease(t *testing.T, l executionlog.Log) executionlog.Entry {
	t.Helper()
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	claimOne(t, l, e, "b", at(2*time.Minute))
	err := l.Update(context.Background(), executionlog.Update{ID: e.ID, Owner: "a", Attempt: lateAttempt(),
		Status: executionlog.StatusSucceeded, Now: at(3 * time.Minute)})
	if !errors.Is(err, executionlog.ErrLeaseLost) {
		t.Fatalf("Update by the owner whose lease was taken: error = %v, want ErrLeaseLost", err)
	}
	return mustGet(t, l, e.ID)
}

// lateAttempt is the attempt of owner "a", which reached the receiver but
// could not be recorded in time. Its Number is not the one the log
// assigns.
func lateAttempt() *executionlog.Attempt {
	return &executionlog.Attempt{Number: 41, StartedAt: at(10 * time.Second), Duration: 30 * time.Second,
		StatusCode: 504, Error: "receiver answered 504 Gateway Timeout (late)", ResponseBody: "upstream ✗", ResponseTruncated: true}
}

// numbered returns a with Number n.
func numbered(a executionlog.Attempt, n int) executionlog.Attempt {
	a.Number = n
	return a
}

func testLateWhileHeld(t *testing.T, l executionlog.Log) {
	r := recorder(t, l)
	held := lostLease(t, l)

	mustRecord(t, r, held.ID, *lateAttempt(), at(3*time.Minute))
	want := held
	want.Attempts = []executionlog.Attempt{numbered(*lateAttempt(), 1)}
	want.UpdatedAt = at(3 * time.Minute)
	if diff := cmp.Diff(want, mustGet(t, l, held.ID), entryOpts); diff != "" {
		t.Errorf("entry after a late attempt mismatch (-want +got):\n%s", diff)
	}
	if got := mustQuery(t, l, executionlog.Filter{ErrorText: "504 GATEWAY TIMEOUT (LATE)"}).Entries; len(ids(got)) != 1 {
		t.Errorf("error search for the late attempt found %v, want the entry", ids(got))
	}

	// The holder's own attempt follows, numbered after the late one.
	own := executionlog.Attempt{Number: 1, StartedAt: at(2 * time.Minute), Duration: time.Second, StatusCode: 200}
	mustUpdate(t, l, executionlog.Update{ID: held.ID, Owner: "b", Attempt: &own, Status: executionlog.StatusSucceeded,
		Now: at(4 * time.Minute)})
	got := mustGet(t, l, held.ID)
	wantAttempts := []executionlog.Attempt{numbered(*lateAttempt(), 1), numbered(own, 2)}
	if diff := cmp.Diff(wantAttempts, got.Attempts, entryOpts); diff != "" {
		t.Errorf("attempts after the holder's update mismatch (-want +got):\n%s", diff)
	}
	if got.Status != executionlog.StatusSucceeded || got.SeriesStart != 0 || got.LeaseOwner != "" {
		t.Errorf("entry after the holder's update: status %s, SeriesStart %d, lease %q; want succeeded, 0, none",
			got.Status, got.SeriesStart, got.LeaseOwner)
	}
}

func testLateAfterFinished(t *testing.T, l executionlog.Log) {
	r := recorder(t, l)
	held := lostLease(t, l)
	own := executionlog.Attempt{Number: 1, StartedAt: at(2 * time.Minute), StatusCode: 500, Error: "HTTP 500"}
	mustUpdate(t, l, executionlog.Update{ID: held.ID, Owner: "b", Attempt: &own, Status: executionlog.StatusFailed,
		Now: at(3 * time.Minute)})
	before := mustGet(t, l, held.ID)

	mustRecord(t, r, held.ID, *lateAttempt(), at(5*time.Minute))
	want := before
	want.Attempts = []executionlog.Attempt{numbered(own, 1), numbered(*lateAttempt(), 2)}
	want.UpdatedAt = at(5 * time.Minute)
	if diff := cmp.Diff(want, mustGet(t, l, held.ID), entryOpts); diff != "" {
		t.Errorf("finished entry after a late attempt mismatch (-want +got):\n%s", diff)
	}
	// A finished entry stays out of the queue.
	if got := mustClaim(t, l, executionlog.Claim{Owner: "c", Now: at(time.Hour), Lease: time.Minute, Limit: 10}); len(got) != 0 {
		t.Errorf("Claim after a late attempt on a finished entry returned %v, want none", ids(got))
	}
}

func testLateUnclaimed(t *testing.T, l executionlog.Log) {
	r := recorder(t, l)
	e := dueAt(time.Minute, 1)
	mustAdd(t, l, e)
	mustRecord(t, r, e.ID, *lateAttempt(), at(30*time.Second))

	// It is due when it was, and claimed with the late attempt.
	if got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(59 * time.Second), Lease: time.Minute, Limit: 10}); len(got) != 0 {
		t.Errorf("Claim before the entry is due returned %v, want none", ids(got))
	}
	got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(time.Minute), Lease: time.Minute, Limit: 10})
	if len(got) != 1 {
		t.Fatalf("Claim when due returned %v, want the entry", ids(got))
	}
	want := []executionlog.Attempt{numbered(*lateAttempt(), 1)}
	if diff := cmp.Diff(want, got[0].Attempts, entryOpts); diff != "" {
		t.Errorf("claimed attempts mismatch (-want +got):\n%s", diff)
	}
	if got[0].Status != executionlog.StatusPending || got[0].SeriesStart != 0 || !got[0].NextAttemptAt.Equal(at(time.Minute)) {
		t.Errorf("claimed entry: status %s, SeriesStart %d, due %v; want pending, 0, %v",
			got[0].Status, got[0].SeriesStart, got[0].NextAttemptAt, at(time.Minute))
	}
}

func testLateUnknown(t *testing.T, l executionlog.Log) {
	r := recorder(t, l)
	mustAdd(t, l, dueAt(0, 1))
	err := r.RecordAttempt(context.Background(), executionlog.NewID(at(0)), *lateAttempt(), at(time.Second))
	if !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("RecordAttempt(unknown id) error = %v, want ErrNotFound", err)
	}
}

func testLateConcurrent(t *testing.T, l executionlog.Log) {
	r := recorder(t, l)
	held := lostLease(t, l)
	const late = 6
	var wg sync.WaitGroup
	for i := range late {
		wg.Go(func() {
			a := executionlog.Attempt{Number: 1, StartedAt: at(time.Duration(i) * time.Second), StatusCode: 502,
				Error: fmt.Sprintf("late %d", i)}
			if err := r.RecordAttempt(context.Background(), held.ID, a, at(3*time.Minute)); err != nil {
				t.Errorf("RecordAttempt %d: %v", i, err)
			}
		})
	}
	wg.Go(func() {
		err := l.Update(context.Background(), executionlog.Update{ID: held.ID, Owner: "b", Status: executionlog.StatusSucceeded,
			Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(2 * time.Minute), StatusCode: 200, Error: "own"}, Now: at(3 * time.Minute)})
		if err != nil {
			t.Errorf("Update by the holder: %v", err)
		}
	})
	wg.Wait()

	got := mustGet(t, l, held.ID)
	numbers := make([]int, len(got.Attempts))
	errs := make(map[string]bool)
	for i, a := range got.Attempts {
		numbers[i] = a.Number
		errs[a.Error] = true
	}
	wantErrs := map[string]bool{"own": true}
	for i := range late {
		wantErrs[fmt.Sprintf("late %d", i)] = true
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7}, numbers); diff != "" {
		t.Errorf("attempt numbers mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("recorded attempts mismatch (-want +got):\n%s", diff)
	}
	if got.Status != executionlog.StatusSucceeded {
		t.Errorf("status = %s, want succeeded", got.Status)
	}
}
