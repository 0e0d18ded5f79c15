package tickethooks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// methodReceiver records the method, path, headers and body of each
// request, and answers 204.
type methodReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []methodRequest
}

type methodRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

func newMethodReceiver(t *testing.T) *methodReceiver {
	t.Helper()
	r := &methodReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, methodRequest{req.Method, req.URL.Path, req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *methodReceiver) requests() map[string]methodRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]methodRequest{}
	for _, q := range r.reqs {
		m[q.path] = q
	}
	return m
}

// templateTriggers fires on Resolved with three webhook actions: a form
// PUT from a template, the plain packet, and a template that fails.
func templateTriggers(t *testing.T, base string) *trigger.Store {
	return loadTriggers(t, fmt.Sprintf(`[{"id": "tmpl", "name": "Templated",
		"conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
		"actions": [
			{"type": "webhook", "url": %[1]q, "method": "PUT", "content_type": "application/x-www-form-urlencoded",
			 "secrets": [%[4]q], "body": "{\"id\": Ticket.Id, \"subject\": Ticket.Subject, \"from\": Previous.Status, \"trigger\": Trigger.Name}"},
			{"type": "webhook", "url": %[2]q, "secrets": [%[4]q]},
			{"type": "webhook", "url": %[3]q, "body": "{\"ratio\": 1 / (Ticket.Id - 42)}"}
		]}]`, base+"/form", base+"/packet", base+"/broken", testSecret))
}

func TestBodyTemplateDelivery(t *testing.T) {
	t.Parallel()
	rcv := newMethodReceiver(t)
	store := templateTriggers(t, rcv.URL)
	e, log := newEngine(t, tickethooks.Config{Triggers: store, Retry: fastRetry(1)})
	before, after := ticket("Open"), ticket("Resolved")
	after.Subject = `Printer "on fire" & <smoking>`
	if err := e.OnTicketChange(context.Background(), before, after); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 3)

	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2 (the failing template is never sent): %v", len(got), got)
	}
	form := got["/form"]
	if form.method != http.MethodPut || form.header.Get("Content-Type") != trigger.ContentTypeForm {
		t.Errorf("form request: %s with Content-Type %q; want PUT with %q", form.method, form.header.Get("Content-Type"), trigger.ContentTypeForm)
	}
	values, err := url.ParseQuery(string(form.body))
	if err != nil {
		t.Fatalf("form body %q: %v", form.body, err)
	}
	wantForm := url.Values{"id": {"42"}, "subject": {after.Subject}, "from": {"Open"}, "trigger": {"Templated"}}
	if diff := cmp.Diff(wantForm, values); diff != "" {
		t.Errorf("form body mismatch (-want +got):\n%s", diff)
	}
	if form.header.Get("Webhook-Signature") == "" {
		t.Errorf("form request is not signed")
	}
	if err := webhook.Verify(form.header, form.body, []string{testSecret}, nil); err != nil {
		t.Errorf("form request signature: %v", err)
	}

	packet := got["/packet"]
	set, _ := store.Trigger(context.Background(), "", "tmpl")
	want := *after
	want.WebhookEvents = set.WebhookEvents()
	wantBody, _ := payload.Encode(&want)
	if packet.method != http.MethodPost || packet.header.Get("Content-Type") != "application/json" || !bytes.Equal(packet.body, wantBody) {
		t.Errorf("packet request: %s %q %s; want POST application/json %s", packet.method, packet.header.Get("Content-Type"), packet.body, wantBody)
	}
	if err := webhook.Verify(packet.header, packet.body, []string{testSecret}, nil); err != nil {
		t.Errorf("packet request signature: %v", err)
	}

	type summary struct {
		Action      int
		Status      executionlog.Status
		ContentType string
		Body        string
		Error       string
	}
	var sums []summary
	for _, en := range entries {
		s := summary{Action: en.ActionIndex, Status: en.Status, ContentType: en.RequestHeaders["Content-Type"], Body: string(en.RequestBody)}
		if len(en.Attempts) > 0 {
			s.Error = en.Attempts[len(en.Attempts)-1].Error
		}
		sums = append(sums, s)
	}
	wantSums := []summary{
		{0, executionlog.StatusSucceeded, trigger.ContentTypeForm, string(form.body), ""},
		{1, executionlog.StatusSucceeded, "application/json", string(wantBody), ""},
		{2, executionlog.StatusFailed, "application/json", "",
			"body template failed: cannot encode the value as JSON: json: unsupported value: +Inf; not sent"},
	}
	if diff := cmp.Diff(wantSums, sums); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}

	// The failed entry cannot be redelivered: it has no body.
	failed := entries[2]
	if err := e.Redeliver(context.Background(), executionlog.Scope{}, failed.ID); !errors.Is(err, tickethooks.ErrNotRedeliverable) {
		t.Errorf("Redeliver(failed template) = %v, want ErrNotRedeliverable", err)
	}
	n, err := e.RedeliverMatching(context.Background(), executionlog.Filter{}, 10)
	if err != nil || n != 0 {
		t.Errorf("RedeliverMatching = %d, %v; want 0 (the failed template is skipped)", n, err)
	}
}

