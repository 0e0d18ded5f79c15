package tickethooks_test

// The durable_*_test.go files prove delivery through the Engine with the
// SQL execution log (executionlog/sqllog): across a crash, across a fleet
// of engines, inside the host's transaction, on a broken database, and
// across a restart with a retry pending. They run on SQLite always, on
// PostgreSQL when TICKETHOOKS_POSTGRES_DSN is set (once through pgx and
// once through lib/pq) and on MySQL/MariaDB when TICKETHOOKS_MYSQL_DSN is
// set. Every test has tables of its own, under a
// fresh prefix, dropped when it ends.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registered as "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"
	_ "github.com/lib/pq"              // registered as "postgres"
	_ "modernc.org/sqlite"             // registered as "sqlite"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// durableBackend is a kind of database the durable tests run against.
type durableBackend struct {
	name    string // SQLite, PostgreSQL, PostgreSQL-pq or MySQL
	driver  string // database/sql driver name
	env     string // variable holding the DSN; empty for SQLite
	dialect sqllog.Dialect
	// unreachableDSN names a database that cannot be reached.
	unreachableDSN string
}

var (
	sqliteDurable = durableBackend{
		name: "SQLite", driver: "sqlite", dialect: sqllog.SQLite,
		unreachableDSN: "file:/nonexistent/dir/log.db" + sqliteOptions,
	}
	postgresDurable = durableBackend{
		name: "PostgreSQL", driver: "pgx", env: "TICKETHOOKS_POSTGRES_DSN", dialect: sqllog.Postgres,
		unreachableDSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
	}
	// postgresPQDurable is the same server as postgresDurable, reached
	// through lib/pq, the other driver hosts use.
	postgresPQDurable = durableBackend{
		name: "PostgreSQL-pq", driver: "postgres", env: "TICKETHOOKS_POSTGRES_DSN", dialect: sqllog.Postgres,
		unreachableDSN: postgresDurable.unreachableDSN,
	}
	mysqlDurable = durableBackend{
		name: "MySQL", driver: "mysql", env: "TICKETHOOKS_MYSQL_DSN", dialect: sqllog.MySQL,
		unreachableDSN: "root:@tcp(127.0.0.1:1)/test?parseTime=true&timeout=5s",
	}
	allDurable = []durableBackend{sqliteDurable, postgresDurable, postgresPQDurable, mysqlDurable}
)

// sqliteOptions makes writers wait for each other instead of failing with
// "database is locked", and lets readers read while a writer writes.
const sqliteOptions = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"

// durableByName returns the backend called name.
func durableByName(name string) (durableBackend, bool) {
	for _, b := range allDurable {
		if b.name == name {
			return b, true
		}
	}
	return durableBackend{}, false
}

// forEachBackend runs test as a parallel subtest per backend of bs. A
// server backend whose DSN variable is not set is skipped, naming it.
func forEachBackend(t *testing.T, bs []durableBackend, test func(t *testing.T, db *durableDB)) {
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, newDurableDB(t, b))
		})
	}
}

// durableDB is one test's share of a database: a DSN and a table prefix,
// with the log's tables migrated. Its tables are dropped when the test
// ends.
type durableDB struct {
	b      durableBackend
	dsn    string
	prefix string
	admin  *sql.DB

	mu    sync.Mutex
	extra []string // host tables to drop as well
}

// newDurableDB returns a migrated log schema of b under a fresh prefix, or
// skips the test when b's DSN variable is not set.
func newDurableDB(t *testing.T, b durableBackend) *durableDB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "log.db") + sqliteOptions
	if b.env != "" {
		dsn = os.Getenv(b.env)
		if dsn == "" {
			t.Skipf("set %s to run this test on %s", b.env, b.name)
		}
	}
	db := &durableDB{b: b, dsn: dsn, prefix: newTablePrefix(t)}
	db.admin = db.rawOpen(t)
	t.Cleanup(func() {
		db.mu.Lock()
		tables := append(db.extra, db.prefix+"attempts", db.prefix+"entries", db.prefix+"migrations")
		db.mu.Unlock()
		for _, table := range tables {
			if _, err := db.admin.Exec("DROP TABLE IF EXISTS " + table); err != nil {
				t.Errorf("dropping %s: %v", table, err)
			}
		}
		db.admin.Close()
	})
	l := db.log(t, db.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// newTablePrefix returns a table prefix unique across test runs sharing a
// database server.
func newTablePrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "d" + hex.EncodeToString(b) + "_"
}

