package tickethooks

// Wake asks the engine to look in the log for due deliveries now, instead
// of at the next PollInterval. A host calls it after committing a
// transaction in which it called OnTicketChangeTx, so that the webhooks
// recorded in it are delivered at once; on PostgreSQL, a listener of
// package executionlog/sqllog/pglisten calls it for every commit of the
// fleet. It never blocks, is safe for
// concurrent use, and does nothing after Close. Wakes that arrive while
// the engine is already looking are folded into one look.
func (e *Engine) Wake() {
	e.disp.nudge()
}
