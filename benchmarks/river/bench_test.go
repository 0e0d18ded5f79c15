package river_test

// BenchmarkPostgresDelivery compares end-to-end webhook delivery through
// tickethooks on its PostgreSQL log with the same deliveries built on
// river (github.com/riverqueue/river). This is a module of its own so that
// tickethooks never depends on river. See README.md.
//
//	TICKETHOOKS_POSTGRES_DSN=postgres://... go test -run '^$' -bench . -benchtime 5000x -count 3

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// dsnVar names the variable holding the PostgreSQL DSN.
const dsnVar = "TICKETHOOKS_POSTGRES_DSN"

// poolConns is the size of every PostgreSQL pool here (tickethooks' and
// river's), as in the root suite.
const poolConns = 16

// riverSchema is the schema river's tables are migrated into; it is
// dropped and recreated when the benchmark starts and dropped at its end.
const riverSchema = "river_bench"

// insertBatch is how many jobs one InsertMany call inserts in
// impl=river-batched.
const insertBatch = 100

// benchWorkers are the worker counts compared.
var benchWorkers = []int{8, 64}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func BenchmarkPostgresDelivery(b *testing.B) {
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		b.Skip("set " + dsnVar + " (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to compare tickethooks with river on PostgreSQL")
	}
	resetRiverSchema(b, dsn)
	for _, w := range benchWorkers {
		prefix := fmt.Sprintf("workers=%d", w)
		b.Run(prefix+"/impl=tickethooks", func(b *testing.B) { benchTickethooks(b, dsn, w) })
		b.Run(prefix+"/impl=river-default", func(b *testing.B) { benchRiver(b, dsn, w, false, false) })
		b.Run(prefix+"/impl=river-tuned", func(b *testing.B) { benchRiver(b, dsn, w, true, false) })
		b.Run(prefix+"/impl=river-batched", func(b *testing.B) { benchRiver(b, dsn, w, true, true) })
	}
}

// benchChange returns the change the root suite reports: a ticket with
// replies and custom fields, resolved. Its packet is about 1.2 KB.
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

// changes returns n changes of benchChange with distinct ticket ids. The
// tickets share their slices, which nothing writes.
func changes(n int) (before, after []payload.Ticket) {
	b0, a0 := benchChange()
	before, after = make([]payload.Ticket, n), make([]payload.Ticket, n)
	for i := range n {
		before[i], after[i] = *b0, *a0
		before[i].Id, after[i].Id = 100000+i, 100000+i
	}
	return before, after
}

