package tickethooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// receiver is an httptest server that records every request and answers
// with the next status of its script (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	script   []int
	header   http.Header // extra response headers
}

type received struct {
	url    string // the request URI: path and query
	header http.Header
	body   []byte
	at     time.Time
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	if len(script) == 0 {
		script = []int{http.StatusOK}
	}
	r := &receiver{script: script, header: http.Header{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, received{url: req.URL.RequestURI(), header: req.Header.Clone(), body: body, at: time.Now()})
		status := r.script[min(n, len(r.script)-1)]
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n+1)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// fastRetry retries after a millisecond, so tests never wait for real
// backoff intervals.
func fastRetry(attempts int) webhook.RetryPolicy {
	return webhook.RetryPolicy{
		MaxAttempts: attempts,
		NewBackOff:  func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) },
		MaxDelay:    50 * time.Millisecond,
	}
}

func loadTriggers(t *testing.T, js string) *trigger.Store {
	t.Helper()
	set, err := trigger.Parse([]byte(js), &trigger.Options{ActionTypes: []string{"tag"}, AllowNetworks: loopback})
	if err != nil {
		t.Fatalf("loading triggers: %v", err)
	}
	return trigger.NewStore(set)
}

// resolvedTrigger fires when a ticket's status changes to Resolved.
func resolvedTrigger(url string) string {
	return fmt.Sprintf(`[{"id": "resolved", "name": "Resolved tickets",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [{"type": "webhook", "url": %q,
			"headers": {"Authorization": "Bearer s3cr3t-token", "X-Tenant": "acme", "X-Signing-Key": "k3y-value"},
			"secret_headers": ["X-Tenant"], "secrets": [%q]}]}]`, url, testSecret)
}

// testSecret signs the requests of resolvedTrigger.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// loopback is where the test receivers listen.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// loopbackSender is the default HTTP sender allowed to reach the test
// receivers on 127.0.0.1.
func loopbackSender() webhook.Sender {
	return webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback})
}

func newEngine(t *testing.T, cfg tickethooks.Config) (*tickethooks.Engine, executionlog.Log) {
	t.Helper()
	if cfg.Sender == nil {
		cfg.Sender = loopbackSender()
	}
	if cfg.Log == nil {
		cfg.Log = executionlog.NewMemory(executionlog.MemoryOptions{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	e, err := tickethooks.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e, cfg.Log
}

// waitSettled waits until no entry of the log is pending and returns all
// entries, oldest first.
func waitSettled(t *testing.T, log executionlog.Log, want int) []executionlog.Entry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := log.Query(context.Background(), executionlog.Filter{Limit: executionlog.MaxLimit})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		pending := 0
		for _, e := range page.Entries {
			if e.Status == executionlog.StatusPending {
				pending++
			}
		}
		if len(page.Entries) >= want && pending == 0 {
			for i, j := 0, len(page.Entries)-1; i < j; i, j = i+1, j-1 {
				page.Entries[i], page.Entries[j] = page.Entries[j], page.Entries[i]
			}
			return page.Entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("log did not settle: %d entries, %d pending, want %d settled", len(page.Entries), pending, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ticket(status string) *payload.Ticket {
	return &payload.Ticket{Id: 42, Subject: "Printer on fire", Status: status, Urgency: "High", SlaSolutionTime: 90}
}

func TestDeliverAndLog(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL+"/hook"))})

	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	entries := waitSettled(t, log, 1)
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	en := entries[0]
	reqs := rcv.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	req := reqs[0]

	// The receiver gets the real secrets and the packet with this
	// trigger's WebhookEvents.
	wantHeaders := map[string]string{
		"Authorization": "Bearer s3cr3t-token", "X-Tenant": "acme", "X-Signing-Key": "k3y-value",
		"Content-Type": "application/json", "User-Agent": webhook.UserAgent, "Webhook-Id": en.ID,
	}
	for k, v := range wantHeaders {
		if got := req.header.Get(k); got != v {
			t.Errorf("receiver header %s = %q, want %q", k, got, v)
		}
	}
	if err := webhook.Verify(req.header, req.body, []string{testSecret}, nil); err != nil {
		t.Errorf("receiver could not verify the signature: %v", err)
	}
	want := ticket("Resolved")
	want.WebhookEvents = []payload.WebhookEvent{{Criteria: payload.CriteriaStatus, Operator: payload.OperatorChangedTo}}
	wantBody, _ := json.Marshal(want)
	if diff := cmp.Diff(string(wantBody), string(req.body)); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}

	// The log keeps the request with secrets redacted and the attempt.
	wantEntry := executionlog.Entry{
		ID: en.ID, TriggerID: "resolved", TriggerName: "Resolved tickets", TicketID: 42, Event: "updated",
		URL: rcv.URL + "/hook",
		RequestHeaders: map[string]string{
			"Authorization": webhook.Redacted, "X-Tenant": webhook.Redacted, "X-Signing-Key": webhook.Redacted,
			"Content-Type": "application/json", "User-Agent": webhook.UserAgent, "Webhook-Id": en.ID,
		},
		RequestBody: wantBody,
		Status:      executionlog.StatusSucceeded,
		Attempts:    []executionlog.Attempt{{Number: 1, StatusCode: 200, ResponseBody: "answer 1"}},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".CreatedAt", ".UpdatedAt", ".StartedAt", ".Duration":
			return true
		}
		return false
	}, cmp.Ignore())
	if diff := cmp.Diff(wantEntry, en, ignore); diff != "" {
		t.Errorf("entry mismatch (-want +got):\n%s", diff)
	}
}

