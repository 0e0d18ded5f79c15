package trigger

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tickethooks/tickethooks/internal/textcut"
	"github.com/tickethooks/tickethooks/payload"
)

// Set is a validated, compiled collection of triggers. It is immutable and
// safe for concurrent use.
type Set struct {
	tenant   string
	triggers []*Trigger
	byID     map[string]*Trigger
}

// Tenant returns the tenant of every trigger of the set: Options.Tenant
// of the load that built it.
func (s *Set) Tenant() string {
	if s == nil {
		return ""
	}
	return s.tenant
}

// Triggers returns the triggers in definition order. Callers must not
// modify the slice or the triggers.
func (s *Set) Triggers() []*Trigger {
	if s == nil {
		return nil
	}
	return s.triggers
}

// Get returns the trigger with the given id.
func (s *Set) Get(id string) (*Trigger, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byID[id]
	return t, ok
}

// Len returns the number of triggers.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.triggers)
}

// Compile validates definitions and compiles them into a Set. It reports
// every problem it finds, joined with errors.Join; each is an *Error and
// matches ErrInvalid. Invalid definitions never produce a Set.
func Compile(defs []Definition, opts *Options) (*Set, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	ds := make([]decoded, len(defs))
	for i := range defs {
		ds[i].def = defs[i]
	}
	return build(ds, o)
}

// decoded is one definition with the problems found while decoding it and
// the parts that could not be decoded, which validation skips.
type decoded struct {
	def  Definition
	skip map[string]bool // paths; "" skips the whole definition
	errs []*Error
}

