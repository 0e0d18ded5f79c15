package executionlogtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks/executionlog"
)

var tenantTests = []test{
	{"QueryScoped", testTenantQuery},
	{"QueryPagingScoped", testTenantPaging},
	{"GetOtherTenant", testTenantGet},
	{"RedeliverOtherTenant", testTenantRedeliver},
	{"PruneScoped", testTenantPrune},
	{"DeleteTenant", testTenantDelete},
	{"DeleteTicket", testTenantDeleteTicket},
	{"DeleteWhileDelivering", testTenantDeleteLeased},
	{"ClaimPerTenant", testTenantClaimShare},
	{"ClaimSkipTenants", testTenantClaimSkip},
	{"CountPending", testTenantCountPending},
	{"ChangeKeyPerTenant", testTenantChangeKey},
	{"InvalidTenant", testTenantInvalid},
	{"LongestTenant", testTenantLongest},
}

// The tenants of the isolation tests: both hold entries with the same
// ticket numbers, trigger ids and change keys.
const (
	tenantA = "acme"
	tenantB = "globex ✓"
)

// tenantEntry returns a pending entry of tenant created and due at at(d)
// for ticket.
func tenantEntry(tenant string, d time.Duration, ticket int) *executionlog.Entry {
	e := newEntry(at(d), ticket)
	e.Tenant = tenant
	return e
}

// checkTenant fails the test unless every entry belongs to tenant.
func checkTenant(t *testing.T, what string, entries []executionlog.Entry, tenant string) {
	t.Helper()
	for _, e := range entries {
		if e.Tenant != tenant {
			t.Errorf("%s returned entry %s of tenant %q, want only tenant %q's", what, e.ID, e.Tenant, tenant)
		}
	}
}

// bothDatasets adds the query data set for tenant A and then for tenant B
// and returns their ids in data set order.
func bothDatasets(t *testing.T, l executionlog.Log) (a, b []string) {
	t.Helper()
	return addDatasetOf(t, l, tenantA), addDatasetOf(t, l, tenantB)
}

func testTenantQuery(t *testing.T, l executionlog.Log) {
	a, b := bothDatasets(t, l)
	minute := func(m int) time.Time { return at(time.Duration(m) * time.Minute) }
	tests := []struct {
		name   string
		filter executionlog.Filter
		want   []int // indexes into the data set, newest first
	}{
		{"All", executionlog.Filter{}, []int{6, 5, 4, 3, 2, 1, 0}},
		{"Ticket", executionlog.Filter{TicketID: 100}, []int{5, 1, 0}},
		{"Dates", executionlog.Filter{From: minute(1), To: minute(4)}, []int{3, 2, 1}},
		{"Trigger", executionlog.Filter{TriggerID: "trg-a"}, []int{5, 4, 2, 0}},
		{"StatusFailed", executionlog.Filter{Status: executionlog.StatusFailed}, []int{6, 5, 1}},
		{"StatusPending", executionlog.Filter{Status: executionlog.StatusPending}, []int{4, 2}},
		{"ErrorText", executionlog.Filter{ErrorText: "http 5"}, []int{3, 1}},
		{"ErrorTextRare", executionlog.Filter{ErrorText: "GONE"}, []int{6}},
		{"Combined", executionlog.Filter{TicketID: 100, Status: executionlog.StatusFailed, ErrorText: "503"}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, side := range []struct {
				tenant string
				ids    []string
			}{{tenantA, a}, {tenantB, b}} {
				f := tc.filter
				f.Tenant = side.tenant
				page := mustQuery(t, l, f)
				if diff := cmp.Diff(pickIDs(side.ids, tc.want...), ids(page.Entries)); diff != "" {
					t.Errorf("Query(%+v) ids mismatch (-want +got):\n%s", f, diff)
				}
				checkTenant(t, "Query", page.Entries, side.tenant)
			}
			// Tenant "" holds nothing here.
			if page := mustQuery(t, l, tc.filter); len(page.Entries) != 0 {
				t.Errorf("Query(%+v) of tenant \"\" returned %v, want nothing", tc.filter, ids(page.Entries))
			}
			// Every tenant: B's entries were created at the same times as
			// A's, so the two are merged by CreatedAt and then ID.
			f := tc.filter
			f.AllTenants, f.Tenant = true, tenantA // AllTenants ignores Tenant
			var want []string
			for _, i := range tc.want {
				pair := []string{a[i], b[i]}
				slices.Sort(pair)
				want = append(want, pair[1], pair[0])
			}
			page := mustQuery(t, l, f)
			if diff := cmp.Diff(want, ids(page.Entries)); diff != "" {
				t.Errorf("Query(%+v) ids mismatch (-want +got):\n%s", f, diff)
			}
		})
	}
}

