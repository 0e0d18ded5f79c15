package tickethooks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one of them leaves a goroutine
// running: every goroutine an engine starts must end when it closes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
