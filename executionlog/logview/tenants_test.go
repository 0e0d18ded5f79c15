package logview_test

import (
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// The tenants of the two-tenant tests.
const (
	acme   = "acme"
	globex = "globex"
)

// tenantFixture is a memory log (the SQL logs do not store tenants yet)
// holding the entries of two tenants, interleaved in time, with the same
// ticket numbers and trigger ids.
type tenantFixture struct {
	log executionlog.Log
	// byTenant lists each tenant's entries, newest first.
	byTenant map[string][]executionlog.Entry
	// failed lists each tenant's failed entries that a bulk redelivery
	// sends (not test sends), newest first.
	failed map[string][]string
}

// newTenantFixture returns the log of two tenants: each has a succeeded,
// two failed, a pending entry and a failed test send; acme's are created
// at even hours, globex's at odd ones.
func newTenantFixture(t *testing.T) *tenantFixture {
	t.Helper()
	fx := &tenantFixture{
		log:      executionlog.NewMemory(executionlog.MemoryOptions{}),
		byTenant: map[string][]executionlog.Entry{},
		failed:   map[string][]string{},
	}
	var all []*executionlog.Entry
	for i, tenant := range []string{acme, globex} {
		off := time.Duration(i) * time.Hour
		es := []*executionlog.Entry{
			entry(off, 101, "crm", executionlog.StatusSucceeded, attempt(1, off, 200, "", tenant+" ok")),
			entry(2*time.Hour+off, 101, "erp", executionlog.StatusFailed, attempt(1, 2*time.Hour+off, 503, "receiver answered 503", tenant+" busy")),
			entry(4*time.Hour+off, 102, "crm", executionlog.StatusFailed, attempt(1, 4*time.Hour+off, 400, "receiver answered 400", tenant+" bad")),
			entry(6*time.Hour+off, 103, "crm", executionlog.StatusPending),
			entry(8*time.Hour+off, 101, "", executionlog.StatusFailed, attempt(1, 8*time.Hour+off, 422, "receiver answered 422", tenant+" no")),
		}
		es[3].NextAttemptAt = now().Add(time.Minute)
		es[4].Test, es[4].Event, es[4].TriggerName = true, "test", ""
		for _, e := range es {
			e.Tenant = tenant
			e.RequestHeaders["X-Account"] = tenant
		}
		all = append(all, es...)
		for j := len(es) - 1; j >= 0; j-- {
			fx.byTenant[tenant] = append(fx.byTenant[tenant], *es[j])
		}
		fx.failed[tenant] = []string{es[2].ID, es[1].ID}
	}
	if err := fx.log.Add(context.Background(), all); err != nil {
		t.Fatalf("Add: %v", err)
	}
	return fx
}

// ids returns the ids of tenant's entries, newest first, that keep
// returns true for.
func (fx *tenantFixture) ids(tenant string, keep func(e executionlog.Entry) bool) []string {
	out := []string{}
	for _, e := range fx.byTenant[tenant] {
		if keep == nil || keep(e) {
			out = append(out, e.ID)
		}
	}
	return out
}

// other returns the tenant of the fixture that is not tenant.
func other(tenant string) string {
	if tenant == acme {
		return globex
	}
	return acme
}

// snapshot returns every entry of the log, each tenant's newest first.
func (fx *tenantFixture) snapshot(t *testing.T) map[string][]executionlog.Entry {
	t.Helper()
	out := map[string][]executionlog.Entry{}
	for _, tenant := range []string{acme, globex} {
		page, err := fx.log.Query(t.Context(), executionlog.Filter{Tenant: tenant, Limit: executionlog.MaxLimit})
		if err != nil {
			t.Fatalf("Query(%s): %v", tenant, err)
		}
		out[tenant] = page.Entries
	}
	return out
}

// fixedTenant is a Config.Tenant that puts every request in tenant: it
// stands for the host's login, which knows the admin's account.
func fixedTenant(tenant string) func(*http.Request) (string, bool) {
	return func(*http.Request) (string, bool) { return tenant, true }
}

// tenantServers returns a server of the fixture's log for each tenant,
// sharing the redeliverer red.
func tenantServers(t *testing.T, fx *tenantFixture, red *fakeRedeliverer) map[string]*server {
	t.Helper()
	return map[string]*server{
		acme:   newServer(t, logview.Config{Log: fx.log, Redeliverer: red, Tenant: fixedTenant(acme)}),
		globex: newServer(t, logview.Config{Log: fx.log, Redeliverer: red, Tenant: fixedTenant(globex)}),
	}
}

// newOperatorServer mounts the operator view of cfg under prefix; staff
// decides who may see it.
func newOperatorServer(t *testing.T, cfg logview.Config, staff func(*http.Request) bool) *server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = now
	}
	h, err := logview.NewOperator(cfg, staff)
	if err != nil {
		t.Fatalf("NewOperator: %v", err)
	}
	return serve(t, h, nil)
}

