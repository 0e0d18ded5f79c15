package executionlogtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var addTests = []test{
	{"RoundTrip", testAddRoundTrip},
	{"LocalTimesReturnedInUTC", testAddLocalTimes},
	{"GetUnknown", testGetUnknown},
	{"AllOrNothing", testAddAllOrNothing},
	{"DuplicateOfExisting", testAddDuplicateOfExisting},
	{"RejectsInvalid", testAddRejectsInvalid},
	{"EmptyBatch", testAddEmptyBatch},
	{"ReturnedCopies", testReturnedCopies},
	{"FinalWithAttempts", testAddFinalWithAttempts},
	{"PendingWithAttempts", testAddPendingWithAttempts},
	{"MixedBatchAllOrNothing", testAddMixedAllOrNothing},
	{"NumbersAttempts", testAddNumbersAttempts},
}

func testAddRoundTrip(t *testing.T, l executionlog.Log) {
	full := newEntry(at(0), 4242)
	full.NextAttemptAt = at(90 * time.Second)
	full.UpdatedAt = at(time.Second)
	full.Test = true
	full.ChangeKey = "evt_2026-03-14T15:09:26Z#42 ✓"
	bare := newEntry(at(time.Minute), 7)
	bare.TriggerName = ""
	bare.ActionIndex = 0
	bare.Event = "created"
	bare.RequestHeaders = nil
	bare.RequestBody = nil
	want := []executionlog.Entry{clone(full), clone(bare)}

	mustAdd(t, l, full, bare)

	for _, w := range want {
		got := mustGet(t, l, w.ID)
		if diff := cmp.Diff(w, got, entryOpts); diff != "" {
			t.Errorf("Get(%q) mismatch (-want +got):\n%s", w.ID, diff)
		}
	}
}

func testAddLocalTimes(t *testing.T, l executionlog.Log) {
	zone := time.FixedZone("BRT", -3*60*60)
	e := newEntry(at(0), 1)
	e.CreatedAt = e.CreatedAt.In(zone)
	e.UpdatedAt = e.UpdatedAt.In(zone)
	e.NextAttemptAt = e.NextAttemptAt.In(zone)
	mustAdd(t, l, e)

	got := mustGet(t, l, e.ID) // mustGet checks that every time is in UTC.
	if !got.CreatedAt.Equal(at(0)) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, at(0))
	}
}

func testGetUnknown(t *testing.T, l executionlog.Log) {
	mustAdd(t, l, newEntry(at(0), 1))
	_, err := l.Get(context.Background(), executionlog.Scope{}, executionlog.NewID(at(0)))
	if !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

func testAddAllOrNothing(t *testing.T, l executionlog.Log) {
	existing := newEntry(at(0), 1)
	mustAdd(t, l, existing)

	a, b := newEntry(at(time.Second), 2), newEntry(at(2*time.Second), 3)
	dup := newEntry(at(3*time.Second), 4)
	dup.ID = a.ID
	if err := l.Add(context.Background(), []*executionlog.Entry{a, b, dup}); err == nil {
		t.Fatal("Add(batch with a duplicate id) succeeded, want an error")
	}
	c := newEntry(at(4*time.Second), 5)
	clash := newEntry(at(5*time.Second), 6)
	clash.ID = existing.ID
	if err := l.Add(context.Background(), []*executionlog.Entry{c, clash}); err == nil {
		t.Fatal("Add(batch with the id of an existing entry) succeeded, want an error")
	}

	for _, id := range []string{a.ID, b.ID, c.ID} {
		if _, err := l.Get(context.Background(), executionlog.Scope{}, id); !errors.Is(err, executionlog.ErrNotFound) {
			t.Errorf("Get(%q) after a failed Add: error = %v, want ErrNotFound", id, err)
		}
	}
	page := mustQuery(t, l, executionlog.Filter{})
	if diff := cmp.Diff([]string{existing.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("entries after failed Adds mismatch (-want +got):\n%s", diff)
	}
}

func testAddDuplicateOfExisting(t *testing.T, l executionlog.Log) {
	orig := newEntry(at(0), 1)
	want := clone(orig)
	mustAdd(t, l, orig)

	again := newEntry(at(time.Hour), 2)
	again.ID = orig.ID
	if err := l.Add(context.Background(), []*executionlog.Entry{again}); err == nil {
		t.Fatal("Add(existing id) succeeded, want an error")
	}
	got := mustGet(t, l, orig.ID)
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("entry after a duplicate Add mismatch (-want +got):\n%s", diff)
	}
}

func testAddRejectsInvalid(t *testing.T, l executionlog.Log) {
	tests := []struct {
		name   string
		modify func(e *executionlog.Entry)
	}{
		{"NoID", func(e *executionlog.Entry) { e.ID = "" }},
		{"NoCreatedAt", func(e *executionlog.Entry) { e.CreatedAt = time.Time{} }},
		{"NoStatus", func(e *executionlog.Entry) { e.Status = "" }},
		{"UnknownStatus", func(e *executionlog.Entry) { e.Status = "delivered" }},
		{"NegativeSeriesStart", func(e *executionlog.Entry) { e.SeriesStart = -1 }},
		{"SeriesStartBeyondAttempts", func(e *executionlog.Entry) {
			e.Status = executionlog.StatusFailed
			e.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(0), StatusCode: 500, Error: "HTTP 500"}}
			e.SeriesStart = 2
		}},
		{"ChangeKeyTooLong", func(e *executionlog.Entry) { e.ChangeKey = strings.Repeat("k", executionlog.MaxChangeKeyBytes+1) }},
		{"ChangeKeyInvalidUTF8", func(e *executionlog.Entry) { e.ChangeKey = "\xc3" }},
		{"ChangeKeyNUL", func(e *executionlog.Entry) { e.ChangeKey = "\x00" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEntry(at(0), 1)
			tc.modify(e)
			if err := l.Add(context.Background(), []*executionlog.Entry{e}); err == nil {
				t.Errorf("Add succeeded, want an error")
			}
		})
	}
	if got := mustQuery(t, l, executionlog.Filter{}).Entries; len(got) != 0 {
		t.Errorf("log holds %d entries after invalid Adds, want 0", len(got))
	}
}

