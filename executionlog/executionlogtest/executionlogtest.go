package executionlogtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks/executionlog"
)

// Run exercises a Log implementation with the conformance suite. newLog
// must return a fresh, empty log, isolated from every other log it returns,
// for each subtest, and register its own cleanup with t.Cleanup. Subtests
// run in parallel.
//
// The suite uses times in UTC truncated to the microsecond and ids made by
// executionlog.NewID. It checks that implementations return times in UTC.
func Run(t *testing.T, newLog func(t *testing.T) executionlog.Log) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Add", addTests},
		{"Claim", claimTests},
		{"Update", updateTests},
		{"Redeliver", redeliverTests},
		{"Query", queryTests},
		{"Concurrency", concurrencyTests},
		{"Context", contextTests},
		{"ChangeKey", changeKeyTests},
		{"LateAttempt", lateAttemptTests},
		{"Storable", storableTests},
		{"Tenant", tenantTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newLog(t))
				})
			}
		})
	}
}

// test is one subtest of the suite.
type test struct {
	name string
	run  func(t *testing.T, l executionlog.Log)
}

// base is the time the suite's entries are created around.
var base = time.Date(2026, time.March, 14, 15, 9, 26, 535897000, time.UTC)

// at returns base plus d, truncated to the microsecond.
func at(d time.Duration) time.Time {
	return base.Add(d).Truncate(time.Microsecond)
}

// newEntry returns a pending entry created at createdAt with every field
// Add accepts set, due at createdAt.
func newEntry(createdAt time.Time, ticketID int) *executionlog.Entry {
	createdAt = createdAt.UTC().Truncate(time.Microsecond)
	return &executionlog.Entry{
		ID:          executionlog.NewID(createdAt),
		TriggerID:   "trg-notify-erp",
		TriggerName: "Notify ERP",
		ActionIndex: 1,
		TicketID:    ticketID,
		Event:       "updated",
		URL:         "https://erp.example.com/hooks/tickets",
		RequestHeaders: map[string]string{
			"Content-Type":  "application/json",
			"Authorization": "[REDACTED]",
			"X-Account":     "acme",
		},
		RequestBody:   fmt.Appendf(nil, `{"Id":%d,"Subject":"Impressora não liga ✓","Status":"Novo"}`, ticketID),
		Status:        executionlog.StatusPending,
		NextAttemptAt: createdAt,
		CreatedAt:     createdAt,
		UpdatedAt:     createdAt,
	}
}

// clone returns a deep copy of e, so wanted values do not change when an
// implementation keeps or changes what it was given.
func clone(e *executionlog.Entry) executionlog.Entry {
	c := *e
	if e.RequestHeaders != nil {
		c.RequestHeaders = make(map[string]string, len(e.RequestHeaders))
		for k, v := range e.RequestHeaders {
			c.RequestHeaders[k] = v
		}
	}
	c.RequestBody = append([]byte(nil), e.RequestBody...)
	c.Attempts = append([]executionlog.Attempt(nil), e.Attempts...)
	return c
}

// entryOpts compares entries: nil and empty maps and slices are equal.
var entryOpts = cmp.Options{cmpopts.EquateEmpty()}

// ignoreUpdatedAt leaves UpdatedAt out of a comparison.
var ignoreUpdatedAt = cmpopts.IgnoreFields(executionlog.Entry{}, "UpdatedAt")

// mustAdd adds entries and fails the test on error.
func mustAdd(t *testing.T, l executionlog.Log, entries ...*executionlog.Entry) {
	t.Helper()
	if err := l.Add(context.Background(), entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

// mustGet returns an entry and fails the test on error.
func mustGet(t *testing.T, l executionlog.Log, id string) executionlog.Entry {
	t.Helper()
	e, err := l.Get(context.Background(), executionlog.Scope{}, id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	checkUTC(t, e)
	return e
}

// mustClaim claims and fails the test on error.
func mustClaim(t *testing.T, l executionlog.Log, c executionlog.Claim) []executionlog.Entry {
	t.Helper()
	got, err := l.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("Claim(%+v): %v", c, err)
	}
	for _, e := range got {
		checkUTC(t, e)
	}
	return got
}

// mustUpdate updates and fails the test on error.
func mustUpdate(t *testing.T, l executionlog.Log, u executionlog.Update) {
	t.Helper()
	if err := l.Update(context.Background(), u); err != nil {
		t.Fatalf("Update(%+v): %v", u, err)
	}
}

// mustQuery queries and fails the test on error.
func mustQuery(t *testing.T, l executionlog.Log, f executionlog.Filter) executionlog.Page {
	t.Helper()
	p, err := l.Query(context.Background(), f)
	if err != nil {
		t.Fatalf("Query(%+v): %v", f, err)
	}
	for _, e := range p.Entries {
		checkUTC(t, e)
	}
	return p
}

// checkUTC reports times of e that are not in UTC.
func checkUTC(t *testing.T, e executionlog.Entry) {
	t.Helper()
	times := map[string]time.Time{
		"CreatedAt":     e.CreatedAt,
		"UpdatedAt":     e.UpdatedAt,
		"NextAttemptAt": e.NextAttemptAt,
		"LeaseUntil":    e.LeaseUntil,
	}
	for i, a := range e.Attempts {
		times[fmt.Sprintf("Attempts[%d].StartedAt", i)] = a.StartedAt
	}
	for name, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("entry %s: %s = %v is not in UTC", e.ID, name, tm)
		}
	}
}

// ids returns the ids of entries, in order.
func ids(entries []executionlog.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}
