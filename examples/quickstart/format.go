package main

import (
	"net/url"
	"strings"
)

// urlPath returns the path of a URL, or the URL itself if it does not parse.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

// dash stands in for an empty value.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// trim shortens a response body for one table cell.
func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}
