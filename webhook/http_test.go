package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixedNow is the clock of the tests' senders.
var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// loopback allows the tests' httptest receivers, which listen on
// loopback addresses that the sender blocks by default.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// newTestSender returns a sender with a fixed clock whose idle connections
// are closed when the test ends. Unless cfg sets AllowNetworks, it may
// reach loopback receivers.
func newTestSender(t *testing.T, cfg HTTPSenderConfig) *HTTPSender {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	if cfg.AllowNetworks == nil {
		cfg.AllowNetworks = loopback
	}
	s := NewHTTPSender(cfg)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// newReceiver starts an httptest server running h, closed when the test
// ends.
func newReceiver(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// captured is what a receiver saw of one request.
type captured struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// recorder is a receiver handler that records requests.
type recorder struct {
	mu   sync.Mutex
	reqs []captured
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, captured{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rec *recorder) requests() []captured {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]captured(nil), rec.reqs...)
}

func TestSendHeadersAndBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		id     string
		header http.Header
		want   http.Header
	}{
		{
			name: "no caller headers",
			id:   "d-1",
			want: http.Header{
				"Content-Type":      {"application/json"},
				"User-Agent":        {UserAgent},
				"Webhook-Id":        {"d-1"},
				"Webhook-Timestamp": {"1740830400"},
			},
		},
		{
			name: "caller headers kept, ours win",
			id:   "d-2",
			header: http.Header{
				"Authorization":     {"Bearer abc"},
				"x-custom":          {"one", "two"},
				"Content-Type":      {"text/plain"},
				"webhook-id":        {"forged"},
				"Webhook-Timestamp": {"1"},
			},
			want: http.Header{
				"Authorization":     {"Bearer abc"},
				"X-Custom":          {"one", "two"},
				"Content-Type":      {"application/json"},
				"User-Agent":        {UserAgent},
				"Webhook-Id":        {"d-2"},
				"Webhook-Timestamp": {"1740830400"},
			},
		},
		{
			name:   "caller may set User-Agent",
			id:     "d-3",
			header: http.Header{"User-Agent": {"helpdesk/2"}},
			want: http.Header{
				"Content-Type":      {"application/json"},
				"User-Agent":        {"helpdesk/2"},
				"Webhook-Id":        {"d-3"},
				"Webhook-Timestamp": {"1740830400"},
			},
		},
		{
			name:   "empty id omits webhook-id, even the caller's",
			header: http.Header{"Webhook-Id": {"forged"}},
			want: http.Header{
				"Content-Type":      {"application/json"},
				"User-Agent":        {UserAgent},
				"Webhook-Timestamp": {"1740830400"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			srv := newReceiver(t, rec.ServeHTTP)
			s := newTestSender(t, HTTPSenderConfig{})
			body := []byte(`{"Id":42,"Subject":"Printer on fire"}`)
			resp, err := s.Send(context.Background(), &Request{
				ID: tt.id, URL: srv.URL + "/hook", Header: tt.header, Body: body, Attempt: 1,
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("StatusCode = %d, want 204", resp.StatusCode)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			// Added by net/http, not by the sender.
			got.Header.Del("Accept-Encoding")
			got.Header.Del("Content-Length")
			want := captured{Method: http.MethodPost, Path: "/hook", Header: tt.want, Body: string(body)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendCallerHeaderNotModified(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, (&recorder{}).ServeHTTP)
	s := newTestSender(t, HTTPSenderConfig{})
	h := http.Header{"Content-Type": {"text/plain"}, "x-a": {"1"}}
	want := h.Clone()
	if _, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL, Header: h}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("caller's header mismatch (-want +got):\n%s", diff)
	}
}

func TestSendStableIDAcrossAttempts(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	var mu sync.Mutex
	var ids []string
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("Webhook-Id"))
		mu.Unlock()
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	s := newTestSender(t, HTTPSenderConfig{})
	var statuses []int
	for attempt := 1; attempt <= 3; attempt++ {
		resp, err := s.Send(context.Background(), &Request{ID: "delivery-7", URL: srv.URL, Body: []byte(`{}`), Attempt: attempt})
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		statuses = append(statuses, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 503, 200}, statuses); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"delivery-7", "delivery-7", "delivery-7"}, ids); diff != "" {
		t.Errorf("webhook-id mismatch (-want +got):\n%s", diff)
	}
}

func TestSendStatusesAreResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		success   bool
		retryable bool
	}{
		{200, true, false},
		{201, true, false},
		{202, true, false},
		{301, false, false},
		{302, false, false},
		{307, false, false},
		{308, false, false},
		{400, false, false},
		{404, false, false},
		{408, false, true},
		{410, false, false},
		{429, false, true},
		{500, false, true},
		{502, false, true},
		{503, false, true},
	}
	var followed atomic.Int64
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Add(1)
			w.WriteHeader(http.StatusOK)
			return
		}
		var status int
		for _, tt := range tests {
			if r.URL.Query().Get("status") == http.StatusText(tt.status) {
				status = tt.status
			}
		}
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.Header().Set("X-Status", http.StatusText(status))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer "+http.StatusText(status))
	})
	s := newTestSender(t, HTTPSenderConfig{})
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			u := srv.URL + "/hook?status=" + strings.ReplaceAll(http.StatusText(tt.status), " ", "+")
			resp, err := s.Send(context.Background(), &Request{ID: "d", URL: u, Body: []byte(`{}`)})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			type result struct {
				Status    int
				Success   bool
				Retryable bool
				XStatus   string
				Body      string
			}
			want := result{tt.status, tt.success, tt.retryable, http.StatusText(tt.status), "answer " + http.StatusText(tt.status)}
			got := result{resp.StatusCode, resp.Success(), DefaultRetryable(resp, nil), resp.Header.Get("X-Status"), string(resp.Body)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if resp.Truncated {
				t.Errorf("Truncated = true, want false")
			}
		})
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("redirects followed %d times, want 0", n)
	}
}

