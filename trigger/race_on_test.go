//go:build race

package trigger_test

// raceEnabled reports whether the race detector is on, which slows
// evaluation too much for timing assertions.
const raceEnabled = true
