package tickethooks_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// faultTimeout bounds each attempt in the fault-injection tests, so that a
// receiver that hangs costs a fifth of a second per attempt.
const faultTimeout = 500 * time.Millisecond

// faultHandler answers the n-th request (counted from 0) that reaches a
// faultReceiver. A handler that stalls must return once stop is closed or
// the request's context ends.
type faultHandler func(n int, w http.ResponseWriter, r *http.Request, stop <-chan struct{})

// faultReceiver is a loopback receiver that misbehaves as its handler says
// and records when each request arrived.
type faultReceiver struct {
	srv  *httptest.Server
	stop chan struct{} // closed when the test ends, before the server closes

	mu    sync.Mutex
	times []time.Time
}

// newFaultReceiver starts a receiver running h, over TLS with the
// httptest certificate when useTLS is set. It is closed when the test
// ends; stalled handlers are released first.
func newFaultReceiver(t *testing.T, useTLS bool, h faultHandler) *faultReceiver {
	t.Helper()
	f := &faultReceiver{stop: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.times)
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
		h(n, w, r, f.stop)
	}))
	// Handshakes that the sender rejects and connections it drops are
	// expected here; the server need not report them.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: cleanups run last-in first-out
	return f
}

// hits returns how many requests reached the receiver.
func (f *faultReceiver) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times)
}

// arrivals returns when each request reached the receiver.
func (f *faultReceiver) arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

// addr returns the receiver's host:port.
func (f *faultReceiver) addr() string { return f.srv.Listener.Addr().String() }

// port returns the receiver's port.
func (f *faultReceiver) port() string {
	_, port, _ := net.SplitHostPort(f.addr())
	return port
}

// faultAnswer returns a handler that reads the request and answers the n-th
// request with codes[n] (the last code repeats) and header.
func faultAnswer(header http.Header, codes ...int) faultHandler {
	return func(n int, w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(codes[min(n, len(codes)-1)])
		_, _ = io.WriteString(w, "fault receiver")
	}
}

// faultHangBeforeHeaders reads the request and never answers.
func faultHangBeforeHeaders(_ int, _ http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-stop:
	case <-r.Context().Done():
	}
}

// faultHangMidBody sends 200 with a 1,000-byte Content-Length and 10 bytes of
// the body, then stalls.
func faultHangMidBody(_ int, w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "0123456789")
	_ = http.NewResponseController(w).Flush()
	select {
	case <-stop:
	case <-r.Context().Done():
	}
}

// faultDropConnection returns a handler that reads the request, takes over the
// connection and closes it without a response: abruptly, with a TCP reset
// (SO_LINGER 0), when reset is set, and with an orderly close otherwise.
func faultDropConnection(reset bool) faultHandler {
	return func(_ int, w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Not an HTTP/1 connection: answer 418, which no case expects.
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok && reset {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}
}

// faultGarbage returns a handler that reads the request, answers with line,
// which is not an HTTP status line, and closes the connection.
func faultGarbage(line string) faultHandler {
	return func(_ int, w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		_, _ = buf.WriteString(line + "\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	}
}

// faultEndlessBody returns a handler that answers 200 and writes a body that
// never ends, until the connection fails or the test ends. It counts the
// bytes written and calls ended when it returns.
func faultEndlessBody(written *atomic.Int64, ended func()) faultHandler {
	return func(_ int, w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		defer ended()
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for {
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			default:
			}
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// faultSender is the default HTTP sender with the fault tests' attempt
// timeout, allowed to reach the loopback receivers.
func faultSender() webhook.Sender {
	return webhook.NewHTTPSender(webhook.HTTPSenderConfig{AllowNetworks: loopback, Timeout: faultTimeout})
}

// errFaultNoDNS is what the fault tests' resolver answers when it has no
// answer of its own.
var errFaultNoDNS = errors.New("no DNS server in tests")

// faultDialRecorder records the addresses a transport dials.
type faultDialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *faultDialRecorder) add(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = append(d.addrs, addr)
}

func (d *faultDialRecorder) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// faultResolver returns a resolver that sends no DNS query off the
// machine. It reads the hosts file as usual; a DNS query for a name in
// names is answered in process, over a pipe, with the name's IPv4
// address, and every other query fails with errFaultNoDNS.
func faultResolver(names map[string]netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			if len(names) == 0 {
				return nil, errFaultNoDNS
			}
			client, server := net.Pipe()
			go faultServeDNS(server, names)
			return client, nil
		},
	}
}

// faultServeDNS answers one DNS query read from conn, framed as over TCP (RFC
// 7766: a two-byte length before each message), and closes conn. An A
// query for a name in names gets its address; any other query gets an
// empty answer, or NXDOMAIN for an unknown name.
func faultServeDNS(conn net.Conn, names map[string]netip.Addr) {
	defer conn.Close()
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return
	}
	query := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, query); err != nil || len(query) < 12 {
		return
	}
	// The question follows the 12-byte header: the name as labels, then
	// the type and class.
	var labels []string
	i := 12
	for i < len(query) && query[i] != 0 {
		n := int(query[i])
		if i+1+n > len(query) {
			return
		}
		labels = append(labels, string(query[i+1:i+1+n]))
		i += 1 + n
	}
	end := i + 1 + 4
	if end > len(query) {
		return
	}
	qtype := binary.BigEndian.Uint16(query[i+1:])
	addr, known := names[strings.ToLower(strings.Join(labels, "."))]

	const typeA = 1
	resp := make([]byte, 0, end+16)
	resp = append(resp, query[0], query[1])              // the query's id
	flags := uint16(0x8000 | 0x0400 | 0x0080)            // response, authoritative, recursion available
	flags |= binary.BigEndian.Uint16(query[2:]) & 0x0100 // recursion desired, as asked
	if !known {
		flags |= 3 // NXDOMAIN
	}
	answers := uint16(0)
	if known && qtype == typeA && addr.Is4() {
		answers = 1
	}
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1) // one question
	resp = binary.BigEndian.AppendUint16(resp, answers)
	resp = append(resp, 0, 0, 0, 0) // no authority or additional records
	resp = append(resp, query[12:end]...)
	if answers == 1 {
		resp = append(resp, 0xc0, 12) // the name, pointing at the question's
		resp = binary.BigEndian.AppendUint16(resp, typeA)
		resp = binary.BigEndian.AppendUint16(resp, 1)  // class IN
		resp = binary.BigEndian.AppendUint32(resp, 60) // TTL
		ip := addr.As4()
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(ip)))
		resp = append(resp, ip[:]...)
	}
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
	_, _ = conn.Write(append(framed, resp...))
}