func TestSendResponseCapture(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		size          int
		max           int64
		wantLen       int
		wantTruncated bool
	}{
		{"empty", 0, 16, 0, false},
		{"under the cap", 10, 16, 10, false},
		{"at the cap", 16, 16, 16, false},
		{"one past the cap", 17, 16, 16, true},
		{"far past the cap", 5000, 16, 16, true},
		{"default cap", 70 << 10, 0, 64 << 10, true},
		{"negative captures nothing", 10, -1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := bytes.Repeat([]byte("x"), tt.size)
			srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(body)
			})
			s := newTestSender(t, HTTPSenderConfig{MaxResponseBody: tt.max})
			resp, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if diff := cmp.Diff(string(body[:tt.wantLen]), string(resp.Body)); diff != "" {
				t.Errorf("Body mismatch (-want +got):\n%s", diff)
			}
			if resp.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %t, want %t", resp.Truncated, tt.wantTruncated)
			}
		})
	}
}

// TestSendDrainReusesConnection shows that a body past the capture but
// within MaxDrain keeps the connection, and a longer one closes it.
func TestSendDrainReusesConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		size      int
		wantConns int64
	}{
		{"within capture", 100, 1},
		{"within drain", 1000, 1},
		{"past drain", 5000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := bytes.Repeat([]byte("x"), tt.size)
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(body)
			}))
			srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			s := newTestSender(t, HTTPSenderConfig{MaxResponseBody: 100, MaxDrain: 2000})
			for range 2 {
				if _, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL}); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			if got := conns.Load(); got != tt.wantConns {
				t.Errorf("connections = %d, want %d", got, tt.wantConns)
			}
		})
	}
}

