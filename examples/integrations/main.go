// Command integrations shows how a helpdesk wires ticket triggers to chat
// tools and a CRM with host attributes and body templates. It needs no
// server: the execution log is in memory and every receiver runs on
// 127.0.0.1.
//
// The helpdesk declares the attributes its tickets have beyond the data
// packet (assignee, team, tags, its own uuid, channel, message count). An
// admin writes four triggers in JSON whose conditions read those
// attributes and whose body templates build each service's own request
// shape: a Slack incoming webhook when the tag vip is added, a Discord
// webhook and a Microsoft Teams Adaptive Card when a ticket is assigned
// to someone in team billing, a signed JSON sync to the CRM when the tags
// change, and a signed form PUT to the CRM, carrying the helpdesk's UUID,
// when a ticket is resolved. The admin presses "preview" on the Discord
// action; then four ticket changes are reported, one of them with a
// subject full of quotes, a newline and "<b>", which every receiver gets
// intact because templates encode values instead of pasting text.
//
// Each receiver checks what it gets as the real service would (method,
// Content-Type, required keys and their types, signatures) and the
// program exits non-zero if one got anything malformed, or if a delivery
// failed.
//
//	go run ./examples/integrations
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/webhook"
)

// local is where the example's receivers run. The SSRF guard refuses
// loopback addresses unless they are allowed: given once, in the Config.
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// crmSecret signs the requests to the CRM (Standard Webhooks); the CRM
// verifies them. Make one with webhook.NewSecret.
const crmSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// attributes are what the helpdesk knows about a ticket beyond the packet.
var attributes = []trigger.Attribute{
	{Name: "assignee", Type: trigger.AttrString},
	{Name: "team", Type: trigger.AttrString},
	{Name: "tags", Type: trigger.AttrList},
	{Name: "uuid", Type: trigger.AttrString},
	{Name: "channel", Type: trigger.AttrString},
	{Name: "messages", Type: trigger.AttrInt},
}

// triggersJSON is what the helpdesk's admin writes. %[1]s is the Slack
// receiver, %[2]s Discord, %[3]s Teams, %[4]s the CRM, %[5]s the CRM's
// signing secret. Body templates are expressions: single-quoted strings
// keep them readable inside JSON, and their values are encoded by the
// library, never pasted into the body as text. A missing list attribute
// reads as an empty list, which encodes as [].
//
// Slack reads <, > and & in mrkdwn text as markup. Escaping all three
// takes nested replace() calls, which the expression budget refuses (each
// can grow a 256 KiB subject), so vip-to-slack puts the customer's
// subject in a plain_text block and keeps mrkdwn for its own link.
const triggersJSON = `[
  {"id": "vip-to-slack", "name": "VIP tickets to #support",
   "conditions": {"all": [{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}]},
   "actions": [{"type": "webhook", "url": "%[1]s/services/T0HELPDESK/B0SUPPORT/xoxs3cr3t", "secret_url": true,
     "body": "{text: 'VIP ticket #' + string(Ticket.Id) + ' (team ' + Attr.team + ')', blocks: [{type: 'section', text: {type: 'mrkdwn', text: ':star: *VIP* <https://helpdesk.example.com/tickets/' + string(Ticket.Id) + '|#' + string(Ticket.Id) + '>'}}, {type: 'section', text: {type: 'plain_text', text: Ticket.Subject}}, {type: 'context', elements: [{type: 'plain_text', text: 'team ' + Attr.team + ', ' + (Attr.assignee == '' ? 'unassigned' : 'assigned to ' + Attr.assignee) + ', via ' + Attr.channel}]}]}"}]},

  {"id": "billing-assigned", "name": "Billing assignments to the billing channels",
   "conditions": {"all": [{"field": "Attr.assignee", "operator": "changed"},
                          {"field": "Attr.assignee", "operator": "present"},
                          {"field": "Attr.team", "operator": "is", "value": "billing"}]},
   "actions": [
     {"type": "webhook", "url": "%[2]s/api/webhooks/1187/d1sc0rdt0ken", "secret_url": true,
      "body": "{content: 'Ticket #' + string(Ticket.Id) + ' was assigned to **' + Attr.assignee + '**', embeds: [{title: Ticket.Subject, url: 'https://helpdesk.example.com/tickets/' + string(Ticket.Id), fields: [{name: 'Status', value: Ticket.Status, inline: true}, {name: 'Urgency', value: Ticket.Urgency, inline: true}, {name: 'Previous assignee', value: PreviousAttr.assignee == '' ? 'nobody' : PreviousAttr.assignee, inline: true}, {name: 'Tags', value: len(Attr.tags) == 0 ? '-' : join(Attr.tags, ', '), inline: false}]}]}"},
     {"type": "webhook", "url": "%[3]s/webhookb2/9f1c/IncomingWebhook/t3amst0ken", "secret_url": true,
      "body": "{type: 'message', attachments: [{contentType: 'application/vnd.microsoft.card.adaptive', content: {'$schema': 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body: [{type: 'TextBlock', size: 'Medium', weight: 'Bolder', wrap: true, text: 'Ticket #' + string(Ticket.Id) + ' assigned to ' + Attr.assignee}, {type: 'TextBlock', wrap: true, text: Ticket.Subject}, {type: 'FactSet', facts: [{title: 'Team', value: Attr.team}, {title: 'Status', value: Ticket.Status}, {title: 'Messages', value: string(Attr.messages)}]}], actions: [{type: 'Action.OpenUrl', title: 'Open ticket', url: 'https://helpdesk.example.com/tickets/' + string(Ticket.Id)}]}}]}"}]},

  {"id": "tags-to-crm", "name": "Sync tags to the CRM",
   "conditions": {"all": [{"field": "Attr.tags", "operator": "changed"}]},
   "actions": [{"type": "webhook", "url": "%[4]s/api/sync", "headers": {"Authorization": "Bearer crm-api-key"}, "secrets": ["%[5]s"],
     "body": "{external_id: Attr.uuid, status: Ticket.Status, tags: Attr.tags}"}]},

  {"id": "resolved-to-crm", "name": "Resolved tickets to the CRM",
   "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}]},
   "actions": [{"type": "webhook", "url": "%[4]s/crm/tickets", "method": "PUT",
     "content_type": "application/x-www-form-urlencoded", "headers": {"Authorization": "Bearer crm-api-key"}, "secrets": ["%[5]s"],
     "body": "{uuid: Attr.uuid, status: Ticket.Status, assignee: Attr.assignee, team: Attr.team, messages: Attr.messages, subject: Ticket.Subject, trigger: Trigger.ID}"}]}
]`