// rawOpen opens a pool without closing it at cleanup.
func (db *durableDB) rawOpen(t *testing.T) *sql.DB {
	t.Helper()
	pool, err := sql.Open(db.b.driver, db.dsn)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", db.b.driver, err)
	}
	if db.b.env != "" {
		pool.SetMaxOpenConns(8)
	}
	return pool
}

// open returns a new connection pool to the database, as another process
// would have, closed when the test ends.
func (db *durableDB) open(t *testing.T) *sql.DB {
	t.Helper()
	pool := db.rawOpen(t)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// log returns the log over db's tables through pool.
func (db *durableDB) log(t *testing.T, pool *sql.DB) *sqllog.Log {
	t.Helper()
	l, err := sqllog.New(pool, sqllog.Config{Dialect: db.b.dialect, TablePrefix: db.prefix})
	if err != nil {
		t.Fatalf("sqllog.New: %v", err)
	}
	return l
}

// hostTable creates a table of the host application, name prefixed,
// holding tickets, dropped with the log's tables.
func (db *durableDB) hostTable(t *testing.T, name string) string {
	t.Helper()
	table := db.prefix + name
	if _, err := db.admin.Exec("CREATE TABLE " + table + " (id INTEGER NOT NULL PRIMARY KEY, status VARCHAR(32) NOT NULL)"); err != nil {
		t.Fatalf("creating %s: %v", table, err)
	}
	db.mu.Lock()
	db.extra = append(db.extra, table)
	db.mu.Unlock()
	return table
}

// placeholder returns the n-th bind parameter (from 1) of the dialect.
func (db *durableDB) placeholder(n int) string {
	if db.b.dialect == sqllog.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// allEntries returns every entry of l, newest first.
func allEntries(t *testing.T, l executionlog.Log) []executionlog.Entry {
	t.Helper()
	page, err := l.Query(context.Background(), executionlog.Filter{AllTenants: true, Limit: executionlog.MaxLimit})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return page.Entries
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// durableTriggers loads resolvedTrigger(url), allowed to name a receiver
// on 127.0.0.1 despite the load-time SSRF check.
func durableTriggers(t *testing.T, url string) *trigger.Store {
	t.Helper()
	set, err := trigger.Parse([]byte(resolvedTrigger(url)), &trigger.Options{
		AllowNetworks: loopback,
	})
	if err != nil {
		t.Fatalf("loading triggers: %v", err)
	}
	return trigger.NewStore(set)
}

// resolving returns the change of ticket id from Open to Resolved, which
// resolvedTrigger fires on.
func resolving(id int) (before, after *payload.Ticket) {
	before, after = ticket("Open"), ticket("Resolved")
	before.Id, after.Id = id, id
	return before, after
}

// hookReceiver counts deliveries by webhook-id, by ticket and by the
// engine that sent them (the X-Engine header of taggedSender). Each
// request takes delay; a request whose sender goes away meanwhile gets no
// answer.
type hookReceiver struct {
	*httptest.Server
	delay time.Duration
	// gate, when not nil, holds every request until openGate.
	gate     chan struct{}
	gateOnce sync.Once

	mu sync.Mutex
	// onArrive, when set, is called as each request arrives, with the
	// sending engine and how many requests it has sent so far.
	onArrive func(engine string, n int)
	byID     map[string]int
	senders  map[string][]string // "engine@time" per webhook-id, in arrival order
	byTicket map[int]int
	byEngine map[string]int
	total    int
}

// newHookReceiver starts a receiver whose answers take delay. When gated,
// it holds every request until openGate is called.
func newHookReceiver(t *testing.T, delay time.Duration, gated bool) *hookReceiver {
	t.Helper()
	r := &hookReceiver{
		delay: delay,
		byID:  map[string]int{}, senders: map[string][]string{}, byTicket: map[int]int{}, byEngine: map[string]int{},
	}
	if gated {
		r.gate = make(chan struct{})
	}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.openGate()
		r.Close()
	})
	return r
}

// openGate lets the held requests, and every later one, through.
func (r *hookReceiver) openGate() {
	if r.gate != nil {
		r.gateOnce.Do(func() { close(r.gate) })
	}
}

// setOnArrive sets the hook called as each request arrives.
func (r *hookReceiver) setOnArrive(f func(engine string, n int)) {
	r.mu.Lock()
	r.onArrive = f
	r.mu.Unlock()
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var packet struct{ Id int }
	_ = json.Unmarshal(body, &packet)
	engine := req.Header.Get("X-Engine")
	r.mu.Lock()
	id := req.Header.Get("Webhook-Id")
	r.byID[id]++
	r.senders[id] = append(r.senders[id], fmt.Sprintf("%s@%s", engine, time.Now().Format("15:04:05.000")))
	r.byTicket[packet.Id]++
	r.byEngine[engine]++
	r.total++
	n, hook := r.byEngine[engine], r.onArrive
	r.mu.Unlock()
	if hook != nil {
		hook(engine, n)
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-req.Context().Done():
			return
		}
	}
	if r.delay > 0 {
		timer := time.NewTimer(r.delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// counts returns the number of requests and of distinct webhook-ids, and
// a copy of the requests per ticket and per engine.
func (r *hookReceiver) counts() (total, distinct int, byTicket map[int]int, byEngine map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byTicket = make(map[int]int, len(r.byTicket))
	for k, v := range r.byTicket {
		byTicket[k] = v
	}
	byEngine = make(map[string]int, len(r.byEngine))
	for k, v := range r.byEngine {
		byEngine[k] = v
	}
	return r.total, len(r.byID), byTicket, byEngine
}

// ids returns the requests received per webhook-id.
func (r *hookReceiver) ids() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.byID))
	for k, v := range r.byID {
		m[k] = v
	}
	return m
}

