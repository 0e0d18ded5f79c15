package executionlogtest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

var claimTests = []test{
	{"DueOnlyInOrder", testClaimDueOnlyInOrder},
	{"Limit", testClaimLimit},
	{"SetsLease", testClaimSetsLease},
	{"LeasedNotClaimedUntilExpiry", testClaimLeasedUntilExpiry},
	{"FinalNeverClaimed", testClaimFinalNeverClaimed},
}

// dueAt returns an entry created at base and due at base+d.
func dueAt(d time.Duration, ticketID int) *executionlog.Entry {
	e := newEntry(at(0), ticketID)
	e.NextAttemptAt = at(d)
	return e
}

func testClaimDueOnlyInOrder(t *testing.T, l executionlog.Log) {
	late := dueAt(-time.Minute, 1)
	early := dueAt(-3*time.Minute, 2)
	tieB := dueAt(-2*time.Minute, 3)
	tieA := dueAt(-2*time.Minute, 4)
	now := dueAt(0, 5) // due exactly at the claim time
	future := dueAt(time.Second, 6)
	// Ties in NextAttemptAt are broken by ID: make tieA's id the smaller.
	if tieA.ID > tieB.ID {
		tieA.ID, tieB.ID = tieB.ID, tieA.ID
	}
	mustAdd(t, l, late, future, tieB, now, early, tieA)

	got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 10})
	want := []string{early.ID, tieA.ID, tieB.ID, late.ID, now.ID}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("claimed ids mismatch (-want +got):\n%s", diff)
	}
}

func testClaimLimit(t *testing.T, l executionlog.Log) {
	var all []*executionlog.Entry
	for i := range 5 {
		all = append(all, dueAt(time.Duration(i-5)*time.Minute, i+1))
	}
	mustAdd(t, l, all[3], all[1], all[4], all[0], all[2])

	first := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 2})
	if diff := cmp.Diff([]string{all[0].ID, all[1].ID}, ids(first)); diff != "" {
		t.Errorf("first claim mismatch (-want +got):\n%s", diff)
	}
	second := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: at(0), Lease: time.Minute, Limit: 2})
	if diff := cmp.Diff([]string{all[2].ID, all[3].ID}, ids(second)); diff != "" {
		t.Errorf("second claim mismatch (-want +got):\n%s", diff)
	}
	third := mustClaim(t, l, executionlog.Claim{Owner: "c", Now: at(0), Lease: time.Minute, Limit: 2})
	if diff := cmp.Diff([]string{all[4].ID}, ids(third)); diff != "" {
		t.Errorf("third claim mismatch (-want +got):\n%s", diff)
	}
}

func testClaimSetsLease(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	want := clone(e)
	mustAdd(t, l, e)

	now := at(time.Minute)
	want.LeaseOwner = "engine-1"
	want.LeaseUntil = now.Add(30 * time.Second)
	got := mustClaim(t, l, executionlog.Claim{Owner: "engine-1", Now: now, Lease: 30 * time.Second, Limit: 10})
	if len(got) != 1 {
		t.Fatalf("Claim returned %d entries, want 1", len(got))
	}
	if diff := cmp.Diff(want, got[0], entryOpts, ignoreUpdatedAt); diff != "" {
		t.Errorf("claimed entry mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustGet(t, l, e.ID), entryOpts, ignoreUpdatedAt); diff != "" {
		t.Errorf("Get after Claim mismatch (-want +got):\n%s", diff)
	}
}

func testClaimLeasedUntilExpiry(t *testing.T, l executionlog.Log) {
	e := dueAt(0, 1)
	mustAdd(t, l, e)
	lease := time.Minute

	if got := mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: lease, Limit: 10}); len(got) != 1 {
		t.Fatalf("first Claim returned %d entries, want 1", len(got))
	}
	for _, c := range []executionlog.Claim{
		{Owner: "b", Now: at(0), Lease: lease, Limit: 10},
		{Owner: "b", Now: at(lease - time.Microsecond), Lease: lease, Limit: 10},
		{Owner: "a", Now: at(lease / 2), Lease: lease, Limit: 10},
	} {
		if got := mustClaim(t, l, c); len(got) != 0 {
			t.Errorf("Claim(%s at %s) during the lease returned %v, want none", c.Owner, c.Now, ids(got))
		}
	}

	// The lease ends at base+lease: from then on the entry may be taken over.
	got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: at(lease), Lease: lease, Limit: 10})
	if diff := cmp.Diff([]string{e.ID}, ids(got)); diff != "" {
		t.Fatalf("Claim after the lease ended mismatch (-want +got):\n%s", diff)
	}
	if got[0].LeaseOwner != "b" || !got[0].LeaseUntil.Equal(at(2*lease)) {
		t.Errorf("lease after takeover = %q until %v, want %q until %v", got[0].LeaseOwner, got[0].LeaseUntil, "b", at(2*lease))
	}
}

func testClaimFinalNeverClaimed(t *testing.T, l executionlog.Log) {
	ok, failed := dueAt(0, 1), dueAt(0, 2)
	mustAdd(t, l, ok, failed)
	mustClaim(t, l, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 10})
	mustUpdate(t, l, executionlog.Update{ID: ok.ID, Owner: "a", Status: executionlog.StatusSucceeded,
		Attempt: &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 200}, Now: at(time.Second)})
	mustUpdate(t, l, executionlog.Update{ID: failed.ID, Owner: "a", Status: executionlog.StatusFailed,
		Attempt:       &executionlog.Attempt{Number: 1, StartedAt: at(0), StatusCode: 410, Error: "HTTP 410 Gone"},
		NextAttemptAt: at(time.Minute), Now: at(time.Second)})

	for _, now := range []time.Time{at(time.Minute), at(24 * time.Hour), at(10 * 365 * 24 * time.Hour)} {
		if got := mustClaim(t, l, executionlog.Claim{Owner: "b", Now: now, Lease: time.Minute, Limit: 10}); len(got) != 0 {
			t.Errorf("Claim at %v returned final entries %v, want none", now, ids(got))
		}
	}
}
