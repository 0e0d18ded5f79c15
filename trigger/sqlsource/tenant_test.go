package sqlsource_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// TestTenants: two tenants with the same trigger id each see their own
// trigger only, through ForTicket, Trigger and TenantSet, in the Source
// that wrote them and in another process's.
func TestTenants(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		writer := db.source(t, sqlsource.Config{})
		putIn(t, writer, "acme", hook("notify", "acme"), 1)
		putIn(t, writer, "acme", hook("only-acme", "acme-only"), 2)
		putIn(t, writer, "globex", hook("notify", "globex", `"enabled": false`), 1)
		put(t, writer, hook("notify", "default"), 1)
		reader := db.source(t, sqlsource.Config{})

		for name, s := range map[string]*sqlsource.Source{"writer": writer, "reader": reader} {
			want := map[string][]summary{
				"acme":   {{"notify", true, url("acme")}, {"only-acme", true, url("acme-only")}},
				"globex": {{"notify", false, url("globex")}},
				"":       {{"notify", true, url("default")}},
				"ACME":   nil, // exact comparison
			}
			got := map[string][]summary{}
			for tenant := range want {
				got[tenant] = servedIn(t, s, tenant)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: triggers by tenant mismatch (-want +got):\n%s", name, diff)
			}
			for _, tenant := range []string{"acme", "globex", ""} {
				tr, err := s.Trigger(ctx, tenant, "notify")
				if err != nil {
					t.Fatalf("%s: Trigger(%q, notify): %v", name, tenant, err)
				}
				wantURL := url(tenant)
				if tenant == "" {
					wantURL = url("default")
				}
				if diff := cmp.Diff([]string{tenant, wantURL}, []string{tr.Tenant, tr.Actions[0].URL}); diff != "" {
					t.Errorf("%s: Trigger(%q, notify) mismatch (-want +got):\n%s", name, tenant, diff)
				}
			}
			for _, lookup := range [][2]string{{"globex", "only-acme"}, {"", "only-acme"}, {"initech", "notify"}, {"Acme", "notify"}} {
				if _, err := s.Trigger(ctx, lookup[0], lookup[1]); !errors.Is(err, trigger.ErrNotFound) {
					t.Errorf("%s: Trigger(%q, %q) = %v, want an error matching trigger.ErrNotFound", name, lookup[0], lookup[1], err)
				}
			}
			if diff := cmp.Diff([]string{"", "acme", "globex"}, s.Tenants()); diff != "" {
				t.Errorf("%s: Tenants mismatch (-want +got):\n%s", name, diff)
			}
			set := s.TenantSet("acme")
			if set.Tenant() != "acme" || set.Len() != 2 {
				t.Errorf("%s: TenantSet(acme) has tenant %q and %d triggers, want acme and 2", name, set.Tenant(), set.Len())
			}
			if set := s.TenantSet("initech"); set.Tenant() != "initech" || set.Len() != 0 {
				t.Errorf("%s: TenantSet(initech) has tenant %q and %d triggers, want initech and none", name, set.Tenant(), set.Len())
			}
			if s.Set() != s.TenantSet("") {
				t.Errorf("%s: Set() is not TenantSet(\"\")", name)
			}
		}
	})
}