// duplicates describes the webhook-ids received more than once: who sent
// each request, and when.
func (r *hookReceiver) duplicates() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for id, from := range r.senders {
		if len(from) > 1 {
			fmt.Fprintf(&b, "%s: %s\n", id, strings.Join(from, ", "))
		}
	}
	return b.String()
}

// taggedSender names the engine that sends each request in an X-Engine
// header, so the receiver can tell the engines of a fleet apart.
type taggedSender struct {
	tag  string
	next webhook.Sender
}

func (s taggedSender) Send(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
	r := *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("X-Engine", s.tag)
	return s.next.Send(ctx, &r)
}

// CloseIdleConnections passes the engine's Close on to the HTTP sender, so
// no idle connection outlives the test.
func (s taggedSender) CloseIdleConnections() {
	if c, ok := s.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// checkAllSucceeded fails the test unless entries are want entries, all
// succeeded, one per ticket 1..want, and every entry's id reached the
// receiver.
func checkAllSucceeded(t *testing.T, entries []executionlog.Entry, want int, received map[string]int) {
	t.Helper()
	if len(entries) != want {
		t.Fatalf("log holds %d entries, want %d", len(entries), want)
	}
	tickets := map[int]bool{}
	var problems []string
	for _, en := range entries {
		tickets[en.TicketID] = true
		if en.Status != executionlog.StatusSucceeded {
			problems = append(problems, fmt.Sprintf("entry %s (ticket %d) is %s after %d attempts", en.ID, en.TicketID, en.Status, len(en.Attempts)))
		}
		if received[en.ID] == 0 {
			problems = append(problems, fmt.Sprintf("entry %s (ticket %d) never reached the receiver", en.ID, en.TicketID))
		}
	}
	for id := 1; id <= want; id++ {
		if !tickets[id] {
			problems = append(problems, fmt.Sprintf("ticket %d has no entry", id))
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// checkAfterKill checks, after an engine with workers workers was killed
// holding leased entries, that tickets 1..n all reached rcv and that the
// duplicates stay within what the killed engine could have had in flight;
// inFlight ends the message of the last check. It returns rcv's counts
// and the number of duplicates.
func checkAfterKill(t *testing.T, rcv *hookReceiver, n, workers, leased int, inFlight string) (total, distinct, duplicates int, byEngine map[string]int) {
	t.Helper()
	total, distinct, byTicket, byEngine := rcv.counts()
	for id := 1; id <= n; id++ {
		if byTicket[id] == 0 {
			t.Errorf("ticket %d never reached the receiver", id)
		}
	}
	duplicates = total - distinct
	// The engine holds its workers' entries in flight and at most as many
	// again claimed ahead; only the ones in flight can have been sent.
	if leased > 2*workers {
		t.Errorf("%d entries were leased to the killed engine, more than twice its %d workers", leased, workers)
	}
	if duplicates > workers {
		t.Errorf("%d duplicate deliveries, more than the killed engine's %d workers could have had in flight:\n%s", duplicates, workers, rcv.duplicates())
	}
	if duplicates > leased {
		t.Errorf("%d duplicate deliveries, more than the %d %s:\n%s", duplicates, leased, inFlight, rcv.duplicates())
	}
	return total, distinct, duplicates, byEngine
}
