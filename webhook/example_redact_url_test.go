package webhook_test

import (
	"fmt"

	"github.com/tickethooks/tickethooks/webhook"
)

// RedactURL shows a webhook URL in a log or on a page without its
// secrets: query values always, and the path too when the whole URL is
// secret, as a Slack incoming webhook's is.
func ExampleRedactURL() {
	fmt.Println(webhook.RedactURL("https://helpdesk.example/hooks?token=s3cr3t&tenant=acme", false))
	fmt.Println(webhook.RedactURL("https://hooks.slack.com/services/T000/B000/XXXX", true))
	fmt.Println(webhook.RedactURL("https://user:pass@[2001:db8::1]:8443/hook#frag", false))
	fmt.Println(webhook.RedactURL("http://exa mple.com/", false))
	// Output:
	// https://helpdesk.example/hooks?token=REDACTED&tenant=REDACTED
	// https://hooks.slack.com
	// https://[2001:db8::1]:8443/hook
	// [invalid URL]
}