// TestTenantChanges: a change of one tenant's triggers, through the
// Source or by hand, reloads that tenant only: the other tenants keep
// their compiled sets, in the writer and in another process's Source
// after CheckInterval. Reload without a change recompiles nothing.
func TestTenantChanges(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		clk := newClock()
		writer := db.source(t, sqlsource.Config{})
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Minute, Now: clk.Now})
		tenants := []string{"acme", "globex", "initech"}
		for _, tenant := range tenants {
			putIn(t, writer, tenant, hook("notify", tenant), 1)
		}
		sets := func(s *sqlsource.Source) map[string]*trigger.Set {
			if _, err := s.ForTicket(ctx, "acme", nil); err != nil {
				t.Fatalf("ForTicket: %v", err)
			}
			m := map[string]*trigger.Set{}
			for _, tenant := range tenants {
				m[tenant] = s.TenantSet(tenant)
			}
			return m
		}
		// same reports which tenants' sets are the same objects in a and b.
		same := func(a, b map[string]*trigger.Set) map[string]bool {
			m := map[string]bool{}
			for tenant := range a {
				m[tenant] = a[tenant] == b[tenant]
			}
			return m
		}
		before := map[string]map[string]*trigger.Set{"writer": sets(writer), "reader": sets(reader)}

		steps := []struct {
			name    string
			change  func()
			changed string // the tenant whose set changes
			url     string // its notify trigger's URL after the change
		}{
			{"Put", func() { putIn(t, writer, "globex", hook("notify", "globex2"), 1) }, "globex", url("globex2")},
			{"SetEnabled", func() {
				if err := writer.SetEnabled(ctx, "acme", "notify", false); err != nil {
					t.Fatal(err)
				}
			}, "acme", url("acme")},
			{"by hand", func() {
				db.exec(t, "UPDATE PREFIX_triggers SET definition = ? WHERE tenant = ? AND id = ?", string(hook("notify", "by-hand")), "initech", "notify")
				db.exec(t, "UPDATE PREFIX_trigger_revisions SET revision = revision + 1 WHERE scope = ''")
				if err := writer.Reload(ctx); err != nil {
					t.Fatal(err)
				}
			}, "initech", url("by-hand")},
			{"Reload unchanged", func() {
				for _, s := range []*sqlsource.Source{writer, reader} {
					if err := s.Reload(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}, "", ""},
		}
		for _, s := range steps {
			s.change()
			clk.advance(time.Minute)
			for name, src := range map[string]*sqlsource.Source{"writer": writer, "reader": reader} {
				after := sets(src)
				want := map[string]bool{"acme": true, "globex": true, "initech": true}
				if s.changed != "" {
					want[s.changed] = false
				}
				if diff := cmp.Diff(want, same(before[name], after)); diff != "" {
					t.Errorf("%s: %s: which tenants kept their set (-want +got):\n%s", s.name, name, diff)
				}
				if s.changed != "" {
					if tr, _ := after[s.changed].Get("notify"); tr == nil || tr.Actions[0].URL != s.url {
						t.Errorf("%s: %s: %s's trigger is %v, want one posting to %s", s.name, name, s.changed, tr, s.url)
					}
				}
				before[name] = after
			}
		}
	})
}

// TestDeleteTenant: DeleteTenant removes one tenant's triggers, in the
// writer and in another process's Source, and leaves the others'. A
// tenant without triggers is not an error, and a deleted tenant can come
// back.
func TestDeleteTenant(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		clk := newClock()
		writer := db.source(t, sqlsource.Config{})
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Minute, Now: clk.Now})
		putIn(t, writer, "acme", hook("a", "acme-a"), 1)
		putIn(t, writer, "acme", hook("b", "acme-b"), 2)
		putIn(t, writer, "globex", hook("a", "globex-a"), 1)
		servedIn(t, reader, "acme")

		if err := writer.DeleteTenant(ctx, "acme"); err != nil {
			t.Fatalf("DeleteTenant(acme): %v", err)
		}
		if err := writer.DeleteTenant(ctx, "never-was"); err != nil {
			t.Errorf("DeleteTenant(never-was) = %v, want nil", err)
		}
		clk.advance(time.Minute)
		for name, s := range map[string]*sqlsource.Source{"writer": writer, "reader": reader} {
			got := map[string][]summary{"acme": servedIn(t, s, "acme"), "globex": servedIn(t, s, "globex")}
			want := map[string][]summary{"acme": nil, "globex": {{"a", true, url("globex-a")}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: triggers after DeleteTenant mismatch (-want +got):\n%s", name, diff)
			}
			if _, err := s.Trigger(ctx, "acme", "a"); !errors.Is(err, trigger.ErrNotFound) {
				t.Errorf("%s: Trigger(acme, a) after DeleteTenant = %v, want trigger.ErrNotFound", name, err)
			}
			if diff := cmp.Diff([]string{"globex"}, s.Tenants()); diff != "" {
				t.Errorf("%s: Tenants after DeleteTenant mismatch (-want +got):\n%s", name, diff)
			}
		}
		fresh := db.source(t, sqlsource.Config{})
		if got := servedIn(t, fresh, "acme"); got != nil {
			t.Errorf("a new Source serves %v for acme, want none", got)
		}

		putIn(t, writer, "acme", hook("c", "acme-c"), 1)
		clk.advance(time.Minute)
		for name, s := range map[string]*sqlsource.Source{"writer": writer, "reader": reader} {
			if diff := cmp.Diff([]summary{{"c", true, url("acme-c")}}, servedIn(t, s, "acme")); diff != "" {
				t.Errorf("%s: acme's triggers after it came back mismatch (-want +got):\n%s", name, diff)
			}
		}
	})
}

