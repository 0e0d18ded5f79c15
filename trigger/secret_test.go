package trigger_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
)

// secretOf returns a signing secret whose key is n bytes of b.
func secretOf(b byte, n int) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

// webhookWithSecrets is a definition with one webhook action listing
// secrets.
func webhookWithSecrets(secrets ...string) []byte {
	list, err := json.Marshal(secrets)
	if err != nil {
		panic(err)
	}
	return fmt.Appendf(nil, `[{"id": "x", "actions": [{"type": "note", "text": "n"},
		{"type": "webhook", "url": "https://example.com/hooks", "secrets": %s}]}]`, list)
}

func TestSecretsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
	}{
		{"one", []string{secretOf('a', 32)}},
		{"shortest key", []string{secretOf('a', 24)}},
		{"longest key", []string{secretOf('a', 64)}},
		{"rotation", []string{secretOf('n', 32), secretOf('o', 32)}},
		{"the most", []string{secretOf('1', 32), secretOf('2', 32), secretOf('3', 32), secretOf('4', 32), secretOf('5', 32)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := trigger.Parse(webhookWithSecrets(tt.secrets...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.secrets, set.Triggers()[0].Actions[1].Secrets); diff != "" {
				t.Errorf("Secrets mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretsInvalid(t *testing.T) {
	t.Parallel()
	good := secretOf('g', 32)
	// Two spellings of one 25-byte key: the last base64 character of
	// the second sets bits that decoding drops.
	same := secretOf('s', 25)
	sameOther := same[:len(same)-3] + string(same[len(same)-3]+1) + "=="
	tests := []struct {
		name    string
		secrets []string
		want    []string
	}{
		{"no prefix", []string{good, strings.TrimPrefix(secretOf('p', 32), "whsec_")}, []string{
			`trigger "x": actions[1].secrets[1]: must start with "whsec_"`}},
		{"other prefix", []string{"wh_sec" + strings.TrimPrefix(secretOf('p', 32), "whsec_")}, []string{
			`trigger "x": actions[1].secrets[0]: must start with "whsec_"`}},
		{"empty", []string{""}, []string{
			`trigger "x": actions[1].secrets[0]: must start with "whsec_"`}},
		{"prefix only", []string{"whsec_"}, []string{
			`trigger "x": actions[1].secrets[0]: has a 0-byte key; want 24 to 64 bytes`}},
		{"not base64", []string{"whsec_c2VjcmV0!" + strings.Repeat("A", 30)}, []string{
			`trigger "x": actions[1].secrets[0]: must be standard base64 after "whsec_": illegal base64 data at byte 14 of the secret`}},
		{"url-safe base64", []string{"whsec_" + strings.Repeat("_-", 16)}, []string{
			`trigger "x": actions[1].secrets[0]: must be standard base64 after "whsec_": illegal base64 data at byte 6 of the secret`}},
		{"missing padding", []string{strings.TrimRight(secretOf('m', 25), "=")}, []string{
			`trigger "x": actions[1].secrets[0]: must be standard base64 after "whsec_": illegal base64 data at byte 38 of the secret`}},
		{"too short", []string{secretOf('s', 23)}, []string{
			`trigger "x": actions[1].secrets[0]: has a 23-byte key; want 24 to 64 bytes`}},
		{"too long", []string{secretOf('l', 65)}, []string{
			`trigger "x": actions[1].secrets[0]: has a 65-byte key; want 24 to 64 bytes`}},
		{"far too long", []string{secretOf('f', 4096)}, []string{
			`trigger "x": actions[1].secrets[0]: is longer than a 64-byte key`}},
		{"too many", []string{secretOf('1', 32), secretOf('2', 32), secretOf('3', 32), secretOf('4', 32), secretOf('5', 32), secretOf('6', 32)}, []string{
			`trigger "x": actions[1].secrets: has 6 secrets; the limit is 5`}},
		{"duplicate", []string{good, secretOf('h', 32), good}, []string{
			`trigger "x": actions[1].secrets[2]: has the same key as secrets[0]`}},
		{"same key spelt twice", []string{same, sameOther}, []string{
			`trigger "x": actions[1].secrets[1]: has the same key as secrets[0]`}},
		{"every problem", []string{good, "x", good, good, secretOf('t', 8), "whsec_%%", good}, []string{
			`trigger "x": actions[1].secrets: has 7 secrets; the limit is 5`,
			`trigger "x": actions[1].secrets[1]: must start with "whsec_"`,
			`trigger "x": actions[1].secrets[2]: has the same key as secrets[0]`,
			`trigger "x": actions[1].secrets[3]: has the same key as secrets[0]`,
			`trigger "x": actions[1].secrets[4]: has a 8-byte key; want 24 to 64 bytes`,
			`trigger "x": actions[1].secrets[5]: must be standard base64 after "whsec_": illegal base64 data at byte 6 of the secret`,
			`trigger "x": actions[1].secrets[6]: has the same key as secrets[0]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Parse(webhookWithSecrets(tt.secrets...), nil)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if diff := cmp.Diff(tt.want, problems(t, err)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
			noEcho(t, err.Error(), tt.secrets)
		})
	}
}

// noEcho fails the test when msg contains a secret, or the base64 of its
// key, or a long piece of either.
func noEcho(t *testing.T, msg string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		enc := strings.TrimPrefix(s, "whsec_")
		for _, piece := range []string{s, enc, shortPiece(enc)} {
			if len(piece) >= 8 && strings.Contains(msg, piece) {
				t.Errorf("error %q contains (part of) a secret %q", msg, piece)
			}
		}
	}
}

// shortPiece returns the first 8 bytes of s.
func shortPiece(s string) string { return s[:min(len(s), 8)] }

func TestSecretsPlacement(t *testing.T) {
	t.Parallel()
	good := secretOf('g', 32)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"on a note", `{"type": "note", "text": "n", "secrets": ["` + good + `"]}`, []string{
			`trigger "x": actions[0]: secrets does not apply to a note action`}},
		{"not a list", `{"type": "webhook", "url": "https://example.com", "secrets": "` + good + `"}`, []string{
			`trigger "x": actions[0]: secrets must be a JSON array of strings`}},
		{"not strings", `{"type": "webhook", "url": "https://example.com", "secrets": ["` + good + `", 5]}`, []string{
			`trigger "x": actions[0]: secrets must be a JSON array of strings`}},
		{"misspelt key", `{"type": "webhook", "url": "https://example.com", "secret": ["` + good + `"]}`, []string{
			`trigger "x": actions[0]: unknown key "secret" (did you mean "secrets"?)`}},
		{"with other problems", `{"type": "webhook", "url": "ftp://example.com", "headers": {"X Y": "z"}, "secrets": ["` + good + `", "nope"]}`, []string{
			`trigger "x": actions[0]: url "ftp://example.com" must be an absolute http or https URL`,
			`trigger "x": actions[0]: headers: invalid header name "X Y"`,
			`trigger "x": actions[0].secrets[1]: must start with "whsec_"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := trigger.Parse([]byte(`[{"id": "x", "actions": [`+tt.in+`]}]`), nil)
			if diff := cmp.Diff(tt.want, problems(t, err)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
			if err != nil {
				noEcho(t, err.Error(), []string{good})
			}
		})
	}
}

// TestSecretsErrorOrder checks that problems in the secrets of a later
// action are reported after those of an earlier one.
func TestSecretsErrorOrder(t *testing.T) {
	t.Parallel()
	in := `[{"id": "x", "actions": [
		{"type": "webhook", "url": "https://example.com", "secrets": ["a"]},
		{"type": "webhook", "url": "ftp://example.com"},
		{"type": "webhook", "url": "https://example.com", "secrets": ["b"]}]}]`
	_, err := trigger.Parse([]byte(in), nil)
	want := []string{
		`trigger "x": actions[0].secrets[0]: must start with "whsec_"`,
		`trigger "x": actions[1]: url "ftp://example.com" must be an absolute http or https URL`,
		`trigger "x": actions[2].secrets[0]: must start with "whsec_"`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretsCompile(t *testing.T) {
	t.Parallel()
	good := secretOf('g', 32)
	defs := []trigger.Definition{{ID: "x", Actions: []trigger.ActionDefinition{
		{Type: trigger.ActionWebhook, URL: "https://example.com", Secrets: []string{good}},
		{Type: "slack", Secrets: []string{good}},
	}}}
	_, err := trigger.Compile(defs, &trigger.Options{ActionTypes: []string{"slack"}})
	want := []string{`trigger "x": actions[1]: secrets does not apply to action type "slack" (its settings belong in Params)`}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}

	defs[0].Actions = defs[0].Actions[:1]
	set, err := trigger.Compile(defs, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The trigger keeps its own copy.
	defs[0].Actions[0].Secrets[0] = "changed"
	tr := set.Triggers()[0]
	if diff := cmp.Diff([]string{good}, tr.Actions[0].Secrets); diff != "" {
		t.Errorf("Action.Secrets mismatch (-want +got):\n%s", diff)
	}
	got := tr.Definition()
	got.Actions[0].Secrets[0] = "changed too"
	if diff := cmp.Diff([]string{good}, tr.Definition().Actions[0].Secrets); diff != "" {
		t.Errorf("Definition().Actions[0].Secrets mismatch (-want +got):\n%s", diff)
	}

	// Secrets survive encoding a definition and parsing it again.
	data, err := json.Marshal([]trigger.Definition{tr.Definition()})
	if err != nil {
		t.Fatal(err)
	}
	again, err := trigger.Parse(data, nil)
	if err != nil {
		t.Fatalf("Parse(Marshal(definition)): %v\n%s", err, data)
	}
	if diff := cmp.Diff(tr.Actions, again.Triggers()[0].Actions); diff != "" {
		t.Errorf("Actions mismatch after a round trip (-want +got):\n%s", diff)
	}
}
