package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

func TestTestWebhook(t *testing.T) {
	t.Parallel()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	closed := newReceiver(t)
	closed.Close()
	tests := []struct {
		name       string
		script     int
		url        func(r *receiver) string
		wantStatus executionlog.Status
		wantCode   int
		wantErr    string // in the returned error and the attempt
	}{
		{"Accepted", 200, func(r *receiver) string { return r.URL + "/hook" }, executionlog.StatusSucceeded, 200, ""},
		{"Rejected", 422, func(r *receiver) string { return r.URL + "/hook" }, executionlog.StatusFailed, 422, ""},
		{"Unreachable", 200, func(*receiver) string { return closed.URL }, executionlog.StatusFailed, 0, "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tc.script)
			e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
			action := trigger.Action{
				Type:          trigger.ActionWebhook,
				URL:           tc.url(rcv),
				Headers:       map[string]string{"Authorization": "Bearer s3cr3t-token", "X-Tenant": "acme"},
				SecretHeaders: []string{"X-Tenant"},
				Secrets:       []string{secret},
			}
			sample := ticket("Resolved")
			res, err := e.TestWebhook(context.Background(), "", action, tickethooks.WebhookSample{Ticket: sample})
			var resp *webhook.Response
			if res != nil {
				resp = res.Response
				if diff := cmp.Diff(rcvBody(rcv), res.Request.Body); tc.wantErr == "" && diff != "" {
					t.Errorf("TestResult.Request.Body is not what was sent (-sent +result):\n%s", diff)
				}
			}

			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || resp != nil {
					t.Fatalf("TestWebhook = %v, %v; want no response and an error with %q", resp, err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("TestWebhook: %v", err)
			case resp.StatusCode != tc.wantCode:
				t.Errorf("response status = %d, want %d", resp.StatusCode, tc.wantCode)
			}

			page, qerr := log.Query(context.Background(), executionlog.Filter{})
			if qerr != nil || len(page.Entries) != 1 {
				t.Fatalf("Query: %d entries, %v; want 1", len(page.Entries), qerr)
			}
			en := page.Entries[0]
			body, _ := payload.Encode(sample)
			want := executionlog.Entry{
				ID: en.ID, TicketID: 42, Event: tickethooks.TestEvent, URL: action.URL, Test: true,
				RequestHeaders: map[string]string{
					"Authorization": webhook.Redacted, "X-Tenant": webhook.Redacted,
					"Content-Type": "application/json", "User-Agent": webhook.UserAgent, "Webhook-Id": en.ID,
				},
				RequestBody: body,
				Status:      tc.wantStatus,
			}
			got := en
			got.Attempts, got.CreatedAt, got.UpdatedAt = nil, got.CreatedAt.UTC(), got.UpdatedAt.UTC()
			want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("logged entry mismatch (-want +got):\n%s", diff)
			}
			if len(en.Attempts) != 1 {
				t.Fatalf("logged %d attempts, want 1", len(en.Attempts))
			}
			a := en.Attempts[0]
			if a.Number != 1 || a.StatusCode != tc.wantCode {
				t.Errorf("attempt = %+v, want number 1 with status %d", a, tc.wantCode)
			}
			switch {
			case tc.wantErr != "" && !strings.Contains(a.Error, tc.wantErr):
				t.Errorf("attempt error = %q, want it to contain %q", a.Error, tc.wantErr)
			case tc.wantCode >= 300 && a.Error != fmt.Sprintf("receiver answered %d %s", tc.wantCode, http.StatusText(tc.wantCode)):
				t.Errorf("attempt error = %q, want the receiver's status", a.Error)
			case tc.wantCode == 200 && (a.Error != "" || a.ResponseBody != "answer 1"):
				t.Errorf("attempt = %+v, want no error and the response body", a)
			}

			if tc.wantErr != "" {
				return
			}
			// The receiver got the real headers, signed with the secret.
			reqs := rcv.got()
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if err := webhook.Verify(r.header, r.body, []string{secret}, nil); err != nil {
				t.Errorf("Verify(test request): %v", err)
			}
			if r.header.Get("X-Tenant") != "acme" || r.header.Get("Webhook-Id") != en.ID {
				t.Errorf("receiver headers X-Tenant %q, webhook-id %q; want acme and %s",
					r.header.Get("X-Tenant"), r.header.Get("Webhook-Id"), en.ID)
			}
			if diff := cmp.Diff(string(body), string(r.body)); diff != "" {
				t.Errorf("receiver body mismatch (-want +got):\n%s", diff)
			}

			// A test send is not redelivered.
			if err := e.Redeliver(context.Background(), executionlog.Scope{}, en.ID); !errors.Is(err, tickethooks.ErrNotRedeliverable) {
				t.Errorf("Redeliver(test entry) error = %v, want ErrNotRedeliverable", err)
			}
		})
	}
}

