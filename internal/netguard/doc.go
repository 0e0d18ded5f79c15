// Package netguard classifies IP addresses that a webhook must not reach:
// loopback, private, link-local (cloud metadata), multicast and other
// special-purpose ranges, so that a trigger's URL cannot be used to probe
// or attack the network the library runs in (server-side request forgery).
//
// Blocked classifies an address; ParseHostIP recognises a URL host that is
// a literal IP address, in the legacy IPv4 spellings too, so that a literal
// blocked host can be refused when a trigger is loaded, without a DNS
// lookup:
//
//	if ip, ok := netguard.ParseHostIP(u.Hostname()); ok {
//		if reason, blocked := netguard.Blocked(ip); blocked {
//			return fmt.Errorf("url host %s is %s", ip, reason)
//		}
//	}
//
// A host name is checked when it is dialled, on the address it resolved
// to; package webhook does that.
package netguard
