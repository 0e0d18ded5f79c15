package trigger_test

import (
	"fmt"
	"net/netip"

	"github.com/tickethooks/tickethooks/trigger"
)

// Webhook URLs that name an internal address are refused when the
// triggers load, unless the address's network is allowed.
func ExampleOptions_allowNetworks() {
	definitions := []byte(`[
	{"id": "billing", "actions": [{"type": "webhook", "url": "http://10.20.0.7:8080/hooks"}]},
	{"id": "metadata", "actions": [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data/"}]},
	{"id": "sneaky", "actions": [{"type": "webhook", "url": "http://2130706433/admin"}]},
	{"id": "local", "actions": [{"type": "webhook", "url": "http://localhost:9000/hooks"}]}
	]`)
	_, err := trigger.Parse(definitions, nil)
	fmt.Println(err)

	// A self-hosted receiver on a private network: allow its network, and
	// give the engine the same list.
	billing := []byte(`[{"id": "billing", "actions": [{"type": "webhook", "url": "http://10.20.0.7:8080/hooks"}]}]`)
	opts := &trigger.Options{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	_, err = trigger.Parse(billing, opts)
	fmt.Println(err)

	// RequireHTTPS refuses plain http.
	opts.RequireHTTPS = true
	_, err = trigger.Parse(billing, opts)
	fmt.Println(err)
	// Output:
	// trigger "billing": actions[0]: url host 10.20.0.7 is a private address
	// trigger "metadata": actions[0]: url host 169.254.169.254 is a link-local address (cloud metadata)
	// trigger "sneaky": actions[0]: url host 2130706433 (127.0.0.1) is a loopback address
	// trigger "local": actions[0]: url host localhost is a loopback name (allowed only when AllowNetworks holds 127.0.0.0/8)
	// <nil>
	// trigger "billing": actions[0]: url "http://10.20.0.7:8080/hooks" must use https
}

// A webhook action lists its signing secrets; during a rotation, the new
// one and the old one. A secret that is malformed is reported by its
// position, never by its value.
func ExampleParse_secrets() {
	set, err := trigger.Parse([]byte(`[{"id": "signed", "actions": [{"type": "webhook", "url": "https://example.com/hooks",
		"secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]}]}]`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(set.Triggers()[0].Actions[0].Secrets), "secrets")

	_, err = trigger.Parse([]byte(`[{"id": "typo", "actions": [{"type": "webhook", "url": "https://example.com/hooks",
		"secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dG9vIHNob3J0"]}]}]`), nil)
	fmt.Println(err)
	// Output:
	// 2 secrets
	// trigger "typo": actions[0].secrets[1]: must start with "whsec_"
	// trigger "typo": actions[0].secrets[2]: has a 9-byte key; want 24 to 64 bytes
}
