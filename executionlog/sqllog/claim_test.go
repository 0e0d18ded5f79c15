package sqllog

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testClaimsAcrossEngines(t *testing.T, b backend) {
	const entries, engines, workers = 300, 3, 2
	tl := newTestLog(t, b)
	ctx := context.Background()
	batch := make([]*executionlog.Entry, entries)
	for i := range batch {
		batch[i] = newEntry(at(-time.Duration(i)*time.Millisecond), i+1)
	}
	if err := tl.Add(ctx, batch); err != nil {
		t.Fatalf("Add: %v", err)
	}

	var (
		mu      sync.Mutex
		claimed = make(map[string][]string) // id -> owners
		wg      sync.WaitGroup
	)
	for i := range engines {
		l := tl.another(t) // its own pool: another engine
		for w := range workers {
			owner := fmt.Sprintf("%s/%d", label(i), w)
			wg.Go(func() {
				for {
					got, err := l.Claim(ctx, executionlog.Claim{Owner: owner, Now: at(0), Lease: time.Hour, Limit: 5})
					if err != nil {
						t.Errorf("Claim(%s): %v", owner, err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, e := range got {
						mu.Lock()
						claimed[e.ID] = append(claimed[e.ID], owner)
						mu.Unlock()
						if e.LeaseOwner != owner {
							t.Errorf("entry %s claimed by %s has lease owner %q", e.ID, owner, e.LeaseOwner)
						}
						if err := l.Update(ctx, executionlog.Update{ID: e.ID, Owner: owner, Status: executionlog.StatusSucceeded,
							Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(time.Second)}); err != nil {
							t.Errorf("Update(%s by %s): %v", e.ID, owner, err)
						}
					}
				}
			})
		}
	}
	wg.Wait()

	for id, owners := range claimed {
		if len(owners) != 1 {
			t.Errorf("entry %s claimed by %v, want exactly one owner", id, owners)
		}
	}
	if len(claimed) != entries {
		t.Errorf("%d distinct entries claimed, want %d", len(claimed), entries)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.entries+" WHERE status = 'succeeded' AND attempt_count = 1"); got != entries {
		t.Errorf("succeeded entries with one attempt = %d, want %d", got, entries)
	}
}
