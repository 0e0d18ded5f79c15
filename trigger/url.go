package trigger

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tickethooks/tickethooks/internal/netguard"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// loopbackV4 is the IPv4 loopback network. AllowNetworks must hold all of
// it for a webhook URL to name localhost.
var loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")

// checkURL validates a webhook URL and returns it as written: an absolute
// http or https URL with a host and without credentials, https only when
// o.requireHTTPS. Error messages show the URL with any password hidden.
func checkURL(raw string, o *options) (string, []error) {
	if raw == "" {
		return "", []error{errors.New("url is required")}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		shown := raw
		if err == nil {
			shown = u.Redacted()
		} else if strings.Contains(raw, "@") {
			shown = "(unparsable)" // it may hold a password
		}
		return "", []error{fmt.Errorf("url %q must be an absolute http or https URL", textcut.Cut(shown, maxQuoted))}
	}
	if u.User != nil {
		return "", []error{fmt.Errorf("url %q must not contain credentials: the URL is written to the execution log; send them in a secret header", textcut.Cut(u.Redacted(), maxQuoted))}
	}
	var errs []error
	if o.requireHTTPS && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf("url %q must use https", textcut.Cut(u.String(), maxQuoted)))
	}
	if err := checkHost(u.Hostname(), o); err != nil {
		errs = append(errs, err)
	}
	return raw, errs
}

// checkHost refuses a URL host that is a literal IP address which
// netguard blocks and no prefix of o.allow holds, and the names
// "localhost" and "*.localhost" unless o.allow holds 127.0.0.0/8. Other
// names are checked when the sender connects, on the address they resolve
// to.
func checkHost(host string, o *options) error {
	folded := foldHost(host)
	ip, ok := netguard.ParseHostIP(folded)
	if !ok {
		name := strings.TrimSuffix(strings.ToLower(folded), ".")
		if (name == "localhost" || strings.HasSuffix(name, ".localhost")) && !o.allowLoopbackNames {
			return fmt.Errorf("url host %s is a loopback name (allowed only when AllowNetworks holds %s)", textcut.Cut(host, maxQuoted), loopbackV4)
		}
		return nil
	}
	reason, blocked := netguard.Blocked(ip)
	if !blocked || allowed(o.allow, ip) {
		return nil
	}
	if shown := ip.WithZone("").Unmap().String(); shown != host {
		return fmt.Errorf("url host %s (%s) is %s", textcut.Cut(host, maxQuoted), shown, reason)
	}
	return fmt.Errorf("url host %s is %s", host, reason)
}

// allowed reports whether a prefix of allow holds ip or, for an
// IPv4-mapped address, the IPv4 address it maps.
func allowed(allow []netip.Prefix, ip netip.Addr) bool {
	ip = ip.WithZone("")
	v4 := ip.Unmap()
	for _, p := range allow {
		if p.Contains(ip) || p.Contains(v4) {
			return true
		}
	}
	return false
}

// foldHost maps the fullwidth forms of ASCII characters (U+FF01 to
// U+FF5E) in host to ASCII and the ideographic full stops (U+3002, U+FF0E,
// U+FF61) to ".", as the IDNA mapping that HTTP clients apply before they
// connect does, so that "１２７。０。０。１" is seen as 127.0.0.1.
func foldHost(host string) string {
	if isASCII(host) {
		return host
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3002' || r == '\uff61':
			return '.'
		case '\uff01' <= r && r <= '\uff5e': // includes U+FF0E, the fullwidth full stop
			return r - 0xfee0
		}
		return r
	}, host)
}
