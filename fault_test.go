package tickethooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/webhook"
)

// faultCase is a receiver misbehaving in one way and what the execution
// log must say once the engine is done with the one delivery it causes.
type faultCase struct {
	name    string
	tls     bool
	handler faultHandler
	// url returns the webhook URL; nil means the receiver's /hook.
	url func(rcv *faultReceiver) string
	// sender returns the engine's sender; nil means faultSender().
	sender func(dials *faultDialRecorder) webhook.Sender
	// retry is the engine's retry policy; the zero value means
	// fastRetry(3).
	retry       webhook.RetryPolicy
	maxBodySize int
	// strictTriggers loads the triggers without an allow-list, as a host
	// that expects no internal receivers does: webhook URLs may not name
	// loopback addresses or localhost.
	strictTriggers bool

	wantStatus executionlog.Status
	wantCodes  []int    // status code of each attempt
	wantErrs   []string // a substring of each attempt's error; "" means none
	wantHits   int      // requests that reach the receiver
	wantEvents []tickethooks.DestinationEventKind
	check      func(t *testing.T, r faultResult)
}

// faultResult is what a case left behind.
type faultResult struct {
	entry  executionlog.Entry
	rcv    *faultReceiver
	events []tickethooks.DestinationEvent
	dials  []string
}

// faultRebindName is a public-looking name that the tests' in-process DNS
// server points at the loopback address, as a hostile DNS record would.
const faultRebindName = "hooks.rebind.example"

// faultRebindDNS is the in-process DNS server's one record.
var faultRebindDNS = map[string]netip.Addr{faultRebindName: netip.MustParseAddr("127.0.0.1")}

// faultMaxStoredError is the most bytes of an attempt's error that the log
// should keep, whatever the receiver sent.
const faultMaxStoredError = 4096

// faultRetryAfterPolicy retries three times, after a millisecond unless a
// Retry-After says otherwise, and caps every wait, Retry-After included,
// at 200 ms.
func faultRetryAfterPolicy() webhook.RetryPolicy {
	p := fastRetry(3)
	p.MaxDelay = 200 * time.Millisecond
	return p
}

// faultWaitedAtLeast checks that the second request came at least d after the
// first. It is a lower bound only.
func faultWaitedAtLeast(d time.Duration) func(*testing.T, faultResult) {
	return func(t *testing.T, r faultResult) {
		at := r.rcv.arrivals()
		if len(at) < 2 {
			t.Fatalf("receiver got %d requests, want 2", len(at))
		}
		if gap := at[1].Sub(at[0]); gap < d {
			t.Errorf("second attempt came %v after the first; want at least the capped Retry-After %v", gap, d)
		}
	}
}

