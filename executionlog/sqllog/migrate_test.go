package sqllog

import (
	"context"
	"sync"
	"testing"

	"github.com/tickethooks/tickethooks/executionlog"
)

func testMigrateTwice(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	e := newEntry(at(0), 1)
	if err := tl.Add(ctx, []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	for i := range 2 {
		if err := tl.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again (%d): %v", i+1, err)
		}
	}
	if _, err := tl.Get(ctx, executionlog.Scope{}, e.ID); err != nil {
		t.Errorf("Get after Migrate again: %v", err)
	}
	want := len(b.dialect.schema(tl.Log))
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.migrations); got != want {
		t.Errorf("migrations recorded = %d, want %d", got, want)
	}
}

func testMigrateConcurrently(t *testing.T, b backend) {
	const engines = 4
	prefix := newPrefix(t)
	logs := make([]*Log, engines)
	for i := range logs {
		l, err := New(b.open(t, prefix), Config{Dialect: b.dialect, TablePrefix: prefix})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		logs[i] = l
		// Connect before the race: on SQLite, a connection's first
		// PRAGMA journal_mode=WAL on a new file may fail with
		// SQLITE_BUSY, without waiting, while another connection holds
		// the write lock. Migrate itself is what this test races.
		if err := l.db.PingContext(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	t.Cleanup(func() { dropTables(t, logs[0].db, logs[0]) })

	errs := make([]error, engines)
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Go(func() { errs[i] = l.Migrate(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate by %s: %v", label(i), err)
		}
	}
	want := len(b.dialect.schema(logs[0]))
	if got := count(t, logs[0], "SELECT COUNT(*) FROM "+logs[0].migrations); got != want {
		t.Errorf("migrations recorded = %d, want %d", got, want)
	}
	e := newEntry(at(0), 1)
	if err := logs[1].Add(context.Background(), []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add after concurrent Migrate: %v", err)
	}
	if _, err := logs[2].Get(context.Background(), executionlog.Scope{}, e.ID); err != nil {
		t.Errorf("Get through another engine: %v", err)
	}
}
