package sqlsource_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// BenchmarkSQLite measures, on SQLite with 100 stored triggers, a
// ForTicket served from memory, one with a change check at every call,
// and a full Reload.
func BenchmarkSQLite(b *testing.B) {
	db := newTestDB(b, backends[0])
	ctx := context.Background()
	writer := db.source(b, sqlsource.Config{})
	for i := range 100 {
		id := fmt.Sprintf("t%03d", i)
		put(b, writer, benchHook("", id, 0), i)
	}
	for _, bc := range []struct {
		name     string
		interval time.Duration
		run      func(s *sqlsource.Source) error
	}{
		{"ForTicketCached", time.Hour, func(s *sqlsource.Source) error { _, err := s.ForTicket(ctx, "", nil); return err }},
		{"ForTicketChecked", time.Nanosecond, func(s *sqlsource.Source) error { _, err := s.ForTicket(ctx, "", nil); return err }},
		{"Reload100", time.Hour, func(s *sqlsource.Source) error { return s.Reload(ctx) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := db.source(b, sqlsource.Config{CheckInterval: bc.interval})
			if err := s.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := bc.run(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTenants measures, with 1,000 tenants of 20 triggers each
// stored, on every backend whose DSN is set: the first load of every
// tenant (FirstLoad); a Reload that finds every tenant's rows unchanged
// and recompiles nothing (ReloadUnchanged); a change check that finds no
// change (CheckUnchanged); and a Put of one tenant's trigger followed by
// another process's Source serving it, which reloads that tenant only
// (PutReload).
func BenchmarkTenants(b *testing.B) {
	const tenants, perTenant = 1000, 20
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := newTestDB(b, be)
			ctx := context.Background()
			writer := db.source(b, sqlsource.Config{})
			fillTenants(b, db, tenants, perTenant)
			tenant := func(i int) string { return fmt.Sprintf("tenant-%04d", i) }
			check := func(s *sqlsource.Source, tenant string) {
				ts, err := s.ForTicket(ctx, tenant, nil)
				if err != nil {
					b.Fatal(err)
				}
				if len(ts) != perTenant {
					b.Fatalf("%s: %d triggers served, want %d", tenant, len(ts), perTenant)
				}
			}

			b.Run("FirstLoad", func(b *testing.B) {
				for b.Loop() {
					s := db.source(b, sqlsource.Config{})
					check(s, tenant(0))
				}
				b.ReportMetric(float64(tenants*perTenant), "triggers")
			})
			b.Run("ReloadUnchanged", func(b *testing.B) {
				s := db.source(b, sqlsource.Config{CheckInterval: time.Hour})
				check(s, tenant(0))
				for b.Loop() {
					if err := s.Reload(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("CheckUnchanged", func(b *testing.B) {
				s := db.source(b, sqlsource.Config{CheckInterval: time.Nanosecond})
				check(s, tenant(0))
				for b.Loop() {
					check(s, tenant(1))
				}
			})
			b.Run("PutReload", func(b *testing.B) {
				reader := db.source(b, sqlsource.Config{CheckInterval: time.Nanosecond})
				check(reader, tenant(0))
				n := 0
				for b.Loop() {
					n++
					if err := writer.Put(ctx, tenant(500), benchHook(tenant(500), "t00", n), 0); err != nil {
						b.Fatal(err)
					}
					check(reader, tenant(500))
				}
				if tr, err := reader.Trigger(ctx, tenant(500), "t00"); err != nil || tr.Actions[0].URL != benchURL(tenant(500), "t00", n) {
					b.Fatalf("Trigger after the Puts = %v, %v; want the last Put's", tr, err)
				}
			})
		})
	}
}

// benchURL is the URL of a benchmark trigger.
func benchURL(tenant, id string, n int) string {
	return fmt.Sprintf("http://127.0.0.1:9/%s/%s/%d", tenant, id, n)
}

// benchHook is a benchmark trigger's definition, with an expression and a
// condition.
func benchHook(tenant, id string, n int) []byte {
	return []byte(`{"id": "` + id + `", "expression": "Ticket.Urgency == 'High' && Changed('Status')",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "` + benchURL(tenant, id, n) + `"}]}`)
}

// fillTenants stores perTenant triggers for each of tenants tenants, with
// the host's own SQL, in one transaction.
func fillTenants(b *testing.B, db *testDB, tenants, perTenant int) {
	b.Helper()
	tx, err := db.pool.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 100
	var values []string
	var args []any
	param := func() string {
		if db.b.dialect == sqlsource.Postgres {
			return "$" + strconv.Itoa(len(args)+1)
		}
		return "?"
	}
	flush := func() {
		if len(values) == 0 {
			return
		}
		if _, err := tx.Exec("INSERT INTO "+db.prefix+"triggers (tenant, id, position, enabled, definition, version) VALUES "+
			strings.Join(values, ", "), args...); err != nil {
			b.Fatal(err)
		}
		values, args = values[:0], args[:0]
	}
	for i := range tenants {
		tenant := fmt.Sprintf("tenant-%04d", i)
		for j := range perTenant {
			id := fmt.Sprintf("t%02d", j)
			var ps []string
			for _, v := range []any{tenant, id, j, true, string(benchHook(tenant, id, 0)), 1} {
				ps = append(ps, param())
				args = append(args, v)
			}
			values = append(values, "("+strings.Join(ps, ", ")+")")
			if len(values) == batch {
				flush()
			}
		}
	}
	flush()
	if _, err := tx.Exec("UPDATE " + db.prefix + "trigger_revisions SET revision = revision + 1 WHERE scope = ''"); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