func TestFaultReceivers(t *testing.T) {
	t.Parallel()

	var endlessWritten atomic.Int64
	endlessDone := make(chan struct{})
	var endlessOnce sync.Once
	endlessEnded := func() { endlessOnce.Do(func() { close(endlessDone) }) }

	retryAfterDate := func(n int, w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		if n == 0 {
			w.Header().Set("Retry-After", time.Now().Add(5*time.Second).UTC().Format(http.TimeFormat))
			faultAnswer(nil, http.StatusTooManyRequests)(n, w, r, stop)
			return
		}
		faultAnswer(nil, http.StatusOK)(n, w, r, stop)
	}

	timedOut := "timed out"
	tests := []faultCase{
		{
			name:       "hangs before sending headers",
			handler:    faultHangBeforeHeaders,
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{timedOut, timedOut, timedOut},
			wantHits:   3,
		},
		{
			// The receiver answered 200: delivered once, with a note.
			name:       "hangs mid-body",
			handler:    faultHangMidBody,
			wantStatus: executionlog.StatusSucceeded,
			wantCodes:  []int{200},
			wantErrs:   []string{"response body not read in full: timed out"},
			wantHits:   1,
			check: func(t *testing.T, r faultResult) {
				if got := r.entry.Attempts[0].ResponseBody; got != "0123456789" {
					t.Errorf("response body = %q, want the part that was sent", got)
				}
			},
		},
		{
			// A failure with its status, retried as a 503 is.
			name: "answers 503 and hangs mid-body",
			handler: func(_ int, w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = http.NewResponseController(w).Flush()
				select {
				case <-stop:
				case <-r.Context().Done():
				}
			},
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{503, 503, 503},
			wantErrs: []string{
				"receiver answered 503 Service Unavailable; response body not read in full: timed out",
				"receiver answered 503 Service Unavailable; response body not read in full: timed out",
				"receiver answered 503 Service Unavailable; response body not read in full: timed out",
			},
			wantHits: 3,
		},
		{
			name:       "resets the connection",
			handler:    faultDropConnection(true),
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"connection reset by peer", "connection reset by peer", "connection reset by peer"},
			wantHits:   3,
		},
		{
			name:       "closes without a response",
			handler:    faultDropConnection(false),
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"EOF", "EOF", "EOF"},
			wantHits:   3,
		},
		{
			name:       "answers with bytes that are not HTTP",
			handler:    faultGarbage("SSH-2.0-OpenSSH_9.6"),
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"malformed HTTP", "malformed HTTP", "malformed HTTP"},
			wantHits:   3,
		},
		{
			name:    "answers with a 1 MiB status line",
			handler: faultGarbage(strings.Repeat("A", 1<<20)),
			// Reading a megabyte under the race detector on a busy
			// machine can take longer than faultTimeout; this case is
			// about the malformed answer, not time.
			sender: func(*faultDialRecorder) webhook.Sender {
				return webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback, Timeout: 10 * time.Second})
			},
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"malformed HTTP", "malformed HTTP", "malformed HTTP"},
			wantHits:   3,
			check: func(t *testing.T, r faultResult) {
				for _, a := range r.entry.Attempts {
					if len(a.Error) > faultMaxStoredError {
						t.Errorf("attempt %d error is %d bytes; want at most %d", a.Number, len(a.Error), faultMaxStoredError)
					}
				}
			},
		},
		{
			name:       "429 with Retry-After in seconds, then 200",
			handler:    faultAnswer(http.Header{"Retry-After": {"3600"}}, http.StatusTooManyRequests, http.StatusOK),
			retry:      faultRetryAfterPolicy(),
			wantStatus: executionlog.StatusSucceeded,
			wantCodes:  []int{429, 200},
			wantErrs:   []string{"receiver answered 429 Too Many Requests", ""},
			wantHits:   2,
			check:      faultWaitedAtLeast(200 * time.Millisecond),
		},
		{
			name:       "429 with Retry-After as an HTTP date, then 200",
			handler:    retryAfterDate,
			retry:      faultRetryAfterPolicy(),
			wantStatus: executionlog.StatusSucceeded,
			wantCodes:  []int{429, 200},
			wantErrs:   []string{"receiver answered 429 Too Many Requests", ""},
			wantHits:   2,
			check:      faultWaitedAtLeast(200 * time.Millisecond),
		},
		{
			name:       "503 always",
			handler:    faultAnswer(nil, http.StatusServiceUnavailable),
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{503, 503, 503},
			wantErrs: []string{
				"receiver answered 503 Service Unavailable",
				"receiver answered 503 Service Unavailable",
				"receiver answered 503 Service Unavailable",
			},
			wantHits: 3,
		},
		{
			name:       "500 then 200",
			handler:    faultAnswer(nil, http.StatusInternalServerError, http.StatusOK),
			wantStatus: executionlog.StatusSucceeded,
			wantCodes:  []int{500, 200},
			wantErrs:   []string{"receiver answered 500 Internal Server Error", ""},
			wantHits:   2,
		},
		{
			name:       "301 to a private address is not followed",
			handler:    faultAnswer(http.Header{"Location": {"http://10.0.0.5/"}}, http.StatusMovedPermanently),
			sender:     func(dials *faultDialRecorder) webhook.Sender { return faultGuardedSender(loopback, nil, dials) },
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{301},
			wantErrs:   []string{"receiver answered 301 Moved Permanently"},
			wantHits:   1,
			check: func(t *testing.T, r faultResult) {
				if diff := cmp.Diff([]string{r.rcv.addr()}, r.dials); diff != "" {
					t.Errorf("dialled addresses mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "endless response body",
			handler:    faultEndlessBody(&endlessWritten, endlessEnded),
			wantStatus: executionlog.StatusSucceeded,
			wantCodes:  []int{200},
			wantErrs:   []string{""},
			wantHits:   1,
			check: func(t *testing.T, r faultResult) {
				a := r.entry.Attempts[0]
				if !a.ResponseTruncated || len(a.ResponseBody) != webhook.DefaultMaxResponseBody {
					t.Errorf("response body of %d bytes, truncated %t; want the first %d bytes, truncated",
						len(a.ResponseBody), a.ResponseTruncated, webhook.DefaultMaxResponseBody)
				}
				// The sender stops reading and closes the connection:
				// the receiver's next write fails and it stops, long
				// before the test ends.
				select {
				case <-endlessDone:
				case <-time.After(10 * time.Second):
					t.Fatal("the receiver is still writing: the sender never closed the connection")
				}
				n := endlessWritten.Load()
				t.Logf("the receiver wrote %d bytes before the sender hung up", n)
				if n > 64<<20 {
					t.Errorf("receiver wrote %d bytes before the sender hung up; want far less than 64 MiB", n)
				}
			},
		},
		{
			name:    "invalid TLS certificate",
			tls:     true,
			handler: faultAnswer(nil, http.StatusOK),
			// A handshake can take longer than faultTimeout on a busy
			// machine; this case is about the certificate, not time.
			sender: func(*faultDialRecorder) webhook.Sender {
				return webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback, Timeout: 5 * time.Second})
			},
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"certificate", "certificate", "certificate"},
			wantHits:   0,
		},
		{
			name:       "DNS name that does not resolve",
			handler:    faultAnswer(nil, http.StatusOK),
			url:        func(*faultReceiver) string { return "http://no-such-host.invalid/hook" },
			sender:     func(*faultDialRecorder) webhook.Sender { return faultGuardedSender(loopback, nil, nil) },
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0, 0, 0},
			wantErrs:   []string{"lookup no-such-host.invalid", "lookup no-such-host.invalid", "lookup no-such-host.invalid"},
			wantHits:   0,
		},
		{
			// The triggers allow loopback, as loading refuses localhost
			// otherwise; the sender's guard, with no allow-list, is the
			// last line.
			name:       "localhost, resolved from the hosts file, default guard",
			handler:    faultAnswer(nil, http.StatusOK),
			url:        func(rcv *faultReceiver) string { return "http://localhost:" + rcv.port() + "/hook" },
			sender:     func(*faultDialRecorder) webhook.Sender { return faultGuardedSender(nil, nil, nil) },
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{0},
			wantErrs:   []string{"is a loopback address"},
			wantHits:   0,
		},
		{
			name:    "public-looking DNS name that resolves to loopback, default guard",
			handler: faultAnswer(nil, http.StatusOK),
			url:     func(rcv *faultReceiver) string { return "http://" + faultRebindName + ":" + rcv.port() + "/hook" },
			sender: func(*faultDialRecorder) webhook.Sender {
				return faultGuardedSender(nil, faultRebindDNS, nil)
			},
			strictTriggers: true, // loading cannot tell where a name points
			wantStatus:     executionlog.StatusFailed,
			wantCodes:      []int{0},
			wantErrs:       []string{"destination 127.0.0.1 is a loopback address"},
			wantHits:       0,
		},
		{
			name:    "the same name with loopback allowed reaches the receiver",
			handler: faultAnswer(nil, http.StatusOK),
			url:     func(rcv *faultReceiver) string { return "http://" + faultRebindName + ":" + rcv.port() + "/hook" },
			sender: func(*faultDialRecorder) webhook.Sender {
				return faultGuardedSender(loopback, faultRebindDNS, nil)
			},
			strictTriggers: true,
			wantStatus:     executionlog.StatusSucceeded,
			wantCodes:      []int{200},
			wantErrs:       []string{""},
			wantHits:       1,
		},
		{
			name:       "410 Gone",
			handler:    faultAnswer(nil, http.StatusGone),
			wantStatus: executionlog.StatusFailed,
			wantCodes:  []int{410},
			wantErrs:   []string{"receiver answered 410 Gone"},
			wantHits:   1,
			wantEvents: []tickethooks.DestinationEventKind{tickethooks.DestinationGone},
			check: func(t *testing.T, r faultResult) {
				ev := r.events[0]
				want := tickethooks.DestinationEvent{
					Kind: tickethooks.DestinationGone, Destination: "http://" + r.rcv.addr(),
					TriggerID: "resolved", EntryID: r.entry.ID,
				}
				ev.At = time.Time{}
				if diff := cmp.Diff(want, ev); diff != "" {
					t.Errorf("DestinationGone event mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:        "packet over MaxBodySize",
			handler:     faultAnswer(nil, http.StatusOK),
			maxBodySize: 100,
			wantStatus:  executionlog.StatusFailed,
			wantCodes:   []int{0},
			wantErrs:    []string{"exceeds the 100-byte limit"},
			wantHits:    0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runFaultCase(t, tt)
			en := r.entry
			for _, a := range en.Attempts {
				t.Logf("attempt %d: status %d, truncated %t, %d body bytes, error %.300q", a.Number, a.StatusCode, a.ResponseTruncated, len(a.ResponseBody), a.Error)
			}
			if en.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", en.Status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantCodes, faultCodes(en)); diff != "" {
				t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
			}
			for i, a := range en.Attempts {
				if i >= len(tt.wantErrs) {
					break
				}
				switch want := tt.wantErrs[i]; {
				case want == "" && a.Error != "":
					t.Errorf("attempt %d error = %q, want none", a.Number, a.Error)
				case !strings.Contains(a.Error, want):
					t.Errorf("attempt %d error = %q, want it to contain %q", a.Number, a.Error, want)
				}
			}
			if got := r.rcv.hits(); got != tt.wantHits || got > len(en.Attempts) {
				t.Errorf("receiver got %d requests for %d attempts, want %d", got, len(en.Attempts), tt.wantHits)
			}
			var kinds []tickethooks.DestinationEventKind
			for _, ev := range r.events {
				kinds = append(kinds, ev.Kind)
			}
			if diff := cmp.Diff(tt.wantEvents, kinds); diff != "" {
				t.Errorf("destination events mismatch (-want +got):\n%s", diff)
			}
			if tt.check != nil && !t.Failed() {
				tt.check(t, r)
			}
		})
	}
}

