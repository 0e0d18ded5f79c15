//go:build !unix

package trigger_test

import "time"

var processStart = time.Now()

// cpuTime returns the time since the tests started: where the CPU time
// is not available, the wall time stands in for it.
func cpuTime() time.Duration { return time.Since(processStart) }