func testAddEmptyBatch(t *testing.T, l executionlog.Log) {
	if err := l.Add(context.Background(), nil); err != nil {
		t.Errorf("Add(nil) error = %v, want nil", err)
	}
}

func testReturnedCopies(t *testing.T, l executionlog.Log) {
	e := newEntry(at(0), 1)
	want := clone(e)
	mustAdd(t, l, e)
	// Changing what was added must not change the log.
	e.RequestHeaders["X-Account"] = "changed"
	e.RequestBody[0] = 'X'
	e.TicketID = 99

	mutate := func(e *executionlog.Entry) {
		if e.RequestHeaders != nil {
			e.RequestHeaders["X-Account"] = "changed"
		}
		if len(e.RequestBody) > 0 {
			e.RequestBody[0] = 'X'
		}
		if len(e.Attempts) > 0 {
			e.Attempts[0].Error = "changed"
		}
	}
	got := mustGet(t, l, want.ID)
	mutate(&got)
	claimed := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 1})
	for i := range claimed {
		mutate(&claimed[i])
	}
	attempt := executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 500, Error: "HTTP 500"}
	mustUpdate(t, l, executionlog.Update{ID: want.ID, Owner: "a", Attempt: &attempt,
		Status: executionlog.StatusPending, NextAttemptAt: at(time.Minute), Now: at(time.Second)})
	attempt.Error = "changed"
	page := mustQuery(t, l, executionlog.Filter{})
	for i := range page.Entries {
		mutate(&page.Entries[i])
	}

	want.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(0), StatusCode: 500, Error: "HTTP 500"}}
	want.NextAttemptAt = at(time.Minute)
	want.UpdatedAt = at(time.Second)
	if diff := cmp.Diff(want, mustGet(t, l, want.ID), entryOpts); diff != "" {
		t.Errorf("entry after changing returned values mismatch (-want +got):\n%s", diff)
	}
}

// sentAttempts are the attempts of an entry recorded after a send made
// outside the queue.
func sentAttempts() []executionlog.Attempt {
	return []executionlog.Attempt{
		{Number: 1, StartedAt: at(0), Duration: 1500 * time.Millisecond,
			Error: "dial tcp 203.0.113.7:443: connect: Connection Refused"},
		{Number: 2, StartedAt: at(time.Minute), Duration: 25 * time.Millisecond, StatusCode: 422,
			Error: "receiver answered 422 Unprocessable Entity", ResponseBody: `{"error":"campo inválido ✗"}`, ResponseTruncated: true},
	}
}

