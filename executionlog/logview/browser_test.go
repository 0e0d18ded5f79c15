package logview_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/executionlog/logview"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// findBrowser returns the path of a Chromium or Chrome binary. In CI a
// missing browser fails the test (.ci/run installs Debian's chromium);
// elsewhere the test is skipped.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium found; .ci/run installs Debian's chromium package")
	}
	t.Skip("no Chromium or Chrome found on PATH: install Debian's chromium package to run the browser test")
	return ""
}

// TestBrowser drives the Execution Log page in headless Chromium, as an
// admin would: filter by ticket number and by error text, open an entry,
// redeliver it, and see the new attempt.
func TestBrowser(t *testing.T) {
	browser := findBrowser(t)

	// A receiver that rejects ticket 1001 until it is fixed.
	var fixed atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := payload.Decode(readAll(r))
		if body != nil && body.Id == 1001 && !fixed.Load() {
			http.Error(w, `{"error": "invalid customer <script>alert(1)</script>"}`, http.StatusUnprocessableEntity)
			return
		}
		w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(receiver.Close)

	// The embedded default: a SQLite log in a file.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "hooks.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := log.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	set, err := trigger.Parse([]byte(`[{"id": "resolved", "name": "Resolved tickets",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": "`+receiver.URL+`/hooks"}]}]`), &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := tickethooks.New(tickethooks.Config{
		Triggers: trigger.NewStore(set),
		Log:      log,
		Sender:   webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback}),
		Retry: webhook.RetryPolicy{MaxAttempts: 1,
			NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }},
		Logger:       slog.New(slog.DiscardHandler),
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close(context.Background()) })
	for _, id := range []int{1001, 1002, 1003} {
		before := &payload.Ticket{Id: id, Subject: "Ticket <b>" + string(rune('A'+id%10)) + "</b>", Status: "Open"}
		after := *before
		after.Status = "Resolved"
		if err := engine.OnTicketChange(ctx, before, &after); err != nil {
			t.Fatal(err)
		}
	}
	waitFinished(t, log, 3)

	view, err := logview.New(logview.Config{Log: log, Redeliverer: engine, Title: "Webhook Execution Log"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/webhooks/", http.StripPrefix("/admin/webhooks", view))
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	stepCtx := startBrowser(t, browser)
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(stepCtx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("reading %s: %v", css, err)
		}
		return s
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(stepCtx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// navigate runs steps that load a new page and waits for it.
	navigate := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(stepCtx, steps...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != http.StatusOK && resp.Status != http.StatusSeeOther {
			t.Fatalf("%s: the page answered %d", what, resp.Status)
		}
	}

	navigate("opening the log page", chromedp.Navigate(site.URL+"/admin/webhooks/"))
	listText := text(`table.log tbody`)
	for _, want := range []string{"#1001", "#1002", "#1003"} {
		if !strings.Contains(listText, want) {
			t.Errorf("list page lacks %s:\n%s", want, listText)
		}
	}

	do("typing a ticket number", chromedp.SetValue(chromedp.ID(`ticket`), "1001"))
	navigate("filtering by ticket number", chromedp.Submit(chromedp.CSS(`form.filters`)))
	if got := text(`table.log tbody`); !strings.Contains(got, "#1001") || strings.Contains(got, "#1002") {
		t.Errorf("filtered by ticket 1001, the page shows:\n%s", got)
	}

	navigate("clearing the filters", chromedp.Click(chromedp.CSS(`form.filters a.secondary`)))
	do("typing an error text", chromedp.SetValue(chromedp.ID(`error`), "422"))
	navigate("filtering by error text", chromedp.Submit(chromedp.CSS(`form.filters`)))
	if got := text(`table.log tbody`); !strings.Contains(got, "#1001") || strings.Contains(got, "#1003") {
		t.Errorf("filtered by error 422, the page shows:\n%s", got)
	}

	navigate("opening the entry", chromedp.Click(chromedp.CSS(`table.log tbody tr a`)))
	// The receiver's answer is shown as text, its markup inert.
	body, err := chromedp.Run(stepCtx, chromedp.TextContent(chromedp.CSS(`ol.attempts`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := body; !strings.Contains(got, "invalid customer <script>alert(1)</script>") {
		t.Errorf("entry page does not show the receiver's answer as text:\n%s", got)
	}

	// The receiver is fixed; the admin redelivers.
	fixed.Store(true)
	navigate("redelivering", chromedp.Click(chromedp.CSS(`form.inline button[type=submit]`)))

	// The redelivery is delivered in the background; reload until the new
	// attempt shows.
	var after string
	for deadline := time.Now().Add(20 * time.Second); ; {
		navigate("reloading the entry", chromedp.Reload())
		after = text(`ol.attempts`)
		if strings.Contains(after, "200") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(after, "422") || !strings.Contains(after, "200") || !strings.Contains(after, "new series") {
		t.Errorf("entry after redelivery does not show both attempts and the new series:\n%s", after)
	}

	shot, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), "entry.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the entry page after redelivery: %s (%d bytes)", path, len(shot))
	if dir := os.Getenv("TICKETHOOKS_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "entry.png"), shot, 0o644)
	}
}

// TestBrowserHostCSRF redelivers an entry in headless Chromium behind a
// host middleware that demands its own CSRF token, with Config.HostCSRF:
// the form carries the host's token and the browser's POST passes both
// the host's check and the handler's cross-origin check.
func TestBrowserHostCSRF(t *testing.T) {
	browser := findBrowser(t)
	fx := newFixture(t)
	red := &fakeRedeliverer{log: fx.log}
	host := newHostMiddleware("csrf_token")
	s := newWrappedServer(t, logview.Config{Log: fx.log, Redeliverer: red,
		HostCSRF: &logview.HostCSRF{Field: "csrf_token", Token: hostToken}}, host.wrap)
	stepCtx := startBrowser(t, browser)

	if _, err := chromedp.RunResponse(stepCtx, chromedp.Navigate(s.URL+prefix+"/entries/"+fx.erp1002.ID)); err != nil {
		t.Fatalf("opening the entry: %v", err)
	}
	resp, err := chromedp.RunResponse(stepCtx, chromedp.Click(chromedp.CSS(`form.inline button[type=submit]`)))
	if err != nil {
		t.Fatalf("redelivering: %v", err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("redelivering: the page answered %d, want 200 after the redirect", resp.Status)
	}
	notice, err := chromedp.Run(stepCtx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	if !strings.Contains(notice, "The entry was queued for redelivery.") {
		t.Errorf("the page after redelivering does not say it was queued:\n%s", notice)
	}
	if ids, _, _ := red.calls(); !cmp.Equal([]string{fx.erp1002.ID}, ids) {
		t.Errorf("redelivered %v, want the entry", ids)
	}
}

// TestBrowserTenant opens tenant acme's scoped page in headless Chromium,
// over a log that holds the entries of acme and globex with the same
// ticket numbers: the list and its filtered list link to acme's entries
// only, and globex's entry page answers 404.
func TestBrowserTenant(t *testing.T) {
	browser := findBrowser(t)
	fx := newTenantFixture(t)
	s := newServer(t, logview.Config{Log: fx.log, Redeliverer: &fakeRedeliverer{log: fx.log}, Tenant: fixedTenant(acme)})
	stepCtx := startBrowser(t, browser)

	// links returns the ids of the entries the page's list links to.
	links := func(what string) []string {
		t.Helper()
		hrefs, err := chromedp.Run(stepCtx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("table.log tbody a"), a => a.getAttribute("href"))`))
		if err != nil {
			t.Fatalf("%s: reading the links: %v", what, err)
		}
		out := []string{}
		for _, h := range hrefs {
			id, _ := url.PathUnescape(strings.TrimPrefix(h, "entries/"))
			out = append(out, id)
		}
		return out
	}
	load := func(what string, status int, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(stepCtx, steps...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != int64(status) {
			t.Fatalf("%s: the page answered %d, want %d", what, resp.Status, status)
		}
	}

	load("opening acme's log page", http.StatusOK, chromedp.Navigate(s.URL+prefix+"/"))
	if diff := cmp.Diff(fx.ids(acme, nil), links("the list")); diff != "" {
		t.Errorf("acme's list links mismatch (-want +got):\n%s", diff)
	}
	head, err := chromedp.Run(stepCtx, chromedp.Text(chromedp.CSS(`table.log thead`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(head, "Tenant") {
		t.Errorf("a tenant's list has a tenant column: %q", head)
	}

	if err := chromedp.Do(stepCtx, chromedp.SetValue(chromedp.ID(`ticket`), "101")); err != nil {
		t.Fatalf("typing a ticket number: %v", err)
	}
	load("filtering by ticket 101", http.StatusOK, chromedp.Submit(chromedp.CSS(`form.filters`)))
	want := fx.ids(acme, func(e executionlog.Entry) bool { return e.TicketID == 101 })
	if diff := cmp.Diff(want, links("the filtered list")); diff != "" {
		t.Errorf("acme's list of ticket 101 mismatch (-want +got):\n%s", diff)
	}

	load("opening globex's entry", http.StatusNotFound, chromedp.Navigate(s.URL+prefix+"/entries/"+fx.failed[globex][0]))
	main, err := chromedp.Run(stepCtx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(main, "no such entry") || strings.Contains(main, globex) {
		t.Errorf("globex's entry in acme's page shows:\n%s", main)
	}
}

// startBrowser starts the headless browser at path, in a phone-sized
// window, and returns the context of its steps, stopped at the end of the
// test.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(420, 900), // a phone-sized window
	)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// Start the browser without a deadline (a deadline on the first call
	// would stop the browser with it), then bound every step.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	stepCtx, cancelSteps := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(cancelSteps)
	return stepCtx
}

func readAll(r *http.Request) []byte {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return []byte(b.String())
		}
	}
}

// waitFinished waits until the log holds n entries and none is pending.
func waitFinished(t *testing.T, log executionlog.Log, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := log.Query(context.Background(), executionlog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		done := len(page.Entries) == n
		for _, e := range page.Entries {
			if e.Status == executionlog.StatusPending {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not finish: %d entries", len(page.Entries))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
