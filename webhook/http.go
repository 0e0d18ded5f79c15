package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickethooks/tickethooks/internal/httpheader"
	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/internal/urlcache"
)

// Defaults of HTTPSenderConfig.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultMaxResponseBody = 64 << 10
	DefaultMaxDrain        = 1 << 20
)

// Errors returned by HTTPSender.Send, wrapped in an error that names the
// request's URL; match them with errors.Is.
var (
	// ErrTimeout means the attempt took longer than the sender's Timeout,
	// or than a timeout of the transport or of the caller's Client. It is
	// not context.DeadlineExceeded, which Send returns only when the
	// caller's ctx expired, so the two can be told apart. DefaultRetryable
	// retries ErrTimeout.
	ErrTimeout = errors.New("timed out")
	// ErrInvalidRequest means the request cannot be sent: it or ctx is
	// nil, its URL is not an absolute http or https URL, its ID or a
	// header name or value is malformed, or it has Secrets but no ID or a
	// malformed secret (the error then wraps ErrInvalidSecret too).
	// Sending it again cannot succeed, so DefaultRetryable does not retry
	// it.
	ErrInvalidRequest = errors.New("invalid request")
)

// HTTPSenderConfig configures an HTTPSender. The zero value is ready to use.
type HTTPSenderConfig struct {
	// Client sends the requests. Redirects are never followed: the sender
	// uses a copy of Client whose CheckRedirect returns
	// http.ErrUseLastResponse, so a 3xx is returned as a Response; Client
	// itself is not modified. Defaults to a client with its own transport
	// (a clone of http.DefaultTransport keeping up to 64 idle connections
	// per host, with dial, TLS handshake and response header timeouts equal
	// to Timeout), which refuses blocked destinations (see AllowNetworks)
	// and uses no proxy.
	//
	// A Client of your own brings its own protection against server-side
	// request forgery, or none: dial with GuardedDialer to keep it.
	Client *http.Client
	// AllowNetworks lists networks that the default transport may connect
	// to although they are blocked: loopback, private, link-local and the
	// other ranges that GuardedDialer refuses. Every connection's address
	// is checked after DNS resolution, and one that is blocked and not in
	// AllowNetworks fails with an error wrapping ErrBlockedDestination.
	// Allow 127.0.0.0/8 and ::1/128 for a receiver on the same host, or
	// 10.0.0.0/8 for receivers on a self-hosted private network. Ignored
	// when Client is set. Defaults to none: only public addresses are
	// reached.
	AllowNetworks []netip.Prefix
	// Timeout bounds each attempt, covering connect, TLS, waiting for the
	// response headers and reading the response body. Zero or negative
	// means the default. Defaults to 10 seconds.
	Timeout time.Duration
	// MaxResponseBody is how many bytes of the response body are captured
	// into Response.Body. Zero means the default; a negative value captures
	// nothing. Defaults to 64 KiB.
	MaxResponseBody int64
	// MaxDrain is how many bytes past the captured ones are read and
	// discarded, so the connection can be reused; when the receiver sends
	// more, the connection is closed. Zero means the default; a negative
	// value drains nothing. Defaults to 1 MiB.
	MaxDrain int64
	// Now gives the time sent in the webhook-timestamp header. Defaults to
	// time.Now.
	Now func() time.Time
}

// HTTPSender is the Sender that POSTs over HTTP. It is safe for concurrent
// use. Create it with NewHTTPSender.
type HTTPSender struct {
	client          *http.Client
	timeout         time.Duration
	maxResponseBody int64
	maxDrain        int64
	now             func() time.Time
}

var _ Sender = (*HTTPSender)(nil)

// errAttemptTimeout is the cause of the per-attempt context, telling the
// sender's own timeout apart from the caller's deadline.
var errAttemptTimeout = errors.New("webhook: attempt timeout")

