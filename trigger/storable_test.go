package trigger_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/trigger"
)

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// headersJSON returns a JSON object of n headers "X-H<i>" whose values are
// value.
func headersJSON(n int, value string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"X-H%02d": %s`, i, jsonString(value))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// webhookWith returns a definition of trigger "x" with one webhook action
// to https://example.com/h that has the extra JSON members.
func webhookWith(members string) []byte {
	return def(`{"id": "x", "actions": [{"type": "webhook", "url": "https://example.com/h", ` + members + `}]}`)
}

// TestParseUnstorable checks that values the execution log cannot store
// are refused when the trigger is loaded, each naming the trigger, the
// action and the field.
func TestParseUnstorable(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	urlOf := func(n int) string { // an URL of n bytes
		const head = "https://example.com/"
		return head + long(n-len(head))
	}
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"id over the cap", def(`{"id": "` + long(trigger.MaxIDLength+1) + `", ` + noteAction + `}`), []string{
			`trigger #0: id: is 256 bytes long; the limit is 255`}},
		{"id with NUL", def(`{"id": "a\u0000b", ` + noteAction + `}`), []string{
			`trigger #0: id: must be UTF-8 text without control characters`}},
		{"name with NUL", def(`{"id": "x", "name": "Notify\u0000ERP", ` + noteAction + `}`), []string{
			`trigger "x": name: must be UTF-8 text without control characters`}},
		{"name with a line break", def(`{"id": "x", "name": "Notify\nERP", ` + noteAction + `}`), []string{
			`trigger "x": name: must be UTF-8 text without control characters`}},
		{"name with a C1 control", def(`{"id": "x", "name": "Notify\u0085ERP", ` + noteAction + `}`), []string{
			`trigger "x": name: must be UTF-8 text without control characters`}},
		{"name with DEL", def(`{"id": "x", "name": "Notify\u007fERP", ` + noteAction + `}`), []string{
			`trigger "x": name: must be UTF-8 text without control characters`}},
		{"name over the cap", def(`{"id": "x", "name": "` + long(trigger.MaxNameBytes+1) + `", ` + noteAction + `}`), []string{
			`trigger "x": name: is 1001 bytes long; the limit is 1000`}},
		{"name of 4-byte runes over the cap", def(`{"id": "x", "name": "` + strings.Repeat("😀", 251) + `", ` + noteAction + `}`), []string{
			`trigger "x": name: is 1004 bytes long; the limit is 1000`}},
		{"name of 65,536 bytes", def(`{"id": "x", "name": "` + long(65536) + `", ` + noteAction + `}`), []string{
			`trigger "x": name: is 65536 bytes long; the limit is 1000`}},
		{"url over the cap", def(`{"id": "x", "actions": [{"type": "webhook", "url": "` + urlOf(trigger.MaxURLBytes+1) + `"}]}`), []string{
			`trigger "x": actions[0]: url is 8193 bytes long; the limit is 8192`}},
		{"url of 65,536 bytes", def(`{"id": "x", "actions": [{"type": "note", "text": "n"}, {"type": "webhook", "url": "` + urlOf(65536) + `"}]}`), []string{
			`trigger "x": actions[1]: url is 65536 bytes long; the limit is 8192`}},
		{"url with NUL", def(`{"id": "x", "actions": [{"type": "webhook", "url": "https://example.com/a\u0000b"}]}`), []string{
			`trigger "x": actions[0]: url "https://example.com/a\x00b" must be an absolute http or https URL`}},
		{"too many headers", webhookWith(`"headers": ` + headersJSON(trigger.MaxHeaders+1, "v")), []string{
			`trigger "x": actions[0]: headers: has 51 headers; the limit is 50`}},
		{"header name over the cap", webhookWith(`"headers": {"X-` + long(trigger.MaxHeaderNameBytes-1) + `": "v"}`), []string{
			`trigger "x": actions[0]: headers: header name "X-` + long(198) + `..." is 257 bytes long; the limit is 256`}},
		{"header value over the cap", webhookWith(`"headers": {"X-Big": "` + long(trigger.MaxHeaderValueBytes+1) + `"}`), []string{
			`trigger "x": actions[0]: headers: value of "X-Big" is 8193 bytes long; the limit is 8192`}},
		{"header value with NUL", webhookWith(`"headers": {"X-A": "a\u0000b"}`), []string{
			`trigger "x": actions[0]: headers: value of "X-A" contains a line break or other control character`}},
		{"header value with CR and LF", webhookWith(`"headers": {"X-A": "a\r\nX-Injected: 1"}`), []string{
			`trigger "x": actions[0]: headers: value of "X-A" contains a line break or other control character`}},
		{"headers over the total", webhookWith(`"headers": ` + headersJSON(5, long(trigger.MaxHeaderValueBytes-5))), []string{
			`trigger "x": actions[0]: headers: names and values are 40960 bytes in all; the limit is 32768`}},
		{"too many secret header names", webhookWith(`"secret_headers": [` + strings.TrimSuffix(strings.Repeat(`"X-S",`, trigger.MaxHeaders+1), ",") + `]`), []string{
			`trigger "x": actions[0]: secret_headers: has 51 names; the limit is 50`}},
		{"secret header name over the cap", webhookWith(`"secret_headers": ["X-Ok", "` + long(trigger.MaxHeaderNameBytes+1) + `"]`), []string{
			`trigger "x": actions[0]: secret_headers[1]: header name "` + long(200) + `..." is 257 bytes long; the limit is 256`}},
		{"note over the cap", def(`{"id": "x", "actions": [{"type": "note", "text": "` + long(trigger.MaxNoteBytes+1) + `"}]}`), []string{
			`trigger "x": actions[0]: text is 16385 bytes long; the limit is 16384`}},
		{"note with NUL", def(`{"id": "x", "actions": [{"type": "note", "text": "a\u0000b"}]}`), []string{
			`trigger "x": actions[0]: text must be UTF-8 text without control characters other than tab and line breaks`}},
		{"note with an escape", def(`{"id": "x", "actions": [{"type": "note", "text": "a\u001b[31mb"}]}`), []string{
			`trigger "x": actions[0]: text must be UTF-8 text without control characters other than tab and line breaks`}},
		{"every problem of a trigger", def(`{"id": "x", "name": "a\u0000", "actions": [
			{"type": "note", "text": "n\u0000"},
			{"type": "webhook", "url": "` + urlOf(trigger.MaxURLBytes+1) + `", "headers": {"X-A": "` + long(trigger.MaxHeaderValueBytes+1) + `"}}]}`), []string{
			`trigger "x": name: must be UTF-8 text without control characters`,
			`trigger "x": actions[0]: text must be UTF-8 text without control characters other than tab and line breaks`,
			`trigger "x": actions[1]: url is 8193 bytes long; the limit is 8192`,
			`trigger "x": actions[1]: headers: value of "X-A" is 8193 bytes long; the limit is 8192`}},
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

// TestCompileUnstorable checks the values that JSON cannot carry to Parse
// (it decodes invalid UTF-8 as U+FFFD) but a host can build in Go.
func TestCompileUnstorable(t *testing.T) {
	t.Parallel()
	_, err := trigger.Compile([]trigger.Definition{{ID: "x", Name: "caf\xe9", Actions: []trigger.ActionDefinition{
		{Type: trigger.ActionWebhook, URL: "https://example.com/caf\xe9"},
		{Type: trigger.ActionWebhook, URL: "https://example.com/", Headers: map[string]string{"X-A": "caf\xe9"}},
		{Type: trigger.ActionNote, Text: "caf\xe9"},
	}}, {ID: "y\xff", Actions: note}}, nil)
	want := []string{
		`trigger "x": name: must be UTF-8 text without control characters`,
		`trigger "x": actions[0]: url must be valid UTF-8`,
		`trigger "x": actions[1]: headers: value of "X-A" must be valid UTF-8`,
		`trigger "x": actions[2]: text must be UTF-8 text without control characters other than tab and line breaks`,
		`trigger #1: id: must be UTF-8 text without control characters`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
}

// TestParseAtTheCaps checks that values at the caps, and text that is
// hard to store but valid, load unchanged.
func TestParseAtTheCaps(t *testing.T) {
	t.Parallel()
	const nasty = "\u00e9e\u0301 \u4e2d\U0001F600\U00020000\U00030000\U000E0001\U000F0000\U0010FFFD\U0010FFFF" +
		"\u200f\u202e\u2066\u2069\u200d\ufeff\u2028 '\"`\\ %_ ;--/**/ <script>&amp;"
	fill := func(n int) string { // nasty repeated, cut on a rune boundary, padded with "x" to n bytes
		s := strings.Repeat(nasty, n/len(nasty)+1)
		s = s[:textcut.Boundary(s, n)]
		return s + strings.Repeat("x", n-len(s))
	}
	const head = "https://h\u00fcoks.example.com/"
	url := head + strings.Repeat("%F0%9F%98%80", 100) + "/" + strings.Repeat("\u00fc", 100) + "?q=100%&like=a_b'\"\\"
	url += "&" + strings.Repeat("z", trigger.MaxURLBytes-len(url)-1)
	headers := make(map[string]string, trigger.MaxHeaders)
	budget := trigger.MaxHeaderBytes
	for i := range trigger.MaxHeaders {
		name := fmt.Sprintf("X-%03d-", i) + strings.Repeat("n", 60)
		value := fill(min(budget/(trigger.MaxHeaders-i)-len(name), trigger.MaxHeaderValueBytes))
		if i == 0 {
			name = strings.Repeat("N", trigger.MaxHeaderNameBytes)
			value = "\t" + fill(trigger.MaxHeaderValueBytes-len(name)-1)
		}
		headers[name] = value
		budget -= len(name) + len(value)
	}
	want := trigger.Definition{
		ID:   fill(trigger.MaxIDLength),
		Name: fill(trigger.MaxNameBytes),
		Actions: []trigger.ActionDefinition{
			{Type: trigger.ActionWebhook, URL: url, Headers: headers},
			{Type: trigger.ActionNote, Text: "line 1\r\n\tline 2\n" + fill(trigger.MaxNoteBytes-16)},
		},
	}
	if len(url) != trigger.MaxURLBytes || budget != 0 {
		t.Fatalf("test values: url is %d bytes, headers %d bytes short of the cap", len(url), budget)
	}
	data, err := json.Marshal([]trigger.Definition{want})
	if err != nil {
		t.Fatal(err)
	}
	set, err := trigger.Parse(data, nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(want, set.Triggers()[0].Definition()); diff != "" {
		t.Errorf("Definition mismatch (-want +got):\n%s", diff)
	}
}
