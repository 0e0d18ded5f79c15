package webhook

import (
	"bytes"
	"net/url"
	"sort"
	"strings"

	"github.com/tickethooks/tickethooks/internal/urlcache"
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
	u, err := urlcache.Parse(raw) // the engine redacts each webhook URL at every firing
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
	// pairs holds the texts to hide, longest first, each followed by
	// what replaces it, as strings.NewReplacer takes them.
	pairs []string
}

// newScrubber returns the scrubber of the request URL raw, parsed as u: it
// hides the URL as a whole and its query, each "key=value" query part
// and each query part with no key, the user name and password, and when
// whole is set the path, in its escaped and its decoded forms, as
// RedactURL would show them. Query parts and paths shorter than
// minScrubbed bytes are hidden only within the whole URL or query.
func newScrubber(raw string, u *url.URL, whole bool) scrubber {
	if u.RawQuery == "" && u.User == nil && u.Fragment == "" && !whole {
		return scrubber{}
	}
	var s scrubber
	add := func(old, new string) {
		if old != "" && old != new {
			s.pairs = append(s.pairs, old, new)
		}
	}
	add(raw, redactParsed(u, whole))
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
		if u.RawQuery != "" {
			add(u.EscapedPath()+"?"+u.RawQuery, "/"+redactedValue)
		}
		for _, p := range []string{u.EscapedPath(), u.Path} {
			if len(p) >= minScrubbed {
				add(p, "/"+redactedValue)
			}
		}
	}
	// Longest first: strings.Replacer tries its pairs in order at each
	// position, so a whole URL is replaced before a part of it. A text
	// listed twice is harmless.
	n := len(s.pairs) / 2
	sort.Stable(byOldLength(s.pairs[:2*n]))
	return s
}

// byOldLength sorts the old/new pairs of a scrubber, longest old first.
type byOldLength []string

func (p byOldLength) Len() int           { return len(p) / 2 }
func (p byOldLength) Less(i, j int) bool { return len(p[2*i]) > len(p[2*j]) }
func (p byOldLength) Swap(i, j int) {
	p[2*i], p[2*j] = p[2*j], p[2*i]
	p[2*i+1], p[2*j+1] = p[2*j+1], p[2*i+1]
}

// holds reports whether text holds any part that s hides.
func (s scrubber) holds(text string) bool {
	for i := 0; i < len(s.pairs); i += 2 {
		if strings.Contains(text, s.pairs[i]) {
			return true
		}
	}
	return false
}

// text returns text with the parts s hides replaced.
func (s scrubber) text(text string) string {
	if !s.holds(text) {
		return text
	}
	return strings.NewReplacer(s.pairs...).Replace(text)
}

// error returns err, or when its message holds a part that s hides, an
// error with that part replaced that wraps err.
func (s scrubber) error(err error) error {
	if err == nil || len(s.pairs) == 0 {
		return err
	}
	msg := err.Error()
	if !s.holds(msg) {
		return err
	}
	return &scrubbedError{msg: s.text(msg), err: err}
}

// response hides the parts s hides in the header values, body and
// BodyError of resp.
func (s scrubber) response(resp *Response) {
	if len(s.pairs) == 0 {
		return
	}
	for _, vs := range resp.Header {
		for i, v := range vs {
			vs[i] = s.text(v)
		}
	}
	for i := 0; i < len(s.pairs); i += 2 {
		if bytes.Contains(resp.Body, []byte(s.pairs[i])) {
			resp.Body = []byte(s.text(string(resp.Body)))
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
