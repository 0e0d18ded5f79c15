package trigger_test

import (
	"encoding/json"
	"testing"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// attrCases are attribute conditions, each beside a packet-field
// condition of the same operator.
var attrCases = []struct {
	name        string
	attr, field []map[string]any
}{
	{"is",
		[]map[string]any{{"field": "Attr.team", "operator": "is", "value": "billing"}},
		[]map[string]any{{"field": "Urgency", "operator": "is", "value": "Critical"}}},
	{"changed_to",
		[]map[string]any{{"field": "Attr.assignee", "operator": "changed_to", "value": "ann"}},
		[]map[string]any{{"field": "Status", "operator": "changed_to", "value": "Resolved"}}},
	{"greater_than",
		[]map[string]any{{"field": "Attr.level", "operator": "greater_than", "value": 2}},
		[]map[string]any{{"field": "SlaSolutionTime", "operator": "greater_than", "value": 60}}},
	{"includes", // against a custom field, the packet's nearest thing to a tag
		[]map[string]any{{"field": "Attr.tags", "operator": "includes", "value": "vip"}},
		[]map[string]any{{"field": "CustomField:12", "operator": "is", "value": "Gold"}}},
	{"tag_added",
		[]map[string]any{{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}},
		[]map[string]any{{"field": "Status", "operator": "changed_to", "value": "Resolved"}}},
	{"all_three",
		[]map[string]any{
			{"field": "Attr.assignee", "operator": "changed_to", "value": "ann"},
			{"field": "Attr.team", "operator": "is", "value": "billing"},
			{"field": "Attr.level", "operator": "greater_than", "value": 2}},
		[]map[string]any{
			{"field": "Status", "operator": "changed_to", "value": "Resolved"},
			{"field": "Urgency", "operator": "is", "value": "Critical"},
			{"field": "SlaSolutionTime", "operator": "greater_than", "value": 60}}},
}

// BenchmarkAttributeCondition measures Match on a trigger whose only
// test is one structured condition on a host attribute (impl=attr)
// beside the same operator on a packet field (impl=field), on
// suiteChange with five attributes and a list of five tags. An attribute
// is a map lookup (and a list a scan) where a field is a struct read, so
// the ratio is reported without a target; the target is 0 allocs.
func BenchmarkAttributeCondition(b *testing.B) {
	before, after := suiteChange()
	opts := &trigger.Options{Attributes: []trigger.Attribute{
		{Name: "assignee", Type: trigger.AttrString}, {Name: "team", Type: trigger.AttrString},
		{Name: "level", Type: trigger.AttrInt}, {Name: "tags", Type: trigger.AttrList},
		{Name: "uuid", Type: trigger.AttrString},
	}}
	uuid := "0b6e3f1c-7d7a-4d0e-9a57-0c3f9f0d1e55"
	beforeAttrs := trigger.Attrs{"team": "billing", "level": 3, "tags": []string{"refund", "eu", "printer", "q4", "sla"}, "uuid": uuid}
	afterAttrs := trigger.Attrs{"assignee": "ann", "team": "billing", "level": 3, "tags": []string{"refund", "eu", "printer", "q4", "vip"}, "uuid": uuid}
	for _, tc := range attrCases {
		for _, impl := range []string{"attr", "field"} {
			conds := tc.attr
			if impl == "field" {
				conds = tc.field
			}
			b.Run("op="+tc.name+"/impl="+impl, func(b *testing.B) {
				data, err := json.Marshal([]map[string]any{{"id": "s", "conditions": map[string]any{"all": conds}, "actions": webhookAction(0)}})
				if err != nil {
					b.Fatal(err)
				}
				set, err := trigger.Parse(data, opts)
				if err != nil {
					b.Fatal(err)
				}
				tr := set.Triggers()[0]
				ev := trigger.NewEvent(before, after)
				ev.BeforeAttrs, ev.AfterAttrs = beforeAttrs, afterAttrs
				b.ReportAllocs()
				for b.Loop() {
					if !tr.Match(ev) {
						b.Fatal("no match")
					}
				}
				reportPerCondition(b, len(conds))
			})
		}
	}
}

// renderCases are body templates measured by BenchmarkRender.
var renderCases = []struct{ name, body string }{
	{"slack", `{"text": "Ticket #" + string(Ticket.Id) + " (" + Ticket.Subject + ") is " + Ticket.Status}`},
	{"crm", `{"external_id": Attr.uuid, "number": Ticket.Id, "status": Ticket.Status, "urgency": Ticket.Urgency,
		"assignee": Attr.assignee, "team": Attr.team, "tags": Attr.tags, "trigger": Trigger.ID}`},
	{"packet", ""}, // no template: the data packet
}

// BenchmarkRender measures Action.Render of a webhook action's body on
// suiteChange (impl=ours: a Slack-shaped template, a CRM template of
// eight keys with attributes, and no template, which encodes the
// packet) beside payload.Encode of the same ticket (impl=encode), which
// is what the engine did for every webhook before templates.
func BenchmarkRender(b *testing.B) {
	before, after := suiteChange()
	opts := &trigger.Options{Attributes: []trigger.Attribute{
		{Name: "assignee", Type: trigger.AttrString}, {Name: "team", Type: trigger.AttrString},
		{Name: "tags", Type: trigger.AttrList}, {Name: "uuid", Type: trigger.AttrString},
	}}
	attrs := trigger.Attrs{"assignee": "ann", "team": "billing", "tags": []string{"refund", "vip"}, "uuid": "0b6e3f1c-7d7a-4d0e-9a57-0c3f9f0d1e55"}
	for _, tc := range renderCases {
		b.Run("body="+tc.name+"/impl=ours", func(b *testing.B) {
			action := map[string]any{"type": "webhook", "url": "https://hooks.example.com/x"}
			if tc.body != "" {
				action["body"] = tc.body
			}
			data, err := json.Marshal([]map[string]any{{"id": "r", "actions": []map[string]any{action}}})
			if err != nil {
				b.Fatal(err)
			}
			set, err := trigger.Parse(data, opts)
			if err != nil {
				b.Fatal(err)
			}
			tr := set.Triggers()[0]
			ev := trigger.NewEvent(before, after)
			ev.AfterAttrs = attrs
			defer ev.Release()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tr.Actions[0].Render(ev, tr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("impl=encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := payload.Encode(after); err != nil {
				b.Fatal(err)
			}
		}
	})
}
