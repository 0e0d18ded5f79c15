// Package tickethooks gives a helpdesk backend ticket triggers whose action
// is a webhook. The host loads trigger definitions, creates an Engine, and
// calls Engine.OnTicketChange after every ticket change; when a trigger's
// conditions hold, the ticket's JSON data packet (package payload) is
// POSTed to the trigger's URL in the background, retried when the receiver
// fails, and every firing is recorded in the Webhook Execution Log (package
// executionlog), which admins filter by date, ticket number, trigger,
// status and error text.
//
// The pieces are small interfaces the host may swap: trigger.Source supplies
// triggers (trigger.Store in memory, or the host's own per-account store),
// executionlog.Log records and queues deliveries (in memory, or SQLite,
// PostgreSQL and MySQL through executionlog/sqllog), and webhook.Sender
// makes the HTTP requests.
//
// # Delivery
//
// The execution log is also the delivery queue. OnTicketChange writes one
// pending entry per fired webhook action, all in one write, and returns.
// The engine's dispatcher claims due entries with a lease and delivers at
// most Config.Workers at once. After each attempt the entry is updated in
// the log: succeeded on a 2xx answer; pending with a later due time when
// the attempt may be retried (transport errors, 408, 429, 5xx, honouring
// Retry-After); failed otherwise or when the attempts run out. Every
// attempt of a delivery carries the same webhook-id header, the entry's id,
// so receivers can drop duplicates. Delivery is at least once.
//
// Webhook headers and signing secrets are read from the trigger at each
// attempt rather than stored, so secrets never reach the log; the entry
// keeps a copy of the headers with secret values redacted. The body is
// rendered once, when the entry is written: the ticket packet, or what the
// action's body template makes of the change (see trigger.Action.Render),
// stored with its Content-Type and sent with the action's method. A
// template that fails records the entry failed, never sent.
//
// # Many accounts
//
// A hosted helpdesk serves many accounts (tenants) from one engine and one
// log. The host loads each account's triggers under its tenant
// (trigger.Options.Tenant), reports each change with WithTenant, and sets
// Config.MultiTenant so that a change without one is refused. Every entry
// carries the tenant of the trigger that fired; every read, redelivery and
// deletion is scoped to a tenant (executionlog.Filter.Tenant,
// executionlog.Scope), and another tenant's entry is not found. The
// dispatcher serves tenants fairly: its claims take at most a share of
// each tenant's due entries, and a limit of deliveries in flight per
// tenant (TenantPolicy.MaxInFlight), which the claims skip the tenants at,
// keeps one account's backlog or dead receiver from delaying the others.
// Engine.Delete deletes an account's entries, or one ticket's.
//
// # Operating it
//
// Engine.Redeliver and Engine.RedeliverMatching send finished deliveries
// again (same webhook-id, a new series of attempts); Engine.TestWebhook
// sends one signed test request for a "test this webhook" button, and
// Engine.PreviewWebhook renders the body a webhook action would send
// without sending it.
// executionlog/logview serves the Webhook Execution Log page and its JSON
// API for the host to mount behind its own authentication. The engine
// reports metrics and a span per attempt through the OpenTelemetry API
// (Config.MeterProvider, Config.TracerProvider) and a slog line per state
// change (Config.Logger); Config.OnDestination tells the host when a
// destination is paused, recovers, keeps failing or is gone.
package tickethooks