func testTenantPaging(t *testing.T, l executionlog.Log) {
	var a, b []*executionlog.Entry
	for i, e := range spread(25) {
		e.Tenant = tenantA
		a = append(a, e)
		other := newEntry(e.CreatedAt, e.TicketID)
		other.Tenant = tenantB
		b = append(b, other)
		if i%5 == 0 {
			// A few of B's entries between A's, by time.
			between := newEntry(e.CreatedAt.Add(time.Microsecond), e.TicketID)
			between.Tenant = tenantB
			b = append(b, between)
		}
	}
	mustAdd(t, l, shuffled(append(slices.Clone(a), b...))...)

	for _, side := range []struct {
		tenant  string
		entries []*executionlog.Entry
	}{{tenantA, a}, {tenantB, b}} {
		f := executionlog.Filter{Tenant: side.tenant, Limit: 4}
		if diff := cmp.Diff(newestFirst(side.entries), queryAll(t, l, f)); diff != "" {
			t.Errorf("paging through tenant %q mismatch (-want +got):\n%s", side.tenant, diff)
		}
		var ticket1 []*executionlog.Entry
		for _, e := range side.entries {
			if e.TicketID == 1 {
				ticket1 = append(ticket1, e)
			}
		}
		f = executionlog.Filter{Tenant: side.tenant, TicketID: 1, Limit: 3}
		if diff := cmp.Diff(newestFirst(ticket1), queryAll(t, l, f)); diff != "" {
			t.Errorf("paging through tenant %q's ticket 1 mismatch (-want +got):\n%s", side.tenant, diff)
		}
	}

	// A cursor copied from B's page continues A's entries only.
	pageB := mustQuery(t, l, executionlog.Filter{Tenant: tenantB, Limit: 5})
	if pageB.Next == "" {
		t.Fatal("B's first page has no cursor")
	}
	pageA := mustQuery(t, l, executionlog.Filter{Tenant: tenantA, Limit: executionlog.MaxLimit, Cursor: pageB.Next})
	if len(pageA.Entries) == 0 {
		t.Error("Query of A with B's cursor returned nothing, want A's older entries")
	}
	checkTenant(t, "Query with another tenant's cursor", pageA.Entries, tenantA)

	all := queryAll(t, l, executionlog.Filter{AllTenants: true, Limit: 7})
	if diff := cmp.Diff(newestFirst(append(slices.Clone(a), b...)), all); diff != "" {
		t.Errorf("paging through every tenant mismatch (-want +got):\n%s", diff)
	}
}

func testTenantGet(t *testing.T, l executionlog.Log) {
	a, b := tenantEntry(tenantA, 0, 1), tenantEntry(tenantB, 0, 1)
	mustAdd(t, l, a, b)
	ctx := context.Background()
	for _, tc := range []struct {
		scope executionlog.Scope
		id    string
		found bool
	}{
		{executionlog.TenantScope(tenantA), a.ID, true},
		{executionlog.TenantScope(tenantA), b.ID, false},
		{executionlog.TenantScope(tenantB), b.ID, true},
		{executionlog.TenantScope(tenantB), a.ID, false},
		{executionlog.Scope{}, a.ID, false},
		{executionlog.TenantScope("ACME"), a.ID, false}, // tenants compare exactly
		{executionlog.TenantScope(tenantA + " "), a.ID, false},
		{executionlog.AllTenants, a.ID, true},
		{executionlog.AllTenants, b.ID, true},
	} {
		got, err := l.Get(ctx, tc.scope, tc.id)
		switch {
		case !tc.found && !errors.Is(err, executionlog.ErrNotFound):
			t.Errorf("Get(%+v, %s) error = %v, want ErrNotFound", tc.scope, tc.id, err)
		case tc.found && err != nil:
			t.Errorf("Get(%+v, %s): %v", tc.scope, tc.id, err)
		case tc.found && got.ID != tc.id:
			t.Errorf("Get(%+v, %s) returned entry %s", tc.scope, tc.id, got.ID)
		}
	}
	want := clone(b)
	got, err := l.Get(ctx, executionlog.TenantScope(tenantB), b.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("B's entry mismatch (-want +got):\n%s", diff)
	}
}