// build validates and compiles the definitions.
func build(ds []decoded, o *options) (*Set, error) {
	var errs []error
	set := &Set{tenant: o.tenant, triggers: make([]*Trigger, 0, len(ds)), byID: make(map[string]*Trigger, len(ds))}
	first := make(map[string]int, len(ds))
	for i, d := range ds {
		id := ""
		if !d.skip["id"] && checkID(d.def.ID) == nil {
			id = d.def.ID
		}
		var t *Trigger
		terrs := d.errs
		if !d.skip[""] {
			var cerrs []*Error
			t, cerrs = compileTrigger(d.def, d.skip, o)
			terrs = append(terrs, cerrs...)
		}
		// Report decoding and validation problems together, in the order
		// of the parts of a definition.
		slices.SortStableFunc(terrs, func(a, b *Error) int { return comparePaths(a.Path, b.Path) })
		for _, e := range terrs {
			e.TriggerID, e.Index = id, i
			errs = append(errs, e)
		}
		if t == nil {
			continue
		}
		if id != "" {
			if j, dup := first[id]; dup {
				errs = append(errs, &Error{TriggerID: id, Index: i, Path: "id",
					Err: fmt.Errorf("duplicate trigger id %q (triggers #%d and #%d)", id, j, i)})
			} else {
				first[id] = i
			}
		}
		if len(errs) == 0 {
			set.triggers = append(set.triggers, t)
			set.byID[t.ID] = t
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// MaxIDLength is the longest trigger id, in bytes: the longest that every
// execution log stores (MySQL and MariaDB keep it in a VARBINARY(255)).
const MaxIDLength = 255

// checkID validates a trigger id.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("is required")
	case len(id) > MaxIDLength:
		return fmt.Errorf("is %d bytes long; the limit is %d", len(id), MaxIDLength)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return errors.New("must be UTF-8 text without control characters")
	}
	return nil
}

// The bits of Trigger.on.
const (
	onCreated uint8 = 1 << iota
	onUpdated
)

// compileTrigger validates one definition and compiles it. Paths in skip
// could not be decoded and are not validated again.
func compileTrigger(def Definition, skip map[string]bool, o *options) (*Trigger, []*Error) {
	var errs []*Error
	report := func(path string, err error) {
		errs = append(errs, &Error{Path: path, Err: err})
	}
	t := &Trigger{
		ID:      def.ID,
		Tenant:  o.tenant,
		Name:    def.Name,
		Enabled: def.Enabled == nil || *def.Enabled,
		def:     def.clone(),
	}
	if !skip["id"] {
		if err := checkID(def.ID); err != nil {
			report("id", err)
		}
	}
	if !skip["name"] {
		if err := checkName(def.Name); err != nil {
			report("name", err)
		}
	}
	if !skip["type"] && def.Type != "" && def.Type != TypeTicket {
		report("type", fmt.Errorf("must be %q, not %q", TypeTicket, textcut.Cut(def.Type, maxQuoted)))
	}

	if len(def.On) == 0 {
		t.on = onCreated | onUpdated
	}
	for i, ev := range def.On {
		var bit uint8
		switch ev {
		case eventCreated:
			bit = onCreated
		case eventUpdated:
			bit = onUpdated
		default:
			report(fmt.Sprintf("on[%d]", i), fmt.Errorf("unknown event %q (want %q or %q)", textcut.Cut(ev, maxQuoted), eventCreated, eventUpdated))
			continue
		}
		if t.on&bit != 0 {
			report(fmt.Sprintf("on[%d]", i), fmt.Errorf("duplicate event %q", ev))
		}
		t.on |= bit
	}

	conditions := func(list string, defs []ConditionDefinition) []cond {
		var cs []cond
		for i, cd := range defs {
			path := fmt.Sprintf("conditions.%s[%d]", list, i)
			if skip[path] {
				continue
			}
			c, ev, cerrs := compileCondition(cd, o.schema)
			for _, err := range cerrs {
				report(path, err)
			}
			cs = append(cs, c)
			t.events = append(t.events, ev)
		}
		return cs
	}
	t.all = conditions("all", def.Conditions.All)
	t.any = conditions("any", def.Conditions.Any)

	if !skip["expression"] && strings.TrimSpace(def.Expression) != "" {
		program, problems := compileExpression(def.Expression, o)
		for _, p := range problems {
			errs = append(errs, &Error{Path: "expression", Line: p.line, Column: p.column, Err: p.err()})
		}
		t.program = program
		if program != nil {
			t.native = nativeExpression(program.Node())
		}
		t.events = append(t.events, payload.WebhookEvent{Criteria: payload.CriteriaExpression, Operator: payload.OperatorMatches})
	}

	if len(def.Actions) == 0 && !skip["actions"] {
		report("actions", errors.New("at least one action is required"))
	}
	for i, ad := range def.Actions {
		path := fmt.Sprintf("actions[%d]", i)
		if skip[path] {
			continue
		}
		a, aerrs := compileAction(ad, o)
		for _, err := range aerrs {
			if pe := (*pathError)(nil); errors.As(err, &pe) {
				errs = append(errs, &Error{Path: path + "." + pe.part, Line: pe.line, Column: pe.column, Err: pe.err})
				continue
			}
			report(path, err)
		}
		t.Actions = append(t.Actions, a)
	}
	return t, errs
}

// pathSections orders the parts of a definition for error reports.
var pathSections = []string{"", "id", "name", "type", "enabled", "on",
	"conditions.all", "conditions.any", "conditions", "expression", "actions"}

// comparePaths orders two error paths by section, then by list index.
func comparePaths(a, b string) int {
	sa, ia := splitPath(a)
	sb, ib := splitPath(b)
	if c := slices.Index(pathSections, sa) - slices.Index(pathSections, sb); c != 0 {
		return c
	}
	return ia - ib
}

// splitPath splits "actions[2]" (or "actions[2].secrets[0]") into
// "actions" and 2; -1 when no index.
func splitPath(p string) (string, int) {
	i := strings.IndexByte(p, '[')
	if i < 0 {
		return p, -1
	}
	num := p[i+1:]
	if j := strings.IndexByte(num, ']'); j >= 0 {
		num = num[:j]
	}
	n, _ := strconv.Atoi(num)
	return p[:i], n
}
