package executionlogtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var updateTests = []test{
	{"AppendsAttemptsInOrder", testUpdateAppendsAttempts},
	{"SucceededClearsSchedule", testUpdateSucceeded},
	{"WrongOwner", testUpdateWrongOwner},
	{"NotClaimed", testUpdateNotClaimed},
	{"AfterTakeover", testUpdateAfterTakeover},
	{"AfterFinal", testUpdateAfterFinal},
	{"Unknown", testUpdateUnknown},
	{"NilAttemptReleases", testUpdateNilAttempt},
	{"NoteReplaced", testUpdateNote},
	{"NumbersAttempts", testUpdateNumbersAttempts},
}

// claimOne claims e for owner at now and fails the test unless exactly e is
// claimed.
func claimOne(t *testing.T, l executionlog.Log, e *executionlog.Entry, owner string, now time.Time) {
	t.Helper()
	got := mustClaim(t, l, executionlog.Claim{Owner: owner, Now: now, Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{e.ID}, ids(got)); diff != "" {
		t.Fatalf("Claim(%s at %v) mismatch (-want +got):\n%s", owner, now, diff)
	}
}

func testUpdateAppendsAttempts(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	want := clone(e)
	mustAdd(t, l, e)

	attempts := []executionlog.Attempt{
		{Number: 1, StartedAt: at(0), Duration: 10 * time.Second, Error: "dial tcp 203.0.113.7:443: connect: connection refused"},
		{Number: 2, StartedAt: at(time.Minute), Duration: 1234567 * time.Microsecond, StatusCode: 503,
			Error: "HTTP 503 Service Unavailable", ResponseBody: `{"error":"maintenance ✗"}`, ResponseTruncated: true},
		{Number: 3, StartedAt: at(2 * time.Minute), Duration: 250 * time.Millisecond, StatusCode: 500,
			Error: "HTTP 500 Internal Server Error", ResponseBody: "oops"},
	}
	for i := range attempts {
		now := at(time.Duration(i) * time.Minute)
		claimOne(t, l, e, "a", now)
		u := executionlog.Update{ID: e.ID, Owner: "a", Attempt: &attempts[i],
			Status: executionlog.StatusPending, NextAttemptAt: at(time.Duration(i+1) * time.Minute), Now: now.Add(time.Second)}
		if i == len(attempts)-1 {
			u.Status = executionlog.StatusFailed
		}
		mustUpdate(t, l, u)

		want.Attempts = attempts[:i+1]
		want.Status = u.Status
		want.NextAttemptAt = u.NextAttemptAt
		if u.Status == executionlog.StatusFailed {
			want.NextAttemptAt = time.Time{}
		}
		want.UpdatedAt = u.Now
		if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
			t.Errorf("entry after update %d mismatch (-want +got):\n%s", i+1, diff)
		}
	}
}

func testUpdateSucceeded(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	want := clone(e)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))

	a := executionlog.Attempt{Number: 1, StartedAt: at(0), Duration: 80 * time.Millisecond, StatusCode: 204}
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: &a, Status: executionlog.StatusSucceeded,
		NextAttemptAt: at(time.Hour), Now: at(time.Second)})

	want.Status = executionlog.StatusSucceeded
	want.Attempts = []executionlog.Attempt{a}
	want.NextAttemptAt = time.Time{}
	want.UpdatedAt = at(time.Second)
	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
		t.Errorf("entry after success mismatch (-want +got):\n%s", diff)
	}
}

// wantLeaseLost runs u and fails the test unless it returns ErrLeaseLost
// and leaves the entry as it was.
func wantLeaseLost(t *testing.T, l executionlog.Log, u executionlog.Update) {
	t.Helper()
	before := mustGet(t, l, u.ID)
	if err := l.Update(context.Background(), u); !errors.Is(err, executionlog.ErrLeaseLost) {
		t.Errorf("Update(owner %q) error = %v, want ErrLeaseLost", u.Owner, err)
	}
	if diff := cmp.Diff(before, mustGet(t, l, u.ID), entryOpts); diff != "" {
		t.Errorf("entry after a refused Update mismatch (-want +got):\n%s", diff)
	}
}

