package executionlogtest

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var queryTests = []test{
	{"Filters", testQueryFilters},
	{"MatchesGet", testQueryMatchesGet},
	{"TiesBrokenByID", testQueryTies},
	{"Paging", testQueryPaging},
	{"PagingFiltered", testQueryPagingFiltered},
	{"PagingExactMultiple", testQueryPagingExact},
	{"InvalidFilter", testQueryInvalidFilter},
}

// planned describes an entry of the query data set: when it was created,
// its ticket and trigger, the errors of its attempts ("" for a success) and
// the state it ends in.
type planned struct {
	minute  int
	ticket  int
	trigger string
	errors  []string
	status  executionlog.Status
}

// dataset is the query data set. Entry i is created at base+i minutes.
var dataset = []planned{
	{0, 100, "trg-a", []string{""}, executionlog.StatusSucceeded},
	{1, 100, "trg-b", []string{"Connection refused", "HTTP 503 Service Unavailable", "HTTP 503 Service Unavailable"}, executionlog.StatusFailed},
	{2, 200, "trg-a", []string{"timeout after 10s"}, executionlog.StatusPending},
	{3, 200, "trg-b", []string{"HTTP 500 Internal Server Error", ""}, executionlog.StatusSucceeded},
	{4, 300, "trg-a", nil, executionlog.StatusPending},
	{5, 100, "trg-a", []string{"quota 100% used"}, executionlog.StatusFailed},
	{6, 300, "trg-c", []string{"HTTP 410 Gone", "rate limit 1000 reached"}, executionlog.StatusFailed},
}

// addDataset adds the query data set to l and drives each entry through its
// attempts to its state. It returns the entries' ids in data set order.
func addDataset(t *testing.T, l executionlog.Log) []string {
	t.Helper()
	return addDatasetOf(t, l, "")
}