// body returns the packet of the change with ticket id, as river's jobs
// carry it.
func body(b *testing.B, id int) []byte {
	_, after := benchChange()
	after.Id = id
	data, err := json.Marshal(after)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// receiver is an in-process receiver on 127.0.0.1 that reads each body,
// answers 200 and closes done at its want-th request.
type receiver struct {
	*httptest.Server
	count atomic.Int64
	want  int64
	done  chan struct{}
	at    []atomic.Int64 // with traceVar set: when each request came
}

// traceVar, when set, makes each run log its timeline: when the
// producers finished, the longest gaps between two requests received.
const traceVar = "TICKETHOOKS_BENCH_TRACE"

func newReceiver(b *testing.B, want int) *receiver {
	r := &receiver{want: int64(want), done: make(chan struct{})}
	if os.Getenv(traceVar) != "" {
		r.at = make([]atomic.Int64, want)
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		n := r.count.Add(1)
		if r.at != nil && n <= r.want {
			r.at[n-1].Store(time.Now().UnixNano())
		}
		if n == r.want {
			close(r.done)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	b.Cleanup(r.Close)
	return r
}

// wait waits until the receiver has had want requests.
func (r *receiver) wait(b *testing.B) {
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("receiver got %d of %d requests in 5 minutes", r.count.Load(), r.want)
	}
}

// run times b.N deliveries: workers producers call produce with the
// index of the next delivery and how many to enqueue at once (1, or up
// to batch), until b.N are enqueued; the clock stops when the receiver
// has had b.N requests. It reports deliveries/s.
func run(b *testing.B, rc *receiver, workers, batch int, produce func(ctx context.Context, first, n int) error) {
	ctx := context.Background()
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	cpu0 := readCPU(rc.at != nil)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				end := int(next.Add(int64(batch)))
				first := end - batch
				if first >= b.N {
					return
				}
				if err := produce(ctx, first, min(end, b.N)-first); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	produced := time.Now()
	rc.wait(b)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if rc.at != nil {
		rc.trace(b, start, produced)
		cpu1 := readCPU(true)
		wall := float64(b.Elapsed()) / float64(time.Second) * 100 // ticks per second (USER_HZ)
		busy, self, pg := float64(cpu1.busy-cpu0.busy)/wall, float64(cpu1.self-cpu0.self)/wall, float64(cpu1.postgres-cpu0.postgres)/wall
		b.Logf("cpu over the run, in CPUs of %d: machine busy %.2f (steal %.2f), this process %.2f, postgres processes (any client's) %.2f, other processes %.2f",
			runtime.NumCPU(), busy, float64(cpu1.steal-cpu0.steal)/wall, self, pg, busy-self-pg)
	}
}

// cpuTicks are CPU times in USER_HZ ticks (Linux only): the machine's
// busy and stolen time, this process's, and all postgres processes'.
type cpuTicks struct{ busy, steal, self, postgres int64 }

// readCPU reads cpuTicks from /proc when on, for the trace.
func readCPU(on bool) cpuTicks {
	var c cpuTicks
	if !on {
		return c
	}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			switch i {
			case 0, 1, 2, 5, 6: // user nice system irq softirq
				c.busy += n
			case 7:
				c.busy += n
				c.steal = n
			}
		}
	}
	procTicks := func(stat string) int64 {
		// utime and stime are fields 14 and 15; the command may hold spaces.
		f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return u + s
	}
	if data, err := os.ReadFile("/proc/self/stat"); err == nil {
		c.self = procTicks(string(data))
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		if comm, err := os.ReadFile("/proc/" + d.Name() + "/comm"); err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		if data, err := os.ReadFile("/proc/" + d.Name() + "/stat"); err == nil {
			c.postgres += procTicks(string(data))
		}
	}
	return c
}

// trace logs when the producers finished, how many requests had come by
// then, and the three longest gaps between requests.
func (r *receiver) trace(b *testing.B, start, produced time.Time) {
	at := make([]int64, len(r.at))
	for i := range r.at {
		at[i] = r.at[i].Load()
	}
	slices.Sort(at)
	type gap struct {
		after int
		at, d time.Duration
	}
	var gaps []gap
	prev := start.UnixNano()
	before := 0
	for i, t := range at {
		gaps = append(gaps, gap{i, time.Duration(prev - start.UnixNano()), time.Duration(t - prev)})
		prev = t
		if t <= produced.UnixNano() {
			before++
		}
	}
	slices.SortFunc(gaps, func(x, y gap) int { return int(y.d - x.d) })
	gaps = gaps[:min(3, len(gaps))]
	b.Logf("N=%d elapsed %v; producers done at %v with %d received; longest gaps: %+v",
		b.N, b.Elapsed().Round(time.Millisecond), produced.Sub(start).Round(time.Millisecond), before, gaps)
}

// benchTickethooks delivers b.N changes through an engine on a freshly
// migrated PostgreSQL log under a table prefix of its own.
func benchTickethooks(b *testing.B, dsn string, workers int) {
	rc := newReceiver(b, b.N)
	connect(b, dsn).Close(context.Background()) // wait for room
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(poolConns)
	db.SetMaxIdleConns(poolConns)
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	prefix := "thbench" + hex.EncodeToString(rnd[:]) + "_"
	b.Cleanup(func() {
		for _, t := range []string{"attempts", "entries", "migrations"} {
			if _, err := db.Exec(`DROP TABLE IF EXISTS "` + prefix + t + `"`); err != nil {
				b.Errorf("dropping %s%s: %v", prefix, t, err)
			}
		}
		db.Close()
	})
	log, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.Postgres, TablePrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	if err := log.Migrate(context.Background()); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	cfg := tickethooks.Config{
		Log:           log,
		AllowNetworks: loopback,
		Workers:       workers,
		Destinations:  tickethooks.DestinationPolicy{MaxInFlight: workers},
		Logger:        slog.New(slog.DiscardHandler),
	}
	def := `[{"id": "all", "on": ["updated"], "actions": [{"type": "webhook", "url": "` + rc.URL + `/hooks"}]}]`
	set, err := trigger.Parse([]byte(def), cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Triggers = trigger.NewStore(set)
	e, err := tickethooks.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			b.Errorf("Close: %v", err)
		}
	}()
	before, after := changes(b.N)
	run(b, rc, workers, 1, func(ctx context.Context, i, _ int) error {
		return e.OnTicketChange(ctx, &before[i], &after[i])
	})
}