// trickySubject has quotes, a newline and markup: the bodies stay valid,
// and every receiver gets it as the customer typed it.
const trickySubject = "Refund \"urgent\"\n<b>charged twice</b> & still waiting"

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	start := time.Now()

	slack := newReceiver("Slack", checkSlack)
	defer slack.close()
	discord := newReceiver("Discord", checkDiscord)
	defer discord.close()
	teams := newReceiver("Teams", checkTeams)
	defer teams.close()
	crm := newReceiver("CRM", checkCRM)
	defer crm.close()
	receivers := []*receiver{slack, discord, teams, crm}

	cfg := tickethooks.Config{
		Log:           executionlog.NewMemory(executionlog.MemoryOptions{}),
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AllowNetworks: local,
		Attributes:    attributes,
	}
	// TriggerOptions carries the allowed networks and the attributes, so
	// that loading checks every Attr.<name> against the declarations.
	set, err := trigger.Parse(fmt.Appendf(nil, triggersJSON, slack.srv.URL, discord.srv.URL, teams.srv.URL, crm.srv.URL, crmSecret),
		cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		return err
	}
	cfg.Triggers = trigger.NewStore(set)
	engine, err := tickethooks.New(cfg)
	if err != nil {
		return err
	}
	defer engine.Close(ctx)
	fmt.Printf("Loaded %d triggers with attribute conditions and body templates.\n\n", set.Len())

	// The admin presses "preview" on the Discord action: the body it would
	// send for a sample ticket, rendered and not sent.
	assigned, ok := set.Get("billing-assigned")
	if !ok {
		return errors.New(`no trigger "billing-assigned"`)
	}
	preview, err := engine.PreviewWebhook(assigned.Actions[0], tickethooks.WebhookSample{
		Ticket:  &payload.Ticket{Id: 1, Subject: "Sample: invoice shows the wrong VAT", Status: "Open", Urgency: "Medium"},
		Attrs:   trigger.Attrs{"assignee": "ann", "team": "billing", "tags": []string{"invoice"}, "messages": 2},
		Trigger: assigned,
	})
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, preview.Body, "  ", "  "); err != nil {
		return fmt.Errorf("preview body is not JSON: %w", err)
	}
	fmt.Printf("Preview of %q, action 0: %s %s (%s)\n  %s\n\n", assigned.ID, preview.Method, preview.URL, preview.ContentType, pretty.String())

	// The helpdesk reports its changes with the attributes before and after.
	const uuid = "3f2a9c1e-8b7d-4e6a-9c0f-2d1b5a7e4c33"
	open := &payload.Ticket{Id: 1042, Subject: trickySubject, Status: "Open", Urgency: "High", ServiceFirstLevel: "Billing"}
	created := trigger.Attrs{"team": "billing", "tags": []string{"refund"}, "uuid": uuid, "channel": "email", "messages": 1}
	vip := with(created, trigger.Attrs{"assignee": "ann", "tags": []string{"refund", "vip"}, "messages": 2})
	resolved := with(vip, trigger.Attrs{"tags": []string(nil), "messages": 4})
	other := &payload.Ticket{Id: 1043, Subject: "VPN drops every hour", Status: "Open", Urgency: "Low"}
	changes := []struct {
		what          string
		before, after *payload.Ticket
		attrs         [2]trigger.Attrs
	}{
		{"1042 created by email, tagged refund", nil, open, [2]trigger.Attrs{nil, created}},
		{"1042 tagged vip and assigned to ann (billing)", open, open, [2]trigger.Attrs{created, vip}},
		{"1042 resolved, tags cleared", open, withStatus(open, "Resolved"), [2]trigger.Attrs{vip, resolved}},
		{"1043 assigned to bob (team it): nothing fires", other, other, [2]trigger.Attrs{
			{"team": "it", "uuid": "9b1d6c0a-2e4f-4a8b-b3c5-7d9e0f1a2b3c"},
			{"team": "it", "uuid": "9b1d6c0a-2e4f-4a8b-b3c5-7d9e0f1a2b3c", "assignee": "bob"}}},
	}
	for _, c := range changes {
		if err := engine.OnTicketChange(ctx, c.before, c.after, tickethooks.WithAttributes(c.attrs[0], c.attrs[1])); err != nil {
			return err
		}
		fmt.Println("Reported:", c.what)
	}

	entries, err := waitForDeliveries(ctx, cfg.Log, 10*time.Second)
	if err != nil {
		return err
	}
	// Deliveries run in parallel, so a receiver may get two changes of a
	// ticket out of order: requests are printed as they arrived.
	fmt.Println()
	for _, r := range receivers {
		r.print(os.Stdout)
	}
	printLog(os.Stdout, entries, receivers)

	// Everything delivered, nothing malformed, the subject intact.
	var problems []string
	for _, r := range receivers {
		problems = append(problems, r.problemList()...)
		for _, s := range r.subjectList() {
			if s != trickySubject {
				problems = append(problems, fmt.Sprintf("%s got the subject %q, want %q", r.name, s, trickySubject))
			}
		}
	}
	for _, e := range entries {
		if e.Status != executionlog.StatusSucceeded {
			problems = append(problems, fmt.Sprintf("delivery %s of %q for ticket %d is %s", e.ID, e.TriggerID, e.TicketID, e.Status))
		}
	}
	// What the changes fire: the tags sync (1), then Slack, Discord, Teams
	// and the tags sync (4), then the form update and the tags sync (2).
	for r, n := range map[*receiver]int{slack: 1, discord: 1, teams: 1, crm: 4} {
		if got := r.count(); got != n {
			problems = append(problems, fmt.Sprintf("%s received %d requests, want %d", r.name, got, n))
		}
	}
	if len(entries) != 7 {
		problems = append(problems, fmt.Sprintf("the log has %d entries, want 7", len(entries)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Printf("\nAll %d deliveries succeeded and every receiver got well-formed requests (%s).\n", len(entries), time.Since(start).Round(time.Millisecond))
	return nil
}

// with returns a copy of a with the values of changes set over it.
func with(a, changes trigger.Attrs) trigger.Attrs {
	c := make(trigger.Attrs, len(a)+len(changes))
	for k, v := range a {
		c[k] = v
	}
	for k, v := range changes {
		c[k] = v
	}
	return c
}

// withStatus returns a copy of t with another status.
func withStatus(t *payload.Ticket, status string) *payload.Ticket {
	c := t.Clone()
	c.Status = status
	return c
}

// waitForDeliveries polls the log until no entry is pending.
func waitForDeliveries(ctx context.Context, l executionlog.Log, limit time.Duration) ([]executionlog.Entry, error) {
	deadline := time.Now().Add(limit)
	for {
		page, err := l.Query(ctx, executionlog.Filter{})
		if err != nil {
			return nil, err
		}
		pending := 0
		for _, e := range page.Entries {
			if e.Status == executionlog.StatusPending {
				pending++
			}
		}
		if pending == 0 {
			slices.Reverse(page.Entries) // oldest first
			return page.Entries, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d deliveries still pending after %v", pending, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printLog prints the execution log, oldest first.
func printLog(w io.Writer, entries []executionlog.Entry, receivers []*receiver) {
	fmt.Fprintln(w, "Webhook Execution Log")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TICKET\tTRIGGER\tACTION\tRECEIVER\tLOGGED URL\tSTATUS\tHTTP")
	for _, e := range entries {
		name := "?"
		for _, r := range receivers {
			if strings.HasPrefix(e.URL, r.srv.URL) {
				name = r.name
			}
		}
		var codes []string
		for _, a := range e.Attempts {
			codes = append(codes, strconv.Itoa(a.StatusCode))
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", e.TicketID, e.TriggerID, e.ActionIndex, name, e.URL, e.Status, strings.Join(codes, " -> "))
	}
	tw.Flush()
}

// A receiver imitates one service: it checks each request as the service
// would, records a short summary of the good ones and the problems of the
// others (answered 400), and the subjects it saw.
type receiver struct {
	name string
	srv  *httptest.Server

	mu       sync.Mutex
	got      []string
	problems []string
	subjects []string
}

// check validates one request; it returns a summary of it and the ticket
// subjects it carries, or what is wrong with it.
type check func(r *http.Request, body []byte) (summary string, subjects []string, err error)

func newReceiver(name string, c check) *receiver {
	rc := &receiver{name: name}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var summary string
		var subjects []string
		if err == nil {
			summary, subjects, err = c(r, body)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.problems = append(rc.problems, fmt.Sprintf("%s: %s %s: %v", name, r.Method, r.URL.Path, err))
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.got = append(rc.got, summary)
		rc.subjects = append(rc.subjects, subjects...)
		fmt.Fprint(w, "ok")
	}))
	return rc
}

func (rc *receiver) close() { rc.srv.Close() }

func (rc *receiver) problemList() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.problems)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got) + len(rc.problems)
}

func (rc *receiver) subjectList() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.subjects)
}

