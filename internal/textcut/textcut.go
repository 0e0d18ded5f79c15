// Package textcut shortens text quoted in error messages and logs, so that
// a value typed by a user or sent by a receiver cannot make them huge.
package textcut

import "unicode/utf8"

// Boundary returns the largest index at most n at which s can be cut
// without splitting a UTF-8 sequence, or len(s) when s is not longer than
// n.
func Boundary(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// Cut returns s when it is at most n bytes long, and otherwise its first
// n bytes or fewer, cut on a UTF-8 boundary, followed by "...".
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:Boundary(s, n)] + "..."
}
