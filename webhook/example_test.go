package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/tickethooks/tickethooks/webhook"
)

func ExampleHTTPSender_Send() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("receiver got %s with webhook-id %s\n", body, r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "queued")
	}))
	defer receiver.Close()

	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{
		Timeout: 5 * time.Second,
		// The receiver listens on loopback, which is blocked by default.
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	defer sender.CloseIdleConnections()

	resp, err := sender.Send(context.Background(), &webhook.Request{
		ID:      "delivery-1",
		URL:     receiver.URL + "/hooks/tickets",
		Header:  http.Header{"Authorization": {"Bearer example"}},
		Body:    []byte(`{"Id":42,"Subject":"Printer on fire"}`),
		Attempt: 1,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(resp.StatusCode, resp.Success(), string(resp.Body))
	// Output:
	// receiver got {"Id":42,"Subject":"Printer on fire"} with webhook-id delivery-1
	// 202 true queued
}

func ExampleRetryPolicy_Next() {
	// The default schedule, with its +-20% jitter turned off.
	b := webhook.DefaultBackOff().(*backoff.ExponentialBackOff)
	b.RandomizationFactor = 0
	policy := webhook.RetryPolicy{Schedule: webhook.ExponentialSchedule(b)}
	failed := &webhook.Response{StatusCode: http.StatusServiceUnavailable}
	for attempt := 1; ; attempt++ {
		wait, retry := policy.Next(attempt, failed, nil, time.Now())
		if !retry {
			fmt.Printf("attempt %d failed: give up\n", attempt)
			break
		}
		fmt.Printf("attempt %d failed: retry in %s\n", attempt, wait)
	}
	// Output:
	// attempt 1 failed: retry in 1s
	// attempt 2 failed: retry in 2s
	// attempt 3 failed: retry in 4s
	// attempt 4 failed: retry in 8s
	// attempt 5 failed: retry in 16s
	// attempt 6 failed: retry in 32s
	// attempt 7 failed: retry in 1m4s
	// attempt 8 failed: give up
}

func ExampleRetryPolicy_Next_retryAfter() {
	var policy webhook.RetryPolicy // the defaults
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tooMany := &webhook.Response{
		StatusCode: http.StatusTooManyRequests,
		Header:     http.Header{"Retry-After": {"90"}},
	}
	wait, retry := policy.Next(1, tooMany, nil, now)
	fmt.Println(wait, retry)

	// A receiver cannot park a delivery for days: waits are capped.
	tooMany.Header.Set("Retry-After", now.Add(72*time.Hour).Format(http.TimeFormat))
	wait, retry = policy.Next(1, tooMany, nil, now)
	fmt.Println(wait, retry)

	// A 4xx other than 408 and 429 is not retried.
	wait, retry = policy.Next(1, &webhook.Response{StatusCode: http.StatusNotFound}, nil, now)
	fmt.Println(wait, retry)
	// Output:
	// 1m30s true
	// 5m0s true
	// 0s false
}

func ExampleDefaultRetryable() {
	fmt.Println(webhook.DefaultRetryable(nil, fmt.Errorf("post https://example.com/hook: %w after 10s", webhook.ErrTimeout)))
	fmt.Println(webhook.DefaultRetryable(nil, fmt.Errorf("post https://example.com/hook: %w", context.Canceled)))
	fmt.Println(webhook.DefaultRetryable(nil, errors.New("post https://example.com/hook: connection refused")))
	fmt.Println(webhook.DefaultRetryable(&webhook.Response{StatusCode: http.StatusBadGateway}, nil))
	fmt.Println(webhook.DefaultRetryable(&webhook.Response{StatusCode: http.StatusUnauthorized}, nil))
	// Output:
	// true
	// false
	// true
	// true
	// false
}

func ExampleClassify() {
	fmt.Println(webhook.Classify(&webhook.Response{StatusCode: http.StatusAccepted}, nil))
	fmt.Println(webhook.Classify(&webhook.Response{StatusCode: http.StatusServiceUnavailable}, nil))
	fmt.Println(webhook.Classify(&webhook.Response{StatusCode: http.StatusGone}, nil))
	fmt.Println(webhook.Classify(nil, fmt.Errorf("post https://example.com/hook: %w after 10s", webhook.ErrTimeout)))
	fmt.Println(webhook.Classify(nil, fmt.Errorf("post https://example.com/hook: %w", context.Canceled)))
	// Output:
	// delivered
	// transient
	// rejected
	// transient
	// not sent
}

func ExampleRedactHeaders() {
	headers := map[string]string{
		"authorization": "Bearer abc123",
		"X-Tenant":      "acme",
		"X-Customer-Id": "c-42",
	}
	redacted := webhook.RedactHeaders(headers, []string{"x-customer-id"})
	fmt.Println(redacted["Authorization"], redacted["X-Tenant"], redacted["X-Customer-Id"])
	// Output: [REDACTED] acme [REDACTED]
}
