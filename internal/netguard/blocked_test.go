package netguard

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests classify addresses only; none is dialled.

func TestBlocked(t *testing.T) {
	t.Parallel()
	type result struct {
		Reason  string
		Blocked bool
	}
	tests := []struct {
		ip     string
		reason string // "" when allowed
	}{
		// Unspecified and "this network".
		{"0.0.0.0", "an unspecified address"},
		{"0.1.2.3", "an unspecified address"},
		{"::", "an unspecified address"},
		// Loopback.
		{"127.0.0.1", "a loopback address"},
		{"127.255.255.254", "a loopback address"},
		{"::1", "a loopback address"},
		// RFC 1918 private.
		{"10.0.0.5", "a private address"},
		{"10.255.255.255", "a private address"},
		{"172.16.0.1", "a private address"},
		{"172.31.255.255", "a private address"},
		{"192.168.1.1", "a private address"},
		// RFC 6598 shared address space.
		{"100.64.0.1", "a shared address (carrier-grade NAT)"},
		{"100.100.100.200", "a shared address (carrier-grade NAT)"},
		{"100.127.255.255", "a shared address (carrier-grade NAT)"},
		// Link-local and cloud metadata.
		{"169.254.169.254", "a link-local address (cloud metadata)"},
		{"169.254.170.2", "a link-local address (cloud metadata)"},
		{"169.254.0.1", "a link-local address"},
		{"fe80::1", "a link-local address"},
		{"fe80::1%eth0", "a link-local address"},
		{"febf::1", "a link-local address"},
		{"fec0::1", "a site-local address"},
		// IPv6 unique local.
		{"fc00::1", "a private address (unique local)"},
		{"fd12:3456::1", "a private address (unique local)"},
		{"fd00:ec2::254", "a private address (cloud metadata)"},
		// Multicast and broadcast.
		{"224.0.0.1", "a multicast address"},
		{"239.255.255.250", "a multicast address"},
		{"ff02::1", "a multicast address"},
		{"ff0e::1", "a multicast address"},
		{"255.255.255.255", "a broadcast address"},
		// Reserved, documentation, benchmarking.
		{"240.0.0.1", "a reserved address"},
		{"255.255.255.254", "a reserved address"},
		{"192.0.0.8", "a reserved address"},
		{"192.88.99.1", "a reserved address"},
		{"192.0.2.1", "a documentation address"},
		{"198.51.100.7", "a documentation address"},
		{"203.0.113.9", "a documentation address"},
		{"198.18.0.1", "a benchmarking address"},
		{"198.19.255.255", "a benchmarking address"},
		{"2001:db8::1", "a documentation address"},
		{"3fff::1", "a documentation address"},
		{"2001:2::1", "a benchmarking address"},
		{"2001:1::1", "a reserved address"},
		{"100::1", "a discard-only address"},
		{"2001::1", "a Teredo tunnel address"},
		{"::127.0.0.1", "a reserved address"},
		{"::ffff:0:7f00:1", "a reserved address"},
		{"4000::1", "a reserved address"},
		{"e000::1", "a reserved address"},
		// IPv4-mapped IPv6 forms are judged as IPv4.
		{"::ffff:127.0.0.1", "a loopback address"},
		{"::ffff:10.0.0.5", "a private address"},
		{"::ffff:169.254.169.254", "a link-local address (cloud metadata)"},
		{"::ffff:0.0.0.0", "an unspecified address"},
		{"::ffff:7f00:1", "a loopback address"},
		// NAT64 and 6to4 forms are judged by the IPv4 address they embed.
		{"64:ff9b::7f00:1", "a NAT64 form of a loopback address"},
		{"64:ff9b::10.0.0.5", "a NAT64 form of a private address"},
		{"64:ff9b::169.254.169.254", "a NAT64 form of a link-local address (cloud metadata)"},
		{"64:ff9b:1::a00:5", "a local-use NAT64 address"},
		{"2002:7f00:1::1", "a 6to4 form of a loopback address"},
		{"2002:a9fe:a9fe::1", "a 6to4 form of a link-local address (cloud metadata)"},
		{"2002:c0a8:101::", "a 6to4 form of a private address"},
		// Public addresses are allowed.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"93.184.215.14", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"169.253.255.255", ""},
		{"223.255.255.255", ""},
		{"::ffff:8.8.8.8", ""},
		{"2606:4700::1111", ""},
		{"2a00:1450:4001::200e", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			reason, blocked := Blocked(netip.MustParseAddr(tt.ip))
			want := result{tt.reason, tt.reason != ""}
			if diff := cmp.Diff(want, result{reason, blocked}); diff != "" {
				t.Errorf("Blocked(%s) mismatch (-want +got):\n%s", tt.ip, diff)
			}
		})
	}
}

func TestBlockedZeroAddr(t *testing.T) {
	t.Parallel()
	reason, blocked := Blocked(netip.Addr{})
	if diff := cmp.Diff("an invalid address", reason); diff != "" || !blocked {
		t.Errorf("Blocked(zero) = %q, %t; want blocked (-want +got):\n%s", reason, blocked, diff)
	}
}

// TestBlockedRangeEdges checks the first and last address of every IPv4
// range, and the addresses just outside it when those are public.
func TestBlockedRangeEdges(t *testing.T) {
	t.Parallel()
	for _, br := range blockedV4 {
		first := br.prefix.Masked().Addr()
		last := lastAddr(br.prefix)
		for _, ip := range []netip.Addr{first, last} {
			if _, blocked := Blocked(ip); !blocked {
				t.Errorf("Blocked(%s) = false; want blocked as part of %s", ip, br.prefix)
			}
		}
	}
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}
