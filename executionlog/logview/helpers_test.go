package logview_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

// base is the time the test entries are created around.
var base = time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)

// now is the handlers' clock.
func now() time.Time { return base.Add(48 * time.Hour) }

// prefix is where the tests mount the handler.
const prefix = "/admin/webhooks"

// fixture names the entries of newFixture.
type fixture struct {
	log executionlog.Log
	// crm1001 succeeded; erp1002 and erp1001 failed; crm1003 is pending;
	// test is a failed test send.
	crm1001, erp1002, erp1001, crm1003, test executionlog.Entry
}

// entry returns an entry of ticket created at base+d by trigger.
func entry(d time.Duration, ticket int, trigger string, status executionlog.Status, attempts ...executionlog.Attempt) *executionlog.Entry {
	created := base.Add(d)
	return &executionlog.Entry{
		ID:          executionlog.NewID(created),
		TriggerID:   trigger,
		TriggerName: strings.ToUpper(trigger) + " sync",
		TicketID:    ticket,
		Event:       "updated",
		URL:         "https://" + trigger + ".example.com/hooks",
		RequestHeaders: map[string]string{
			"Content-Type": "application/json", "Authorization": "[REDACTED]", "X-Account": "acme",
		},
		RequestBody: fmt.Appendf(nil, `{"Id":%d,"Subject":"Impressora não liga","Status":"New"}`, ticket),
		Status:      status,
		Attempts:    attempts,
		CreatedAt:   created,
		UpdatedAt:   created.Add(time.Minute),
	}
}

// attempt returns an attempt started at base+d.
func attempt(n int, d time.Duration, code int, errText, body string) executionlog.Attempt {
	return executionlog.Attempt{Number: n, StartedAt: base.Add(d), Duration: 250 * time.Millisecond,
		StatusCode: code, Error: errText, ResponseBody: body}
}

// newFixture returns a memory log holding five entries over two days.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	crm1001 := entry(0, 1001, "crm", executionlog.StatusSucceeded, attempt(1, 0, 200, "", "ok"))
	erp1002 := entry(time.Hour, 1002, "erp", executionlog.StatusFailed,
		attempt(1, time.Hour, 503, "receiver answered 503 Service Unavailable", "maintenance"),
		attempt(2, time.Hour+time.Minute, 0, "dial tcp 203.0.113.7:443: connect: connection refused", ""))
	erp1001 := entry(25*time.Hour, 1001, "erp", executionlog.StatusFailed,
		attempt(1, 25*time.Hour, 400, "receiver answered 400 Bad Request", `{"error":"unknown field"}`))
	crm1003 := entry(26*time.Hour, 1003, "crm", executionlog.StatusPending,
		attempt(1, 26*time.Hour, 500, "receiver answered 500 Internal Server Error", "oops"))
	crm1003.NextAttemptAt = now().Add(3 * time.Minute)
	test := entry(27*time.Hour, 1001, "", executionlog.StatusFailed,
		attempt(1, 27*time.Hour, 422, "receiver answered 422 Unprocessable Entity", "no"))
	test.Test, test.Event, test.TriggerName = true, "test", ""

	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	if err := log.Add(context.Background(), []*executionlog.Entry{crm1001, erp1002, erp1001, crm1003, test}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	return &fixture{log: log, crm1001: *crm1001, erp1002: *erp1002, erp1001: *erp1001, crm1003: *crm1003, test: *test}
}

// fakeRedeliverer redelivers through the log directly and records its
// calls.
type fakeRedeliverer struct {
	log executionlog.Log

	mu      sync.Mutex
	ids     []string
	filters []executionlog.Filter
	limits  []int
}

func (f *fakeRedeliverer) Redeliver(ctx context.Context, s executionlog.Scope, id string) error {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
	return f.log.Redeliver(ctx, s, id, now())
}

