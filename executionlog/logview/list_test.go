package logview_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

func TestListFilters(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log})
	brt, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		brt = time.FixedZone("BRT", -3*60*60)
	}
	local := newServer(t, logview.Config{Log: fx.log, Location: brt})

	all := []string{fx.test.ID, fx.crm1003.ID, fx.erp1001.ID, fx.erp1002.ID, fx.crm1001.ID}
	tests := []struct {
		name  string
		srv   *server
		query string
		want  []string
	}{
		{"None", s, "", all},
		{"FromDate", s, "from=2026-03-15", all[:3]},
		{"ToDateIsInclusive", s, "to=2026-03-14", all[3:]},
		{"FromToMinutes", s, "from=2026-03-14T13:00&to=2026-03-15T13:00", []string{fx.erp1001.ID, fx.erp1002.ID}},
		{"ToMinuteIsInclusive", s, "to=2026-03-14T12:00", []string{fx.crm1001.ID}},
		{"ToSeconds", s, "from=2026-03-14T12:00:01&to=2026-03-14T13:00:00", []string{fx.erp1002.ID}},
		{"RFC3339ToIsExclusive", s, "to=2026-03-14T13:00:00Z", []string{fx.crm1001.ID}},
		{"RFC3339WithZone", s, "from=2026-03-15T10:00:00-03:00", all[:3]},
		{"DateInLocation", local, "to=2026-03-14", all[3:]},
		{"TimeInLocation", local, "from=2026-03-15T10:30", all[:2]}, // 13:30 UTC
		{"Ticket", s, "ticket=1001", []string{fx.test.ID, fx.erp1001.ID, fx.crm1001.ID}},
		{"TicketWithHash", s, "ticket=%231002", []string{fx.erp1002.ID}},
		{"ErrorText", s, "error=CONNECTION+REFUSED", []string{fx.erp1002.ID}},
		{"ErrorTextAnyAttempt", s, "error=503", []string{fx.erp1002.ID}},
		{"ErrorTextNoMatch", s, "error=certificate", []string{}},
		{"Trigger", s, "trigger=crm", []string{fx.crm1003.ID, fx.crm1001.ID}},
		{"StatusFailed", s, "status=failed", []string{fx.test.ID, fx.erp1001.ID, fx.erp1002.ID}},
		{"StatusPending", s, "status=pending", []string{fx.crm1003.ID}},
		{"StatusAll", s, "status=all", all},
		{"Combined", s, "ticket=1001&status=failed&trigger=erp&error=bad", []string{fx.erp1001.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page := tc.srv.get(t, "/?"+tc.query)
			if page.status != http.StatusOK {
				t.Fatalf("GET /?%s: status %d: %s", tc.query, page.status, page.body)
			}
			if diff := cmp.Diff(tc.want, listed(page.body)); diff != "" {
				t.Errorf("HTML entries mismatch (-want +got):\n%s", diff)
			}
			api := tc.srv.get(t, "/api/entries?"+tc.query)
			if api.status != http.StatusOK {
				t.Fatalf("GET /api/entries?%s: status %d: %s", tc.query, api.status, api.body)
			}
			got, next := apiIDs(t, api.body)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("API entries mismatch (-want +got):\n%s", diff)
			}
			if next != "" {
				t.Errorf("API next = %q on the only page, want empty", next)
			}
		})
	}
}