func testTenantRedeliver(t *testing.T, l executionlog.Log) {
	a, b := tenantEntry(tenantA, 0, 1), tenantEntry(tenantB, 0, 1)
	mustAdd(t, l, a, b)
	ctx := context.Background()
	// Both fail.
	claimed := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 10})
	if len(claimed) != 2 {
		t.Fatalf("Claim returned %d entries, want 2", len(claimed))
	}
	for _, e := range claimed {
		mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
			Status: executionlog.StatusFailed, Note: "gave up", Now: at(time.Second)})
	}
	before, err := l.Get(ctx, executionlog.AllTenants, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []executionlog.Scope{executionlog.TenantScope(tenantA), {}} {
		if err := l.Redeliver(ctx, s, b.ID, at(time.Hour)); !errors.Is(err, executionlog.ErrNotFound) {
			t.Errorf("Redeliver(%+v, B's entry) error = %v, want ErrNotFound", s, err)
		}
	}
	after, err := l.Get(ctx, executionlog.AllTenants, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after, entryOpts); diff != "" {
		t.Errorf("B's entry changed by another tenant's Redeliver (-before +after):\n%s", diff)
	}
	if got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: at(2 * time.Hour), Lease: time.Minute, Limit: 10}); len(got) != 0 {
		t.Errorf("Claim after refused redeliveries returned %v, want none", ids(got))
	}
	// Each tenant redelivers its own.
	if err := l.Redeliver(ctx, executionlog.TenantScope(tenantB), b.ID, at(time.Hour)); err != nil {
		t.Errorf("Redeliver(B, B's entry): %v", err)
	}
	if err := l.Redeliver(ctx, executionlog.AllTenants, a.ID, at(time.Hour)); err != nil {
		t.Errorf("Redeliver(every tenant, A's entry): %v", err)
	}
	got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: at(2 * time.Hour), Lease: time.Minute, Limit: 10})
	if len(got) != 2 {
		t.Errorf("Claim after the redeliveries returned %v, want both entries", ids(got))
	}
}

// finishAll claims every entry due at now and records one attempt that
// ends it with status.
func finishAll(t *testing.T, l executionlog.Log, now time.Time, status executionlog.Status) {
	t.Helper()
	for _, e := range mustClaim(t, l, executionlog.Claim{Owner: "f", Now: now, Lease: time.Minute, Limit: executionlog.MaxLimit}) {
		a := &executionlog.Attempt{Number: 1, StartedAt: now, StatusCode: 200}
		if status != executionlog.StatusSucceeded {
			a = failedAttempt(1, now)
		}
		mustUpdate(t, l, executionlog.Update{ID: e.ID, Owner: "f", Attempt: a, Status: status, Now: now})
	}
}

