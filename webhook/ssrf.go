package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/tickethooks/tickethooks/internal/netguard"
)

// ErrBlockedDestination means a connection was refused because the address
// it would reach is loopback, private, link-local (cloud metadata) or of
// another range the library does not send webhooks to, and is not in
// HTTPSenderConfig.AllowNetworks. The error's message names the address
// and the range, as in "destination 10.0.0.5 is a private address".
// Sending again cannot succeed, so DefaultRetryable does not retry it.
var ErrBlockedDestination = errors.New("blocked destination")

// blockedError is the error of a refused connection.
type blockedError struct {
	dest   string
	reason string
}

func (e *blockedError) Error() string {
	return "destination " + e.dest + " is " + e.reason
}

// Is makes the error match ErrBlockedDestination.
func (e *blockedError) Is(target error) bool {
	return target == ErrBlockedDestination
}

// GuardedDialer returns a net.Dialer that refuses, with an error wrapping
// ErrBlockedDestination, to connect to an address that the library blocks
// unless a prefix of allow holds it. It checks the address it is about to
// connect to, after DNS resolution, so a name that resolves (or is
// rebound) to a blocked address is refused too. It keeps connections
// alive for 30 seconds and sets no Timeout; set one on the result.
//
// HTTPSender's default transport dials with it. Use it to build a
// transport of your own with the same protection, when you pass
// HTTPSenderConfig.Client:
//
//	t := http.DefaultTransport.(*http.Transport).Clone()
//	t.DialContext = webhook.GuardedDialer(nil).DialContext
//	t.Proxy = nil // a proxy would connect to the target where no guard can check it
//
// Blocked are loopback (127.0.0.0/8, ::1), private (10.0.0.0/8,
// 172.16.0.0/12, 192.168.0.0/16, fc00::/7), carrier-grade NAT
// (100.64.0.0/10), link-local and cloud metadata (169.254.0.0/16,
// fe80::/10), multicast, broadcast, unspecified, documentation,
// benchmarking and other reserved addresses, in their IPv4-mapped, NAT64
// and 6to4 forms too. allow may list both IPv4 and IPv6 prefixes, such as
// 127.0.0.0/8 and ::1/128 for a receiver on the same host, or 10.0.0.0/8
// for one on a self-hosted private network; an IPv4 prefix also allows
// the IPv4-mapped IPv6 forms of its addresses. Invalid prefixes are
// ignored. GuardedDialer copies allow.
func GuardedDialer(allow []netip.Prefix) *net.Dialer {
	g := guard{allow: slices.Clone(allow)}
	return &net.Dialer{KeepAlive: 30 * time.Second, ControlContext: g.control}
}

// guard checks the addresses a dialer connects to.
type guard struct {
	allow []netip.Prefix
}

// control is a net.Dialer ControlContext hook: it runs for every
// connection, with the resolved address, before connecting.
func (g guard) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address that cannot be read cannot be checked.
		return &blockedError{dest: address, reason: "an unparsable address"}
	}
	return g.check(ap.Addr())
}

// check returns a blockedError when ip is blocked and not allowed.
func (g guard) check(ip netip.Addr) error {
	reason, blocked := netguard.Blocked(ip)
	if !blocked || g.allowed(ip) {
		return nil
	}
	return &blockedError{dest: ip.WithZone("").Unmap().String(), reason: reason}
}

// allowed reports whether a prefix of g.allow holds ip or, for an
// IPv4-mapped address, the IPv4 address it maps.
func (g guard) allowed(ip netip.Addr) bool {
	ip = ip.WithZone("")
	v4 := ip.Unmap()
	for _, p := range g.allow {
		if p.Contains(ip) || p.Contains(v4) {
			return true
		}
	}
	return false
}
