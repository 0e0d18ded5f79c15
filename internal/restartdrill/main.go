// Command restartdrill measures what a fleet of engines does when its
// database restarts under load: how many webhooks receivers get twice, how
// many changes are lost or stranded, and how long the backlog takes to
// drain once the database is back.
//
// Two engines, each with a pool of its own as two processes would have,
// share one SQL log. Changes are reported at -rate per second for
// -duration. At a third of the run the database is restarted with
// -restart, and at two thirds killed and started again with -kill. Each
// command is run with sh -c; both must return once the server is back.
//
//	go run ./internal/restartdrill -driver pgx -dsn 'postgres://postgres@127.0.0.1:5433/test?sslmode=disable' \
//	    -restart 'pg_ctl -D /tmp/pgdrill -m fast -w restart' \
//	    -kill 'kill -9 $(head -1 /tmp/pgdrill/postmaster.pid); sleep 1; pg_ctl -D /tmp/pgdrill -w start'
//
// Run it against a server of its own, never one that other work shares:
// it restarts and kills it. It creates its tables under a fresh prefix and
// drops them at the end.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql" // registered as "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

func main() {
	driver := flag.String("driver", "pgx", "database/sql driver: pgx or mysql")
	dsn := flag.String("dsn", "", "the database to use (required)")
	rate := flag.Int("rate", 200, "changes reported per second")
	duration := flag.Duration("duration", 30*time.Second, "how long changes are reported")
	restart := flag.String("restart", "", "shell command that restarts the server gracefully and returns once it is back")
	kill := flag.String("kill", "", "shell command that kills the server (kill -9), starts it, and returns once it is back")
	drain := flag.Duration("drain", 5*time.Minute, "how long to wait for the backlog to drain after the last change")
	flag.Parse()
	if *dsn == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*driver, *dsn, *rate, *duration, *restart, *kill, *drain); err != nil {
		log.Fatal(err)
	}
}

// receiver counts the deliveries it gets by webhook-id.
type receiver struct {
	mu  sync.Mutex
	ids map[string]int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	r.ids[req.Header.Get("webhook-id")]++
	r.mu.Unlock()
}

// counts returns the requests received and the distinct ids among them.
func (r *receiver) counts() (requests, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ids {
		requests += n
	}
	return requests, len(r.ids)
}