func TestSendEndlessBody(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("y"), 4096)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			default:
			}
		}
	})
	s := newTestSender(t, HTTPSenderConfig{Timeout: 30 * time.Second, MaxResponseBody: 1 << 10, MaxDrain: 64 << 10})
	resp, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(resp.Body) != 1<<10 || !resp.Truncated {
		t.Errorf("got %d bytes, Truncated %t; want 1024 bytes, Truncated true", len(resp.Body), resp.Truncated)
	}
}

// hang returns a handler that blocks until the request is cancelled or the
// test ends, after writing status and part of a body when status is not
// zero.
func hang(t *testing.T, status int) http.HandlerFunc {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, hang(t, 0))
	s := newTestSender(t, HTTPSenderConfig{Timeout: 200 * time.Millisecond})
	resp, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL + "/slow"})
	if err == nil {
		t.Fatalf("Send = %d, want an error", resp.StatusCode)
	}
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Send error %q does not wrap ErrTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send error %q wraps context.DeadlineExceeded; want it told apart", err)
	}
	if diff := cmp.Diff("post "+srv.URL+"/slow: timed out after 200ms", err.Error()); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if !DefaultRetryable(resp, err) {
		t.Errorf("DefaultRetryable(timeout) = false, want true")
	}
}

// TestSendStalledBody shows that a receiver that sends its status and then
// stalls or breaks its body has answered: the status is kept, a 2xx is a
// success, and BodyError says why the body is incomplete.
func TestSendStalledBody(t *testing.T) {
	t.Parallel()
	// broken writes a status and part of a body, then closes the
	// connection.
	broken := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	type result struct {
		Status    int
		Success   bool
		Retryable bool
		Body      string
		Truncated bool
		Note      string
	}
	const stalled = "response body not read in full: timed out after 200ms"
	tests := []struct {
		name string
		// status is what a receiver that stalls its body answers, when
		// handler is nil.
		status   int
		handler  http.HandlerFunc
		ctx      func(t *testing.T) context.Context
		timeout  time.Duration
		want     result
		sentinel error
	}{
		{name: "2xx, body stalls past the timeout", status: 200,
			want: result{200, true, false, "partial", false, stalled}, sentinel: ErrTimeout},
		{name: "202, body stalls past the timeout", status: 202,
			want: result{202, true, false, "partial", false, stalled}, sentinel: ErrTimeout},
		{name: "503, body stalls: a failed attempt with its status, retried", status: 503,
			want: result{503, false, true, "partial", false, stalled}, sentinel: ErrTimeout},
		{name: "400, body stalls: a failed attempt with its status, not retried", status: 400,
			want: result{400, false, false, "partial", false, stalled}, sentinel: ErrTimeout},
		{name: "2xx, connection closed mid-body", handler: broken, timeout: time.Minute,
			want: result{200, true, false, "partial", false, "response body not read in full: unexpected EOF"}, sentinel: io.ErrUnexpectedEOF},
		{name: "2xx, caller's deadline while reading the body", status: 200, timeout: time.Minute,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			want:     result{200, true, false, "partial", false, "response body not read in full: context deadline exceeded"},
			sentinel: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.handler
			if h == nil {
				h = hang(t, tt.status)
			}
			srv := newReceiver(t, h)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 200 * time.Millisecond
			}
			s := newTestSender(t, HTTPSenderConfig{Timeout: timeout})
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			resp, err := s.Send(ctx, &Request{ID: "d", URL: srv.URL + "/slow"})
			if err != nil {
				t.Fatalf("Send error = %v, want a Response", err)
			}
			got := result{resp.StatusCode, resp.Success(), DefaultRetryable(resp, nil), string(resp.Body), resp.Truncated, resp.Note()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if !errors.Is(resp.BodyError, tt.sentinel) {
				t.Errorf("BodyError %v does not wrap %v", resp.BodyError, tt.sentinel)
			}
		})
	}
}