func TestNoMatchRecordsNothing(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Pending")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	// Already Resolved: no change, so changed_to does not hold.
	if err := e.OnTicketChange(context.Background(), ticket("Resolved"), ticket("Resolved")); err != nil {
		t.Fatalf("OnTicketChange: %v", err)
	}
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 0 {
		t.Errorf("got %d entries, want none", len(page.Entries))
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		script      []int
		attempts    int
		wantStatus  executionlog.Status
		wantCodes   []int
		wantLastErr string
	}{
		{"503 then 200", []int{503, 503, 200}, 8, executionlog.StatusSucceeded, []int{503, 503, 200}, ""},
		{"500 until attempts run out", []int{500}, 3, executionlog.StatusFailed, []int{500, 500, 500}, "receiver answered 500 Internal Server Error"},
		{"408 is retried", []int{408, 204}, 8, executionlog.StatusSucceeded, []int{408, 204}, ""},
		{"429 is retried", []int{429, 200}, 8, executionlog.StatusSucceeded, []int{429, 200}, ""},
		{"400 is not retried", []int{400}, 8, executionlog.StatusFailed, []int{400}, "receiver answered 400 Bad Request"},
		{"404 is not retried", []int{404}, 8, executionlog.StatusFailed, []int{404}, "receiver answered 404 Not Found"},
		{"301 is not followed or retried", []int{301}, 8, executionlog.StatusFailed, []int{301}, "receiver answered 301 Moved Permanently"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tt.script...)
			if tt.script[0] == 301 {
				rcv.header.Set("Location", "http://127.0.0.1:1/elsewhere")
			}
			e, log := newEngine(t, tickethooks.Config{
				Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
				Retry:    fastRetry(tt.attempts),
			})
			if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
				t.Fatalf("OnTicketChange: %v", err)
			}
			en := waitSettled(t, log, 1)[0]
			if en.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", en.Status, tt.wantStatus)
			}
			var codes []int
			for _, a := range en.Attempts {
				codes = append(codes, a.StatusCode)
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
			}
			last, _ := en.LastAttempt()
			if last.Error != tt.wantLastErr {
				t.Errorf("last error = %q, want %q", last.Error, tt.wantLastErr)
			}
			// Every attempt of one delivery carries the same delivery id.
			reqs := rcv.got()
			if len(reqs) != len(tt.wantCodes) {
				t.Fatalf("receiver got %d requests, want %d", len(reqs), len(tt.wantCodes))
			}
			for i, r := range reqs {
				if got := r.header.Get("Webhook-Id"); got != en.ID {
					t.Errorf("request %d webhook-id = %q, want %q", i, got, en.ID)
				}
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 429, 200)
	rcv.header.Set("Retry-After", "3600") // capped by MaxDelay
	policy := fastRetry(8)
	policy.MaxDelay = 200 * time.Millisecond
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Retry: policy})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded {
		t.Fatalf("status = %s, want succeeded", en.Status)
	}
	reqs := rcv.got()
	// The backoff alone would wait 1 ms; Retry-After (capped at 200 ms)
	// makes the engine wait at least that long.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 200*time.Millisecond {
		t.Errorf("second attempt came %v after the first; Retry-After capped at 200ms was not honoured", gap)
	}
}

