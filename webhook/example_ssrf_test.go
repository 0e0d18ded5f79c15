package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/tickethooks/tickethooks/webhook"
)

func ExampleHTTPSenderConfig_allowNetworks() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	req := &webhook.Request{ID: "delivery-1", URL: receiver.URL, Body: []byte(`{"Id":42}`), Attempt: 1}

	// By default loopback, private and link-local addresses are refused
	// when dialled, and the delivery is not retried.
	guarded := webhook.NewHTTPSender(webhook.HTTPSenderConfig{})
	defer guarded.CloseIdleConnections()
	_, err := guarded.Send(context.Background(), req)
	fmt.Println(errors.Is(err, webhook.ErrBlockedDestination), webhook.DefaultRetryable(nil, err))

	// A receiver on the same host, or on a self-hosted private network,
	// is allowed explicitly.
	allowed := webhook.NewHTTPSender(webhook.HTTPSenderConfig{
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	})
	defer allowed.CloseIdleConnections()
	resp, err := allowed.Send(context.Background(), req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(resp.StatusCode)
	// Output:
	// true false
	// 204
}

func ExampleGuardedDialer() {
	// A client of your own keeps the protection when it dials with
	// GuardedDialer and uses no proxy.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = webhook.GuardedDialer(nil).DialContext
	transport.Proxy = nil
	defer transport.CloseIdleConnections()

	sender := webhook.NewHTTPSender(webhook.HTTPSenderConfig{Client: &http.Client{Transport: transport}})
	_, err := sender.Send(context.Background(), &webhook.Request{ID: "d-1", URL: "http://127.0.0.1:9/hook"})
	fmt.Println(err)
	// Output:
	// post http://127.0.0.1:9/hook: dial tcp 127.0.0.1:9: destination 127.0.0.1 is a loopback address
}
