package executionlogtest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var changeKeyTests = []test{
	{"SameKeySkipped", testChangeKeySkipped},
	{"SkippedInBatch", testChangeKeyBatch},
	{"OtherTriggerOrActionStored", testChangeKeyOtherTarget},
	{"EmptyKeysNeverCollide", testChangeKeyEmpty},
	{"ConcurrentAddsStoreOne", testChangeKeyConcurrent},
	{"DuplicateOfClearedWhenStored", testChangeKeyClearsDuplicateOf},
	{"SkippedThenFailedBatchStoresNothing", testChangeKeyAllOrNothing},
	{"Validated", testChangeKeyValidated},
	{"IDAlreadyStored", testChangeKeyIDStored},
}

// keyed returns a pending entry created at at(d) for ticket with the
// change key key.
func keyed(d time.Duration, ticket int, key string) *executionlog.Entry {
	e := newEntry(at(d), ticket)
	e.ChangeKey = key
	return e
}

// checkDuplicates fails the test unless each entry's DuplicateOf is the
// wanted one, "" for an entry Add stored.
func checkDuplicates(t *testing.T, entries []*executionlog.Entry, want []string) {
	t.Helper()
	got := make([]string, len(entries))
	for i, e := range entries {
		got[i] = e.DuplicateOf
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DuplicateOf after Add mismatch (-want +got):\n%s", diff)
	}
}

// checkStored fails the test unless the log holds exactly the entries
// with the ids want, newest first.
func checkStored(t *testing.T, l executionlog.Log, want ...string) {
	t.Helper()
	page := mustQuery(t, l, executionlog.Filter{Limit: executionlog.MaxLimit})
	if diff := cmp.Diff(want, ids(page.Entries)); diff != "" {
		t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
	}
}

func testChangeKeySkipped(t *testing.T, l executionlog.Log) {
	first := keyed(0, 1, "chg-1001")
	want := clone(first)
	mustAdd(t, l, first)
	checkDuplicates(t, []*executionlog.Entry{first}, []string{""})

	// The change reported again: another id, another body, even recorded
	// as failed with an attempt. Nothing of it is stored.
	again := keyed(time.Minute, 1, "chg-1001")
	again.RequestBody = []byte(`{"Id":1,"Subject":"changed"}`)
	again.Status = executionlog.StatusFailed
	again.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(time.Minute), StatusCode: 500, Error: "HTTP 500 again"}}
	mustAdd(t, l, again)
	checkDuplicates(t, []*executionlog.Entry{again}, []string{first.ID})

	if diff := cmp.Diff(want, mustGet(t, l, first.ID), entryOpts); diff != "" {
		t.Errorf("stored entry after a skipped Add mismatch (-want +got):\n%s", diff)
	}
	if _, err := l.Get(context.Background(), executionlog.Scope{}, again.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(skipped entry) error = %v, want ErrNotFound", err)
	}
	checkStored(t, l, first.ID)
	if got := mustQuery(t, l, executionlog.Filter{ErrorText: "500 again"}).Entries; len(got) != 0 {
		t.Errorf("error search finds %v, the attempts of a skipped entry", ids(got))
	}
	// The stored entry is delivered once.
	claimOne(t, l, first, "a", at(time.Minute))
}

func testChangeKeyBatch(t *testing.T, l executionlog.Log) {
	first := keyed(0, 1, "chg-1")
	mustAdd(t, l, first)

	dup := keyed(time.Second, 1, "chg-1")
	fresh := keyed(2*time.Second, 2, "chg-2")
	twin := keyed(3*time.Second, 2, "chg-2") // the same key as fresh, in the same call
	plain := newEntry(at(4*time.Second), 3)
	batch := []*executionlog.Entry{dup, fresh, twin, plain}
	mustAdd(t, l, batch...)
	checkDuplicates(t, batch, []string{first.ID, "", fresh.ID, ""})
	checkStored(t, l, plain.ID, fresh.ID, first.ID)

	got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(time.Hour), Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{first.ID, fresh.ID, plain.ID}, ids(got)); diff != "" {
		t.Errorf("Claim mismatch (-want +got):\n%s", diff)
	}
}

func testChangeKeyOtherTarget(t *testing.T, l executionlog.Log) {
	first := keyed(0, 1, "chg-7")
	mustAdd(t, l, first)
	tests := []struct {
		name   string
		modify func(e *executionlog.Entry)
	}{
		{"OtherTrigger", func(e *executionlog.Entry) { e.TriggerID = "trg-other" }},
		{"OtherAction", func(e *executionlog.Entry) { e.ActionIndex = 0 }},
		{"OtherKey", func(e *executionlog.Entry) { e.ChangeKey = "chg-8" }},
		{"KeyDiffersInCase", func(e *executionlog.Entry) { e.ChangeKey = "CHG-7" }},
		{"KeyWithTrailingSpace", func(e *executionlog.Entry) { e.ChangeKey = "chg-7 " }},
	}
	want := []string{first.ID}
	for i, tc := range tests {
		e := keyed(time.Duration(i+1)*time.Second, 1, "chg-7")
		tc.modify(e)
		w := clone(e)
		mustAdd(t, l, e)
		if e.DuplicateOf != "" {
			t.Errorf("%s: DuplicateOf = %q, want the entry stored", tc.name, e.DuplicateOf)
		}
		if diff := cmp.Diff(w, mustGet(t, l, e.ID), entryOpts); diff != "" {
			t.Errorf("%s: Get mismatch (-want +got):\n%s", tc.name, diff)
		}
		want = append([]string{e.ID}, want...)
	}
	checkStored(t, l, want...)
}

