package webhook

import (
	"bytes"
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// InvalidURL is what RedactURL returns for a URL it cannot parse: such a
// URL cannot be told apart into parts to show and parts to hide.
const InvalidURL = "[invalid URL]"

// redactedValue replaces a query value in a redacted URL: plain letters,
// so that the redacted URL stays a valid URL.
const redactedValue = "REDACTED"

// RedactURL returns raw fit to show in a log, a page or an error message.
//
// With whole false it keeps the scheme, host, port and path, and replaces
// every query value with REDACTED, keeping the keys:
// "https://example.com/hook?token=abc&x=1" becomes
// "https://example.com/hook?token=REDACTED&x=REDACTED". A query part with
// no "=" is replaced whole; an empty value stays empty. The user
// name, password and fragment are dropped.
//
// With whole true, for a URL that is secret as a whole, such as a Slack
// incoming webhook whose path is its token, it returns the scheme and host
// only, with the port if there is one: "https://hooks.slack.com". A URL
// with no host then gives Redacted.
//
// RedactURL never fails: a URL that does not parse gives InvalidURL. The
// empty string gives itself.
func RedactURL(raw string, whole bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return InvalidURL
	}
	return redactParsed(u, whole)
}

// redactParsed is RedactURL of the parsed URL u, which it does not modify.
func redactParsed(u *url.URL, whole bool) string {
	if whole {
		if u.Host == "" {
			return Redacted
		}
		return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	}
	r := url.URL{
		Scheme:     u.Scheme,
		Host:       u.Host,
		Path:       u.Path,
		RawPath:    u.RawPath,
		ForceQuery: u.ForceQuery,
		RawQuery:   redactQuery(u.RawQuery),
	}
	if u.Opaque != "" {
		r.Opaque = redactedValue
	}
	return r.String()
}

// redactQuery returns the raw query q with every value replaced by
// redactedValue and every part with no "=" replaced whole.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	var b strings.Builder
	for i, part := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(redactQueryPart(part))
	}
	return b.String()
}

// redactQueryPart returns one "key=value" part of a raw query with its
// value redacted, or redactedValue for a non-empty part with no "=".
func redactQueryPart(part string) string {
	key, value, ok := strings.Cut(part, "=")
	switch {
	case !ok && part != "":
		return redactedValue
	case value != "":
		return key + "=" + redactedValue
	}
	return part
}

// minScrubbed is the shortest secret part of a URL (a query value, a path)
// that a scrubber hides where a receiver echoes it: a shorter one is no
// secret worth the name, and too common in text to hide.
const minScrubbed = 4

// scrubber hides the secret parts of a request's URL where a receiver or
// the network stack echoes them: in error messages (such as net/http's
// "failed to parse Location header"), response headers (a Location that
// repeats the URL) and response bodies. The zero value hides nothing.
type scrubber struct {
	// olds are the texts to hide, longest first; r replaces them.
	olds []string
	r    *strings.Replacer
}

// newScrubber returns the scrubber of the request URL u: it hides the URL
// as a whole and its query, each "key=value" query part and each query
// part with no key, the user name and password, and when whole is set the
// path, its escaped and its decoded forms, as RedactURL would show them.
// Parts shorter than minScrubbed bytes are hidden only within the whole
// URL or query.
func newScrubber(raw string, u *url.URL, whole bool) scrubber {
	if u.RawQuery == "" && u.User == nil && u.Fragment == "" && !whole {
		return scrubber{}
	}
	pairs := map[string]string{raw: redactParsed(u, whole)}
	add := func(old, new string) {
		if old != "" && old != new {
			pairs[old] = new
		}
	}
	if u.RawQuery != "" {
		add("?"+u.RawQuery, "?"+redactQuery(u.RawQuery))
		for part := range strings.SplitSeq(u.RawQuery, "&") {
			key, value, ok := strings.Cut(part, "=")
			if len(value) >= minScrubbed || (!ok && len(key) >= minScrubbed) {
				add(part, redactQueryPart(part))
			}
		}
	}
	if u.User != nil {
		add(u.User.String()+"@", "")
	}
	if whole {
		for _, p := range []string{u.EscapedPath(), u.Path} {
			if len(p) >= minScrubbed {
				add(p, "/"+redactedValue)
			}
		}
		if u.RawQuery != "" {
			add(u.EscapedPath()+"?"+u.RawQuery, "/"+redactedValue)
		}
	}
	var s scrubber
	for old := range pairs {
		s.olds = append(s.olds, old)
	}
	// Longest first: strings.Replacer tries its pairs in order at each
	// position, so a whole URL is replaced before a part of it.
	slices.SortFunc(s.olds, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	args := make([]string, 0, 2*len(s.olds))
	for _, old := range s.olds {
		args = append(args, old, pairs[old])
	}
	s.r = strings.NewReplacer(args...)
	return s
}

// holds reports whether text holds any part that s hides.
func (s scrubber) holds(text string) bool {
	for _, old := range s.olds {
		if strings.Contains(text, old) {
			return true
		}
	}
	return false
}

// text returns text with the parts s hides replaced.
func (s scrubber) text(text string) string {
	if s.r == nil || !s.holds(text) {
		return text
	}
	return s.r.Replace(text)
}

// error returns err, or when its message holds a part that s hides, an
// error with that part replaced that wraps err.
func (s scrubber) error(err error) error {
	if err == nil || s.r == nil {
		return err
	}
	msg := err.Error()
	if !s.holds(msg) {
		return err
	}
	return &scrubbedError{msg: s.r.Replace(msg), err: err}
}

// response hides the parts s hides in the header values, body and
// BodyError of resp.
func (s scrubber) response(resp *Response) {
	if s.r == nil {
		return
	}
	for k, vs := range resp.Header {
		for i, v := range vs {
			resp.Header[k][i] = s.text(v)
		}
	}
	for _, old := range s.olds {
		if bytes.Contains(resp.Body, []byte(old)) {
			resp.Body = []byte(s.r.Replace(string(resp.Body)))
			break
		}
	}
	resp.BodyError = s.error(resp.BodyError)
}

// scrubbedError is an error whose message has had the secret parts of a
// URL replaced. It wraps the original error, so errors.Is and errors.As
// still see its chain.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Unwrap() error { return e.err }
