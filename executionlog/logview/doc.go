// Package logview serves the Webhook Execution Log to admins: an HTML page
// that lists the log's entries newest first, filtered by date, ticket
// number, error message, trigger and status, a page per entry with its
// request and every attempt (what the receiver answered), redelivery of
// one entry or of every failed entry matching the filters, and the same
// as a JSON API.
//
// New returns an http.Handler. The host mounts it under any prefix, behind
// its own authentication; the handler has none:
//
//	view, err := logview.New(logview.Config{Log: execLog, Redeliverer: engine})
//	if err != nil {
//		return err
//	}
//	mux.Handle("/admin/webhooks/", requireAdmin(http.StripPrefix("/admin/webhooks", view)))
//
// # Tenants
//
// In a multi-account host, Config.Tenant says which tenant (account) each
// request belongs to, from the host's own authentication:
//
//	view, err := logview.New(logview.Config{Log: execLog, Redeliverer: engine,
//		Tenant: func(r *http.Request) (string, bool) {
//			acct, ok := accountOf(r) // the host's session
//			return acct.ID, ok
//		}})
//
// Every page, filter, entry page, JSON endpoint, redelivery and bulk
// redelivery of the request is then confined to that tenant's entries
// (executionlog.Filter.Tenant, executionlog.TenantScope). Another
// tenant's entry id is answered 404 exactly like an id the log does not
// hold, with the same body and headers, so the answers tell nothing of
// other tenants' entries. A cursor holds a position in the log, not a
// tenant: one copied from another tenant's page continues the request's
// own tenant's list from that position. A request for which Config.Tenant
// returns ok false, the empty tenant or a tenant that
// executionlog.ValidateTenant refuses is answered 403 with no data. A
// tenant parameter, in the query or in a POST's form or JSON body, is
// answered 400: these views show one tenant, named by the host, never
// the request. Without Config.Tenant the handler serves tenant "", all
// the entries of a single-tenant log, and refuses a tenant parameter
// the same way.
//
// NewOperator returns the operator view for the host's own staff, with
// the same routes over every tenant's entries: a tenant column in the
// list, the tenant on the entry page and as "tenant" in the JSON entries,
// and a tenant filter (the tenant parameter, on the page, in the API and
// in bulk redelivery; empty for every tenant, so the entries of tenant ""
// are not singled out). A bulk redelivery without
// a tenant filter redelivers the failed entries of every tenant, as its
// confirmation page says. Its staff func decides who may see it; every
// other request is answered 403. Mount it apart from the tenants' view:
//
//	ops, err := logview.NewOperator(logview.Config{Log: execLog, Redeliverer: engine}, isStaff)
//	mux.Handle("/staff/webhooks/", http.StripPrefix("/staff/webhooks", ops))
//
// # Rendering
//
// The pages are server-rendered with html/template, which escapes
// everything the log holds (a ticket subject or a response body with
// <script> shows as text), and use one embedded style sheet: no script,
// no external asset. They are readable on a phone. Every response carries
// a Content-Security-Policy that allows nothing else, X-Content-Type-
// Options: nosniff, Referrer-Policy: no-referrer and Cache-Control:
// no-store. Header values that webhook.IsSecretHeader calls secret are
// never shown, even when the log kept them.
//
// # Pages
//
//	GET  {prefix}/                          the list, with the filter form and paging
//	GET  {prefix}/entries/{id}              one entry
//	POST {prefix}/entries/{id}/redeliver    redeliver it (form)
//	GET  {prefix}/redeliver?{filters}       confirm redelivering the failed entries matching the filters
//	POST {prefix}/redeliver                 redeliver them (form), at most Config.BulkLimit
//
// # JSON API
//
//	GET  {prefix}/api/entries?from=&to=&ticket=&error=&trigger=&status=&limit=&cursor=[&tenant=]
//	     200 {"entries": [summary, ...], "next": "cursor or empty on the last page"}
//	GET  {prefix}/api/entries/{id}
//	     200 entry
//	POST {prefix}/api/entries/{id}/redeliver
//	     200 {"redelivered": 1}
//	POST {prefix}/api/redeliver?from=&to=&ticket=&error=&trigger=&max=[&tenant=]
//	     200 {"redelivered": n}   (failed entries only, newest first, at most max, default and limit Config.BulkLimit)
//
// Filter parameters: from and to are a date (2006-01-02), a date and time
// without a zone (2006-01-02T15:04 or 2006-01-02T15:04:05, read in
// Config.Location) or an RFC 3339 time; from is inclusive, and to includes
// the day, minute or second it names (an RFC 3339 to is an exclusive
// bound). ticket is a ticket number; error matches attempts' errors,
// case-insensitively, as a substring (at most 256 bytes); trigger is a
// trigger id; status is pending, succeeded or failed; limit is the page
// size, 1 to 200 (default 50); cursor is the next of the previous page;
// tenant, in the operator view only, keeps one tenant's entries (at most
// 255 bytes, a name executionlog.ValidateTenant allows).
// A malformed parameter is answered 400 with a message that names it:
// every parameter must be UTF-8 text without control characters, at most
// 256 bytes for error and trigger, 512 for cursor and 64 for the others,
// and a cursor must be one the log made. An {id} that does not have the
// format of the engine's entry ids (executionlog.ValidID) is answered 404
// like an unknown one. No such value reaches the log.
//
// A summary has the fields id, tenant (in the operator view only), trigger_id, trigger_name, ticket_id, event
// ("created", "updated" or "test"), url, status, test (recorded by a test
// send), attempt_count, series_start (attempts made before the last
// redelivery), last_attempt (an attempt without response_body, or null),
// next_attempt_at (pending entries), note (when set), created_at and
// updated_at. An entry adds action_index, request_headers (secret values
// "[REDACTED]"), request_body (the JSON packet, as a string), attempts and,
// while an engine holds it, lease_owner and lease_until. An attempt has
// number, started_at, duration_ms, status_code (0 when no response
// arrived), error ("" on success), response_body and response_truncated.
// Times are RFC 3339 in UTC.
//
// Errors are {"error": "message"} with status 400 (malformed parameters,
// or a tenant parameter outside the operator view), 403 (read-only, a
// missing X-Requested-With header, a request of no valid tenant, or not
// the host's staff in the operator view), 404 (no such entry, or another
// tenant's), 405 (wrong method), 409 (the entry is still pending, or is a test
// send), 415 (not JSON) or 500.
//
// # Safety
//
// Every request that changes state is a POST; other methods get 405.
// HTML forms carry a token, an HMAC of a random per-browser nonce kept in
// a SameSite=Strict, HttpOnly cookie, checked on every POST. JSON API
// POSTs must have Content-Type: application/json and an X-Requested-With
// header (any value), or the form token in X-CSRF-Token: a page of another
// origin can send neither without a CORS preflight, which the handler
// never approves, so an admin's browser cannot be made to post them. All
// POSTs from another origin, detected by the Sec-Fetch-Site and Origin
// headers, are refused as well (http.CrossOriginProtection).
//
// A host whose middleware demands its own CSRF token on every POST sets
// Config.HostCSRF: the forms then carry the host's token in the field the
// host names, and the handler leaves checking it to the host's
// middleware, which must run before the handler. The cross-origin refusal
// and the JSON API's rules stay. In ReadOnly
// mode, or without a Redeliverer, the redeliver buttons are hidden and the
// POSTs are refused with 403.
//
// Every value the pages show is escaped by html/template, and none is
// marked as safe: links and form targets built from entry ids are plain
// strings that html/template checks as URLs, and only ids in the format
// of executionlog.ValidID are linked to or served.
package logview
