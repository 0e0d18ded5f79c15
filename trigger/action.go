package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/httpheader"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// The built-in action types.
const (
	// ActionWebhook POSTs the ticket's JSON data packet to a URL, or sends
	// the body its template renders with the method and content type it
	// sets.
	ActionWebhook = "webhook"
	// ActionNote adds a note to the ticket; the host carries it out.
	ActionNote = "note"
)

// Action is one validated action of a trigger. Which fields are set depends
// on Type.
type Action struct {
	// Type is ActionWebhook, ActionNote or a type registered in
	// Options.ActionTypes.
	Type string
	// URL is the absolute http or https URL a webhook action POSTs to.
	URL string
	// SecretURL marks the whole URL of a webhook action as secret, for
	// receivers that take a credential in the path (a Slack-style
	// https://hooks.example.com/services/T0/B0/XXXX). The engine still
	// POSTs to URL, read from the trigger at each attempt, but shows and
	// stores only its scheme and host.
	SecretURL bool
	// Headers are the extra request headers of a webhook action, as the
	// definition wrote them. Nil when there are none.
	Headers map[string]string
	// SecretHeaders names the headers of a webhook action whose values are
	// secret, in addition to those always treated as secret (such as
	// Authorization). Nil when there are none.
	SecretHeaders []string
	// Secrets are the signing secrets of a webhook action, each "whsec_"
	// followed by the standard base64 of a 24- to 64-byte key, at most
	// MaxSecrets of them. The engine reads them from the trigger at each
	// attempt and signs the request with every one (Standard Webhooks);
	// they are never written to the execution log. Nil when the action's
	// requests are not signed.
	Secrets []string
	// Method is the request method of a webhook action: MethodPost,
	// MethodPut or MethodPatch. Empty means MethodPost.
	Method string
	// ContentType is the content type of a webhook action's body:
	// ContentTypeJSON or ContentTypeForm. Empty means ContentTypeJSON.
	ContentType string
	// Body is the compiled body template of a webhook action (see Render),
	// or nil to send the ticket packet. Body.Source() is its text.
	Body *Template
	// Text is the text of a note action.
	Text string
	// Params is the whole JSON object of an action of a registered type,
	// including its "type" key.
	Params json.RawMessage
}

