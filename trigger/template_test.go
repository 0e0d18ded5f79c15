package trigger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// templated returns a definition with one webhook action changed by mod.
func templated(mod func(*trigger.ActionDefinition)) trigger.Definition {
	a := trigger.ActionDefinition{Type: trigger.ActionWebhook, URL: "https://example.com/hooks"}
	mod(&a)
	return trigger.Definition{ID: "t", Name: "Notify", Actions: []trigger.ActionDefinition{a}}
}

// templateAttrs declares the attributes the template tests read.
var templateAttrs = []trigger.Attribute{{Name: "assignee", Type: trigger.AttrString}, {Name: "tags", Type: trigger.AttrList},
	{Name: "escalations", Type: trigger.AttrInt}}

// loadError is the part of a load error the tests compare.
type loadError struct {
	Path         string
	Line, Column int
	Msg          string // a prefix of the cause
}

func TestTemplateLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*trigger.ActionDefinition)
		opts *trigger.Options
		want []loadError
	}{
		{"bad syntax", func(a *trigger.ActionDefinition) { a.Body = `{"text": Ticket.Subject +}` },
			nil, []loadError{{"actions[0].body", 1, 26, "unexpected token"}}},
		{"unknown field", func(a *trigger.ActionDefinition) { a.Body = "{\n\"text\": Ticket.Subjet}" },
			nil, []loadError{{"actions[0].body", 2, 16, "type payload.Ticket has no field Subjet"}}},
		{"unknown attribute", func(a *trigger.ActionDefinition) { a.Body = `{"who": Attr.asignee}` },
			&trigger.Options{Attributes: templateAttrs}, []loadError{{"actions[0].body", 1, 14, `unknown attribute "asignee"`}}},
		{"attribute of the wrong type", func(a *trigger.ActionDefinition) { a.Body = `{"n": Attr.escalations + "x"}` },
			&trigger.Options{Attributes: templateAttrs}, []loadError{{"actions[0].body", 1, 24, "invalid operation: + (mismatched types int and string)"}}},
		{"too costly", func(a *trigger.ActionDefinition) {
			a.Body = `map(1..100000, map(1..100000, Ticket.Subject))`
		}, nil, []loadError{{"actions[0].body", 1, 16, "map() can take"}}},
		{"unbounded range", func(a *trigger.ActionDefinition) { a.Body = `{"n": 1..Ticket.Id}` },
			nil, []loadError{{"actions[0].body", 1, 8, "the range 1..Ticket.Id can hold an unbounded number of ints"}}},
		{"repeat is not allowed", func(a *trigger.ActionDefinition) { a.Body = `{"x": repeat("x", 1000000000)}` },
			nil, []loadError{{"actions[0].body", 1, 7, "unknown name repeat"}}},
		{"too long", func(a *trigger.ActionDefinition) { a.Body = `"` + strings.Repeat("x", 100) + `"` },
			&trigger.Options{MaxTemplateLength: 64}, []loadError{{"actions[0].body", 0, 0, "is 102 bytes long; the limit is 64"}}},
		{"too many nodes", func(a *trigger.ActionDefinition) { a.Body = strings.Repeat("1 + ", 20) + "1" },
			&trigger.Options{MaxNodes: 10}, []loadError{{"actions[0].body", 1, 23, "compilation failed: expression exceeds maximum allowed nodes"}}},
		{"blank", func(a *trigger.ActionDefinition) { a.Body = "  " },
			nil, []loadError{{"actions[0].body", 0, 0, "is empty"}}},
		{"bad method", func(a *trigger.ActionDefinition) { a.Method = "DELETE" },
			nil, []loadError{{"actions[0].method", 0, 0, `unknown method "DELETE"`}}},
		{"lower-case method", func(a *trigger.ActionDefinition) { a.Method = "put" },
			nil, []loadError{{"actions[0].method", 0, 0, `unknown method "put"`}}},
		{"bad content type", func(a *trigger.ActionDefinition) { a.ContentType = "text/plain"; a.Body = `"hi"` },
			nil, []loadError{{"actions[0].content_type", 0, 0, `unknown content type "text/plain"`}}},
		{"form without a body", func(a *trigger.ActionDefinition) { a.ContentType = trigger.ContentTypeForm },
			nil, []loadError{{"actions[0].content_type", 0, 0, "application/x-www-form-urlencoded needs a body template"}}},
		{"form with a string", func(a *trigger.ActionDefinition) {
			a.ContentType = trigger.ContentTypeForm
			a.Body = `Ticket.Subject + "!"`
		}, nil, []loadError{{"actions[0].body", 1, 1, "an application/x-www-form-urlencoded body must be a map of names to values, not string"}}},
		{"form with a list", func(a *trigger.ActionDefinition) {
			a.ContentType = trigger.ContentTypeForm
			a.Body = `[1, 2]`
		}, nil, []loadError{{"actions[0].body", 1, 1, "an application/x-www-form-urlencoded body must be a map of names to values, not []interface {}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Compile([]trigger.Definition{templated(tt.mod)}, tt.opts)
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Fatalf("Compile = %v, want an error matching ErrInvalid", err)
			}
			var got []loadError
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var te *trigger.Error
				if !errors.As(e, &te) {
					t.Fatalf("%v is not a *trigger.Error", e)
				}
				msg := te.Err.Error()
				for _, w := range tt.want {
					if strings.HasPrefix(msg, w.Msg) {
						msg = w.Msg
					}
				}
				got = append(got, loadError{te.Path, te.Line, te.Column, msg})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compile errors mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestTemplateKeysRefusedOnOtherActions(t *testing.T) {
	t.Parallel()
	def := trigger.Definition{ID: "t", Actions: []trigger.ActionDefinition{{Type: trigger.ActionNote, Text: "hi",
		Body: `"x"`, Method: "PUT", ContentType: trigger.ContentTypeJSON}}}
	_, err := trigger.Compile([]trigger.Definition{def}, nil)
	want := []string{
		`trigger "t": actions[0]: body does not apply to a note action`,
		`trigger "t": actions[0]: method does not apply to a note action`,
		`trigger "t": actions[0]: content_type does not apply to a note action`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("Compile errors mismatch (-want +got):\n%s", diff)
	}
}

func TestTemplateParseRoundTrip(t *testing.T) {
	t.Parallel()
	src := `[{"id":"t","actions":[{"type":"webhook","url":"https://example.com/hooks","body":"{\"id\": Ticket.Id}","method":"PATCH","content_type":"application/json"}]}]`
	set, err := trigger.Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	a := tr.Actions[0]
	if a.Method != trigger.MethodPatch || a.ContentType != trigger.ContentTypeJSON || a.Body.Source() != `{"id": Ticket.Id}` {
		t.Errorf("action = %q %q %q; want PATCH, application/json and the template's text", a.Method, a.ContentType, a.Body.Source())
	}
	def := tr.Definition()
	if got := def.Actions[0]; got.Body != `{"id": Ticket.Id}` || got.Method != "PATCH" || got.ContentType != trigger.ContentTypeJSON {
		t.Errorf("Definition().Actions[0] = %+v", got)
	}
	out, err := json.Marshal(def.Actions[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"webhook","url":"https://example.com/hooks","body":"{\"id\": Ticket.Id}","method":"PATCH","content_type":"application/json"}`; string(out) != want {
		t.Errorf("encoded action = %s\nwant %s", out, want)
	}
}

// render compiles one webhook action changed by mod and renders it for ev.
func render(t *testing.T, mod func(*trigger.ActionDefinition), ev *trigger.Event) ([]byte, string, error) {
	t.Helper()
	set, err := trigger.Compile([]trigger.Definition{templated(mod)}, &trigger.Options{Attributes: templateAttrs})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	tr := set.Triggers()[0]
	return tr.Actions[0].Render(ev, tr)
}

// nasty holds every JSON-special and control character.
func nasty() string {
	var b strings.Builder
	for r := rune(0); r < 0x20; r++ {
		b.WriteRune(r)
	}
	b.WriteString(`"\/<>&'` + "\u2028\u2029\u007f" + `{"injected": true}` + "é€😀")
	return b.String()
}

func TestRenderJSONInjection(t *testing.T) {
	t.Parallel()
	text := nasty()
	for _, tt := range []struct {
		name string
		in   string
		want string // what decoding gives back
	}{
		{"JSON-special and control characters", text, text},
		// Invalid UTF-8 becomes U+FFFD, as encoding/json writes it.
		{"invalid UTF-8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after := ticket("Open", func(p *payload.Ticket) { p.Subject = tt.in })
			ev := trigger.NewEvent(nil, after)
			ev.AfterAttrs = trigger.Attrs{"assignee": tt.in}
			defer ev.Release()
			body, ct, err := render(t, func(a *trigger.ActionDefinition) {
				a.Body = `{"text": "Ticket " + Ticket.Subject + "!", "who": Attr.assignee, "list": [Ticket.Subject], "nested": {"s": Attr.assignee}}`
			}, ev)
			if err != nil || ct != trigger.ContentTypeJSON {
				t.Fatalf("Render = %q, %v; want a JSON body", ct, err)
			}
			if !json.Valid(body) || !utf8.Valid(body) {
				t.Fatalf("body is not valid JSON: %q", body)
			}
			if bytes.HasSuffix(body, []byte("\n")) {
				t.Errorf("body ends with a newline")
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"text": "Ticket " + tt.want + "!", "who": tt.want, "list": []any{tt.want},
				"nested": map[string]any{"s": tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded body mismatch (-want +got):\n%s\nbody: %s", diff, body)
			}
			// Not HTML-escaped; U+2028 and U+2029 escaped, as encoding/json does.
			if tt.in == text && (!bytes.Contains(body, []byte("<>&")) || !bytes.Contains(body, []byte(`\u2028\u2029`))) {
				t.Errorf("body %q: want <>& as is and U+2028/2029 escaped", body)
			}
		})
	}
}

func TestRenderValues(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)
	before := ticket("Open")
	after := ticket("Resolved", func(p *payload.Ticket) { p.WebhookEvents = []payload.WebhookEvent{{Criteria: payload.CriteriaStatus}} })
	ev := trigger.NewEvent(before, after)
	ev.AfterAttrs = trigger.Attrs{"tags": []string{"vip", "billing"}}
	defer ev.Release()
	body, _, err := render(t, func(a *trigger.ActionDefinition) {
		a.Body = `{"ticket": Ticket, "previous": Previous, "event": Event, "changed": Changed("Status"), "tags": Attr.tags,
			"trigger": Trigger, "at": date("2026-12-04T18:30:00Z"), "n": 1.5, "none": nil}`
	}, ev)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	packet, _ := payload.Encode(after)
	prev, _ := payload.Encode(before)
	want := map[string]string{
		"ticket": string(packet), "previous": string(prev), "event": `"updated"`, "changed": "true",
		"tags": `["vip","billing"]`, "trigger": `{"ID":"t","Name":"Notify"}`, "at": `"` + at.Format(time.RFC3339) + `"`,
		"n": "1.5", "none": "null",
	}
	gotS := map[string]string{}
	for k, v := range got {
		gotS[k] = string(v)
	}
	if diff := cmp.Diff(want, gotS); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestRenderForm(t *testing.T) {
	t.Parallel()
	text := nasty()
	after := ticket("Open", func(p *payload.Ticket) { p.Subject = text })
	ev := trigger.NewEvent(nil, after)
	ev.AfterAttrs = trigger.Attrs{"assignee": "a&b=c", "escalations": 3}
	defer ev.Release()
	body, ct, err := render(t, func(a *trigger.ActionDefinition) {
		a.ContentType = trigger.ContentTypeForm
		a.Body = `{"subject": Ticket.Subject, "who": Attr.assignee, "n": Attr.escalations, "f": 2.5, "big": 1e21, "ok": true, "none": nil, "trigger": Trigger.Name}`
	}, ev)
	if err != nil || ct != trigger.ContentTypeForm {
		t.Fatalf("Render = %q, %v", ct, err)
	}
	got, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", body, err)
	}
	want := url.Values{"subject": {text}, "who": {"a&b=c"}, "n": {"3"}, "f": {"2.5"}, "big": {"1e+21"}, "ok": {"true"}, "none": {""}, "trigger": {"Notify"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("form mismatch (-want +got):\n%s", diff)
	}
	if want := "big=1e%2B21&f=2.5&n=3&none=&ok=true&"; !strings.HasPrefix(string(body), want) {
		t.Errorf("body %q does not start with %q (sorted keys)", body, want)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, ct string
		before         *payload.Ticket
		want           string
	}{
		{"form value not flat", `{"tags": Attr.tags}`, trigger.ContentTypeForm, nil,
			`body template: key "tags": a form value must be a string, number, bool or nil, not []string`},
		{"form value a map", `{"m": {"a": 1}}`, trigger.ContentTypeForm, nil,
			`body template: key "m": a form value must be a string, number, bool or nil, not map[string]interface {}`},
		{"form not a map at run time", `Ticket.Id > 0 ? "x" : {}`, trigger.ContentTypeForm, nil,
			`body template: an application/x-www-form-urlencoded body must be a map of names to values, not string`},
		{"runtime error", `{"s": Previous.Subject}`, "", nil,
			`body template: line 1, column 7: cannot get Subject from Previous`},
		{"NaN", `{"n": 0.0 / 0.0}`, "", nil,
			`body template: cannot encode the value as JSON: json: unsupported value: NaN`},
		{"too big", `[Ticket.Subject, Ticket.Subject]`, "", nil,
			"body template: the body would be more than 262144 bytes long (MaxRenderedBody)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after := ticket("Open", func(p *payload.Ticket) { p.Subject = strings.Repeat("x", 150000) })
			ev := trigger.NewEvent(tt.before, after)
			ev.AfterAttrs = trigger.Attrs{"tags": []string{"a"}}
			defer ev.Release()
			body, _, err := render(t, func(a *trigger.ActionDefinition) { a.Body, a.ContentType = tt.body, tt.ct }, ev)
			var re *trigger.RenderError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), tt.want) || body != nil {
				t.Errorf("Render = %q, %v; want an error starting %q", body, err, tt.want)
			}
		})
	}
}

func TestRenderDefaultPacket(t *testing.T) {
	t.Parallel()
	after := ticket("Open", func(p *payload.Ticket) {
		p.Subject = nasty()
		p.Actions = []payload.Action{{Id: 1, Description: "<b>hi</b>"}}
	})
	ev := trigger.NewEvent(nil, after)
	// Attributes never enter the packet.
	ev.AfterAttrs = trigger.Attrs{"assignee": "attr-secret-value", "tags": []string{"attr-secret-tag"}}
	ev.BeforeAttrs = trigger.Attrs{"assignee": "attr-old-value"}
	defer ev.Release()
	set, err := trigger.Compile([]trigger.Definition{{ID: "t", Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{
		{Field: "Attr.assignee", Operator: "is_not", Value: raw("")}}},
		Actions: []trigger.ActionDefinition{{Type: trigger.ActionWebhook, URL: "https://example.com/hooks"}}}},
		&trigger.Options{Attributes: templateAttrs})
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	body, ct, err := tr.Actions[0].Render(ev, tr)
	if err != nil || ct != trigger.ContentTypeJSON {
		t.Fatalf("Render = %q, %v", ct, err)
	}
	packet := *after
	packet.WebhookEvents = tr.WebhookEvents()
	want, err := payload.Encode(&packet)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("Render body:\n%s\nwant payload.Encode:\n%s", body, want)
	}
	for _, s := range []string{"attr-", "assignee", "tags", "Attr"} {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("packet %s holds %q", body, s)
		}
	}
	// Without a trigger, the ticket's own WebhookEvents are kept.
	body, _, err = tr.Actions[0].Render(ev, nil)
	if want, _ := payload.Encode(after); err != nil || !bytes.Equal(body, want) {
		t.Errorf("Render(nil trigger) = %s, %v; want %s", body, err, want)
	}
}