func (rc *receiver) print(w io.Writer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fmt.Fprintf(w, "%s received %d request(s), in arrival order:\n", rc.name, len(rc.got))
	for _, g := range rc.got {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(g, "\n", "\n  "))
	}
	fmt.Fprintln(w)
}

// wantRequest checks the method and the media type of a request.
func wantRequest(r *http.Request, method, mediaType string) error {
	if r.Method != method {
		return fmt.Errorf("method %s, want %s", r.Method, method)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaType {
		return fmt.Errorf("Content-Type %q, want %s", r.Header.Get("Content-Type"), mediaType)
	}
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown keys,
// values of the wrong type and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return errors.New("body: data after the JSON value")
	}
	return nil
}

// slackLink matches Slack's link syntax, <url|label>.
var slackLink = regexp.MustCompile(`<https://[^|<>]+\|[^<>]+>`)

// checkMrkdwn checks that mrkdwn text has no < or > outside links, which
// Slack would read as markup. (Text from customers goes in plain_text.)
func checkMrkdwn(text string) error {
	if strings.ContainsAny(slackLink.ReplaceAllString(text, ""), "<>") {
		return fmt.Errorf("mrkdwn %q has an unescaped < or >", text)
	}
	return nil
}

// checkSlack imitates a Slack incoming webhook: POST, JSON {"text": ...}
// with optional Block Kit blocks (sections and contexts here).
func checkSlack(r *http.Request, body []byte) (string, []string, error) {
	if err := wantRequest(r, http.MethodPost, "application/json"); err != nil {
		return "", nil, err
	}
	type textObject struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	var msg struct {
		Text   *string `json:"text"`
		Blocks []struct {
			Type     string       `json:"type"`
			Text     *textObject  `json:"text"`
			Elements []textObject `json:"elements"`
		} `json:"blocks"`
	}
	if err := decodeStrict(body, &msg); err != nil {
		return "", nil, err
	}
	if msg.Text == nil || *msg.Text == "" {
		return "", nil, errors.New(`"text" is missing`)
	}
	if err := checkMrkdwn(*msg.Text); err != nil {
		return "", nil, err
	}
	var lines, subjects []string
	check := func(at string, t textObject) error {
		switch t.Type {
		case "mrkdwn":
			if err := checkMrkdwn(t.Text); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		case "plain_text":
		default:
			return fmt.Errorf("%s: text object of type %q", at, t.Type)
		}
		if t.Text == "" {
			return fmt.Errorf("%s: empty text", at)
		}
		lines = append(lines, fmt.Sprintf("%s %s: %q", at, t.Type, t.Text))
		return nil
	}
	for i, b := range msg.Blocks {
		at := fmt.Sprintf("blocks[%d] %s", i, b.Type)
		switch {
		case b.Type == "section" && b.Text != nil:
			if err := check(at, *b.Text); err != nil {
				return "", nil, err
			}
			if b.Text.Type == "plain_text" {
				subjects = append(subjects, b.Text.Text)
			}
		case b.Type == "context" && len(b.Elements) > 0:
			for _, e := range b.Elements {
				if err := check(at, e); err != nil {
					return "", nil, err
				}
			}
		default:
			return "", nil, fmt.Errorf("%s: unsupported block", at)
		}
	}
	return fmt.Sprintf("POST text: %q\n     %s", *msg.Text, strings.Join(lines, "\n     ")), subjects, nil
}

