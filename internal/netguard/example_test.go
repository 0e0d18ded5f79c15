package netguard_test

import (
	"fmt"

	"github.com/tickethooks/tickethooks/internal/netguard"
)

func ExampleBlocked() {
	for _, host := range []string{"8.8.8.8", "127.1", "[::ffff:10.0.0.5]", "0xa9.0xfe.0xa9.0xfe", "hooks.example.com"} {
		ip, ok := netguard.ParseHostIP(host)
		if !ok {
			fmt.Printf("%s: a name, checked when dialled\n", host)
			continue
		}
		if reason, blocked := netguard.Blocked(ip); blocked {
			fmt.Printf("%s: %s is %s\n", host, ip.Unmap(), reason)
			continue
		}
		fmt.Printf("%s: allowed\n", host)
	}
	// Output:
	// 8.8.8.8: allowed
	// 127.1: 127.0.0.1 is a loopback address
	// [::ffff:10.0.0.5]: 10.0.0.5 is a private address
	// 0xa9.0xfe.0xa9.0xfe: 169.254.169.254 is a link-local address (cloud metadata)
	// hooks.example.com: a name, checked when dialled
}
