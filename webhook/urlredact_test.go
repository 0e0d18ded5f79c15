package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw        string
		want, full string // with whole false, and true
	}{
		{"https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com"},
		{"https://example.com/hook?token=abc&x=1", "https://example.com/hook?token=REDACTED&x=REDACTED", "https://example.com"},
		{"https://example.com/hook?token=abc&token=def", "https://example.com/hook?token=REDACTED&token=REDACTED", "https://example.com"},
		{"https://example.com/hook?s3cr3tkey", "https://example.com/hook?REDACTED", "https://example.com"},
		{"https://example.com/hook?empty=&token=abc", "https://example.com/hook?empty=&token=REDACTED", "https://example.com"},
		{"https://example.com/hook?a=1;b=2", "https://example.com/hook?a=REDACTED", "https://example.com"},
		{"https://example.com/hook?", "https://example.com/hook?", "https://example.com"},
		{"https://example.com:8443/hook?token=abc", "https://example.com:8443/hook?token=REDACTED", "https://example.com:8443"},
		{"http://[::1]:8080/hook?token=abc", "http://[::1]:8080/hook?token=REDACTED", "http://[::1]:8080"},
		{"http://[2001:db8::1]/hook", "http://[2001:db8::1]/hook", "http://[2001:db8::1]"},
		{"http://[fe80::1%25eth0]:8080/hook?k=v", "http://[fe80::1%25eth0]:8080/hook?k=REDACTED", "http://[fe80::1%25eth0]:8080"},
		{"https://example.com/a%2Fb/c%20d?to%6Ben=a%20b%26c", "https://example.com/a%2Fb/c%20d?to%6Ben=REDACTED", "https://example.com"},
		{"https://user:pass@example.com/hook?token=abc", "https://example.com/hook?token=REDACTED", "https://example.com"},
		{"https://user@example.com/hook", "https://example.com/hook", "https://example.com"},
		{"https://example.com/hook#access_token=abc", "https://example.com/hook", "https://example.com"},
		{"HTTPS://Example.COM/Hook", "https://Example.COM/Hook", "https://Example.COM"},
		{"/relative?token=abc", "/relative?token=REDACTED", Redacted},
		{"mailto:someone@example.com?subject=x", "mailto:REDACTED?subject=REDACTED", Redacted},
		{"", "", Redacted},
		{"http://exa mple.com/?token=abc", InvalidURL, InvalidURL},
		{"http://%65xample.com/?token=abc", InvalidURL, InvalidURL},
		{"http://[::1/?token=abc", InvalidURL, InvalidURL},
		{"https://example.com/\x00?token=abc", InvalidURL, InvalidURL},
	}
	for _, tt := range tests {
		got := []string{RedactURL(tt.raw, false), RedactURL(tt.raw, true)}
		if diff := cmp.Diff([]string{tt.want, tt.full}, got); diff != "" {
			t.Errorf("RedactURL(%q, false and true) mismatch (-want +got):\n%s", tt.raw, diff)
		}
	}
}

// Secrets of the URL of TestSendHidesURLSecrets: a query value, and a
// path that is secret when the request says the whole URL is.
const (
	querySecret = "s3cr3t"
	pathSecret  = "XXXXpathtoken"
)

