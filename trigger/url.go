package trigger

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/tickethooks/tickethooks/internal/netguard"
	"github.com/tickethooks/tickethooks/internal/textcut"
)

// loopbackV4 is the IPv4 loopback network. AllowNetworks must hold all of
// it for a webhook URL to name localhost.
var loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")

// checkURL validates a webhook URL and returns it as written: at most
// MaxURLBytes of valid UTF-8, an absolute http or https URL with a host
// and without credentials, https only when o.requireHTTPS. Error messages show the URL with any password hidden.
func checkURL(raw string, o *options) (string, []error) {
	switch {
	case raw == "":
		return "", []error{errors.New("url is required")}
	case len(raw) > MaxURLBytes:
		return "", []error{fmt.Errorf("url is %d bytes long; the limit is %d", len(raw), MaxURLBytes)}
	case !utf8.ValidString(raw):
		return "", []error{errors.New("url must be valid UTF-8")}
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
// to. A host that is not ASCII is first mapped as HTTP clients map it
// before they connect (IDNA, UTS #46), so that "１２７。０。０。１",
// "①②⑦.⓪.⓪.①" and "local<soft hyphen>host" are seen as 127.0.0.1 and
// localhost; a host that cannot be mapped is refused.
func checkHost(host string, o *options) error {
	mapped, err := mapHost(host)
	if err != nil {
		return err
	}
	shown := showHost(host)
	ip, ok := netguard.ParseHostIP(mapped)
	if !ok {
		name := strings.TrimSuffix(strings.ToLower(mapped), ".")
		if (name == "localhost" || strings.HasSuffix(name, ".localhost")) && !o.allowLoopbackNames {
			if mapped != host {
				shown += " (" + textcut.Cut(mapped, maxQuoted) + ")"
			}
			return fmt.Errorf("url host %s is a loopback name (allowed only when AllowNetworks holds %s)", shown, loopbackV4)
		}
		return nil
	}
	reason, blocked := netguard.Blocked(ip)
	if !blocked || allowed(o.allow, ip) {
		return nil
	}
	if canonical := ip.WithZone("").Unmap().String(); canonical != host {
		return fmt.Errorf("url host %s (%s) is %s", shown, canonical, reason)
	}
	return fmt.Errorf("url host %s is %s", shown, reason)
}

// mapHost returns host as HTTP clients connect to it: an ASCII host as it
// is, and any other through the IDNA lookup mapping (UTS #46) that
// net/http applies, which folds fullwidth and circled forms to ASCII and
// drops soft hyphens and zero-width characters.
func mapHost(host string) (string, error) {
	if isASCII(host) {
		return host, nil
	}
	mapped, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", fmt.Errorf("url host %s is not a valid internationalized host name: %w", showHost(host), err)
	}
	return mapped, nil
}

// showHost returns host fit for an error message: an ASCII host as it is,
// any other quoted with its invisible characters escaped, both cut to
// maxQuoted bytes.
func showHost(host string) string {
	host = textcut.Cut(host, maxQuoted)
	if isASCII(host) {
		return host
	}
	return strconv.Quote(host)
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
