package trigger_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
)

// problems splits an error from Parse or Compile into its messages, checking
// that each is an *Error matching ErrInvalid.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if !errors.Is(err, trigger.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var msgs []string
	for _, e := range errs {
		var te *trigger.Error
		if !errors.As(e, &te) {
			t.Errorf("%v is not a *trigger.Error", e)
		}
		if !errors.Is(e, trigger.ErrInvalid) {
			t.Errorf("errors.Is(%v, ErrInvalid) = false", e)
		}
		msgs = append(msgs, e.Error())
	}
	return msgs
}

// def wraps definition bodies (without brackets) into a JSON array.
func def(bodies ...string) []byte {
	return []byte("[" + strings.Join(bodies, ",\n") + "]")
}

const noteAction = `"actions": [{"type": "note", "text": "x"}]`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"missing id", def(`{` + noteAction + `}`), []string{
			`trigger #0: id: is required`}},
		{"id of wrong type", def(`{"id": 5, ` + noteAction + `}`), []string{
			`trigger #0: id: must be a JSON string`}},
		{"id too long", def(`{"id": "` + strings.Repeat("x", 256) + `", ` + noteAction + `}`), []string{
			`trigger #0: id: is 256 bytes long; the limit is 255`}},
		{"id with control character", def(`{"id": "a\nb", ` + noteAction + `}`), []string{
			`trigger #0: id: must be UTF-8 text without control characters`}},
		{"duplicate id", def(
			`{"id": "x", `+noteAction+`}`, `{"id": "y", `+noteAction+`}`,
			`{"id": "z", `+noteAction+`}`, `{"id": "x", `+noteAction+`}`), []string{
			`trigger "x": id: duplicate trigger id "x" (triggers #0 and #3)`}},
		{"unknown key", def(`{"id": "x", "condition": {}, ` + noteAction + `}`), []string{
			`trigger "x": unknown key "condition" (did you mean "conditions"?)`}},
		{"not an object", def(`{"id": "x", `+noteAction+`}`, `"hello"`), []string{
			`trigger #1: definition must be a JSON object`}},
		{"wrong type", def(`{"id": "x", "type": "Person", ` + noteAction + `}`), []string{
			`trigger "x": type: must be "Ticket", not "Person"`}},
		{"enabled not a bool", def(`{"id": "x", "enabled": "yes", ` + noteAction + `}`), []string{
			`trigger "x": enabled: must be true or false`}},
		{"bad on", def(`{"id": "x", "on": ["created", "deleted", "created"], ` + noteAction + `}`), []string{
			`trigger "x": on[1]: unknown event "deleted" (want "created" or "updated")`,
			`trigger "x": on[2]: duplicate event "created"`}},
		{"on not a list", def(`{"id": "x", "on": "created", ` + noteAction + `}`), []string{
			`trigger "x": on: must be a JSON array of "created" and "updated"`}},
		{"operator not for string field", def(`{"id": "resolved-urgent", "conditions": {"all": [{"field": "Status", "operator": "less_than", "value": "Resolved"}]}, ` + noteAction + `}`), []string{
			`trigger "resolved-urgent": conditions.all[0]: operator "less_than" does not apply to string field "Status"`}},
		{"operators not for int fields", def(`{"id": "x", "conditions": {"any": [
			{"field": "SlaSolutionTime", "operator": "contains", "value": 5},
			{"field": "Id", "operator": "changed"},
			{"field": "Id", "operator": "contains", "value": 5},
			{"field": "ActionCount", "operator": "not_contains", "value": 5}]}, ` + noteAction + `}`), []string{
			`trigger "x": conditions.any[0]: operator "contains" does not apply to int field "SlaSolutionTime"`,
			`trigger "x": conditions.any[1]: operator "changed" does not apply to int field "Id"`,
			`trigger "x": conditions.any[2]: operator "contains" does not apply to int field "Id"`,
			`trigger "x": conditions.any[3]: operator "not_contains" does not apply to int field "ActionCount"`}},
		{"operators not for Event", def(`{"id": "x", "conditions": {"all": [
			{"field": "Event", "operator": "changed"},
			{"field": "Event", "operator": "is", "value": "deleted"},
			{"field": "Event", "operator": "is", "value": 1}]}, ` + noteAction + `}`), []string{
			`trigger "x": conditions.all[0]: operator "changed" does not apply to field "Event"`,
			`trigger "x": conditions.all[1]: value for field "Event" must be "created" or "updated"`,
			`trigger "x": conditions.all[2]: value for field "Event" must be "created" or "updated"`}},
		{"unknown field and operator", def(`{"id": "x", "conditions": {"all": [
			{"field": "status", "operator": "equals", "value": "a"},
			{"field": "Colour", "operator": "is", "value": "a"},
			{"field": "CustomField:x", "operator": "is", "value": "a"},
			{"field": "CustomField:0", "operator": "is", "value": "a"},
			{"field": "customfield:3", "operator": "is", "value": "a"},
			{"operator": "is", "value": "a"},
			{"field": "Status", "value": "a"}]}, ` + noteAction + `}`), []string{
			`trigger "x": conditions.all[0]: unknown field "status" (did you mean "Status"?)`,
			`trigger "x": conditions.all[0]: unknown operator "equals"`,
			`trigger "x": conditions.all[1]: unknown field "Colour" (known fields: ActionCount, Event, Id, Justification, ServiceFirstLevel, SlaSolutionTime, Status, Subject, Urgency, CustomField:<id>)`,
			`trigger "x": conditions.all[2]: custom field "CustomField:x" must be CustomField:<id> with a positive integer id`,
			`trigger "x": conditions.all[3]: custom field "CustomField:0" must be CustomField:<id> with a positive integer id`,
			`trigger "x": conditions.all[4]: unknown field "customfield:3" (did you mean "CustomField:3"?)`,
			`trigger "x": conditions.all[5]: field is required`,
			`trigger "x": conditions.all[6]: operator is required`}},
		{"values", def(`{"id": "x", "conditions": {"all": [
			{"field": "Status", "operator": "present", "value": "a"},
			{"field": "Status", "operator": "is"},
			{"field": "Status", "operator": "is", "value": null},
			{"field": "Status", "operator": "is", "value": 5},
			{"field": "SlaSolutionTime", "operator": "is", "value": 1.5},
			{"field": "SlaSolutionTime", "operator": "is", "value": "5"},
			{"field": "SlaSolutionTime", "operator": "is", "value": 1e3},
			{"field": "SlaSolutionTime", "operator": "is", "value": 99999999999999999999},
			{"field": "SlaSolutionTime", "operator": "changed", "value": 5},
			{"field": "CustomField:2", "operator": "contains", "value": true}]}, ` + noteAction + `}`), []string{
			`trigger "x": conditions.all[0]: operator "present" takes no value`,
			`trigger "x": conditions.all[1]: operator "is" requires a value`,
			`trigger "x": conditions.all[2]: operator "is" requires a value`,
			`trigger "x": conditions.all[3]: value must be a JSON string for string field "Status"`,
			`trigger "x": conditions.all[4]: value must be a JSON integer for int field "SlaSolutionTime"`,
			`trigger "x": conditions.all[5]: value must be a JSON integer for int field "SlaSolutionTime"`,
			`trigger "x": conditions.all[6]: value must be a JSON integer for int field "SlaSolutionTime"`,
			`trigger "x": conditions.all[7]: value must be a JSON integer for int field "SlaSolutionTime"`,
			`trigger "x": conditions.all[8]: operator "changed" takes no value`,
			`trigger "x": conditions.all[9]: value must be a JSON string for string field "CustomField:2"`}},
		{"condition shapes", def(`{"id": "x", "conditions": {"all": [5, {"field": 5, "operator": "is", "value": "a"}, {"field": "Status", "operator": "is", "valeu": "a", "value": "b"}], "none": [], "any": {}}, ` + noteAction + `}`), []string{
			`trigger "x": conditions.all[0]: must be a JSON object`,
			`trigger "x": conditions.all[1]: field must be a JSON string`,
			`trigger "x": conditions.all[2]: unknown key "valeu" (did you mean "value"?)`,
			`trigger "x": conditions.any: must be a JSON array`,
			`trigger "x": conditions: unknown key "none"`}},
		{"conditions not an object", def(`{"id": "x", "conditions": [], ` + noteAction + `}`), []string{
			`trigger "x": conditions: must be a JSON object`}},
		{"no actions", def(`{"id": "x"}`, `{"id": "y", "actions": []}`), []string{
			`trigger "x": actions: at least one action is required`,
			`trigger "y": actions: at least one action is required`}},
		{"bad webhook url", def(`{"id": "x", "actions": [
			{"type": "webhook", "url": "ftp://a"},
			{"type": "webhook"},
			{"type": "webhook", "url": "/relative/path"},
			{"type": "webhook", "url": "https://"},
			{"type": "webhook", "url": "https://user:hunter2@example.com/x"},
			{"type": "webhook", "url": "mailto:a@example.com"},
			{"type": "webhook", "url": "http://exa mple.com/"},
			{"type": "webhook", "url": "http://user:pass word@example.com/"},
			{"type": "webhook", "url": "HTTPS://example.com/ok"}]}`), []string{
			`trigger "x": actions[0]: url "ftp://a" must be an absolute http or https URL`,
			`trigger "x": actions[1]: url is required`,
			`trigger "x": actions[2]: url "/relative/path" must be an absolute http or https URL`,
			`trigger "x": actions[3]: url "https:" must be an absolute http or https URL`,
			`trigger "x": actions[4]: url "https://user:xxxxx@example.com/x" must not contain credentials: the URL is written to the execution log; send them in a secret header`,
			`trigger "x": actions[5]: url "mailto:a@example.com" must be an absolute http or https URL`,
			`trigger "x": actions[6]: url "http://exa mple.com/" must be an absolute http or https URL`,
			`trigger "x": actions[7]: url "(unparsable)" must be an absolute http or https URL`}},
		{"bad headers", def(`{"id": "x", "actions": [
			{"type": "webhook", "url": "https://example.com", "headers": {"X Token": "a", "X-Ok": "line\r\nInjected: yes", "x-dup": "1", "X-Dup": "2", "": "v"}, "secret_headers": ["X-Token", "bad:name"]}]}`), []string{
			`trigger "x": actions[0]: headers: invalid header name ""`,
			`trigger "x": actions[0]: headers: invalid header name "X Token"`,
			`trigger "x": actions[0]: headers: value of "X-Ok" contains a line break or other control character`,
			`trigger "x": actions[0]: headers: "X-Dup" and "x-dup" name the same header`,
			`trigger "x": actions[0]: secret_headers[1]: invalid header name "bad:name"`}},
		{"bad actions", def(`{"id": "x", "actions": [
			{"type": "note"},
			{"type": "note", "text": "  "},
			{"type": "email", "to": "a@example.com"},
			{"url": "https://example.com"},
			{"type": "webhook", "url": "https://example.com", "text": "hi", "header": {}},
			{"type": "note", "text": "hi", "url": "https://example.com"},
			{"type": "note", "text": 5},
			{"type": 5},
			"note"]}`), []string{
			`trigger "x": actions[0]: text is required`,
			`trigger "x": actions[1]: text is required`,
			`trigger "x": actions[2]: unknown action type "email" (want "webhook", "note" or a type registered in Options.ActionTypes)`,
			`trigger "x": actions[3]: type is required`,
			`trigger "x": actions[4]: unknown key "header" (did you mean "headers"?)`,
			`trigger "x": actions[4]: text does not apply to a webhook action`,
			`trigger "x": actions[5]: url does not apply to a note action`,
			`trigger "x": actions[6]: text must be a JSON string`,
			`trigger "x": actions[7]: type must be a JSON string`,
			`trigger "x": actions[8]: must be a JSON object`}},
		{"expression errors", def(
			`{"id": "x", "expression": "Ticket.Id > 0 && Tickt.Status == \"a\"", `+noteAction+`}`,
			`{"id": "y", "expression": "Ticket.Status", `+noteAction+`}`,
			`{"id": "z", "expression": "Ticket.Id >\n  \"a\"", `+noteAction+`}`,
			`{"id": "w", "expression": 5, `+noteAction+`}`), []string{
			`trigger "x": expression: line 1, column 18: unknown name Tickt`,
			`trigger "y": expression: expected bool, but got string`,
			`trigger "z": expression: line 1, column 11: invalid operation: > (mismatched types int and string)`,
			`trigger "w": expression: must be a JSON string`}},
		{"all problems of all triggers", def(
			`{"id": "a", "on": ["never"], "conditions": {"all": [{"field": "Status", "operator": "is"}]}, "actions": [{"type": "webhook", "url": "ftp://a"}]}`,
			`{"conditions": {"any": [{"field": "Nope", "operator": "is", "value": "a"}]}}`), []string{
			`trigger "a": on[0]: unknown event "never" (want "created" or "updated")`,
			`trigger "a": conditions.all[0]: operator "is" requires a value`,
			`trigger "a": actions[0]: url "ftp://a" must be an absolute http or https URL`,
			`trigger #1: id: is required`,
			`trigger #1: conditions.any[0]: unknown field "Nope" (known fields: ActionCount, Event, Id, Justification, ServiceFirstLevel, SlaSolutionTime, Status, Subject, Urgency, CustomField:<id>)`,
			`trigger #1: actions: at least one action is required`}},
		{"not an array", []byte(`{"id": "x"}`), []string{`want a JSON array of trigger definitions`}},
		{"null", []byte(`null`), []string{`want a JSON array of trigger definitions`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, parseProblems(t, tt.in)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// parseProblems parses in with the default options and returns its
// problems, checking that Parse returns no Set with an error.
func parseProblems(t *testing.T, in []byte) []string {
	t.Helper()
	set, err := trigger.Parse(in, nil)
	if set != nil && err != nil {
		t.Error("Parse returned a Set with an error")
	}
	return problems(t, err)
}

func TestErrorDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want trigger.Error // Err is compared by message
	}{
		{"syntax error", "[\n  {\"id\": \"x\",}\n]", trigger.Error{Index: -1, Line: 2, Column: 14,
			Err: errors.New("invalid character '}' looking for beginning of object key string")}},
		{"syntax error after multibyte text", "[{\"id\": \"é\" x}]", trigger.Error{Index: -1, Line: 1, Column: 13,
			Err: errors.New("invalid character 'x' after object key:value pair")}},
		{"truncated input", "[{\"id\": \"x\"", trigger.Error{Index: -1, Line: 1, Column: 11,
			Err: errors.New("unexpected end of JSON input")}},
		{"expression", `[{"id": "x", "expression": "Ticket.Id > 0 &&\n Changed(\"Stat\")", ` + noteAction + `}]`,
			trigger.Error{TriggerID: "x", Index: 0, Path: "expression", Line: 2, Column: 10,
				Err: errors.New(`Changed: unknown field "Stat" (known fields: ActionCount, Event, Id, Justification, ServiceFirstLevel, SlaSolutionTime, Status, Subject, Urgency, CustomField:<id>)`)}},
		{"condition", `[{"id": "a", ` + noteAction + `}, {"id": "b", "conditions": {"any": [{"field": "Status", "operator": "present"}, {"field": "Status", "operator": "is", "value": 1}]}, ` + noteAction + `}]`,
			trigger.Error{TriggerID: "b", Index: 1, Path: "conditions.any[1]",
				Err: errors.New(`value must be a JSON string for string field "Status"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Parse([]byte(tt.in), nil)
			var got *trigger.Error
			if !errors.As(err, &got) {
				t.Fatalf("errors.As(%v, *Error) = false", err)
			}
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			byMessage := cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })
			if diff := cmp.Diff(&tt.want, got, byMessage); diff != "" {
				t.Errorf("Error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts trigger.Options
		want string
	}{
		{"negative length", trigger.Options{MaxExpressionLength: -1}, "trigger: options: MaxExpressionLength -1 is negative: trigger: invalid definition"},
		{"negative nodes", trigger.Options{MaxNodes: -1}, "trigger: options: MaxNodes -1 is negative: trigger: invalid definition"},
		{"built-in type", trigger.Options{ActionTypes: []string{"note"}}, `trigger: options: ActionTypes: "note" is built in: trigger: invalid definition`},
		{"empty type", trigger.Options{ActionTypes: []string{""}}, "trigger: options: ActionTypes holds an empty type: trigger: invalid definition"},
		{"invalid network", trigger.Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}}, "trigger: options: AllowNetworks[1] is not a valid prefix: trigger: invalid definition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Compile(nil, &tt.opts)
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}
