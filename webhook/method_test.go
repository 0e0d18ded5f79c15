package webhook

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSendMethodAndContentType(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newReceiver(t, rec.ServeHTTP)
	s := newTestSender(t, HTTPSenderConfig{})
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for _, m := range []string{http.MethodPut, http.MethodPatch, ""} {
		req := &Request{ID: "msg_1", URL: srv.URL + "/form", Method: m, ContentType: "application/x-www-form-urlencoded",
			Body: []byte("a=1&b=x+y"), Secrets: []string{secret}, Attempt: 1}
		if _, err := s.Send(context.Background(), req); err != nil {
			t.Fatalf("Send(%q): %v", m, err)
		}
	}
	var got []string
	for _, r := range rec.requests() {
		got = append(got, r.Method+" "+r.Header.Get("Content-Type")+" "+r.Body)
		if r.Header.Get("Webhook-Signature") == "" {
			t.Errorf("%s request is not signed", r.Method)
		}
	}
	want := []string{
		"PUT application/x-www-form-urlencoded a=1&b=x+y",
		"PATCH application/x-www-form-urlencoded a=1&b=x+y",
		"POST application/x-www-form-urlencoded a=1&b=x+y",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}

	for _, req := range []*Request{
		{URL: srv.URL, Method: http.MethodDelete},
		{URL: srv.URL, Method: "post"},
		{URL: srv.URL, ContentType: "text/plain\r\nX-Evil: 1"},
	} {
		if _, err := s.Send(context.Background(), req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Send(method %q, content type %q) = %v, want ErrInvalidRequest", req.Method, req.ContentType, err)
		}
	}
	if n := len(rec.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
}
