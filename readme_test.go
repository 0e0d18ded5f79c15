package tickethooks_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tickethooks/tickethooks/trigger"
)

// TestReadmeBodyTemplates loads the webhook actions of the README's "Body
// templates" section, so that the examples there stay valid.
func TestReadmeBodyTemplates(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Body templates")
	if !ok {
		t.Fatal("README has no Body templates section")
	}
	_, block, ok := strings.Cut(section, "```json\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("Body templates section has no JSON block")
	}
	actions := strings.Split(strings.TrimSpace(block), "\n\n")
	if len(actions) < 4 {
		t.Fatalf("found %d actions, want 4", len(actions))
	}
	opts := &trigger.Options{Attributes: []trigger.Attribute{
		{Name: "assignee", Type: trigger.AttrString}, {Name: "team", Type: trigger.AttrString},
		{Name: "uuid", Type: trigger.AttrString}, {Name: "tags", Type: trigger.AttrList},
	}}
	for i, a := range actions {
		js := fmt.Sprintf(`[{"id": "readme-%d", "actions": [%s]}]`, i, a)
		if _, err := trigger.Parse([]byte(js), opts); err != nil {
			t.Errorf("README action %d does not load: %v\n%s", i, err, a)
		}
	}
}