// route is a request to one of the handler's routes.
type route struct {
	name string
	send func(t *testing.T, s *server) response
}

// routes returns a request to every route of the handler but the style
// sheet: id names the entry of the entry routes, query is added to the
// GETs and is the form of the form POSTs, which also carry the CSRF
// token of the server's bulk confirmation page, if it shows one, and
// jsonBody is the body of the JSON POSTs.
func routes(id, query string, jsonBody string) []route {
	q := ""
	if query != "" {
		q = "?" + query
	}
	form := func(t *testing.T, s *server) url.Values {
		t.Helper()
		v, _ := url.ParseQuery(query)
		// Any page with a form carries the token: the confirmation page
		// of a bulk redelivery has one whenever redelivery is allowed.
		if m := tokenPattern.FindStringSubmatch(s.get(t, "/redeliver").body); m != nil {
			v.Set("csrf_token", m[1])
		}
		return v
	}
	return []route{
		{"GET /", func(t *testing.T, s *server) response { return s.get(t, "/"+q) }},
		{"GET /entries/{id}", func(t *testing.T, s *server) response { return s.get(t, "/entries/"+id+q) }},
		{"POST /entries/{id}/redeliver", func(t *testing.T, s *server) response {
			return s.postForm(t, "/entries/"+id+"/redeliver", form(t, s))
		}},
		{"GET /redeliver", func(t *testing.T, s *server) response { return s.get(t, "/redeliver"+q) }},
		{"POST /redeliver", func(t *testing.T, s *server) response { return s.postForm(t, "/redeliver", form(t, s)) }},
		{"GET /api/entries", func(t *testing.T, s *server) response { return s.get(t, "/api/entries"+q) }},
		{"GET /api/entries/{id}", func(t *testing.T, s *server) response { return s.get(t, "/api/entries/"+id+q) }},
		{"POST /api/entries/{id}/redeliver", func(t *testing.T, s *server) response {
			return s.postJSON(t, "/api/entries/"+id+"/redeliver", jsonBody)
		}},
		{"POST /api/redeliver", func(t *testing.T, s *server) response { return s.postJSON(t, "/api/redeliver", jsonBody) }},
	}
}

// Each tenant's list, filters and JSON list show its own entries only,
// even when the filters (ticket 101, trigger crm, error text) match the
// other tenant's entries as well.
func TestTenantList(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	servers := tenantServers(t, fx, &fakeRedeliverer{log: fx.log})
	for _, tenant := range []string{acme, globex} {
		s := servers[tenant]
		for _, tc := range []struct {
			query string
			keep  func(e executionlog.Entry) bool
		}{
			{"", nil},
			{"ticket=101", func(e executionlog.Entry) bool { return e.TicketID == 101 }},
			{"trigger=crm", func(e executionlog.Entry) bool { return e.TriggerID == "crm" }},
			{"status=failed", func(e executionlog.Entry) bool { return e.Status == executionlog.StatusFailed }},
			{"error=receiver+answered+4", func(e executionlog.Entry) bool {
				return executionlog.MatchesError(e.Attempts, "receiver answered 4")
			}},
			{"from=2026-03-14T14:00&to=2026-03-14T19:00", func(e executionlog.Entry) bool {
				return !e.CreatedAt.Before(base.Add(2*time.Hour)) && e.CreatedAt.Before(base.Add(7*time.Hour+time.Minute))
			}},
		} {
			want := fx.ids(tenant, tc.keep)
			page := s.get(t, "/?"+tc.query)
			if page.status != http.StatusOK {
				t.Fatalf("%s: GET /?%s = %d:\n%s", tenant, tc.query, page.status, page.body)
			}
			if diff := cmp.Diff(want, listed(page.body)); diff != "" {
				t.Errorf("%s: list ?%s mismatch (-want +got):\n%s", tenant, tc.query, diff)
			}
			api := s.get(t, "/api/entries?"+tc.query)
			got, next := apiIDs(t, api.body)
			if diff := cmp.Diff(want, got); diff != "" || next != "" {
				t.Errorf("%s: API list ?%s mismatch, next %q (-want +got):\n%s", tenant, tc.query, next, diff)
			}
			for _, e := range fx.byTenant[other(tenant)] {
				for _, body := range []string{page.body, api.body} {
					if strings.Contains(body, e.ID) || strings.Contains(body, other(tenant)) {
						t.Errorf("%s: list ?%s shows tenant %s's entry %s", tenant, tc.query, other(tenant), e.ID)
					}
				}
			}
		}
		// The tenant's own views show no tenant column nor field, and the
		// JSON entries no tenant.
		page := s.get(t, "/")
		for _, w := range []string{`<th>Tenant</th>`, `name="tenant"`, "all tenants"} {
			if strings.Contains(page.body, w) {
				t.Errorf("%s: a tenant's list shows %q", tenant, w)
			}
		}
		if api := s.get(t, "/api/entries"); strings.Contains(api.body, `"tenant"`) {
			t.Errorf("%s: a tenant's JSON list has a tenant field:\n%s", tenant, api.body)
		}
	}
}

