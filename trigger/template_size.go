package trigger

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/payload"
)

// errBodyTooLarge is the error of a template's value that would encode to
// more than MaxRenderedBody bytes.
var errBodyTooLarge = fmt.Errorf("the body would be more than %d bytes long (MaxRenderedBody)", MaxRenderedBody)

// jsonSizeAtMost returns an upper bound of the size of v encoded as JSON,
// or errBodyTooLarge as soon as the bound passes limit. It walks v
// without encoding it, so that a small value that repeats a large one
// (the same 200 KiB string in a list of 10,000) is refused before
// gigabytes are written; the expression cost bound does not see such
// sharing. Its work is bounded by limit, plus one ticket or nested struct
// encoded whole.
func jsonSizeAtMost(v reflect.Value, limit, depth int) (int, error) {
	if depth > maxValueDepth {
		return 0, fmt.Errorf("the value nests more than %d levels deep", maxValueDepth)
	}
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return len("null"), nil
		}
		if v.Kind() == reflect.Pointer && v.Type().Elem() == reflect.TypeOf(payload.Ticket{}) {
			break
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return len("null"), nil
	case reflect.String:
		return jsonStringSize(v.String()), nil
	case reflect.Bool:
		return len("false"), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return 32, nil
	case reflect.Map:
		n := 2
		it := v.MapRange()
		for it.Next() {
			k := jsonStringSize(it.Key().String()) + 2 // colon and comma
			m, err := jsonSizeAtMost(it.Value(), limit-n-k, depth+1)
			if err != nil {
				return 0, err
			}
			if n += k + m; n > limit {
				return 0, errBodyTooLarge
			}
		}
		return n, nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return 2 + (v.Len()+2)/3*4, nil // base64
		}
		n := 2
		for i := range v.Len() {
			m, err := jsonSizeAtMost(v.Index(i), limit-n, depth+1)
			if err != nil {
				return 0, err
			}
			if n += m + 1; n > limit {
				return 0, errBodyTooLarge
			}
		}
		return n, nil
	}
	if v.Type() == reflect.TypeOf(time.Time{}) {
		return len(`"2006-01-02T15:04:05.999999999-07:00"`) + 8, nil
	}
	// A ticket, or a part of one (an action, a person...): bounded by the
	// ticket, whose size the expression budget caps. Encode it only when
	// the cheap bound does not settle it.
	if t, ok := asTicket(v); ok && encodedSizeAtMost(t) <= limit {
		return encodedSizeAtMost(t), nil
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return 0, fmt.Errorf("cannot encode the value as JSON: %w", err)
	}
	return len(b), nil
}

// asTicket returns v as a ticket, when it is one.
func asTicket(v reflect.Value) (*payload.Ticket, bool) {
	switch t := v.Interface().(type) {
	case payload.Ticket:
		return &t, true
	case *payload.Ticket:
		return t, t != nil
	}
	return nil, false
}

// jsonStringSize returns the size of s encoded as a JSON string by
// encoding/json without HTML escaping: quotes, \" \\ \n \r \t as two
// bytes, other control characters, U+2028, U+2029 and each invalid byte
// (written as U+FFFD) as six.
func jsonStringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// formSizeAtMost returns the size of one key=value pair of a form body,
// as url.Values.Encode escapes it, with its separator.
func formSizeAtMost(key, value string) int {
	return formEscapedSize(key) + formEscapedSize(value) + 2
}

// formEscapedSize returns the size of s escaped by url.QueryEscape:
// letters, digits, '-', '_', '.', '~' and ' ' (as '+') take one byte,
// every other byte three.
func formEscapedSize(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == ' ':
			n++
		default:
			n += 3
		}
	}
	return n
}
