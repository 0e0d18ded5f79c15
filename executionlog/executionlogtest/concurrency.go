package executionlogtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var concurrencyTests = []test{
	{"ClaimsNeverShared", testConcurrentClaims},
}

func testConcurrentClaims(t *testing.T, l executionlog.Log) {
	const entries, owners = 200, 4
	batch := make([]*executionlog.Entry, entries)
	for i := range batch {
		batch[i] = dueAt(-time.Duration(i)*time.Second, i+1)
	}
	mustAdd(t, l, batch...)

	// Each owner claims small batches until nothing is left, then
	// finishes what it claimed.
	claimed := make([][]string, owners)
	var wg sync.WaitGroup
	for o := range owners {
		wg.Go(func() {
			owner := fmt.Sprintf("engine-%d", o)
			for range entries {
				got, err := l.Claim(context.Background(), executionlog.Claim{Owner: owner, Now: at(0), Lease: time.Hour, Limit: 7})
				if err != nil {
					t.Errorf("Claim(%s): %v", owner, err)
					return
				}
				if len(got) == 0 {
					break
				}
				for _, e := range got {
					if e.LeaseOwner != owner {
						t.Errorf("entry %s claimed by %s has lease owner %q", e.ID, owner, e.LeaseOwner)
					}
					claimed[o] = append(claimed[o], e.ID)
				}
			}
			for _, id := range claimed[o] {
				err := l.Update(context.Background(), executionlog.Update{ID: id, Owner: owner, Status: executionlog.StatusSucceeded,
					Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(time.Second)})
				if err != nil {
					t.Errorf("Update(%s by %s): %v", id, owner, err)
				}
			}
		})
	}
	wg.Wait()

	count := make(map[string]int)
	for o, list := range claimed {
		for _, id := range list {
			count[id]++
			if count[id] > 1 {
				t.Errorf("entry %s handed to more than one claim (last to engine-%d)", id, o)
			}
		}
	}
	if len(count) != entries {
		t.Errorf("%d distinct entries claimed, want %d", len(count), entries)
	}
	page := mustQuery(t, l, executionlog.Filter{Status: executionlog.StatusSucceeded, Limit: executionlog.MaxLimit})
	if diff := cmp.Diff(entries, len(page.Entries)); diff != "" {
		t.Errorf("succeeded entries count mismatch (-want +got):\n%s", diff)
	}
}