func TestBodyTemplateRuntimeErrorRecorded(t *testing.T) {
	t.Parallel()
	rcv := newMethodReceiver(t)
	store := loadTriggers(t, fmt.Sprintf(`[{"id": "created", "on": ["created"],
		"actions": [{"type": "webhook", "url": %q, "body": "{\"was\": Previous.Status}"}]}]`, rcv.URL))
	e, log := newEngine(t, tickethooks.Config{Triggers: store})
	if err := e.OnTicketChange(context.Background(), nil, ticket("New")); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 1)
	en := entries[0]
	want := "body template failed: line 1, column 9: cannot get Status from Previous; not sent"
	if en.Status != executionlog.StatusFailed || len(en.Attempts) != 1 || en.Attempts[0].Error != want || len(en.RequestBody) != 0 {
		t.Errorf("entry = %s, %+v, body %q; want failed with %q", en.Status, en.Attempts, en.RequestBody, want)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestPreviewAndTestWebhookRender(t *testing.T) {
	t.Parallel()
	rcv := newMethodReceiver(t)
	set, err := trigger.Parse([]byte(fmt.Sprintf(`[{"id": "slack", "name": "Slack", "actions": [{"type": "webhook", "url": %q,
		"headers": {"Authorization": "Bearer xyz"}, "method": "PATCH",
		"body": "{\"text\": \"Ticket #\" + string(Ticket.Id) + \" is \" + Ticket.Status + \" (\" + Trigger.Name + \")\"}"}]}]`, rcv.URL+"/slack")),
		&trigger.Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	action := tr.Actions[0]
	e, log := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(set)})

	p, err := e.PreviewWebhook(action, tickethooks.WebhookSample{Ticket: ticket("Resolved"), Trigger: tr})
	if err != nil {
		t.Fatal(err)
	}
	want := &tickethooks.WebhookPreview{Method: "PATCH", URL: rcv.URL + "/slack", ContentType: "application/json",
		Headers: map[string]string{"Authorization": webhook.Redacted, "Content-Type": "application/json", "User-Agent": webhook.UserAgent},
		Body:    []byte(`{"text":"Ticket #42 is Resolved (Slack)"}`)}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("PreviewWebhook mismatch (-want +got):\n%s", diff)
	}

	// Without a template, the preview is the packet TestWebhook sends.
	plain := trigger.Action{Type: trigger.ActionWebhook, URL: rcv.URL + "/plain"}
	sample := ticket("Resolved")
	p, err = e.PreviewWebhook(plain, tickethooks.WebhookSample{Ticket: sample})
	if packet, _ := payload.Encode(sample); err != nil || !bytes.Equal(p.Body, packet) || p.Method != "POST" {
		t.Errorf("PreviewWebhook(no template) = %+v, %v; want POST of %s", p, err, packet)
	}

	// A failing template is an error with its position.
	broken, err := trigger.Parse([]byte(fmt.Sprintf(`[{"id": "b", "actions": [{"type": "webhook", "url": %q,
		"body": "{\"was\": Previous.Status}"}]}]`, rcv.URL)), &trigger.Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.PreviewWebhook(broken.Triggers()[0].Actions[0], tickethooks.WebhookSample{})
	var re *trigger.RenderError
	if !errors.As(err, &re) || re.Line != 1 || re.Column != 9 {
		t.Errorf("PreviewWebhook(failing template) = %v, want a RenderError at 1:9", err)
	}
	if _, err := e.TestWebhook(context.Background(), "", broken.Triggers()[0].Actions[0], tickethooks.WebhookSample{}); !errors.As(err, &re) {
		t.Errorf("TestWebhook(failing template) = %v, want a RenderError", err)
	}

	// TestWebhook sends the rendered body, with the action's method, and
	// returns it: a preview button needs nothing more.
	res, err := e.TestWebhook(context.Background(), "", action, tickethooks.WebhookSample{Ticket: ticket("Open")})
	if err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()["/slack"]
	if got.method != "PATCH" || string(got.body) != `{"text":"Ticket #42 is Open ()"}` || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("test send = %s %q %s", got.method, got.header.Get("Content-Type"), got.body)
	}
	if string(res.Request.Body) != string(got.body) || res.Request.Method != "PATCH" || !res.Response.Success() || res.EntryID == "" {
		t.Errorf("TestWebhook result = %+v, request %+v; want the body and method sent and a 2xx", res, res.Request)
	}

	page, err := log.Query(context.Background(), executionlog.Filter{})
	if err != nil || len(page.Entries) != 1 || !bytes.Equal(page.Entries[0].RequestBody, got.body) {
		t.Errorf("log = %+v, %v; want the test send with its body", page.Entries, err)
	}

	// An action built in Go with a method or content type a definition
	// could not set is refused.
	for _, a := range []trigger.Action{
		{Type: trigger.ActionWebhook, URL: rcv.URL, Method: "DELETE"},
		{Type: trigger.ActionWebhook, URL: rcv.URL, ContentType: "text/plain"},
		{Type: trigger.ActionWebhook, URL: rcv.URL, ContentType: trigger.ContentTypeForm},
	} {
		if _, err := e.PreviewWebhook(a, tickethooks.WebhookSample{}); !errors.Is(err, tickethooks.ErrInvalidAction) {
			t.Errorf("PreviewWebhook(%+v) = %v, want ErrInvalidAction", a, err)
		}
		if _, err := e.TestWebhook(context.Background(), "", a, tickethooks.WebhookSample{}); !errors.Is(err, tickethooks.ErrInvalidAction) {
			t.Errorf("TestWebhook(%+v) = %v, want ErrInvalidAction", a, err)
		}
	}
	// A test send renders the sample's attributes.
	tagged, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "crm", "actions": [{"type": "webhook", "url": %q, "method": "PUT",
		"body": "{\"external_id\": Attr.uuid, \"tags\": Attr.tags}"}]}]`, rcv.URL+"/crm"),
		&trigger.Options{AllowNetworks: loopback, Attributes: []trigger.Attribute{{Name: "uuid", Type: trigger.AttrString}, {Name: "tags", Type: trigger.AttrList}}})
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(tagged),
		Attributes: []trigger.Attribute{{Name: "uuid", Type: trigger.AttrString}, {Name: "tags", Type: trigger.AttrList}}})
	res, err = ea.TestWebhook(context.Background(), "", tagged.Triggers()[0].Actions[0],
		tickethooks.WebhookSample{Attrs: trigger.Attrs{"uuid": "c0ffee", "tags": []string{"vip"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Sample attributes are checked as a change's are.
	for _, attrs := range []trigger.Attrs{{"password": "x"}, {"uuid": 5}} {
		if _, err := ea.PreviewWebhook(tagged.Triggers()[0].Actions[0], tickethooks.WebhookSample{Attrs: attrs}); !errors.Is(err, trigger.ErrAttribute) {
			t.Errorf("PreviewWebhook(%v) = %v, want trigger.ErrAttribute", attrs, err)
		}
		if _, err := ea.TestWebhook(context.Background(), "", tagged.Triggers()[0].Actions[0], tickethooks.WebhookSample{Attrs: attrs}); !errors.Is(err, trigger.ErrAttribute) {
			t.Errorf("TestWebhook(%v) = %v, want trigger.ErrAttribute", attrs, err)
		}
	}
	if want := `{"external_id":"c0ffee","tags":["vip"]}`; string(res.Request.Body) != want || string(rcv.requests()["/crm"].body) != want {
		t.Errorf("test send with attributes = %s, received %s; want %s", res.Request.Body, rcv.requests()["/crm"].body, want)
	}
}

func TestBodyTemplateOverMaxBodySize(t *testing.T) {
	t.Parallel()
	rcv := newMethodReceiver(t)
	store := loadTriggers(t, fmt.Sprintf(`[{"id": "big", "on": ["created"],
		"actions": [{"type": "webhook", "url": %q, "body": "{\"s\": Ticket.Subject + Ticket.Subject}"}]}]`, rcv.URL))
	e, log := newEngine(t, tickethooks.Config{Triggers: store, MaxBodySize: 1 << 10})
	tk := ticket("New")
	tk.Subject = strings.Repeat("x", 1000)
	if err := e.OnTicketChange(context.Background(), nil, tk); err != nil {
		t.Fatal(err)
	}
	en := waitSettled(t, log, 1)[0]
	if en.Status != executionlog.StatusFailed || len(en.Attempts) != 1 || !strings.HasPrefix(en.Attempts[0].Error, "ticket packet of 2008 bytes exceeds the 1024-byte limit") {
		t.Errorf("entry = %s, %+v; want failed over MaxBodySize", en.Status, en.Attempts)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}