// TestSendClientTimeouts shows that timeouts of a caller's client or
// transport are ErrTimeout too, retried, and not the caller's deadline.
func TestSendClientTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client func(t *testing.T) *http.Client
		want   string
	}{
		{"client timeout", func(t *testing.T) *http.Client {
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			return &http.Client{Transport: tr, Timeout: 100 * time.Millisecond}
		}, "Client.Timeout exceeded"},
		{"response header timeout", func(t *testing.T) *http.Client {
			tr := &http.Transport{ResponseHeaderTimeout: 100 * time.Millisecond}
			t.Cleanup(tr.CloseIdleConnections)
			return &http.Client{Transport: tr}
		}, "timeout awaiting response headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newReceiver(t, hang(t, 0))
			s := newTestSender(t, HTTPSenderConfig{Client: tt.client(t), Timeout: time.Minute})
			_, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("Send error = %v, want ErrTimeout", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send error %q wraps context.DeadlineExceeded; want it told apart", err)
			}
			if want := "post " + srv.URL + ": timed out: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Send error = %q, want %q...%q", err, want, tt.want)
			}
			if !DefaultRetryable(nil, err) {
				t.Errorf("DefaultRetryable(%v) = false, want true", err)
			}
		})
	}
}

func TestSendCallerContext(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want error
	}{
		{"already cancelled", func(*testing.T) context.Context { return cancelled }, context.Canceled},
		{"cancelled while waiting", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return ctx
		}, context.Canceled},
		{"caller's deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newReceiver(t, hang(t, 0))
			s := newTestSender(t, HTTPSenderConfig{Timeout: time.Minute})
			_, err := s.Send(tt.ctx(t), &Request{ID: "d", URL: srv.URL})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send error = %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrTimeout) {
				t.Errorf("Send error %q wraps ErrTimeout; the caller's ctx ended, not the attempt", err)
			}
			if !strings.HasPrefix(err.Error(), "post "+srv.URL+": ") {
				t.Errorf("Send error %q does not start with the URL", err)
			}
			if DefaultRetryable(nil, err) {
				t.Errorf("DefaultRetryable(%v) = true, want false", err)
			}
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/hook"
	srv.Close()
	s := newTestSender(t, HTTPSenderConfig{})
	_, err := s.Send(context.Background(), &Request{ID: "d", URL: u, Header: http.Header{"Authorization": {"Bearer s3cr3t"}}})
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Send error %q does not wrap a *net.OpError", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "post "+u+": dial tcp ") || !strings.Contains(msg, "connection refused") {
		t.Errorf("Send error = %q, want post %s: dial tcp ...: connection refused", msg, u)
	}
	if strings.Contains(msg, "s3cr3t") {
		t.Errorf("Send error %q shows a header value", msg)
	}
	if !DefaultRetryable(nil, err) {
		t.Errorf("DefaultRetryable(connection refused) = false, want true")
	}
}

