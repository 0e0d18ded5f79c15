package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tickethooks/tickethooks/webhook"
)

// These tests check signing against the Go library of Standard Webhooks,
// an independent implementation of the scheme, in both directions.

// TestInteropTheirVerifyAcceptsOurSender sends a request signed by
// HTTPSender, during a rotation (two secrets), to a receiver that
// verifies it with the Standard Webhooks library under each secret.
func TestInteropTheirVerifyAcceptsOurSender(t *testing.T) {
	t.Parallel()
	oldSecret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	newSecret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	unrelated, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	results := map[string]string{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		for name, secret := range map[string]string{"old": oldSecret, "new": newSecret, "unrelated": unrelated} {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				results[name] = err.Error()
				continue
			}
			// Their Verify checks the timestamp against time.Now.
			results[name] = "ok"
			if err := wh.Verify(body, r.Header); err != nil {
				results[name] = "rejected"
				if !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
					results[name] = err.Error()
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	t.Cleanup(sender.CloseIdleConnections)
	resp, err := sender.Send(context.Background(), &webhook.Request{
		ID:      "msg_2mDT9yxFwV0PqUOkTiRn5xcCT0L",
		URL:     receiver.URL,
		Body:    []byte(`{"Id":42,"Subject":"Printer on fire","Status":"New"}`),
		Secrets: []string{oldSecret, newSecret},
		Attempt: 1,
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("StatusCode = %d, want 204", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"old": "ok", "new": "ok", "unrelated": "rejected"}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("standardwebhooks Verify mismatch (-want +got):\n%s", diff)
	}
}

// TestInteropOurVerifyAcceptsTheirSign verifies messages signed by the
// Standard Webhooks library.
func TestInteropOurVerifyAcceptsTheirSign(t *testing.T) {
	t.Parallel()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	opts := &webhook.VerifyOptions{Now: func() time.Time { return ts.Add(time.Minute) }}
	tests := []struct {
		name string
		id   string
		body string
	}{
		{"ticket packet", "msg_p5jXN8AQM9LWM0D4loKWxJek", `{"Id":42,"Subject":"Printer on fire"}`},
		{"empty body", "delivery-1", ``},
		{"dots in id and body", "a.b.c", `{"Subject":"v1.2.3"}`},
		{"unicode", "d-é", `{"Subject":"impressora em chamas 🔥"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := wh.Sign(tt.id, ts, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(standardwebhooks.HeaderWebhookID, tt.id)
			h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
			h.Set(standardwebhooks.HeaderWebhookSignature, sig)
			if err := webhook.Verify(h, []byte(tt.body), []string{secret}, opts); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if err := webhook.Verify(h, []byte(tt.body+" "), []string{secret}, opts); !errors.Is(err, webhook.ErrNoMatchingSignature) {
				t.Errorf("Verify(tampered) = %v, want ErrNoMatchingSignature", err)
			}
			// Both sign alike.
			key, err := webhook.ParseSecret(secret)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sig, webhook.Sign(key, tt.id, ts, []byte(tt.body))); diff != "" {
				t.Errorf("Sign mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