// deliveryArgs is river's job: the packet to POST and where.
type deliveryArgs struct {
	URL  string          `json:"url"`
	Body json.RawMessage `json:"body"`
}

func (deliveryArgs) Kind() string { return "webhook_delivery" }

// deliveryWorker POSTs a job's packet and fails the job unless the
// receiver answers 2xx.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	client *http.Client
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Args.URL, bytes.NewReader(job.Args.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// connect opens a connection, retrying for up to a minute while the
// server has no room for another client (SQLSTATE 53300): the server may
// be shared with other test runs.
func connect(b *testing.B, dsn string) *pgx.Conn {
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			return conn
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "53300" || time.Now().After(deadline) {
			b.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// resetRiverSchema drops and recreates riverSchema and runs river's
// migrations in it (rivermigrate, through search_path). The schema is
// dropped when the benchmark ends.
func resetRiverSchema(b *testing.B, dsn string) {
	ctx := context.Background()
	admin := connect(b, dsn)
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+riverSchema+" CASCADE; CREATE SCHEMA "+riverSchema); err != nil {
		b.Fatalf("creating schema %s: %v", riverSchema, err)
	}
	b.Cleanup(func() {
		conn := connect(b, dsn)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+riverSchema+" CASCADE"); err != nil {
			b.Errorf("dropping schema %s: %v", riverSchema, err)
		}
	})
	pool := newRiverPool(b, dsn)
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		b.Fatalf("river migrations: %v", err)
	}
}

// newRiverPool opens a pgx pool of poolConns connections whose
// search_path is riverSchema. The caller closes it.
func newRiverPool(b *testing.B, dsn string) *pgxpool.Pool {
	connect(b, dsn).Close(context.Background()) // wait for room
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = riverSchema
	cfg.MaxConns = poolConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return pool
}

// benchRiver delivers b.N jobs through a river client with workers
// workers. tuned lowers FetchCooldown and FetchPollInterval; batched
// inserts with InsertMany, insertBatch jobs at a time.
func benchRiver(b *testing.B, dsn string, workers int, tuned, batched bool) {
	ctx := context.Background()
	pool := newRiverPool(b, dsn)
	defer pool.Close()
	// No job of an earlier run may be worked in this one.
	if _, err := pool.Exec(ctx, "TRUNCATE river_job, river_leader, river_queue"); err != nil {
		b.Fatalf("truncating river tables: %v", err)
	}
	rc := newReceiver(b, b.N)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	tr.MaxIdleConns = max(tr.MaxIdleConns, workers)
	defer tr.CloseIdleConnections()
	ws := river.NewWorkers()
	river.AddWorker(ws, &deliveryWorker{client: &http.Client{Transport: tr}})
	cfg := &river.Config{
		Logger:  slog.New(slog.DiscardHandler),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers: ws,
	}
	if tuned {
		cfg.FetchCooldown = time.Millisecond
		cfg.FetchPollInterval = 10 * time.Millisecond
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		b.Fatalf("river Start: %v", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.Stop(sctx); err != nil {
			b.Errorf("river Stop: %v", err)
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.StopAndCancel(cctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				b.Errorf("river StopAndCancel: %v", err)
			}
		}
	}()
	url := rc.URL + "/hooks"
	args := make([]deliveryArgs, b.N)
	for i := range args {
		args[i] = deliveryArgs{URL: url, Body: body(b, 100000+i)}
	}
	if !batched {
		run(b, rc, workers, 1, func(ctx context.Context, i, _ int) error {
			_, err := client.Insert(ctx, args[i], nil)
			return err
		})
		return
	}
	run(b, rc, workers, insertBatch, func(ctx context.Context, first, n int) error {
		params := make([]river.InsertManyParams, n)
		for j := range params {
			params[j] = river.InsertManyParams{Args: args[first+j]}
		}
		_, err := client.InsertMany(ctx, params)
		return err
	})
}