// NewHTTPSender returns an HTTPSender configured by cfg, with defaults for
// its zero fields.
func NewHTTPSender(cfg HTTPSenderConfig) *HTTPSender {
	s := &HTTPSender{
		timeout:         cfg.Timeout,
		maxResponseBody: cfg.MaxResponseBody,
		maxDrain:        cfg.MaxDrain,
		now:             cfg.Now,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.maxResponseBody = limitOr(s.maxResponseBody, DefaultMaxResponseBody)
	s.maxDrain = limitOr(s.maxDrain, DefaultMaxDrain)
	if s.now == nil {
		s.now = time.Now
	}
	var c http.Client
	if cfg.Client != nil {
		c = *cfg.Client
	} else {
		c.Transport = newTransport(s.timeout, cfg.AllowNetworks)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	s.client = &c
	return s
}

// newTransport returns the transport of the default client: a clone of
// http.DefaultTransport whose dial, TLS handshake and response header
// timeouts are the attempt timeout, dialling with GuardedDialer(allow).
//
// It uses no proxy, whatever HTTP_PROXY and HTTPS_PROXY say: through a
// proxy, the proxy would resolve and connect to the receiver, where the
// guard cannot check the address, and a blocked destination would be
// reached.
func newTransport(timeout time.Duration, allow []netip.Prefix) *http.Transport {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{ForceAttemptHTTP2: true}
	}
	t.Proxy = nil
	dialer := GuardedDialer(allow)
	dialer.Timeout = timeout
	t.DialContext = dialer.DialContext
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = 64
	if t.MaxIdleConns < 256 {
		t.MaxIdleConns = 256
	}
	return t
}

// CloseIdleConnections closes the idle connections kept for reuse.
func (s *HTTPSender) CloseIdleConnections() {
	if s != nil && s.client != nil {
		s.client.CloseIdleConnections()
	}
}

// Send sends req.Body to req.URL with req.Method (POST unless set) and
// returns the receiver's response. A Method other than POST, PUT and PATCH
// is an error wrapping ErrInvalidRequest.
//
// The request carries the headers in req.Header, then Content-Type
// (req.ContentType, application/json unless set), webhook-id (req.ID, omitted when empty),
// webhook-timestamp (the attempt's Unix time in seconds) and, when
// req.Secrets is not empty, webhook-signature (one Sign of the id,
// timestamp and body per secret, separated by spaces), which replace any
// header of the same name in req.Header; and User-Agent: UserAgent unless
// req.Header sets one.
//
// With the default transport, a connection to a blocked address (see
// HTTPSenderConfig.AllowNetworks) fails with an error wrapping
// ErrBlockedDestination.
//
// Any HTTP status is returned as a Response, never as an error; a 3xx is
// not followed. The first MaxResponseBody bytes of the body are captured
// and Truncated is set when the receiver sent more. Once the status has
// arrived, the attempt has an answer: when reading the body then fails or
// runs past the Timeout, Send still returns the Response, with the part of
// the body it read and Response.BodyError saying why it stopped, and no
// error. A 2xx is then a success, so a receiver that acts on the request
// and stalls its answer gets no duplicate.
//
// Errors name the URL as RedactURL(req.URL, req.SecretURL) shows it:
// without query values, user name, password or fragment, and with scheme
// and host only when req.SecretURL is set. They never contain header
// values. Where an error of the network stack, a response header (a
// Location that repeats the URL) or the captured body echoes a secret
// part of the URL (the whole URL or query, a "key=value" query part whose
// value is at least 4 bytes long, and with req.SecretURL the path), it is
// replaced as RedactURL would show it; such an error still wraps the
// original for errors.Is and errors.As.
//
// An attempt longer than the sender's Timeout returns an error wrapping
// ErrTimeout; a done ctx returns an error wrapping ctx.Err(); a request
// that cannot be sent returns an error wrapping ErrInvalidRequest.
func (s *HTTPSender) Send(ctx context.Context, req *Request) (*Response, error) {
	if s == nil || s.client == nil {
		return nil, errors.New("webhook: HTTPSender not created by NewHTTPSender")
	}
	if ctx == nil {
		return nil, fmt.Errorf("post: %w: nil context", ErrInvalidRequest)
	}
	if req == nil {
		return nil, fmt.Errorf("post: %w: nil request", ErrInvalidRequest)
	}
	verb := strings.ToLower(req.method())
	switch req.method() {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, fmt.Errorf("send: %w: method %q is not POST, PUT or PATCH", ErrInvalidRequest, textcut.Cut(req.Method, 64))
	}
	u, err := parseURL(req.URL)
	if err != nil {
		if u == nil {
			return nil, fmt.Errorf("%s: %w", verb, err)
		}
		return nil, fmt.Errorf("%s %s: %w", verb, redactParsed(u, req.SecretURL), err)
	}
	sc := newScrubber(req.URL, u, req.SecretURL)
	resp, err := s.send(ctx, u, req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, redactParsed(u, req.SecretURL), sc.error(err))
	}
	sc.response(resp)
	return resp, nil
}