func testTenantPrune(t *testing.T, l executionlog.Log) {
	p, ok := l.(executionlog.Pruner)
	if !ok {
		t.Skip("the log does not implement executionlog.Pruner")
	}
	ctx := context.Background()
	var oldA, oldB, pendingA, newA []*executionlog.Entry
	for i := range 4 {
		oldA = append(oldA, tenantEntry(tenantA, -48*time.Hour+time.Duration(i)*time.Minute, i+1))
		oldB = append(oldB, tenantEntry(tenantB, -48*time.Hour+time.Duration(i)*time.Minute, i+1))
		newA = append(newA, tenantEntry(tenantA, time.Duration(i)*time.Minute, i+1))
	}
	mustAdd(t, l, append(append(slices.Clone(oldA), oldB...), newA...)...)
	finishAll(t, l, at(time.Hour), executionlog.StatusSucceeded)
	pendingA = append(pendingA, tenantEntry(tenantA, -72*time.Hour, 9))
	pendingA[0].NextAttemptAt = at(1000 * time.Hour)
	mustAdd(t, l, pendingA...)

	n, err := p.Prune(ctx, executionlog.TenantScope(tenantA), at(-time.Hour))
	if err != nil || n != int64(len(oldA)) {
		t.Errorf("Prune(A) = %d, %v; want %d, nil", n, err, len(oldA))
	}
	want := newestFirst(append(slices.Clone(newA), pendingA...))
	if diff := cmp.Diff(want, ids(mustQuery(t, l, executionlog.Filter{Tenant: tenantA, Limit: 100}).Entries)); diff != "" {
		t.Errorf("A's entries after Prune(A) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(newestFirst(oldB), ids(mustQuery(t, l, executionlog.Filter{Tenant: tenantB, Limit: 100}).Entries)); diff != "" {
		t.Errorf("B's entries after Prune(A) mismatch (-want +got):\n%s", diff)
	}
	if n, err := p.Prune(ctx, executionlog.Scope{}, at(time.Hour)); err != nil || n != 0 {
		t.Errorf("Prune(tenant \"\") = %d, %v; want 0, nil", n, err)
	}
	if n, err := p.Prune(ctx, executionlog.AllTenants, at(-time.Hour)); err != nil || n != int64(len(oldB)) {
		t.Errorf("Prune(every tenant) = %d, %v; want %d, nil", n, err, len(oldB))
	}
}

func testTenantDelete(t *testing.T, l executionlog.Log) {
	a, b := bothDatasets(t, l)
	ctx := context.Background()
	bBefore := mustQuery(t, l, executionlog.Filter{Tenant: tenantB}).Entries

	// A filter of A that matches B's entries too, by every field but the
	// tenant: B's are kept.
	n, err := l.Delete(ctx, executionlog.Filter{Tenant: tenantA, ErrorText: "http 503"})
	if err != nil || n != 1 {
		t.Errorf("Delete(A, error text) = %d, %v; want 1, nil", n, err)
	}
	if _, err := l.Get(ctx, executionlog.AllTenants, a[1]); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(A's entry deleted by error text) error = %v, want ErrNotFound", err)
	}
	// Every entry of A, pending ones included: Delete ignores Limit and
	// Cursor.
	n, err = l.Delete(ctx, executionlog.Filter{Tenant: tenantA, Limit: 1, Cursor: executionlog.EncodeCursor(at(0), a[0])})
	if err != nil || n != int64(len(a)-1) {
		t.Errorf("Delete(A) = %d, %v; want %d, nil", n, err, len(a)-1)
	}
	for _, id := range a {
		if _, err := l.Get(ctx, executionlog.AllTenants, id); !errors.Is(err, executionlog.ErrNotFound) {
			t.Errorf("Get(A's entry %s after Delete(A)) error = %v, want ErrNotFound", id, err)
		}
	}
	if got := mustQuery(t, l, executionlog.Filter{Tenant: tenantA, Status: executionlog.StatusPending}).Entries; len(got) != 0 {
		t.Errorf("A's pending entries after Delete(A): %v, want none", ids(got))
	}
	if got := mustQuery(t, l, executionlog.Filter{Tenant: tenantA, ErrorText: "http"}).Entries; len(got) != 0 {
		t.Errorf("error search of A after Delete(A) finds %v, want nothing", ids(got))
	}
	if diff := cmp.Diff(bBefore, mustQuery(t, l, executionlog.Filter{Tenant: tenantB}).Entries, entryOpts); diff != "" {
		t.Errorf("B's entries changed by Delete(A) (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(b, reverse(ids(bBefore))); diff != "" {
		t.Errorf("B's entries mismatch (-want +got):\n%s", diff)
	}
	if n, err := l.Delete(ctx, executionlog.Filter{Tenant: tenantA}); err != nil || n != 0 {
		t.Errorf("Delete(A) again = %d, %v; want 0, nil", n, err)
	}
	if n, err := l.Delete(ctx, executionlog.Filter{}); err != nil || n != 0 {
		t.Errorf("Delete(tenant \"\") = %d, %v; want 0, nil", n, err)
	}
	if n, err := l.Delete(ctx, executionlog.Filter{AllTenants: true}); err != nil || n != int64(len(b)) {
		t.Errorf("Delete(every tenant) = %d, %v; want %d, nil", n, err, len(b))
	}
	if got := mustQuery(t, l, executionlog.Filter{AllTenants: true}).Entries; len(got) != 0 {
		t.Errorf("entries after Delete(every tenant): %v, want none", ids(got))
	}
}

// reverse returns s in reverse order.
func reverse(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func testTenantDeleteTicket(t *testing.T, l executionlog.Log) {
	a, b := bothDatasets(t, l)
	ctx := context.Background()
	n, err := l.Delete(ctx, executionlog.Filter{Tenant: tenantB, TicketID: 100})
	if err != nil || n != 3 {
		t.Errorf("Delete(B, ticket 100) = %d, %v; want 3, nil", n, err)
	}
	wantB := []string{b[6], b[4], b[3], b[2]}
	if diff := cmp.Diff(wantB, ids(mustQuery(t, l, executionlog.Filter{Tenant: tenantB}).Entries)); diff != "" {
		t.Errorf("B's entries after deleting ticket 100 mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(reverse(a), ids(mustQuery(t, l, executionlog.Filter{Tenant: tenantA}).Entries)); diff != "" {
		t.Errorf("A's entries after deleting B's ticket 100 mismatch (-want +got):\n%s", diff)
	}
	// A ticket's pending entries go too.
	n, err = l.Delete(ctx, executionlog.Filter{Tenant: tenantB, TicketID: 300, Status: executionlog.StatusPending})
	if err != nil || n != 1 {
		t.Errorf("Delete(B, ticket 300, pending) = %d, %v; want 1, nil", n, err)
	}
	if _, err := l.Get(ctx, executionlog.TenantScope(tenantB), b[4]); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(deleted pending entry) error = %v, want ErrNotFound", err)
	}
	if _, err := l.Delete(ctx, executionlog.Filter{Tenant: tenantB, TicketID: -1}); !errors.Is(err, executionlog.ErrInvalidFilter) {
		t.Errorf("Delete(negative ticket) error = %v, want ErrInvalidFilter", err)
	}
}

func testTenantDeleteLeased(t *testing.T, l executionlog.Log) {
	e := tenantEntry(tenantA, 0, 1)
	mustAdd(t, l, e)
	claimOne(t, l, e, "a", at(0))
	ctx := context.Background()
	if n, err := l.Delete(ctx, executionlog.Filter{Tenant: tenantA, TicketID: 1}); err != nil || n != 1 {
		t.Fatalf("Delete(leased entry) = %d, %v; want 1, nil", n, err)
	}
	err := l.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Attempt: failedAttempt(1, at(0)),
		Status: executionlog.StatusPending, NextAttemptAt: at(time.Minute), Now: at(time.Second)})
	if !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Update of a deleted entry error = %v, want ErrNotFound", err)
	}
	if got := mustQuery(t, l, executionlog.Filter{AllTenants: true}).Entries; len(got) != 0 {
		t.Errorf("entries after Update of a deleted entry: %v, want none", ids(got))
	}
}

