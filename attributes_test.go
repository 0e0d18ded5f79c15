package tickethooks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// helpdeskAttributes are the attributes of a helpdesk's conversations
// that the packet does not have.
var helpdeskAttributes = []trigger.Attribute{
	{Name: "assignee", Type: trigger.AttrString},
	{Name: "team", Type: trigger.AttrString},
	{Name: "tags", Type: trigger.AttrList},
	{Name: "uuid", Type: trigger.AttrString},
}

// attrEngine starts an engine whose triggers read helpdeskAttributes:
// "tagged-vip" fires when the tag vip is added, "assigned" when the
// conversation is assigned to the billing team.
func attrEngine(t *testing.T, url string) (*tickethooks.Engine, executionlog.Log) {
	t.Helper()
	cfg := tickethooks.Config{Attributes: helpdeskAttributes, AllowNetworks: loopback}
	set, err := trigger.Parse(fmt.Appendf(nil, `[
		{"id": "tagged-vip", "conditions": {"all": [{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}]},
		 "actions": [{"type": "webhook", "url": %q}]},
		{"id": "assigned", "conditions": {"all": [{"field": "Attr.assignee", "operator": "changed"}, {"field": "Attr.assignee", "operator": "present"}]},
		 "expression": "Attr.team == \"billing\"",
		 "actions": [{"type": "webhook", "url": %[1]q}]}]`, url), cfg.TriggerOptions(trigger.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Triggers = trigger.NewStore(set)
	cfg.AllowNetworks = nil
	return newEngine(t, cfg)
}

func TestAttributesThroughTheEngine(t *testing.T) {
	rcv := newReceiver(t)
	e, log := attrEngine(t, rcv.URL)
	ctx := context.Background()
	tk := &payload.Ticket{Id: 9, Subject: "Refund", Status: "Open"}
	secret := "d3adbeef-uuid-never-in-the-packet"

	// Tag vip added: fires tagged-vip only.
	err := e.OnTicketChange(ctx, tk, tk, tickethooks.WithAttributes(
		trigger.Attrs{"tags": []string{"refund"}, "uuid": secret},
		trigger.Attrs{"tags": []string{"refund", "vip"}, "uuid": secret}))
	if err != nil {
		t.Fatal(err)
	}
	// Assigned within billing: fires assigned only.
	err = e.OnTicketChange(ctx, tk, tk, tickethooks.WithAttributes(
		trigger.Attrs{"tags": []string{"vip"}, "team": "billing", "uuid": secret},
		trigger.Attrs{"tags": []string{"vip"}, "team": "billing", "assignee": "ann", "uuid": secret}))
	if err != nil {
		t.Fatal(err)
	}
	// No attributes: nothing fires, as for a host that has none.
	if err := e.OnTicketChange(ctx, tk, tk); err != nil {
		t.Fatal(err)
	}
	entries := waitSettled(t, log, 2)
	var fired []string
	for _, en := range entries {
		fired = append(fired, en.TriggerID)
		if strings.Contains(string(en.RequestBody), secret) || strings.Contains(string(en.RequestBody), "billing") {
			t.Errorf("packet of %s carries an attribute: %s", en.TriggerID, en.RequestBody)
		}
		if _, err := payload.Decode(en.RequestBody); err != nil {
			t.Errorf("packet of %s: %v", en.TriggerID, err)
		}
	}
	if diff := cmp.Diff([]string{"tagged-vip", "assigned"}, fired); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	for _, r := range rcv.got() {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("receiver got an attribute: %s", r.body)
		}
	}
}

func TestAttributesRefused(t *testing.T) {
	rcv := newReceiver(t)
	e, log := attrEngine(t, rcv.URL)
	ctx := context.Background()
	tk := &payload.Ticket{Id: 9}
	for name, opt := range map[string]tickethooks.ChangeOption{
		"undeclared":  tickethooks.WithAttributes(nil, trigger.Attrs{"inbox": "email"}),
		"wrong type":  tickethooks.WithAttributes(nil, trigger.Attrs{"tags": "vip"}),
		"before side": tickethooks.WithAttributes(trigger.Attrs{"team": 3}, nil),
		"too long":    tickethooks.WithAttributes(nil, trigger.Attrs{"tags": make([]string, trigger.MaxListItems+1)}),
	} {
		err := e.OnTicketChange(ctx, nil, tk, opt)
		if !errors.Is(err, trigger.ErrAttribute) {
			t.Errorf("%s: err = %v, want trigger.ErrAttribute", name, err)
		}
	}
	page, err := log.Query(ctx, executionlog.Filter{AllTenants: true})
	if err != nil || len(page.Entries) != 0 {
		t.Errorf("refused changes recorded %d entries (%v)", len(page.Entries), err)
	}

	// An engine without declarations refuses values too.
	plain, _ := newEngine(t, tickethooks.Config{Triggers: trigger.NewStore(nil)})
	err = plain.OnTicketChange(ctx, nil, tk, tickethooks.WithAttributes(nil, trigger.Attrs{"team": "x"}))
	if !errors.Is(err, trigger.ErrAttribute) {
		t.Errorf("no declarations: err = %v, want trigger.ErrAttribute", err)
	}
	_, err = tickethooks.New(tickethooks.Config{Triggers: trigger.NewStore(nil), Attributes: []trigger.Attribute{{Name: "Bad Name", Type: trigger.AttrString}}})
	if !errors.Is(err, tickethooks.ErrInvalidConfig) || !errors.Is(err, trigger.ErrAttribute) {
		t.Errorf("bad declaration: err = %v, want ErrInvalidConfig and trigger.ErrAttribute", err)
	}
}