// checkDiscord imitates a Discord webhook: POST, JSON {"content": ...,
// "embeds": [{"title", "url", "fields": [{"name", "value", "inline"}]}]}.
func checkDiscord(r *http.Request, body []byte) (string, []string, error) {
	if err := wantRequest(r, http.MethodPost, "application/json"); err != nil {
		return "", nil, err
	}
	var msg struct {
		Content *string `json:"content"`
		Embeds  []struct {
			Title  string `json:"title"`
			URL    string `json:"url"`
			Fields []struct {
				Name   string `json:"name"`
				Value  string `json:"value"`
				Inline bool   `json:"inline"`
			} `json:"fields"`
		} `json:"embeds"`
	}
	if err := decodeStrict(body, &msg); err != nil {
		return "", nil, err
	}
	if (msg.Content == nil || *msg.Content == "") && len(msg.Embeds) == 0 {
		return "", nil, errors.New(`neither "content" nor "embeds"`)
	}
	if len(msg.Embeds) != 1 {
		return "", nil, fmt.Errorf("%d embeds, want 1", len(msg.Embeds))
	}
	e := msg.Embeds[0]
	if e.Title == "" || len(e.Title) > 256 {
		return "", nil, fmt.Errorf("embed title of %d bytes, want 1 to 256", len(e.Title))
	}
	var fields []string
	for i, f := range e.Fields {
		if f.Name == "" || f.Value == "" { // Discord answers 400 to an empty field
			return "", nil, fmt.Errorf("embeds[0].fields[%d]: name and value are required", i)
		}
		fields = append(fields, f.Name+"="+f.Value)
	}
	return fmt.Sprintf("POST content: %q\n     embed title: %q\n     fields: %s", *msg.Content, e.Title, strings.Join(fields, " | ")),
		[]string{e.Title}, nil
}

