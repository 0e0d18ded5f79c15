package trigger_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
)

// specJSON is the definition from the package documentation.
const specJSON = `[{"id": "resolved-urgent", "name": "Resolved urgent tickets", "type": "Ticket", "enabled": true,
 "on": ["created", "updated"],
 "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}],
                "any": [{"field": "Urgency", "operator": "is", "value": "High"},
                        {"field": "Urgency", "operator": "is", "value": "Critical"}]},
 "expression": "Ticket.SlaSolutionTime > 60",
 "actions": [{"type": "webhook", "url": "https://example.com/hooks/tickets", "headers": {"Authorization": "Bearer abc"}, "secret_headers": ["X-Token"]},
             {"type": "note", "text": "Ticket data sent to the billing system"}]}]`

func TestParseSpecDefinition(t *testing.T) {
	t.Parallel()
	set, err := trigger.Parse([]byte(specJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := set.Get("resolved-urgent")
	if !ok {
		t.Fatal("trigger not found")
	}
	got := struct {
		ID, Name string
		Enabled  bool
		Actions  []trigger.Action
	}{tr.ID, tr.Name, tr.Enabled, tr.Actions}
	want := struct {
		ID, Name string
		Enabled  bool
		Actions  []trigger.Action
	}{"resolved-urgent", "Resolved urgent tickets", true, []trigger.Action{
		{Type: "webhook", URL: "https://example.com/hooks/tickets",
			Headers: map[string]string{"Authorization": "Bearer abc"}, SecretHeaders: []string{"X-Token"}},
		{Type: "note", Text: "Ticket data sent to the billing system"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trigger mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*trigger.Trigger{tr}, set.Triggers(), cmp.Comparer(func(a, b *trigger.Trigger) bool { return a == b })); diff != "" {
		t.Errorf("Triggers mismatch (-want +got):\n%s", diff)
	}
}

func TestDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	opts := &trigger.Options{ActionTypes: []string{"slack"}}
	in := `[{"id": "a", "enabled": false, "on": ["updated"], "expression": "true",
	  "conditions": {"any": [{"field": "Status", "operator": "present"}]},
	  "actions": [{"type": "slack", "channel": "#support", "mention": ["@oncall"]}, {"type": "note", "text": "n"}]},
	 {"id": "b", "actions": [{"type": "webhook", "url": "http://example.com"}]}]`
	set, err := trigger.Parse([]byte(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	var defs []trigger.Definition
	for _, tr := range set.Triggers() {
		defs = append(defs, tr.Definition())
	}
	data, err := json.Marshal(defs)
	if err != nil {
		t.Fatal(err)
	}
	set2, err := trigger.Parse(data, opts)
	if err != nil {
		t.Fatalf("Parse(Marshal(definitions)): %v\n%s", err, data)
	}
	var defs2 []trigger.Definition
	for _, tr := range set2.Triggers() {
		defs2 = append(defs2, tr.Definition())
	}
	if diff := cmp.Diff(defs, defs2); diff != "" {
		t.Errorf("definitions mismatch after a round trip (-want +got):\n%s", diff)
	}

	// Decoding with encoding/json and compiling gives the same triggers.
	var decoded []trigger.Definition
	if err := json.Unmarshal([]byte(in), &decoded); err != nil {
		t.Fatal(err)
	}
	set3, err := trigger.Compile(decoded, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set.Triggers()[0].Actions, set3.Triggers()[0].Actions); diff != "" {
		t.Errorf("actions mismatch between Parse and Compile (-want +got):\n%s", diff)
	}
}

func TestCustomActionTypes(t *testing.T) {
	t.Parallel()
	in := []byte(`[{"id": "a", "actions": [{"type": "slack", "channel": "#support"}]}]`)
	if _, err := trigger.Parse(in, nil); err == nil {
		t.Error("Parse accepted an unregistered action type")
	}
	set, err := trigger.Parse(in, &trigger.Options{ActionTypes: []string{"slack"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []trigger.Action{{Type: "slack", Params: json.RawMessage(`{"type":"slack","channel":"#support"}`)}}
	if diff := cmp.Diff(want, set.Triggers()[0].Actions); diff != "" {
		t.Errorf("Actions mismatch (-want +got):\n%s", diff)
	}

	// Built in Go: Params may be left out, and must be an object when set.
	set, err = trigger.Compile([]trigger.Definition{{ID: "a", Actions: []trigger.ActionDefinition{{Type: "slack"}}}},
		&trigger.Options{ActionTypes: []string{"slack"}})
	if err != nil {
		t.Fatal(err)
	}
	want = []trigger.Action{{Type: "slack", Params: json.RawMessage(`{"type":"slack"}`)}}
	if diff := cmp.Diff(want, set.Triggers()[0].Actions); diff != "" {
		t.Errorf("Actions mismatch (-want +got):\n%s", diff)
	}
	_, err = trigger.Compile([]trigger.Definition{{ID: "a", Actions: []trigger.ActionDefinition{
		{Type: "slack", Params: json.RawMessage(`[1]`), URL: "https://example.com"},
		{Type: "webhook", URL: "https://example.com", Params: json.RawMessage(`{}`)},
	}}}, &trigger.Options{ActionTypes: []string{"slack"}})
	wantMsgs := []string{
		`trigger "a": actions[0]: url does not apply to action type "slack" (its settings belong in Params)`,
		`trigger "a": actions[0]: params must be a JSON object`,
		`trigger "a": actions[1]: params does not apply to a webhook action`,
	}
	if diff := cmp.Diff(wantMsgs, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
}

func TestDefinitionIsACopy(t *testing.T) {
	t.Parallel()
	def := trigger.Definition{ID: "a", On: []string{"created"},
		Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{{Field: "Status", Operator: "is", Value: raw("Open")}}},
		Actions:    []trigger.ActionDefinition{{Type: "webhook", URL: "https://example.com", Headers: map[string]string{"X-A": "1"}}}}
	set, err := trigger.Compile([]trigger.Definition{def}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := set.Triggers()[0]
	// Changing the caller's definition, or a returned copy, changes nothing.
	def.On[0] = "updated"
	def.Conditions.All[0].Value[1] = 'X'
	def.Actions[0].Headers["X-A"] = "2"
	got := tr.Definition()
	got.Actions[0].Headers["X-A"] = "3"
	want := trigger.Definition{ID: "a", On: []string{"created"},
		Conditions: trigger.Conditions{All: []trigger.ConditionDefinition{{Field: "Status", Operator: "is", Value: raw("Open")}}},
		Actions:    []trigger.ActionDefinition{{Type: "webhook", URL: "https://example.com", Headers: map[string]string{"X-A": "1"}}}}
	if diff := cmp.Diff(want, tr.Definition()); diff != "" {
		t.Errorf("Definition mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"X-A": "1"}, tr.Actions[0].Headers); diff != "" {
		t.Errorf("Headers mismatch (-want +got):\n%s", diff)
	}
	if !tr.Match(trigger.NewEvent(nil, ticket("Open"))) {
		t.Error("Match = false after the caller changed its definition")
	}
}

func TestEmptySet(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, ` [ ] `} {
		set, err := trigger.Parse([]byte(in), nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if n := len(set.Triggers()); n != 0 {
			t.Errorf("Parse(%q) has %d triggers, want 0", in, n)
		}
	}
}

func TestSecretURL(t *testing.T) {
	t.Parallel()
	const slack = "https://hooks.example.com/services/T0/B0/XXXX"
	tests := []struct {
		name    string
		action  string
		want    []trigger.Action
		wantErr []string
	}{
		{"set", `{"type": "webhook", "url": "` + slack + `", "secret_url": true}`,
			[]trigger.Action{{Type: "webhook", URL: slack, SecretURL: true}}, nil},
		{"false", `{"type": "webhook", "url": "` + slack + `", "secret_url": false}`,
			[]trigger.Action{{Type: "webhook", URL: slack}}, nil},
		{"left out", `{"type": "webhook", "url": "` + slack + `"}`,
			[]trigger.Action{{Type: "webhook", URL: slack}}, nil},
		{"not a bool", `{"type": "webhook", "url": "` + slack + `", "secret_url": "yes"}`, nil, []string{
			`trigger "x": actions[0]: secret_url must be true or false`}},
		{"misspelt", `{"type": "webhook", "url": "` + slack + `", "secreturl": true}`, nil, []string{
			`trigger "x": actions[0]: unknown key "secreturl" (did you mean "secret_url"?)`}},
		{"on a note", `{"type": "note", "text": "n", "secret_url": true}`, nil, []string{
			`trigger "x": actions[0]: secret_url does not apply to a note action`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := trigger.Parse([]byte(`[{"id": "x", "actions": [`+tt.action+`]}]`), nil)
			if diff := cmp.Diff(tt.wantErr, problems(t, err)); diff != "" {
				t.Fatalf("problems mismatch (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			tr := set.Triggers()[0]
			if diff := cmp.Diff(tt.want, tr.Actions); diff != "" {
				t.Errorf("Actions mismatch (-want +got):\n%s", diff)
			}
			// The definition keeps the flag through encoding and decoding.
			data, err := json.Marshal([]trigger.Definition{tr.Definition()})
			if err != nil {
				t.Fatal(err)
			}
			again, err := trigger.Parse(data, nil)
			if err != nil {
				t.Fatalf("Parse(%s): %v", data, err)
			}
			if diff := cmp.Diff(tt.want, again.Triggers()[0].Actions); diff != "" {
				t.Errorf("Actions after a round trip through %s mismatch (-want +got):\n%s", data, diff)
			}
		})
	}
}

func TestSecretURLCompile(t *testing.T) {
	t.Parallel()
	_, err := trigger.Compile([]trigger.Definition{{ID: "x", Actions: []trigger.ActionDefinition{
		{Type: trigger.ActionWebhook, URL: "https://example.com/t/abc", SecretURL: true},
		{Type: trigger.ActionNote, Text: "n", SecretURL: true},
		{Type: "slack", SecretURL: true},
	}}}, &trigger.Options{ActionTypes: []string{"slack"}})
	want := []string{
		`trigger "x": actions[1]: secret_url does not apply to a note action`,
		`trigger "x": actions[2]: secret_url does not apply to action type "slack" (its settings belong in Params)`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
}