// Every id of the other tenant, and a guessed id, is answered on every
// route that takes an id exactly as an id the log does not hold: same
// status, headers and body. Nothing is redelivered, and the other
// tenant's entries do not change.
func TestTenantForeignIDs(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	servers := tenantServers(t, fx, red)
	before := fx.snapshot(t)
	missing := executionlog.NewID(base.Add(5 * time.Hour)) // in the middle of both tenants' entries

	// answerOf is a response without the headers that differ from one
	// response to the next.
	answerOf := func(r response) response {
		r.header = r.header.Clone()
		r.header.Del("Date")
		return r
	}
	for _, tenant := range []string{acme, globex} {
		s := servers[tenant]
		for _, foreign := range fx.byTenant[other(tenant)] {
			for i, rt := range routes(foreign.ID, "", "") {
				if !strings.Contains(rt.name, "{id}") {
					continue
				}
				got := answerOf(rt.send(t, s))
				want := answerOf(routes(missing, "", "")[i].send(t, s))
				if want.status != http.StatusNotFound {
					t.Fatalf("%s: %s of a missing id = %d, want 404", tenant, rt.name, want.status)
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(response{})); diff != "" {
					t.Errorf("%s: %s of %s's id %s differs from a missing id's answer (-missing +foreign):\n%s",
						tenant, rt.name, other(tenant), foreign.ID, diff)
				}
			}
		}
	}
	if ids, _, _ := red.calls(); len(ids) != 0 {
		t.Errorf("another tenant's ids were redelivered: %v", ids)
	}
	if diff := cmp.Diff(before, fx.snapshot(t)); diff != "" {
		t.Errorf("the log changed (-before +after):\n%s", diff)
	}

	// Each tenant still reaches its own entries on the same routes.
	for _, tenant := range []string{acme, globex} {
		id := fx.failed[tenant][0]
		if r := servers[tenant].get(t, "/entries/"+id); r.status != http.StatusOK || !strings.Contains(r.body, tenant+" bad") {
			t.Errorf("%s: own entry page = %d, want 200 with the entry", tenant, r.status)
		}
		if r := servers[tenant].get(t, "/api/entries/"+id); r.status != http.StatusOK || !strings.Contains(r.body, tenant+" bad") {
			t.Errorf("%s: own JSON entry = %d, want 200 with the entry", tenant, r.status)
		}
	}
}

