package tickethooks_test

// The engine part of the benchmark suite (see BENCHMARKS.md): the cost of
// one OnTicketChange call, end-to-end delivery throughput with the memory,
// SQLite and PostgreSQL logs beside raw net/http and raw SQL baselines, and
// (with TICKETHOOKS_BIG=1) the heap of an engine whose SQL log holds a
// million pending entries. Every name here starts with bench so that it
// cannot clash with the package's tests.
//
//	go test -run '^$' -bench 'OnTicketChange|Delivery' -benchmem .
//	TICKETHOOKS_BIG=1 go test -run '^$' -bench HeapPending -benchtime 1x .

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"
	_ "modernc.org/sqlite"             // registered as "sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// benchSQLiteDSN opens the benchmarks' SQLite files: WAL, and writers
// waiting for each other up to 10 s.
const benchSQLiteDSN = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"

// benchPostgresConns caps the connections of each PostgreSQL pool, so that
// 64 workers stay well within the server's max_connections on a server
// that other tests share.
const benchPostgresConns = 16

// benchChange returns the change the engine benchmarks report: a ticket
// with replies and custom fields, resolved. Its packet is about 1.2 KB.
func benchChange() (before, after *payload.Ticket) {
	before = &payload.Ticket{
		Id: 48213, Subject: "Impressora do terceiro andar não imprime", Status: "InAttendance",
		Urgency: "Critical", ServiceFirstLevel: "TI", SlaSolutionTime: 240,
		Actions: []payload.Action{
			{Id: 1, Description: "A impressora mostra erro 0x7F e não imprime nada desde ontem à tarde.",
				HtmlDescription: "<p>A impressora mostra erro 0x7F e não imprime nada desde ontem à tarde.</p>"},
			{Id: 2, Description: "Trocamos o toner e reiniciamos o equipamento; o erro continua.",
				HtmlDescription: "<p>Trocamos o toner e reiniciamos o equipamento; o erro continua.</p>",
				Attachments: []payload.Attachment{{FileName: "erro.jpg", Path: "/files/48213/erro.jpg",
					CreatedBy:   payload.Person{Id: "p-77", PersonType: payload.PersonTypePerson, ProfileType: payload.ProfileTypeAgent, BusinessName: "Ana Souza", Email: "ana@example.com"},
					CreatedDate: "2026-03-14T10:02:11Z"}}},
		},
		CustomFieldValues: []payload.CustomFieldValue{
			{CustomFieldId: 12, Line: 1, Value: "Gold"},
			{CustomFieldId: 17, Line: 1, Value: "3rd floor"},
		},
	}
	after = before.Clone()
	after.Status = "Resolved"
	after.Actions = append(after.Actions, payload.Action{Id: 3, Description: "Placa lógica substituída; impressão normalizada."})
	return before, after
}

