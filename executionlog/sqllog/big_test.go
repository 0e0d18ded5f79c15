package sqllog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
)

// bigRows is the size of the log TestBig measures.
const bigRows = 1_000_000

// TestBig measures the main queries on a log of a million entries, for
// every backend that is configured. It is skipped unless TICKETHOOKS_BIG=1:
//
//	TICKETHOOKS_BIG=1 go test -run TestBig -v -timeout 60m ./executionlog/sqllog/
//
// It asserts nothing about time; it logs a table of timings.
func TestBig(t *testing.T) {
	if os.Getenv("TICKETHOOKS_BIG") != "1" {
		t.Skip("set TICKETHOOKS_BIG=1 to measure queries on a million entries")
	}
	backends := map[string]func(t *testing.T) backend{
		"SQLite":   func(*testing.T) backend { return sqliteBackend() },
		"Postgres": postgresBackend,
		"MySQL":    mysqlBackend,
	}
	for _, name := range []string{"SQLite", "Postgres", "MySQL"} {
		t.Run(name, func(t *testing.T) {
			if only := os.Getenv("TICKETHOOKS_BIG_ONLY"); only != "" && !strings.EqualFold(only, name) {
				t.Skip("TICKETHOOKS_BIG_ONLY is set to another backend")
			}
			measureBig(t, newTestLog(t, backends[name](t)))
		})
	}
}

// bigErrors are the errors of the generated attempts, with how many in
// 10,000 attempts carry each; the rest succeed.
var bigErrors = []struct {
	text string
	per  int
}{
	{"HTTP 503 Service Unavailable", 500},
	{"dial tcp 203.0.113.7:443: connect: connection refused", 300},
	{"Post \"https://erp.example.com/hooks\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", 200},
	{"HTTP 502 Bad Gateway", 1000},
	{"tls: failed to verify certificate: x509: certificate signed by unknown authority", 1},
}

// bigTenants is how many tenants the million entries are spread over,
// round robin: each holds bigRows/bigTenants entries, created one every
// bigTenants seconds.
const bigTenants = 1000

// bigTenant is the tenant whose queries TestBig and BenchmarkBigQuery
// measure. One in 100 of its entries fails with the rare error, so that
// the rare error's search finds a few.
const bigTenant = "tenant-042"

// bigRow draws the tenant, ticket and attempt outcome of generated entry
// i: tickets are numbered per tenant, so that one tenant's ticket has
// about 10 entries.
func bigRow(rng *rand.Rand, i int) (tenant string, ticket int, errText string, code int) {
	tenant = fmt.Sprintf("tenant-%03d", i%bigTenants)
	ticket = 1 + rng.IntN(bigRows/bigTenants/10)
	errText, code = bigError(rng)
	if tenant == bigTenant && (i/bigTenants)%100 == 50 {
		errText, code = bigErrors[len(bigErrors)-1].text, 0
	}
	return tenant, ticket, errText, code
}

// bigError draws the outcome of a generated attempt: an error of
// bigErrors with status code 0, or "" and 200 for a success.
func bigError(rng *rand.Rand) (string, int) {
	r := rng.IntN(10_000)
	for _, e := range bigErrors {
		if r < e.per {
			return e.text, 0
		}
		r -= e.per
	}
	return "", 200
}