// A cursor holds a position in the log only, not a tenant: a cursor
// copied from one tenant's page continues the other tenant's list from
// that position, with the other tenant's entries only, on the page and
// in the JSON API.
func TestTenantCopiedCursor(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	servers := tenantServers(t, fx, &fakeRedeliverer{log: fx.log})
	for _, tenant := range []string{acme, globex} {
		theirs := servers[other(tenant)]
		ids, cursor := apiIDs(t, theirs.get(t, "/api/entries?limit=1").body)
		if len(ids) != 1 || cursor == "" {
			t.Fatalf("%s: first page of one = %v, next %q", other(tenant), ids, cursor)
		}
		at := fx.byTenant[other(tenant)][0].CreatedAt
		want := fx.ids(tenant, func(e executionlog.Entry) bool { return e.CreatedAt.Before(at) })
		if len(want) == 0 {
			t.Fatalf("%s: no entry older than the cursor: the test proves nothing", tenant)
		}

		s := servers[tenant]
		var got []string
		for c := cursor; c != ""; {
			page, next := apiIDs(t, s.get(t, "/api/entries?limit=2&cursor="+url.QueryEscape(c)).body)
			got = append(got, page...)
			c = next
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: JSON pages from %s's cursor mismatch (-want +got):\n%s", tenant, other(tenant), diff)
		}
		page := s.get(t, "/?limit=200&cursor="+url.QueryEscape(cursor))
		if diff := cmp.Diff(want, listed(page.body)); diff != "" {
			t.Errorf("%s: list page from %s's cursor mismatch (-want +got):\n%s", tenant, other(tenant), diff)
		}
		// The cursor of the tenant's own page, used by the other
		// tenant, shows the other tenant's entries only.
		_, own := apiIDs(t, s.get(t, "/api/entries?limit=1").body)
		back, _ := apiIDs(t, theirs.get(t, "/api/entries?limit=200&cursor="+url.QueryEscape(own)).body)
		for _, id := range back {
			if !slices.Contains(fx.ids(other(tenant), nil), id) {
				t.Errorf("%s: %s's cursor showed it entry %s", other(tenant), tenant, id)
			}
		}
	}

	// A bulk redelivery with a copied cursor redelivers the requester's
	// own failed entries only.
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red, Tenant: fixedTenant(acme)})
	_, cursor := apiIDs(t, servers[globex].get(t, "/api/entries?limit=1").body)
	r := s.postJSON(t, "/api/redeliver", `{"cursor": "`+cursor+`"}`)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"redelivered": 2`) {
		t.Fatalf("bulk redelivery with a copied cursor = %d: %s", r.status, r.body)
	}
	after := fx.snapshot(t)
	for _, e := range after[globex] {
		if e.Status == executionlog.StatusPending && e.ID != fx.byTenant[globex][1].ID {
			t.Errorf("globex's entry %s was redelivered by acme's bulk redelivery", e.ID)
		}
	}
}

// A filter that names another tenant is refused with 400 on every route
// of a tenant's view, in the query and in the bodies of the POSTs: the
// page shows one account only.
func TestTenantParamRefused(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	servers := tenantServers(t, fx, red)
	single := newServer(t, logview.Config{Log: fx.log, Redeliverer: red}) // no Tenant: tenant ""
	// A failed entry of tenant "", so that the single-tenant view shows
	// a form with a token.
	if err := fx.log.Add(t.Context(), []*executionlog.Entry{entry(10*time.Hour, 101, "crm", executionlog.StatusFailed,
		attempt(1, 10*time.Hour, 500, "receiver answered 500", ""))}); err != nil {
		t.Fatal(err)
	}
	before := fx.snapshot(t)
	const msg = "this view shows the entries of one account only and takes no tenant parameter"
	for name, s := range map[string]*server{acme: servers[acme], "single-tenant": single} {
		own := fx.failed[acme][0]
		for _, rt := range routes(own, "tenant="+globex, `{"tenant": "`+globex+`"}`) {
			got := readAnswer(t, rt.send(t, s))
			format := "html"
			if strings.Contains(rt.name, "/api/") {
				format = "json"
			}
			want := answer{Status: http.StatusBadRequest, Format: format, Message: `tenant "` + globex + `": ` + msg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: %s with a tenant: answer mismatch (-want +got):\n%s", name, rt.name, diff)
			}
		}
	}
	if ids, filters, _ := red.calls(); len(ids)+len(filters) != 0 {
		t.Errorf("requests with a tenant parameter redelivered: %v %v", ids, filters)
	}
	if diff := cmp.Diff(before, fx.snapshot(t)); diff != "" {
		t.Errorf("the log changed (-before +after):\n%s", diff)
	}
}

// A request that belongs to no tenant (Tenant returns ok false), or to
// the empty or an invalid tenant, is answered 403 on every route, with no
// data.
func TestTenantForbidden(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	before := fx.snapshot(t)
	for name, tenantFunc := range map[string]func(*http.Request) (string, bool){
		"not signed in": func(*http.Request) (string, bool) { return acme, false },
		"empty tenant":  fixedTenant(""),
		"NUL":           fixedTenant("acme\x00"),
		"invalid UTF-8": fixedTenant("acme\xff"),
		"too long":      fixedTenant(strings.Repeat("a", 256)),
	} {
		s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red, Tenant: tenantFunc,
			Logger: slog.New(slog.DiscardHandler)})
		for _, rt := range routes(fx.failed[acme][0], "", "") {
			r := rt.send(t, s)
			if r.status != http.StatusForbidden {
				t.Errorf("%s: %s = %d, want 403", name, rt.name, r.status)
			}
			for _, tenant := range []string{acme, globex} {
				for _, e := range fx.byTenant[tenant] {
					if strings.Contains(r.body, e.ID) || strings.Contains(r.body, tenant) {
						t.Errorf("%s: %s shows %s's entry %s", name, rt.name, tenant, e.ID)
					}
				}
			}
			if c := r.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("%s: %s sets cookies %q", name, rt.name, c)
			}
		}
		// The style sheet holds no data and is served to anyone.
		if r := s.get(t, "/static/style.css"); r.status != http.StatusOK {
			t.Errorf("%s: style sheet = %d, want 200", name, r.status)
		}
	}
	if ids, filters, _ := red.calls(); len(ids)+len(filters) != 0 {
		t.Errorf("forbidden requests redelivered: %v %v", ids, filters)
	}
	if diff := cmp.Diff(before, fx.snapshot(t)); diff != "" {
		t.Errorf("the log changed (-before +after):\n%s", diff)
	}
}

// Each tenant redelivers its own entries, one at a time and in bulk, as a
// form and in the JSON API; the confirmation counts its own failed
// entries; the redeliverer gets the tenant's scope and filter.
func TestTenantRedeliver(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{false, true} {
		fx := newTenantFixture(t)
		red := &fakeRedeliverer{log: fx.log}
		servers := tenantServers(t, fx, red)
		s := servers[acme]

		confirm := s.get(t, "/redeliver")
		if !strings.Contains(confirm.body, "2 failed entries match these filters") {
			t.Errorf("acme's confirmation does not count its own 2 failed entries:\n%s", confirm.body)
		}
		one, rest := fx.failed[acme][0], fx.failed[acme][1]
		if api {
			if r := s.postJSON(t, "/api/entries/"+one+"/redeliver", ""); r.status != http.StatusOK {
				t.Fatalf("JSON redelivery of acme's entry = %d: %s", r.status, r.body)
			}
			if r := s.postJSON(t, "/api/redeliver", `{"ticket": 101}`); r.status != http.StatusOK || !strings.Contains(r.body, `"redelivered": 1`) {
				t.Fatalf("JSON bulk redelivery of acme's ticket 101 = %d: %s", r.status, r.body)
			}
		} else {
			token := s.token(t, "/entries/"+one)
			if r := s.postForm(t, "/entries/"+one+"/redeliver", url.Values{"csrf_token": {token}}); r.status != http.StatusSeeOther {
				t.Fatalf("redelivery form of acme's entry = %d: %s", r.status, r.body)
			}
			r := s.postForm(t, "/redeliver", url.Values{"csrf_token": {token}, "ticket": {"101"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "./?redelivered=1&ticket=101" {
				t.Fatalf("bulk redelivery form of acme's ticket 101 = %d to %q", r.status, r.header.Get("Location"))
			}
		}
		ids, filters, _ := red.calls()
		if diff := cmp.Diff([]string{one}, ids); diff != "" {
			t.Errorf("redelivered ids mismatch (-want +got):\n%s", diff)
		}
		if len(filters) != 1 || filters[0].Tenant != acme || filters[0].AllTenants || filters[0].TicketID != 101 {
			t.Errorf("bulk redelivery filters = %+v, want acme's ticket 101", filters)
		}
		after := fx.snapshot(t)
		for _, e := range after[acme] {
			if redelivered := e.ID == one || e.ID == rest; redelivered != (e.Status == executionlog.StatusPending && e.SeriesStart > 0) {
				t.Errorf("api %v: acme's entry %s is %s with series start %d", api, e.ID, e.Status, e.SeriesStart)
			}
		}
		for i, e := range after[globex] {
			if e.Status != fx.byTenant[globex][i].Status || e.SeriesStart != 0 {
				t.Errorf("api %v: globex's entry %s changed: %s", api, e.ID, e.Status)
			}
		}
	}
}

// The operator view shows every tenant's entries with their tenant, and
// filters by tenant; its bulk redelivery redelivers one tenant's failed
// entries with a tenant filter and every tenant's without, and says so.
func TestOperatorView(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	staff := func(r *http.Request) bool { return r.Header.Get("X-Staff") == "yes" }
	ops := newOperatorServer(t, logview.Config{Log: fx.log, Redeliverer: red}, func(*http.Request) bool { return true })

	all := append(fx.ids(acme, nil), fx.ids(globex, nil)...)
	page := ops.get(t, "/")
	got := listed(page.body)
	if diff := cmp.Diff(all, got, cmpSorted); diff != "" {
		t.Errorf("operator list mismatch (-want +got):\n%s", diff)
	}
	for _, w := range []string{"<th>Tenant</th>", `<td data-label="Tenant" class="tenant"><code>acme</code></td>`,
		`<td data-label="Tenant" class="tenant"><code>globex</code></td>`, `name="tenant"`, "all tenants",
		"Redeliver failed entries matching these filters, of every tenant…"} {
		if !strings.Contains(page.body, w) {
			t.Errorf("operator list lacks %q", w)
		}
	}

	// JSON entries carry their tenant.
	var list struct {
		Entries []struct {
			ID     string `json:"id"`
			Tenant string `json:"tenant"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(ops.get(t, "/api/entries?limit=200").body), &list); err != nil {
		t.Fatal(err)
	}
	tenants := map[string]string{}
	for _, e := range list.Entries {
		tenants[e.ID] = e.Tenant
	}
	wantTenants := map[string]string{}
	for _, tenant := range []string{acme, globex} {
		for _, id := range fx.ids(tenant, nil) {
			wantTenants[id] = tenant
		}
	}
	if diff := cmp.Diff(wantTenants, tenants); diff != "" {
		t.Errorf("operator JSON tenants mismatch (-want +got):\n%s", diff)
	}
	id := fx.failed[globex][0]
	var one struct {
		Tenant string `json:"tenant"`
	}
	if err := json.Unmarshal([]byte(ops.get(t, "/api/entries/"+id).body), &one); err != nil || one.Tenant != globex {
		t.Errorf("operator JSON entry tenant = %q (%v), want %q", one.Tenant, err, globex)
	}
	if r := ops.get(t, "/entries/"+id); !strings.Contains(r.body, "<dt>Tenant</dt><dd><code>globex</code></dd>") {
		t.Errorf("operator entry page does not show the tenant:\n%s", r.body)
	}

	// The tenant filter, on the page and in the API.
	for _, tenant := range []string{acme, globex} {
		want := fx.ids(tenant, nil)
		page := ops.get(t, "/?tenant="+tenant)
		if diff := cmp.Diff(want, listed(page.body)); diff != "" {
			t.Errorf("operator list of %s mismatch (-want +got):\n%s", tenant, diff)
		}
		if !strings.Contains(page.body, `value="`+tenant+`"`) {
			t.Errorf("operator list does not show the tenant filter %s in its form", tenant)
		}
		got, _ := apiIDs(t, ops.get(t, "/api/entries?tenant="+tenant).body)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("operator JSON list of %s mismatch (-want +got):\n%s", tenant, diff)
		}
	}
	// Paging keeps the tenant filter.
	var paged []string
	for next := "/?limit=2&tenant=" + globex; next != ""; {
		page := ops.get(t, next)
		paged = append(paged, listed(page.body)...)
		m := olderLink.FindStringSubmatch(page.body)
		next = ""
		if m != nil {
			next = "/" + strings.TrimPrefix(html.UnescapeString(m[1]), "./")
			if !strings.Contains(next, "tenant="+globex) {
				t.Errorf("the older link %q drops the tenant filter", next)
			}
		}
	}
	if diff := cmp.Diff(fx.ids(globex, nil), paged); diff != "" {
		t.Errorf("operator pages of globex mismatch (-want +got):\n%s", diff)
	}
	if got, _ := apiIDs(t, ops.get(t, "/api/entries?tenant=initech").body); len(got) != 0 {
		t.Errorf("operator list of a tenant without entries = %v", got)
	}
	// Tenants are compared exactly: " acme" is another tenant.
	if got, _ := apiIDs(t, ops.get(t, "/api/entries?tenant=%20"+acme).body); len(got) != 0 {
		t.Errorf("operator list of tenant %q = %v, want none of %s's entries", " "+acme, got, acme)
	}
	if r := readAnswer(t, ops.get(t, "/api/entries?tenant=a%00b")); r.Status != http.StatusBadRequest || !strings.Contains(r.Message, "tenant") {
		t.Errorf("operator list with an invalid tenant = %+v, want 400 naming the tenant", r)
	}

	// Bulk redelivery: one tenant's with a filter, every tenant's
	// without.
	confirm := ops.get(t, "/redeliver?tenant="+acme)
	for _, w := range []string{"<li>Tenant acme only</li>", "2 failed entries match", `<input type="hidden" name="tenant" value="acme">`} {
		if !strings.Contains(confirm.body, w) {
			t.Errorf("operator confirmation for acme lacks %q", w)
		}
	}
	if strings.Contains(confirm.body, "every tenant") {
		t.Errorf("operator confirmation for acme says every tenant")
	}
	token := tokenPattern.FindStringSubmatch(confirm.body)[1]
	r := ops.postForm(t, "/redeliver", url.Values{"csrf_token": {token}, "tenant": {acme}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "./?redelivered=2&tenant=acme" {
		t.Fatalf("operator bulk redelivery of acme = %d to %q", r.status, r.header.Get("Location"))
	}
	snap := fx.snapshot(t)
	if n := countPending(snap[globex]); n != 1 {
		t.Errorf("globex has %d pending entries after acme's bulk redelivery, want 1", n)
	}
	if n := countPending(snap[acme]); n != 3 {
		t.Errorf("acme has %d pending entries after its bulk redelivery, want 3", n)
	}

	confirm = ops.get(t, "/redeliver")
	for _, w := range []string{"<li>Every tenant</li>", "the failed entries of every tenant are redelivered", "2 failed entries match"} {
		if !strings.Contains(confirm.body, w) {
			t.Errorf("operator confirmation without a tenant lacks %q:\n%s", w, confirm.body)
		}
	}
	if r := ops.postJSON(t, "/api/redeliver", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"redelivered": 2`) {
		t.Errorf("operator JSON bulk redelivery = %d: %s, want globex's 2", r.status, r.body)
	}
	if n := countPending(fx.snapshot(t)[globex]); n != 3 {
		t.Errorf("globex has %d pending entries after the bulk redelivery of every tenant, want 3", n)
	}
	_, filters, _ := red.calls()
	if len(filters) != 2 || filters[0].Tenant != acme || filters[0].AllTenants || !filters[1].AllTenants {
		t.Errorf("operator bulk filters = %+v, want acme's, then every tenant's", filters)
	}

	// Single redeliveries reach any tenant's entry.
	fresh := newTenantFixture(t)
	freshRed := &fakeRedeliverer{log: fresh.log}
	ops = newOperatorServer(t, logview.Config{Log: fresh.log, Redeliverer: freshRed}, staff)
	ops.client.Transport = staffTransport{}
	for _, tenant := range []string{acme, globex} {
		id := fresh.failed[tenant][0]
		if r := ops.postJSON(t, "/api/entries/"+id+"/redeliver", ""); r.status != http.StatusOK {
			t.Errorf("operator JSON redelivery of %s's entry = %d: %s", tenant, r.status, r.body)
		}
		id = fresh.failed[tenant][1]
		token := ops.token(t, "/entries/"+id)
		if r := ops.postForm(t, "/entries/"+id+"/redeliver", url.Values{"csrf_token": {token}}); r.status != http.StatusSeeOther {
			t.Errorf("operator form redelivery of %s's entry = %d: %s", tenant, r.status, r.body)
		}
	}
	if ids, _, _ := freshRed.calls(); len(ids) != 4 {
		t.Errorf("operator redelivered %v, want 4 entries", ids)
	}
}

// olderLink finds the link to the next page of a list.
var olderLink = regexp.MustCompile(`<a class="button secondary" href="([^"]+)" rel="next">`)

// staffTransport marks every request as the host's staff's.
type staffTransport struct{}

func (staffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Staff", "yes")
	return http.DefaultTransport.RoundTrip(r)
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
})

