package sqllog

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
)

// keyedEntry returns a pending entry created at at(d) for ticket with the
// change key key.
func keyedEntry(d time.Duration, ticket int, key string) *executionlog.Entry {
	e := newEntry(at(d), ticket)
	e.ChangeKey = key
	return e
}

// beginTx begins a transaction on l's database, rolled back when the test
// ends unless it was committed.
func beginTx(t *testing.T, l *Log) *sql.Tx {
	t.Helper()
	tx, err := l.db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// storedIDs returns the ids of the entries in the log, newest first.
func storedIDs(t *testing.T, l *Log) []string {
	t.Helper()
	page, err := l.Query(context.Background(), executionlog.Filter{Limit: executionlog.MaxLimit})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	out := make([]string, len(page.Entries))
	for i, e := range page.Entries {
		out[i] = e.ID
	}
	return out
}

// testAddTxDuplicateKey shows that AddTx skips a stored change key without
// an error in the database: the host's transaction goes on, writes and
// commits.
func testAddTxDuplicateKey(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	first := keyedEntry(0, 1, "chg-1")
	if err := tl.Add(ctx, []*executionlog.Entry{first}); err != nil {
		t.Fatalf("Add: %v", err)
	}

	tx := beginTx(t, tl.Log)
	dup, fresh := keyedEntry(time.Second, 1, "chg-1"), keyedEntry(2*time.Second, 2, "chg-2")
	if err := tl.AddTx(ctx, tx, []*executionlog.Entry{dup, fresh}); err != nil {
		t.Fatalf("AddTx(a stored key and a new one): %v", err)
	}
	// The host's transaction is still usable: it writes and reads more.
	later := newEntry(at(3*time.Second), 3)
	if err := tl.AddTx(ctx, tx, []*executionlog.Entry{later}); err != nil {
		t.Fatalf("AddTx after a skipped key: %v", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tl.entries).Scan(&n); err != nil {
		t.Fatalf("reading in the transaction after a skipped key: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit after a skipped key: %v", err)
	}
	if n != 3 {
		t.Errorf("entries seen in the transaction = %d, want 3", n)
	}
	if diff := cmp.Diff([]string{first.ID, "", ""}, []string{dup.DuplicateOf, fresh.DuplicateOf, later.DuplicateOf}); diff != "" {
		t.Errorf("DuplicateOf mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{later.ID, fresh.ID, first.ID}, storedIDs(t, tl.Log)); diff != "" {
		t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
	}
}

// testAddTxKeyRace shows that a transaction adding a key that another,
// open transaction has added learns the outcome of the other: skipped
// when it commits, stored when it rolls back.
func testAddTxKeyRace(t *testing.T, b backend) {
	tests := []struct {
		name   string
		commit bool
	}{
		{"FirstCommits", true},
		{"FirstRollsBack", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTestLog(t, b)
			ctx := context.Background()
			first, second := keyedEntry(0, 1, "chg-race"), keyedEntry(time.Second, 1, "chg-race")
			tx1 := beginTx(t, tl.Log)
			if err := tl.AddTx(ctx, tx1, []*executionlog.Entry{first}); err != nil {
				t.Fatalf("AddTx(first): %v", err)
			}
			done := make(chan error, 1)
			go func() {
				tx2, err := tl.db.BeginTx(ctx, nil)
				if err != nil {
					done <- err
					return
				}
				if err := tl.AddTx(ctx, tx2, []*executionlog.Entry{second}); err != nil {
					_ = tx2.Rollback()
					done <- err
					return
				}
				done <- tx2.Commit()
			}()
			end := tx1.Rollback
			if tc.commit {
				end = tx1.Commit
			}
			if err := end(); err != nil {
				t.Fatalf("ending the first transaction: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the second transaction: %v", err)
			}
			want, wantDup := []string{second.ID}, ""
			if tc.commit {
				want, wantDup = []string{first.ID}, first.ID
			}
			if second.DuplicateOf != wantDup {
				t.Errorf("DuplicateOf of the second = %q, want %q", second.DuplicateOf, wantDup)
			}
			if diff := cmp.Diff(want, storedIDs(t, tl.Log)); diff != "" {
				t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// testGroupAddsChangeKeys shows that Adds written in one batch each learn
// their own skipped entries, as they would alone.
func testGroupAddsChangeKeys(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	stored := keyedEntry(0, 9, "chg-0")
	if err := tl.Add(ctx, []*executionlog.Entry{stored}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	a, b1, b2 := keyedEntry(time.Second, 1, "chg-1"), keyedEntry(2*time.Second, 1, "chg-1"), newEntry(at(3*time.Second), 2)
	c := keyedEntry(4*time.Second, 9, "chg-0")
	calls := [][]*executionlog.Entry{{a}, {b1, b2}, {c}}
	fns := make([]func() error, len(calls))
	for i, entries := range calls {
		fns[i] = func() error { return tl.Add(ctx, entries) }
	}
	for i, err := range inBatch(t, tl.adds, fns) {
		if err != nil {
			t.Errorf("Add call %d: %v", i, err)
		}
	}
	// One of a and b1, which share a key, is stored, and the other names
	// it.
	winner, loser := a, b1
	if a.DuplicateOf != "" {
		winner, loser = b1, a
	}
	if diff := cmp.Diff([]string{"", winner.ID, "", stored.ID}, []string{winner.DuplicateOf, loser.DuplicateOf, b2.DuplicateOf, c.DuplicateOf}); diff != "" {
		t.Errorf("DuplicateOf of the winner, the loser, b2 and c mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{b2.ID, winner.ID, stored.ID}, storedIDs(t, tl.Log)); diff != "" {
		t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
	}
}

// migrateTo creates l's tables at schema version v: the migrations up to
// v, recorded as Migrate records them.
func migrateTo(t *testing.T, l *Log, v int) {
	t.Helper()
	ctx := context.Background()
	mustExec(t, l, "CREATE TABLE "+l.migrations+" (version INTEGER NOT NULL PRIMARY KEY, applied_at "+l.d.timeType()+" NOT NULL)")
	for _, m := range l.d.schema(l) {
		if m.version > v {
			break
		}
		for _, stmt := range m.stmts {
			if _, err := l.exec(ctx, l.db, stmt); err != nil {
				t.Fatalf("schema version %d: %v", m.version, err)
			}
		}
		mustExec(t, l, "INSERT INTO "+l.migrations+" (version, applied_at) VALUES (?, ?)", m.version, l.d.timeArg(at(0)))
	}
}

// migrationAdding returns the migration of l's dialect that adds column
// to the entries table.
func migrationAdding(t *testing.T, l *Log, column string) migration {
	t.Helper()
	for _, m := range l.d.schema(l) {
		for _, stmt := range m.stmts {
			if strings.Contains(stmt, "ADD COLUMN "+column+" ") {
				return m
			}
		}
	}
	t.Fatalf("no %s migration adds column %s", l.d, column)
	return migration{}
}

// testMigrateChangeKey upgrades tables of the schema before change keys,
// holding an entry and its attempt, and shows that the entry is kept
// without a key and that keys work from then on. The case "CutShort"
// also applies the new version's statements without recording it, as a
// MySQL migration cut short would leave them.
func testMigrateChangeKey(t *testing.T, b backend) {
	tests := []struct {
		name     string
		cutShort bool
	}{
		{"FromPrevious", false},
		{"CutShort", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := newPrefix(t)
			db := b.open(t, prefix)
			l, err := New(db, Config{Dialect: b.dialect, TablePrefix: prefix})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { dropTables(t, db, l) })
			schema := l.d.schema(l)
			last := migrationAdding(t, l, "change_key")
			if tc.cutShort && last.applied == "" {
				t.Skipf("the %s migration runs in a transaction: it cannot be cut short", l.d)
			}
			migrateTo(t, l, last.version-1)
			if tc.cutShort {
				for _, stmt := range last.stmts {
					mustExec(t, l, stmt)
				}
			}

			// An entry as the previous version wrote it, with one attempt.
			d := l.d
			old := newEntry(at(0), 7)
			old.NextAttemptAt = at(time.Minute)
			old.RequestHeaders = nil
			old.Attempts = []executionlog.Attempt{{Number: 1, StartedAt: at(time.Second), Duration: time.Second, StatusCode: 503,
				Error: "HTTP 503"}}
			mustExec(t, l, "INSERT INTO "+l.entries+" (id, trigger_id, trigger_name, action_index, ticket_id, event, url,"+
				" request_body, status, attempt_count, series_start, test, next_attempt_at, note, error_text, created_at, updated_at)"+
				" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, '', ?, ?, ?)",
				old.ID, old.TriggerID, old.TriggerName, old.ActionIndex, old.TicketID, old.Event, old.URL, old.RequestBody,
				string(old.Status), false, d.timeArg(old.NextAttemptAt), "\nhttp 503", d.timeArg(old.CreatedAt), d.timeArg(old.UpdatedAt))
			mustExec(t, l, "INSERT INTO "+l.attempts+" ("+attemptCols+") VALUES (?, 1, 1, ?, ?, 503, ?, NULL, ?)",
				old.ID, d.timeArg(at(time.Second)), int64(time.Second), []byte("HTTP 503"), false)

			if err := l.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if got := count(t, l, "SELECT COUNT(*) FROM "+l.migrations); got != len(schema) {
				t.Errorf("migrations recorded = %d, want %d", got, len(schema))
			}
			got := mustGetEntry(t, l, old.ID)
			if diff := cmp.Diff(*old, got, entryOpts); diff != "" {
				t.Errorf("entry kept through the migration mismatch (-want +got):\n%s", diff)
			}

			// Keys work on the migrated tables, for the same trigger and
			// action as the old entry, and unkeyed entries never collide.
			first, again := keyedEntry(time.Second, 7, "chg-1"), keyedEntry(2*time.Second, 7, "chg-1")
			plain := newEntry(at(3*time.Second), 7)
			if err := l.Add(context.Background(), []*executionlog.Entry{first, plain}); err != nil {
				t.Fatalf("Add after the migration: %v", err)
			}
			if err := l.Add(context.Background(), []*executionlog.Entry{again}); err != nil {
				t.Fatalf("Add of a stored key after the migration: %v", err)
			}
			if again.DuplicateOf != first.ID {
				t.Errorf("DuplicateOf after the migration = %q, want %q", again.DuplicateOf, first.ID)
			}
			if diff := cmp.Diff([]string{plain.ID, first.ID, old.ID}, storedIDs(t, l)); diff != "" {
				t.Errorf("stored entries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// testRecordAttemptErrors shows that RecordAttempt on an unknown id
// wraps ErrNotFound and changes nothing, and fails on a closed database
// with the driver's error.
func testRecordAttemptErrors(t *testing.T, b backend) {
	tl := newTestLog(t, b)
	ctx := context.Background()
	e := newEntry(at(0), 1)
	if err := tl.Add(ctx, []*executionlog.Entry{e}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	a := executionlog.Attempt{StartedAt: at(0), StatusCode: 200}
	if err := tl.RecordAttempt(ctx, newEntry(at(0), 2).ID, a, at(time.Second)); !errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("RecordAttempt(unknown id) error = %v, want ErrNotFound", err)
	}
	if got := count(t, tl.Log, "SELECT COUNT(*) FROM "+tl.attempts); got != 0 {
		t.Errorf("attempt rows after a refused RecordAttempt = %d, want 0", got)
	}
	db := b.open(t, tl.key)
	closed, err := New(db, Config{Dialect: b.dialect, TablePrefix: tl.prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	db.Close()
	if err := closed.RecordAttempt(ctx, e.ID, a, at(time.Second)); err == nil || errors.Is(err, executionlog.ErrNotFound) {
		t.Errorf("RecordAttempt on a closed database: error = %v, want the driver's", err)
	}
}

// BenchmarkAddChangeKey measures an Add of one entry, as the engine
// records a change that fires one webhook, from one goroutine: key=none
// without a change key, key=new with a fresh key (the insert that skips
// known keys, then the read of who holds them), key=known with a key the
// log holds (skipped).
//
//	go test -run '^$' -bench AddChangeKey -benchmem ./executionlog/sqllog/
func BenchmarkAddChangeKey(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, key := range []string{"none", "new", "known"} {
			b.Run("db="+kind+"/key="+key, func(b *testing.B) {
				db, d := benchOpen(b, kind, filepath.Join(b.TempDir(), "log.db"))
				l := benchLog(b, db, d, benchPrefix(), false)
				ctx := context.Background()
				now := time.Now()
				if key == "known" {
					e := benchEntry(now)
					e.ChangeKey = "evt-known"
					if err := l.Add(ctx, []*executionlog.Entry{e}); err != nil {
						b.Fatalf("Add: %v", err)
					}
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					e := benchEntry(now.Add(time.Duration(i) * time.Microsecond))
					switch key {
					case "new":
						e.ChangeKey = "evt-" + strconv.Itoa(i)
					case "known":
						e.ChangeKey = "evt-known"
					}
					if err := l.Add(ctx, []*executionlog.Entry{e}); err != nil {
						b.Fatalf("Add: %v", err)
					}
				}
			})
		}
	}
}
