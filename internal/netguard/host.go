package netguard

import (
	"net/netip"
	"strings"
)

// ParseHostIP reports whether host, the host part of a URL, is a literal
// IP address, and returns it. It accepts what resolvers and URL parsers
// take as an address without asking DNS:
//
//   - IPv4 and IPv6 addresses, IPv6 in brackets or not, with or without a
//     zone ("fe80::1%eth0", or "%25eth0" as a URL escapes it);
//   - the legacy IPv4 spellings of inet_aton and of the WHATWG URL
//     standard: one to four parts separated by dots, each decimal, octal
//     with a leading 0 or hexadecimal with 0x, the last part filling the
//     remaining bytes, and one trailing dot, so "127.1", "2130706433",
//     "0x7f.1", "017700000001" and "127.0.0.1." are all 127.0.0.1.
//
// An IPv4-mapped IPv6 address such as [::ffff:127.0.0.1] is returned as
// parsed; Blocked unmaps it. A host that is not an address, such as a
// name or an address with a part out of range, reports false: it is then
// checked when it is dialled.
func ParseHostIP(host string) (netip.Addr, bool) {
	h, bracketed := strings.CutPrefix(host, "[")
	if bracketed {
		var ok bool
		if h, ok = strings.CutSuffix(h, "]"); !ok {
			return netip.Addr{}, false
		}
	}
	h = strings.Replace(h, "%25", "%", 1)
	if ip, err := netip.ParseAddr(h); err == nil {
		if bracketed && !ip.Is6() {
			return netip.Addr{}, false
		}
		return ip, true
	}
	if bracketed {
		return netip.Addr{}, false
	}
	return parseLegacyIPv4(h)
}

// parseLegacyIPv4 parses the inet_aton forms of an IPv4 address.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	if len(s) > 64 {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if n := len(parts); n > 1 && parts[n-1] == "" {
		parts = parts[:n-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseLegacyPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		// The last part fills the bytes the others left.
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseLegacyPart parses one part of a legacy IPv4 address: decimal, octal
// with a leading 0, or hexadecimal with 0x ("0x" alone is 0). It reports
// false for an empty part, a bad digit or a value past 32 bits.
func parseLegacyPart(p string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	case p == "":
		return 0, false
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		d, ok := digit(p[i])
		if !ok || d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, false
		}
	}
	return n, true
}

// digit returns the value of the hexadecimal digit c.
func digit(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}