// countPending returns how many of entries are pending.
func countPending(entries []executionlog.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Status == executionlog.StatusPending {
			n++
		}
	}
	return n
}

// The operator view answers 403, with no data, to every request that
// staff does not approve, on every route.
func TestOperatorNotStaff(t *testing.T) {
	t.Parallel()
	fx := newTenantFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	ops := newOperatorServer(t, logview.Config{Log: fx.log, Redeliverer: red}, func(*http.Request) bool { return false })
	for _, rt := range routes(fx.failed[acme][0], "tenant="+acme, `{"tenant": "acme"}`) {
		r := rt.send(t, ops)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "for staff only") {
			t.Errorf("%s = %d, want 403 for staff only:\n%s", rt.name, r.status, r.body)
		}
		for _, tenant := range []string{acme, globex} {
			for _, e := range fx.byTenant[tenant] {
				if strings.Contains(r.body, e.ID) {
					t.Errorf("%s shows %s's entry %s to a non-staff request", rt.name, tenant, e.ID)
				}
			}
		}
	}
	if ids, filters, _ := red.calls(); len(ids)+len(filters) != 0 {
		t.Errorf("non-staff requests redelivered: %v %v", ids, filters)
	}
}

// NewOperator refuses a config without staff or with a Tenant func, and
// the configs New refuses.
func TestNewOperatorConfig(t *testing.T) {
	t.Parallel()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	staff := func(*http.Request) bool { return true }
	for _, tc := range []struct {
		name  string
		cfg   logview.Config
		staff func(*http.Request) bool
		want  string
	}{
		{"no staff", logview.Config{Log: log}, nil, "logview: invalid config: NewOperator: staff is required"},
		{"a Tenant func", logview.Config{Log: log, Tenant: fixedTenant(acme)}, staff, "logview: invalid config: NewOperator: Tenant must be nil"},
		{"no log", logview.Config{}, staff, "logview: invalid config: NewOperator: Log is required"},
		{"bulk limit", logview.Config{Log: log, BulkLimit: -1}, staff, "logview: invalid config: NewOperator: BulkLimit -1"},
	} {
		_, err := logview.NewOperator(tc.cfg, tc.staff)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: NewOperator error = %v, want one starting %q", tc.name, err, tc.want)
		}
	}
	if _, err := logview.NewOperator(logview.Config{Log: log}, staff); err != nil {
		t.Errorf("NewOperator of a valid config: %v", err)
	}
}

