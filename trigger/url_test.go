package trigger_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
)

// allow returns Options with AllowNetworks set to prefixes.
func allow(prefixes ...string) *trigger.Options {
	o := &trigger.Options{}
	for _, p := range prefixes {
		o.AllowNetworks = append(o.AllowNetworks, netip.MustParsePrefix(p))
	}
	return o
}

// parseURL parses a trigger "x" with one webhook action posting to url
// and returns its problems.
func parseURL(t *testing.T, url string, opts *trigger.Options) []string {
	t.Helper()
	set, err := trigger.Parse(fmt.Appendf(nil, `[{"id": "x", "actions": [{"type": "webhook", "url": %q}]}]`, url), opts)
	if err != nil {
		if set != nil {
			t.Error("Parse returned a Set with an error")
		}
		return problems(t, err)
	}
	if got := set.Triggers()[0].Actions[0].URL; got != url {
		t.Errorf("URL = %q, want %q as written", got, url)
	}
	return nil
}

func TestURLHostBlocked(t *testing.T) {
	t.Parallel()
	const p = `trigger "x": actions[0]: `
	tests := []struct {
		url  string
		want string // "" when the URL loads
	}{
		// Loopback, in every spelling.
		{"http://127.0.0.1:8080/hooks", p + "url host 127.0.0.1 is a loopback address"},
		{"https://127.0.0.1/", p + "url host 127.0.0.1 is a loopback address"},
		{"http://127.255.255.254/", p + "url host 127.255.255.254 is a loopback address"},
		{"http://127.1/", p + "url host 127.1 (127.0.0.1) is a loopback address"},
		{"http://127.0.1/", p + "url host 127.0.1 (127.0.0.1) is a loopback address"},
		{"http://2130706433/", p + "url host 2130706433 (127.0.0.1) is a loopback address"},
		{"http://0x7f.1/", p + "url host 0x7f.1 (127.0.0.1) is a loopback address"},
		{"http://0x7f000001/", p + "url host 0x7f000001 (127.0.0.1) is a loopback address"},
		{"http://017700000001/", p + "url host 017700000001 (127.0.0.1) is a loopback address"},
		{"http://0177.0.0.1/", p + "url host 0177.0.0.1 (127.0.0.1) is a loopback address"},
		{"http://127.0.0.1./", p + "url host 127.0.0.1. (127.0.0.1) is a loopback address"},
		{"http://[::1]:8080/", p + "url host ::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]/", p + "url host ::ffff:127.0.0.1 (127.0.0.1) is a loopback address"},
		{"http://[::ffff:7f00:1]/", p + "url host ::ffff:7f00:1 (127.0.0.1) is a loopback address"},
		{"http://[64:ff9b::7f00:1]/", p + "url host 64:ff9b::7f00:1 is a NAT64 form of a loopback address"},
		{"http://[2002:7f00:1::1]/", p + "url host 2002:7f00:1::1 is a 6to4 form of a loopback address"},
		{"http://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/", p + "url host \"\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11\" (127.0.0.1) is a loopback address"},
		// IDNA spellings, mapped as HTTP clients map them (UTS #46).
		{"http://①②⑦.⓪.⓪.①/", p + `url host "①②⑦.⓪.⓪.①" (127.0.0.1) is a loopback address`},
		{"http://①②⑦.⓪.⓪.①:8080/hooks", p + `url host "①②⑦.⓪.⓪.①" (127.0.0.1) is a loopback address`},
		{"http://⑯⑨.②⑤④.⑯⑨.②⑤④/", p + `url host "⑯⑨.②⑤④.⑯⑨.②⑤④" (169.254.169.254) is a link-local address (cloud metadata)`},
		{"http://①⓪.⓪.⓪.⑤/", p + `url host "①⓪.⓪.⓪.⑤" (10.0.0.5) is a private address`},
		{"http://127.0.0.\u00ad1/", p + `url host "127.0.0.\u00ad1" (127.0.0.1) is a loopback address`},
		{"http://127\u200b.0.0.1/", p + `url host "127\u200b.0.0.1" (127.0.0.1) is a loopback address`},
		{"http://\ufeff127.0.0.1/", p + `url host "\ufeff127.0.0.1" (127.0.0.1) is a loopback address`},
		// Private and shared.
		{"http://10.0.0.5/", p + "url host 10.0.0.5 is a private address"},
		{"http://10.1/", p + "url host 10.1 (10.0.0.1) is a private address"},
		{"http://172.16.0.1/", p + "url host 172.16.0.1 is a private address"},
		{"http://192.168.1.1/", p + "url host 192.168.1.1 is a private address"},
		{"http://[::ffff:10.0.0.5]/", p + "url host ::ffff:10.0.0.5 (10.0.0.5) is a private address"},
		{"http://[fd12:3456::1]/", p + "url host fd12:3456::1 is a private address (unique local)"},
		{"http://100.64.0.1/", p + "url host 100.64.0.1 is a shared address (carrier-grade NAT)"},
		// Link-local and cloud metadata.
		{"http://169.254.169.254/latest/meta-data/", p + "url host 169.254.169.254 is a link-local address (cloud metadata)"},
		{"http://0xa9.0xfe.0xa9.0xfe/", p + "url host 0xa9.0xfe.0xa9.0xfe (169.254.169.254) is a link-local address (cloud metadata)"},
		{"http://169.254.43518/", p + "url host 169.254.43518 (169.254.169.254) is a link-local address (cloud metadata)"},
		{"http://[::ffff:169.254.169.254]/", p + "url host ::ffff:169.254.169.254 (169.254.169.254) is a link-local address (cloud metadata)"},
		{"http://[fd00:ec2::254]/", p + "url host fd00:ec2::254 is a private address (cloud metadata)"},
		{"http://169.254.1.1/", p + "url host 169.254.1.1 is a link-local address"},
		{"http://[fe80::1]/", p + "url host fe80::1 is a link-local address"},
		{"http://[fe80::1%25eth0]/", p + "url host fe80::1%eth0 (fe80::1) is a link-local address"},
		// Others.
		{"http://0.0.0.0/", p + "url host 0.0.0.0 is an unspecified address"},
		{"http://0/", p + "url host 0 (0.0.0.0) is an unspecified address"},
		{"http://[::]/", p + "url host :: is an unspecified address"},
		{"http://224.0.0.1/", p + "url host 224.0.0.1 is a multicast address"},
		{"http://255.255.255.255/", p + "url host 255.255.255.255 is a broadcast address"},
		{"http://192.0.2.1/", p + "url host 192.0.2.1 is a documentation address"},
		// Localhost names.
		{"http://localhost:8080/hooks", p + "url host localhost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)"},
		{"http://LocalHost/", p + "url host LocalHost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)"},
		{"http://localhost./", p + "url host localhost. is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)"},
		{"http://api.localhost/", p + "url host api.localhost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)"},
		{"http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/", p + "url host \"\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54\" (localhost) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)"},
		{"http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", p + `url host "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ" (localhost) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		{"http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ./", p + `url host "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ." (localhost.) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		{"http://LOCAL\u00adHOST/", p + `url host "LOCAL\u00adHOST" (localhost) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		{"http://local\u200bhost:8080/", p + `url host "local\u200bhost" (localhost) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		{"http://api.ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", p + `url host "api.ⓛⓞⓒⓐⓛⓗⓞⓢⓣ" (api.localhost) is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		// Hosts that cannot be mapped.
		{"http://loc\u200calhost/", p + `url host "loc\u200calhost" is not a valid internationalized host name: idna: invalid label "loc\u200calhost"`},
		{"http://⑴.example.com/", p + `url host "⑴.example.com" is not a valid internationalized host name: idna: disallowed rune U+2474`},
		// Public addresses, and names, which are checked when sent to.
		{"http://8.8.8.8/", ""},
		{"http://134744072/", ""},
		{"https://[2606:4700::1111]:8443/", ""},
		{"http://[::ffff:8.8.8.8]/", ""},
		{"https://example.com/hooks", ""},
		{"https://localhost.example.com/", ""},
		{"https://mylocalhost/", ""},
		{"https://127.0.0.1.nip.io/", ""},
		{"https://bücher.example/hooks", ""},
		{"https://ⓔⓧⓐⓜⓟⓛⓔ.com/", ""},
		{"http://256.0.0.1/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, parseURL(t, tt.url, nil)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestURLAllowNetworks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		opts *trigger.Options
		want string // "" when the URL loads
	}{
		{"loopback network", "http://127.0.0.1:8080/", allow("127.0.0.0/8"), ""},
		{"loopback network, legacy form", "http://2130706433/", allow("127.0.0.0/8"), ""},
		{"loopback network, mapped form", "http://[::ffff:127.0.0.1]/", allow("127.0.0.0/8"), ""},
		{"loopback network, localhost", "http://localhost:8080/", allow("127.0.0.0/8"), ""},
		{"loopback network, .localhost", "http://api.localhost/", allow("127.0.0.0/8"), ""},
		{"loopback network, ::1", "http://[::1]/", allow("127.0.0.0/8"),
			`trigger "x": actions[0]: url host ::1 is a loopback address`},
		{"loopback address", "http://127.0.0.1/", allow("127.0.0.1/32"), ""},
		{"loopback address, another", "http://127.0.0.2/", allow("127.0.0.1/32"),
			`trigger "x": actions[0]: url host 127.0.0.2 is a loopback address`},
		{"loopback address, localhost", "http://localhost/", allow("127.0.0.1/32", "::1/128"),
			`trigger "x": actions[0]: url host localhost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`},
		{"IPv6 loopback", "http://[::1]/", allow("::1/128"), ""},
		{"mapped prefix", "http://[::ffff:127.0.0.1]/", allow("::ffff:127.0.0.0/104"), ""},
		{"prefix not masked", "http://localhost/", allow("127.9.9.9/8"), ""},
		{"every IPv4 address", "http://localhost/", allow("0.0.0.0/0"), ""},
		{"private network", "http://10.20.1.2/hooks", allow("10.20.0.0/16"), ""},
		{"private network, legacy form", "http://10.20.258/hooks", allow("10.20.0.0/16"), ""},
		{"outside the private network", "http://10.21.0.1/hooks", allow("10.20.0.0/16"),
			`trigger "x": actions[0]: url host 10.21.0.1 is a private address`},
		{"metadata not allowed by another network", "http://169.254.169.254/", allow("10.0.0.0/8", "192.168.0.0/16"),
			`trigger "x": actions[0]: url host 169.254.169.254 is a link-local address (cloud metadata)`},
		{"zone", "http://[fe80::1%25eth0]/", allow("fe80::/10"), ""},
		{"loopback network, circled digits", "http://①②⑦.⓪.⓪.①/", allow("127.0.0.0/8"), ""},
		{"loopback network, circled localhost", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", allow("127.0.0.0/8"), ""},
		{"loopback network, soft hyphen", "http://local\u00adhost/", allow("127.0.0.0/8"), ""},
		{"private network, circled digits", "http://①⓪.②⓪.①.②/", allow("10.20.0.0/16"), ""},
		{"circled digits outside the network", "http://①②⑦.⓪.⓪.②/", allow("127.0.0.1/32"),
			`trigger "x": actions[0]: url host "①②⑦.⓪.⓪.②" (127.0.0.2) is a loopback address`},
		{"unmappable host even when allowed", "http://loc\u200calhost/", allow("0.0.0.0/0"),
			`trigger "x": actions[0]: url host "loc\u200calhost" is not a valid internationalized host name: idna: invalid label "loc\u200calhost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, parseURL(t, tt.url, tt.opts)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestURLRequireHTTPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		opts *trigger.Options
		want []string
	}{
		{"https", "https://example.com/hooks", &trigger.Options{RequireHTTPS: true}, nil},
		{"https in capitals", "HTTPS://example.com/hooks", &trigger.Options{RequireHTTPS: true}, nil},
		{"http", "http://example.com/hooks", &trigger.Options{RequireHTTPS: true}, []string{
			`trigger "x": actions[0]: url "http://example.com/hooks" must use https`}},
		{"http in capitals", "HTTP://example.com/hooks", &trigger.Options{RequireHTTPS: true}, []string{
			`trigger "x": actions[0]: url "http://example.com/hooks" must use https`}},
		{"http allowed by default", "http://example.com/hooks", nil, nil},
		{"other schemes still refused", "ftp://example.com/", &trigger.Options{RequireHTTPS: true}, []string{
			`trigger "x": actions[0]: url "ftp://example.com/" must be an absolute http or https URL`}},
		{"no host", "http://:8080/", nil, []string{
			`trigger "x": actions[0]: url "http://:8080/" must be an absolute http or https URL`}},
		{"http and a blocked host", "http://10.0.0.1/", &trigger.Options{RequireHTTPS: true}, []string{
			`trigger "x": actions[0]: url "http://10.0.0.1/" must use https`,
			`trigger "x": actions[0]: url host 10.0.0.1 is a private address`}},
		{"http to an allowed host", "http://10.0.0.1/", &trigger.Options{RequireHTTPS: true, AllowNetworks: allow("10.0.0.0/8").AllowNetworks}, []string{
			`trigger "x": actions[0]: url "http://10.0.0.1/" must use https`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, parseURL(t, tt.url, tt.opts)); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestURLErrorsNameTheAction(t *testing.T) {
	t.Parallel()
	_, err := trigger.Compile([]trigger.Definition{{ID: "x", Actions: []trigger.ActionDefinition{
		{Type: trigger.ActionWebhook, URL: "https://example.com/ok"},
		{Type: trigger.ActionWebhook, URL: "http://127.1/"},
		{Type: trigger.ActionWebhook, URL: "http://localhost/", Secrets: []string{"bad"}},
	}}}, &trigger.Options{RequireHTTPS: true})
	want := []string{
		`trigger "x": actions[1]: url "http://127.1/" must use https`,
		`trigger "x": actions[1]: url host 127.1 (127.0.0.1) is a loopback address`,
		`trigger "x": actions[2]: url "http://localhost/" must use https`,
		`trigger "x": actions[2]: url host localhost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)`,
		`trigger "x": actions[2].secrets[0]: must start with "whsec_"`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	var te *trigger.Error
	if !errors.As(err, &te) || te.Path != "actions[1]" {
		t.Errorf("first *Error = %+v, want Path actions[1]", te)
	}
}
