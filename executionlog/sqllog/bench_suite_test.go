package sqllog

// The SQL log part of the benchmark suite (see BENCHMARKS.md at the
// repository root): one delivery's work in the log beside the minimal raw
// SQL, and (with TICKETHOOKS_BIG=1) queries on a million entries.
//
//	go test -run '^$' -bench LogCycle -benchmem ./executionlog/sqllog/
//	go test -run '^$' -bench LogCycleParallel -benchmem ./executionlog/sqllog/
//	TICKETHOOKS_BIG=1 go test -run '^$' -bench BigQuery -timeout 60m ./executionlog/sqllog/
//
// PostgreSQL runs when TICKETHOOKS_POSTGRES_DSN is set, under table
// prefixes of the benchmarks' own, dropped afterwards.

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/tickethooks/tickethooks/executionlog"
)

// benchSQLiteDSN opens the benchmarks' SQLite files: WAL, and writers
// waiting for each other up to 10 s.
const benchSQLiteDSN = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"

// benchOpen opens the database of kind ("sqlite", in a file at path,
// "postgres" or "mysql"), skipping the benchmark when the server is not
// configured.
func benchOpen(b *testing.B, kind, path string) (*sql.DB, Dialect) {
	b.Helper()
	switch kind {
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+path+benchSQLiteDSN)
		if err != nil {
			b.Fatalf("sql.Open: %v", err)
		}
		return db, SQLite
	case "postgres":
		dsn := os.Getenv("TICKETHOOKS_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("set TICKETHOOKS_POSTGRES_DSN to benchmark the PostgreSQL log")
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			b.Fatalf("sql.Open: %v", err)
		}
		db.SetMaxOpenConns(8)
		return db, Postgres
	case "mysql":
		dsn := os.Getenv("TICKETHOOKS_MYSQL_DSN")
		if dsn == "" {
			b.Skip("set TICKETHOOKS_MYSQL_DSN to benchmark the MySQL/MariaDB log")
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			b.Fatalf("sql.Open: %v", err)
		}
		db.SetMaxOpenConns(8)
		return db, MySQL
	}
	b.Fatalf("unknown database %q", kind)
	return nil, nil
}

// benchLog returns a migrated log under prefix. Unless keep is set, its
// tables are dropped and its database closed when the benchmark ends.
func benchLog(b *testing.B, db *sql.DB, d Dialect, prefix string, keep bool) *Log {
	b.Helper()
	l, err := New(db, Config{Dialect: d, TablePrefix: prefix})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	if !keep {
		b.Cleanup(func() {
			benchDrop(b, l)
			db.Close()
		})
	}
	if err := l.Migrate(context.Background()); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	return l
}

// benchDrop drops the tables of l.
func benchDrop(tb testing.TB, l *Log) {
	for _, table := range []string{l.attempts, l.entries, l.migrations} {
		if _, err := l.db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			tb.Errorf("dropping %s: %v", table, err)
		}
	}
}

// benchPrefix returns a fresh table prefix.
func benchPrefix() string {
	var b [5]byte
	_, _ = crand.Read(b[:])
	return "bench" + hex.EncodeToString(b[:]) + "_"
}

// benchEntry is a pending entry as the engine records it.
func benchEntry(now time.Time) *executionlog.Entry {
	id := executionlog.NewID(now)
	return &executionlog.Entry{
		ID: id, TriggerID: "resolved-urgent", TriggerName: "Resolved urgent tickets", TicketID: 48213,
		Event: "updated", URL: "https://erp.example.com/hooks/tickets",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "Authorization": "[REDACTED]", "Webhook-Id": id},
		RequestBody:    []byte(`{"Id":48213,"Subject":"Impressora não liga","Status":"Resolved","Urgency":"Critical","ServiceFirstLevel":"TI"}`),
		Status:         executionlog.StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
}

