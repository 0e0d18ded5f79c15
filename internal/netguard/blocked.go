package netguard

import "net/netip"

// Reasons returned by Blocked.
const (
	reasonInvalid       = "an invalid address"
	reasonUnspecified   = "an unspecified address"
	reasonLoopback      = "a loopback address"
	reasonPrivate       = "a private address"
	reasonShared        = "a shared address (carrier-grade NAT)"
	reasonLinkLocal     = "a link-local address"
	reasonMetadata      = "a link-local address (cloud metadata)"
	reasonULA           = "a private address (unique local)"
	reasonULAMetadata   = "a private address (cloud metadata)"
	reasonSiteLocal     = "a site-local address"
	reasonMulticast     = "a multicast address"
	reasonBroadcast     = "a broadcast address"
	reasonDocumentation = "a documentation address"
	reasonBenchmarking  = "a benchmarking address"
	reasonReserved      = "a reserved address"
	reasonDiscard       = "a discard-only address"
	reasonTeredo        = "a Teredo tunnel address"
	reasonLocalNAT64    = "a local-use NAT64 address"
)

// blockedRange is a range of addresses and why it is blocked.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// r builds a blockedRange; prefixes are constants of this file.
func r(prefix, reason string) blockedRange {
	return blockedRange{netip.MustParsePrefix(prefix), reason}
}

// blockedV4 lists the blocked IPv4 ranges, the narrower before the wider
// ones that hold them: the first match gives the reason.
var blockedV4 = []blockedRange{
	r("0.0.0.0/8", reasonUnspecified),         // RFC 791 "this network"
	r("10.0.0.0/8", reasonPrivate),            // RFC 1918
	r("100.64.0.0/10", reasonShared),          // RFC 6598
	r("127.0.0.0/8", reasonLoopback),          // RFC 1122
	r("169.254.169.254/32", reasonMetadata),   // AWS, GCP, Azure, OCI...
	r("169.254.170.2/32", reasonMetadata),     // AWS ECS task metadata
	r("169.254.0.0/16", reasonLinkLocal),      // RFC 3927
	r("172.16.0.0/12", reasonPrivate),         // RFC 1918
	r("192.0.0.0/24", reasonReserved),         // RFC 6890 IETF protocol assignments
	r("192.0.2.0/24", reasonDocumentation),    // RFC 5737 TEST-NET-1
	r("192.88.99.0/24", reasonReserved),       // RFC 7526 deprecated 6to4 relay anycast
	r("192.168.0.0/16", reasonPrivate),        // RFC 1918
	r("198.18.0.0/15", reasonBenchmarking),    // RFC 2544
	r("198.51.100.0/24", reasonDocumentation), // RFC 5737 TEST-NET-2
	r("203.0.113.0/24", reasonDocumentation),  // RFC 5737 TEST-NET-3
	r("224.0.0.0/4", reasonMulticast),         // RFC 5771
	r("255.255.255.255/32", reasonBroadcast),  // RFC 919
	r("240.0.0.0/4", reasonReserved),          // RFC 1112 future use
}

// blockedV6 lists the blocked IPv6 ranges, the narrower before the wider
// ones that hold them. IPv4-mapped addresses are unmapped, and NAT64 and
// 6to4 addresses are judged by the IPv4 address they embed, before this
// list is read. Addresses outside 2000::/3 that no entry names are
// reserved too.
var blockedV6 = []blockedRange{
	r("::/128", reasonUnspecified),            // RFC 4291
	r("::1/128", reasonLoopback),              // RFC 4291
	r("64:ff9b:1::/48", reasonLocalNAT64),     // RFC 8215
	r("::/8", reasonReserved),                 // IPv4-compatible, SIIT and the rest of ::/8
	r("100::/64", reasonDiscard),              // RFC 6666
	r("2001::/32", reasonTeredo),              // RFC 4380: embeds any IPv4 client
	r("2001:2::/48", reasonBenchmarking),      // RFC 5180
	r("2001::/23", reasonReserved),            // RFC 2928 IETF protocol assignments
	r("2001:db8::/32", reasonDocumentation),   // RFC 3849
	r("3fff::/20", reasonDocumentation),       // RFC 9637
	r("fd00:ec2::254/128", reasonULAMetadata), // AWS metadata over IPv6
	r("fc00::/7", reasonULA),                  // RFC 4193
	r("fe80::/10", reasonLinkLocal),           // RFC 4291
	r("fec0::/10", reasonSiteLocal),           // RFC 3879, deprecated
	r("ff00::/8", reasonMulticast),            // RFC 4291
}

var (
	// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits
	// are an IPv4 address that a NAT64 gateway reaches.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// sixToFour is the 6to4 prefix (RFC 3056): bits 16 to 47 are an IPv4
	// address that a 6to4 relay reaches.
	sixToFour = netip.MustParsePrefix("2002::/16")
	// globalUnicast is the IPv6 global unicast space (RFC 4291).
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// Blocked reports whether a webhook must not connect to ip and, if so,
// why, as a phrase such as "a private address", "a loopback address" or
// "a link-local address (cloud metadata)" that reads after "10.0.0.5 is".
//
// Blocked are: unspecified (0.0.0.0/8, ::), loopback (127.0.0.0/8, ::1),
// private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7), shared
// carrier-grade NAT (100.64.0.0/10), link-local (169.254.0.0/16 with the
// cloud metadata addresses, fe80::/10), site-local (fec0::/10), multicast
// (224.0.0.0/4, ff00::/8), broadcast (255.255.255.255), reserved
// (240.0.0.0/4, 192.0.0.0/24, 192.88.99.0/24, ::/8, 2001::/23 and every
// IPv6 address outside 2000::/3), documentation (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20), benchmarking
// (198.18.0.0/15, 2001:2::/48), discard-only (100::/64), Teredo
// (2001::/32) and local-use NAT64 (64:ff9b:1::/48) addresses.
//
// An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4
// address it maps; a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address is
// blocked when the IPv4 address it embeds is. An IPv6 zone is ignored. The
// zero Addr is blocked as an invalid address.
func Blocked(ip netip.Addr) (reason string, blocked bool) {
	if !ip.IsValid() {
		return reasonInvalid, true
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return match(blockedV4, ip)
	}
	if nat64.Contains(ip) {
		b := ip.As16()
		return embedded("a NAT64 form of ", netip.AddrFrom4([4]byte(b[12:16])))
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		return embedded("a 6to4 form of ", netip.AddrFrom4([4]byte(b[2:6])))
	}
	if reason, blocked := match(blockedV6, ip); blocked {
		return reason, true
	}
	if !globalUnicast.Contains(ip) {
		return reasonReserved, true
	}
	return "", false
}

// match returns the reason of the first range of ranges holding ip.
func match(ranges []blockedRange, ip netip.Addr) (string, bool) {
	for _, br := range ranges {
		if br.prefix.Contains(ip) {
			return br.reason, true
		}
	}
	return "", false
}

// embedded judges an IPv6 address by the IPv4 address v4 it embeds,
// prefixing the reason with form.
func embedded(form string, v4 netip.Addr) (string, bool) {
	if reason, blocked := match(blockedV4, v4); blocked {
		return form + reason, true
	}
	return "", false
}