// send makes the attempt Send describes, to u, the parsed req.URL. Its
// errors do not name the URL: Send adds it.
func (s *HTTPSender) send(ctx context.Context, u *url.URL, req *Request) (*Response, error) {
	if !httpheader.ValidValue(req.ID) {
		return nil, fmt.Errorf("%w: id holds a control character", ErrInvalidRequest)
	}
	if !httpheader.ValidValue(req.ContentType) {
		return nil, fmt.Errorf("%w: content type holds a control character", ErrInvalidRequest)
	}
	if err := checkHeader(req.Header); err != nil {
		return nil, err
	}
	keys, err := signingKeys(req)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, contextError(ctx)
	}

	start := time.Now()
	deadline := start.Add(s.timeout)
	actx, cancel := context.WithDeadlineCause(ctx, deadline, errAttemptTimeout)
	defer cancel()
	hreq, err := s.newHTTPRequest(actx, req, keys)
	if err != nil {
		return nil, err
	}

	hresp, err := s.client.Do(hreq)
	if err != nil {
		if e := s.attemptError(ctx, actx, deadline); e != nil {
			return nil, e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if isTimeout(err) {
			// A timeout of the transport or of the caller's client.
			// Kept out of the chain: context.DeadlineExceeded must
			// mean the caller's ctx.
			return nil, fmt.Errorf("%w: %v", ErrTimeout, err)
		}
		return nil, err
	}
	defer hresp.Body.Close()

	resp := &Response{StatusCode: hresp.StatusCode, Header: hresp.Header}
	resp.Body, resp.Truncated, err = readBody(hresp.Body, s.maxResponseBody)
	if err != nil {
		// The status arrived: the receiver answered, and may act on the
		// request alone. The attempt is that answer, with a note.
		switch e := s.attemptError(ctx, actx, deadline); {
		case e != nil:
			err = e
		case isTimeout(err):
			err = fmt.Errorf("%w: %v", ErrTimeout, err)
		}
		resp.BodyError = err
	} else if resp.Truncated && s.maxDrain > 0 {
		// Errors while draining do not matter: the response is complete
		// as far as it is kept, and a failed drain only closes the
		// connection.
		_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, s.maxDrain))
	}
	resp.Duration = time.Since(start)
	return resp, nil
}

// limitOr returns a size limit from its configured value v: def when v is
// zero, none (0) when v is negative.
func limitOr(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return max(v, 0)
}

// signingKeys returns the keys of req.Secrets, or an error wrapping
// ErrInvalidRequest (and ErrInvalidSecret for a malformed secret).
func signingKeys(req *Request) ([][]byte, error) {
	if len(req.Secrets) == 0 {
		return nil, nil
	}
	if req.ID == "" {
		return nil, fmt.Errorf("%w: signing needs an id", ErrInvalidRequest)
	}
	keys, err := parseSecrets(req.Secrets)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return keys, nil
}

// newHTTPRequest builds the HTTP request of one attempt, signed with keys
// when there are any.
func (s *HTTPSender) newHTTPRequest(ctx context.Context, req *Request, keys [][]byte) (*http.Request, error) {
	// req.URL, which parseURL accepted: the parsed form is shared.
	hreq, err := http.NewRequestWithContext(ctx, req.method(), req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	h := make(http.Header, len(req.Header)+4)
	for k, vs := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(h[ck], vs...)
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", UserAgent)
	}
	h.Set("Content-Type", req.contentType())
	h.Del("Webhook-Id")
	if req.ID != "" {
		h.Set("Webhook-Id", req.ID)
	}
	ts := s.now()
	h.Set("Webhook-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	if len(keys) > 0 {
		h.Set("Webhook-Signature", signatures(keys, req.ID, ts, req.Body))
	}
	hreq.Header = h
	return hreq, nil
}

// attemptError returns the error to report when the attempt failed with
// a context done or past its deadline: the caller's context error when ctx
// ended, ErrTimeout when the sender's own timeout (deadline) ran out, and
// nil otherwise. Deadlines are compared with the clock as well as the
// contexts because the transport's timers may report before a context's
// timer has cancelled it.
func (s *HTTPSender) attemptError(ctx, actx context.Context, deadline time.Time) error {
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	now := time.Now()
	if d, ok := ctx.Deadline(); ok && !now.Before(d) {
		return context.DeadlineExceeded
	}
	if context.Cause(actx) == errAttemptTimeout || !now.Before(deadline) {
		return fmt.Errorf("%w after %s", ErrTimeout, s.timeout)
	}
	return nil
}

// isTimeout reports whether err is a timeout of the network or of an
// http.Client.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// contextError returns ctx.Err(), with its cause when the cause says more.
func contextError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// readBody reads up to limit bytes of body, reporting whether there was
// more. On a read error it returns what it read before the error.
func readBody(body io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if int64(len(b)) > limit {
		return b[:limit:limit], true, err
	}
	return b, false, err
}

// parseURL parses an absolute http or https URL. When raw parses but is
// not such a URL, it returns the parsed URL with the error.
func parseURL(raw string) (*url.URL, error) {
	u, err := urlcache.Parse(raw) // shared: read only
	if err != nil {
		// The url.Error would repeat raw, password included; its cause
		// names only the offending part.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: url: %w", ErrInvalidRequest, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return u, fmt.Errorf("%w: url scheme must be http or https", ErrInvalidRequest)
	}
	if u.Host == "" {
		return u, fmt.Errorf("%w: url has no host", ErrInvalidRequest)
	}
	return u, nil
}

// checkHeader reports a header name that is not an HTTP token or a value
// holding control characters. The error names the header, never its value.
func checkHeader(h http.Header) error {
	for k, vs := range h {
		if !httpheader.ValidName(k) {
			return fmt.Errorf("%w: malformed header name %q", ErrInvalidRequest, k)
		}
		for _, v := range vs {
			if !httpheader.ValidValue(v) {
				return fmt.Errorf("%w: header %s: value holds a control character", ErrInvalidRequest, http.CanonicalHeaderKey(k))
			}
		}
	}
	return nil
}
