package executionlogtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

var contextTests = []test{
	{"Cancelled", testCancelledContext},
}

func testCancelledContext(t *testing.T, l executionlog.Log) {
	existing := dueAt(0, 1)
	mustAdd(t, l, existing)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	fresh := dueAt(0, 2)
	if err := l.Add(ctx, []*executionlog.Entry{fresh}); err == nil {
		t.Error("Add with a cancelled context succeeded, want an error")
	}
	if _, err := l.Claim(ctx, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 10}); err == nil {
		t.Error("Claim with a cancelled context succeeded, want an error")
	}
	if err := l.Update(ctx, executionlog.Update{ID: existing.ID, Owner: "a", Status: executionlog.StatusFailed, Now: at(0)}); err == nil {
		t.Error("Update with a cancelled context succeeded, want an error")
	}
	if err := l.Redeliver(ctx, executionlog.Scope{}, existing.ID, at(0)); err == nil {
		t.Error("Redeliver with a cancelled context succeeded, want an error")
	}
	if _, err := l.Get(ctx, executionlog.Scope{}, existing.ID); err == nil {
		t.Error("Get with a cancelled context succeeded, want an error")
	}
	if _, err := l.Query(ctx, executionlog.Filter{}); err == nil {
		t.Error("Query with a cancelled context succeeded, want an error")
	}

	// Nothing changed.
	if _, err := l.Get(context.Background(), executionlog.Scope{}, fresh.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(entry added with a cancelled context) error = %v, want ErrNotFound", err)
	}
	got := mustGet(t, l, existing.ID)
	if got.LeaseOwner != "" || got.Status != executionlog.StatusPending {
		t.Errorf("entry after calls with a cancelled context: lease owner %q, status %q; want unleased and pending", got.LeaseOwner, got.Status)
	}
}
