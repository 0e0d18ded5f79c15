package trigger_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// FuzzParse checks that Parse never panics, and that what it accepts can be
// evaluated, encoded and parsed again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specJSON))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id": "a", "actions": [{"type": "note", "text": "x"}]}]`))
	f.Add([]byte(`[{"id": "a", "expression": "Previous.Status == \"x\"", "actions": [{"type": "note", "text": "x"}]}]`))
	f.Add([]byte(`[{"id": "a", "expression": "Changed(\"Status\") && ChangedTo(\"SlaSolutionTime\", 5) || CustomField(3) contains \"x\"", "actions": [{"type": "custom", "k": [1, {"a": null}]}]}]`))
	f.Add([]byte(`[{"id": "a", "on": ["updated"], "conditions": {"any": [{"field": "CustomField:9", "operator": "not_changed_from", "value": "x"}, {"field": "Event", "operator": "is", "value": "created"}]}, "actions": [{"type": "webhook", "url": "https://h/p", "headers": {"A": "b"}}]}]`))
	f.Add([]byte(`[{"id": 5, "enabled": "no", "conditions": [], "actions": {}}, 7, null]`))
	f.Add([]byte("[\n{\"id\": \"x\",}\n]"))
	f.Add([]byte(`[{"id":"a","conditions":{"all":[{"field":"Subject","operator":"contains","value":"\u212a"}]},"actions":[{"type":"note","text":"x"}]}]`))
	f.Add([]byte(`[{"id": "s", "actions": [{"type": "webhook", "url": "https://example.com/h", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"]}]}]`))
	f.Add([]byte(`[{"id": "s", "actions": [{"type": "webhook", "url": "https://example.com/h", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}]}]`))
	f.Add([]byte(`[{"id": "i", "actions": [{"type": "webhook", "url": "http://[::ffff:127.0.0.1]:8080/h"}, {"type": "webhook", "url": "http://10.1.2.3/h"}]}]`))
	f.Add([]byte(`[{"id": "i", "actions": [{"type": "webhook", "url": "http://0x0a.1:80/h"}]}]`))
	f.Add([]byte(`[{"id": "t", "conditions": {"all": [{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}]}, "expression": "Attr.team == \"b\" && Changed(\"Attr.tags\")", "actions": [{"type": "webhook", "url": "https://h/p", "method": "PUT", "body": "{\"t\": Attr.tags, \"s\": Ticket.Subject, \"id\": Trigger.ID}"}]}]`))
	f.Add([]byte(`[{"id": "f", "actions": [{"type": "webhook", "url": "https://h/p", "content_type": "application/x-www-form-urlencoded", "body": "{\"a\": Attr.level, \"b\": PreviousAttr.team}"}]}]`))

	// 10.0.0.0/8 is allowed, so that URLs naming it literally load.
	opts := &trigger.Options{ActionTypes: []string{"custom"}, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Attributes: []trigger.Attribute{{Name: "team", Type: trigger.AttrString}, {Name: "tags", Type: trigger.AttrList},
			{Name: "level", Type: trigger.AttrInt}, {Name: "vip", Type: trigger.AttrBool}, {Name: "due", Type: trigger.AttrTime}}}
	before := &payload.Ticket{Id: 1, Status: "Open", Subject: "Kelvin \u212a", Actions: []payload.Action{{Id: 1}},
		CustomFieldValues: []payload.CustomFieldValue{{CustomFieldId: 9, Value: "x"}}}
	after := &payload.Ticket{Id: 1, Status: "Resolved", Subject: "kelvin k", SlaSolutionTime: 5}
	events := []*trigger.Event{trigger.NewEvent(nil, after), trigger.NewEvent(before, after), trigger.NewEvent(after, before)}
	events[1].BeforeAttrs = trigger.Attrs{"team": "a\"<b>", "tags": []string{"x"}, "level": 2}
	events[1].AfterAttrs = trigger.Attrs{"team": "b", "tags": []string{"x", "vip"}, "vip": true, "due": time.Unix(1e9, 0)}

	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := trigger.Parse(data, opts)
		if err != nil {
			if set != nil {
				t.Fatal("Parse returned a Set and an error")
			}
			_ = err.Error()
			return
		}
		defs := []trigger.Definition{}
		for _, tr := range set.Triggers() {
			for _, ev := range events {
				tr.Match(ev)
				_, _ = tr.Evaluate(ev)
				for i := range tr.Actions {
					if tr.Actions[i].Type != trigger.ActionWebhook {
						continue
					}
					body, ct, err := tr.Actions[i].Render(ev, tr)
					switch {
					case err != nil:
					case len(body) > trigger.MaxRenderedBody:
						t.Fatalf("Render wrote %d bytes", len(body))
					case ct == trigger.ContentTypeJSON && !json.Valid(body):
						t.Fatalf("Render wrote invalid JSON: %q", body)
					}
				}
			}
			defs = append(defs, tr.Definition())
		}
		data2, err := json.Marshal(defs)
		if err != nil {
			t.Fatalf("Marshal(definitions): %v", err)
		}
		if _, err := trigger.Parse(data2, opts); err != nil {
			t.Fatalf("Parse(Marshal(definitions)): %v\ninput: %q\nencoded: %s", err, data, data2)
		}
	})
}