// faultGuardedSender returns an HTTP sender whose client dials with
// webhook.GuardedDialer(allow) and faultResolver(names), so that no DNS
// query leaves the machine. Each address the transport dials is recorded
// in dials when it is not nil.
func faultGuardedSender(allow []netip.Prefix, names map[string]netip.Addr, dials *faultDialRecorder) webhook.Sender {
	dialer := webhook.GuardedDialer(allow)
	dialer.Timeout = faultTimeout
	dialer.Resolver = faultResolver(names)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials != nil {
			dials.add(addr)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	transport.TLSHandshakeTimeout = faultTimeout
	transport.ResponseHeaderTimeout = faultTimeout
	return webhook.NewHTTPSender(webhook.HTTPSenderConfig{Client: &http.Client{Transport: transport}, Timeout: faultTimeout})
}

// faultTriggers loads the resolved trigger with a webhook to url. Webhook
// URLs may name loopback addresses, and localhost, when allowLoopback is
// set; otherwise only names whose address the sender checks at dial time.
func faultTriggers(t *testing.T, url string, allowLoopback bool) *trigger.Store {
	t.Helper()
	opts := &trigger.Options{}
	if allowLoopback {
		opts.AllowNetworks = loopback
	}
	set, err := trigger.Parse([]byte(resolvedTrigger(url)), opts)
	if err != nil {
		t.Fatalf("loading triggers: %v", err)
	}
	return trigger.NewStore(set)
}

// faultEventRecorder collects what the engine tells Config.OnDestination.
type faultEventRecorder struct {
	mu     sync.Mutex
	events []tickethooks.DestinationEvent
}

func (r *faultEventRecorder) record(ev tickethooks.DestinationEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *faultEventRecorder) all() []tickethooks.DestinationEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tickethooks.DestinationEvent(nil), r.events...)
}

// kinds returns the kinds of the recorded events, in order.
func (r *faultEventRecorder) kinds() []tickethooks.DestinationEventKind {
	var kinds []tickethooks.DestinationEventKind
	for _, ev := range r.all() {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

// faultNoteLog is a Log that remembers the Note of every update that left an
// entry pending, so a test can tell that an entry waited for a paused
// destination without racing the cool-down.
type faultNoteLog struct {
	executionlog.Log
	mu    sync.Mutex
	notes []string
}

// Update records u's note once the wrapped log has accepted u.
func (l *faultNoteLog) Update(ctx context.Context, u executionlog.Update) error {
	err := l.Log.Update(ctx, u)
	if err == nil && u.Status == executionlog.StatusPending && u.Note != "" {
		l.mu.Lock()
		l.notes = append(l.notes, u.Note)
		l.mu.Unlock()
	}
	return err
}

func (l *faultNoteLog) pendingNotes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.notes...)
}

// faultCodes returns the status code of each attempt of en.
func faultCodes(en executionlog.Entry) []int {
	var c []int
	for _, a := range en.Attempts {
		c = append(c, a.StatusCode)
	}
	return c
}

// faultAttemptCount returns the number of attempts recorded in entries.
func faultAttemptCount(entries []executionlog.Entry) int {
	n := 0
	for _, en := range entries {
		n += len(en.Attempts)
	}
	return n
}

// faultChangeTickets reports n ticket changes that each fire the resolved
// trigger once, for tickets 1 to n.
func faultChangeTickets(t *testing.T, e *tickethooks.Engine, n int) {
	t.Helper()
	for i := range n {
		after := ticket("Resolved")
		after.Id = i + 1
		if err := e.OnTicketChange(context.Background(), ticket("Open"), after); err != nil {
			t.Fatalf("OnTicketChange: %v", err)
		}
	}
}