// checkTeams imitates a Microsoft Teams incoming webhook: POST, JSON
// {"type": "message", "attachments": [{"contentType":
// "application/vnd.microsoft.card.adaptive", "content": AdaptiveCard}]}.
func checkTeams(r *http.Request, body []byte) (string, []string, error) {
	if err := wantRequest(r, http.MethodPost, "application/json"); err != nil {
		return "", nil, err
	}
	type element struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Size   string `json:"size"`
		Weight string `json:"weight"`
		Wrap   bool   `json:"wrap"`
		Facts  []struct {
			Title string `json:"title"`
			Value string `json:"value"`
		} `json:"facts"`
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Schema  string    `json:"$schema"`
				Type    string    `json:"type"`
				Version string    `json:"version"`
				Body    []element `json:"body"`
				Actions []struct {
					Type  string `json:"type"`
					Title string `json:"title"`
					URL   string `json:"url"`
				} `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := decodeStrict(body, &msg); err != nil {
		return "", nil, err
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 {
		return "", nil, fmt.Errorf(`type %q with %d attachments, want "message" with 1`, msg.Type, len(msg.Attachments))
	}
	a := msg.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version == "" {
		return "", nil, fmt.Errorf("attachment %q of type %q version %q is not an Adaptive Card", a.ContentType, a.Content.Type, a.Content.Version)
	}
	var texts, facts, subjects []string
	for i, e := range a.Content.Body {
		switch e.Type {
		case "TextBlock":
			if e.Text == "" {
				return "", nil, fmt.Errorf("body[%d]: TextBlock without text", i)
			}
			texts = append(texts, fmt.Sprintf("%q", e.Text))
			if i == 1 {
				subjects = append(subjects, e.Text)
			}
		case "FactSet":
			for _, f := range e.Facts {
				facts = append(facts, f.Title+"="+f.Value)
			}
		default:
			return "", nil, fmt.Errorf("body[%d]: unsupported element %q", i, e.Type)
		}
	}
	return fmt.Sprintf("POST Adaptive Card %s: %s\n     facts: %s, %d action(s)", a.Content.Version, strings.Join(texts, ", "), strings.Join(facts, " | "), len(a.Content.Actions)),
		subjects, nil
}

// uuidPattern matches a UUID in its canonical form.
var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkCRM imitates the CRM: signed requests with its API key, a JSON
// sync at POST /api/sync and form updates at PUT /crm/tickets.
func checkCRM(r *http.Request, body []byte) (string, []string, error) {
	if r.Header.Get("Authorization") != "Bearer crm-api-key" {
		return "", nil, errors.New("no API key")
	}
	if err := webhook.Verify(r.Header, body, []string{crmSecret}, nil); err != nil {
		return "", nil, err
	}
	switch r.URL.Path {
	case "/api/sync":
		if err := wantRequest(r, http.MethodPost, "application/json"); err != nil {
			return "", nil, err
		}
		var sync struct {
			ExternalID *string   `json:"external_id"`
			Status     *string   `json:"status"`
			Tags       *[]string `json:"tags"`
		}
		if err := decodeStrict(body, &sync); err != nil {
			return "", nil, err
		}
		switch {
		case sync.ExternalID == nil || !uuidPattern.MatchString(*sync.ExternalID):
			return "", nil, errors.New(`"external_id" must be a UUID`)
		case sync.Status == nil || *sync.Status == "":
			return "", nil, errors.New(`"status" is required`)
		case sync.Tags == nil:
			return "", nil, errors.New(`"tags" must be a list`) // null included
		}
		return fmt.Sprintf("POST /api/sync (JSON, signature verified): %s", body), nil, nil
	case "/crm/tickets":
		if err := wantRequest(r, http.MethodPut, "application/x-www-form-urlencoded"); err != nil {
			return "", nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, err
		}
		for _, k := range []string{"uuid", "status", "assignee", "team", "messages", "subject", "trigger"} {
			if len(form[k]) != 1 {
				return "", nil, fmt.Errorf("form key %q given %d times, want once", k, len(form[k]))
			}
		}
		if len(form) != 7 {
			return "", nil, fmt.Errorf("form has %d keys, want 7", len(form))
		}
		if !uuidPattern.MatchString(form.Get("uuid")) {
			return "", nil, fmt.Errorf("uuid %q is not a UUID", form.Get("uuid"))
		}
		if _, err := strconv.Atoi(form.Get("messages")); err != nil {
			return "", nil, fmt.Errorf("messages %q is not a number", form.Get("messages"))
		}
		return fmt.Sprintf("PUT /crm/tickets/%s (form, signature verified): status=%s assignee=%s team=%s messages=%s trigger=%s\n     subject: %q",
				form.Get("uuid"), form.Get("status"), form.Get("assignee"), form.Get("team"), form.Get("messages"), form.Get("trigger"), form.Get("subject")),
			[]string{form.Get("subject")}, nil
	}
	return "", nil, fmt.Errorf("no such endpoint")
}