func TestListShowsRows(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}})
	body := s.get(t, "/?ticket=1002").body
	for _, want := range []string{
		`<time datetime="2026-03-14T13:00:00Z">2026-03-14 13:00:00 UTC</time>`,
		`#1002`,
		`ERP sync <code>erp</code>`,
		`<span class="badge status-failed">failed</span>`,
		`<td data-label="Attempts">2</td>`,
		`<td data-label="HTTP">–</td>`, // the last attempt got no response
		`dial tcp 203.0.113.7:443: connect: connection refused`,
		`value="1002"`, // the filter form keeps the filter
		`href="./static/style.css"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("list page lacks %q", want)
		}
	}
	test := s.get(t, "/?status=failed&ticket=1001").body
	if !strings.Contains(test, `<span class="badge badge-test">test send</span>`) {
		t.Error("list page does not mark the test send")
	}
	dates := s.get(t, "/?from=2026-03-14&to=2026-03-15").body
	for _, w := range []string{`name="from" type="datetime-local" value="2026-03-14T00:00"`, `name="to" type="datetime-local" value="2026-03-15T23:59"`} {
		if !strings.Contains(dates, w) {
			t.Errorf("list page with date filters lacks %q", w)
		}
	}
	if empty := s.get(t, "/?ticket=999").body; !strings.Contains(empty, "No entries match these filters.") {
		t.Error("list page with no match does not say so")
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	var want []string
	var batch []*executionlog.Entry
	for i := range 123 {
		e := entry(time.Duration(i)*time.Second, 1+i%7, "crm", executionlog.StatusSucceeded, attempt(1, 0, 200, "", ""))
		batch = append(batch, e)
		want = append([]string{e.ID}, want...)
	}
	if err := log.Add(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, logview.Config{Log: log})

	// HTML: follow the Older links, as a browser resolves them.
	var got []string
	next := s.URL + prefix + "/?trigger=crm"
	for range 10 {
		u, _ := url.Parse(next)
		page := s.get(t, strings.TrimPrefix(u.RequestURI(), prefix))
		if page.status != http.StatusOK {
			t.Fatalf("GET %s: %d", next, page.status)
		}
		ids := listed(page.body)
		got = append(got, ids...)
		m := olderPattern.FindStringSubmatch(page.body)
		if m == nil {
			break
		}
		if len(ids) != logview.DefaultPageSize {
			t.Errorf("page with an Older link holds %d entries, want %d", len(ids), logview.DefaultPageSize)
		}
		if !strings.Contains(page.body, "« Newest") && len(got) > logview.DefaultPageSize {
			t.Error("a later page has no Newest link")
		}
		ref, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		next = u.ResolveReference(ref).String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HTML paging mismatch (-want +got):\n%s", diff)
	}

	// API: follow next with a page size of 40.
	got = nil
	cursor := ""
	for range 10 {
		ids, n := apiIDs(t, s.get(t, "/api/entries?limit=40&cursor="+url.QueryEscape(cursor)).body)
		got = append(got, ids...)
		if n == "" {
			break
		}
		cursor = n
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("API paging mismatch (-want +got):\n%s", diff)
	}
}

// olderPattern finds the Older link of a list page.
var olderPattern = regexp.MustCompile(`href="([^"]+)" rel="next"`)

func TestBadInput(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log})
	tests := []struct {
		query string
		want  string // in the message
	}{
		{"from=yesterday", `from "yesterday" is not a date`},
		{"to=2026-02-30", `to "2026-02-30" is not a date`},
		{"from=" + strings.Repeat("9", 100), "from is 100 bytes long; the limit is 64"},
		{"from=2026-03-15&to=2026-03-14T10:00", "must be after from"},
		{"ticket=-5", "ticket -5 must be a positive number"},
		{"ticket=0", "ticket 0 must be a positive number"},
		{"ticket=abc", `ticket "abc" is not a ticket number`},
		{"ticket=99999999999999999999999", "is not a ticket number"},
		{"limit=100000", "limit 100000 must be between 1 and 200"},
		{"limit=0", "limit 0 must be between 1 and 200"},
		{"limit=ten", `limit "ten" is not a number`},
		{"cursor=garbage!!", `cursor "garbage!!" is malformed`},
		{"cursor=" + strings.Repeat("A", 600), "cursor is 600 bytes long; the limit is 512"},
		{"status=delivered", `status "delivered" is not one of pending, succeeded and failed`},
		{"error=" + strings.Repeat("x", 300), "error is 300 bytes long; the limit is 256"},
		{"trigger=" + strings.Repeat("x", 300), "trigger is 300 bytes long; the limit is 256"},
		{"error=a%09b", `error "a\tb" holds a control character`},
		{"ticket=%FF1", `ticket "\xff1" is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.query[:min(len(tc.query), 24)], func(t *testing.T) {
			t.Parallel()
			page := s.get(t, "/?"+tc.query)
			if page.status != http.StatusBadRequest {
				t.Errorf("HTML status = %d, want 400", page.status)
			}
			if !strings.Contains(page.body, htmlEscape(tc.want)) {
				t.Errorf("HTML page lacks the message %q:\n%s", tc.want, page.body)
			}
			api := s.get(t, "/api/entries?"+tc.query)
			if api.status != http.StatusBadRequest {
				t.Errorf("API status = %d, want 400", api.status)
			}
			if msg := apiErr(t, api.body); !strings.Contains(msg, tc.want) {
				t.Errorf("API error = %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

// htmlEscape escapes s as html/template writes text.
func htmlEscape(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "<", "&lt;", ">", "&gt;", "'", "&#39;").Replace(s)
}