// TestSendHidesURLSecrets shows that no error of Send and no field of its
// Response shows a secret of the URL, whichever way the attempt fails,
// while the receiver gets the real URL.
func TestSendHidesURLSecrets(t *testing.T) {
	t.Parallel()
	const secretPath = "/services/T000/B000/" + pathSecret
	// echo answers status with the URL it was called at in a header and
	// its body, as a receiver's error page may.
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Uri", r.URL.RequestURI())
			w.WriteHeader(status)
			fmt.Fprintf(w, "no handler for http://%s%s (path %s, query %s)", r.Host, r.URL.RequestURI(), r.URL.Path, r.URL.RawQuery)
		}
	}
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc // nil: nothing listens
		allow   []netip.Prefix                      // nil: loopback
		header  http.Header
		wantErr error // nil: a Response
	}{
		{name: "connection refused", wantErr: errAny},
		{name: "blocked destination", handler: func(*testing.T) http.HandlerFunc { return echo(200) }, allow: []netip.Prefix{}, wantErr: ErrBlockedDestination},
		{name: "redirect echoing the URL", handler: func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
			}
		}},
		{name: "redirect to a malformed Location echoing the URL", handler: func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "https://"+r.Host+"/%zz"+r.URL.RequestURI())
				w.WriteHeader(http.StatusFound)
			}
		}, wantErr: errAny},
		{name: "timeout before headers", handler: func(t *testing.T) http.HandlerFunc { return hang(t, 0) }, wantErr: ErrTimeout},
		{name: "body stalls", handler: func(t *testing.T) http.HandlerFunc { return hang(t, http.StatusOK) }},
		{name: "bad status echoing the URL", handler: func(*testing.T) http.HandlerFunc { return echo(500) }},
		{name: "2xx echoing the URL", handler: func(*testing.T) http.HandlerFunc { return echo(200) }},
		{name: "invalid request", handler: func(*testing.T) http.HandlerFunc { return echo(200) }, header: http.Header{"Bad Name": {"v"}}, wantErr: ErrInvalidRequest},
	}
	for _, tt := range tests {
		for _, whole := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, SecretURL %t", tt.name, whole), func(t *testing.T) {
				t.Parallel()
				base, called := secretReceiver(t, tt.handler)
				raw := base + secretPath + "?token=" + querySecret + "&x=1"
				allow := tt.allow
				if allow == nil {
					allow = loopback
				}
				s := newTestSender(t, HTTPSenderConfig{Timeout: 200 * time.Millisecond, AllowNetworks: allow})
				resp, err := s.Send(context.Background(), &Request{ID: "d", URL: raw, SecretURL: whole, Header: tt.header})
				if uri := called(); uri != "" && uri != secretPath+"?token="+querySecret+"&x=1" {
					t.Errorf("receiver was called at %q, want the real URL", uri)
				}

				var shown string
				switch wantErr := tt.wantErr; {
				case wantErr != nil:
					if err == nil {
						t.Fatalf("Send = %d, want an error", resp.StatusCode)
					}
					if wantErr != errAny && !errors.Is(err, wantErr) {
						t.Errorf("Send error %q does not wrap %v", err, wantErr)
					}
					if want := "post " + RedactURL(raw, whole) + ": "; !strings.HasPrefix(err.Error(), want) {
						t.Errorf("Send error %q does not start with %q", err, want)
					}
					shown = err.Error()
				case err != nil:
					t.Fatalf("Send error = %v, want a Response", err)
				default:
					shown = responseText(resp)
				}
				t.Logf("shown: %.300s", shown)
				secrets := []string{querySecret}
				if whole {
					secrets = append(secrets, pathSecret, "T000/B000")
				}
				for _, secret := range secrets {
					if strings.Contains(shown, secret) {
						t.Errorf("Send shows the secret %q: %s", secret, shown)
					}
				}
			})
		}
	}
}

// secretReceiver starts a receiver running h, or when h is nil, finds a
// loopback port where nothing listens. It returns the receiver's URL and a
// function that returns the request URI of the first request it got, or
// "".
func secretReceiver(t *testing.T, h func(t *testing.T) http.HandlerFunc) (string, func() string) {
	t.Helper()
	if h == nil {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		return srv.URL, func() string { return "" }
	}
	handler := h(t)
	var mu sync.Mutex
	var first string
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first == "" {
			first = r.URL.RequestURI()
		}
		mu.Unlock()
		handler(w, r)
	})
	return srv.URL, func() string {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
}

// errAny stands for any error in TestSendHidesURLSecrets.
var errAny = errors.New("any error")

// responseText returns every field of resp that holds text.
func responseText(resp *Response) string {
	var b strings.Builder
	for k, vs := range resp.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	b.Write(resp.Body)
	b.WriteString("\n" + resp.Note())
	if resp.BodyError != nil {
		b.WriteString("\n" + resp.BodyError.Error())
	}
	return b.String()
}
