package tickethooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

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
		page, err := log.Query(context.Background(), executionlog.Filter{AllTenants: true, Limit: executionlog.MaxLimit})
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

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
