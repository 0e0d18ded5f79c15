package executionlog_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/executionlogtest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	executionlogtest.Run(t, func(t *testing.T) executionlog.Log {
		return executionlog.NewMemory(executionlog.MemoryOptions{})
	})
}

var t0 = time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)

// pending returns a pending entry created and due at t0 plus i seconds.
func pending(i int) *executionlog.Entry {
	at := t0.Add(time.Duration(i) * time.Second)
	return &executionlog.Entry{
		ID:            executionlog.NewID(at),
		TicketID:      i,
		Status:        executionlog.StatusPending,
		NextAttemptAt: at,
		CreatedAt:     at,
		UpdatedAt:     at,
	}
}

// finish claims every due entry of l and marks each succeeded.
func finish(t *testing.T, l *executionlog.Memory) {
	t.Helper()
	ctx := context.Background()
	claimed, err := l.Claim(ctx, executionlog.Claim{Owner: "o", Now: t0.Add(time.Hour), Lease: time.Minute, Limit: 1000})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	for _, e := range claimed {
		err := l.Update(ctx, executionlog.Update{ID: e.ID, Owner: "o", Status: executionlog.StatusSucceeded, Now: t0.Add(time.Hour)})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
}

// tickets returns the ticket ids of every entry of l, newest first.
func tickets(t *testing.T, l *executionlog.Memory) []int {
	t.Helper()
	page, err := l.Query(context.Background(), executionlog.Filter{Limit: executionlog.MaxLimit})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	out := []int{}
	for _, e := range page.Entries {
		out = append(out, e.TicketID)
	}
	return out
}

func TestMemoryEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 5})

	// Entries 1 and 3 stay pending; 0, 2 and 4 finish.
	entries := []*executionlog.Entry{pending(0), pending(1), pending(2), pending(3), pending(4)}
	entries[1].NextAttemptAt = t0.Add(24 * time.Hour)
	entries[3].NextAttemptAt = t0.Add(24 * time.Hour)
	if err := l.Add(ctx, entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	finish(t, l)

	// Two more entries evict the two oldest finished ones, 0 and 2.
	if err := l.Add(ctx, []*executionlog.Entry{pending(5), pending(6)}); err != nil {
		t.Fatalf("Add beyond capacity: %v", err)
	}
	if diff := cmp.Diff([]int{6, 5, 4, 3, 1}, tickets(t, l)); diff != "" {
		t.Errorf("tickets after eviction mismatch (-want +got):\n%s", diff)
	}
	for _, e := range entries[:3:3] {
		if e.TicketID == 1 {
			continue
		}
		if _, err := l.Get(ctx, executionlog.Scope{}, e.ID); !errors.Is(err, executionlog.ErrNotFound) {
			t.Errorf("Get(evicted entry %d) error = %v, want ErrNotFound", e.TicketID, err)
		}
	}

	// Only entry 4 is finished now: three more entries do not fit, and
	// nothing is evicted or added.
	err := l.Add(ctx, []*executionlog.Entry{pending(7), pending(8), pending(9)})
	if !errors.Is(err, executionlog.ErrFull) {
		t.Fatalf("Add(3 entries with room for 1) error = %v, want ErrFull", err)
	}
	if diff := cmp.Diff([]int{6, 5, 4, 3, 1}, tickets(t, l)); diff != "" {
		t.Errorf("tickets after ErrFull mismatch (-want +got):\n%s", diff)
	}
}

func TestMemoryFullWhenAllPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 3})
	if err := l.Add(ctx, []*executionlog.Entry{pending(0), pending(1), pending(2)}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := l.Add(ctx, []*executionlog.Entry{pending(3)}); !errors.Is(err, executionlog.ErrFull) {
		t.Errorf("Add to a log full of pending entries: error = %v, want ErrFull", err)
	}
	big := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 2})
	if err := big.Add(ctx, []*executionlog.Entry{pending(0), pending(1), pending(2)}); !errors.Is(err, executionlog.ErrFull) {
		t.Errorf("Add of a batch larger than the log: error = %v, want ErrFull", err)
	}
	if diff := cmp.Diff([]int{}, tickets(t, big)); diff != "" {
		t.Errorf("tickets after ErrFull mismatch (-want +got):\n%s", diff)
	}
}

// A redelivered entry is pending again and is never evicted; finished
// entries added as records are evicted like any finished entry.
func TestMemoryEvictionAfterRedeliver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 3})
	entries := []*executionlog.Entry{pending(0), pending(1)}
	if err := l.Add(ctx, entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	finish(t, l)
	if err := l.Redeliver(ctx, executionlog.Scope{}, entries[0].ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	record := pending(2)
	record.Status = executionlog.StatusFailed
	record.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: record.CreatedAt, Error: "connection refused"}}
	if err := l.Add(ctx, []*executionlog.Entry{record}); err != nil {
		t.Fatalf("Add(finished record): %v", err)
	}

	// Two more entries evict the two finished ones, 1 and 2, not the
	// older but redelivered 0.
	if err := l.Add(ctx, []*executionlog.Entry{pending(3), pending(4)}); err != nil {
		t.Fatalf("Add beyond capacity: %v", err)
	}
	if diff := cmp.Diff([]int{4, 3, 0}, tickets(t, l)); diff != "" {
		t.Errorf("tickets after eviction mismatch (-want +got):\n%s", diff)
	}
	// Only pending entries are left: a finished record does not fit.
	record = pending(5)
	record.Status = executionlog.StatusSucceeded
	if err := l.Add(ctx, []*executionlog.Entry{record}); !errors.Is(err, executionlog.ErrFull) {
		t.Errorf("Add(finished record to a log full of pending entries) error = %v, want ErrFull", err)
	}
}

