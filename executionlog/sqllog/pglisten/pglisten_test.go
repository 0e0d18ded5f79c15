package pglisten_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog/pglisten"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// pgLog opens a log with tables of its own on the server of
// TICKETHOOKS_POSTGRES_DSN, and drops them after the test.
func pgLog(t testing.TB) (*sql.DB, *sqllog.Log, string) {
	t.Helper()
	dsn := os.Getenv("TICKETHOOKS_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set TICKETHOOKS_POSTGRES_DSN to run the PostgreSQL listener tests")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	b := make([]byte, 5)
	rand.Read(b)
	prefix := "w" + hex.EncodeToString(b) + "_"
	log, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.Postgres, TablePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := log.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, table := range []string{"attempts", "entries", "migrations"} {
			if _, err := db.Exec(`DROP TABLE IF EXISTS "` + prefix + table + `"`); err != nil {
				t.Errorf("dropping %s: %v", table, err)
			}
		}
		db.Close()
	})
	return db, log, dsn
}

// receiver counts requests and notes when each ticket arrived.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]time.Time // body -> arrival
	ch  chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{got: map[string]time.Time{}, ch: make(chan struct{}, 1<<16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got[string(body)] = time.Now()
		r.mu.Unlock()
		r.ch <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// fleet starts n engines on log, each polling every poll, and, with
// listen, each woken by a listener of its own. Its triggers send the
// ticket id as the body.
func fleet(t testing.TB, n int, db *sql.DB, log *sqllog.Log, dsn, url string, poll time.Duration, listen bool) []*tickethooks.Engine {
	t.Helper()
	cfg := tickethooks.Config{
		Log: log, PollInterval: poll, Logger: slog.New(slog.DiscardHandler),
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	set, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "all", "actions": [{"type": "webhook", "url": %q, "body": "Ticket.Id"}]}]`, url),
		cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Triggers = trigger.NewStore(set)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var engines []*tickethooks.Engine
	for i := range n {
		cfg.Owner = fmt.Sprintf("engine-%d", i)
		e, err := tickethooks.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
		if listen {
			lcfg := pglisten.Config{ConnString: dsn, Channel: log.Channel(), Wake: e.Wake, Logger: cfg.Logger}
			// A test starts with every listener listening.
			ready := make(chan error, 1)
			var once sync.Once
			lcfg.Listening = func() { once.Do(func() { ready <- nil }) }
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := pglisten.Listen(ctx, lcfg); ctx.Err() == nil {
					ready <- err
				}
			}()
			if err := <-ready; err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, e := range engines {
			cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := e.Close(cctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			ccancel()
		}
	})
	_ = db
	return engines
}

// change records one change of ticket id in a host transaction, as
// OnTicketChangeTx does, and commits it. It may run on any goroutine. It
// returns when it asked for the commit.
func change(t testing.TB, db *sql.DB, e *tickethooks.Engine, id int) (commit time.Time) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Error(err)
		return commit
	}
	if err := e.OnTicketChangeTx(ctx, tx, nil, &payload.Ticket{Id: id, Status: "New"}); err != nil {
		tx.Rollback()
		t.Error(err)
		return commit
	}
	commit = time.Now()
	if err := tx.Commit(); err != nil {
		t.Error(err)
	}
	return commit
}

// waitFor waits until the receiver holds body, for at most d.
func (r *receiver) waitFor(t testing.TB, body string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		_, ok := r.got[body]
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("ticket %s not delivered within %v", body, d)
		}
	}
}

// TestCommitWakesTheFleet: engines that poll once an hour deliver a
// change committed in a host transaction at once, whichever engine
// recorded it, woken by the notification sent at commit; a rolled-back
// change is never delivered. Then the listeners' connections are killed:
// they reconnect, and the next commit is delivered too.
func TestCommitWakesTheFleet(t *testing.T) {
	db, log, dsn := pgLog(t)
	rcv := newReceiver(t)
	engines := fleet(t, 3, db, log, dsn, rcv.URL, time.Hour, true)
	// Let each engine's first poll, at start, pass.
	time.Sleep(200 * time.Millisecond)

	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := engines[0].OnTicketChangeTx(ctx, tx, nil, &payload.Ticket{Id: 999}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()

	for i := range 30 {
		change(t, db, engines[i%3], i+1)
		rcv.waitFor(t, fmt.Sprint(i+1), 10*time.Second)
	}

	// Kill every listening connection; each listener reconnects.
	var killed int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		"LISTEN "+`"`+log.Channel()+`"`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 3 {
		t.Errorf("killed %d listening connections, want 3", killed)
	}
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; n < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query = $1`, "LISTEN "+`"`+log.Channel()+`"`).Scan(&n)
	}
	change(t, db, engines[1], 100)
	rcv.waitFor(t, "100", 10*time.Second)

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if _, ok := rcv.got["999"]; ok {
		t.Error("a rolled-back change was delivered")
	}
	if len(rcv.got) != 31 {
		t.Errorf("receiver got %d tickets, want 31", len(rcv.got))
	}
}

func TestListenConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []pglisten.Config{
		{Channel: "c", Wake: func() {}},
		{ConnString: "postgres://x", Wake: func() {}},
		{ConnString: "postgres://x", Channel: "c"},
		{ConnString: "postgres://nobody@127.0.0.1:1/x?connect_timeout=1", Channel: "c", Wake: func() {}},
	} {
		if err := pglisten.Listen(ctx, cfg); err == nil {
			t.Errorf("Listen(%+v) = nil, want an error", cfg)
		}
	}
}

// BenchmarkWakeLatency measures, on a fleet of 3 engines sharing a
// PostgreSQL log, the time from the commit of a host transaction that
// called OnTicketChangeTx to the receipt of its webhook, at 500 changes
// a second (b.N changes, each from a goroutine of its own; -benchtime
// 1000x takes 2 s), from the call of Commit. mode=notify: each
// engine woken by a listener; mode=poll: the default 1 s poll alone.
// Reports p50-ms and p99-ms.
func BenchmarkWakeLatency(b *testing.B) {
	for _, mode := range []string{"notify", "poll"} {
		b.Run("mode="+mode, func(b *testing.B) {
			db, log, dsn := pgLog(b)
			rcv := newReceiver(b)
			engines := fleet(b, 3, db, log, dsn, rcv.URL, tickethooks.DefaultPollInterval, mode == "notify")
			committed := make([]time.Time, b.N+1)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			// One goroutine per change, so that the rate holds whatever
			// a commit takes.
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := 1; i <= b.N; i++ {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					committed[i] = change(b, db, engines[i%3], i)
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "changes/s")
			deadline := time.After(30 * time.Second)
			for n := 0; n < b.N; {
				select {
				case <-rcv.ch:
					n++
				case <-deadline:
					b.Fatalf("%d of %d delivered", n, b.N)
				}
			}
			b.StopTimer()
			rcv.mu.Lock()
			lat := make([]float64, 0, b.N)
			for i := 1; i <= b.N; i++ {
				lat = append(lat, float64(rcv.got[fmt.Sprint(i)].Sub(committed[i]))/float64(time.Millisecond))
			}
			rcv.mu.Unlock()
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-ms")
			b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
		})
	}
}
