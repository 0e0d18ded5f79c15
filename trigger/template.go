package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// The request methods of a webhook action ("method"). An empty
// Action.Method means MethodPost.
const (
	MethodPost  = "POST"
	MethodPut   = "PUT"
	MethodPatch = "PATCH"
)

// The content types of a webhook action's body ("content_type"). An empty
// Action.ContentType means ContentTypeJSON.
const (
	// ContentTypeJSON sends the body as JSON: the ticket packet, or the
	// value of the body template encoded as JSON.
	ContentTypeJSON = "application/json"
	// ContentTypeForm sends the body as an HTML form: the value of the
	// body template, which must be a flat map, encoded as url.Values do.
	// It needs a body template.
	ContentTypeForm = "application/x-www-form-urlencoded"
)

// MaxRenderedBody is the most bytes a body template may render to; a
// larger body is a render error.
const MaxRenderedBody = 256 << 10

// TemplateEnv is the environment a webhook action's body template is
// evaluated in. It has Env's fields and helpers (Ticket, Previous, Event,
// Attr, PreviousAttr, Changed, ChangedTo, ChangedFrom, CustomField), which
// read as in expressions, and Trigger, the trigger whose action is
// rendered. (The fields are repeated rather than Env embedded, so that
// expr's errors name them plainly.)
type TemplateEnv struct {
	// Ticket is the ticket after the change.
	Ticket payload.Ticket
	// Previous is the ticket before the change; nil on creation.
	Previous *payload.Ticket
	// Event is "created" or "updated".
	Event string
	// Attr and PreviousAttr are the host attributes after and before the
	// change, read as Attr.<name>.
	Attr         Attrs
	PreviousAttr Attrs
	// Trigger is the trigger whose action is rendered. Its fields are
	// empty when the action is rendered without a trigger (a test send
	// or preview without WebhookSample.Trigger).
	Trigger TemplateTrigger
}

// env returns the Env with e's fields.
func (e *TemplateEnv) env() Env {
	return Env{Ticket: e.Ticket, Previous: e.Previous, Event: e.Event, Attr: e.Attr, PreviousAttr: e.PreviousAttr}
}

// Changed is Env.Changed.
func (e TemplateEnv) Changed(field string) bool { return e.env().Changed(field) }

// ChangedTo is Env.ChangedTo.
func (e TemplateEnv) ChangedTo(field string, v any) bool { return e.env().ChangedTo(field, v) }

// ChangedFrom is Env.ChangedFrom.
func (e TemplateEnv) ChangedFrom(field string, v any) bool { return e.env().ChangedFrom(field, v) }

// CustomField is Env.CustomField.
func (e TemplateEnv) CustomField(id int) string { return e.env().CustomField(id) }

// TemplateTrigger is what a body template sees of its trigger.
type TemplateTrigger struct {
	// ID is the trigger's id.
	ID string
	// Name is the trigger's name; it may be empty.
	Name string
}

// Template is the compiled body template of a webhook action: an
// expression whose value, encoded as the action's content type says,
// is the request body. It is safe for concurrent use.
type Template struct {
	src     string
	program *vm.Program
}

// Source returns the template's text as the definition wrote it.
func (t *Template) Source() string {
	if t == nil {
		return ""
	}
	return t.src
}

// RenderError is an error a body template raised while it was rendered:
// the expression failed, or its value cannot be encoded as the action's
// content type says.
type RenderError struct {
	// Line and Column (both from 1) locate the failing part of the
	// template, or are 0 when unknown or when encoding failed.
	Line, Column int
	// Err is the cause.
	Err error
}

// Error formats the problem as `body template: line L, column C: cause`.
func (e *RenderError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("body template: line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("body template: %v", e.Err)
}

// Unwrap returns the cause.
func (e *RenderError) Unwrap() error { return e.Err }

// checkMethod validates a webhook action's method.
func checkMethod(m string) error {
	switch m {
	case "", MethodPost, MethodPut, MethodPatch:
		return nil
	}
	return &pathError{part: "method", err: fmt.Errorf("unknown method %q (want %q, %q or %q)", textcut.Cut(m, maxQuoted), MethodPost, MethodPut, MethodPatch)}
}

// checkContentType validates a webhook action's content type.
func checkContentType(ct string) error {
	switch ct {
	case "", ContentTypeJSON, ContentTypeForm:
		return nil
	}
	return &pathError{part: "content_type", err: fmt.Errorf("unknown content type %q (want %q or %q)", textcut.Cut(ct, maxQuoted), ContentTypeJSON, ContentTypeForm)}
}

// compileTemplate compiles the body template src of a webhook action with
// content type ct. Problems are *pathError of part "body".
func compileTemplate(src, ct string, o *options) (*Template, []error) {
	kind := exprKind{env: TemplateEnv{}}
	if ct == ContentTypeForm {
		kind.result = formResult
	}
	program, problems := compileSource(src, o.maxTemplateLength, o, kind)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = &pathError{part: "body", err: p.err(), line: p.line, column: p.column}
		}
		return nil, errs
	}
	return &Template{src: src, program: program}, nil
}

// formResult refuses a template whose value is known not to be a map, for
// the form content type.
func formResult(tree ast.Node) string {
	t := tree.Type()
	if t == nil || t.Kind() == reflect.Interface || t.Kind() == reflect.Map {
		return ""
	}
	return fmt.Sprintf("an %s body must be a map of names to values, not %s", ContentTypeForm, t)
}