func TestMemoryDefaultCapacity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{})
	batch := make([]*executionlog.Entry, executionlog.DefaultMaxEntries)
	for i := range batch {
		batch[i] = pending(i)
	}
	if err := l.Add(ctx, batch); err != nil {
		t.Fatalf("Add(%d entries): %v", len(batch), err)
	}
	if err := l.Add(ctx, []*executionlog.Entry{pending(-1)}); !errors.Is(err, executionlog.ErrFull) {
		t.Errorf("Add beyond the default capacity: error = %v, want ErrFull", err)
	}
}

func TestMemoryClaimRejectsBadClaims(t *testing.T) {
	t.Parallel()
	l := executionlog.NewMemory(executionlog.MemoryOptions{})
	if err := l.Add(context.Background(), []*executionlog.Entry{pending(0)}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	tests := []struct {
		name    string
		claim   executionlog.Claim
		wantErr bool
		want    int
	}{
		{"NoOwner", executionlog.Claim{Now: t0, Lease: time.Minute, Limit: 1}, true, 0},
		{"NoLease", executionlog.Claim{Owner: "a", Now: t0, Limit: 1}, true, 0},
		{"ZeroLimit", executionlog.Claim{Owner: "a", Now: t0, Lease: time.Minute}, false, 0},
		{"Valid", executionlog.Claim{Owner: "a", Now: t0, Lease: time.Minute, Limit: 1}, false, 1},
	}
	for _, tc := range tests {
		got, err := l.Claim(context.Background(), tc.claim)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("%s: Claim = %d entries, error %v; want %d entries, error %t", tc.name, len(got), err, tc.want, tc.wantErr)
		}
	}
}

func TestMemoryUpdateRejectsUnknownStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{})
	e := pending(0)
	if err := l.Add(ctx, []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if _, err := l.Claim(ctx, executionlog.Claim{Owner: "a", Now: t0, Lease: time.Minute, Limit: 1}); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	err := l.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Status: "done", Now: t0})
	if err == nil {
		t.Fatal("Update with an unknown status succeeded, want an error")
	}
	got, err := l.Get(ctx, executionlog.Scope{}, e.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Status != executionlog.StatusPending || got.LeaseOwner != "a" {
		t.Errorf("entry after a refused Update: status %q, owner %q; want pending, leased to a", got.Status, got.LeaseOwner)
	}
}

func BenchmarkMemoryQuery(b *testing.B) {
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{})
	batch := make([]*executionlog.Entry, executionlog.DefaultMaxEntries)
	for i := range batch {
		batch[i] = pending(i)
	}
	if err := l.Add(ctx, batch); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		f := executionlog.Filter{TicketID: i%len(batch) + 1, Limit: 10}
		if _, err := l.Query(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryClaim(b *testing.B) {
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{})
	batch := make([]*executionlog.Entry, executionlog.DefaultMaxEntries)
	for i := range batch {
		batch[i] = pending(i)
	}
	if err := l.Add(ctx, batch); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		// Each claim leases 10 entries for a second; claims move forward
		// in time so that every one finds due entries.
		c := executionlog.Claim{Owner: fmt.Sprint(i), Now: t0.Add(time.Duration(i) * time.Hour), Lease: time.Second, Limit: 10}
		if _, err := l.Claim(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemoryEvictionForgetsChangeKeys shows that the change key of an
// evicted entry is free again, and that a skipped entry takes no room.
func TestMemoryEvictionForgetsChangeKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 2})
	keyed := func(i int) *executionlog.Entry {
		e := pending(i)
		e.ChangeKey = "chg-1"
		return e
	}
	old := keyed(0)
	old.Status = executionlog.StatusSucceeded
	old.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: t0, StatusCode: 200}}
	if err := l.Add(ctx, []*executionlog.Entry{old, pending(1)}); err != nil {
		t.Fatal(err)
	}
	// The log is full, but the skipped entry needs no room: nothing is
	// evicted.
	dup := keyed(2)
	if err := l.Add(ctx, []*executionlog.Entry{dup}); err != nil {
		t.Fatalf("Add(a known key to a full log): %v", err)
	}
	if dup.DuplicateOf != old.ID {
		t.Errorf("DuplicateOf = %q, want %q", dup.DuplicateOf, old.ID)
	}
	if _, err := l.Get(ctx, executionlog.Scope{}, old.ID); err != nil {
		t.Errorf("Get(the entry holding the key): %v", err)
	}

	// An Add that evicts the old entry frees its key.
	if err := l.Add(ctx, []*executionlog.Entry{pending(3)}); err != nil {
		t.Fatal(err)
	}
	finish(t, l) // room for one more
	again := keyed(4)
	if err := l.Add(ctx, []*executionlog.Entry{again}); err != nil {
		t.Fatalf("Add after the key's entry was evicted: %v", err)
	}
	if again.DuplicateOf != "" {
		t.Errorf("DuplicateOf after the key's entry was evicted = %q, want it stored", again.DuplicateOf)
	}
}