func TestRenderConcurrent(t *testing.T) {
	t.Parallel()
	set, err := trigger.Compile([]trigger.Definition{templated(func(a *trigger.ActionDefinition) {
		a.Body = `{"id": Ticket.Id, "changed": Changed("Status")}`
	})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	ev := trigger.NewEvent(ticket("Open"), ticket("Resolved"))
	defer ev.Release()
	done := make(chan []byte)
	for range 8 {
		go func() {
			var last []byte
			for range 50 {
				tr.Match(ev)
				last, _, _ = tr.Actions[0].Render(ev, tr)
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; string(got) != `{"changed":true,"id":42}` {
			t.Errorf("Render = %s", got)
		}
	}
}

func TestMaxTemplateLength(t *testing.T) {
	t.Parallel()
	if _, err := trigger.Compile(nil, &trigger.Options{MaxTemplateLength: -1}); !errors.Is(err, trigger.ErrInvalid) {
		t.Errorf("Compile(MaxTemplateLength -1) = %v, want ErrInvalid", err)
	}
	long := `"` + strings.Repeat("x", trigger.DefaultMaxTemplateLength-2) + `"`
	if _, err := trigger.Compile([]trigger.Definition{templated(func(a *trigger.ActionDefinition) { a.Body = long })}, nil); err != nil {
		t.Errorf("a template of DefaultMaxTemplateLength bytes: %v", err)
	}
	_, err := trigger.Compile([]trigger.Definition{templated(func(a *trigger.ActionDefinition) { a.Body = long + " " })}, nil)
	if want := `trigger "t": actions[0].body: is 16385 bytes long; the limit is 16384`; err == nil || err.Error() != want {
		t.Errorf("a template one byte too long: %v, want %s", err, want)
	}
}
