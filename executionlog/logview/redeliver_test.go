package logview_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

func TestRedeliverForm(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red})
	entryPath := "/entries/" + fx.erp1002.ID
	token := s.token(t, entryPath)

	r := s.postForm(t, entryPath+"/redeliver", url.Values{"csrf_token": {token}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "../"+fx.erp1002.ID+"?redelivered=1" {
		t.Fatalf("POST redeliver = %d to %q, want 303 back to the entry", r.status, r.header.Get("Location"))
	}
	if ids, _, _ := red.calls(); !cmp.Equal([]string{fx.erp1002.ID}, ids) {
		t.Errorf("redelivered %v, want the entry", ids)
	}
	page := s.get(t, entryPath+"?redelivered=1")
	for _, w := range []string{"The entry was queued for redelivery.", `<span class="badge status-pending">pending</span>`} {
		if !strings.Contains(page.body, w) {
			t.Errorf("entry page after redelivery lacks %q", w)
		}
	}

	// Now pending, a test send, or gone: refused with a message.
	for _, tc := range []struct {
		id     string
		status int
		msg    string
	}{
		{fx.erp1002.ID, http.StatusConflict, "still pending"},
		{fx.test.ID, http.StatusConflict, "test sends cannot be redelivered"},
		{executionlog.NewID(base), http.StatusNotFound, "no such entry"},
	} {
		r := s.postForm(t, "/entries/"+tc.id+"/redeliver", url.Values{"csrf_token": {token}})
		if r.status != tc.status || !strings.Contains(r.body, tc.msg) {
			t.Errorf("POST /entries/%s/redeliver = %d, want %d with %q", tc.id, r.status, tc.status, tc.msg)
		}
	}
	if ids, _, _ := red.calls(); len(ids) != 2 {
		t.Errorf("redeliverer called for %v, want the first entry and the pending one only", ids)
	}
}

func TestBulkRedeliverForm(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red, BulkLimit: 1})

	// The list links to the confirmation with its filters, but not when
	// it shows only entries of another status.
	list := s.get(t, "/?error=receiver&status=failed")
	if !strings.Contains(list.body, `href="./redeliver?error=receiver"`) {
		t.Errorf("list page lacks the bulk link with its filters")
	}
	if body := s.get(t, "/?status=succeeded").body; strings.Contains(body, "redeliver?") {
		t.Errorf("list of succeeded entries offers to redeliver failed ones")
	}

	// Two failed entries (and a failed test send) match; the limit is 1.
	confirm := s.get(t, "/redeliver?error=receiver&status=failed")
	for _, w := range []string{
		"More than 1 failed entry matches these filters; the newest 1 will be redelivered.",
		"<li>Error contains “receiver”</li>",
		`<input type="hidden" name="error" value="receiver">`,
		`<button type="submit">Redeliver 1 entry</button>`,
		`<form method="post" action="redeliver"`,
	} {
		if !strings.Contains(confirm.body, w) {
			t.Errorf("confirmation lacks %q:\n%s", w, confirm.body)
		}
	}
	if strings.Contains(confirm.body, `name="status"`) {
		t.Error("confirmation form carries a status")
	}
	token := tokenPattern.FindStringSubmatch(confirm.body)[1]

	r := s.postForm(t, "/redeliver", url.Values{"csrf_token": {token}, "error": {"receiver"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "./?error=receiver&redelivered=1" {
		t.Fatalf("POST /redeliver = %d to %q, want 303 to the list", r.status, r.header.Get("Location"))
	}
	_, filters, limits := red.calls()
	if diff := cmp.Diff([]int{1}, limits); diff != "" {
		t.Errorf("limits mismatch (-want +got):\n%s", diff)
	}
	if len(filters) != 1 || filters[0].ErrorText != "receiver" || filters[0].Status != "" {
		t.Errorf("filters = %+v, want error text receiver and no status", filters)
	}
	if body := s.get(t, "/?error=receiver&redelivered=1").body; !strings.Contains(body, "1 failed entry was queued for redelivery.") {
		t.Error("list after a bulk redelivery does not say how many")
	}
	// The newest matching failed entry that is not a test went back to
	// the queue.
	if e, _ := fx.log.Get(context.Background(), executionlog.Scope{}, fx.erp1001.ID); e.Status != executionlog.StatusPending {
		t.Errorf("entry %s is %s, want pending", fx.erp1001.ID, e.Status)
	}

	// With nothing left to send, the confirmation says so.
	none := s.get(t, "/redeliver?ticket=1003")
	if !strings.Contains(none.body, "No failed entries match these filters.") || strings.Contains(none.body, "<form") {
		t.Errorf("confirmation with no match: %s", none.body)
	}
	// Bad filters are refused.
	if r := s.get(t, "/redeliver?ticket=-1"); r.status != http.StatusBadRequest {
		t.Errorf("confirmation with a bad filter: status %d, want 400", r.status)
	}
	if r := s.postForm(t, "/redeliver", url.Values{"csrf_token": {token}, "from": {"soon"}}); r.status != http.StatusBadRequest {
		t.Errorf("bulk POST with a bad filter: status %d, want 400", r.status)
	}
}

func TestAPIRedeliver(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red, BulkLimit: 5})
	one := "/api/entries/" + fx.erp1002.ID + "/redeliver"

	// The rules of state-changing API requests.
	refused := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"NoContentType", map[string]string{"X-Requested-With": "x"}, http.StatusUnsupportedMediaType},
		{"Form", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Requested-With": "x"}, http.StatusUnsupportedMediaType},
		{"TextPlain", map[string]string{"Content-Type": "text/plain", "X-Requested-With": "x"}, http.StatusUnsupportedMediaType},
		{"NoCustomHeader", map[string]string{"Content-Type": "application/json"}, http.StatusForbidden},
		{"BadToken", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": "forged"}, http.StatusForbidden},
		{"CrossSite", map[string]string{"Content-Type": "application/json", "X-Requested-With": "x", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	for _, tc := range refused {
		if r := s.do(t, http.MethodPost, one, nil, tc.header); r.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, r.status, tc.status)
		}
	}
	if ids, _, _ := red.calls(); len(ids) != 0 {
		t.Fatalf("refused requests redelivered %v", ids)
	}

	r := s.postJSON(t, one, "")
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != "{\n  \"redelivered\": 1\n}" {
		t.Errorf("POST %s = %d %s, want 200 {\"redelivered\": 1}", one, r.status, r.body)
	}
	if r := s.postJSON(t, one, ""); r.status != http.StatusConflict {
		t.Errorf("second POST %s = %d, want 409", one, r.status)
	}
	if r := s.postJSON(t, "/api/entries/"+fx.test.ID+"/redeliver", ""); r.status != http.StatusConflict {
		t.Errorf("POST for a test send = %d, want 409", r.status)
	}
	if r := s.postJSON(t, "/api/entries/nope/redeliver", ""); r.status != http.StatusNotFound {
		t.Errorf("POST for an unknown entry = %d, want 404", r.status)
	}

	// The form token works instead of X-Requested-With, with its cookie.
	token := s.token(t, "/entries/"+fx.erp1001.ID)
	r = s.do(t, http.MethodPost, "/api/entries/"+fx.erp1001.ID+"/redeliver", nil,
		map[string]string{"Content-Type": "application/json; charset=utf-8", "X-CSRF-Token": token})
	if r.status != http.StatusOK {
		t.Errorf("POST with the form token = %d %s, want 200", r.status, r.body)
	}
}

func TestAPIRedeliverBulk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, body string
		status            int
		want              int    // redelivered
		msg               string // in the error
		wantLimit         int
		wantFilter        executionlog.Filter
	}{
		{name: "Defaults", status: 200, want: 2, wantLimit: 5, wantFilter: executionlog.Filter{Limit: logview.DefaultPageSize}},
		{name: "BodyFilters", body: `{"ticket": 1001, "error": "bad", "max": 3}`, status: 200, want: 1, wantLimit: 3,
			wantFilter: executionlog.Filter{TicketID: 1001, ErrorText: "bad", Limit: logview.DefaultPageSize}},
		{name: "QueryFilters", query: "?trigger=erp&max=1", status: 200, want: 1, wantLimit: 1,
			wantFilter: executionlog.Filter{TriggerID: "erp", Limit: logview.DefaultPageSize}},
		{name: "BodyOverridesQuery", query: "?ticket=1002", body: `{"ticket": "1001"}`, status: 200, want: 1, wantLimit: 5,
			wantFilter: executionlog.Filter{TicketID: 1001, Limit: logview.DefaultPageSize}},
		{name: "StatusFailed", body: `{"status": "failed", "max": null}`, status: 200, want: 2, wantLimit: 5,
			wantFilter: executionlog.Filter{Limit: logview.DefaultPageSize}},
		{name: "MaxAboveLimit", body: `{"max": 6}`, status: 400, msg: "max 6 must be between 1 and 5"},
		{name: "MaxZero", query: "?max=0", status: 400, msg: "max 0 must be between 1 and 5"},
		{name: "OtherStatus", body: `{"status": "succeeded"}`, status: 400, msg: "only failed entries are redelivered"},
		{name: "UnknownKey", body: `{"tickets": 1}`, status: 400, msg: "unknown parameter tickets"},
		{name: "NotObject", body: `[1, 2]`, status: 400, msg: "must be a JSON object"},
		{name: "BadValue", body: `{"ticket": true}`, status: 400, msg: "ticket: must be a string or a number"},
		{name: "BadDate", body: `{"from": "tomorrow"}`, status: 400, msg: `from "tomorrow" is not a date`},
		{name: "NegativeTicket", body: `{"ticket": -3}`, status: 400, msg: "ticket -3 must be a positive number"},
		{name: "TooBig", body: `{"error": "` + strings.Repeat("x", 70<<10) + `"}`, status: 400, msg: "could not be read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			red := &fakeRedeliverer{log: fx.log}
			s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red, BulkLimit: 5})
			r := s.postJSON(t, "/api/redeliver"+tc.query, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tc.status)
			}
			_, filters, limits := red.calls()
			if tc.status != http.StatusOK {
				if msg := apiErr(t, r.body); !strings.Contains(msg, tc.msg) {
					t.Errorf("error %q, want it to contain %q", msg, tc.msg)
				}
				if len(limits) != 0 {
					t.Errorf("a refused request redelivered")
				}
				return
			}
			var got struct {
				Redelivered int `json:"redelivered"`
			}
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Redelivered != tc.want {
				t.Errorf("body %s, want redelivered %d", r.body, tc.want)
			}
			if diff := cmp.Diff([]int{tc.wantLimit}, limits); diff != "" {
				t.Errorf("limit mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]executionlog.Filter{tc.wantFilter}, filters); diff != "" {
				t.Errorf("filter mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
