package sqllog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks/executionlog"
)

// base is the time the tests' entries are created around.
var base = time.Date(2026, time.March, 14, 15, 9, 26, 535897000, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// newEntry returns a pending entry created at createdAt, due then.
func newEntry(createdAt time.Time, ticketID int) *executionlog.Entry {
	return &executionlog.Entry{
		ID:             executionlog.NewID(createdAt),
		TriggerID:      "trg-1",
		TriggerName:    "Notify ERP",
		TicketID:       ticketID,
		Event:          "updated",
		URL:            "https://erp.example.com/hooks",
		RequestHeaders: map[string]string{"Content-Type": "application/json"},
		RequestBody:    fmt.Appendf(nil, `{"Id":%d}`, ticketID),
		Status:         executionlog.StatusPending,
		NextAttemptAt:  createdAt,
		CreatedAt:      createdAt,
		UpdatedAt:      createdAt,
	}
}

// entryOpts compares entries: nil and empty maps and slices are equal.
var entryOpts = cmpopts.EquateEmpty()

// finish claims the entries and records one attempt on each, with the
// given error text and status, as owner "setup" at now. Other entries due
// at the same time are claimed too, and released unchanged.
func finish(t *testing.T, l executionlog.Log, now time.Time, status executionlog.Status, errText string, entries ...*executionlog.Entry) {
	t.Helper()
	ctx := context.Background()
	for _, e := range entries {
		got, err := l.Claim(ctx, executionlog.Claim{Owner: "setup", Now: e.NextAttemptAt, Lease: time.Minute, Limit: executionlog.MaxLimit})
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		found := false
		for _, c := range got {
			if c.ID != e.ID {
				if err := l.Update(ctx, executionlog.Update{ID: c.ID, Owner: "setup", Status: c.Status,
					NextAttemptAt: c.NextAttemptAt, Now: c.UpdatedAt}); err != nil {
					t.Fatalf("Update(release %s): %v", c.ID, err)
				}
				continue
			}
			found = true
			a := &executionlog.Attempt{Number: len(c.Attempts) + 1, StartedAt: now, StatusCode: 500, Error: errText}
			next := now.Add(time.Hour)
			if err := l.Update(ctx, executionlog.Update{ID: e.ID, Owner: "setup", Attempt: a, Status: status,
				NextAttemptAt: next, Now: now}); err != nil {
				t.Fatalf("Update(%s): %v", e.ID, err)
			}
			e.NextAttemptAt = next
		}
		if !found {
			t.Fatalf("Claim at %v = %v, want it to hold %s", e.NextAttemptAt, ids(got), e.ID)
		}
	}
}

// ids returns the ids of entries, in order.
func ids(entries []executionlog.Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}

// queryAll pages through every entry matching f and returns their ids.
func queryAll(t *testing.T, l executionlog.Log, f executionlog.Filter) []string {
	t.Helper()
	out := []string{}
	for range 1000 {
		page, err := l.Query(context.Background(), f)
		if err != nil {
			t.Fatalf("Query(%+v): %v", f, err)
		}
		out = append(out, ids(page.Entries)...)
		if page.Next == "" {
			return out
		}
		if len(page.Entries) != f.Limit {
			t.Fatalf("page with a Next holds %d entries, want %d", len(page.Entries), f.Limit)
		}
		f.Cursor = page.Next
	}
	t.Fatal("paging did not end")
	return nil
}