// rcvBody returns the body of the receiver's last request, or nil.
func rcvBody(r *receiver) []byte {
	got := r.got()
	if len(got) == 0 {
		return nil
	}
	return got[len(got)-1].body
}

func TestTestWebhookDefaultSample(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	res, err := e.TestWebhook(context.Background(), "", trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL}, tickethooks.WebhookSample{})
	if err != nil || !res.Response.Success() {
		t.Fatalf("TestWebhook(nil sample) = %v, %v; want a 2xx response", res, err)
	}
	got, err := payload.Decode(rcv.got()[0].body)
	if err != nil {
		t.Fatalf("decoding the sample packet: %v", err)
	}
	if got.Subject == "" || len(got.WebhookEvents) == 0 {
		t.Errorf("sample packet = %+v, want a subject and webhook events", got)
	}
	page, _ := log.Query(context.Background(), executionlog.Filter{Status: executionlog.StatusSucceeded})
	if len(page.Entries) != 1 || !page.Entries[0].Test {
		t.Errorf("log holds %d succeeded entries, want 1 test entry", len(page.Entries))
	}
}

func TestTestWebhookInvalidAction(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil), MaxBodySize: 1 << 10})
	hook := func(url string) trigger.Action { return trigger.Action{Type: trigger.ActionWebhook, URL: url} }
	tests := []struct {
		name    string
		action  trigger.Action
		sample  *payload.Ticket
		invalid bool // wraps ErrInvalidAction
	}{
		{"Note", trigger.Action{Type: trigger.ActionNote, Text: "hi"}, nil, true},
		{"Zero", trigger.Action{}, nil, true},
		{"NoURL", hook(""), nil, true},
		{"Relative", hook("/hooks"), nil, true},
		{"FTP", hook("ftp://example.com/hooks"), nil, true},
		{"NoHost", hook("https:///hooks"), nil, true},
		{"Credentials", hook("https://user:pass@example.com/hooks"), nil, true},
		{"BadHeaderName", trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL,
			Headers: map[string]string{"Bad Name": "x"}}, nil, true},
		{"BadHeaderValue", trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL,
			Headers: map[string]string{"X-Token": "a\r\nInjected: yes"}}, nil, true},
		{"BadSecret", trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL, Secrets: []string{"whsec_short"}}, nil, true},
		{"SampleTooBig", hook(rcv.URL), &payload.Ticket{Id: 1, Subject: strings.Repeat("x", 2<<10)}, false},
	}
	for _, tc := range tests {
		_, err := e.TestWebhook(context.Background(), "", tc.action, tickethooks.WebhookSample{Ticket: tc.sample})
		if err == nil {
			t.Errorf("%s: TestWebhook succeeded, want an error", tc.name)
			continue
		}
		if got := errors.Is(err, tickethooks.ErrInvalidAction); got != tc.invalid {
			t.Errorf("%s: errors.Is(%v, ErrInvalidAction) = %t, want %t", tc.name, err, got, tc.invalid)
		}
		if strings.Contains(err.Error(), "pass@") {
			t.Errorf("%s: error %q shows the URL's password", tc.name, err)
		}
	}
	if n := len(rcv.got()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
	if page, _ := log.Query(context.Background(), executionlog.Filter{}); len(page.Entries) != 0 {
		t.Errorf("log holds %d entries after invalid test sends, want none", len(page.Entries))
	}
}

// TestTestWebhookRefusesWhatNoLogStores checks that a test send of an
// action built in Go, whose URL or headers no log could store, is refused
// with nothing sent or recorded.
func TestTestWebhookRefusesWhatNoLogStores(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	for name, a := range map[string]trigger.Action{
		"NUL in a header value": {Type: trigger.ActionWebhook, URL: rcv.URL, Headers: map[string]string{"X-Account": "a\x00b"}},
		"URL over the cap":      {Type: trigger.ActionWebhook, URL: rcv.URL + "/" + strings.Repeat("a", trigger.MaxURLBytes)},
		"too many headers": {Type: trigger.ActionWebhook, URL: rcv.URL, Headers: func() map[string]string {
			h := map[string]string{}
			for i := range trigger.MaxHeaders + 1 {
				h[fmt.Sprintf("X-H%d", i)] = "v"
			}
			return h
		}()},
	} {
		if _, err := e.TestWebhook(context.Background(), "", a, tickethooks.WebhookSample{}); !errors.Is(err, tickethooks.ErrInvalidAction) {
			t.Errorf("%s: TestWebhook = %v, want ErrInvalidAction", name, err)
		}
	}
	if got := len(rcv.got()); got != 0 {
		t.Errorf("the receiver got %d requests, want none", got)
	}
	if got := allEntries(t, log); len(got) != 0 {
		t.Errorf("the log holds %d entries, want none", len(got))
	}
}
