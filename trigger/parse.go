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

	"github.com/tickethooks/tickethooks/internal/textcut"
)

// Parse decodes a JSON array of definitions and compiles it as Compile
// does. Decoding is strict: an unknown key is an error (it is usually a
// typo), and so is a value of the wrong JSON type. A JSON syntax error is
// reported as an *Error with Index -1 and the line and column of the
// problem.
func Parse(data []byte, opts *Options) (*Set, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	ds, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	return build(ds, o)
}

// decodeAll splits the input into definitions and decodes each.
func decodeAll(data []byte) ([]decoded, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, &Error{Index: -1, Line: line, Column: col, Err: errors.New(se.Error())}
		}
		return nil, &Error{Index: -1, Err: errors.New("want a JSON array of trigger definitions")}
	}
	if raws == nil { // null
		return nil, &Error{Index: -1, Err: errors.New("want a JSON array of trigger definitions")}
	}
	ds := make([]decoded, len(raws))
	for i, raw := range raws {
		ds[i] = decodeDefinition(raw)
	}
	return ds, nil
}

// position converts a byte offset in data to a line and a column, both
// counted from 1, the column in characters. The offset is just past the
// offending byte, as json.SyntaxError reports it.
func position(data []byte, offset int64) (line, column int) {
	off := int(min(max(offset, 0), int64(len(data))))
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return bytes.Count(data[:off], []byte("\n")) + 1, max(utf8.RuneCount(data[start:off]), 1)
}

// decoder collects the problems of one definition.
type decoder struct {
	d *decoded
}

// fail records a problem at path and marks the path as not decoded.
func (dc decoder) fail(path string, err error) {
	dc.d.errs = append(dc.d.errs, &Error{Path: path, Err: err})
	if dc.d.skip == nil {
		dc.d.skip = make(map[string]bool)
	}
	dc.d.skip[path] = true
}

// unknown records an unknown key. Validation of the rest goes on.
func (dc decoder) unknown(path, key string, known []string) {
	msg := fmt.Sprintf("unknown key %q", textcut.Cut(key, maxQuoted))
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	dc.d.errs = append(dc.d.errs, &Error{Path: path, Err: errors.New(msg)})
}

// into decodes raw into v, recording "must be <what>" at path on failure.
func (dc decoder) into(path string, raw json.RawMessage, v any, what string) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		dc.fail(path, fmt.Errorf("must be %s", what))
		return false
	}
	return true
}

// object decodes raw as a JSON object, recording a problem at path when it
// is not one. A JSON null is no object; it is a problem unless nullOK.
func (dc decoder) object(path string, raw json.RawMessage, nullOK bool) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if !dc.into(path, raw, &obj, "a JSON object") {
		return nil, false
	}
	if obj == nil && !nullOK {
		dc.fail(path, errors.New("must be a JSON object"))
		return nil, false
	}
	return obj, true
}

// member decodes the value of key of the object at path into v,
// recording "<key> must be <what>" at path on failure.
func (dc decoder) member(path, key string, raw json.RawMessage, v any, what string) bool {
	if json.Unmarshal(raw, v) != nil {
		dc.fail(path, fmt.Errorf("%s must be %s", key, what))
		return false
	}
	return true
}

// list decodes raw as a JSON array.
func (dc decoder) list(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	if !dc.into(path, raw, &items, "a JSON array") {
		return nil, false
	}
	return items, true
}

// sortedKeys returns obj's keys in order, so that problems are reported in
// a stable order.
func sortedKeys(obj map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(obj))
}

var definitionKeys = []string{"id", "name", "type", "enabled", "on", "conditions", "expression", "actions"}

