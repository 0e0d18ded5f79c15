package trigger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks/payload"
	"github.com/tickethooks/tickethooks/trigger"
)

// TestRenderRefusesHugeBodiesEarly: templates whose value repeats a large
// string or ticket load (the cost bound does not see sharing), and are
// refused before the body is encoded: each render takes little time and
// memory, not the gigabytes the bodies would take.
func TestRenderRefusesHugeBodiesEarly(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 250<<10)
	for _, body := range []string{
		`map(1..10000, Attr.assignee)`,
		`map(1..10000, Ticket)`,
		`map(1..100, map(1..100, Ticket.Subject))`,
		`{"a": map(1..1000, Ticket.Actions[0])}`,
	} {
		set, err := compileAttrs(t, trigger.Definition{Actions: []trigger.ActionDefinition{{Type: trigger.ActionWebhook,
			URL: "https://example.com/hook", Body: body}}})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		tr := set.Triggers()[0]
		after := &payload.Ticket{Id: 1, Subject: big[:150<<10], Actions: []payload.Action{{Id: 1, Description: big[:80<<10]}}}
		ev := trigger.NewEvent(nil, after)
		ev.AfterAttrs = trigger.Attrs{"assignee": big[:60<<10]}
		start := time.Now()
		_, _, err = tr.Actions[0].Render(ev, tr)
		if err == nil || !strings.Contains(err.Error(), "MaxRenderedBody") {
			t.Errorf("%s: Render = %v, want an error naming MaxRenderedBody", body, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: refusing took %v", body, d)
		}
	}
}
