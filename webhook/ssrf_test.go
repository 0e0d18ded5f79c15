package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests only ever connect to loopback receivers; other addresses
// are classified, never dialled.

// TestSendBlockedByDefault shows that without AllowNetworks the sender
// refuses, at dial time, the loopback receivers that the other tests
// reach, whether the URL names the address or a name resolving to it
// (localhost, from the hosts file, stands for a name rebound to a blocked
// address), and that the failure is not retried. Legacy spellings such as
// 127.1 are not tried here: Go's resolver takes them for names and would
// ask DNS; netguard.ParseHostIP recognises them.
func TestSendBlockedByDefault(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newReceiver(t, rec.ServeHTTP)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		url  string
	}{
		{"literal address", srv.URL + "/hook"},
		{"localhost", "http://" + net.JoinHostPort("localhost", strconv.Itoa(port)) + "/hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewHTTPSender(HTTPSenderConfig{Timeout: 5 * time.Second})
			t.Cleanup(s.CloseIdleConnections)
			resp, err := s.Send(context.Background(), &Request{ID: "d", URL: tt.url, Body: []byte(`{}`)})
			if err == nil {
				t.Fatalf("Send = %d, want an error", resp.StatusCode)
			}
			if !errors.Is(err, ErrBlockedDestination) {
				t.Fatalf("Send error %q does not wrap ErrBlockedDestination", err)
			}
			if errors.Is(err, ErrTimeout) {
				t.Errorf("Send error %q wraps ErrTimeout", err)
			}
			if !strings.HasPrefix(err.Error(), "post "+tt.url+": dial tcp") || !strings.HasSuffix(err.Error(), " is a loopback address") {
				t.Errorf("Send error = %q, want post %s: dial tcp ...: destination ... is a loopback address", err, tt.url)
			}
			if DefaultRetryable(resp, err) {
				t.Errorf("DefaultRetryable(%v) = true, want false", err)
			}
			if d, ok := (RetryPolicy{}).Next(1, resp, err, fixedNow); ok {
				t.Errorf("Next = %s, true; want false", d)
			}
		})
	}
	t.Cleanup(func() {
		if n := len(rec.requests()); n != 0 {
			t.Errorf("receiver got %d requests, want 0", n)
		}
	})
}

func TestSendBlockedMessage(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, (&recorder{}).ServeHTTP)
	s := NewHTTPSender(HTTPSenderConfig{})
	t.Cleanup(s.CloseIdleConnections)
	_, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
	host := srv.Listener.Addr().String()
	want := "post " + srv.URL + ": dial tcp " + host + ": destination 127.0.0.1 is a loopback address"
	if diff := cmp.Diff(want, errString(err)); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" {
		t.Errorf("Send error %q does not wrap a dial *net.OpError", err)
	}
}

// errString returns err's message, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSendAllowNetworks(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newReceiver(t, rec.ServeHTTP)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	viaLocalhost := "http://localhost:" + u.Port()
	tests := []struct {
		name    string
		allow   []string
		url     string
		blocked bool
	}{
		{"loopback v4 allowed", []string{"127.0.0.0/8"}, srv.URL, false},
		{"loopback v4 allowed via localhost", []string{"127.0.0.0/8"}, viaLocalhost, false},
		{"single address allowed", []string{"127.0.0.1/32"}, srv.URL, false},
		{"unmasked prefix allowed", []string{"127.0.0.1/8"}, srv.URL, false},
		{"other private network only", []string{"10.0.0.0/8", "192.168.0.0/16"}, srv.URL, true},
		{"v6 loopback only", []string{"::1/128"}, srv.URL, true},
		{"other loopback address only", []string{"127.0.0.2/32"}, srv.URL, true},
		{"empty list", []string{}, srv.URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			allow := []netip.Prefix{}
			for _, p := range tt.allow {
				allow = append(allow, netip.MustParsePrefix(p))
			}
			s := newTestSender(t, HTTPSenderConfig{AllowNetworks: allow})
			resp, err := s.Send(context.Background(), &Request{ID: "d", URL: tt.url, Body: []byte(`{}`)})
			if tt.blocked {
				if !errors.Is(err, ErrBlockedDestination) {
					t.Errorf("Send = %v, want ErrBlockedDestination", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("StatusCode = %d, want 204", resp.StatusCode)
			}
		})
	}
}

// TestSendRedirectToPrivateNotFollowed shows a 3xx pointing at a private
// or metadata address is a response, not followed. Were it followed, the
// guard would refuse the connection, so no traffic leaves loopback either
// way.
func TestSendRedirectToPrivateNotFollowed(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"http://10.0.0.5/admin", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"} {
		t.Run(loc, func(t *testing.T) {
			t.Parallel()
			srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, loc, http.StatusMovedPermanently)
			})
			s := newTestSender(t, HTTPSenderConfig{})
			resp, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := []string{http.StatusText(resp.StatusCode), resp.Header.Get("Location")}
			if diff := cmp.Diff([]string{http.StatusText(http.StatusMovedPermanently), loc}, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if resp.Success() || DefaultRetryable(resp, nil) {
				t.Errorf("301: Success %t, retryable %t; want neither", resp.Success(), DefaultRetryable(resp, nil))
			}
		})
	}
}