// benchBody is the packet the engine sends for benchChange, used as the
// body of the raw baselines.
func benchBody(b *testing.B) []byte {
	_, after := benchChange()
	body, err := json.Marshal(after)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchReceiver is an in-process receiver on 127.0.0.1 that reads each
// body, answers 200 "ok" and counts requests. With a gate, every request
// waits for the gate to close first: a receiver that never answers.
type benchReceiver struct {
	*httptest.Server
	gate     chan struct{}
	count    atomic.Int64
	inFlight atomic.Int64
	want     int64
	done     chan struct{}
}

// newBenchReceiver starts a receiver that closes done after want requests
// (never when want is 0). With gated, requests wait until release.
func newBenchReceiver(b *testing.B, want int, gated bool) *benchReceiver {
	r := &benchReceiver{want: int64(want), done: make(chan struct{})}
	if gated {
		r.gate = make(chan struct{})
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		if r.gate != nil {
			select {
			case <-r.gate:
			case <-req.Context().Done():
				return
			}
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if r.count.Add(1) == r.want {
			close(r.done)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	b.Cleanup(func() {
		r.release()
		r.Close()
	})
	return r
}

// release lets gated requests through.
func (r *benchReceiver) release() {
	if r.gate != nil {
		select {
		case <-r.gate:
		default:
			close(r.gate)
		}
	}
}

// wait waits until the receiver has had want requests.
func (r *benchReceiver) wait(b *testing.B) {
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("receiver got %d of %d requests in 5 minutes", r.count.Load(), r.want)
	}
}

// newBenchEngine starts an engine with the loopback sender and a silent
// logger. The caller closes it.
func newBenchEngine(b *testing.B, cfg tickethooks.Config) *tickethooks.Engine {
	b.Helper()
	if cfg.Sender == nil {
		cfg.Sender = webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback})
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	e, err := tickethooks.New(cfg)
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	return e
}

// closeBenchEngine closes e, failing the benchmark when it does not stop.
func closeBenchEngine(b *testing.B, e *tickethooks.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		b.Errorf("Close: %v", err)
	}
}

// benchStore parses definitions into a trigger store, allowing webhook
// URLs on the loopback receivers.
func benchStore(b *testing.B, defs []map[string]any) *trigger.Store {
	b.Helper()
	data, err := json.Marshal(defs)
	if err != nil {
		b.Fatal(err)
	}
	set, err := trigger.Parse(data, &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		b.Fatalf("Parse: %v", err)
	}
	return trigger.NewStore(set)
}

// benchTriggers returns n trigger definitions of which only the one at
// index match fires on benchChange (none when match is -1); it POSTs to
// url. Every trigger evaluates all its tests before it fails, the worst
// case for a trigger that does not fire. kind is "structured" (Status
// changed_to Resolved, Urgency is Critical, SlaSolutionTime greater_than
// T), "expression" (the same as one expression) or "mixed" (every fourth
// trigger an expression, the others structured); T is 60 for the trigger
// that fires and 100000+i for the others.
func benchTriggers(n, match int, kind, url string) []map[string]any {
	defs := make([]map[string]any, n)
	for i := range defs {
		t, to := 100000+i, fmt.Sprintf("https://erp.example.com/hooks/%d", i)
		if i == match {
			t, to = 60, url
		}
		d := map[string]any{"id": fmt.Sprintf("t%04d", i), "on": []string{"updated"},
			"actions": []map[string]any{{"type": "webhook", "url": to,
				"headers": map[string]string{"Authorization": "Bearer s3cr3t", "X-Tenant": "acme"}}}}
		if kind == "expression" || (kind == "mixed" && i%4 == 3) {
			d["expression"] = fmt.Sprintf(`Ticket.Status == "Resolved" && Ticket.Urgency in ["High","Critical"] && Ticket.SlaSolutionTime > %d`, t)
		} else {
			d["conditions"] = map[string]any{"all": []map[string]any{
				{"field": "Status", "operator": "changed_to", "value": "Resolved"},
				{"field": "Urgency", "operator": "is", "value": "Critical"},
				{"field": "SlaSolutionTime", "operator": "greater_than", "value": t},
			}}
		}
		defs[i] = d
	}
	return defs
}

// BenchmarkOnTicketChange measures one OnTicketChange call with the memory
// log: evaluating every trigger, and for the one that fires building the
// packet, redacting headers and recording the pending entry.
//
// impl=ours goes through the engine. Its receiver never answers and the
// engine has one worker, so no delivery runs while the calls are timed:
// allocs/op counts the call alone. The log holds every entry (MaxEntries
// b.N+16), so nothing is evicted. impl=floor is the work no engine can
// skip: NewEvent, Match on every trigger and json.Marshal of the packet.
// Target: 1,000 triggers with no match <= 100 us per call.
func BenchmarkOnTicketChange(b *testing.B) {
	cases := []struct {
		n     int
		match string
		kind  string
	}{
		{100, "one", "mixed"},
		{1000, "none", "structured"},
		{1000, "none", "mixed"},
		{1000, "none", "expression"},
	}
	before, after := benchChange()
	for _, tc := range cases {
		match := -1
		if tc.match == "one" {
			match = tc.n / 2
		}
		name := fmt.Sprintf("triggers=%d/match=%s/kind=%s", tc.n, tc.match, tc.kind)
		b.Run(name+"/impl=ours", func(b *testing.B) {
			rc := newBenchReceiver(b, 0, true)
			e := newBenchEngine(b, tickethooks.Config{
				Triggers: benchStore(b, benchTriggers(tc.n, match, tc.kind, rc.URL+"/hooks")),
				Log:      executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: b.N + 16}),
				Workers:  1,
			})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := e.OnTicketChange(ctx, before, after); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			rc.release()
			closeBenchEngine(b, e)
		})
		b.Run(name+"/impl=floor", func(b *testing.B) {
			triggers := benchStore(b, benchTriggers(tc.n, match, tc.kind, "https://erp.example.com/hooks")).Set().Triggers()
			b.ReportAllocs()
			for b.Loop() {
				ev := trigger.NewEvent(before, after)
				for _, t := range triggers {
					if t.Match(ev) {
						packet := *after
						packet.WebhookEvents = t.WebhookEvents()
						if _, err := json.Marshal(packet); err != nil {
							b.Fatal(err)
						}
					}
				}
				ev.Release()
			}
		})
	}
}