func TestSendInvalidRequest(t *testing.T) {
	t.Parallel()
	s := newTestSender(t, HTTPSenderConfig{})
	tests := []struct {
		name string
		ctx  context.Context
		req  *Request
		want string
	}{
		{"nil request", context.Background(), nil, "post: invalid request: nil request"},
		{"nil context", nil, &Request{URL: "http://127.0.0.1/"}, "post: invalid request: nil context"},
		{"empty url", context.Background(), &Request{}, "post : invalid request: url scheme must be http or https"},
		{"relative url", context.Background(), &Request{URL: "/hook"}, "post /hook: invalid request: url scheme must be http or https"},
		{"other scheme", context.Background(), &Request{URL: "ftp://example.com/x"}, "post ftp://example.com/x: invalid request: url scheme must be http or https"},
		{"no host", context.Background(), &Request{URL: "http:///x"}, "post http:///x: invalid request: url has no host"},
		{"unparsable, password kept out", context.Background(), &Request{URL: "http://u:pw@exa mple.com/"}, `post: invalid request: url: invalid character " " in host name`},
		{"user and password dropped", context.Background(), &Request{URL: "ftp://u:pw@example.com/"}, "post ftp://example.com/: invalid request: url scheme must be http or https"},
		{"query values redacted", context.Background(), &Request{URL: "ftp://example.com/x?token=s3cr3t#frag"}, "post ftp://example.com/x?token=REDACTED: invalid request: url scheme must be http or https"},
		{"secret URL: scheme and host only", context.Background(), &Request{URL: "http://127.0.0.1/services/T000/B000/XXXX", SecretURL: true, Header: http.Header{"Bad Name": {"v"}}}, `post http://127.0.0.1: invalid request: malformed header name "Bad Name"`},
		{"bad id", context.Background(), &Request{ID: "a\nb", URL: "http://127.0.0.1/"}, "post http://127.0.0.1/: invalid request: id holds a control character"},
		{"bad header name", context.Background(), &Request{URL: "http://127.0.0.1/", Header: http.Header{"Bad Name": {"v"}}}, `post http://127.0.0.1/: invalid request: malformed header name "Bad Name"`},
		{"bad header value", context.Background(), &Request{URL: "http://127.0.0.1/", Header: http.Header{"Authorization": {"Bearer x\r\nX-Evil: 1"}}}, "post http://127.0.0.1/: invalid request: header Authorization: value holds a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := s.Send(tt.ctx, tt.req)
			if err == nil {
				t.Fatalf("Send = %d, want an error", resp.StatusCode)
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Send error %q does not wrap ErrInvalidRequest", err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if DefaultRetryable(resp, err) {
				t.Errorf("DefaultRetryable(%v) = true, want false", err)
			}
		})
	}
}

func TestSendZeroSender(t *testing.T) {
	t.Parallel()
	var s HTTPSender
	if _, err := s.Send(context.Background(), &Request{URL: "http://127.0.0.1/"}); err == nil {
		t.Error("Send on a zero HTTPSender succeeded, want an error")
	}
	s.CloseIdleConnections() // must not panic
}

func TestSendCallerClient(t *testing.T) {
	t.Parallel()
	var followed atomic.Int64
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	s := newTestSender(t, HTTPSenderConfig{Client: client})
	if client.CheckRedirect != nil {
		t.Error("NewHTTPSender set the caller's CheckRedirect")
	}
	resp, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.StatusCode != http.StatusFound || followed.Load() != 0 {
		t.Errorf("got status %d, %d redirects followed; want 302, none followed", resp.StatusCode, followed.Load())
	}
	if client.CheckRedirect != nil || client.Transport != transport || client.Timeout != time.Minute {
		t.Error("Send modified the caller's client")
	}
	// The caller's client still follows redirects.
	cresp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("client.Get: %v", err)
	}
	cresp.Body.Close()
	if followed.Load() != 1 {
		t.Errorf("caller's client followed %d redirects, want 1", followed.Load())
	}
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newReceiver(t, rec.ServeHTTP)
	s := newTestSender(t, HTTPSenderConfig{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL, Body: []byte(`{}`)}); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(rec.requests()); n != 16 {
		t.Errorf("receiver got %d requests, want 16", n)
	}
}

func TestNewTransport(t *testing.T) {
	t.Parallel()
	tr := newTransport(3*time.Second, nil)
	type settings struct {
		MaxIdleConnsPerHost   int
		TLSHandshakeTimeout   time.Duration
		ResponseHeaderTimeout time.Duration
		HasProxy, HasDial     bool
	}
	// No proxy: it would connect to the receiver where the guard cannot
	// check the address.
	want := settings{64, 3 * time.Second, 3 * time.Second, false, true}
	got := settings{tr.MaxIdleConnsPerHost, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.Proxy != nil, tr.DialContext != nil}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transport mismatch (-want +got):\n%s", diff)
	}
	if tr == http.DefaultTransport {
		t.Error("newTransport returned http.DefaultTransport")
	}
}
