package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"time"

	"github.com/tickethooks/tickethooks/webhook"
)

func ExampleVerify() {
	// The endpoint's signing secret, shared by sender and receiver.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		fmt.Println(err)
		return
	}

	// What a receiver gets: the raw body and the Standard Webhooks headers.
	sent := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"Id":42,"Subject":"Printer on fire"}`)
	header := http.Header{}
	header.Set("webhook-id", "delivery-1")
	header.Set("webhook-timestamp", strconv.FormatInt(sent.Unix(), 10))
	header.Set("webhook-signature", webhook.Sign(key, "delivery-1", sent, body))

	// The receiver's clock, a little later; nil options mean time.Now.
	opts := &webhook.VerifyOptions{Now: func() time.Time { return sent.Add(30 * time.Second) }}

	fmt.Println(webhook.Verify(header, body, []string{secret}, opts))

	tampered := []byte(`{"Id":42,"Subject":"All fine"}`)
	err = webhook.Verify(header, tampered, []string{secret}, opts)
	fmt.Println(errors.Is(err, webhook.ErrNoMatchingSignature))

	// A replay ten minutes later is refused.
	late := &webhook.VerifyOptions{Now: func() time.Time { return sent.Add(10 * time.Minute) }}
	fmt.Println(webhook.Verify(header, body, []string{secret}, late))
	// Output:
	// <nil>
	// true
	// webhook: verify: invalid webhook timestamp: stale: 10m0s old, tolerance 5m0s
}

func ExampleVerifyRequest() {
	// During a rotation the sender signs with the old and the new secret;
	// a receiver that knows either accepts the request.
	oldSecret, _ := webhook.NewSecret()
	newSecret, _ := webhook.NewSecret()

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(r, []string{newSecret}, nil)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Printf("receiver verified %s\n", body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	defer sender.CloseIdleConnections()
	resp, err := sender.Send(context.Background(), &webhook.Request{
		ID:      "delivery-1",
		URL:     receiver.URL,
		Body:    []byte(`{"Id":42}`),
		Secrets: []string{oldSecret, newSecret},
		Attempt: 1,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(resp.StatusCode)
	// Output:
	// receiver verified {"Id":42}
	// 204
}