func TestTransportErrorIsRetriedAndLogged(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	url := rcv.URL
	rcv.Close() // nothing listens there any more
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url)), Retry: fastRetry(2)})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusFailed || len(en.Attempts) != 2 {
		t.Fatalf("got status %s after %d attempts, want failed after 2", en.Status, len(en.Attempts))
	}
	if a := en.Attempts[1]; a.StatusCode != 0 || !strings.Contains(a.Error, "refused") {
		t.Errorf("attempt = %+v, want status 0 and a connection refused error", a)
	}
	page, err := log.Query(context.Background(), executionlog.Filter{ErrorText: "REFUSED", TicketID: 42})
	if err != nil || len(page.Entries) != 1 {
		t.Errorf("query by error text: %d entries, err %v; want 1", len(page.Entries), err)
	}
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 200)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Retry: fastRetry(3), Logger: logger,
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	stored, _ := json.Marshal(entries)
	mu.Lock()
	written := logs.String()
	mu.Unlock()
	for _, secret := range []string{"s3cr3t-token", "acme", "k3y-value", testSecret, strings.TrimPrefix(testSecret, "whsec_")} {
		if strings.Contains(string(stored), secret) {
			t.Errorf("execution log contains secret %q", secret)
		}
		if strings.Contains(written, secret) {
			t.Errorf("slog output contains secret %q", secret)
		}
	}
	if !strings.Contains(written, "will retry") || !strings.Contains(written, "webhook delivered") {
		t.Errorf("slog output lacks the state changes:\n%s", written)
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

func TestOnTicketChangeErrors(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	if err := e.OnTicketChange(context.Background(), nil, nil); !errors.Is(err, tickethooks.ErrNilTicket) {
		t.Errorf("nil ticket: err = %v, want ErrNilTicket", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.OnTicketChange(context.Background(), nil, ticket("New")); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// blockingReceiver holds every request until release is closed.
func blockingReceiver(t *testing.T) (url string, arrived chan struct{}, release chan struct{}) {
	arrived = make(chan struct{}, 100)
	release = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return srv.URL, arrived, release
}

// fullEngine returns an engine whose memory log holds one entry, filled by
// a delivery the receiver holds until release is closed.
func fullEngine(t *testing.T) (e *tickethooks.Engine, arrived, release chan struct{}) {
	url, arrived, release := blockingReceiver(t)
	e, _ = newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(url)),
		Log:      executionlog.NewMemory(executionlog.MemoryOptions{MaxEntries: 1}),
	})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	return e, arrived, release
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	e, _, release := fullEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved"))
	if !errors.Is(err, tickethooks.ErrQueueFull) || !errors.Is(err, executionlog.ErrFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("full log: err = %v, want ErrQueueFull wrapping executionlog.ErrFull and the deadline", err)
	}
	// Once the first delivery ends there is room again: a waiting call
	// goes through.
	done := make(chan error, 1)
	go func() { done <- e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")) }()
	close(release)
	if err := <-done; err != nil {
		t.Errorf("OnTicketChange after room was made: %v", err)
	}
}

// TestQueueFullWaitersInLine shows that calls waiting for room in a full
// log all go through as deliveries end, one after another, also when some
// of them give up while waiting (their turn passes to the next).
func TestQueueFullWaitersInLine(t *testing.T) {
	t.Parallel()
	e, arrived, release := fullEngine(t)
	const waiting, quitting = 8, 4
	errs := make(chan error, waiting)
	for range waiting {
		go func() { errs <- e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")) }()
	}
	ctx, cancel := context.WithCancel(context.Background())
	quit := make(chan error, quitting)
	for range quitting {
		go func() { quit <- e.OnTicketChange(ctx, ticket("Open"), ticket("Resolved")) }()
	}
	time.Sleep(20 * time.Millisecond) // let them all find the log full
	cancel()
	gaveUp := 0
	for range quitting {
		switch err := <-quit; {
		case errors.Is(err, tickethooks.ErrQueueFull):
			gaveUp++
		case err != nil:
			t.Errorf("cancelled call: err = %v, want nil or ErrQueueFull", err)
		}
	}
	close(release)
	for range waiting {
		if err := <-errs; err != nil {
			t.Errorf("waiting call: %v", err)
		}
	}
	// Every recorded delivery is sent: the first, the waiting calls and
	// the cancelled ones that got in before giving up.
	want := 1 + waiting + quitting - gaveUp
	for i := 1; i < want; i++ {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d deliveries arrived", i, want)
		}
	}
}

func TestCloseDrainsInFlight(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	closed := make(chan error, 1)
	go func() { closed <- e.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a delivery was in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded {
		t.Errorf("status = %s, want succeeded: Close must finish in-flight deliveries", en.Status)
	}
}

func TestCloseTimeoutLeavesEntriesPending(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	log := executionlog.NewMemory(executionlog.MemoryOptions{})
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url)), Log: log})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
	}
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	en := page.Entries[0]
	if en.Status != executionlog.StatusPending || len(en.Attempts) != 0 || en.LeaseOwner != "" {
		t.Errorf("entry = status %s, %d attempts, lease %q; want pending, no attempt counted, no lease", en.Status, len(en.Attempts), en.LeaseOwner)
	}

	// A new engine on the same log resumes the delivery, once the
	// receiver answers.
	close(release)
	newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url)), Log: log})
	if got := waitSettled(t, log, 1)[0]; got.Status != executionlog.StatusSucceeded {
		t.Errorf("resumed entry status = %s, want succeeded", got.Status)
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	triggers := loadTriggers(t, fmt.Sprintf(`[
		{"id": "first", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		 "actions": [{"type": "note", "text": "sent to billing"}, {"type": "webhook", "url": %q}, {"type": "tag", "name": "billed"}]},
		{"id": "second", "conditions": {"all": [{"field": "Status", "operator": "is", "value": "Resolved"}]},
		 "actions": [{"type": "note", "text": "second trigger"}]}]`, rcv.URL))

	var e *tickethooks.Engine
	var calls []string
	notes := tickethooks.NoteWriterFunc(func(ctx context.Context, call tickethooks.ActionCall, text string) error {
		calls = append(calls, call.Trigger.ID+": note "+text)
		// A note updates the ticket, which the host reports as a change:
		// the triggers that fired already must not fire again.
		return e.OnTicketChange(ctx, call.After, call.After)
	})
	tag := tickethooks.ActionHandlerFunc(func(ctx context.Context, call tickethooks.ActionCall) error {
		calls = append(calls, fmt.Sprintf("%s: %s %s", call.Trigger.ID, call.Action.Type, call.Action.Params))
		return errors.New("tag service down")
	})
	e, log := newEngine(t, tickethooks.Config{
		Triggers: triggers, Notes: notes, Actions: map[string]tickethooks.ActionHandler{"tag": tag},
	})
	err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved"))
	if !errors.Is(err, tickethooks.ErrAction) || !strings.Contains(err.Error(), `trigger "first" action 2 (tag)`) {
		t.Errorf("err = %v, want ErrAction naming trigger first action 2", err)
	}
	want := []string{
		"first: note sent to billing",
		`first: tag {"type":"tag","name":"billed"}`,
		"second: note second trigger",
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("action calls mismatch (-want +got):\n%s", diff)
	}
	if n := len(waitSettled(t, log, 1)); n != 1 {
		t.Errorf("got %d entries, want 1 (the webhook is recorded once despite the nested change)", n)
	}
}

