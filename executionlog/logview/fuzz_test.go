package logview_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// fuzzHandler fuzzes the requests to the handlers over a log of each kind:
// a GET of a target (a path and query under the handler), or, with a
// body, an API POST of it, for a request of tenant (a Config.Tenant
// that answers tenant, ok unless tenant is "!"; an operator view whose
// staff func approves every request but "!"). No request may answer 5xx:
// every parameter and id is checked before it reaches a log. On the
// memory log, which holds entries of tenants "acme" and "globex" too, no
// tenant's view may answer 200 with another tenant's entry id that the
// request did not name. The seed corpus runs with every go test; CI sets
// the variables of the SQL servers. With -fuzz, use a count
// (-fuzztime=60000x): a duration can end in a spurious "context deadline
// exceeded" (go.dev/issue/75804). The fuzzing engine stops its workers
// without their cleanups, so each leaves its tables (lv<hex>_*) in the
// server's database to drop afterwards.
func fuzzHandler(f *testing.F, kinds ...logKind) {
	type view struct {
		name string
		h    http.Handler
		// owners maps the ids of the log's entries to their tenants;
		// nil when the view's log does not store tenants (the SQL logs,
		// for now), whose isolation the fuzz test does not check.
		owners map[string]string
		tenant bool // the view of Config.Tenant
	}
	var views []view
	tenantOf := func(r *http.Request) (string, bool) {
		t, _ := r.Context().Value(fuzzTenantKey{}).(string)
		return t, t != "!"
	}
	staff := func(r *http.Request) bool {
		t, _ := r.Context().Value(fuzzTenantKey{}).(string)
		return t != "!"
	}
	for _, k := range kinds {
		log := newLog(f, k)
		var owners map[string]string
		if k.dialect == nil {
			owners = map[string]string{}
			for _, e := range fixtureEntries() {
				owners[e.ID] = ""
			}
			for _, e := range fuzzTenantEntries() {
				owners[e.ID] = e.Tenant
			}
			if err := log.Add(context.Background(), fuzzTenantEntries()); err != nil {
				f.Fatalf("Add: %v", err)
			}
		}
		quiet := slog.New(slog.DiscardHandler)
		for _, v := range []struct {
			name   string
			cfg    logview.Config
			op     bool
			tenant bool
		}{
			{"single-tenant", logview.Config{}, false, false},
			{"tenant", logview.Config{Tenant: tenantOf}, false, true},
			{"operator", logview.Config{}, true, false},
		} {
			cfg := v.cfg
			cfg.Log, cfg.Redeliverer, cfg.Now, cfg.Logger = log, &fakeRedeliverer{log: log}, now, quiet
			var h http.Handler
			var err error
			if v.op {
				h, err = logview.NewOperator(cfg, staff)
			} else {
				h, err = logview.New(cfg)
			}
			if err != nil {
				f.Fatalf("%s: %v", v.name, err)
			}
			views = append(views, view{name: k.name + " log, " + v.name + " view", h: h, owners: owners, tenant: v.tenant})
		}
	}
	id := fixtureEntries()[1].ID // failed: the seeds redeliver it
	acmeID, globexID := fuzzTenantEntries()[1].ID, fuzzTenantEntries()[3].ID
	for _, seed := range [][2]string{
		{"", ""},
		{"?trigger=%00", ""},
		{"?trigger=%FF%FE", ""},
		{"?cursor=MS4wLv8", ""},
		{"?cursor=MS4wLmEAYg", ""},
		{"entries/%00", ""},
		{"api/entries/%ff", ""},
		{"api/entries?trigger=%00&error=%FF&cursor=MS4wLmEAYg", ""},
		{"?from=0000-01-01T00:00:00%2B01:00&to=9999-12-31T23:59:59-01:00", ""},
		{"api/entries?ticket=9223372036854775807&limit=200", ""},
		{"?error=a%00b&status=failed", ""},
		{"entries/" + id, ""},
		{"api/entries/" + id, ""},
		{"entries/javascript:alert(1)", ""},
		{"entries/%2F%2Fevil.example", ""},
		{"redeliver?trigger=%00", ""},
		{"api/redeliver", `{"trigger": "\u0000"}`},
		{"api/redeliver", `{"cursor": "MS4wLv8", "max": 1}`},
		{"api/redeliver", `{"error": "\udfff", "from": "2026-03-14"}`},
		{"api/entries/%ff/redeliver", `{}`},
		{"api/entries/" + id + "/redeliver", `{}`},
		{"?tenant=globex", ""},
		{"?tenant=%00", ""},
		{"api/entries?tenant=acme&limit=1", ""},
		{"entries/" + globexID, ""},
		{"api/entries/" + acmeID, ""},
		{"api/entries/" + globexID + "/redeliver", `{}`},
		{"api/redeliver", `{"tenant": "globex"}`},
		{"redeliver?tenant=acme", ""},
	} {
		for _, tenant := range []string{"acme", "globex", "", "!", "a\x00b", "\xff"} {
			f.Add(seed[0], seed[1], tenant)
		}
	}
	f.Fuzz(func(t *testing.T, target, body, tenant string) {
		method := http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, "http://logview.test/"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Requested-With", "fuzz")
		for _, v := range views {
			rec := httptest.NewRecorder()
			ctx := context.WithValue(t.Context(), fuzzTenantKey{}, tenant)
			v.h.ServeHTTP(rec, req.Clone(ctx))
			if rec.Code >= 500 {
				t.Errorf("%s, tenant %q: %s %q with body %q = %d:\n%s", v.name, tenant, method, target, body, rec.Code, rec.Body)
			}
			if !v.tenant || v.owners == nil || rec.Code != http.StatusOK {
				continue
			}
			for id, owner := range v.owners {
				if owner != tenant && strings.Contains(rec.Body.String(), id) &&
					!strings.Contains(target, id) && !strings.Contains(body, id) {
					t.Errorf("%s, tenant %q: %s %q with body %q shows %q's entry %s:\n%s",
						v.name, tenant, method, target, body, owner, id, rec.Body)
				}
			}
		}
	})
}

// fuzzTenantKey is the context key of the fuzzed request's tenant.
type fuzzTenantKey struct{}

// fuzzTenantEntries returns entries of tenants acme and globex, with the
// same ids on every call, unlike those of fixtureEntries.
func fuzzTenantEntries() []*executionlog.Entry {
	var entries []*executionlog.Entry
	for i, tenant := range []string{"acme", "globex"} {
		for j, status := range []executionlog.Status{executionlog.StatusSucceeded, executionlog.StatusFailed} {
			d := time.Duration(2*i+j)*time.Hour + 30*time.Minute
			e := entry(d, 1001+j, "crm", status, attempt(1, d, 500, "receiver answered 500", tenant))
			e.Tenant = tenant
			e.ID = e.ID[:10] + fmt.Sprintf("%016d", 100+2*i+j)
			entries = append(entries, e)
		}
	}
	return entries
}

func FuzzHandler(f *testing.F) { fuzzHandler(f, memoryKind, sqliteKind) }

func FuzzHandlerPostgres(f *testing.F) { fuzzHandler(f, postgresKind) }

func FuzzHandlerMySQL(f *testing.F) { fuzzHandler(f, mysqlKind) }
