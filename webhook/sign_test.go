package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Standard Webhooks test vector, shared by its libraries' tests.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// secretOf returns a secret whose key is n bytes of b.
func secretOf(b byte, n int) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), n)))
}

func TestSignVector(t *testing.T) {
	t.Parallel()
	key, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	got := Sign(key, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if diff := cmp.Diff(vectorSignature, got); diff != "" {
		t.Errorf("Sign mismatch (-want +got):\n%s", diff)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		wantLen int
		wantErr string // "" for valid
	}{
		{"24 bytes", secretOf('a', 24), 24, ""},
		{"32 bytes", secretOf('b', 32), 32, ""},
		{"64 bytes", secretOf('c', 64), 64, ""},
		{"test vector", vectorSecret, 24, ""},
		{"empty", "", 0, "invalid secret: missing the whsec_ prefix"},
		{"no prefix", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("d", 32))), 0, "invalid secret: missing the whsec_ prefix"},
		{"upper-case prefix", "WHSEC_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("d", 32))), 0, "invalid secret: missing the whsec_ prefix"},
		{"prefix only", SecretPrefix, 0, "invalid secret: 0 bytes long, want 24 to 64"},
		{"bad base64", SecretPrefix + "hunter2!hunter2!hunter2!hunter2!", 0, "invalid secret: not standard base64 after whsec_: illegal base64 data at input byte 7"},
		{"url-safe base64", SecretPrefix + "____" + strings.Repeat("A", 28), 0, "invalid secret: not standard base64 after whsec_: illegal base64 data at input byte 0"},
		{"16 bytes", secretOf('e', 16), 0, "invalid secret: 16 bytes long, want 24 to 64"},
		{"23 bytes", secretOf('e', 23), 0, "invalid secret: 23 bytes long, want 24 to 64"},
		{"65 bytes", secretOf('f', 65), 0, "invalid secret: 65 bytes long, want 24 to 64"},
		{"huge", SecretPrefix + strings.Repeat("A", 1<<20), 0, "invalid secret: longer than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseSecret(tt.secret)
			var gotErr string
			if err != nil {
				gotErr = err.Error()
				if !errors.Is(err, ErrInvalidSecret) {
					t.Errorf("ParseSecret error %q does not wrap ErrInvalidSecret", err)
				}
				if body := strings.TrimPrefix(tt.secret, SecretPrefix); len(body) >= 8 && strings.Contains(gotErr, body[:8]) {
					t.Errorf("ParseSecret error %q shows the secret", err)
				}
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if len(key) != tt.wantLen {
				t.Errorf("key is %d bytes, want %d", len(key), tt.wantLen)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, err := NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	if a == b {
		t.Errorf("NewSecret returned %q twice", a)
	}
	for _, s := range []string{a, b} {
		key, err := ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret(NewSecret()): %v", err)
		}
		if len(key) != 32 {
			t.Errorf("NewSecret key is %d bytes, want 32", len(key))
		}
	}
}

// TestSendSigned shows the webhook-signature header HTTPSender adds: one
// signature per secret, over the same id and timestamp as the other
// headers, and that Verify accepts it with any one of the secrets.
func TestSendSigned(t *testing.T) {
	t.Parallel()
	s1, s2 := secretOf('1', 32), secretOf('2', 24)
	k1, _ := ParseSecret(s1)
	k2, _ := ParseSecret(s2)
	body := []byte(`{"Id":42}`)
	tests := []struct {
		name    string
		secrets []string
		header  http.Header
		want    string // webhook-signature; "" for none
	}{
		{"no secrets", nil, nil, ""},
		{"empty secrets", []string{}, nil, ""},
		{"one secret", []string{s1}, nil, Sign(k1, "d-1", fixedNow, body)},
		{"rotation", []string{s1, s2}, nil, Sign(k1, "d-1", fixedNow, body) + " " + Sign(k2, "d-1", fixedNow, body)},
		{"caller's signature replaced", []string{s2}, http.Header{"Webhook-Signature": {"v1,forged"}}, Sign(k2, "d-1", fixedNow, body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			srv := newReceiver(t, rec.ServeHTTP)
			s := newTestSender(t, HTTPSenderConfig{})
			if _, err := s.Send(context.Background(), &Request{ID: "d-1", URL: srv.URL, Header: tt.header, Body: body, Secrets: tt.secrets}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := rec.requests()[0]
			if diff := cmp.Diff(tt.want, got.Header.Get(HeaderSignature)); diff != "" {
				t.Errorf("webhook-signature mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("1740830400", got.Header.Get(HeaderTimestamp)); diff != "" {
				t.Errorf("webhook-timestamp mismatch (-want +got):\n%s", diff)
			}
			opts := &VerifyOptions{Now: func() time.Time { return fixedNow }}
			for _, secret := range tt.secrets {
				if err := Verify(got.Header, []byte(got.Body), []string{secret}, opts); err != nil {
					t.Errorf("Verify with one secret: %v", err)
				}
			}
		})
	}
}

func TestSendInvalidSecrets(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newReceiver(t, rec.ServeHTTP)
	s := newTestSender(t, HTTPSenderConfig{})
	good := secretOf('g', 32)
	leaky := "whsec_c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw" // no padding: bad base64
	tests := []struct {
		name      string
		req       *Request
		want      string
		badSecret bool
	}{
		{"no id", &Request{URL: srv.URL, Secrets: []string{good}}, "invalid request: signing needs an id", false},
		{"no prefix", &Request{ID: "d", URL: srv.URL, Secrets: []string{good, "c2VjcmV0"}}, "invalid request: secret 2: invalid secret: missing the whsec_ prefix", true},
		{"bad base64", &Request{ID: "d", URL: srv.URL, Secrets: []string{leaky}}, "invalid request: secret 1: invalid secret: not standard base64 after whsec_: illegal base64 data at input byte 40", true},
		{"too short", &Request{ID: "d", URL: srv.URL, Secrets: []string{secretOf('s', 8)}}, "invalid request: secret 1: invalid secret: 8 bytes long, want 24 to 64", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(context.Background(), tt.req)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if diff := cmp.Diff("post "+srv.URL+": "+tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrInvalidSecret) != tt.badSecret {
				t.Errorf("Send error %q: ErrInvalidRequest %t, ErrInvalidSecret %t", err, errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrInvalidSecret))
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("Send error %q shows a secret", err)
			}
			if DefaultRetryable(nil, err) {
				t.Errorf("DefaultRetryable(%v) = true, want false", err)
			}
		})
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}
