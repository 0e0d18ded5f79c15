package logview_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}})
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/?ticket=x"}, {"GET", "/entries/" + fx.erp1001.ID}, {"GET", "/entries/missing"},
		{"GET", "/redeliver"}, {"GET", "/static/style.css"}, {"GET", "/api/entries"}, {"GET", "/nowhere"},
		{"POST", "/"}, {"POST", "/entries/" + fx.erp1001.ID + "/redeliver"}, {"POST", "/api/redeliver"},
	} {
		r := s.do(t, tc.method, tc.path, nil, nil)
		got := map[string]string{}
		for k := range want {
			got[k] = r.header.Get(k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s (status %d): security headers mismatch (-want +got):\n%s", tc.method, tc.path, r.status, diff)
		}
	}
	if css := s.get(t, "/static/style.css"); css.status != http.StatusOK || css.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(css.body, "@media (max-width: 600px)") {
		t.Errorf("style sheet: status %d, Content-Type %q", css.status, css.header.Get("Content-Type"))
	}
	if page := s.get(t, "/"); page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("list page Cache-Control = %q, want no-store", page.header.Get("Cache-Control"))
	}
}

func TestMethods(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red})
	id := fx.erp1001.ID
	tests := []struct {
		method, path string
	}{
		{"GET", "/entries/" + id + "/redeliver"},
		{"GET", "/api/entries/" + id + "/redeliver"},
		{"GET", "/api/redeliver"},
		{"PUT", "/redeliver"},
		{"DELETE", "/api/entries/" + id},
		{"POST", "/"},
		{"POST", "/entries/" + id},
		{"POST", "/api/entries"},
		{"PATCH", "/api/entries/" + id + "/redeliver"},
	}
	for _, tc := range tests {
		if r := s.do(t, tc.method, tc.path, nil, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", tc.method, tc.path, r.status)
		}
	}
	if ids, filters, _ := red.calls(); len(ids)+len(filters) != 0 {
		t.Errorf("refused requests redelivered: %v %v", ids, filters)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: red})
	other := newServer(t, logview.Config{Log: fx.log, Redeliverer: red})
	entryPath := "/entries/" + fx.erp1001.ID
	good := s.token(t, entryPath)
	foreign := other.token(t, entryPath) // signed with another handler's key
	post := entryPath + "/redeliver"

	tests := []struct {
		name   string
		srv    *server
		form   url.Values
		header map[string]string
	}{
		{"NoToken", s, url.Values{}, nil},
		{"EmptyToken", s, url.Values{"csrf_token": {""}}, nil},
		{"WrongToken", s, url.Values{"csrf_token": {otherFirstChar(good)}}, nil},
		{"OtherHandlersToken", s, url.Values{"csrf_token": {foreign}}, nil},
		{"TokenInQueryOnly", s, nil, nil},
		{"CrossSite", s, url.Values{"csrf_token": {good}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"OtherOrigin", s, url.Values{"csrf_token": {good}}, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tc := range tests {
		path := post
		if tc.form == nil {
			path += "?csrf_token=" + url.QueryEscape(good)
		}
		header := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range tc.header {
			header[k] = v
		}
		r := tc.srv.do(t, http.MethodPost, path, strings.NewReader(tc.form.Encode()), header)
		if r.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, r.status)
		}
	}
	// Without the cookie, a valid token is refused too.
	noCookie := &server{Server: s.Server, client: &http.Client{CheckRedirect: s.client.CheckRedirect}}
	if r := noCookie.postForm(t, post, url.Values{"csrf_token": {good}}); r.status != http.StatusForbidden {
		t.Errorf("NoCookie: status %d, want 403", r.status)
	}
	if ids, _, _ := red.calls(); len(ids) != 0 {
		t.Fatalf("refused requests redelivered %v", ids)
	}
	if r := s.postForm(t, post, url.Values{"csrf_token": {good}}); r.status != http.StatusSeeOther {
		t.Errorf("valid token: status %d, want 303", r.status)
	}
}

// otherFirstChar returns token with its first character replaced by a
// different one, so the result never equals token.
func otherFirstChar(token string) string {
	c := "A"
	if strings.HasPrefix(token, c) {
		c = "B"
	}
	return c + token[1:]
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	for name, cfg := range map[string]logview.Config{
		"ReadOnly":      {Log: fx.log, Redeliverer: red, ReadOnly: true},
		"NoRedeliverer": {Log: fx.log},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, cfg)
			for _, path := range []string{"/", "/?status=failed", "/entries/" + fx.erp1001.ID} {
				r := s.get(t, path)
				if r.status != http.StatusOK {
					t.Errorf("GET %s: status %d", path, r.status)
				}
				for _, hidden := range []string{"csrf_token", "<form method=\"post\"", "Redeliver", "redeliver"} {
					if strings.Contains(r.body, hidden) {
						t.Errorf("GET %s shows %q", path, hidden)
					}
				}
				if !strings.Contains(r.body, "read-only") {
					t.Errorf("GET %s does not say the log is read-only", path)
				}
				if r.header.Get("Set-Cookie") != "" {
					t.Errorf("GET %s sets a cookie in read-only mode", path)
				}
			}
			forbidden := []response{
				s.get(t, "/redeliver?error=bad"),
				s.postForm(t, "/entries/"+fx.erp1001.ID+"/redeliver", url.Values{"csrf_token": {"x"}}),
				s.postForm(t, "/redeliver", url.Values{"error": {"bad"}}),
				s.postJSON(t, "/api/entries/"+fx.erp1001.ID+"/redeliver", ""),
				s.postJSON(t, "/api/redeliver", `{"error": "bad"}`),
			}
			for i, r := range forbidden {
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "read-only") {
					t.Errorf("request %d: status %d, want 403 saying read-only", i, r.status)
				}
			}
		})
	}
	if ids, filters, _ := red.calls(); len(ids)+len(filters) != 0 {
		t.Errorf("read-only handlers redelivered: %v %v", ids, filters)
	}
	if e, _ := fx.log.Get(t.Context(), executionlog.Scope{}, fx.erp1001.ID); e.Status != executionlog.StatusFailed {
		t.Errorf("entry is %s after read-only requests, want failed", e.Status)
	}
}

