package logview_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// The host mounts the Execution Log under /admin/webhooks/, behind its own
// authentication. Pass the engine as Redeliverer to enable the redeliver
// buttons; this one is read-only.
func ExampleNew() {
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	created := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	_ = log.Add(context.Background(), []*executionlog.Entry{{
		ID: executionlog.NewID(created), TriggerID: "resolved", TicketID: 1042, Event: "updated",
		URL: "https://erp.example.com/hooks", Status: executionlog.StatusFailed, CreatedAt: created, UpdatedAt: created,
		Attempts: []executionlog.Attempt{{Number: 1, StartedAt: created, StatusCode: 400,
			Error: "receiver answered 400 Bad Request", ResponseBody: `{"error":"unknown field"}`}},
	}})

	view, err := logview.New(logview.Config{Log: log, Title: "Webhook Execution Log"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// requireAdmin stands for the host's own authentication.
	requireAdmin := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); !ok || user != "admin" || pass != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="admin"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/webhooks/", requireAdmin(http.StripPrefix("/admin/webhooks", view)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// get fetches path and returns its status, Content-Type and body.
	get := func(path string, auth bool) (int, string, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth {
			req.SetBasicAuth("admin", "s3cret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return 0, "", nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), body
	}

	status, _, _ := get("/admin/webhooks/", false)
	fmt.Println("without credentials:", status)

	status, contentType, _ := get("/admin/webhooks/", true)
	fmt.Println("the page:", status, contentType)

	_, _, body := get("/admin/webhooks/api/entries?ticket=1042&error=bad+request", true)
	var page struct {
		Entries []struct {
			TicketID    int    `json:"ticket_id"`
			Status      string `json:"status"`
			LastAttempt struct {
				StatusCode int    `json:"status_code"`
				Error      string `json:"error"`
			} `json:"last_attempt"`
		} `json:"entries"`
	}
	_ = json.Unmarshal(body, &page)
	for _, e := range page.Entries {
		fmt.Printf("ticket %d %s: %d %s\n", e.TicketID, e.Status, e.LastAttempt.StatusCode, e.LastAttempt.Error)
	}
	// Output:
	// without credentials: 401
	// the page: 200 text/html; charset=utf-8
	// ticket 1042 failed: 400 receiver answered 400 Bad Request
}

// engineStandIn stands for the *tickethooks.Engine a host passes as
// Config.Redeliverer.
type engineStandIn struct{ log executionlog.Log }

func (e engineStandIn) Redeliver(ctx context.Context, s executionlog.Scope, id string) error {
	return e.log.Redeliver(ctx, s, id, time.Now())
}

func (e engineStandIn) RedeliverMatching(context.Context, executionlog.Filter, int) (int, error) {
	return 0, nil
}

// A host whose middleware demands its own CSRF token on every POST, as
// gorilla/csrf does, gives the page's forms its token with HostCSRF. The
// middleware must wrap the handler and refuse POSTs without the token.
func ExampleHostCSRF() {
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	created := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	id := executionlog.NewID(created)
	_ = log.Add(context.Background(), []*executionlog.Entry{{
		ID: id, TriggerID: "resolved", TicketID: 1042, Event: "updated", URL: "https://erp.example.com/hooks",
		Status: executionlog.StatusFailed, CreatedAt: created, UpdatedAt: created,
	}})

	// hostToken stands for the host's token of the request's session,
	// such as gorilla/csrf's csrf.Token.
	hostToken := func(r *http.Request) string { return "token-of-the-session" }
	view, err := logview.New(logview.Config{Log: log, Redeliverer: engineStandIn{log},
		HostCSRF: &logview.HostCSRF{Field: "authenticity_token", Token: hostToken}})
	if err != nil {
		fmt.Println(err)
		return
	}

	rec := httptest.NewRecorder()
	view.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/entries/"+id, nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.Contains(line, `type="hidden"`) {
			fmt.Print(line)
		}
	}
	fmt.Println("cookies set by the page:", len(rec.Result().Cookies()))
	// Output:
	// <input type="hidden" name="authenticity_token" value="token-of-the-session">
	// cookies set by the page: 0
}

// A host of many accounts tells the handler which account each request
// belongs to, from its own login, with Config.Tenant: each account's
// admins see, filter and redeliver their own account's entries only, and
// another account's entry is answered 404 like a missing one.
func Example_tenants() {
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	created := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	acmeID, globexID := executionlog.NewID(created), executionlog.NewID(created.Add(time.Minute))
	_ = log.Add(context.Background(), []*executionlog.Entry{
		{ID: acmeID, Tenant: "acme", TriggerID: "resolved", TicketID: 101, Event: "updated",
			URL: "https://erp.acme.example/hooks", Status: executionlog.StatusSucceeded, CreatedAt: created, UpdatedAt: created},
		{ID: globexID, Tenant: "globex", TriggerID: "resolved", TicketID: 101, Event: "updated",
			URL: "https://crm.globex.example/hooks", Status: executionlog.StatusFailed, CreatedAt: created.Add(time.Minute), UpdatedAt: created},
	})

	// accountOf stands for the host's login: a session cookie naming the
	// signed-in admin's account.
	accounts := map[string]string{"session-of-alice": "acme", "session-of-bob": "globex"}
	accountOf := func(r *http.Request) (string, bool) {
		c, err := r.Cookie("session")
		if err != nil {
			return "", false
		}
		account, ok := accounts[c.Value]
		return account, ok
	}
	view, err := logview.New(logview.Config{Log: log, Tenant: accountOf})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(http.StripPrefix("/webhooks", view))
	defer srv.Close()

	// get fetches path as the admin of session and returns its status and
	// body.
	get := func(session, path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/webhooks"+path, nil)
		if session != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: session})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return 0, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	for _, session := range []string{"session-of-alice", "session-of-bob"} {
		_, body := get(session, "/api/entries?ticket=101")
		var page struct {
			Entries []struct {
				URL string `json:"url"`
			} `json:"entries"`
		}
		_ = json.Unmarshal(body, &page)
		for _, e := range page.Entries {
			fmt.Printf("%s sees ticket 101 sent to %s\n", accounts[session], e.URL)
		}
	}
	status, _ := get("session-of-alice", "/api/entries/"+globexID)
	fmt.Println("acme asks for globex's entry:", status)
	status, _ = get("session-of-alice", "/api/entries/"+executionlog.NewID(created))
	fmt.Println("acme asks for a missing entry:", status)
	status, _ = get("session-of-alice", "/api/entries?tenant=globex")
	fmt.Println("acme names another tenant:", status)
	status, _ = get("", "/")
	fmt.Println("no session:", status)
	// Output:
	// acme sees ticket 101 sent to https://erp.acme.example/hooks
	// globex sees ticket 101 sent to https://crm.globex.example/hooks
	// acme asks for globex's entry: 404
	// acme asks for a missing entry: 404
	// acme names another tenant: 400
	// no session: 403
}