// ActionDefinition is one action as an administrator writes it:
//
//	{"type": "webhook", "url": "https://example.com/hooks", "headers": {"Authorization": "Bearer abc"}, "secret_headers": ["X-Token"],
//	 "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
//	{"type": "webhook", "url": "https://hooks.example.com/services/T0/B0/XXXX", "secret_url": true,
//	 "body": "{\"text\": \"Ticket #\" + string(Ticket.Id) + \" is \" + Ticket.Status}"}
//	{"type": "webhook", "url": "https://example.com/form", "method": "PUT",
//	 "content_type": "application/x-www-form-urlencoded", "body": "{id: Ticket.Id, status: Ticket.Status}"}
//	{"type": "note", "text": "Ticket data sent to the billing system"}
//	{"type": "<registered type>", ...any keys...}
//
// For a registered type, decoding keeps the whole JSON object in Params and
// encoding writes Params back.
type ActionDefinition struct {
	Type string `json:"type"`
	URL  string `json:"url,omitempty"`
	// SecretURL ("secret_url") marks the whole URL of a webhook action as
	// secret: see Action.SecretURL. It applies only to webhook actions.
	SecretURL     bool              `json:"secret_url,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	SecretHeaders []string          `json:"secret_headers,omitempty"`
	Secrets       []string          `json:"secrets,omitempty"`
	// Body ("body") is the body template of a webhook action: an
	// expression whose value becomes the request body (see Action.Render
	// and the package documentation). Empty sends the ticket packet.
	Body string `json:"body,omitempty"`
	// Method ("method") is the request method of a webhook action:
	// "POST" (the default), "PUT" or "PATCH".
	Method string `json:"method,omitempty"`
	// ContentType ("content_type") is the content type of a webhook
	// action's body: "application/json" (the default) or
	// "application/x-www-form-urlencoded", which needs a body template.
	ContentType string `json:"content_type,omitempty"`
	Text        string `json:"text,omitempty"`
	// Params is the whole JSON object of an action of a registered type.
	// It is not used by the built-in types.
	Params json.RawMessage `json:"-"`
}

// plainAction has ActionDefinition's fields without its methods.
type plainAction ActionDefinition

// UnmarshalJSON decodes an action object. For a type other than webhook and
// note it keeps the whole object in Params. It does not validate: Compile
// does.
func (a *ActionDefinition) UnmarshalJSON(data []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	if isBuiltinAction(head.Type) {
		var p plainAction
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		*a = ActionDefinition(p)
		return nil
	}
	*a = ActionDefinition{Type: head.Type, Params: compactJSON(data)}
	return nil
}

// MarshalJSON encodes the action; an action of a registered type with
// Params is written as Params.
func (a ActionDefinition) MarshalJSON() ([]byte, error) {
	if !isBuiltinAction(a.Type) && len(a.Params) > 0 {
		return json.Marshal(a.Params)
	}
	return json.Marshal(plainAction(a))
}

// compactJSON returns a compact copy of the valid JSON data.
func compactJSON(data []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return bytes.Clone(data)
	}
	return b.Bytes()
}

func isBuiltinAction(t string) bool { return t == ActionWebhook || t == ActionNote }

// compileAction validates one action definition. Problems in one part of
// the action are *pathError.
func compileAction(def ActionDefinition, o *options) (Action, []error) {
	var errs []error
	// notFor reports each key that is set but does not apply to the
	// action, in a fixed order.
	notFor := func(what string, applies ...string) {
		for _, k := range [...]struct {
			key string
			set bool
		}{
			{"url", def.URL != ""}, {"secret_url", def.SecretURL}, {"headers", def.Headers != nil}, {"secret_headers", def.SecretHeaders != nil},
			{"secrets", def.Secrets != nil}, {"body", def.Body != ""}, {"method", def.Method != ""}, {"content_type", def.ContentType != ""},
			{"text", def.Text != ""}, {"params", def.Params != nil},
		} {
			if k.set && !slices.Contains(applies, k.key) {
				errs = append(errs, fmt.Errorf("%s does not apply to %s", k.key, what))
			}
		}
	}
	switch {
	case def.Type == "":
		return Action{}, []error{errors.New("type is required")}
	case def.Type == ActionWebhook:
		notFor("a webhook action", "url", "secret_url", "headers", "secret_headers", "secrets", "body", "method", "content_type")
		u, uerrs := checkURL(def.URL, o)
		errs = append(errs, uerrs...)
		errs = append(errs, checkHeaders(def.Headers, def.SecretHeaders)...)
		errs = append(errs, checkSecrets(def.Secrets)...)
		a := Action{Type: ActionWebhook, URL: u, SecretURL: def.SecretURL, Method: def.Method, ContentType: def.ContentType}
		if err := checkMethod(def.Method); err != nil {
			errs = append(errs, err)
		}
		ctErr := checkContentType(def.ContentType)
		if ctErr != nil {
			errs = append(errs, ctErr)
		}
		switch {
		case def.Body != "" && strings.TrimSpace(def.Body) == "":
			errs = append(errs, &pathError{part: "body", err: errors.New("is empty")})
		case def.Body != "":
			tmpl, terrs := compileTemplate(def.Body, def.ContentType, o)
			errs = append(errs, terrs...)
			a.Body = tmpl
		case def.ContentType == ContentTypeForm:
			errs = append(errs, &pathError{part: "content_type", err: errNoForm})
		}
		if len(def.Headers) > 0 {
			a.Headers = maps.Clone(def.Headers)
		}
		if len(def.SecretHeaders) > 0 {
			a.SecretHeaders = slices.Clone(def.SecretHeaders)
		}
		if len(def.Secrets) > 0 {
			a.Secrets = slices.Clone(def.Secrets)
		}
		return a, errs
	case def.Type == ActionNote:
		notFor("a note action", "text")
		if err := checkNote(def.Text); err != nil {
			errs = append(errs, err)
		}
		return Action{Type: ActionNote, Text: def.Text}, errs
	case o.actionTypes[def.Type]:
		notFor(fmt.Sprintf("action type %q (its settings belong in Params)", def.Type), "params")
		params := def.Params
		if params == nil {
			params, _ = json.Marshal(map[string]string{"type": def.Type})
		} else if p := bytes.TrimSpace(params); len(p) == 0 || p[0] != '{' || !json.Valid(p) {
			errs = append(errs, errors.New("params must be a JSON object"))
		} else {
			params = compactJSON(p)
		}
		return Action{Type: def.Type, Params: params}, errs
	}
	return Action{}, []error{fmt.Errorf("unknown action type %q (want %q, %q or a type registered in Options.ActionTypes)", textcut.Cut(def.Type, maxQuoted), ActionWebhook, ActionNote)}
}

// checkHeaders validates a webhook action's headers and secret header
// names: at most MaxHeaders of each, names that are HTTP tokens of at most
// MaxHeaderNameBytes, values of UTF-8 text without line breaks or other
// control characters (tab aside) of at most MaxHeaderValueBytes, and at
// most MaxHeaderBytes of names and values in all. Error messages never
// contain header values.
func checkHeaders(headers map[string]string, secret []string) []error {
	var errs []error
	if len(headers) > MaxHeaders {
		errs = append(errs, fmt.Errorf("headers: has %d headers; the limit is %d", len(headers), MaxHeaders))
	}
	names := slices.Sorted(maps.Keys(headers))
	seen := make(map[string]string, len(names))
	total := 0
	for _, name := range names {
		value := headers[name]
		total += len(name) + len(value)
		if err := checkHeaderName(name); err != nil {
			errs = append(errs, fmt.Errorf("headers: %w", err))
			continue
		}
		key := strings.ToLower(name)
		if other, ok := seen[key]; ok {
			errs = append(errs, fmt.Errorf("headers: %q and %q name the same header", textcut.Cut(other, maxQuoted), textcut.Cut(name, maxQuoted)))
			continue
		}
		seen[key] = name
		switch {
		case len(value) > MaxHeaderValueBytes:
			errs = append(errs, fmt.Errorf("headers: value of %q is %d bytes long; the limit is %d", name, len(value), MaxHeaderValueBytes))
		case !httpheader.ValidValue(value):
			errs = append(errs, fmt.Errorf("headers: value of %q contains a line break or other control character", name))
		case !utf8.ValidString(value):
			errs = append(errs, fmt.Errorf("headers: value of %q must be valid UTF-8", name))
		}
	}
	if total > MaxHeaderBytes {
		errs = append(errs, fmt.Errorf("headers: names and values are %d bytes in all; the limit is %d", total, MaxHeaderBytes))
	}
	if len(secret) > MaxHeaders {
		errs = append(errs, fmt.Errorf("secret_headers: has %d names; the limit is %d", len(secret), MaxHeaders))
	}
	for i, name := range secret {
		if err := checkHeaderName(name); err != nil {
			errs = append(errs, fmt.Errorf("secret_headers[%d]: %w", i, err))
		}
	}
	return errs
}

// checkHeaderName validates a header name: an HTTP token of at most
// MaxHeaderNameBytes.
func checkHeaderName(name string) error {
	switch {
	case len(name) > MaxHeaderNameBytes:
		return fmt.Errorf("header name %q is %d bytes long; the limit is %d", textcut.Cut(name, maxQuoted), len(name), MaxHeaderNameBytes)
	case !httpheader.ValidName(name):
		return fmt.Errorf("invalid header name %q", textcut.Cut(name, maxQuoted))
	}
	return nil
}
