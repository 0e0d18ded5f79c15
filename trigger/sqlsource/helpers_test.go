package sqlsource_test

// The tests run on SQLite always, on PostgreSQL when
// TICKETHOOKS_POSTGRES_DSN is set and on MySQL/MariaDB when
// TICKETHOOKS_MYSQL_DSN is set. Every test has tables of its own, under a
// fresh prefix, dropped when it ends.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registered as "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registered as "pgx"
	_ "modernc.org/sqlite"             // registered as "sqlite"

	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// backend is a kind of database the tests run against.
type backend struct {
	name    string
	driver  string
	env     string // variable holding the DSN; empty for SQLite
	dialect sqlsource.Dialect
}

var backends = []backend{
	{name: "SQLite", driver: "sqlite", dialect: sqlsource.SQLite},
	{name: "PostgreSQL", driver: "pgx", env: "TICKETHOOKS_POSTGRES_DSN", dialect: sqlsource.Postgres},
	{name: "MySQL", driver: "mysql", env: "TICKETHOOKS_MYSQL_DSN", dialect: sqlsource.MySQL},
}

// forEachBackend runs test as a parallel subtest per backend. A server
// backend whose DSN variable is not set is skipped, naming it.
func forEachBackend(t *testing.T, test func(t *testing.T, db *testDB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, newTestDB(t, b))
		})
	}
}

// testDB is one test's share of a database: a pool and a table prefix.
type testDB struct {
	b      backend
	prefix string
	pool   *sql.DB
}

// newTestDB opens b under a fresh table prefix, or skips the test when
// b's DSN variable is not set. The tables are dropped when the test ends.
func newTestDB(t testing.TB, b backend) *testDB {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "triggers.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	if b.env != "" {
		dsn = os.Getenv(b.env)
		if dsn == "" {
			t.Skipf("set %s to run this test on %s", b.env, b.name)
		}
	}
	pool, err := sql.Open(b.driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", b.driver, err)
	}
	if b.dialect == sqlsource.SQLite {
		pool.SetMaxOpenConns(1)
	}
	raw := make([]byte, 5)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	db := &testDB{b: b, prefix: "s" + hex.EncodeToString(raw) + "_", pool: pool}
	t.Cleanup(func() {
		for _, table := range []string{"triggers", "trigger_revisions", "trigger_tenants", "triggers_v2"} {
			if _, err := pool.Exec("DROP TABLE IF EXISTS " + db.prefix + table); err != nil {
				t.Errorf("dropping %s%s: %v", db.prefix, table, err)
			}
		}
		pool.Close()
	})
	return db
}

// exec runs query, written with ? placeholders, on the database.
func (db *testDB) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if db.b.dialect == sqlsource.Postgres {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	if _, err := db.pool.Exec(strings.ReplaceAll(query, "PREFIX_", db.prefix), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// local lets the test triggers name receivers on 127.0.0.1.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// source returns a migrated Source over db's tables. Unless cfg says
// otherwise, it loads with AllowNetworks local and logs nowhere.
func (db *testDB) source(t testing.TB, cfg sqlsource.Config) *sqlsource.Source {
	t.Helper()
	cfg.Dialect, cfg.TablePrefix = db.b.dialect, db.prefix
	if cfg.Options == nil {
		cfg.Options = &trigger.Options{AllowNetworks: local}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := sqlsource.New(db.pool, cfg)
	if err != nil {
		t.Fatalf("sqlsource.New: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// hook returns the definition of trigger id, which posts every change to
// http://127.0.0.1:9/path. extra members are added to the object.
func hook(id, path string, extra ...string) []byte {
	members := append([]string{fmt.Sprintf(`"id": %q`, id)}, extra...)
	members = append(members, fmt.Sprintf(`"actions": [{"type": "webhook", "url": "http://127.0.0.1:9/%s"}]`, path))
	return []byte("{" + strings.Join(members, ", ") + "}")
}

// put stores definition at position through s.
func put(t testing.TB, s *sqlsource.Source, definition []byte, position int) {
	t.Helper()
	if err := s.Put(context.Background(), "", definition, position); err != nil {
		t.Fatalf("Put(%s): %v", definition, err)
	}
}

// putIn stores definition at position as a trigger of tenant through s.
func putIn(t testing.TB, s *sqlsource.Source, tenant string, definition []byte, position int) {
	t.Helper()
	if err := s.Put(context.Background(), tenant, definition, position); err != nil {
		t.Fatalf("Put(%q, %s): %v", tenant, definition, err)
	}
}

// summary is what the tests compare of a trigger.
type summary struct {
	ID      string
	Enabled bool
	URL     string
}

// served returns the triggers s serves for tenant "", in order.
func served(t *testing.T, s *sqlsource.Source) []summary {
	t.Helper()
	return servedIn(t, s, "")
}

// servedIn returns the triggers s serves for tenant, in order, checking
// that each belongs to tenant.
func servedIn(t *testing.T, s *sqlsource.Source, tenant string) []summary {
	t.Helper()
	ts, err := s.ForTicket(context.Background(), tenant, nil)
	if err != nil {
		t.Fatalf("ForTicket(%q): %v", tenant, err)
	}
	for _, tr := range ts {
		if tr.Tenant != tenant {
			t.Errorf("ForTicket(%q) served trigger %q of tenant %q", tenant, tr.ID, tr.Tenant)
		}
	}
	var got []summary
	for _, tr := range ts {
		got = append(got, summary{ID: tr.ID, Enabled: tr.Enabled, URL: tr.Actions[0].URL})
	}
	return got
}

// url returns the URL hook gives path.
func url(path string) string { return "http://127.0.0.1:9/" + path }

// clock is a time source that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// records is a slog handler that keeps the messages it is given.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}
