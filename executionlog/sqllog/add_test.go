package sqllog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testAddTx(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()

	rolledBack := newEntry(at(0), 1)
	tx, err := tl.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	if err := tl.AddTx(ctx, tx, []*executionlog.Entry{rolledBack}); err != nil {
		t.Fatalf("AddTx: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if _, err := tl.Get(ctx, executionlog.Scope{}, rolledBack.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(entry of a rolled back AddTx) error = %v, want ErrNotFound", err)
	}

	committed := newEntry(at(time.Second), 2)
	tx, err = tl.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	if err := tl.AddTx(ctx, tx, []*executionlog.Entry{committed}); err != nil {
		t.Fatalf("AddTx: %v", err)
	}
	if _, err := tl.Get(ctx, executionlog.Scope{}, committed.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(entry of an uncommitted AddTx) error = %v, want ErrNotFound", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, err := tl.Get(ctx, executionlog.Scope{}, committed.ID)
	if err != nil {
		t.Fatalf("Get(entry of a committed AddTx): %v", err)
	}
	if diff := cmp.Diff(*committed, got, entryOpts); diff != "" {
		t.Errorf("committed entry mismatch (-want +got):\n%s", diff)
	}

	if err := tl.AddTx(ctx, nil, []*executionlog.Entry{newEntry(at(0), 3)}); err == nil {
		t.Error("AddTx(nil transaction) succeeded, want an error")
	}
}

func testClosedDB(t *testing.T, b backend) {
	ctx := context.Background()
	tl := newTestLog(t, b)
	db := b.open(t, tl.key)
	l, err := New(db, Config{Dialect: b.dialect, TablePrefix: tl.prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	e := newEntry(at(0), 1)
	err = l.Add(ctx, []*executionlog.Entry{e})
	if err == nil || !strings.Contains(err.Error(), "sqllog: add 1 entries") || !strings.Contains(err.Error(), "database is closed") {
		t.Errorf("Add on a closed database: error = %v, want a wrapped 'database is closed'", err)
	}
	calls := map[string]func() error{
		"Claim": func() error {
			_, err := l.Claim(ctx, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 1})
			return err
		},
		"Update": func() error {
			return l.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Status: executionlog.StatusFailed, Now: at(0)})
		},
		"Get":     func() error { _, err := l.Get(ctx, executionlog.Scope{}, e.ID); return err },
		"Query":   func() error { _, err := l.Query(ctx, executionlog.Filter{}); return err },
		"Prune":   func() error { _, err := l.Prune(ctx, executionlog.Scope{}, at(0)); return err },
		"Migrate": func() error { return l.Migrate(ctx) },
	}
	for name, call := range calls {
		if err := call(); err == nil || !strings.Contains(err.Error(), "database is closed") {
			t.Errorf("%s on a closed database: error = %v, want a wrapped 'database is closed'", name, err)
		}
	}
	if _, err := tl.Get(ctx, executionlog.Scope{}, e.ID); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("Get(entry added through a closed database) error = %v, want ErrNotFound", err)
	}
}

func testUnreachableDB(t *testing.T, b backend) {
	db, err := b.unreachable()
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := New(db, Config{Dialect: b.dialect})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = l.Add(context.Background(), []*executionlog.Entry{newEntry(at(0), 1)})
	if err == nil || !strings.Contains(err.Error(), "sqllog: add 1 entries: begin transaction: ") {
		t.Errorf("Add on an unreachable database: error = %v, want a wrapped connection error", err)
	}
	if err := l.Migrate(context.Background()); err == nil {
		t.Error("Migrate on an unreachable database succeeded, want an error")
	}
}

