package trigger

import (
	"unicode"
	"unicode/utf8"
)

// folded is a needle for case-insensitive substring search, prepared once
// when a condition is compiled so that searching does not allocate.
type folded struct {
	s     string // the needle as written
	lower string // the needle in ASCII lower case, when ascii
	ascii bool
}

func newFolded(s string) folded {
	f := folded{s: s, ascii: isASCII(s)}
	if f.ascii {
		b := []byte(s)
		for i, c := range b {
			b[i] = lowerASCII(c)
		}
		f.lower = string(b)
	}
	return f
}

// in reports whether the needle occurs in s, ignoring case. Case is compared
// with Unicode simple folding, as strings.EqualFold does.
func (f folded) in(s string) bool {
	if f.s == "" {
		return true
	}
	if f.ascii && isASCII(s) {
		return indexLowerASCII(s, f.lower)
	}
	for i := 0; i < len(s); {
		if hasPrefixFold(s[i:], f.s) {
			return true
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// indexLowerASCII reports whether lower (already lower case) occurs in the
// ASCII string s, ignoring case.
func indexLowerASCII(s, lower string) bool {
	first := lower[0]
	for i := 0; i+len(lower) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(lower) && lowerASCII(s[i+j]) == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if r1 != r2 && !equalFoldRune(r1, r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

// equalFoldRune reports whether a and b are equal under simple case folding.
func equalFoldRune(a, b rune) bool {
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