func testTenantClaimShare(t *testing.T, l executionlog.Log) {
	var a, b []*executionlog.Entry
	for i := range 10 {
		a = append(a, tenantEntry(tenantA, time.Duration(i-20)*time.Second, i+1)) // the oldest
	}
	for i := range 2 {
		b = append(b, tenantEntry(tenantB, time.Duration(i-5)*time.Second, i+1))
	}
	none := tenantEntry("", -3*time.Second, 1)
	mustAdd(t, l, append(append(slices.Clone(a), b...), none)...)

	got := mustClaim(t, l, executionlog.Claim{Owner: "e", Now: at(0), Lease: time.Minute, Limit: 10, PerTenant: 3})
	want := []string{a[0].ID, a[1].ID, a[2].ID, b[0].ID, b[1].ID, none.ID}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("Claim(PerTenant 3) mismatch (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if e.LeaseOwner != "e" {
			t.Errorf("claimed entry %s leased to %q, want %q", e.ID, e.LeaseOwner, "e")
		}
	}
	// The limit still bounds the claim; A's next entries are taken in
	// order.
	got = mustClaim(t, l, executionlog.Claim{Owner: "f", Now: at(0), Lease: time.Minute, Limit: 2, PerTenant: 5})
	if diff := cmp.Diff([]string{a[3].ID, a[4].ID}, ids(got)); diff != "" {
		t.Errorf("Claim(Limit 2, PerTenant 5) mismatch (-want +got):\n%s", diff)
	}
	got = mustClaim(t, l, executionlog.Claim{Owner: "g", Now: at(0), Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{a[5].ID, a[6].ID, a[7].ID, a[8].ID, a[9].ID}, ids(got)); diff != "" {
		t.Errorf("Claim without a share mismatch (-want +got):\n%s", diff)
	}
}

