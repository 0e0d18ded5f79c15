package sqllog

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testPrune(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	tl.pruneBatch = 7 // several batches, the last one short
	ctx := context.Background()
	cutoff := at(-time.Hour)

	var old, oldPending, kept []*executionlog.Entry
	for i := range 30 {
		old = append(old, newEntry(at(-48*time.Hour+time.Duration(i)*time.Minute), i))
	}
	for i := range 5 {
		oldPending = append(oldPending, newEntry(at(-72*time.Hour+time.Duration(i)*time.Second), 100+i))
		kept = append(kept, newEntry(at(time.Duration(i)*time.Second), 200+i))
	}
	atCutoff := newEntry(cutoff, 300) // created at olderThan: kept
	kept = append(kept, atCutoff)
	all := append(append(append([]*executionlog.Entry{}, old...), oldPending...), kept...)
	if err := tl.Add(ctx, all); err != nil {
		t.Fatalf("Add: %v", err)
	}
	finish(t, tl, at(0), executionlog.StatusSucceeded, "", old[:15]...)
	finish(t, tl, at(0), executionlog.StatusFailed, "HTTP 500", old[15:]...)
	finish(t, tl, at(0), executionlog.StatusPending, "HTTP 503", oldPending...)
	finish(t, tl, at(0), executionlog.StatusSucceeded, "", kept...)

	n, err := tl.Prune(ctx, executionlog.Scope{}, cutoff)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if n != int64(len(old)) {
		t.Errorf("Prune deleted %d entries, want %d", n, len(old))
	}
	var want []string
	for _, e := range append(append([]*executionlog.Entry{}, oldPending...), kept...) {
		want = append(want, e.ID)
	}
	page, err := tl.Query(ctx, executionlog.Filter{Limit: executionlog.MaxLimit})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if diff := cmp.Diff(want, ids(page.Entries), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("entries after Prune mismatch (-want +got):\n%s", diff)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.attempts); got != len(want) {
		t.Errorf("attempts after Prune = %d, want %d (one per remaining entry)", got, len(want))
	}
	if n, err := tl.Prune(ctx, executionlog.Scope{}, cutoff); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
	}
}
