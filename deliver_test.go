package tickethooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/webhook"
)

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

// outageLog is a log whose writes of attempts (Update and RecordAttempt)
// fail while down is above zero, each failure counting it down, and whose
// claims fail too while it is above zero once claimsOff is set: a
// database that drops while a delivery is in flight, then comes back.
type outageLog struct {
	executionlog.Log
	down      atomic.Int32
	claimsOff atomic.Bool // claims fail too while down is above zero
}

var errOutage = errors.New("driver: bad connection")

func (l *outageLog) Update(ctx context.Context, u executionlog.Update) error {
	if u.Attempt != nil && l.down.Add(-1) >= 0 {
		return errOutage
	}
	return l.Log.Update(ctx, u)
}

func (l *outageLog) RecordAttempt(ctx context.Context, id string, a executionlog.Attempt, now time.Time) error {
	if l.down.Add(-1) >= 0 {
		return errOutage
	}
	return l.Log.(executionlog.AttemptRecorder).RecordAttempt(ctx, id, a, now)
}

func (l *outageLog) Claim(ctx context.Context, c executionlog.Claim) ([]executionlog.Entry, error) {
	if l.claimsOff.Load() && l.down.Load() > 0 {
		return nil, errOutage
	}
	return l.Log.Claim(ctx, c)
}

// TestOutcomeWriteIsRetriedWhileLeased checks that an attempt whose outcome
// the log fails to take for a while is recorded once the log is back, and
// that the receiver is not sent the delivery again: the engine holds the
// entry, and retries the write, instead of waiting for its lease to end.
func TestOutcomeWriteIsRetriedWhileLeased(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	log := &outageLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{})}
	log.down.Store(6) // about 50+100+200+400+800+1600 ms of outage
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: 2 * time.Second, PollInterval: 10 * time.Millisecond})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	if got := len(rcv.got()); got != 1 {
		t.Errorf("the receiver got %d requests, want 1", got)
	}
	en := entries[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 || en.Attempts[0].StatusCode != 200 {
		t.Errorf("entry is %s with attempts %+v, want succeeded with one attempt answered 200", en.Status, en.Attempts)
	}
}