func testTenantClaimSkip(t *testing.T, l executionlog.Log) {
	a, b, none := tenantEntry(tenantA, -3*time.Second, 1), tenantEntry(tenantB, -2*time.Second, 1), tenantEntry("", -time.Second, 1)
	const odd = `we "quote", back\slash {brace} NULL ✓` // odd in an array literal
	oddEntry := tenantEntry(odd, -4*time.Second, 1)
	mustAdd(t, l, a, b, none, oddEntry)
	skip := []string{tenantA, "", "\xff not a tenant", strings.Repeat("x", 300), odd}
	got := mustClaim(t, l, executionlog.Claim{Owner: "e", Now: at(0), Lease: time.Minute, Limit: 10, SkipTenants: skip})
	if diff := cmp.Diff([]string{b.ID}, ids(got)); diff != "" {
		t.Errorf("Claim(skipping A and \"\") mismatch (-want +got):\n%s", diff)
	}
	got = mustClaim(t, l, executionlog.Claim{Owner: "e", Now: at(0), Lease: time.Minute, Limit: 10, PerTenant: 1,
		SkipTenants: []string{tenantB}})
	if diff := cmp.Diff([]string{oddEntry.ID, a.ID, none.ID}, ids(got)); diff != "" {
		t.Errorf("Claim(skipping B) mismatch (-want +got):\n%s", diff)
	}
	// Tenants beyond MaxSkipTenants are ignored.
	c := tenantEntry("last", -time.Second, 1)
	mustAdd(t, l, c)
	many := make([]string, executionlog.MaxSkipTenants, executionlog.MaxSkipTenants+1)
	for i := range many {
		many[i] = strings.Repeat("t", i+1)
	}
	got = mustClaim(t, l, executionlog.Claim{Owner: "e", Now: at(0), Lease: time.Minute, Limit: 10,
		SkipTenants: append(many, "last")})
	if diff := cmp.Diff([]string{c.ID}, ids(got)); diff != "" {
		t.Errorf("Claim(skipping %d tenants, then the entry's) mismatch (-want +got):\n%s", executionlog.MaxSkipTenants+1, diff)
	}
}

func testTenantCountPending(t *testing.T, l executionlog.Log) {
	pc, ok := l.(executionlog.PendingCounter)
	if !ok {
		t.Skip("the log does not implement executionlog.PendingCounter")
	}
	var entries []*executionlog.Entry
	for i := range 5 {
		entries = append(entries, tenantEntry(tenantA, time.Duration(i)*time.Second, i+1))
	}
	for i := range 3 {
		entries = append(entries, tenantEntry(tenantB, time.Duration(i)*time.Second, i+1))
	}
	mustAdd(t, l, entries...)
	// One of B's finishes; one of A's is leased, and still pending.
	got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 10})
	if diff := cmp.Diff([]string{entries[0].ID, entries[5].ID}, ids(got), cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Fatalf("Claim mismatch (-want +got):\n%s", diff)
	}
	mustUpdate(t, l, executionlog.Update{ID: entries[5].ID, Owner: "a", Status: executionlog.StatusSucceeded,
		Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(0)})
	ctx := context.Background()
	for _, tc := range []struct {
		tenant string
		limit  int
		want   int
	}{
		{tenantA, 0, 5}, {tenantA, 3, 3}, {tenantA, 5, 5}, {tenantA, 100, 5},
		{tenantB, 0, 2}, {tenantB, 1, 1},
		{"", 0, 0}, {"nobody", 10, 0},
	} {
		got, err := pc.CountPending(ctx, tc.tenant, tc.limit)
		if err != nil || got != tc.want {
			t.Errorf("CountPending(%q, %d) = %d, %v; want %d, nil", tc.tenant, tc.limit, got, err, tc.want)
		}
	}
}