// runFaultCase starts the case's receiver and an engine, reports one
// ticket change, and returns the settled entry.
func runFaultCase(t *testing.T, tt faultCase) faultResult {
	t.Helper()
	rcv := newFaultReceiver(t, tt.tls, tt.handler)
	url := rcv.srv.URL + "/hook"
	if tt.url != nil {
		url = tt.url(rcv)
	}
	var dials faultDialRecorder
	sender := faultSender()
	if tt.sender != nil {
		sender = tt.sender(&dials)
	}
	retry := tt.retry
	if retry.MaxAttempts == 0 {
		retry = fastRetry(3)
	}
	var events faultEventRecorder
	e, log := newEngine(t, tickethooks.Config{
		Triggers:      faultTriggers(t, url, !tt.strictTriggers),
		Sender:        sender,
		Retry:         retry,
		MaxBodySize:   tt.maxBodySize,
		OnDestination: events.record,
	})
	faultChangeTickets(t, e, 1)
	entries := waitSettled(t, log, 1)
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	return faultResult{entry: entries[0], rcv: rcv, events: events.all(), dials: dials.dialled()}
}

// A destination that fails FailureThreshold times in a row is paused:
// its entries wait, with a note and no attempt counted, until a probe
// after the cool-down succeeds. Nothing is lost.
func TestFaultCircuitBreaker(t *testing.T) {
	t.Parallel()
	// One delivery at a time reaches the receiver, so the first three
	// requests, the failing ones, are three failures in a row whichever
	// entries make them.
	rcv := newFaultReceiver(t, false, faultAnswer(nil, 503, 503, 503, 200))
	var events faultEventRecorder
	log := &faultNoteLog{Log: executionlog.NewMemory(executionlog.MemoryOptions{})}
	e, _ := newEngine(t, tickethooks.Config{
		Triggers: faultTriggers(t, rcv.srv.URL+"/hook", true),
		Sender:   faultSender(),
		Log:      log,
		// An entry may make all three failing attempts; it must still
		// have one left for the probe.
		Retry:         fastRetry(5),
		Destinations:  tickethooks.DestinationPolicy{FailureThreshold: 3, CoolDown: 300 * time.Millisecond, MaxInFlight: 1},
		OnDestination: events.record,
	})
	const n = 4
	faultChangeTickets(t, e, n)
	entries := waitSettled(t, log, n)

	for _, en := range entries {
		if en.Status != executionlog.StatusSucceeded || en.Note != "" {
			t.Errorf("entry of ticket %d: %s, note %q, attempts %v; want succeeded with no note", en.TicketID, en.Status, en.Note, faultCodes(en))
		}
	}
	// Exactly the three failures and one success per entry: waiting for
	// the paused destination counted no attempt.
	if got, want := faultAttemptCount(entries), 3+n; got != want {
		t.Errorf("%d attempts recorded, want %d", got, want)
	}
	if got := rcv.hits(); got != faultAttemptCount(entries) {
		t.Errorf("receiver got %d requests, want one per attempt (%d)", got, faultAttemptCount(entries))
	}
	want := []tickethooks.DestinationEventKind{tickethooks.DestinationPaused, tickethooks.DestinationRecovered}
	if diff := cmp.Diff(want, events.kinds()); diff != "" {
		t.Fatalf("destination events mismatch (-want +got):\n%s", diff)
	}
	evs := events.all()
	dest := "http://" + rcv.addr()
	for _, ev := range evs {
		if ev.Destination != dest || ev.ConsecutiveFailures != 3 {
			t.Errorf("%s event for %s after %d failures; want %s after 3", ev.Kind, ev.Destination, ev.ConsecutiveFailures, dest)
		}
	}
	if paused := evs[0]; !paused.PausedUntil.After(paused.At) {
		t.Errorf("paused at %v until %v; want a pause that ends later", paused.At, paused.PausedUntil)
	}
	paused := false
	for _, note := range log.pendingNotes() {
		paused = paused || strings.Contains(note, "paused")
	}
	if !paused {
		t.Errorf("no pending entry carried a note saying the destination was paused; notes: %q", log.pendingNotes())
	}
}