// TestAttemptUnderLostLeaseIsRecorded checks that an attempt whose outcome
// could not be saved until after another engine took the entry over is
// still recorded, beside that engine's own attempt.
func TestAttemptUnderLostLeaseIsRecorded(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	mem := executionlog.NewMemory(executionlog.MemoryOptions{})
	log := &outageLog{Log: mem}
	log.down.Store(1 << 20) // down until the other engine is done
	lease := 300 * time.Millisecond
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: lease, PollInterval: time.Hour}) // the engine claims once
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first attempt", func() bool { return len(rcv.got()) == 1 })
	log.claimsOff.Store(true)

	// Another engine claims the entry once the lease has ended and records
	// an attempt of its own; then the database comes back.
	var claimed []executionlog.Entry
	waitFor(t, "the lease to end", func() bool {
		var err error
		claimed, err = mem.Claim(context.Background(), executionlog.Claim{Owner: "other", Now: time.Now(), Lease: time.Minute, Limit: 1})
		return err == nil && len(claimed) == 1
	})
	other := executionlog.Attempt{Number: 2, StartedAt: time.Now().UTC().Truncate(time.Microsecond), StatusCode: 200}
	if err := mem.Update(context.Background(), executionlog.Update{ID: claimed[0].ID, Owner: "other",
		Attempt: &other, Status: executionlog.StatusSucceeded, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	log.down.Store(0)

	waitFor(t, "the late attempt", func() bool {
		en, err := mem.Get(context.Background(), executionlog.Scope{}, claimed[0].ID)
		return err == nil && len(en.Attempts) == 2
	})
	en, _ := mem.Get(context.Background(), executionlog.Scope{}, claimed[0].ID)
	if en.Status != executionlog.StatusSucceeded {
		t.Errorf("entry status = %s, want succeeded", en.Status)
	}
	var codes []int
	for _, a := range en.Attempts {
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{200, 200}, codes); diff != "" {
		t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
	}
}

// TestURLSecretsAreNotLogged checks that the log and the engine's log
// lines show webhook URLs with their query values redacted, and only the
// scheme and host of a URL marked secret, also in transport errors, while
// the requests go to the real URLs.
func TestURLSecretsAreNotLogged(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	var lines syncBuffer
	defs := fmt.Sprintf(`[{"id": "urls", "name": "URLs", "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [
			{"type": "webhook", "url": %q},
			{"type": "webhook", "url": %q, "secret_url": true},
			{"type": "webhook", "url": %q}]}]`,
		rcv.URL+"/hook?token=s3cr3t-query&account=acme", rcv.URL+"/services/T000/B000/s3cr3t-path", closed.URL+"/down?token=s3cr3t-down")
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, defs), Retry: fastRetry(1),
		Logger: slog.New(slog.NewTextHandler(&lines, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 3)
	var urls []string
	for _, en := range entries {
		urls = append(urls, en.URL)
		for _, a := range en.Attempts {
			if strings.Contains(a.Error, "s3cr3t") {
				t.Errorf("attempt error of %s shows a secret: %s", en.URL, a.Error)
			}
		}
	}
	want := []string{rcv.URL + "/hook?token=REDACTED&account=REDACTED", rcv.URL, closed.URL + "/down?token=REDACTED"}
	if diff := cmp.Diff(want, urls, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("logged URLs mismatch (-want +got):\n%s", diff)
	}
	if got := lines.String(); strings.Contains(got, "s3cr3t") {
		t.Errorf("the engine's log lines show a secret:\n%s", got)
	}
	var paths []string
	for _, r := range rcv.got() {
		paths = append(paths, r.url)
	}
	if diff := cmp.Diff([]string{"/hook?token=s3cr3t-query&account=acme", "/services/T000/B000/s3cr3t-path"}, paths,
		cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("requests received mismatch (-want +got):\n%s", diff)
	}
}

// ambiguousLog applies the first Update that records an attempt and then
// reports an error, as a commit whose answer was lost does (MariaDB's
// "commit: invalid connection").
type ambiguousLog struct {
	executionlog.Log
	n atomic.Int32
}

func (l *ambiguousLog) Update(ctx context.Context, u executionlog.Update) error {
	err := l.Log.Update(ctx, u)
	if u.Attempt != nil && err == nil && l.n.Add(1) == 1 {
		return errors.New("commit: invalid connection")
	}
	return err
}

// RecordAttempt passes the call on to the log underneath.
func (l *ambiguousLog) RecordAttempt(ctx context.Context, id string, a executionlog.Attempt, now time.Time) error {
	return l.Log.(executionlog.AttemptRecorder).RecordAttempt(ctx, id, a, now)
}

// TestAmbiguousOutcomeWriteIsRecordedOnce checks that an outcome whose
// write was applied although the log reported an error is not recorded a
// second time when the engine writes it again.
func TestAmbiguousOutcomeWriteIsRecordedOnce(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	log := &ambiguousLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{})}
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: 2 * time.Second, PollInterval: 10 * time.Millisecond})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	waitFor(t, "the outcome write to end", func() bool { return log.n.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // a second record would land now
	en, err := log.Get(context.Background(), executionlog.Scope{}, entries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rcv.got()); got != 1 || len(en.Attempts) != 1 || en.Status != executionlog.StatusSucceeded {
		t.Errorf("receiver got %d requests; entry %s with %d attempts; want 1 request, succeeded with 1 attempt", got, en.Status, len(en.Attempts))
	}
}

// poisonLog refuses, with an ordinary error, every outcome of the first
// entry it is asked to record: a row the database will not take.
type poisonLog struct {
	executionlog.Log
	mu  sync.Mutex
	bad string
}

func (l *poisonLog) Update(ctx context.Context, u executionlog.Update) error {
	if u.Attempt != nil {
		l.mu.Lock()
		if l.bad == "" {
			l.bad = u.ID
		}
		bad := l.bad == u.ID
		l.mu.Unlock()
		if bad {
			return errors.New("pq: value too long for type")
		}
	}
	return l.Log.Update(ctx, u)
}

// TestPoisonedOutcomeFreesItsWorker checks that an outcome the log keeps
// refusing holds its worker no longer than the entry's lease: the worker
// is freed, and the entry, still pending, is claimed and sent again after
// its lease, as an attempt whose outcome was lost always was.
func TestPoisonedOutcomeFreesItsWorker(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	log := &poisonLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{})}
	e, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)), Log: log,
		Lease: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond, Workers: 1})
	if err := e.OnTicketChange(context.Background(), ticket("Open"), ticket("Resolved")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker to be freed and the entry sent again", func() bool { return len(rcv.got()) >= 2 })
}