// TestBadTenant: every write refuses a tenant that
// executionlog.ValidateTenant refuses, with an error matching
// executionlog.ErrInvalidTenant, and writes nothing. New refuses
// Options naming a tenant.
func TestBadTenant(t *testing.T) {
	t.Parallel()
	bad := []string{"a\x00b", "line\nbreak", strings.Repeat("x", 256), "\xff"}
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		s := db.source(t, sqlsource.Config{})
		put(t, s, hook("a", "a"), 1)
		for _, tenant := range bad {
			for what, err := range map[string]error{
				"Validate":     s.Validate(tenant, hook("a", "a")),
				"Put":          s.Put(ctx, tenant, hook("a", "a"), 1),
				"Delete":       s.Delete(ctx, tenant, "a"),
				"SetEnabled":   s.SetEnabled(ctx, tenant, "a", false),
				"DeleteTenant": s.DeleteTenant(ctx, tenant),
			} {
				if !errors.Is(err, executionlog.ErrInvalidTenant) || !strings.HasPrefix(err.Error(), "sqlsource: ") {
					t.Errorf("%s(%q) = %v, want a sqlsource error matching executionlog.ErrInvalidTenant", what, tenant, err)
				}
			}
		}
		fresh := db.source(t, sqlsource.Config{})
		servedIn(t, fresh, "")
		if diff := cmp.Diff([]string{""}, fresh.Tenants()); diff != "" {
			t.Errorf("Tenants after the refused writes mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]summary{{"a", true, url("a")}}, served(t, fresh)); diff != "" {
			t.Errorf("triggers after the refused writes mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Options.Tenant", func(t *testing.T) {
		db := newTestDB(t, backends[0])
		_, err := sqlsource.New(db.pool, sqlsource.Config{Dialect: sqlsource.SQLite, Options: &trigger.Options{Tenant: "acme"}})
		if err == nil || !strings.Contains(err.Error(), `sqlsource: invalid config: Options.Tenant is "acme"`) {
			t.Errorf("New with Options.Tenant = %v, want an invalid config error naming it", err)
		}
	})
}

// TestTenantLoadFails: one tenant's stored triggers that do not load
// affect that tenant only. At the first load, ForTicket and Trigger
// return the error for that tenant and serve the others; at a later
// check, the tenant keeps its triggers and the others' changes are
// served.
func TestTenantLoadFails(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		clk := newClock()
		writer := db.source(t, sqlsource.Config{})
		putIn(t, writer, "acme", hook("a", "acme"), 1)
		putIn(t, writer, "globex", hook("a", "globex"), 1)
		logged := &records{}
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Second, Now: clk.Now, Logger: slog.New(logged)})
		servedIn(t, reader, "acme")

		// By hand, break acme's trigger; through the Source, change
		// globex's.
		db.exec(t, "UPDATE PREFIX_triggers SET definition = ? WHERE tenant = ?", `{"id": "a", "actions": []}`, "acme")
		db.exec(t, "UPDATE PREFIX_trigger_revisions SET revision = revision + 1 WHERE scope = ''")
		putIn(t, writer, "globex", hook("a", "globex2"), 1)
		clk.advance(time.Second)
		got := map[string][]summary{"acme": servedIn(t, reader, "acme"), "globex": servedIn(t, reader, "globex")}
		want := map[string][]summary{"acme": {{"a", true, url("acme")}}, "globex": {{"a", true, url("globex2")}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("triggers after acme's bad edit mismatch (-want +got):\n%s", diff)
		}
		if n := logged.count(); n != 1 {
			t.Errorf("%d records logged, want 1", n)
		}
		err := reader.Reload(ctx)
		if !errors.Is(err, trigger.ErrInvalid) || !strings.Contains(err.Error(), `of tenant "acme"`) || strings.Contains(err.Error(), "globex") {
			t.Errorf("Reload = %v, want an error matching trigger.ErrInvalid naming tenant acme only", err)
		}

		// A new Source: acme never loaded.
		fresh := db.source(t, sqlsource.Config{CheckInterval: time.Second, Now: clk.Now})
		if _, err := fresh.ForTicket(ctx, "acme", nil); !errors.Is(err, trigger.ErrInvalid) {
			t.Errorf("ForTicket(acme) of a new Source = %v, want acme's load error", err)
		}
		if _, err := fresh.Trigger(ctx, "acme", "a"); !errors.Is(err, trigger.ErrInvalid) {
			t.Errorf("Trigger(acme, a) of a new Source = %v, want acme's load error", err)
		}
		if diff := cmp.Diff([]summary{{"a", true, url("globex2")}}, servedIn(t, fresh, "globex")); diff != "" {
			t.Errorf("globex's triggers in a new Source mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"globex"}, fresh.Tenants()); diff != "" {
			t.Errorf("Tenants of a new Source mismatch (-want +got):\n%s", diff)
		}
		// Mended through the Source, acme loads.
		putIn(t, writer, "acme", hook("a", "mended"), 1)
		clk.advance(time.Second)
		if diff := cmp.Diff([]summary{{"a", true, url("mended")}}, servedIn(t, fresh, "acme")); diff != "" {
			t.Errorf("acme's triggers once mended mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestTenantsConcurrentWrites: writers of different tenants, in two
// Sources, and a reader checking at every call, end with every write
// served.
func TestTenantsConcurrentWrites(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		writers := []*sqlsource.Source{db.source(t, sqlsource.Config{}), db.source(t, sqlsource.Config{})}
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Nanosecond})
		const perTenant = 8
		tenants := []string{"t0", "t1", "t2", "t3"}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reader.ForTicket(ctx, "t0", nil); err != nil {
					t.Errorf("ForTicket: %v", err)
					return
				}
			}
		})
		var writes sync.WaitGroup
		for i, tenant := range tenants {
			writes.Go(func() {
				for n := range perTenant {
					if err := writers[i%2].Put(ctx, tenant, hook(fmt.Sprintf("h%d", n), tenant), n); err != nil {
						t.Errorf("Put(%s): %v", tenant, err)
					}
				}
			})
		}
		writes.Wait()
		close(stop)
		wg.Wait()
		for _, tenant := range tenants {
			if n := len(servedIn(t, reader, tenant)); n != perTenant {
				t.Errorf("tenant %s: %d triggers served, want %d", tenant, n, perTenant)
			}
		}
	})
}