func testAddFinalWithAttempts(t *testing.T, l executionlog.Log) {
	failed := newEntry(at(0), 31)
	failed.TriggerID = ""
	failed.Test = true
	failed.Status = executionlog.StatusFailed
	failed.Attempts = sentAttempts()
	failed.SeriesStart = 1
	failed.NextAttemptAt = at(time.Hour) // ignored for a final entry
	failed.Note = "ignored by Add"
	failed.UpdatedAt = at(2 * time.Minute)
	ok := newEntry(at(time.Second), 32)
	ok.Status = executionlog.StatusSucceeded
	ok.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(time.Second), Duration: 40 * time.Millisecond,
		StatusCode: 204}}
	wantFailed, wantOK := clone(failed), clone(ok)
	wantFailed.NextAttemptAt, wantFailed.Note = time.Time{}, ""
	wantOK.NextAttemptAt = time.Time{}

	mustAdd(t, l, failed, ok)

	for _, w := range []executionlog.Entry{wantFailed, wantOK} {
		if diff := cmp.Diff(w, mustGet(t, l, w.ID), entryOpts); diff != "" {
			t.Errorf("Get(%q) mismatch (-want +got):\n%s", w.ID, diff)
		}
	}
	// Their errors are searchable like those of delivered entries.
	for _, text := range []string{"connection refused", "UNPROCESSABLE", "422"} {
		page := mustQuery(t, l, executionlog.Filter{ErrorText: text})
		if diff := cmp.Diff([]string{failed.ID}, ids(page.Entries)); diff != "" {
			t.Errorf("Query(ErrorText %q) mismatch (-want +got):\n%s", text, diff)
		}
	}
	page := mustQuery(t, l, executionlog.Filter{Status: executionlog.StatusSucceeded})
	if diff := cmp.Diff([]string{ok.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("Query(succeeded) mismatch (-want +got):\n%s", diff)
	}
	// Final entries never join the queue.
	for _, now := range []time.Time{at(0), at(time.Hour), at(24 * time.Hour)} {
		if got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: now, Lease: time.Minute, Limit: 10}); len(got) != 0 {
			t.Errorf("Claim at %v returned entries added final: %v", now, ids(got))
		}
	}
}

func testAddPendingWithAttempts(t *testing.T, l executionlog.Log) {
	e := newEntry(at(0), 33)
	e.Attempts = sentAttempts()
	e.SeriesStart = 2
	e.NextAttemptAt = at(time.Minute)
	want := clone(e)
	mustAdd(t, l, e)

	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	claimOne(t, l, e, "a", at(time.Minute))
	next := executionlog.Attempt{Number: 3, StartedAt: at(time.Minute), StatusCode: 200}
	mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: &next,
		Status: executionlog.StatusSucceeded, Now: at(2 * time.Minute)})
	got := mustGet(t, l, e.ID)
	if diff := cmp.Diff(append(sentAttempts(), next), got.Attempts, entryOpts); diff != "" {
		t.Errorf("attempts after an update mismatch (-want +got):\n%s", diff)
	}
	if got.SeriesStart != 2 {
		t.Errorf("SeriesStart after an update = %d, want 2", got.SeriesStart)
	}
}

func testAddMixedAllOrNothing(t *testing.T, l executionlog.Log) {
	p := newEntry(at(0), 1)
	f := newEntry(at(time.Second), 2)
	f.Status = executionlog.StatusFailed
	f.Attempts = sentAttempts()
	bad := newEntry(at(2*time.Second), 3)
	bad.Status = executionlog.StatusSucceeded
	bad.SeriesStart = 1 // no attempts
	if err := l.Add(context.Background(), []*executionlog.Entry{p, f, bad}); err == nil {
		t.Fatal("Add(batch with an invalid final entry) succeeded, want an error")
	}
	if got := mustQuery(t, l, executionlog.Filter{}).Entries; len(got) != 0 {
		t.Errorf("log holds %v after a failed Add, want nothing", ids(got))
	}
	if got := mustQuery(t, l, executionlog.Filter{ErrorText: "refused"}).Entries; len(got) != 0 {
		t.Errorf("error search finds %v after a failed Add, want nothing", ids(got))
	}

	mustAdd(t, l, p, f)
	page := mustQuery(t, l, executionlog.Filter{})
	if diff := cmp.Diff([]string{f.ID, p.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("entries after Add mismatch (-want +got):\n%s", diff)
	}
	claimOne(t, l, p, "a", at(0))
}

func testAddNumbersAttempts(t *testing.T, l executionlog.Log) {
	e := newEntry(at(0), 1)
	e.Status = executionlog.StatusFailed
	e.Attempts = sentAttempts()
	e.Attempts[0].Number, e.Attempts[1].Number = 7, 7
	mustAdd(t, l, e)
	got := mustGet(t, l, e.ID)
	var numbers []int
	for _, a := range got.Attempts {
		numbers = append(numbers, a.Number)
	}
	if diff := cmp.Diff([]int{1, 2}, numbers); diff != "" {
		t.Errorf("attempt numbers mismatch (-want +got):\n%s", diff)
	}
}
