package sqllog

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testClaimsAcrossEngines(t *testing.T, b backend) {
	claimsAcrossEngines(t, b, 0)
}

// testClaimsAcrossEnginesPerTenant shows that claims with a share per
// tenant and skipped tenants stay fleet-safe: engines claiming at once
// each get distinct entries, every entry once.
func testClaimsAcrossEnginesPerTenant(t *testing.T, b backend) {
	claimsAcrossEngines(t, b, 2)
}

// claimsAcrossEngines has several engines claim and finish 300 entries of
// 7 tenants at once, with perTenant as Claim.PerTenant (and a tenant
// that holds no entries skipped when it is positive), and checks that
// each entry is claimed and finished exactly once.
func claimsAcrossEngines(t *testing.T, b backend, perTenant int) {
	const entries, engines, workers = 300, 3, 2
	tl := newTestLog(t, b)
	ctx := context.Background()
	batch := make([]*executionlog.Entry, entries)
	for i := range batch {
		batch[i] = newEntry(at(-time.Duration(i)*time.Millisecond), i+1)
		if perTenant > 0 {
			batch[i].Tenant = fmt.Sprintf("tenant-%d", i%7)
		}
	}
	var skip []string
	if perTenant > 0 {
		skip = []string{"tenant-none"}
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
					got, err := l.Claim(ctx, executionlog.Claim{Owner: owner, Now: at(0), Lease: time.Hour, Limit: 5,
						PerTenant: perTenant, SkipTenants: skip})
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

// BenchmarkClaim measures one Claim of 8 entries from a backlog of 5,000
// due entries, without tenants and with a share per tenant: q=plain, one
// tenant and no share (the claim of a single-tenant engine);
// q=share/tenants=1, one tenant's backlog with a share of 4 (the window
// holds one tenant only); q=share/tenants=1000, the backlog spread over
// 1,000 tenants with a share of 4; q=share_skip/tenants=1000, the same
// skipping 100 tenants. Each claim takes the same oldest entries again:
// their leases have ended by the next one.
func BenchmarkClaim(b *testing.B) {
	const backlog, limit = 5000, 8
	cases := []struct {
		name               string
		tenants, perTenant int
		skip               int
	}{
		{"q=plain", 1, 0, 0},
		{"q=share/tenants=1", 1, 4, 0},
		{"q=share/tenants=1000", 1000, 4, 0},
		{"q=share_skip/tenants=1000", 1000, 4, 100},
	}
	for _, kind := range []string{"sqlite", "postgres", "mysql"} {
		for _, tc := range cases {
			b.Run("db="+kind+"/"+tc.name, func(b *testing.B) {
				db, d := benchOpen(b, kind, filepath.Join(b.TempDir(), "log.db"))
				l := benchLog(b, db, d, benchPrefix(), false)
				ctx := context.Background()
				start := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
				batch := make([]*executionlog.Entry, 0, 1000)
				for i := range backlog {
					e := benchEntry(start.Add(time.Duration(i) * time.Millisecond))
					if tc.tenants > 1 {
						e.Tenant = fmt.Sprintf("tenant-%04d", i%tc.tenants)
					}
					batch = append(batch, e)
					if len(batch) == cap(batch) {
						if err := l.Add(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				if d == Postgres {
					if _, err := db.ExecContext(ctx, "ANALYZE "+l.entries); err != nil {
						b.Fatal(err)
					}
				}
				var skip []string
				for i := range tc.skip {
					skip = append(skip, fmt.Sprintf("tenant-%04d", i))
				}
				now := time.Now()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					now = now.Add(time.Second)
					got, err := l.Claim(ctx, executionlog.Claim{Owner: "bench", Now: now, Lease: time.Millisecond, Limit: limit,
						PerTenant: tc.perTenant, SkipTenants: skip})
					if err != nil {
						b.Fatal(err)
					}
					want := limit
					if tc.perTenant > 0 && tc.tenants == 1 {
						want = tc.perTenant
					}
					if len(got) != want {
						b.Fatalf("Claim returned %d entries, want %d", len(got), want)
					}
				}
			})
		}
	}
}
