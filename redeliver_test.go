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

// fire reports that ticket id changed to Resolved.
func fire(t *testing.T, e *tickethooks.Engine, id int) {
	t.Helper()
	before, after := ticket("Open"), ticket("Resolved")
	before.Id, after.Id = id, id
	if err := e.OnTicketChange(context.Background(), before, after); err != nil {
		t.Fatalf("OnTicketChange(ticket %d): %v", id, err)
	}
}

// byTicket returns the entries of ticket id among entries.
func byTicket(entries []executionlog.Entry, id int) []executionlog.Entry {
	var out []executionlog.Entry
	for _, en := range entries {
		if en.TicketID == id {
			out = append(out, en)
		}
	}
	return out
}

func TestRedeliverStartsANewSeries(t *testing.T) {
	t.Parallel()
	// Two attempts fail the first series; the redelivered series fails
	// once, is retried, and succeeds.
	rcv := newReceiver(t, 500, 500, 500, 200)
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
		Retry:    fastRetry(2),
	})
	fire(t, e, 42)
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusFailed || len(en.Attempts) != 2 {
		t.Fatalf("first series: %s after %d attempts, want failed after 2", en.Status, len(en.Attempts))
	}

	if err := e.Redeliver(context.Background(), en.ID); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	en = waitSettled(t, log, 1)[0]

	// With attempts counted from the start of the log, attempt 3 would
	// have been the last; counted from the series it is the first of two.
	if en.Status != executionlog.StatusSucceeded || en.SeriesStart != 2 {
		t.Errorf("after Redeliver: %s with SeriesStart %d, want succeeded with 2", en.Status, en.SeriesStart)
	}
	var numbers, codes []int
	for _, a := range en.Attempts {
		numbers = append(numbers, a.Number)
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4}, numbers); diff != "" {
		t.Errorf("attempt numbers mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{500, 500, 500, 200}, codes); diff != "" {
		t.Errorf("attempt status codes mismatch (-want +got):\n%s", diff)
	}
	// The receiver sees one delivery id throughout, with the real secrets.
	for i, r := range rcv.got() {
		if got := r.header.Get("Webhook-Id"); got != en.ID {
			t.Errorf("request %d webhook-id = %q, want %q", i, got, en.ID)
		}
		if got := r.header.Get("Authorization"); got != "Bearer s3cr3t-token" {
			t.Errorf("request %d Authorization = %q, want the trigger's secret", i, got)
		}
	}

	// A succeeded entry may be sent again, too.
	if err := e.Redeliver(context.Background(), en.ID); err != nil {
		t.Fatalf("Redeliver(succeeded): %v", err)
	}
	en = waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusSucceeded || len(en.Attempts) != 5 || en.SeriesStart != 4 {
		t.Errorf("after the second Redeliver: %s, %d attempts, SeriesStart %d; want succeeded, 5, 4",
			en.Status, len(en.Attempts), en.SeriesStart)
	}
}

func TestRedeliverErrors(t *testing.T) {
	t.Parallel()
	url, arrived, release := blockingReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(url))})
	fire(t, e, 42)
	<-arrived // the delivery is in flight: its entry is pending
	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("Query: %d entries, %v; want 1", len(page.Entries), err)
	}
	pending := page.Entries[0].ID

	tests := []struct {
		name string
		id   string
		want error
	}{
		{"Pending", pending, executionlog.ErrNotFinished},
		{"Unknown", executionlog.NewID(page.Entries[0].CreatedAt), executionlog.ErrNotFound},
		{"Empty", "", executionlog.ErrNotFound},
	}
	for _, tc := range tests {
		if err := e.Redeliver(context.Background(), tc.id); !errors.Is(err, tc.want) {
			t.Errorf("%s: Redeliver error = %v, want %v", tc.name, err, tc.want)
		}
	}
	close(release)
	waitSettled(t, log, 1)
}