// MaxInFlight bounds the requests in flight to one destination, however
// many workers are free.
func TestFaultMaxInFlight(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	rcv := newFaultReceiver(t, false, func(_ int, w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		now := inFlight.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-stop:
		}
		inFlight.Add(-1)
	})
	e, log := newEngine(t, tickethooks.Config{
		Triggers:     faultTriggers(t, rcv.srv.URL+"/hook", true),
		Sender:       faultSender(),
		Retry:        fastRetry(3),
		Workers:      8,
		Destinations: tickethooks.DestinationPolicy{MaxInFlight: 2},
	})
	const n = 10
	faultChangeTickets(t, e, n)
	entries := waitSettled(t, log, n)
	for _, en := range entries {
		if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 1 {
			t.Errorf("entry of ticket %d: %s after %d attempts; want succeeded after 1", en.TicketID, en.Status, len(en.Attempts))
		}
	}
	if got := peak.Load(); got > 2 {
		t.Errorf("receiver saw %d requests in flight at once, want at most 2", got)
	}
	if got := rcv.hits(); got != n {
		t.Errorf("receiver got %d requests, want %d", got, n)
	}
}

// A blocked destination is refused before any connection and is never
// retried, whatever the retry policy allows.
func TestFaultBlockedIsNotRetried(t *testing.T) {
	t.Parallel()
	r := runFaultCase(t, faultCase{
		handler: faultAnswer(nil, http.StatusOK),
		url:     func(rcv *faultReceiver) string { return "http://localhost:" + rcv.port() + "/hook" },
		sender:  func(*faultDialRecorder) webhook.Sender { return faultGuardedSender(nil, nil, nil) },
		retry:   fastRetry(8),
	})
	if r.entry.Status != executionlog.StatusFailed || len(r.entry.Attempts) != 1 {
		t.Fatalf("entry %s after %d attempts, want failed after 1", r.entry.Status, len(r.entry.Attempts))
	}
	// The log keeps the message only; the sender's error wraps the
	// sentinel, as the retry policy relies on.
	sender := faultGuardedSender(nil, nil, nil)
	_, err := sender.Send(context.Background(), &webhook.Request{URL: "http://localhost:" + r.rcv.port() + "/"})
	if !errors.Is(err, webhook.ErrBlockedDestination) {
		t.Errorf("Send to localhost = %v, want ErrBlockedDestination", err)
	}
	if c, ok := sender.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
