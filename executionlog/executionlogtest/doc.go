// Package executionlogtest is the conformance suite for
// executionlog.Log implementations. The memory log and the SQL logs run it,
// and so can a user's own implementation:
//
//	func TestMyLog(t *testing.T) {
//		executionlogtest.Run(t, func(t *testing.T) executionlog.Log {
//			l := mylog.New(...)
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
package executionlogtest