// TestGuardedDialerInOwnTransport shows a caller's transport built with
// GuardedDialer keeps the protection.
func TestGuardedDialerInOwnTransport(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, (&recorder{}).ServeHTTP)
	tests := []struct {
		name    string
		allow   []netip.Prefix
		blocked bool
	}{
		{"no allow list", nil, true},
		{"loopback allowed", loopback, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &http.Transport{DialContext: GuardedDialer(tt.allow).DialContext}
			t.Cleanup(tr.CloseIdleConnections)
			s := newTestSender(t, HTTPSenderConfig{Client: &http.Client{Transport: tr}})
			_, err := s.Send(context.Background(), &Request{ID: "d", URL: srv.URL})
			if got := errors.Is(err, ErrBlockedDestination); got != tt.blocked {
				t.Errorf("Send error = %v; blocked %t, want %t", err, got, tt.blocked)
			}
			if !tt.blocked && err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
}

func TestGuardedDialerDirect(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, (&recorder{}).ServeHTTP)
	d := GuardedDialer(nil)
	if d.KeepAlive != 30*time.Second || d.Timeout != 0 {
		t.Errorf("GuardedDialer KeepAlive %s, Timeout %s; want 30s, 0s", d.KeepAlive, d.Timeout)
	}
	conn, err := d.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err == nil {
		conn.Close()
		t.Fatal("GuardedDialer connected to loopback")
	}
	if !errors.Is(err, ErrBlockedDestination) {
		t.Errorf("DialContext error %q does not wrap ErrBlockedDestination", err)
	}
}

func TestGuardedDialerCopiesAllow(t *testing.T) {
	t.Parallel()
	srv := newReceiver(t, (&recorder{}).ServeHTTP)
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	d := GuardedDialer(allow)
	allow[0] = netip.MustParsePrefix("10.0.0.0/8")
	conn, err := d.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("DialContext: %v", err)
	}
	conn.Close()
}

// TestGuardCheck classifies addresses against allow lists without
// dialling them.
func TestGuardCheck(t *testing.T) {
	t.Parallel()
	p := netip.MustParsePrefix
	tests := []struct {
		name  string
		allow []netip.Prefix
		addr  string
		want  string // "" when allowed
	}{
		{"public v4", nil, "8.8.8.8", ""},
		{"public v6", nil, "2606:4700::1111", ""},
		{"private", nil, "10.0.0.5", "destination 10.0.0.5 is a private address"},
		{"metadata", nil, "169.254.169.254", "destination 169.254.169.254 is a link-local address (cloud metadata)"},
		{"mapped loopback shown unmapped", nil, "::ffff:127.0.0.1", "destination 127.0.0.1 is a loopback address"},
		{"zoned link-local", nil, "fe80::1%eth0", "destination fe80::1 is a link-local address"},
		{"private allowed", []netip.Prefix{p("10.0.0.0/8")}, "10.0.0.5", ""},
		{"private outside the allowed network", []netip.Prefix{p("10.1.0.0/16")}, "10.2.0.5", "destination 10.2.0.5 is a private address"},
		{"mapped form of an allowed v4 network", []netip.Prefix{p("127.0.0.0/8")}, "::ffff:127.0.0.1", ""},
		{"zoned address in an allowed network", []netip.Prefix{p("fe80::/10")}, "fe80::1%eth0", ""},
		{"v6 prefix does not allow v4", []netip.Prefix{p("::/0")}, "127.0.0.1", "destination 127.0.0.1 is a loopback address"},
		{"invalid prefix ignored", []netip.Prefix{{}}, "127.0.0.1", "destination 127.0.0.1 is a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := guard{allow: tt.allow}
			err := g.check(netip.MustParseAddr(tt.addr))
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("check mismatch (-want +got):\n%s", diff)
			}
			if err != nil && !errors.Is(err, ErrBlockedDestination) {
				t.Errorf("check error %q does not wrap ErrBlockedDestination", err)
			}
		})
	}
}

func TestGuardControlUnparsable(t *testing.T) {
	t.Parallel()
	err := guard{}.control(context.Background(), "unix", "/run/docker.sock", nil)
	if diff := cmp.Diff("destination /run/docker.sock is an unparsable address", errString(err)); diff != "" {
		t.Errorf("control mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrBlockedDestination) {
		t.Errorf("control error %q does not wrap ErrBlockedDestination", err)
	}
}