// Render returns the request body of the webhook action a for the change
// ev, and its content type.
//
// Without a body template, the body is the ticket packet of ev.After as
// payload.Encode writes it, with WebhookEvents set to t.WebhookEvents()
// (or as ev.After has them when t is nil), and the content type is
// ContentTypeJSON.
//
// With a template, Render evaluates it over a TemplateEnv made of ev and t
// (t may be nil: Trigger is then empty) with the memory budget of
// expressions, and encodes its value itself, never pasting text into JSON:
//
//   - ContentTypeJSON: with encoding/json, without HTML escaping and
//     without a trailing newline. Tickets encode as the packet does
//     (payload.Ticket's MarshalJSON), times as RFC 3339. Map keys must be
//     strings. Invalid UTF-8 in strings becomes U+FFFD.
//   - ContentTypeForm: the value must be a flat map whose values are
//     strings, numbers (written as JSON writes them), bools or nil (an
//     empty value); it is encoded as url.Values encodes, keys sorted.
//
// With a template, a body over MaxRenderedBody bytes, a value that cannot
// be encoded, a failing expression and a ticket over BudgetTicketSize are
// errors, of type *RenderError; the packet, without a template, is
// returned whatever its size (the engine caps it with
// Config.MaxBodySize). Render never panics.
func (a *Action) Render(ev *Event, t *Trigger) (body []byte, contentType string, err error) {
	contentType = a.ContentType
	if contentType == "" {
		contentType = ContentTypeJSON
	}
	if a.Body == nil || a.Body.program == nil {
		if contentType != ContentTypeJSON {
			return nil, contentType, &RenderError{Err: fmt.Errorf("%s needs a body template", contentType)}
		}
		packet := *orZero(ev.After)
		if t != nil {
			packet.WebhookEvents = t.WebhookEvents()
		}
		body, err = payload.Encode(&packet)
		if err != nil {
			return nil, contentType, &RenderError{Err: err}
		}
		return body, contentType, nil
	}
	base := ev.env()
	env := TemplateEnv{Ticket: base.Ticket, Previous: base.Previous, Event: base.Event, Attr: base.Attr, PreviousAttr: base.PreviousAttr}
	if t != nil {
		env.Trigger = TemplateTrigger{ID: t.ID, Name: t.Name}
	}
	out, err := runVM(a.Body.program, ev, env)
	if err != nil {
		re := runtimeError("", err)
		return nil, contentType, &RenderError{Line: re.Line, Column: re.Column, Err: re.Err}
	}
	defer func() {
		if r := recover(); r != nil {
			body, err = nil, &RenderError{Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	if contentType == ContentTypeForm {
		body, err = encodeForm(out)
	} else {
		body, err = encodeJSON(out)
	}
	if err != nil {
		return nil, contentType, &RenderError{Err: err}
	}
	if len(body) > MaxRenderedBody {
		return nil, contentType, &RenderError{Err: fmt.Errorf("the body is %d bytes long; the limit is %d", len(body), MaxRenderedBody)}
	}
	return body, contentType, nil
}

// maxValueDepth is how deep checkKeys follows nested maps and lists.
const maxValueDepth = 100

// encodeJSON encodes a template's value as JSON.
func encodeJSON(v any) ([]byte, error) {
	if err := checkKeys(reflect.ValueOf(v), "", 0); err != nil {
		return nil, err
	}
	if _, err := jsonSizeAtMost(reflect.ValueOf(v), MaxRenderedBody, 0); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("cannot encode the value as JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// checkKeys reports a map with keys that are not strings in v, whose
// place is at.
func checkKeys(v reflect.Value, at string, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("the value nests more than %d levels deep", maxValueDepth)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkKeys(v.Elem(), at, depth+1)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("map%s has keys of type %s; keys must be strings", inPlace(at), v.Type().Key())
		}
		it := v.MapRange()
		for it.Next() {
			if err := checkKeys(it.Value(), at+"."+it.Key().String(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkKeys(v.Index(i), fmt.Sprintf("%s[%d]", at, i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// inPlace formats the place of a nested value for an error message.
func inPlace(at string) string {
	if at == "" {
		return ""
	}
	return fmt.Sprintf(" at %q", textcut.Cut(at, maxQuoted))
}

// encodeForm encodes a template's value, a flat map, as a form.
func encodeForm(v any) ([]byte, error) {
	m := reflect.ValueOf(v)
	if m.Kind() != reflect.Map || m.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("an %s body must be a map of names to values, not %s", ContentTypeForm, typeName(v))
	}
	form := make(url.Values, m.Len())
	size := 0
	it := m.MapRange()
	for it.Next() {
		key := it.Key().String()
		s, err := formValue(it.Value())
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", textcut.Cut(key, maxQuoted), err)
		}
		if size += formSizeAtMost(key, s); size > MaxRenderedBody {
			return nil, errBodyTooLarge
		}
		form.Set(key, s)
	}
	return []byte(form.Encode()), nil
}

// formValue formats one value of a form.
func formValue(v reflect.Value) (string, error) {
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return "", nil
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return "", fmt.Errorf("cannot format the number: %w", err)
		}
		return string(b), nil
	case reflect.Pointer:
		if v.IsNil() {
			return "", nil
		}
	}
	return "", fmt.Errorf("a form value must be a string, number, bool or nil, not %s", v.Type())
}

// typeName names the type of a template's value for an error message.
func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// errNoForm is the error of a form action without a body template.
var errNoForm = errors.New(ContentTypeForm + " needs a body template: the ticket packet is not a flat map")