// The host's own staff get the operator view of every tenant's entries,
// with their tenant and a tenant filter, mounted apart from the accounts'
// views and guarded by a staff check of the host.
func ExampleNewOperator() {
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	created := time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)
	for i, tenant := range []string{"acme", "globex"} {
		at := created.Add(time.Duration(i) * time.Minute)
		_ = log.Add(context.Background(), []*executionlog.Entry{{ID: executionlog.NewID(at), Tenant: tenant,
			TriggerID: "resolved", TicketID: 101, Event: "updated", URL: "https://hooks.example/" + tenant,
			Status: executionlog.StatusFailed, CreatedAt: at, UpdatedAt: at}})
	}

	// isStaff stands for the host's check of its own staff.
	isStaff := func(r *http.Request) bool { return r.Header.Get("X-Staff-Session") == "s3cret" }
	ops, err := logview.NewOperator(logview.Config{Log: log}, isStaff)
	if err != nil {
		fmt.Println(err)
		return
	}
	// list prints the tenants of the entries of the JSON list at path.
	list := func(path string, staff bool) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if staff {
			req.Header.Set("X-Staff-Session", "s3cret")
		}
		rec := httptest.NewRecorder()
		ops.ServeHTTP(rec, req)
		var page struct {
			Entries []struct {
				Tenant string `json:"tenant"`
			} `json:"entries"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &page)
		tenants := []string{}
		for _, e := range page.Entries {
			tenants = append(tenants, e.Tenant)
		}
		fmt.Println(path, rec.Code, tenants)
	}
	list("/api/entries", true)
	list("/api/entries?tenant=acme", true)
	list("/api/entries", false)
	// Output:
	// /api/entries 200 [globex acme]
	// /api/entries?tenant=acme 200 [acme]
	// /api/entries 403 []
}