func testTenantChangeKey(t *testing.T, l executionlog.Log) {
	a, b := keyed(0, 1, "chg-1"), keyed(time.Second, 1, "chg-1")
	a.Tenant, b.Tenant = tenantA, tenantB
	mustAdd(t, l, a, b)
	checkDuplicates(t, []*executionlog.Entry{a, b}, []string{"", ""})

	againA, againB, plain := keyed(2*time.Second, 1, "chg-1"), keyed(3*time.Second, 1, "chg-1"), keyed(4*time.Second, 1, "chg-1")
	againA.Tenant, againB.Tenant = tenantA, tenantB
	mustAdd(t, l, againA, againB, plain)
	checkDuplicates(t, []*executionlog.Entry{againA, againB, plain}, []string{a.ID, b.ID, ""})
	page := mustQuery(t, l, executionlog.Filter{AllTenants: true})
	if diff := cmp.Diff([]string{plain.ID, b.ID, a.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
	}
}

func testTenantInvalid(t *testing.T, l executionlog.Log) {
	ctx := context.Background()
	stored := tenantEntry(tenantA, 0, 1)
	mustAdd(t, l, stored)
	bad := []struct {
		name   string
		tenant string
	}{
		{"NUL", "acme\x00"},
		{"InvalidUTF8", "acme\xff"},
		{"TooLong", strings.Repeat("a", executionlog.MaxTenantBytes+1)},
		{"LineBreak", "acme\nglobex"},
	}
	for i, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			good := tenantEntry(tenantB, time.Duration(i+1)*time.Second, 2)
			e := tenantEntry(tc.tenant, time.Duration(i+1)*time.Second, 3)
			if err := l.Add(ctx, []*executionlog.Entry{good, e}); !errors.Is(err, executionlog.ErrInvalidTenant) {
				t.Errorf("Add(entry of tenant %q) error = %v, want ErrInvalidTenant", tc.tenant, err)
			}
			for _, f := range []executionlog.Filter{{Tenant: tc.tenant}, {Tenant: tc.tenant, TicketID: 1, ErrorText: "x"}} {
				_, err := l.Query(ctx, f)
				if !errors.Is(err, executionlog.ErrInvalidTenant) || !errors.Is(err, executionlog.ErrInvalidFilter) {
					t.Errorf("Query(%+v) error = %v, want ErrInvalidTenant and ErrInvalidFilter", f, err)
				}
				if n, err := l.Delete(ctx, f); !errors.Is(err, executionlog.ErrInvalidTenant) || n != 0 {
					t.Errorf("Delete(%+v) = %d, %v; want 0 and ErrInvalidTenant", f, n, err)
				}
			}
			if _, err := l.Get(ctx, executionlog.TenantScope(tc.tenant), stored.ID); !errors.Is(err, executionlog.ErrNotFound) {
				t.Errorf("Get(scope %q) error = %v, want ErrNotFound", tc.tenant, err)
			}
			if err := l.Redeliver(ctx, executionlog.TenantScope(tc.tenant), stored.ID, at(time.Hour)); !errors.Is(err, executionlog.ErrNotFound) {
				t.Errorf("Redeliver(scope %q) error = %v, want ErrNotFound", tc.tenant, err)
			}
			if p, ok := l.(executionlog.Pruner); ok {
				if n, err := p.Prune(ctx, executionlog.TenantScope(tc.tenant), at(time.Hour)); !errors.Is(err, executionlog.ErrInvalidTenant) || n != 0 {
					t.Errorf("Prune(scope %q) = %d, %v; want 0 and ErrInvalidTenant", tc.tenant, n, err)
				}
			}
		})
	}
	// Nothing was written, nothing deleted.
	page := mustQuery(t, l, executionlog.Filter{AllTenants: true})
	if diff := cmp.Diff([]string{stored.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("entries after refused calls mismatch (-want +got):\n%s", diff)
	}
}

func testTenantLongest(t *testing.T, l executionlog.Log) {
	// The longest tenant, in characters of several bytes, with a key.
	long := strings.Repeat("ü", executionlog.MaxTenantBytes/2) + "x"
	e := tenantEntry(long, 0, 1)
	e.ChangeKey = strings.Repeat("k", executionlog.MaxChangeKeyBytes)
	e.TriggerID = strings.Repeat("t", 200)
	want := clone(e)
	mustAdd(t, l, e)
	got, err := l.Get(context.Background(), executionlog.TenantScope(long), e.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("entry of the longest tenant mismatch (-want +got):\n%s", diff)
	}
	page := mustQuery(t, l, executionlog.Filter{Tenant: long, TicketID: 1})
	if diff := cmp.Diff([]string{e.ID}, ids(page.Entries)); diff != "" {
		t.Errorf("Query(longest tenant) mismatch (-want +got):\n%s", diff)
	}
	again := tenantEntry(long, time.Second, 1)
	again.ChangeKey, again.TriggerID = e.ChangeKey, e.TriggerID
	mustAdd(t, l, again)
	checkDuplicates(t, []*executionlog.Entry{again}, []string{e.ID})
}