func run(driver, dsn string, rate int, duration time.Duration, restart, kill string, drainFor time.Duration) error {
	dialect := sqllog.Postgres
	if driver == "mysql" {
		dialect = sqllog.MySQL
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "drill_" + hex.EncodeToString(b[:]) + "_"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rcv := &receiver{ids: map[string]int{}}
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	set, err := trigger.Parse([]byte(fmt.Sprintf(`[{"id": "drill", "name": "Every change",
		"conditions": {"all": [{"field": "Status", "operator": "changed"}]},
		"actions": [{"type": "webhook", "url": "http://%s/hook"}]}]`, ln.Addr())),
		&trigger.Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		return err
	}
	triggers := trigger.NewStore(set)

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	var pools []*sql.DB
	var logs []*sqllog.Log
	for range 3 { // an admin pool, then one per engine
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return err
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		defer db.Close()
		l, err := sqllog.New(db, sqllog.Config{Dialect: dialect, TablePrefix: prefix})
		if err != nil {
			return err
		}
		pools, logs = append(pools, db), append(logs, l)
	}
	ctx := context.Background()
	if err := logs[0].Migrate(ctx); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer func() {
		for _, table := range []string{"attempts", "entries", "migrations"} {
			_, _ = pools[0].Exec("DROP TABLE IF EXISTS " + prefix + table)
		}
	}()

	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	var engines []*tickethooks.Engine
	for i, l := range logs[1:] {
		e, err := tickethooks.New(tickethooks.Config{Triggers: triggers, Log: l, Sender: sender, Logger: logger,
			Owner: fmt.Sprintf("drill-%d", i)})
		if err != nil {
			return err
		}
		engines = append(engines, e)
	}

	// Report changes at rate, alternating engines, each call on its own
	// goroutine as a busy host's requests would be.
	var ok, failed atomic.Int64
	var calls sync.WaitGroup
	start := time.Now()
	stopFeed := time.After(duration)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	events := []struct {
		at   time.Duration
		name string
		cmd  string
	}{{duration / 3, "graceful restart", restart}, {2 * duration / 3, "kill -9 and start", kill}}
	var backAt time.Time // when the last restart command returned
	var commands sync.WaitGroup
	for _, ev := range events {
		if ev.cmd == "" {
			continue
		}
		commands.Add(1)
		time.AfterFunc(ev.at, func() {
			defer commands.Done()
			t0 := time.Now()
			out, err := exec.Command("sh", "-c", ev.cmd).CombinedOutput()
			fmt.Printf("%6.1fs %s took %v (err %v)\n", time.Since(start).Seconds(), ev.name, time.Since(t0).Round(time.Millisecond), err)
			if err != nil {
				fmt.Printf("%s\n", out)
			}
			backAt = time.Now()
		})
	}
	n := 0
feed:
	for {
		select {
		case <-stopFeed:
			break feed
		case <-tick.C:
		}
		n++
		id := n
		e := engines[n%len(engines)]
		calls.Add(1)
		go func() {
			defer calls.Done()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			before := &payload.Ticket{Id: id, Status: "Open"}
			after := &payload.Ticket{Id: id, Status: "Resolved", Subject: "restart drill"}
			if err := e.OnTicketChange(cctx, before, after); err != nil {
				failed.Add(1)
				return
			}
			ok.Add(1)
		}()
	}
	tick.Stop()
	calls.Wait()
	commands.Wait()
	fed := time.Now()
	if backAt.IsZero() {
		backAt = fed
	}

	// Wait until no entry is pending.
	var pending int
	for deadline := time.Now().Add(drainFor); ; {
		pending, err = count(ctx, logs[0], executionlog.StatusPending)
		if err == nil && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	drained := time.Now()
	for _, e := range engines {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_ = e.Close(cctx)
		cancel()
	}
	succeeded, err := count(ctx, logs[0], executionlog.StatusSucceeded)
	if err != nil {
		return err
	}
	failedEntries, err := count(ctx, logs[0], executionlog.StatusFailed)
	if err != nil {
		return err
	}
	multi, err := attemptsOver1(ctx, logs[0])
	if err != nil {
		return err
	}
	requests, distinct := rcv.counts()
	fmt.Printf("changes reported: %d (nil %d, error %d)\n", n, ok.Load(), failed.Load())
	fmt.Printf("entries: %d succeeded, %d failed, %d still pending; %d with more than one attempt\n", succeeded, failedEntries, pending, multi)
	fmt.Printf("receiver: %d requests, %d distinct webhook-ids, %d duplicates\n", requests, distinct, requests-distinct)
	fmt.Printf("drain: %v after the last change, %v after the database was last back\n",
		drained.Sub(fed).Round(100*time.Millisecond), drained.Sub(backAt).Round(100*time.Millisecond))
	if pending > 0 {
		return errors.New("entries still pending after -drain")
	}
	return nil
}

// count returns how many entries of l are in status s.
func count(ctx context.Context, l executionlog.Log, s executionlog.Status) (int, error) {
	n := 0
	f := executionlog.Filter{Status: s, Limit: executionlog.MaxLimit}
	for {
		page, err := l.Query(ctx, f)
		if err != nil {
			return 0, err
		}
		n += len(page.Entries)
		if page.Next == "" {
			return n, nil
		}
		f.Cursor = page.Next
	}
}

// attemptsOver1 returns how many entries of l record more than one attempt.
func attemptsOver1(ctx context.Context, l executionlog.Log) (int, error) {
	n := 0
	f := executionlog.Filter{Limit: executionlog.MaxLimit}
	for {
		page, err := l.Query(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, en := range page.Entries {
			if len(en.Attempts) > 1 {
				n++
			}
		}
		if page.Next == "" {
			return n, nil
		}
		f.Cursor = page.Next
	}
}