// benchDB is a migrated SQL log in a database of its own (SQLite) or under
// a table prefix of its own (PostgreSQL), removed when the benchmark ends.
type benchDB struct {
	db      *sql.DB
	log     *sqllog.Log
	prefix  string
	dialect string // "sqlite" or "postgres"
}

// newBenchDB returns a fresh migrated log on kind, or skips the benchmark
// when kind is postgres and TICKETHOOKS_POSTGRES_DSN is not set.
//
// Three variables change the pools for experiments (BENCHMARKS.md
// reports their effect): TICKETHOOKS_BENCH_SQLITE_CONNS caps the SQLite
// pool's open connections (default: 1, as recommended; 0: no cap), TICKETHOOKS_BENCH_SQLITE_PRAGMAS
// is appended to the SQLite DSN (for example "&_pragma=synchronous(NORMAL)"),
// and TICKETHOOKS_BENCH_POSTGRES_CONNS caps the PostgreSQL pool (default
// benchPostgresConns).
func newBenchDB(b *testing.B, kind string) *benchDB {
	b.Helper()
	var (
		db  *sql.DB
		err error
		d   sqllog.Dialect
	)
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	prefix := "bench" + hex.EncodeToString(rnd[:]) + "_"
	switch kind {
	case "sqlite":
		d = sqllog.SQLite
		db, err = sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "log.db")+benchSQLiteDSN+os.Getenv("TICKETHOOKS_BENCH_SQLITE_PRAGMAS"))
		// One connection, as executionlog/sqllog recommends for SQLite
		// with many workers; the variable measures other pool sizes (0:
		// no cap).
		n := 1
		if v := os.Getenv("TICKETHOOKS_BENCH_SQLITE_CONNS"); v != "" {
			n, _ = strconv.Atoi(v)
		}
		if err == nil && n > 0 {
			db.SetMaxOpenConns(n)
		}
	case "postgres":
		dsn := os.Getenv("TICKETHOOKS_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("set TICKETHOOKS_POSTGRES_DSN to benchmark the PostgreSQL log")
		}
		d = sqllog.Postgres
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			n, _ := strconv.Atoi(os.Getenv("TICKETHOOKS_BENCH_POSTGRES_CONNS"))
			if n <= 0 {
				n = benchPostgresConns
			}
			db.SetMaxOpenConns(n)
			db.SetMaxIdleConns(n) // as the README advises with group commit
		}
	default:
		b.Fatalf("unknown database %q", kind)
	}
	if err != nil {
		b.Fatalf("sql.Open: %v", err)
	}
	bd := &benchDB{db: db, prefix: prefix, dialect: kind}
	b.Cleanup(func() {
		if kind == "postgres" {
			for _, t := range []string{"attempts", "entries", "migrations"} {
				if _, err := db.Exec(`DROP TABLE IF EXISTS "` + prefix + t + `"`); err != nil {
					b.Errorf("dropping %s%s: %v", prefix, t, err)
				}
			}
		}
		db.Close()
	})
	bd.log, err = sqllog.New(db, sqllog.Config{Dialect: d, TablePrefix: prefix})
	if err != nil {
		b.Fatalf("sqllog.New: %v", err)
	}
	if err := bd.log.Migrate(context.Background()); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	return bd
}