// v1Schema is the schema of version 1, which had no tenants.
func v1Schema(d sqlsource.Dialect) []string {
	if d == sqlsource.MySQL {
		const table = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE PREFIX_triggers (id VARBINARY(256) NOT NULL PRIMARY KEY, position BIGINT NOT NULL,
				enabled BOOLEAN NOT NULL, definition MEDIUMTEXT NOT NULL, version BIGINT NOT NULL` + table,
			`CREATE TABLE PREFIX_trigger_revisions (scope VARBINARY(256) NOT NULL PRIMARY KEY, revision BIGINT NOT NULL` + table,
			`INSERT INTO PREFIX_trigger_revisions (scope, revision) VALUES ('', 0)`,
		}
	}
	return []string{
		`CREATE TABLE PREFIX_triggers (id TEXT NOT NULL PRIMARY KEY, position BIGINT NOT NULL,
			enabled BOOLEAN NOT NULL, definition TEXT NOT NULL, version BIGINT NOT NULL)`,
		`CREATE TABLE PREFIX_trigger_revisions (scope TEXT NOT NULL PRIMARY KEY, revision BIGINT NOT NULL)`,
		`INSERT INTO PREFIX_trigger_revisions (scope, revision) VALUES ('', 0)`,
	}
}

// TestMigrateV1: Migrate upgrades tables of version 1 holding triggers:
// they become tenant "", in their order, with their enabled column, and
// another tenant can then store a trigger with the same id. Migrating
// again changes nothing.
func TestMigrateV1(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		for _, stmt := range v1Schema(db.b.dialect) {
			db.exec(t, stmt)
		}
		for i, r := range []struct {
			id      string
			enabled bool
		}{{"b", true}, {"a", false}, {"c", true}} {
			db.exec(t, "INSERT INTO PREFIX_triggers (id, position, enabled, definition, version) VALUES (?, ?, ?, ?, ?)",
				r.id, i%2, r.enabled, string(hook(r.id, "v1-"+r.id)), i+1)
		}
		db.exec(t, "UPDATE PREFIX_trigger_revisions SET revision = 3 WHERE scope = ''")

		s := db.source(t, sqlsource.Config{}) // migrates
		want := []summary{{"b", true, url("v1-b")}, {"c", true, url("v1-c")}, {"a", false, url("v1-a")}}
		if diff := cmp.Diff(want, served(t, s)); diff != "" {
			t.Fatalf("triggers after the upgrade mismatch (-want +got):\n%s", diff)
		}
		putIn(t, s, "acme", hook("a", "acme-a"), 1)
		if err := s.SetEnabled(ctx, "", "a", true); err != nil {
			t.Fatalf("SetEnabled(\"\", a): %v", err)
		}
		again := db.source(t, sqlsource.Config{}) // migrates again: a no-op
		got := map[string][]summary{"": served(t, again), "acme": servedIn(t, again, "acme")}
		wantAll := map[string][]summary{
			"":     {{"b", true, url("v1-b")}, {"c", true, url("v1-c")}, {"a", true, url("v1-a")}},
			"acme": {{"a", true, url("acme-a")}},
		}
		if diff := cmp.Diff(wantAll, got); diff != "" {
			t.Errorf("triggers after migrating again mismatch (-want +got):\n%s", diff)
		}
		// Another process migrating at the same time waits its turn.
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				s, err := sqlsource.New(db.pool, sqlsource.Config{Dialect: db.b.dialect, TablePrefix: db.prefix})
				if err == nil {
					err = s.Migrate(ctx)
				}
				if err != nil {
					t.Errorf("concurrent Migrate: %v", err)
				}
			})
		}
		wg.Wait()
	})
}