func (f *fakeRedeliverer) RedeliverMatching(ctx context.Context, flt executionlog.Filter, limit int) (int, error) {
	f.mu.Lock()
	f.filters = append(f.filters, flt)
	f.limits = append(f.limits, limit)
	f.mu.Unlock()
	flt.Status, flt.Limit = executionlog.StatusFailed, executionlog.MaxLimit
	page, err := f.log.Query(ctx, flt)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range page.Entries {
		if n == limit {
			break
		}
		if e.Test {
			continue
		}
		if err := f.log.Redeliver(ctx, flt.Scope(), e.ID, now()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// calls returns the recorded calls.
func (f *fakeRedeliverer) calls() (ids []string, filters []executionlog.Filter, limits []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...), append([]executionlog.Filter(nil), f.filters...), append([]int(nil), f.limits...)
}

// server is a handler mounted under prefix in an httptest server, with a
// client that keeps cookies and does not follow redirects.
type server struct {
	*httptest.Server
	client *http.Client
}

// newServer mounts the handler of cfg, with the test clock, under prefix.
func newServer(t *testing.T, cfg logview.Config) *server {
	t.Helper()
	return newWrappedServer(t, cfg, nil)
}

// newWrappedServer mounts the handler of cfg, with the test clock, under
// prefix behind the host middleware wrap, if any.
func newWrappedServer(t *testing.T, cfg logview.Config, wrap func(http.Handler) http.Handler) *server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = now
	}
	h, err := logview.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return serve(t, h, wrap)
}

// serve mounts h under prefix in an httptest server, behind the host
// middleware wrap, if any.
func serve(t *testing.T, h http.Handler, wrap func(http.Handler) http.Handler) *server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	var root http.Handler = mux
	if wrap != nil {
		root = wrap(mux)
	}
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &server{Server: srv, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to path (under prefix) and reads the response.
func (s *server) do(t *testing.T, method, path string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+prefix+path, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, path, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// get sends a GET to path.
func (s *server) get(t *testing.T, path string) response {
	t.Helper()
	return s.do(t, http.MethodGet, path, nil, nil)
}

// postForm posts the form v to path.
func (s *server) postForm(t *testing.T, path string, v url.Values) response {
	t.Helper()
	return s.do(t, http.MethodPost, path, strings.NewReader(v.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

// postJSON posts the JSON body to path as an API client does.
func (s *server) postJSON(t *testing.T, path, body string) response {
	t.Helper()
	return s.do(t, http.MethodPost, path, strings.NewReader(body),
		map[string]string{"Content-Type": "application/json", "X-Requested-With": "test"})
}

// tokenPattern finds the CSRF token of a page's forms.
var tokenPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token returns the CSRF token of the page at path, loading it with the
// server's client, which keeps the cookie.
func (s *server) token(t *testing.T, path string) string {
	t.Helper()
	r := s.get(t, path)
	m := tokenPattern.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("page %s has no form token (status %d)", path, r.status)
	}
	return m[1]
}

// linkPattern finds the links to entries in a list page.
var linkPattern = regexp.MustCompile(`href="(?:\./)?entries/([^"]+)"`)

// listed returns the ids of the entries a list page links to, in order.
func listed(body string) []string {
	out := []string{}
	for _, m := range linkPattern.FindAllStringSubmatch(body, -1) {
		id, _ := url.PathUnescape(m[1])
		out = append(out, id)
	}
	return out
}

// apiPage is the body of GET /api/entries.
type apiPage struct {
	Entries []struct {
		ID string `json:"id"`
	} `json:"entries"`
	Next string `json:"next"`
}

// apiIDs returns the ids of an API page's entries and its next cursor.
func apiIDs(t *testing.T, body string) ([]string, string) {
	t.Helper()
	var p apiPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	out := []string{}
	for _, e := range p.Entries {
		out = append(out, e.ID)
	}
	return out, p.Next
}

// apiErr returns the message of an API error body.
func apiErr(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not an API error: %v", body, err)
	}
	return e.Error
}