func TestNoHandler(t *testing.T) {
	t.Parallel()
	triggers := loadTriggers(t, `[{"id": "n", "actions": [{"type": "note", "text": "hi"}]}]`)
	e, _ := newEngine(t, tickethooks.Config{Triggers: triggers})
	if err := e.OnTicketChange(context.Background(), nil, ticket("New")); !errors.Is(err, tickethooks.ErrNoHandler) {
		t.Errorf("err = %v, want ErrNoHandler", err)
	}
}

func TestTriggerDeletedBeforeDelivery(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	store := loadTriggers(t, `[{"id": "block", "actions": [{"type": "webhook", "url": "`+url+`"}]},
		{"id": "doomed", "conditions": {"all": [{"field": "Id", "operator": "is", "value": 7}]}, "actions": [{"type": "webhook", "url": "`+url+`"}]}]`)
	e, log := newEngine(t, tickethooks.Config{Triggers: store, Workers: 1})
	if err := e.OnTicketChange(context.Background(), nil, &payload.Ticket{Id: 1}); err != nil {
		t.Fatal(err)
	}
	<-arrived // the only worker is busy
	if err := e.OnTicketChange(context.Background(), nil, &payload.Ticket{Id: 7}); err != nil {
		t.Fatal(err)
	}
	store.Replace(nil) // every trigger deleted
	close(release)
	entries := waitSettled(t, log, 3)
	for _, en := range entries {
		if en.TriggerID != "doomed" {
			continue
		}
		last, _ := en.LastAttempt()
		if en.Status != executionlog.StatusFailed || len(en.Attempts) != 1 || !strings.Contains(last.Error, `trigger "doomed" no longer exists`) {
			t.Errorf("entry = %s after %d attempts, error %q; want failed once, trigger no longer exists", en.Status, len(en.Attempts), last.Error)
		}
	}
}