// BenchmarkLogCycle measures one delivery's work in a SQL log, from one
// goroutine. impl=ours: Add one entry, Claim it, Update it to succeeded
// with its attempt. impl=rawsql: the minimal statements on the same
// tables: INSERT the row; claim it with one UPDATE ... RETURNING id, url,
// request_body (SKIP LOCKED on PostgreSQL); then UPDATE it to succeeded
// and INSERT its attempt in one transaction. Target: ours >= 0.8x rawsql
// in cycles per second.
func BenchmarkLogCycle(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run("db="+kind+"/impl=ours", func(b *testing.B) {
			db, d := benchOpen(b, kind, filepath.Join(b.TempDir(), "log.db"))
			l := benchLog(b, db, d, benchPrefix(), false)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				now := time.Now()
				if err := l.Add(ctx, []*executionlog.Entry{benchEntry(now)}); err != nil {
					b.Fatal(err)
				}
				got, err := l.Claim(ctx, executionlog.Claim{Owner: "bench", Now: time.Now(), Lease: time.Minute, Limit: 1})
				if err != nil || len(got) != 1 {
					b.Fatalf("Claim: %d entries, %v", len(got), err)
				}
				now = time.Now()
				if err := l.Update(ctx, executionlog.Update{ID: got[0].ID, Owner: "bench", Status: executionlog.StatusSucceeded,
					Attempt: &executionlog.Attempt{Number: 1, StartedAt: now, Duration: time.Millisecond, StatusCode: 200, ResponseBody: "ok"},
					Now:     now}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("db="+kind+"/impl=rawsql", func(b *testing.B) {
			db, d := benchOpen(b, kind, filepath.Join(b.TempDir(), "log.db"))
			l := benchLog(b, db, d, benchPrefix(), false)
			insert, claim, done, attempt, headers := rawStatements(l)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				now := time.Now()
				e := benchEntry(now)
				if _, err := db.ExecContext(ctx, insert, e.ID, e.TriggerID, e.TriggerName, e.TicketID, e.URL, headers, e.RequestBody,
					d.timeArg(now), d.timeArg(now), d.timeArg(now)); err != nil {
					b.Fatal(err)
				}
				now = time.Now()
				var id, url string
				var body []byte
				if err := db.QueryRowContext(ctx, claim, "bench", d.timeArg(now.Add(time.Minute)), d.timeArg(now), d.timeArg(now)).Scan(&id, &url, &body); err != nil {
					b.Fatal(err)
				}
				now = time.Now()
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, done, d.timeArg(now), id, "bench"); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, attempt, id, d.timeArg(now), int64(time.Millisecond), []byte{}, []byte("ok"), false); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLogCycleParallel measures the log cycle of BenchmarkLogCycle
// from workers goroutines at once, as an engine's delivery workers and the
// host's OnTicketChange callers make it; each op is one cycle, and
// cycles/s is the throughput. impl=ours: each goroutine Adds one entry,
// Claims one due entry (any goroutine's) and Updates it to succeeded with
// its attempt. impl=rawsql: the same goroutines run BenchmarkLogCycle's
// raw statements, each INSERT and claim its own transaction, the UPDATE
// and the attempt's INSERT one transaction. SQLite runs on one connection,
// as the package documentation recommends; PostgreSQL on a pool of 16
// connections that keeps them idle (see benchParallelLog). Target: ours
// >= 0.8x rawsql.
func BenchmarkLogCycleParallel(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, workers := range []int{8, 64} {
			prefix := fmt.Sprintf("log=%s/workers=%d", kind, workers)
			b.Run(prefix+"/impl=ours", func(b *testing.B) {
				l := benchParallelLog(b, kind)
				ctx := context.Background()
				benchParallel(b, workers, func(owner string) error {
					now := time.Now()
					if err := l.Add(ctx, []*executionlog.Entry{benchEntry(now)}); err != nil {
						return err
					}
					var got []executionlog.Entry
					for len(got) == 0 {
						var err error
						got, err = l.Claim(ctx, executionlog.Claim{Owner: owner, Now: time.Now(), Lease: time.Minute, Limit: 1})
						if err != nil {
							return err
						}
					}
					now = time.Now()
					return l.Update(ctx, executionlog.Update{ID: got[0].ID, Owner: owner, Status: executionlog.StatusSucceeded,
						Attempt: &executionlog.Attempt{Number: 1, StartedAt: now, Duration: time.Millisecond, StatusCode: 200, ResponseBody: "ok"},
						Now:     now})
				})
			})
			b.Run(prefix+"/impl=rawsql", func(b *testing.B) {
				l := benchParallelLog(b, kind)
				db, d := l.db, l.d
				insert, claim, done, attempt, headers := rawStatements(l)
				ctx := context.Background()
				benchParallel(b, workers, func(owner string) error {
					now := time.Now()
					e := benchEntry(now)
					if _, err := db.ExecContext(ctx, insert, e.ID, e.TriggerID, e.TriggerName, e.TicketID, e.URL, headers, e.RequestBody,
						d.timeArg(now), d.timeArg(now), d.timeArg(now)); err != nil {
						return err
					}
					var id, url string
					var body []byte
					for {
						now = time.Now()
						err := db.QueryRowContext(ctx, claim, owner, d.timeArg(now.Add(time.Minute)), d.timeArg(now), d.timeArg(now)).Scan(&id, &url, &body)
						if err == nil {
							break
						}
						if !errors.Is(err, sql.ErrNoRows) {
							return err
						}
					}
					now = time.Now()
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					if _, err := tx.ExecContext(ctx, done, d.timeArg(now), id, owner); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, attempt, id, d.timeArg(now), int64(time.Millisecond), []byte{}, []byte("ok"), false); err != nil {
						return err
					}
					return tx.Commit()
				})
			})
		}
	}
}

// benchParallelLog returns a migrated log for BenchmarkLogCycleParallel:
// SQLite on one connection; PostgreSQL on a pool of 16 that keeps 16 idle
// (TICKETHOOKS_BENCH_POSTGRES_IDLE changes that; 2 is database/sql's
// default).
func benchParallelLog(b *testing.B, kind string) *Log {
	db, d := benchOpen(b, kind, filepath.Join(b.TempDir(), "log.db"))
	if kind == "sqlite" {
		db.SetMaxOpenConns(1)
	} else {
		idle := 16
		if v, err := strconv.Atoi(os.Getenv("TICKETHOOKS_BENCH_POSTGRES_IDLE")); err == nil {
			idle = v
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(idle)
	}
	return benchLog(b, db, d, benchPrefix(), false)
}

// benchParallel runs cycle b.N times in all from workers goroutines, each
// with its own owner name, and reports cycles/s.
func benchParallel(b *testing.B, workers int, cycle func(owner string) error) {
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("bench-%d", w)
			for next.Add(1) <= int64(b.N) {
				if err := cycle(owner); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
}

// bigBenchPrefix is the table prefix of the PostgreSQL million-entry log
// kept between runs when TICKETHOOKS_BIG_DIR is set.
const bigBenchPrefix = "thbigtenants_"

// bigBenchLog returns a log of bigRows entries (as TestBig loads them:
// created one a second up to base, spread over bigTenants tenants, each
// with one attempt; 20% failed or pending with an error) and a ticket id
// of bigTenant that has entries.
//
// When TICKETHOOKS_BIG_DIR is set, the log is kept for later runs: SQLite
// in a file in that directory, PostgreSQL under bigBenchPrefix (drop it
// with TestBigBenchDrop). Otherwise it is loaded afresh and removed when
// the benchmark ends.
func bigBenchLog(b *testing.B, kind string) (*Log, int) {
	b.Helper()
	dir, keep := os.Getenv("TICKETHOOKS_BIG_DIR"), true
	if dir == "" {
		dir, keep = b.TempDir(), false
	}
	ctx := context.Background()
	switch kind {
	case "sqlite":
		path := filepath.Join(dir, "big-sqlite-tenants.db")
		if _, err := os.Stat(path); err != nil {
			tmp := path + ".loading"
			for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
				_ = os.Remove(f)
			}
			db, d := benchOpen(b, kind, tmp)
			loadBigBench(b, benchLog(b, db, d, DefaultTablePrefix, true))
			if err := db.Close(); err != nil {
				b.Fatalf("closing the loaded database: %v", err)
			}
			if err := os.Rename(tmp, path); err != nil {
				b.Fatal(err)
			}
		}
		db, d := benchOpen(b, kind, path)
		b.Cleanup(func() { db.Close() })
		l := benchLog(b, db, d, DefaultTablePrefix, true)
		return l, bigTicket(b, l)
	case "postgres":
		db, d := benchOpen(b, kind, "")
		prefix := bigBenchPrefix
		if !keep {
			prefix = benchPrefix()
		}
		l := benchLog(b, db, d, prefix, keep)
		if keep {
			b.Cleanup(func() { db.Close() })
		}
		var n int
		if err := l.queryRow(ctx, db, "SELECT COUNT(*) FROM "+l.entries).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n != bigRows {
			if n != 0 {
				benchDrop(b, l)
				l = benchLog(b, db, d, prefix, keep)
			}
			loadBigBench(b, l)
		}
		return l, bigTicket(b, l)
	}
	b.Fatalf("unknown database %q", kind)
	return nil, 0
}

// loadBigBench writes bigRows entries as loadBig does, through Add in
// batches (loadBig takes a *testing.T, which a benchmark does not have).
func loadBigBench(b *testing.B, l *Log) {
	start := time.Now()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 10_000
	entries := make([]*executionlog.Entry, 0, batch)
	for i := range bigRows {
		created := base.Add(-time.Duration(bigRows-1-i) * time.Second)
		tenant, ticket, errText, code := bigRow(rng, i)
		status, next := executionlog.StatusSucceeded, time.Time{}
		switch {
		case errText != "" && i%3 == 0:
			status, next = executionlog.StatusPending, created.Add(time.Hour)
		case errText != "":
			status = executionlog.StatusFailed
		}
		entries = append(entries, &executionlog.Entry{
			ID: executionlog.NewID(created), Tenant: tenant, TriggerID: fmt.Sprintf("trg-%d", i%20), TriggerName: "Notify ERP",
			TicketID: ticket, Event: "updated", URL: "https://erp.example.com/hooks",
			RequestHeaders: map[string]string{"Content-Type": "application/json", "Authorization": "[REDACTED]"},
			RequestBody:    fmt.Appendf(nil, `{"Id":%d,"Subject":"Impressora não liga","Status":"Novo","Urgency":"Alta","ServiceFirstLevel":"TI"}`, ticket),
			Status:         status, NextAttemptAt: next, CreatedAt: created, UpdatedAt: created,
			Attempts: []executionlog.Attempt{{Number: 1, StartedAt: created, Duration: 250 * time.Millisecond,
				StatusCode: code, Error: errText, ResponseBody: `{"ok":false}`}},
		})
		if len(entries) == batch {
			if err := l.Add(ctx, entries); err != nil {
				b.Fatalf("loading: %v", err)
			}
			entries = entries[:0]
		}
	}
	analyze := map[Dialect][]string{
		SQLite:   {"ANALYZE"},
		Postgres: {"ANALYZE " + l.entries, "ANALYZE " + l.attempts},
	}
	for _, stmt := range analyze[l.d] {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	b.Logf("%s: loaded %d entries in %v", l.d, bigRows, time.Since(start).Round(time.Second))
}

// BenchmarkBigQuery measures one tenant's queries on a log of a million
// entries spread over 1,000 tenants (see bigBenchLog and bigRow), each
// query of bigTenant, which holds a thousand of them: q=ticket, one
// ticket's entries (about 10); q=day, the newest page of one day (about
// 86 entries); q=error_rare, an error text in about 10 of the tenant's
// entries, which scans all of its entries with an error; q=error_common,
// an error text in 5% of its entries; q=failed, the newest page of its
// failed entries.
// It is skipped unless TICKETHOOKS_BIG=1; loading takes about a minute
// per database, once when TICKETHOOKS_BIG_DIR is set.
//
// Targets on SQLite: ticket and day <= 2 ms, error text <= 200 ms.
func BenchmarkBigQuery(b *testing.B) {
	if os.Getenv("TICKETHOOKS_BIG") != "1" {
		b.Skip("set TICKETHOOKS_BIG=1 to measure queries on a million entries")
	}
	dayEnd := base.Truncate(24 * time.Hour)
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run("db="+kind, func(b *testing.B) {
			l, ticket := bigBenchLog(b, kind)
			queries := []struct {
				name string
				f    executionlog.Filter
			}{
				{"ticket", executionlog.Filter{Tenant: bigTenant, TicketID: ticket}},
				{"day", executionlog.Filter{Tenant: bigTenant, From: dayEnd.Add(-24 * time.Hour), To: dayEnd}},
				{"error_rare", executionlog.Filter{Tenant: bigTenant, ErrorText: "certificate signed by unknown"}},
				{"error_common", executionlog.Filter{Tenant: bigTenant, ErrorText: "Service Unavailable"}},
				{"failed", executionlog.Filter{Tenant: bigTenant, Status: executionlog.StatusFailed}},
			}
			for _, q := range queries {
				b.Run("q="+q.name, func(b *testing.B) {
					ctx := context.Background()
					var n int
					b.ReportAllocs()
					for b.Loop() {
						page, err := l.Query(ctx, q.f)
						if err != nil {
							b.Fatal(err)
						}
						n = len(page.Entries)
					}
					if n == 0 {
						b.Fatalf("query %s found nothing", q.name)
					}
					b.ReportMetric(float64(n), "entries")
				})
			}
		})
	}
}

// TestBigBenchDrop drops the PostgreSQL tables BenchmarkBigQuery keeps
// when TICKETHOOKS_BIG_DIR is set. It runs only with
// TICKETHOOKS_BIG_DROP=1 (the benchmark runner sets it when it is done).
func TestBigBenchDrop(t *testing.T) {
	dsn := os.Getenv("TICKETHOOKS_POSTGRES_DSN")
	if os.Getenv("TICKETHOOKS_BIG_DROP") != "1" || dsn == "" {
		t.Skip("set TICKETHOOKS_BIG_DROP=1 and TICKETHOOKS_POSTGRES_DSN to drop the kept million-entry tables")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := New(db, Config{Dialect: Postgres, TablePrefix: bigBenchPrefix})
	if err != nil {
		t.Fatal(err)
	}
	benchDrop(t, l)
	if err := db.PingContext(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// rawStatements returns the statements of the raw SQL baselines on l's
// tables: insert a pending entry, claim one due entry, mark it done, and
// insert its attempt; and the headers the inserted entries keep.
func rawStatements(l *Log) (insert, claim, done, attempt, headers string) {
	d := l.d
	insert = d.rebind("INSERT INTO " + l.entries + " (id, trigger_id, trigger_name, action_index, ticket_id, event, url," +
		" request_headers, request_body, status, attempt_count, next_attempt_at, error_text, note, created_at, updated_at)" +
		" VALUES (?, ?, ?, 0, ?, 'updated', ?, ?, ?, 'pending', 0, ?, '', '', ?, ?)")
	lock := ""
	if d == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	claim = d.rebind("UPDATE " + l.entries + " SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM " + l.entries +
		" WHERE " + dueCondition + " ORDER BY next_attempt_at, id LIMIT 1" + lock + ") RETURNING id, url, request_body")
	done = d.rebind("UPDATE " + l.entries + " SET status = 'succeeded', next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL," +
		" attempt_count = 1, updated_at = ? WHERE id = ? AND lease_owner = ?")
	attempt = d.rebind("INSERT INTO " + l.attempts + " (" + attemptCols + ") VALUES (?, 1, 1, ?, ?, 200, ?, ?, ?)")
	headers = `{"Authorization":"[REDACTED]","Content-Type":"application/json","Webhook-Id":"x"}`
	return insert, claim, done, attempt, headers
}