func TestRedeliverMatching(t *testing.T) {
	t.Parallel()
	// The first seven requests (six deliveries and a test send) are
	// refused, and not retried; later ones pass.
	rcv := newReceiver(t, 400, 400, 400, 400, 400, 400, 400, 200)
	ok := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{
		Triggers: loadTriggers(t, resolvedTrigger(rcv.URL)),
		Retry:    fastRetry(3),
	})
	for id := 1; id <= 6; id++ {
		fire(t, e, id)
	}
	// A test send that failed, and an entry that succeeded, are never
	// redelivered by RedeliverMatching.
	testAction := trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL + "/test"}
	if _, err := e.TestWebhook(context.Background(), testAction, ticket("Open")); err != nil {
		t.Fatalf("TestWebhook: %v", err)
	}
	waitSettled(t, log, 7)
	okEngine, _ := newEngine(t, tickethooks.Config{Triggers: loadTriggers(t, resolvedTrigger(ok.URL)), Log: log})
	fire(t, okEngine, 7)
	if entries := waitSettled(t, log, 8); len(entries) != 8 {
		t.Fatalf("log holds %d entries, want 8", len(entries))
	}
	// okEngine's triggers name another URL, and an engine delivers to the
	// URL of its own trigger: only e delivers from here on.
	if err := okEngine.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	steps := []struct {
		name  string
		f     executionlog.Filter
		limit int
		want  int
	}{
		{"OneTicket", executionlog.Filter{TicketID: 3}, 10, 1},
		{"NoMatch", executionlog.Filter{TicketID: 7}, 10, 0},
		{"ErrorTextCapped", executionlog.Filter{ErrorText: "BAD REQUEST"}, 2, 2},
		{"StatusIgnored", executionlog.Filter{Status: executionlog.StatusSucceeded, ErrorText: "bad request"}, 10, 3},
		{"NothingLeft", executionlog.Filter{}, executionlog.MaxLimit * 5, 0},
	}
	for _, s := range steps {
		n, err := e.RedeliverMatching(ctx, s.f, s.limit)
		if err != nil || n != s.want {
			t.Fatalf("%s: RedeliverMatching = %d, %v; want %d", s.name, n, err, s.want)
		}
		entries := waitSettled(t, log, 8)
		if s.name == "OneTicket" {
			if en := byTicket(entries, 3)[0]; en.Status != executionlog.StatusSucceeded || en.SeriesStart != 1 {
				t.Errorf("ticket 3 after its redelivery: %s with SeriesStart %d, want succeeded with 1", en.Status, en.SeriesStart)
			}
		}
	}
	for _, en := range waitSettled(t, log, 8) {
		want := executionlog.StatusSucceeded
		if en.Test {
			want = executionlog.StatusFailed
		}
		if en.Status != want {
			t.Errorf("entry of ticket %d (test %t) is %s, want %s", en.TicketID, en.Test, en.Status, want)
		}
	}
	if got := len(rcv.got()); got != 7+6 {
		t.Errorf("receiver got %d requests, want 13 (7 first attempts, 6 redeliveries)", got)
	}

	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{}, 0); err == nil {
		t.Error("RedeliverMatching(limit 0) succeeded, want an error")
	}
	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{TicketID: -1}, 10); !errors.Is(err, executionlog.ErrInvalidFilter) {
		t.Errorf("RedeliverMatching(negative ticket) error = %v, want ErrInvalidFilter", err)
	}
}

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
			resp, err := e.TestWebhook(context.Background(), action, sample)

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
			if err := e.Redeliver(context.Background(), en.ID); !errors.Is(err, tickethooks.ErrNotRedeliverable) {
				t.Errorf("Redeliver(test entry) error = %v, want ErrNotRedeliverable", err)
			}
		})
	}
}

func TestTestWebhookDefaultSample(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	resp, err := e.TestWebhook(context.Background(), trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL}, nil)
	if err != nil || !resp.Success() {
		t.Fatalf("TestWebhook(nil sample) = %v, %v; want a 2xx response", resp, err)
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
		_, err := e.TestWebhook(context.Background(), tc.action, tc.sample)
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

func TestOperationsAfterClose(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Redeliver(ctx, "x"); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("Redeliver after Close: %v, want ErrClosed", err)
	}
	if _, err := e.RedeliverMatching(ctx, executionlog.Filter{}, 10); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("RedeliverMatching after Close: %v, want ErrClosed", err)
	}
	action := trigger.Action{Type: trigger.ActionWebhook, URL: "https://example.com/hooks"}
	if _, err := e.TestWebhook(ctx, action, nil); !errors.Is(err, tickethooks.ErrClosed) {
		t.Errorf("TestWebhook after Close: %v, want ErrClosed", err)
	}
}