func testChangeKeyEmpty(t *testing.T, l executionlog.Log) {
	a, b := newEntry(at(0), 1), newEntry(at(time.Second), 1)
	mustAdd(t, l, a, b)
	c := newEntry(at(2*time.Second), 1)
	mustAdd(t, l, c)
	checkDuplicates(t, []*executionlog.Entry{a, b, c}, []string{"", "", ""})
	checkStored(t, l, c.ID, b.ID, a.ID)
}

func testChangeKeyConcurrent(t *testing.T, l executionlog.Log) {
	const adds = 8
	entries := make([]*executionlog.Entry, adds)
	for i := range entries {
		entries[i] = keyed(time.Duration(i)*time.Second, 1, "chg-race")
	}
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Go(func() {
			if err := l.Add(context.Background(), []*executionlog.Entry{e}); err != nil {
				t.Errorf("Add(%s): %v", e.ID, err)
			}
		})
	}
	wg.Wait()

	page := mustQuery(t, l, executionlog.Filter{})
	if len(page.Entries) != 1 {
		t.Fatalf("concurrent Adds of one key stored %v, want one entry", ids(page.Entries))
	}
	stored := page.Entries[0].ID
	want := make([]string, adds)
	for i, e := range entries {
		if e.ID != stored {
			want[i] = stored
		}
	}
	checkDuplicates(t, entries, want)
}

func testChangeKeyClearsDuplicateOf(t *testing.T, l executionlog.Log) {
	e := keyed(0, 1, "chg-1")
	e.DuplicateOf = "set by the caller"
	mustAdd(t, l, e)
	if e.DuplicateOf != "" {
		t.Errorf("DuplicateOf of a stored entry = %q, want it cleared", e.DuplicateOf)
	}
	if got := mustGet(t, l, e.ID); got.DuplicateOf != "" || got.ChangeKey != "chg-1" {
		t.Errorf("Get: DuplicateOf %q, ChangeKey %q; want \"\" and %q", got.DuplicateOf, got.ChangeKey, "chg-1")
	}
}

func testChangeKeyAllOrNothing(t *testing.T, l executionlog.Log) {
	first := keyed(0, 1, "chg-1")
	mustAdd(t, l, first)
	dup := keyed(time.Second, 1, "chg-1")
	fresh := keyed(2*time.Second, 2, "chg-2")
	bad := newEntry(at(3*time.Second), 3)
	bad.Status = "delivered"
	if err := l.Add(context.Background(), []*executionlog.Entry{dup, fresh, bad}); err == nil {
		t.Fatal("Add(batch with an invalid entry) succeeded, want an error")
	}
	checkStored(t, l, first.ID)
	// The key of the entry that was not stored is free.
	again := keyed(4*time.Second, 2, "chg-2")
	mustAdd(t, l, again)
	checkDuplicates(t, []*executionlog.Entry{again}, []string{""})
}

func testChangeKeyValidated(t *testing.T, l executionlog.Log) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"Longest", strings.Repeat("ü", executionlog.MaxChangeKeyBytes/2), true},
		{"Unicode", "evt_01J✓ Ω\t\"'%_\\", true},
		{"TooLong", strings.Repeat("k", executionlog.MaxChangeKeyBytes+1), false},
		{"InvalidUTF8", "chg-\xff\xfe", false},
		{"NUL", "chg-\x00-1", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := keyed(time.Duration(i)*time.Second, i+1, tc.key)
			w := clone(e)
			err := l.Add(context.Background(), []*executionlog.Entry{e})
			if !tc.ok {
				if !errors.Is(err, executionlog.ErrInvalidChangeKey) {
					t.Errorf("Add(key %q) error = %v, want ErrInvalidChangeKey", tc.key, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Add(key %q): %v", tc.key, err)
			}
			if diff := cmp.Diff(w, mustGet(t, l, e.ID), entryOpts); diff != "" {
				t.Errorf("Get mismatch (-want +got):\n%s", diff)
			}
			again := keyed(time.Hour, i+1, tc.key)
			mustAdd(t, l, again)
			checkDuplicates(t, []*executionlog.Entry{again}, []string{e.ID})
		})
	}
}

func testChangeKeyIDStored(t *testing.T, l executionlog.Log) {
	stored := keyed(0, 1, "chg-1")
	want := clone(stored)
	mustAdd(t, l, stored)
	tests := []struct {
		name string
		key  string
	}{
		{"SameKey", "chg-1"}, // the same entry added again
		{"OtherKey", "chg-2"},
		{"NoKey", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := keyed(time.Duration(i+1)*time.Second, 1, tc.key)
			e.ID = stored.ID
			fresh := keyed(time.Hour, 2, "chg-3")
			if err := l.Add(context.Background(), []*executionlog.Entry{fresh, e}); err == nil {
				t.Errorf("Add(entry with a stored id and key %q) succeeded, want an error", tc.key)
			}
		})
	}
	if diff := cmp.Diff(want, mustGet(t, l, stored.ID), entryOpts); diff != "" {
		t.Errorf("stored entry after refused Adds mismatch (-want +got):\n%s", diff)
	}
	checkStored(t, l, stored.ID)
}