// The operator view's JSON bulk redelivery with a tenant, in the body or
// the query, redelivers that tenant's failed entries only.
func TestOperatorBulkJSONTenant(t *testing.T) {
	t.Parallel()
	for _, send := range []func(s *server) response{
		func(s *server) response { return s.postJSON(t, "/api/redeliver", `{"tenant": "globex"}`) },
		func(s *server) response { return s.postJSON(t, "/api/redeliver?tenant=globex", "") },
	} {
		fx := newTenantFixture(t)
		red := &fakeRedeliverer{log: fx.log}
		ops := newOperatorServer(t, logview.Config{Log: fx.log, Redeliverer: red}, func(*http.Request) bool { return true })
		if r := send(ops); r.status != http.StatusOK || !strings.Contains(r.body, `"redelivered": 2`) {
			t.Fatalf("operator JSON bulk redelivery of globex = %d: %s", r.status, r.body)
		}
		snap := fx.snapshot(t)
		if n := countPending(snap[globex]); n != 3 {
			t.Errorf("globex has %d pending entries, want 3", n)
		}
		if diff := cmp.Diff(fx.byTenant[acme], snap[acme]); diff != "" {
			t.Errorf("acme's entries changed (-before +after):\n%s", diff)
		}
		if _, filters, _ := red.calls(); len(filters) != 1 || filters[0].Tenant != globex || filters[0].AllTenants {
			t.Errorf("filters = %+v, want globex's", filters)
		}
	}
}
