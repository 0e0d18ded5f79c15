package netguard

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHostIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string // "" when host is not a literal address
	}{
		// Standard forms.
		{"127.0.0.1", "127.0.0.1"},
		{"8.8.8.8", "8.8.8.8"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"[fe80::1%25eth0]", "fe80::1%eth0"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"[2606:4700::1111]", "2606:4700::1111"},
		// Legacy IPv4 forms.
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0X7F.0.0.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0177.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"010.0.0.1", "8.0.0.1"},
		{"10.0.0.010", "10.0.0.8"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254"},
		{"169.254.43518", "169.254.169.254"},
		{"4294967295", "255.255.255.255"},
		{"192.168.257", "192.168.1.1"},
		// Not literal addresses.
		{"", ""},
		{"localhost", ""},
		{"example.com", ""},
		{"127.0.0.1.nip.io", ""},
		{"1.2.3.4.5", ""},
		{"4294967296", ""},
		{"256.0.0.1", ""},
		{"127.0.0.256", ""},
		{"127.1.65536", ""},
		{"08.0.0.1", ""},
		{"0x7g.1", ""},
		{"127..1", ""},
		{".127.0.0.1", ""},
		{"127.0.0.1..", ""},
		{"99999999999999999999999", ""},
		{"[127.0.0.1]", ""},
		{"[::1", ""},
		{"::1]", ""},
		{"[example.com]", ""},
		{" 127.0.0.1", ""},
		{"1e3", ""},
		{"-1", ""},
		{"+1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			ip, ok := ParseHostIP(tt.host)
			var got string
			if ok {
				got = ip.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHostIP(%q) mismatch (-want +got):\n%s", tt.host, diff)
			}
			if ok != (tt.want != "") {
				t.Errorf("ParseHostIP(%q) ok = %t", tt.host, ok)
			}
		})
	}
}

// TestParseHostIPLoopbackForms shows that every spelling of a loopback
// address is parsed and blocked.
func TestParseHostIPLoopbackForms(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"127.1", "2130706433", "0x7f.1", "017700000001", "[::ffff:127.0.0.1]", "[::1]", "127.0.0.1."} {
		ip, ok := ParseHostIP(host)
		if !ok {
			t.Errorf("ParseHostIP(%q) = false, want an address", host)
			continue
		}
		if diff := cmp.Diff("a loopback address", reasonOf(ip)); diff != "" {
			t.Errorf("Blocked(ParseHostIP(%q)) mismatch (-want +got):\n%s", host, diff)
		}
	}
}

// reasonOf returns why ip is blocked, or "allowed".
func reasonOf(ip netip.Addr) string {
	if reason, blocked := Blocked(ip); blocked {
		return reason
	}
	return "allowed"
}

func FuzzParseHostIP(f *testing.F) {
	for _, s := range []string{"127.1", "2130706433", "0x7f.1", "017700000001", "[::ffff:127.0.0.1]", "example.com", "[fe80::1%25eth0]", "1.2.3.4."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, ok := ParseHostIP(host)
		if ok != ip.IsValid() {
			t.Fatalf("ParseHostIP(%q) = %v, %t", host, ip, ok)
		}
		Blocked(ip) // must not panic
	})
}