// failedAttempt returns attempt n that failed with a 500 status at now.
func failedAttempt(n int, now time.Time) *executionlog.Attempt {
	return &executionlog.Attempt{Number: n, StartedAt: now, StatusCode: 500, Error: "HTTP 500"}
}

func testUpdateWrongOwner(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	wantLeaseLost(t, l, executionlog.Update{ID: e.ID, Owner: "b", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusFailed, Now: at(time.Second)})
}

func testUpdateNotClaimed(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	wantLeaseLost(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusFailed, Now: at(time.Second)})
}

func testUpdateAfterTakeover(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	claimOne(t, l, e, "b", at(time.Minute)) // a's one-minute lease has ended

	wantLeaseLost(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusPending, NextAttemptAt: at(time.Hour), Now: at(61 * time.Second)})

	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "b", Attempt: failedAttempt(1, at(time.Minute)),
		Status: executionlog.StatusFailed, Now: at(62 * time.Second)})
	got := mustGet(t, l, e.ID)
	if got.Status != executionlog.StatusFailed || len(got.Attempts) != 1 {
		t.Errorf("after the new owner's Update: status %q with %d attempts, want %q with 1", got.Status, len(got.Attempts), executionlog.StatusFailed)
	}
}

func testUpdateAfterFinal(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusFailed, Now: at(time.Second)})
	wantLeaseLost(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(2, at(time.Second)),
		Status: executionlog.StatusSucceeded, Now: at(2 * time.Second)})
}

func testUpdateUnknown(t *testing.T, l executionlog.Log) {
	mustAdd(t, l, dueAt(0, 1))
	err := l.Update(context.Background(), executionlog.Update{ID: executionlog.NewID(at(0)), Owner: "a",
		Attempt: failedAttempt(1, at(0)), Status: executionlog.StatusFailed, Now: at(time.Second)})
	if !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Update(unknown id) error = %v, want ErrNotFound", err)
	}
}

func testUpdateNilAttempt(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	want := clone(e)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))

	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusPending,
		NextAttemptAt: at(time.Second), Now: at(time.Second)})
	want.NextAttemptAt = at(time.Second)
	want.UpdatedAt = at(time.Second)
	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
		t.Errorf("entry after a release mismatch (-want +got):\n%s", diff)
	}
	// Released, the entry is due again long before a's lease would have
	// ended, for any owner.
	claimOne(t, l, e, "b", at(time.Second))
}

func testUpdateNote(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	e.Note = "ignored by Add"
	want := clone(e)
	want.Note = ""
	mustAdd(t, l, e)
	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
		t.Errorf("entry after Add mismatch (-want +got):\n%s", diff)
	}

	// A release with a note (a paused destination) keeps the note ...
	claimOne(t, l, e, "a", at(0))
	note := "destination example.com:443 paused after 10 consecutive failures ✗"
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusPending,
		NextAttemptAt: at(time.Minute), Note: note, Now: at(time.Second)})
	if got := mustGet(t, l, e.ID).Note; got != note {
		t.Errorf("Note after an update with a note = %q, want %q", got, note)
	}
	// ... and the next update replaces it.
	claimOne(t, l, e, "a", at(time.Minute))
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(time.Minute)),
		Status: executionlog.StatusSucceeded, Now: at(2 * time.Minute)})
	if got := mustGet(t, l, e.ID).Note; got != "" {
		t.Errorf("Note after an update without a note = %q, want it cleared", got)
	}
}

func testUpdateNumbersAttempts(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	for i, n := range []int{5, 1} { // whatever the caller numbers
		now := at(time.Duration(i) * time.Minute)
		claimOne(t, l, e, "a", now)
		mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(n, now),
			Status: executionlog.StatusPending, NextAttemptAt: now.Add(time.Minute), Now: now})
	}
	want := []executionlog.Attempt{*failedAttempt(1, at(0)), *failedAttempt(2, at(time.Minute))}
	if diff := cmp.Diff(want, mustGet(t, l, e.ID).Attempts); diff != "" {
		t.Errorf("attempts mismatch (-want +got):\n%s", diff)
	}
}