func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(srv.URL)), Workers: 4})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tk := ticket("Resolved")
			tk.Id = i + 1
			if err := e.OnTicketChange(context.Background(), ticket("Open"), tk); err != nil {
				t.Errorf("OnTicketChange: %v", err)
			}
		})
	}
	wg.Wait()
	entries := waitSettled(t, log, n)
	seen := map[int]bool{}
	for _, en := range entries {
		if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 {
			t.Errorf("entry %s: %s after %d attempts", en.ID, en.Status, len(en.Attempts))
		}
		seen[en.TicketID] = true
	}
	if len(entries) != n || len(seen) != n || hits.Load() != n {
		t.Errorf("%d entries for %d tickets, %d requests; want %d of each", len(entries), len(seen), hits.Load(), n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	store := trigger.NewStore(nil)
	tests := []struct {
		name string
		cfg  tickethooks.Config
		want string
	}{
		{"no triggers", tickethooks.Config{}, "Triggers is required"},
		{"negative workers", tickethooks.Config{Triggers: store, Workers: -1}, "Workers must not be negative"},
		{"nil handler", tickethooks.Config{Triggers: store, Actions: map[string]tickethooks.ActionHandler{"x": nil}}, `Actions["x"] is nil`},
		{"built-in type", tickethooks.Config{Triggers: store, Actions: map[string]tickethooks.ActionHandler{"note": tickethooks.ActionHandlerFunc(nil)}}, "built-in"},
		{"bad retry", tickethooks.Config{Triggers: store, Retry: webhook.RetryPolicy{MaxAttempts: -1}}, "Retry"},
		{"sender and networks", tickethooks.Config{Triggers: store, Sender: loopbackSender(), AllowNetworks: loopback}, "Sender and AllowNetworks are both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tickethooks.New(tt.cfg)
			if !errors.Is(err, tickethooks.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
}