// loadBig writes bigRows entries of bigTenants tenants (see bigRow), each
// with one attempt, straight into the tables with multi-row INSERTs in one
// transaction, oldest first as an engine adds them: they are created one
// a second, the newest at base. It returns a ticket id of bigTenant that
// has entries.
func loadBig(t *testing.T, l *testLog) int {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	d := l.d
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	defer tx.Rollback()

	const rows = 500
	entryMarks := strings.Repeat(", ("+strings.Repeat("?, ", insertColCount+1)+"?)", rows)[2:]
	attemptMarks := strings.Repeat(", ("+strings.Repeat("?, ", attemptColCount-1)+"?)", rows)[2:]
	cols := insertCols + ", lease_owner, lease_until"
	var entryArgs, attemptArgs []any
	for i := range bigRows {
		created := base.Add(-time.Duration(bigRows-1-i) * time.Second)
		id := executionlog.NewID(created)
		tenant, ticket, errText, code := bigRow(rng, i)
		status, next := executionlog.StatusSucceeded, any(nil)
		switch {
		case errText != "" && i%3 == 0:
			status, next = executionlog.StatusPending, d.timeArg(created.Add(time.Hour))
		case errText != "":
			status = executionlog.StatusFailed
		}
		search := ""
		if errText != "" {
			search = "\n" + searchText(errText)
		}
		entryArgs = append(entryArgs, id, fmt.Sprintf("trg-%d", i%20), "Notify ERP", 0, ticket, "updated",
			"https://erp.example.com/hooks", `{"Content-Type":"application/json","Authorization":"[REDACTED]"}`,
			fmt.Appendf(nil, `{"Id":%d,"Subject":"Impressora não liga","Status":"Novo","Urgency":"Alta","ServiceFirstLevel":"TI"}`, ticket),
			string(status), 1, 0, false, next, search, "", d.timeArg(created), d.timeArg(created), nil, tenant, nil, nil)
		attemptArgs = append(attemptArgs, id, 1, 1, d.timeArg(created), int64(250*time.Millisecond), code,
			[]byte(errText), []byte(`{"ok":false}`), false)
		if (i+1)%rows == 0 {
			if _, err := l.exec(ctx, tx, "INSERT INTO "+l.entries+" ("+cols+") VALUES "+entryMarks, entryArgs...); err != nil {
				t.Fatalf("inserting entries: %v", err)
			}
			if _, err := l.exec(ctx, tx, "INSERT INTO "+l.attempts+" ("+attemptCols+") VALUES "+attemptMarks, attemptArgs...); err != nil {
				t.Fatalf("inserting attempts: %v", err)
			}
			entryArgs, attemptArgs = entryArgs[:0], attemptArgs[:0]
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	analyze := map[Dialect][]string{
		SQLite:   {"ANALYZE"},
		Postgres: {"ANALYZE " + l.entries, "ANALYZE " + l.attempts},
		MySQL:    {"ANALYZE TABLE " + l.entries + ", " + l.attempts},
	}
	for _, stmt := range analyze[d] {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return bigTicket(t, l.Log)
}

// bigTicket returns the ticket of bigTenant's newest entry.
func bigTicket(tb testing.TB, l *Log) int {
	tb.Helper()
	var ticket int
	if err := l.queryRow(context.Background(), l.db, "SELECT ticket_id FROM "+l.entries+" WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT 1",
		bigTenant).Scan(&ticket); err != nil {
		tb.Fatalf("picking a ticket: %v", err)
	}
	return ticket
}

// measureBig loads a million entries into l and logs how long the main
// queries take: the median of five runs, and the first run.
func measureBig(t *testing.T, l *testLog) {
	ctx := context.Background()
	start := time.Now()
	ticket := loadBig(t, l)
	t.Logf("%s: loaded %d entries and %d attempts in %v", l.d, bigRows, bigRows, time.Since(start).Round(time.Millisecond))

	// A cursor half way through the log.
	mid := base.Add(-bigRows / 2 * time.Second)
	midCursor := executionlog.EncodeCursor(mid, executionlog.NewID(mid))
	// One tenant's queries, of bigTenant's thousand entries; the last
	// one is an operator's, of every tenant.
	queries := []struct {
		name string
		f    executionlog.Filter
	}{
		{"newest page (50)", executionlog.Filter{}},
		{"page at row 500,000 (cursor)", executionlog.Filter{Cursor: midCursor}},
		{"one ticket (~10 entries)", executionlog.Filter{TicketID: ticket}},
		{"one trigger, one day", executionlog.Filter{TriggerID: "trg-2", From: base.Add(-48 * time.Hour), To: base.Add(-24 * time.Hour)}},
		{"status failed", executionlog.Filter{Status: executionlog.StatusFailed}},
		{"error common: service unavailable", executionlog.Filter{ErrorText: "Service Unavailable"}},
		{"error rare: certificate signed by unknown (~10)", executionlog.Filter{ErrorText: "certificate signed by unknown"}},
		{"error absent: no such host (0)", executionlog.Filter{ErrorText: "no such host"}},
		{"error rare, last 7 days", executionlog.Filter{ErrorText: "certificate signed", From: base.Add(-7 * 24 * time.Hour)}},
		{"error + status failed", executionlog.Filter{ErrorText: "connection refused", Status: executionlog.StatusFailed}},
	}
	for i := range queries {
		queries[i].f.Tenant = bigTenant
	}
	queries = append(queries, struct {
		name string
		f    executionlog.Filter
	}{"every tenant: newest page (50)", executionlog.Filter{AllTenants: true}})
	for _, q := range queries {
		var runs []time.Duration
		var n int
		for range 5 {
			start := time.Now()
			page, err := l.Query(ctx, q.f)
			runs = append(runs, time.Since(start))
			if err != nil {
				t.Fatalf("Query(%s): %v", q.name, err)
			}
			n = len(page.Entries)
		}
		first := runs[0]
		slices.Sort(runs)
		t.Logf("%s: %-50s %4d entries  median %9v  first %9v", l.d, q.name, n,
			runs[len(runs)/2].Round(10*time.Microsecond), first.Round(10*time.Microsecond))
	}
	start = time.Now()
	claimed, err := l.Claim(ctx, executionlog.Claim{Owner: "bench", Now: base.Add(time.Hour), Lease: time.Minute, Limit: 100})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	t.Logf("%s: %-50s %4d entries  %v", l.d, "claim 100 due", len(claimed), time.Since(start).Round(10*time.Microsecond))
	start = time.Now()
	claimed, err = l.Claim(ctx, executionlog.Claim{Owner: "bench", Now: base.Add(time.Hour), Lease: time.Minute, Limit: 100, PerTenant: 4})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	t.Logf("%s: %-50s %4d entries  %v", l.d, "claim 100 due, 4 per tenant", len(claimed), time.Since(start).Round(10*time.Microsecond))
	start = time.Now()
	pending, err := l.CountPending(ctx, bigTenant, 0)
	if err != nil {
		t.Fatalf("CountPending: %v", err)
	}
	t.Logf("%s: %-50s %4d entries  %v", l.d, "count one tenant's pending entries", pending, time.Since(start).Round(10*time.Microsecond))

	// Retention: prune one tenant's finished entries, then every
	// tenant's of the older half.
	start = time.Now()
	pruned, err := l.Prune(ctx, executionlog.TenantScope(bigTenant), mid)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	t.Logf("%s: pruned %d finished entries of one tenant's older half in %v", l.d, pruned, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	deleted, err := l.Delete(ctx, executionlog.Filter{Tenant: "tenant-007"})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	t.Logf("%s: deleted one tenant's %d entries in %v", l.d, deleted, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	pruned, err = l.Prune(ctx, executionlog.AllTenants, mid)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	t.Logf("%s: pruned %d finished entries of the older half in %v", l.d, pruned, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	page, err := l.Query(ctx, executionlog.Filter{Tenant: bigTenant})
	if err != nil {
		t.Fatalf("Query after Prune: %v", err)
	}
	t.Logf("%s: %-50s %4d entries  %v", l.d, "newest page after Prune", len(page.Entries), time.Since(start).Round(10*time.Microsecond))
}
