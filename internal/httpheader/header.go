package httpheader

import "strings"

// ValidName reports whether name is an HTTP token (RFC 9110 5.6.2): one or
// more letters, digits or characters of "!#$%&'*+-.^_`|~".
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidValue reports whether v can be sent as a header value: it holds no
// CR, LF or other control character except horizontal tab, which net/http
// would refuse at send time.
func ValidValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