// addDatasetOf adds the query data set to l as the entries of tenant, as
// addDataset does. The log must hold no other entries due within the
// first hours after base.
func addDatasetOf(t *testing.T, l executionlog.Log, tenant string) []string {
	t.Helper()
	entries := make([]*executionlog.Entry, len(dataset))
	plan := make(map[string]planned, len(dataset))
	for i, p := range dataset {
		e := newEntry(at(time.Duration(p.minute)*time.Minute), p.ticket)
		e.Tenant = tenant
		e.TriggerID = p.trigger
		e.NextAttemptAt = at(time.Hour)
		if len(p.errors) == 0 {
			e.NextAttemptAt = at(1000 * time.Hour) // never claimed here
		}
		entries[i] = e
		plan[e.ID] = p
	}
	mustAdd(t, l, entries...)

	// Each round claims every due entry and records its next attempt.
	done := make(map[string]int)
	for round := 1; ; round++ {
		now := at(time.Duration(round) * time.Hour)
		claimed := mustClaim(t, l, executionlog.Claim{Owner: "setup", Now: now, Lease: time.Minute, Limit: 100})
		if len(claimed) == 0 {
			break
		}
		for _, e := range claimed {
			p := plan[e.ID]
			n := done[e.ID]
			done[e.ID] = n + 1
			a := executionlog.Attempt{Number: n + 1, StartedAt: now, Duration: time.Second, StatusCode: 200, Error: p.errors[n]}
			if a.Error != "" {
				a.StatusCode = 0
			}
			u := executionlog.Update{ID: e.ID, Owner: "setup", Attempt: &a, Status: executionlog.StatusPending,
				NextAttemptAt: now.Add(time.Hour), Now: now.Add(time.Second)}
			if n+1 == len(p.errors) {
				u.Status = p.status
				if p.status == executionlog.StatusPending {
					u.NextAttemptAt = at(1000 * time.Hour)
				}
			}
			mustUpdate(t, l, u)
		}
	}

	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// pickIDs returns the ids at the given indexes of ids, a data set's.
func pickIDs(ids []string, idx ...int) []string {
	out := []string{}
	for _, i := range idx {
		out = append(out, ids[i])
	}
	return out
}

func testQueryFilters(t *testing.T, l executionlog.Log) {
	id := addDataset(t, l)
	pick := func(idx ...int) []string { return pickIDs(id, idx...) }
	minute := func(m int) time.Time { return at(time.Duration(m) * time.Minute) }

	tests := []struct {
		name   string
		filter executionlog.Filter
		want   []string
	}{
		{"All", executionlog.Filter{}, pick(6, 5, 4, 3, 2, 1, 0)},
		{"FromInclusive", executionlog.Filter{From: minute(2)}, pick(6, 5, 4, 3, 2)},
		{"FromBetween", executionlog.Filter{From: minute(2).Add(time.Microsecond)}, pick(6, 5, 4, 3)},
		{"ToExclusive", executionlog.Filter{To: minute(2)}, pick(1, 0)},
		{"ToJustAfter", executionlog.Filter{To: minute(2).Add(time.Microsecond)}, pick(2, 1, 0)},
		{"FromTo", executionlog.Filter{From: minute(1), To: minute(4)}, pick(3, 2, 1)},
		{"FromEqualsTo", executionlog.Filter{From: minute(3), To: minute(3)}, pick()},
		{"FromAfterAll", executionlog.Filter{From: minute(7)}, pick()},
		{"TicketID", executionlog.Filter{TicketID: 100}, pick(5, 1, 0)},
		{"TriggerID", executionlog.Filter{TriggerID: "trg-a"}, pick(5, 4, 2, 0)},
		{"StatusPending", executionlog.Filter{Status: executionlog.StatusPending}, pick(4, 2)},
		{"StatusSucceeded", executionlog.Filter{Status: executionlog.StatusSucceeded}, pick(3, 0)},
		{"StatusFailed", executionlog.Filter{Status: executionlog.StatusFailed}, pick(6, 5, 1)},
		{"ErrorTextLowerCase", executionlog.Filter{ErrorText: "http 503"}, pick(1)},
		{"ErrorTextUpperCase", executionlog.Filter{ErrorText: "SERVICE UNAVAILABLE"}, pick(1)},
		{"ErrorTextEarlierAttempt", executionlog.Filter{ErrorText: "connection REFUSED"}, pick(1)},
		{"ErrorTextAnyAttempt", executionlog.Filter{ErrorText: "http 5"}, pick(3, 1)},
		{"ErrorTextPendingEntry", executionlog.Filter{ErrorText: "timeout"}, pick(2)},
		{"ErrorTextPercentIsLiteral", executionlog.Filter{ErrorText: "100%"}, pick(5)},
		{"ErrorTextUnderscoreIsLiteral", executionlog.Filter{ErrorText: "p_4"}, pick()},
		{"ErrorTextBackslash", executionlog.Filter{ErrorText: `\`}, pick()},
		{"TicketAndStatus", executionlog.Filter{TicketID: 100, Status: executionlog.StatusFailed}, pick(5, 1)},
		{"TicketTriggerErrorText", executionlog.Filter{TicketID: 200, TriggerID: "trg-b", ErrorText: "http"}, pick(3)},
		{"FromTriggerStatus", executionlog.Filter{From: minute(1), TriggerID: "trg-a", Status: executionlog.StatusFailed}, pick(5)},
		{"Everything", executionlog.Filter{From: minute(0), To: minute(7), TicketID: 300, TriggerID: "trg-c",
			Status: executionlog.StatusFailed, ErrorText: "GONE"}, pick(6)},
		{"NoMatchTicket", executionlog.Filter{TicketID: 999}, pick()},
		{"NoMatchTrigger", executionlog.Filter{TriggerID: "trg-none"}, pick()},
		{"NoMatchErrorText", executionlog.Filter{ErrorText: "certificate"}, pick()},
		{"NoMatchCombined", executionlog.Filter{TicketID: 300, Status: executionlog.StatusSucceeded}, pick()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := mustQuery(t, l, tc.filter)
			if diff := cmp.Diff(tc.want, ids(page.Entries), entryOpts); diff != "" {
				t.Errorf("Query(%+v) ids mismatch (-want +got):\n%s", tc.filter, diff)
			}
			if page.Next != "" {
				t.Errorf("Query(%+v) Next = %q, want empty", tc.filter, page.Next)
			}
		})
	}
}

func testQueryMatchesGet(t *testing.T, l executionlog.Log) {
	addDataset(t, l)
	page := mustQuery(t, l, executionlog.Filter{})
	if len(page.Entries) != len(dataset) {
		t.Fatalf("Query returned %d entries, want %d", len(page.Entries), len(dataset))
	}
	for _, e := range page.Entries {
		if diff := cmp.Diff(mustGet(t, l, e.ID), e, entryOpts); diff != "" {
			t.Errorf("Query entry %s mismatch with Get (-want +got):\n%s", e.ID, diff)
		}
	}
}

// shuffled returns a copy of entries in random order.
func shuffled(entries []*executionlog.Entry) []*executionlog.Entry {
	out := append([]*executionlog.Entry(nil), entries...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// newestFirst returns the ids of entries in the order Query returns them:
// by CreatedAt and then ID, both descending.
func newestFirst(entries []*executionlog.Entry) []string {
	sorted := append([]*executionlog.Entry(nil), entries...)
	slices.SortFunc(sorted, func(a, b *executionlog.Entry) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	out := make([]string, len(sorted))
	for i, e := range sorted {
		out[i] = e.ID
	}
	return out
}

func testQueryTies(t *testing.T, l executionlog.Log) {
	// Five entries share a CreatedAt; one is older and one newer.
	entries := []*executionlog.Entry{newEntry(at(-time.Microsecond), 1)}
	for i := range 5 {
		entries = append(entries, newEntry(at(0), 10+i))
	}
	entries = append(entries, newEntry(at(time.Microsecond), 2))
	mustAdd(t, l, shuffled(entries)...)

	want := newestFirst(entries)
	page := mustQuery(t, l, executionlog.Filter{})
	if diff := cmp.Diff(want, ids(page.Entries)); diff != "" {
		t.Errorf("Query order mismatch (-want +got):\n%s", diff)
	}
	got := queryAll(t, l, executionlog.Filter{Limit: 2})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged Query order mismatch (-want +got):\n%s", diff)
	}
}

// queryAll pages through every entry matching f and returns their ids. It
// checks that only the last page is short and that only it has no Next.
func queryAll(t *testing.T, l executionlog.Log, f executionlog.Filter) []string {
	t.Helper()
	var out []string
	for range 1000 {
		page := mustQuery(t, l, f)
		out = append(out, ids(page.Entries)...)
		if page.Next == "" {
			return out
		}
		if len(page.Entries) != f.Limit {
			t.Fatalf("page with a Next holds %d entries, want the limit %d", len(page.Entries), f.Limit)
		}
		f.Cursor = page.Next
	}
	t.Fatal("paging did not end")
	return nil
}

// spread returns n entries created three to a second, so that pages end
// inside runs of equal CreatedAt, with tickets 1 and 2 alternating.
func spread(n int) []*executionlog.Entry {
	var out []*executionlog.Entry
	for i := range n {
		out = append(out, newEntry(at(time.Duration(i/3)*time.Second), 1+i%2))
	}
	return out
}

func testQueryPaging(t *testing.T, l executionlog.Log) {
	entries := spread(25)
	mustAdd(t, l, shuffled(entries)...)
	want := newestFirst(entries)

	var got []string
	f := executionlog.Filter{Limit: 10}
	for i, size := range []int{10, 10, 5} {
		page := mustQuery(t, l, f)
		if len(page.Entries) != size {
			t.Fatalf("page %d holds %d entries, want %d", i+1, len(page.Entries), size)
		}
		if last := i == 2; last != (page.Next == "") {
			t.Fatalf("page %d: Next = %q, want it empty only on the last page", i+1, page.Next)
		}
		got = append(got, ids(page.Entries)...)
		f.Cursor = page.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged ids mismatch (-want +got):\n%s", diff)
	}
}

func testQueryPagingFiltered(t *testing.T, l executionlog.Log) {
	entries := spread(25)
	mustAdd(t, l, entries...)
	var matching []*executionlog.Entry
	for _, e := range entries {
		if e.TicketID == 1 && !e.CreatedAt.Before(at(time.Second)) {
			matching = append(matching, e)
		}
	}
	want := newestFirst(matching)
	got := queryAll(t, l, executionlog.Filter{TicketID: 1, From: at(time.Second), Limit: 4})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged filtered ids mismatch (-want +got):\n%s", diff)
	}
}

func testQueryPagingExact(t *testing.T, l executionlog.Log) {
	entries := spread(20)
	mustAdd(t, l, entries...)
	first := mustQuery(t, l, executionlog.Filter{Limit: 10})
	if len(first.Entries) != 10 || first.Next == "" {
		t.Fatalf("first page: %d entries, Next %q; want 10 and a cursor", len(first.Entries), first.Next)
	}
	second := mustQuery(t, l, executionlog.Filter{Limit: 10, Cursor: first.Next})
	if len(second.Entries) != 10 || second.Next != "" {
		t.Errorf("second page: %d entries, Next %q; want 10 and no cursor", len(second.Entries), second.Next)
	}
	if diff := cmp.Diff(newestFirst(entries), append(ids(first.Entries), ids(second.Entries)...)); diff != "" {
		t.Errorf("paged ids mismatch (-want +got):\n%s", diff)
	}
}

func testQueryInvalidFilter(t *testing.T, l executionlog.Log) {
	mustAdd(t, l, newEntry(at(0), 1))
	long := strings.Repeat("x", 257)
	tests := []struct {
		name   string
		filter executionlog.Filter
	}{
		{"NegativeLimit", executionlog.Filter{Limit: -1}},
		{"LimitAboveMax", executionlog.Filter{Limit: executionlog.MaxLimit + 1}},
		{"UnknownStatus", executionlog.Filter{Status: "bogus"}},
		{"ToBeforeFrom", executionlog.Filter{From: at(time.Second), To: at(0)}},
		{"NegativeTicketID", executionlog.Filter{TicketID: -1}},
		{"LongErrorText", executionlog.Filter{ErrorText: long}},
		{"LongTriggerID", executionlog.Filter{TriggerID: long}},
		{"GarbageCursor", executionlog.Filter{Cursor: "not a cursor!"}},
		{"Base64GarbageCursor", executionlog.Filter{Cursor: base64.RawURLEncoding.EncodeToString([]byte("garbage"))}},
		{"TruncatedCursor", executionlog.Filter{Cursor: executionlog.EncodeCursor(at(0), "01ABC")[:8]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Query(context.Background(), tc.filter)
			if !errors.Is(err, executionlog.ErrInvalidFilter) {
				t.Errorf("Query(%+v) error = %v, want ErrInvalidFilter", tc.filter, err)
			}
		})
	}
	if page := mustQuery(t, l, executionlog.Filter{Limit: executionlog.MaxLimit}); len(page.Entries) != 1 {
		t.Errorf("Query(Limit: MaxLimit) returned %d entries, want 1", len(page.Entries))
	}
}
