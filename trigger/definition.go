package trigger

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/tickethooks/tickethooks/internal/tenantname"
)

// Definition is a trigger as an administrator writes it. A host stores
// definitions anywhere (a file, a database row per trigger) and loads them
// with Parse or Compile, which validate them:
//
//	{"id": "resolved-urgent", "name": "Resolved urgent tickets", "type": "Ticket", "enabled": true,
//	 "on": ["created", "updated"],
//	 "conditions": {"all": [{"field": "Status", "operator": "changed_to", "value": "Resolved"}],
//	                "any": [{"field": "Urgency", "operator": "is", "value": "High"},
//	                        {"field": "Urgency", "operator": "is", "value": "Critical"}]},
//	 "expression": "Ticket.SlaSolutionTime > 60",
//	 "actions": [{"type": "webhook", "url": "https://example.com/hooks/tickets"}]}
type Definition struct {
	// ID identifies the trigger. It is required, unique within a load, at
	// most 256 bytes of UTF-8 text without control characters.
	ID string `json:"id"`
	// Name is an optional label for people.
	Name string `json:"name,omitempty"`
	// Type must be "Ticket", the default when empty.
	Type string `json:"type,omitempty"`
	// Enabled says whether the trigger fires. Nil means true.
	Enabled *bool `json:"enabled,omitempty"`
	// On lists the changes the trigger fires on: "created", "updated" or
	// both. Empty means both.
	On []string `json:"on,omitempty"`
	// Conditions must hold for the trigger to fire.
	Conditions Conditions `json:"conditions,omitzero"`
	// Expression is an optional expr-lang expression that must also hold.
	Expression string `json:"expression,omitempty"`
	// Actions run when the trigger fires. At least one is required.
	Actions []ActionDefinition `json:"actions"`
}

// Conditions are a trigger's structured conditions: every All condition
// must hold, and when Any is not empty at least one of Any must hold.
type Conditions struct {
	All []ConditionDefinition `json:"all,omitempty"`
	Any []ConditionDefinition `json:"any,omitempty"`
}

