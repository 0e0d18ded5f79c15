package executionlogtest

import (
	"context"
	"errors"
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
}

func testAddRoundTrip(t *testing.T, l executionlog.Log) {
	full := newEntry(at(0), 4242)
	full.NextAttemptAt = at(90 * time.Second)
	full.UpdatedAt = at(time.Second)
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
	_, err := l.Get(context.Background(), executionlog.NewID(at(0)))
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
		if _, err := l.Get(context.Background(), id); !errors.Is(err, executionlog.ErrNotFound) {
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
		{"Succeeded", func(e *executionlog.Entry) { e.Status = executionlog.StatusSucceeded }},
		{"Failed", func(e *executionlog.Entry) { e.Status = executionlog.StatusFailed }},
		{"NoStatus", func(e *executionlog.Entry) { e.Status = "" }},
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
