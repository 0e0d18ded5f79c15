package sqllog

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks/executionlog"
)

// testDeleteBatches shows that Delete walks several batches, the last
// one short, deleting a tenant's entries, finished and pending, with
// their attempts and none of another tenant's; and that a search text
// that the database cannot match exactly (it holds a line break) deletes
// only the entries whose attempts match it.
func testDeleteBatches(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	tl.deleteBatch = 7
	ctx := context.Background()

	var a, other []*executionlog.Entry
	for i := range 30 {
		e := newEntry(at(time.Duration(i)*time.Second), i%4)
		e.Tenant = "acme"
		a = append(a, e)
	}
	for i := range 10 {
		e := newEntry(at(time.Duration(i)*time.Second), i%4)
		e.Tenant = "globex"
		other = append(other, e)
	}
	if err := tl.Add(ctx, append(append([]*executionlog.Entry{}, a...), other...)); err != nil {
		t.Fatalf("Add: %v", err)
	}
	finish(t, tl, at(time.Hour), executionlog.StatusFailed, "HTTP 500\nline two", a[:10]...)
	finish(t, tl, at(time.Hour), executionlog.StatusPending, "HTTP 503", a[10:20]...)
	finish(t, tl, at(time.Hour), executionlog.StatusFailed, "HTTP 500", other...)

	// The line break: the parts match a[:10] and other in the database,
	// the whole only a[:10], in Go.
	n, err := tl.Delete(ctx, executionlog.Filter{Tenant: "acme", ErrorText: "500\nline"})
	if err != nil || n != 10 {
		t.Errorf("Delete(acme, text with a line break) = %d, %v; want 10, nil", n, err)
	}
	n, err = tl.Delete(ctx, executionlog.Filter{Tenant: "acme"})
	if err != nil || n != 20 {
		t.Errorf("Delete(acme) = %d, %v; want 20, nil", n, err)
	}
	page, err := tl.Query(ctx, executionlog.Filter{AllTenants: true, Limit: executionlog.MaxLimit})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	var want []string
	for _, e := range other {
		want = append(want, e.ID)
	}
	if diff := cmp.Diff(want, ids(page.Entries), cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Errorf("entries after Delete(acme) mismatch (-want +got):\n%s", diff)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.attempts); got != len(other) {
		t.Errorf("attempts after Delete(acme) = %d, want %d, globex's", got, len(other))
	}
}