// ConditionDefinition is one condition: a field, an operator and, for the
// operators that take one, a value (a JSON string for string fields, a JSON
// integer for int fields).
type ConditionDefinition struct {
	Field    string          `json:"field"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// clone returns a deep copy of d.
func (d Definition) clone() Definition {
	c := d
	if d.Enabled != nil {
		e := *d.Enabled
		c.Enabled = &e
	}
	c.On = slices.Clone(d.On)
	c.Conditions.All = cloneConditions(d.Conditions.All)
	c.Conditions.Any = cloneConditions(d.Conditions.Any)
	if d.Actions != nil {
		c.Actions = make([]ActionDefinition, len(d.Actions))
		for i, a := range d.Actions {
			c.Actions[i] = a.clone()
		}
	}
	return c
}

func cloneConditions(cs []ConditionDefinition) []ConditionDefinition {
	if cs == nil {
		return nil
	}
	out := make([]ConditionDefinition, len(cs))
	for i, c := range cs {
		c.Value = slices.Clone(c.Value)
		out[i] = c
	}
	return out
}

func (a ActionDefinition) clone() ActionDefinition {
	c := a
	c.Headers = maps.Clone(a.Headers)
	c.SecretHeaders = slices.Clone(a.SecretHeaders)
	c.Secrets = slices.Clone(a.Secrets)
	c.Params = slices.Clone(a.Params)
	return c
}

// Options tune loading. A nil *Options, and every zero field, means the
// defaults.
type Options struct {
	// ActionTypes registers action types beyond "webhook" and "note" that
	// the host carries out itself. Their definitions are kept whole in
	// Action.Params.
	ActionTypes []string
	// MaxExpressionLength caps the length of an expression, in bytes.
	// Defaults to 4096.
	MaxExpressionLength int
	// MaxNodes caps the number of syntax tree nodes of an expression
	// and of a body template. Defaults to 1000.
	MaxNodes int
	// MaxTemplateLength caps the length of a webhook action's body
	// template, in bytes. Defaults to DefaultMaxTemplateLength.
	MaxTemplateLength int
	// AllowNetworks lists internal networks that webhook URLs may name by
	// a literal IP address, for self-hosted receivers on a private
	// network (for example 10.20.0.0/16, or 127.0.0.0/8 for a receiver on
	// the same host). A webhook URL whose host is a literal address that
	// is loopback, private, link-local (cloud metadata) or otherwise
	// internal, in any spelling ("127.1", "2130706433",
	// "[::ffff:127.0.0.1]", and non-ASCII forms such as "①②⑦.⓪.⓪.①",
	// which are mapped with IDNA (UTS #46) as HTTP clients map them), is
	// a validation error unless a prefix of
	// AllowNetworks holds it; an IPv4 prefix also holds the IPv4-mapped
	// IPv6 forms of its addresses. The host "localhost", and names ending
	// in ".localhost", in any spelling that maps to them
	// ("ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", or with soft hyphens or zero-width spaces), are
	// errors unless AllowNetworks holds all of 127.0.0.0/8. A non-ASCII
	// host that IDNA cannot map is always an error. Pass the list given to the engine (and to its sender),
	// which checks every address it connects to, host names included.
	// Defaults to none.
	AllowNetworks []netip.Prefix
	// RequireHTTPS makes a webhook URL with the http scheme a validation
	// error. Defaults to false: http and https are both accepted.
	RequireHTTPS bool
	// Tenant is the account the loaded triggers belong to, chosen by the
	// host (never by the definitions, which tenant administrators write):
	// at most 255 bytes of UTF-8 text without control characters. Every
	// Trigger of the load has it, and every log entry a trigger records
	// carries it. Trigger ids are unique per tenant. Empty means a
	// single-tenant host; an engine configured for tenants refuses
	// triggers without one.
	Tenant string
	// Attributes declares the attributes the host's tickets have beyond
	// the packet's fields, for conditions and expressions to read (see
	// Attribute). A condition or expression naming an attribute not
	// declared here, or comparing it with a value of another type, is a
	// validation error. Pass the list given to the engine, which checks
	// the values of each change against it.
	Attributes []Attribute
}

// The option defaults.
const (
	DefaultMaxExpressionLength = 4096
	DefaultMaxNodes            = 1000
	// DefaultMaxTemplateLength is the default Options.MaxTemplateLength.
	DefaultMaxTemplateLength = 16384
)

// options are Options with defaults applied.
type options struct {
	actionTypes         map[string]bool
	maxExpressionLength int
	maxNodes            int
	maxTemplateLength   int
	allow               []netip.Prefix
	allowLoopbackNames  bool // allow covers 127.0.0.0/8
	requireHTTPS        bool
	tenant              string
	schema              *Schema
}

// resolve checks o and applies the defaults.
func (o *Options) resolve() (*options, error) {
	r := &options{maxExpressionLength: DefaultMaxExpressionLength, maxNodes: DefaultMaxNodes, maxTemplateLength: DefaultMaxTemplateLength}
	if o == nil {
		return r, nil
	}
	switch {
	case o.MaxExpressionLength < 0:
		return nil, fmt.Errorf("trigger: options: MaxExpressionLength %d is negative: %w", o.MaxExpressionLength, ErrInvalid)
	case o.MaxNodes < 0:
		return nil, fmt.Errorf("trigger: options: MaxNodes %d is negative: %w", o.MaxNodes, ErrInvalid)
	case o.MaxTemplateLength < 0:
		return nil, fmt.Errorf("trigger: options: MaxTemplateLength %d is negative: %w", o.MaxTemplateLength, ErrInvalid)
	}
	if o.MaxTemplateLength > 0 {
		r.maxTemplateLength = o.MaxTemplateLength
	}
	if o.MaxExpressionLength > 0 {
		r.maxExpressionLength = o.MaxExpressionLength
	}
	if o.MaxNodes > 0 {
		r.maxNodes = o.MaxNodes
	}
	for _, t := range o.ActionTypes {
		switch {
		case strings.TrimSpace(t) == "":
			return nil, fmt.Errorf("trigger: options: ActionTypes holds an empty type: %w", ErrInvalid)
		case isBuiltinAction(t):
			return nil, fmt.Errorf("trigger: options: ActionTypes: %q is built in: %w", t, ErrInvalid)
		}
		if r.actionTypes == nil {
			r.actionTypes = make(map[string]bool)
		}
		r.actionTypes[t] = true
	}
	for i, p := range o.AllowNetworks {
		if !p.IsValid() {
			return nil, fmt.Errorf("trigger: options: AllowNetworks[%d] is not a valid prefix: %w", i, ErrInvalid)
		}
		if p.Addr().Is4() && p.Bits() <= loopbackV4.Bits() && p.Contains(loopbackV4.Addr()) {
			r.allowLoopbackNames = true
		}
	}
	r.allow = slices.Clone(o.AllowNetworks)
	r.requireHTTPS = o.RequireHTTPS
	if err := tenantname.Check(o.Tenant); err != nil {
		return nil, fmt.Errorf("trigger: options: %w: %w", err, ErrInvalid)
	}
	r.tenant = o.Tenant
	if len(o.Attributes) > 0 {
		schema, err := NewSchema(o.Attributes)
		if err != nil {
			return nil, fmt.Errorf("trigger: options: %w: %w", err, ErrInvalid)
		}
		r.schema = schema
	}
	return r, nil
}