// decodeDefinition decodes one definition object strictly.
func decodeDefinition(raw json.RawMessage) decoded {
	var d decoded
	dc := decoder{&d}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		dc.fail("", errors.New("definition must be a JSON object"))
		return d
	}
	def := &d.def
	for _, key := range sortedKeys(obj) {
		v := obj[key]
		switch key {
		case "id":
			dc.into(key, v, &def.ID, "a JSON string")
		case "name":
			dc.into(key, v, &def.Name, "a JSON string")
		case "type":
			dc.into(key, v, &def.Type, "a JSON string")
		case "enabled":
			dc.into(key, v, &def.Enabled, "true or false")
		case "on":
			dc.into(key, v, &def.On, `a JSON array of "created" and "updated"`)
		case "expression":
			dc.into(key, v, &def.Expression, "a JSON string")
		case "conditions":
			dc.conditions(v, &def.Conditions)
		case "actions":
			dc.actions(v, &def.Actions)
		default:
			dc.unknown("", key, definitionKeys)
		}
	}
	return d
}

var conditionsKeys = []string{"all", "any"}
var conditionKeys = []string{"field", "operator", "value"}

// conditions decodes the conditions object.
func (dc decoder) conditions(raw json.RawMessage, c *Conditions) {
	obj, ok := dc.object("conditions", raw, true)
	if !ok {
		return
	}
	for _, key := range sortedKeys(obj) {
		var list *[]ConditionDefinition
		switch key {
		case "all":
			list = &c.All
		case "any":
			list = &c.Any
		default:
			dc.unknown("conditions", key, conditionsKeys)
			continue
		}
		path := "conditions." + key
		items, ok := dc.list(path, obj[key])
		if !ok {
			continue
		}
		for i, item := range items {
			*list = append(*list, dc.condition(fmt.Sprintf("%s[%d]", path, i), item))
		}
	}
}

// condition decodes one condition object.
func (dc decoder) condition(path string, raw json.RawMessage) ConditionDefinition {
	var c ConditionDefinition
	obj, ok := dc.object(path, raw, false)
	if !ok {
		return c
	}
	for _, key := range sortedKeys(obj) {
		v := obj[key]
		switch key {
		case "field":
			dc.member(path, key, v, &c.Field, "a JSON string")
		case "operator":
			dc.member(path, key, v, &c.Operator, "a JSON string")
		case "value":
			c.Value = bytes.Clone(v)
		default:
			dc.unknown(path, key, conditionKeys)
		}
	}
	return c
}

var actionKeys = []string{"type", "url", "secret_url", "headers", "secret_headers", "secrets", "body", "method", "content_type", "text"}

// actions decodes the actions list.
func (dc decoder) actions(raw json.RawMessage, actions *[]ActionDefinition) {
	items, ok := dc.list("actions", raw)
	if !ok {
		return
	}
	for i, item := range items {
		*actions = append(*actions, dc.action(fmt.Sprintf("actions[%d]", i), item))
	}
}

// action decodes one action object. Keys of a registered (or unknown) type
// are kept whole in Params and not checked here.
func (dc decoder) action(path string, raw json.RawMessage) ActionDefinition {
	var a ActionDefinition
	obj, ok := dc.object(path, raw, false)
	if !ok {
		return a
	}
	if t, ok := obj["type"]; ok && !dc.member(path, "type", t, &a.Type, "a JSON string") {
		return a
	}
	if !isBuiltinAction(a.Type) {
		a.Params = compactJSON(raw)
		return a
	}
	for _, key := range sortedKeys(obj) {
		v := obj[key]
		switch key {
		case "type":
		case "url":
			dc.member(path, key, v, &a.URL, "a JSON string")
		case "secret_url":
			dc.member(path, key, v, &a.SecretURL, "true or false")
		case "headers":
			dc.member(path, key, v, &a.Headers, "a JSON object of strings")
		case "secret_headers":
			dc.member(path, key, v, &a.SecretHeaders, "a JSON array of strings")
		case "secrets":
			dc.member(path, key, v, &a.Secrets, "a JSON array of strings")
		case "body":
			dc.member(path, key, v, &a.Body, "a JSON string")
		case "method":
			dc.member(path, key, v, &a.Method, "a JSON string")
		case "content_type":
			dc.member(path, key, v, &a.ContentType, "a JSON string")
		case "text":
			dc.member(path, key, v, &a.Text, "a JSON string")
		default:
			dc.unknown(path, key, actionKeys)
		}
	}
	return a
}

// suggest returns the known key closest to key, or "" when none is close.
func suggest(key string, known []string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes,
// giving up (returning a large number) for long inputs.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