func testExactRoundTrip(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()

	e := newEntry(at(999*time.Nanosecond), 1<<40)
	e.ActionIndex = 1 << 33
	e.TriggerName = "Notificar ERP ✓ 日本"
	e.RequestHeaders = map[string]string{"X-Üml": "välue", "Empty": ""}
	e.RequestBody = []byte{0, 1, 2, 0xff, 0xfe, '{', '}'}
	e.NextAttemptAt = time.Time{} // due at once, like in the memory log
	if err := tl.Add(ctx, []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	want := *e
	want.CreatedAt = microUTC(e.CreatedAt)
	want.UpdatedAt = microUTC(e.UpdatedAt)
	got, err := tl.Get(ctx, executionlog.Scope{}, e.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("entry mismatch (-want +got):\n%s", diff)
	}

	// Sub-microsecond bounds compare with the stored, truncated time.
	for _, tc := range []struct {
		name string
		f    executionlog.Filter
		want int
	}{
		{"FromJustAfter", executionlog.Filter{From: want.CreatedAt.Add(time.Nanosecond)}, 0},
		{"FromAt", executionlog.Filter{From: want.CreatedAt}, 1},
		{"ToJustAfter", executionlog.Filter{To: want.CreatedAt.Add(time.Nanosecond)}, 1},
		{"CursorJustAfter", executionlog.Filter{Cursor: executionlog.EncodeCursor(want.CreatedAt.Add(time.Nanosecond), "0")}, 1},
	} {
		page, err := tl.Query(ctx, tc.f)
		if err != nil {
			t.Fatalf("Query(%s): %v", tc.name, err)
		}
		if len(page.Entries) != tc.want {
			t.Errorf("Query(%s) returned %d entries, want %d", tc.name, len(page.Entries), tc.want)
		}
	}

	claimed, err := tl.Claim(ctx, executionlog.Claim{Owner: "a", Now: at(0), Lease: time.Minute, Limit: 1})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim(entry due at the zero time) = %d entries, %v; want 1", len(claimed), err)
	}
	a := executionlog.Attempt{Number: 7, StartedAt: at(time.Second), Duration: 1234567891 * time.Nanosecond,
		StatusCode: 502, Error: "bad \xff byte\x00 and NUL", ResponseBody: "\x00\xfe body ✓", ResponseTruncated: true}
	if err := tl.Update(ctx, executionlog.Update{ID: e.ID, Owner: "a", Attempt: &a, Status: executionlog.StatusFailed,
		Now: at(2 * time.Second)}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want.Attempts = []executionlog.Attempt{a}
	want.Attempts[0].Number = 1 // the log numbers attempts
	want.Status = executionlog.StatusFailed
	want.UpdatedAt = microUTC(at(2 * time.Second))
	want.Attempts[0].StartedAt = microUTC(a.StartedAt)
	got, err = tl.Get(ctx, executionlog.Scope{}, e.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("entry after Update mismatch (-want +got):\n%s", diff)
	}
}

func testAddFinalEntries(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()

	// Enough entries and attempts for several INSERT statements of each.
	const n = insertRows + 50
	entries := make([]*executionlog.Entry, n)
	for i := range entries {
		e := newEntry(at(time.Duration(i)*time.Second), i+1)
		e.Status, e.Test = executionlog.StatusFailed, i%2 == 0
		e.SeriesStart = 1
		e.Attempts = []executionlog.Attempt{
			{Number: 1, StartedAt: at(0), Duration: time.Second, StatusCode: 503, Error: fmt.Sprintf("HTTP 503 #%d", i)},
			{Number: 2, StartedAt: at(time.Minute), StatusCode: 0, Error: "bad \xff byte\x00 and NUL", ResponseBody: "\x00\xfe ✓",
				ResponseTruncated: true},
		}
		entries[i] = e
	}
	if err := tl.Add(ctx, entries); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.attempts); got != 2*n {
		t.Errorf("attempt rows = %d, want %d", got, 2*n)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.entries+" WHERE attempt_count = 2 AND series_start = 1 AND next_attempt_at IS NULL"); got != n {
		t.Errorf("entry rows with 2 attempts, series start 1 and no due time = %d, want %d", got, n)
	}

	want := *entries[7]
	want.NextAttemptAt = time.Time{}
	want.Attempts = append([]executionlog.Attempt(nil), want.Attempts...)
	for i := range want.Attempts {
		want.Attempts[i].StartedAt = microUTC(want.Attempts[i].StartedAt)
	}
	got, err := tl.Get(ctx, executionlog.Scope{}, want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, entryOpts); diff != "" {
		t.Errorf("entry mismatch (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		text string
		want int
	}{
		{"http 503 #249", 1},
		{"BYTE\x00 AND", n},
		{"503 #24", 11}, // #24, #240..#249
	} {
		if got := len(queryAll(t, tl, executionlog.Filter{ErrorText: tc.text, Limit: 100})); got != tc.want {
			t.Errorf("Query(ErrorText %q) found %d entries, want %d", tc.text, got, tc.want)
		}
	}
}
