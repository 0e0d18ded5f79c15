// Package executionlog is the Webhook Execution Log: one Entry per fired
// webhook action, with every attempt, filterable by date, ticket number,
// trigger, status and error text.
//
// The log is also the delivery queue. The engine adds pending entries,
// claims the due ones with a lease, and records each attempt with Update; a
// retry waits in the log as a pending entry with a later NextAttemptAt.
// Redeliver puts a finished entry back in the queue, keeping its id and
// attempts; Add also takes entries already finished, as records of sends
// made outside the queue (test sends).
// Memory is the in-process implementation; SQL implementations live in
// subpackages, and every implementation passes the conformance suite in
// executionlogtest.
package executionlog
