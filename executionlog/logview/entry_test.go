package logview_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
)

func TestEntryPage(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}})

	tests := []struct {
		name    string
		id      string
		want    []string
		notWant []string
	}{
		{"Failed", fx.erp1002.ID, []string{
			"<code>" + fx.erp1002.ID + "</code>",
			`<span class="badge status-failed">failed</span>`,
			"ERP sync <code>erp</code>, action 0",
			"<code>https://erp.example.com/hooks</code>",
			`<tr><th scope="row">Authorization</th><td><code>[REDACTED]</code></td></tr>`,
			`<tr><th scope="row">X-Account</th><td><code>acme</code></td></tr>`,
			"{\n  &#34;Id&#34;: 1002,\n  &#34;Subject&#34;: &#34;Impressora não liga&#34;,", // indented JSON
			`<span class="badge status-failed">HTTP 503 Service Unavailable</span>`,
			`<pre class="body">maintenance</pre>`,
			`<span class="badge status-failed">no response</span>`,
			"dial tcp 203.0.113.7:443: connect: connection refused",
			"250ms",
			`action="` + fx.erp1002.ID + `/redeliver"`,
			`<button type="submit">Redeliver</button>`,
		}, nil},
		{"Pending", fx.crm1003.ID, []string{
			`<span class="badge status-pending">pending</span>`,
			"<dt>Next attempt</dt>",
			"(in 3m)",
		}, []string{`<button type="submit">Redeliver</button>`}},
		{"Succeeded", fx.crm1001.ID, []string{
			`<span class="badge status-succeeded">HTTP 200 OK</span>`,
			`<button type="submit">Redeliver</button>`,
		}, []string{`<p class="err">`}},
		{"TestSend", fx.test.ID, []string{
			`<span class="badge badge-test">test send</span>`,
			"<dd>none: a test send</dd>",
			"<dd>test</dd>",
		}, []string{`<button type="submit">Redeliver</button>`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.get(t, "/entries/"+tc.id)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200", r.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("entry page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("entry page has %q", w)
				}
			}
		})
	}

	for _, id := range []string{executionlog.NewID(base), "no-such-entry"} {
		if r := s.get(t, "/entries/"+id); r.status != http.StatusNotFound || !strings.Contains(r.body, "no such entry") {
			t.Errorf("GET /entries/%s = %d, want 404 with a message", id, r.status)
		}
		if r := s.get(t, "/api/entries/"+id); r.status != http.StatusNotFound || apiErr(t, r.body) != "no such entry" {
			t.Errorf("GET /api/entries/%s = %d %s, want 404", id, r.status, r.body)
		}
	}
}

func TestEntryRedeliveredSeries(t *testing.T) {
	t.Parallel()
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	e := entry(0, 7, "erp", executionlog.StatusFailed, attempt(1, 0, 500, "receiver answered 500", ""))
	if err := log.Add(context.Background(), []*executionlog.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if err := log.Redeliver(context.Background(), executionlog.Scope{}, e.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	owned, err := log.Claim(context.Background(), executionlog.Claim{Owner: "engine-7", Now: base.Add(time.Hour), Lease: time.Minute, Limit: 1})
	if err != nil || len(owned) != 1 {
		t.Fatalf("Claim = %d entries, %v", len(owned), err)
	}
	if err := log.Update(context.Background(), executionlog.Update{ID: e.ID, Owner: "engine-7", Status: executionlog.StatusSucceeded,
		Attempt: &executionlog.Attempt{Number: 2, StartedAt: base.Add(time.Hour), StatusCode: 204}, Now: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	body := newServer(t, logview.Config{Log: log}).get(t, "/entries/"+e.ID).body
	if w := "after attempt 1; the current series of attempts starts at #2"; !strings.Contains(body, w) {
		t.Errorf("entry page lacks %q", w)
	}
	series := strings.Index(body, `<p class="series">Redelivered: a new series of attempts starts here.</p>`)
	first, second := strings.Index(body, "<strong>#1</strong>"), strings.Index(body, "<strong>#2</strong>")
	if series < 0 || !(first < series && series < second) {
		t.Errorf("the series marker is at %d, want it between attempt #1 (%d) and #2 (%d)", series, first, second)
	}
}

// An entry whose every text field holds markup: the pages must show it as
// text.
func TestEscaping(t *testing.T) {
	t.Parallel()
	const script = `<script>alert("x")</script>`
	e := entry(0, 66, `trg"><script>alert(1)</script>`, executionlog.StatusFailed,
		executionlog.Attempt{Number: 1, StartedAt: base, StatusCode: 500,
			Error: `receiver answered <img src=x onerror=alert(1)> ` + script, ResponseBody: "<html>" + script + "</html>"})
	e.TriggerName = "<b>bold</b> " + script
	e.URL = `https://example.com/hooks?q="><script>alert(1)</script>`
	e.RequestBody = []byte(`{"Id":66,"Subject":"` + strings.ReplaceAll(script, `"`, `\"`) + `"}`)
	e.RequestHeaders = map[string]string{"X-Evil": script, script: "name"}
	e.Note = script
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	if err := log.Add(context.Background(), []*executionlog.Entry{e}); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, logview.Config{Log: log, Redeliverer: &fakeRedeliverer{log: log}})

	for _, path := range []string{"/", "/?trigger=" + strings.ReplaceAll(e.TriggerID, `"`, "%22"), "/entries/" + e.ID,
		"/?error=%3Cscript%3E", "/redeliver?error=%3Cscript%3E"} {
		r := s.get(t, path)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: status %d", path, r.status)
		}
		for _, raw := range []string{"<script", "<img", "<b>", "<html>"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("GET %s: page contains raw %q", path, raw)
			}
		}
		if !strings.Contains(r.body, "&lt;script&gt;") {
			t.Errorf("GET %s: page does not show the markup as text", path)
		}
	}
	if r := s.get(t, "/api/entries/"+e.ID); r.header.Get("Content-Type") != "application/json; charset=utf-8" ||
		strings.Contains(r.body, "<script") {
		t.Errorf("API entry: Content-Type %q, escaped markup %t; want JSON with < escaped",
			r.header.Get("Content-Type"), !strings.Contains(r.body, "<script"))
	}
}

// A log that kept a secret header value, against the engine's rules: the
// pages and the API still hide it.
func TestSecretHeadersNeverShown(t *testing.T) {
	t.Parallel()
	e := entry(0, 9, "erp", executionlog.StatusSucceeded, attempt(1, 0, 200, "", ""))
	e.RequestHeaders = map[string]string{
		"Authorization": "Bearer leaked-token", "x-api-key": "leaked-key", "X-Signing-Secret": "leaked-secret",
		"Cookie": "session=leaked-cookie", "X-Request-Source": "helpdesk",
	}
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	if err := log.Add(context.Background(), []*executionlog.Entry{e}); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, logview.Config{Log: log})
	for _, path := range []string{"/entries/" + e.ID, "/api/entries/" + e.ID, "/", "/api/entries"} {
		body := s.get(t, path).body
		if strings.Contains(body, "leaked") {
			t.Errorf("GET %s shows a secret header value", path)
		}
		if strings.HasPrefix(path, "/entries") && (!strings.Contains(body, "[REDACTED]") || !strings.Contains(body, "helpdesk")) {
			t.Errorf("GET %s: want redacted secrets and the other headers", path)
		}
	}
}