func TestMounting(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}})

	// Reached at the prefix without its slash (mounted with mux.Handle
	// on both), the handler sends the browser under the prefix, so that
	// relative links resolve there.
	h, err := logview.New(logview.Config{Log: fx.log})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	http.StripPrefix(prefix, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, prefix+"?ticket=1001", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "webhooks/?ticket=1001" {
		t.Errorf("GET %s = %d to %q, want 303 to webhooks/?ticket=1001", prefix, rec.Code, rec.Header().Get("Location"))
	}
	// The CSRF cookie is scoped to the prefix.
	page := s.get(t, "/")
	if c := page.header.Get("Set-Cookie"); !strings.Contains(c, "Path="+prefix+"/;") || !strings.Contains(c, "HttpOnly") ||
		!strings.Contains(c, "SameSite=Strict") {
		t.Errorf("Set-Cookie = %q, want Path=%s/, HttpOnly and SameSite=Strict", c, prefix)
	}
	// Every link is relative.
	for _, body := range []string{page.body, s.get(t, "/entries/"+fx.erp1001.ID).body, s.get(t, "/redeliver").body} {
		for _, attr := range []string{`href="/`, `action="/`, `src="/`, `href="http`} {
			if strings.Contains(body, attr) {
				t.Errorf("page has an absolute link %s...", attr)
			}
		}
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	tests := []struct {
		name string
		cfg  logview.Config
		ok   bool
	}{
		{"Minimal", logview.Config{Log: log}, true},
		{"NoLog", logview.Config{}, false},
		{"NegativeBulkLimit", logview.Config{Log: log, BulkLimit: -1}, false},
		{"HugeBulkLimit", logview.Config{Log: log, BulkLimit: logview.MaxBulkLimit + 1}, false},
		{"MaxBulkLimit", logview.Config{Log: log, BulkLimit: logview.MaxBulkLimit}, true},
		{"ShortKey", logview.Config{Log: log, CSRFKey: []byte("short")}, false},
		{"Key", logview.Config{Log: log, CSRFKey: []byte("0123456789abcdef")}, true},
		{"HostCSRF", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{Field: "gorilla.csrf.Token", Token: hostToken}}, true},
		{"HostCSRFWithoutField", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{}}, true},
		{"HostCSRFFieldWithoutToken", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{Field: "csrf_token"}}, false},
		{"HostCSRFTokenWithoutField", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{Token: hostToken}}, false},
		{"HostCSRFFieldIsFilter", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{Field: "error", Token: hostToken}}, false},
		{"HostCSRFFieldIsTenant", logview.Config{Log: log, HostCSRF: &logview.HostCSRF{Field: "tenant", Token: hostToken}}, false},
		{"Tenant", logview.Config{Log: log, Tenant: func(*http.Request) (string, bool) { return "acme", true }}, true},
	}
	for _, tc := range tests {
		h, err := logview.New(tc.cfg)
		if (err == nil) != tc.ok || (h != nil) != tc.ok {
			t.Errorf("%s: New = %v, %v; want ok %t", tc.name, h, err, tc.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "logview: invalid config: ") {
			t.Errorf("%s: error %q does not say the config is invalid", tc.name, err)
		}
	}
}

// Handlers sharing a CSRFKey accept each other's tokens, as replicas
// behind a load balancer must.
func TestSharedCSRFKey(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	key := []byte("a shared key of at least sixteen bytes")
	a := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}, CSRFKey: key})
	b := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}, CSRFKey: key})
	token := a.token(t, "/entries/"+fx.erp1002.ID)
	jarURL, _ := url.Parse(a.URL + prefix + "/")
	bURL, _ := url.Parse(b.URL + prefix + "/")
	b.client.Jar.SetCookies(bURL, a.client.Jar.Cookies(jarURL))
	r := b.postForm(t, "/entries/"+fx.erp1002.ID+"/redeliver", url.Values{"csrf_token": {token}})
	if r.status != http.StatusSeeOther {
		t.Errorf("POST to a replica with the same key: status %d, want 303", r.status)
	}
}

// brokenLog is a log whose reads fail with an error that must not reach
// the pages.
type brokenLog struct {
	executionlog.Log
}

var errBroken = errors.New("dial tcp db.internal:5432: password=hunter2 rejected")

func (brokenLog) Query(context.Context, executionlog.Filter) (executionlog.Page, error) {
	return executionlog.Page{}, errBroken
}

func (brokenLog) Get(context.Context, executionlog.Scope, string) (executionlog.Entry, error) {
	return executionlog.Entry{}, errBroken
}

func TestLogFailure(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	log := brokenLog{executionlog.NewMemory(executionlog.MemoryOptions{})}
	s := newServer(t, logview.Config{Log: log, Redeliverer: &fakeRedeliverer{log: log}, Logger: logger})
	id := executionlog.NewID(base)
	for _, r := range []response{
		s.get(t, "/"), s.get(t, "/entries/"+id), s.get(t, "/redeliver"), s.get(t, "/api/entries"), s.get(t, "/api/entries/"+id),
		s.postJSON(t, "/api/entries/"+id+"/redeliver", ""),
	} {
		if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "internal error") || strings.Contains(r.body, "hunter2") {
			t.Errorf("status %d, body %q; want 500 with a generic message", r.status, r.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the log error was not logged:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