// q rewrites a query written with ? placeholders and {entries} and
// {attempts} table names for the database.
func (d *benchDB) q(query string) string {
	query = strings.NewReplacer("{entries}", `"`+d.prefix+`entries"`, "{attempts}", `"`+d.prefix+`attempts"`).Replace(query)
	if d.dialect != "postgres" {
		return query
	}
	var sb strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// at encodes a time as the log stores it.
func (d *benchDB) at(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.dialect == "sqlite" {
		return t.UnixMicro()
	}
	return t
}

// lock is the row-locking clause of the claim subquery.
func (d *benchDB) lock() string {
	if d.dialect == "postgres" {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// benchWorkers are the concurrency levels of the delivery benchmarks.
var benchWorkers = []int{8, 64}

// BenchmarkDelivery measures end-to-end delivery throughput against an
// in-process receiver on 127.0.0.1, in deliveries/s; each op is one
// delivery.
//
// log=memory|sqlite|postgres/impl=ours: as many goroutines as workers
// call OnTicketChange, b.N times in all, for a trigger that always fires,
// as a host's request handlers do; the timer stops when the receiver has
// had b.N requests and Close has returned (every attempt recorded). Config.Workers is the worker count and
// Destinations.MaxInFlight is set to it too (its default, 4 per
// destination, would cap every run at 4 deliveries in flight). The memory
// log is the engine's default (10,000 entries).
//
// impl=nethttp: the same number of goroutines POST the same body in a
// loop with a Transport keeping MaxIdleConnsPerHost = workers.
//
// log=sqlite|postgres/impl=rawsql: the same goroutines each insert a row
// into the log's own tables, claim one due row (UPDATE ... RETURNING, with
// SKIP LOCKED on PostgreSQL), POST it, and mark it done with its attempt
// in one transaction: the minimal statements a SQL queue needs.
//
// Targets: memory/64 >= 0.8x nethttp; sqlite >= 0.5x nethttp; sqlite and
// postgres >= 0.8x rawsql.
func BenchmarkDelivery(b *testing.B) {
	for _, w := range benchWorkers {
		prefix := fmt.Sprintf("workers=%d", w)
		b.Run(prefix+"/impl=nethttp", func(b *testing.B) { benchRawHTTP(b, w) })
		b.Run(prefix+"/log=memory/impl=ours", func(b *testing.B) { benchEngineDelivery(b, w, nil, 0) })
		b.Run(prefix+"/log=memory/impl=tenants", func(b *testing.B) { benchEngineDelivery(b, w, nil, benchTenants) })
		for _, kind := range []string{"sqlite", "postgres"} {
			b.Run(prefix+"/log="+kind+"/impl=ours", func(b *testing.B) {
				benchEngineDelivery(b, w, newBenchDB(b, kind), 0)
			})
			b.Run(prefix+"/log="+kind+"/impl=tenants", func(b *testing.B) {
				benchEngineDelivery(b, w, newBenchDB(b, kind), benchTenants)
			})
			b.Run(prefix+"/log="+kind+"/impl=rawsql", func(b *testing.B) {
				benchRawSQL(b, w, newBenchDB(b, kind))
			})
		}
	}
}

// benchEngineDelivery runs b.N deliveries through an engine with workers
// workers, on the default memory log when bd is nil. With tenants above
// zero the engine is configured for tenants (fair claims, a limit in
// flight per tenant) and the changes are spread over that many tenants,
// each with its own trigger: the cost of fairness beside the
// single-tenant engine.
func benchEngineDelivery(b *testing.B, workers int, bd *benchDB, tenants int) {
	rc := newBenchReceiver(b, b.N, false)
	def := `[{"id": "all", "on": ["updated"], "actions": [{"type": "webhook", "url": "` + rc.URL + `/hooks"}]}]`
	cfg := tickethooks.Config{
		Triggers:     trigger.NewStore(nil),
		Workers:      workers,
		MultiTenant:  tenants > 0,
		Destinations: tickethooks.DestinationPolicy{MaxInFlight: workers},
	}
	opts := [][]tickethooks.ChangeOption{nil}
	if tenants > 0 {
		opts = make([][]tickethooks.ChangeOption, tenants)
	}
	for i := range opts {
		tenant := ""
		if tenants > 0 {
			tenant = fmt.Sprintf("tenant-%04d", i)
			opts[i] = []tickethooks.ChangeOption{tickethooks.WithTenant(tenant)}
		}
		set, err := trigger.Parse([]byte(def), &trigger.Options{AllowNetworks: loopback, Tenant: tenant})
		if err != nil {
			b.Fatal(err)
		}
		cfg.Triggers.(*trigger.Store).Replace(set)
	}
	if bd != nil {
		cfg.Log = bd.log
	}
	e := newBenchEngine(b, cfg)
	before, after := benchChange()
	ctx := context.Background()
	var n atomic.Int64
	benchDeliveries(b, workers, func(int) func() error {
		return func() error {
			return e.OnTicketChange(ctx, before, after, opts[int(n.Add(1))%len(opts)]...)
		}
	}, func() {
		rc.wait(b)
		closeBenchEngine(b, e)
	})
}

// benchTenants is how many tenants the delivery benchmark's impl=tenants
// spreads its changes over.
const benchTenants = 1000

// benchDeliveries times b.N deliveries made by workers goroutines: newOp
// gives each goroutine, by its number, the function that makes one.
// finish, when not nil, runs before the clock stops (waiting for the
// last deliveries). It reports deliveries/s.
func benchDeliveries(b *testing.B, workers int, newOp func(w int) func() error, finish func()) {
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			op := newOp(w)
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if finish != nil {
		finish()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

// benchRawHTTP POSTs the packet b.N times from workers goroutines.
func benchRawHTTP(b *testing.B, workers int) {
	rc := newBenchReceiver(b, 0, false)
	client, closeClient := benchClient(workers)
	defer closeClient()
	body := benchBody(b)
	benchDeliveries(b, workers, func(int) func() error {
		return func() error { return benchPost(client, rc.URL+"/hooks", body) }
	}, nil)
}

// benchClient returns a client whose transport keeps workers idle
// connections per host, and a function that closes them.
func benchClient(workers int) (*http.Client, func()) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	tr.MaxIdleConns = max(tr.MaxIdleConns, workers)
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// benchPost POSTs body to url and reads the answer.
func benchPost(client *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// benchRawSQL is the raw SQL queue baseline: b.N rows inserted, claimed,
// POSTed and marked done by workers goroutines.
func benchRawSQL(b *testing.B, workers int, bd *benchDB) {
	rc := newBenchReceiver(b, 0, false)
	client, closeClient := benchClient(workers)
	defer closeClient()
	body := benchBody(b)
	url := rc.URL + "/hooks"
	insert := bd.q("INSERT INTO {entries} (id, trigger_id, trigger_name, action_index, ticket_id, event, url, " +
		"request_headers, request_body, status, attempt_count, next_attempt_at, error_text, note, created_at, updated_at) " +
		"VALUES (?, 'all', '', 0, 48213, 'updated', ?, ?, ?, 'pending', 0, ?, '', '', ?, ?)")
	claim := bd.q("UPDATE {entries} SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM {entries}" +
		" WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_owner IS NULL OR lease_until <= ?)" +
		" ORDER BY next_attempt_at, id LIMIT 1" + bd.lock() + ") RETURNING id, url, request_body")
	done := bd.q("UPDATE {entries} SET status = 'succeeded', next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL," +
		" attempt_count = 1, updated_at = ? WHERE id = ? AND lease_owner = ?")
	attempt := bd.q("INSERT INTO {attempts} (entry_id, seq, number, started_at, duration_ns, status_code, error, response_body, response_truncated)" +
		" VALUES (?, 1, 1, ?, ?, 200, ?, ?, ?)")
	headers := `{"Content-Type":"application/json","User-Agent":"` + webhook.UserAgent + `"}`
	ctx := context.Background()

	deliver := func(owner string) error {
		now := time.Now()
		id := executionlog.NewID(now)
		if _, err := bd.db.ExecContext(ctx, insert, id, url, headers, body, bd.at(now), bd.at(now), bd.at(now)); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		var got, to string
		var payload []byte
		for {
			now = time.Now()
			err := bd.db.QueryRowContext(ctx, claim, owner, bd.at(now.Add(time.Minute)), bd.at(now), bd.at(now)).Scan(&got, &to, &payload)
			if err == nil {
				break
			}
			if err != sql.ErrNoRows {
				return fmt.Errorf("claim: %w", err)
			}
		}
		started := time.Now()
		if err := benchPost(client, to, payload); err != nil {
			return err
		}
		tx, err := bd.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		finished := time.Now()
		if _, err := tx.ExecContext(ctx, done, bd.at(finished), got, owner); err != nil {
			return fmt.Errorf("done: %w", err)
		}
		if _, err := tx.ExecContext(ctx, attempt, got, bd.at(started), int64(finished.Sub(started)), []byte{}, []byte("ok"), false); err != nil {
			return fmt.Errorf("attempt: %w", err)
		}
		return tx.Commit()
	}

	benchDeliveries(b, workers, func(w int) func() error {
		owner := fmt.Sprintf("raw-%d", w)
		return func() error { return deliver(owner) }
	}, nil)
}

// benchHeapPending is how many pending entries BenchmarkHeapPending1M
// leaves in the log.
const benchHeapPending = 1_000_000

// BenchmarkHeapPending1M measures the Go heap of an engine whose SQLite log
// holds a million pending entries and whose receiver never answers: the
// engine must hold only the entries it is working on. It loads the log
// (about a minute), starts the engine with the default Workers and
// Destinations, lets it run for five poll intervals, then reports
// HeapInuse after runtime.GC (heap-MiB, the median of five samples a
// second apart) and the same before the engine started (base-heap-MiB).
// SQLite's page cache is not Go heap and is not counted. Run it once:
//
//	TICKETHOOKS_BIG=1 go test -run '^$' -bench HeapPending1M -benchtime 1x -timeout 30m .
//
// Target: heap-MiB <= 64.
func BenchmarkHeapPending1M(b *testing.B) {
	if os.Getenv("TICKETHOOKS_BIG") != "1" {
		b.Skip("set TICKETHOOKS_BIG=1 to measure the heap with a million pending entries")
	}
	bd := newBenchDB(b, "sqlite")
	rc := newBenchReceiver(b, 0, true)
	url := rc.URL + "/hooks"
	ctx := context.Background()

	loadStart := time.Now()
	_, after := benchChange()
	after.Actions = after.Actions[:1] // a smaller packet keeps the file small
	body, err := json.Marshal(after)
	if err != nil {
		b.Fatal(err)
	}
	headers := map[string]string{"Content-Type": "application/json", "User-Agent": webhook.UserAgent}
	created := time.Now().Add(-time.Hour).UTC()
	const batch = 5000
	for i := 0; i < benchHeapPending; i += batch {
		entries := make([]*executionlog.Entry, batch)
		for j := range entries {
			id := executionlog.NewID(created)
			entries[j] = &executionlog.Entry{ID: id, TriggerID: "heap", ActionIndex: 0, TicketID: 1 + (i+j)%100000,
				Event: "updated", URL: url, RequestHeaders: headers, RequestBody: body,
				Status: executionlog.StatusPending, NextAttemptAt: created, CreatedAt: created, UpdatedAt: created}
		}
		if err := bd.log.Add(ctx, entries); err != nil {
			b.Fatalf("loading pending entries: %v", err)
		}
	}
	b.Logf("loaded %d pending entries in %v", benchHeapPending, time.Since(loadStart).Round(time.Second))

	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / (1 << 20)
	}
	base := heap()
	const poll = 200 * time.Millisecond
	e := newBenchEngine(b, tickethooks.Config{
		Triggers: benchStore(b, []map[string]any{{"id": "heap", "actions": []map[string]any{{"type": "webhook", "url": url}}}}),
		Log:      bd.log, PollInterval: poll,
	})
	deadline := time.Now().Add(time.Minute)
	for rc.inFlight.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(5 * poll)
	var samples []float64
	for range 5 {
		samples = append(samples, heap())
		time.Sleep(time.Second)
	}
	inFlight := rc.inFlight.Load()
	rc.release()
	closeBenchEngine(b, e)
	slices.Sort(samples)
	b.Logf("receiver had %d requests waiting; heap samples %.1f MiB", inFlight, samples)
	b.ReportMetric(samples[len(samples)/2], "heap-MiB")
	b.ReportMetric(base, "base-heap-MiB")
}
