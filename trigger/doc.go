// Package trigger loads, validates and evaluates ticket triggers: rules
// that say when a changed ticket fires a webhook (and other actions).
//
// Administrators write triggers as JSON definitions. Parse (or Compile, for
// Definitions built in Go) validates them all up front, reporting every
// problem with the trigger id and position, and compiles them into an
// immutable Set. A Store holds the current Set for the engine and can swap
// in a new one at any time. A host with many accounts loads each
// account's definitions under its tenant (Options.Tenant), which every
// Trigger of the load carries: trigger ids are unique per tenant, a Store
// keeps one Set per tenant, and a Source answers for one tenant at a time.
// For each ticket change the engine builds one
// Event with NewEvent and asks each trigger whether it matches:
//
//	set, err := trigger.Parse(definitionsJSON, nil)
//	if err != nil {
//		return err // every problem, each an *trigger.Error
//	}
//	ev := trigger.NewEvent(before, after) // before is nil on creation
//	defer ev.Release()                    // after the last Match
//	for _, t := range set.Triggers() {
//		if t.Match(ev) {
//			// run t.Actions; send t.WebhookEvents() in the packet
//		}
//	}
//
// # Definitions
//
//	{"id": "resolved-urgent", "name": "Resolved urgent tickets", "type": "Ticket", "enabled": true,
//	 "on": ["created", "updated"],
//	 "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}],
//	                "any": [{"field": "Urgency", "operator": "is", "value": "High"},
//	                        {"field": "Urgency", "operator": "is", "value": "Critical"}]},
//	 "expression": "Ticket.SlaSolutionTime > 60",
//	 "actions": [{"type": "webhook", "url": "https://example.com/hooks/tickets",
//	              "headers": {"Authorization": "Bearer abc"}, "secret_headers": ["X-Token"],
//	              "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
//	             {"type": "note", "text": "Ticket data sent to the billing system"}]}
//
// id is required and unique; type defaults to and must be "Ticket"; enabled
// defaults to true; on defaults to both "created" and "updated". A trigger
// fires when it is enabled, it is on the kind of change, every "all"
// condition holds, at least one "any" condition holds (when there are any),
// and the expression holds (when there is one). A trigger without
// conditions fires on every change it is on.
//
// Actions: "webhook" needs an absolute http or https url (without
// credentials, since URLs are written to the execution log) and may set
// headers (valid HTTP names; values without line breaks) and list in
// secret_headers the headers whose values are secret, besides those that
// are always secret, such as Authorization; "secret_url": true marks the
// whole URL secret, for receivers that take a token in the path. "note"
// needs a text. A host registers its own action types in
// Options.ActionTypes; their JSON object is kept whole in Action.Params.
//
// Everything a webhook action writes to the execution log is checked when
// the trigger loads, so that a trigger that loads can always be logged, on
// every database: ids and names are UTF-8 text without control characters
// (MaxIDLength, MaxNameBytes), URLs valid UTF-8 (MaxURLBytes), headers at
// most MaxHeaders with names of at most MaxHeaderNameBytes and UTF-8
// values of at most MaxHeaderValueBytes, MaxHeaderBytes in all; note texts
// are capped at MaxNoteBytes.
//
// # Webhook destinations
//
// A webhook url must not name an internal address literally: a host that
// is a loopback, private, link-local (including the cloud metadata
// address 169.254.169.254), multicast or other special-purpose IP
// address, in any spelling ("127.0.0.1", "127.1", "2130706433",
// "0x7f.1", "[::1]", "[::ffff:127.0.0.1]", and non-ASCII ones such as
// "①②⑦.⓪.⓪.①", which are mapped with IDNA as HTTP clients map them), is
// an error such as
//
//	trigger "x": actions[0]: url host 127.0.0.1 is a loopback address
//
// and so are the host "localhost" and names ending in ".localhost". A host
// on a self-hosted private network is allowed by listing its network in
// Options.AllowNetworks (for example 10.20.0.0/16); localhost names need
// 127.0.0.0/8 there. Pass the engine the same list: its sender checks the
// address each connection actually reaches, so a host name that resolves
// to an internal address is refused when it is sent to. With
// Options.RequireHTTPS, an http url is an error too.
//
// # Signing secrets
//
// A webhook action may list signing secrets: "secrets": ["whsec_..."],
// each "whsec_" followed by the standard base64 of a 24- to 64-byte key,
// at most MaxSecrets (5), no two with the same key. The engine signs each
// request with every listed secret, in the Standard Webhooks format, so
// that the receiver can verify it came from the host. Secrets are checked
// when the triggers load; error messages name a secret by its position
// (actions[1].secrets[0]), never by its value.
//
// Secrets are never stored in the execution log: the engine reads them
// from the trigger at each attempt, so a retry signs with the secrets the
// trigger lists then. To rotate a secret without losing a delivery, list
// the new secret together with the old one (the request carries a
// signature by each, and the receiver accepts either), move the receiver
// to the new secret, then remove the old one from the trigger.
// Trigger.Definition returns the secrets as written: a host that shows
// definitions to people should hide them.
//
// Decoding is strict: unknown keys and values of the wrong JSON type are
// errors, and syntax errors give the line and column.
//
// # Fields
//
//	Field               Type    Operators
//	Id                  int     is, is_not, less_than, greater_than, present, not_present
//	Subject             string  all but less_than, greater_than
//	Status              string  all but less_than, greater_than
//	Justification       string  all but less_than, greater_than
//	Urgency             string  all but less_than, greater_than
//	ServiceFirstLevel   string  all but less_than, greater_than
//	SlaSolutionTime     int     all but contains, not_contains
//	ActionCount         int     all but contains, not_contains (Ticket.ActionCount())
//	Event               event   is, is_not, with value "created" or "updated"
//	CustomField:<id>    string  all but less_than, greater_than
//
// CustomField:<id> is the Value of the ticket's first CustomFieldValues
// element whose CustomFieldId is id, or "" when there is none.
// "ActionCount changed" or "ActionCount greater_than N" detect an added
// reply or note. ActionCount is the ticket's TotalActions, or the length
// of Actions when that is larger: a host that sends only the latest
// actions in the packet sets TotalActions to the true count, which the
// packet does not carry.
//
// # Host attributes
//
// A host declares the attributes its tickets have beyond the packet's
// fields in Options.Attributes (the engine's Config.Attributes), each with
// a name and a type, and passes their values with each change
// (Event.BeforeAttrs and AfterAttrs; the engine's WithAttributes):
//
//	Type    Go value    Operators                                     Condition value
//	string  string      as a string field                             JSON string
//	int     int         as an int field                               JSON integer
//	bool    bool        is, is_not, changed family                    true or false
//	time    time.Time   as an int field, by instant                   RFC 3339 string
//	list    []string    includes, not_includes, present, not_present,  JSON string
//	                    changed family
//
// A condition names an attribute as "Attr.<name>":
//
//	{"field": "Attr.tags", "operator": "changed_to", "value": "vip"}
//	{"field": "Attr.assignee", "operator": "changed"}
//
// A missing attribute reads as its type's zero value (an empty list). On a
// list, includes and not_includes test for an element; present means not
// empty; changed and not_changed compare the lists as sets; changed_to
// means the value was added (it is in the list now and was not before),
// changed_from that it was removed, and not_changed_to and
// not_changed_from are their negations. Times compare by instant, to the
// microsecond, whatever their location. A condition naming an attribute
// not declared, an operator that does not fit its type or a value of
// another type is an error when the trigger loads. Every attribute
// condition sends the WebhookEvents code {Criteria 12, Operator}, with
// Operator 16 for includes and 17 for not_includes (see package payload):
// attributes never enter the packet unless a body template puts them
// there.
//
// Expressions read Attr.<name> and PreviousAttr.<name> (the value before
// the change), with the declared type: "vip" in Attr.tags,
// Attr.team == "billing", Attr.due < now(). The Changed helpers take
// "Attr.<name>" too. An attribute name that is not declared, or a
// comparison with a value of another type, is an error with its line and
// column. The values of one side of a change are capped (Schema.Check,
// MaxAttrBytes, MaxListItems) so that expression costs stay bounded.
//
// # Operators and comparison rules
//
//	is, is_not                      exact and case-sensitive
//	contains, not_contains          case-insensitive substring (Unicode simple folding)
//	less_than, greater_than         integer comparison
//	present, not_present            non-empty string, non-zero int
//	changed, not_changed            the value differs from the previous value
//	changed_to, changed_from        it changed, and is now (was before) exactly the value
//	not_changed_to, not_changed_from  the negations of changed_to and changed_from
//
// present, not_present, changed and not_changed take no value; the other
// operators require one of the field's type: a JSON string for string
// fields and a JSON integer for int fields (1.5 and "5" are errors). On
// creation the previous ticket is the empty ticket, so "Status changed_to
// Resolved" holds for a ticket created as Resolved, and "changed" holds
// when the created value is present.
//
// Each condition becomes a WebhookEvents entry with the stable codes of
// package payload: the "all" conditions, then the "any" conditions, then
// {Criteria 11, Operator 15} for the expression.
//
// # Expressions
//
// The optional expression uses the expr language
// (https://expr-lang.org) over Env: Ticket, Previous (nil on creation),
// Event, Attr and PreviousAttr, and the helpers Changed, ChangedTo,
// ChangedFrom and CustomField.
// For example:
//
//	Ticket.SlaSolutionTime > 60 && ChangedTo("Status", "Resolved")
//	Event == "updated" && CustomField(12) in ["Gold", "Platinum"]
//	any(Ticket.Actions, .Description contains "refund")
//
// Expressions are compiled when the triggers load, with their names, types
// and the helpers' field names checked then; errors give the line and
// column. They must yield a bool. An expression may be at most
// Options.MaxExpressionLength bytes (default 4096) and Options.MaxNodes
// syntax nodes (default 1000).
//
// # Expression budget
//
// An expression that loads cannot take the host down. When it is loaded,
// the library bounds the work and memory of evaluating it on any ticket
// (and previous ticket) of at most BudgetTicketSize (256 KiB) encoded:
// loops over ranges and over the ticket's lists (nested loops multiply),
// strings and lists built by +, let, reduce accumulators, map, join,
// split, replace, upper and the like. An expression whose bound exceeds
// MaxExpressionSteps (1,000,000 steps, under 10 ms of one core) or
// MaxExpressionMemory (16 MiB allocated), or whose cost cannot be bounded,
// is refused with the construct at fault and its position:
//
//	trigger "x": expression: line 1, column 24: the "+" operator can take up to 1310723 steps on a ticket of 256 KiB; the budget is 1000000
//
// Such errors match ErrBudget as well as ErrInvalid. The bound counts the
// largest values a ticket of that size allows, so loops over the ticket's
// lists are accepted when they are linear in the ticket, as
// any(Ticket.Actions, .Description contains "refund") is, and refused when
// they are not, as a loop over Ticket.Actions inside another is. A range
// must have bounds that are literals, lengths or other bounded ints, and
// matches needs a literal pattern. Only these builtins are enabled: all,
// none, any, one, filter, map, find, findIndex, findLast, findLastIndex,
// count, sum, reduce, len, type, abs, ceil, floor, round, int, float,
// string, trim, trimPrefix, trimSuffix, upper, lower, split, splitAfter,
// replace, join, indexOf, lastIndexOf, hasPrefix, hasSuffix, max, min,
// mean, median, now, duration, date, first, last, get, take, reverse and
// concat.
//
// At run time, expr's VM is given a budget of MaxExpressionMemory/16 list,
// map and range elements. It can be reached only on a ticket larger than
// BudgetTicketSize; the evaluation then fails with a *RuntimeError that
// matches ErrBudget, and the trigger does not match. Other triggers are
// not affected. An expression that runs on expr's VM is not run at all on
// a change whose ticket, or previous ticket, encodes to more than
// BudgetTicketSize bytes, since its bound does not hold there: it fails
// with an error matching ErrBudget. Structured conditions, and the
// expressions compiled to Go closures, which have no loops, still run.
//
// An expression that fails at run time, such as reading Previous.Status
// when a ticket is created (use Changed helpers, or guard with
// Previous != nil), does not hold: Match returns false and Evaluate returns
// a *RuntimeError.
//
// Common expressions run as Go closures instead of on expr's VM, several
// times faster and with results identical to the VM's. After expr has
// checked and compiled an expression, the library compiles it again to Go
// when every part of it is one of:
//
//	true, false, !, not, &&, and, ||, or, parentheses
//	Ticket.Id, Ticket.SlaSolutionTime (ints), Ticket.Subject,
//	  Ticket.Status, Ticket.Justification, Ticket.Urgency,
//	  Ticket.ServiceFirstLevel (strings), Event, CustomField(<integer>),
//	  string and integer literals
//	==, != between two strings or two ints; <, <=, >, >= between two ints
//	contains, startsWith, endsWith between two strings
//	in, not in a list of literals of the same type, or an int in
//	  <integer>..<integer>
//	Changed("F"), ChangedTo("F", <literal>), ChangedFrom("F", <literal>)
//
// such as the examples above but the last (F is a field name, and a
// ChangedTo or ChangedFrom value of an int field may be written 60.0).
// Those parts cannot fail at run time. Any other part (Previous,
// arithmetic, other floats, nil, builtins such as len or any, matches,
// variables, indexing) keeps the whole expression on the VM.
// Loading, validation and error messages do not depend on which way an
// expression runs.
//
// # Body templates
//
// A webhook action sends the ticket's data packet as JSON with POST, unless
// it sets these keys:
//
//	{"type": "webhook", "url": "https://hooks.example.com/services/T0/B0/XXXX", "secret_url": true,
//	 "body": "{\"text\": \"Ticket #\" + string(Ticket.Id) + \" is \" + Ticket.Status}"}
//	{"type": "webhook", "url": "https://erp.example.com/tickets", "method": "PUT",
//	 "content_type": "application/x-www-form-urlencoded",
//	 "body": "{id: Ticket.Id, status: Ticket.Status, assignee: Attr.assignee, trigger: Trigger.ID}"}
//
// "method" is "POST" (the default), "PUT" or "PATCH"; "content_type" is
// "application/json" (the default) or "application/x-www-form-urlencoded";
// "body" is a template: an expression, in the language of trigger
// expressions, whose value becomes the request body. These keys apply to
// webhook actions only. The form content type needs a body template (the
// packet is not a flat map), whose value must be a map.
//
// A template is evaluated in a TemplateEnv: Ticket, Previous, Event, Attr,
// PreviousAttr and the helpers of Env, read as in expressions (so host
// attributes, which never enter the packet, can be sent this way), and
// Trigger.ID and Trigger.Name. Its value may be of any type. It is compiled
// and checked when the triggers load, as expressions are: names, types,
// attributes and helper field names (errors give the path
// "actions[N].body" and the line and column), the expression budget, at
// most Options.MaxNodes syntax nodes and at most Options.MaxTemplateLength
// bytes (DefaultMaxTemplateLength, 16 KiB). For the form content type, a
// template whose type is known not to be a map is a load error.
//
// Action.Render renders the body, which the engine does when a trigger
// fires, and stores it in the log entry with its Content-Type; the
// delivery sends it with the action's method. The value is encoded by the
// library, never pasted as text:
//
//   - JSON: with encoding/json, without HTML escaping and without a
//     trailing newline; a ticket encodes as the packet, a time as RFC 3339;
//     map keys must be strings; invalid UTF-8 in strings becomes U+FFFD.
//     Quotes, backslashes, control characters and U+2028/U+2029 in a
//     subject or attribute are escaped, so they cannot break the JSON.
//   - Form: the value must be a flat map whose values are strings, numbers
//     (written as JSON writes them), bools or nil (an empty value),
//     encoded as url.Values encodes, keys sorted.
//
// A body over MaxRenderedBody (256 KiB), a value that cannot be encoded
// and an expression that fails at run time (such as Previous.Status on a
// created ticket: write Previous?.Status) are render errors
// (*RenderError). The engine then records the entry as failed, with an
// attempt saying why, and never sends it. Without a template, Render
// returns the packet exactly as before.
//
// # Concurrency
//
// Sets, Triggers and Events are immutable and safe for concurrent use;
// matching takes no locks. Structured conditions and expressions run as Go
// closures do not allocate when evaluated. Expressions that run on the VM
// share a VM that the Event keeps, so that evaluating many triggers against
// one Event allocates nothing beyond what expr itself does; Event.Release
// (optional) reuses that VM for the next change.
package trigger
