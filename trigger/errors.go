package trigger

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error that Parse and
// Compile return for a definition that cannot be loaded, and by invalid
// Options.
var ErrInvalid = errors.New("trigger: invalid definition")

// ErrNotFound is returned by Source.Trigger when no trigger has the id.
var ErrNotFound = errors.New("trigger: not found")

// Error describes one problem in a trigger definition. Parse and Compile
// return every problem they find joined with errors.Join; errors.As finds
// each *Error and errors.Is(err, ErrInvalid) holds for all of them.
type Error struct {
	// TriggerID is the id of the definition at fault, or "" when the
	// definition has no usable id.
	TriggerID string
	// Index is the definition's position in the input, from 0, or -1 when
	// the problem is not in one definition (a JSON syntax error).
	Index int
	// Path locates the problem inside the definition, such as
	// "conditions.all[0]", "expression", "actions[1]" or
	// "actions[1].secrets[0]". It is empty when the problem concerns the
	// whole definition.
	Path string
	// Line and Column (both from 1) locate the problem in the expression
	// for expression errors, and in the input for JSON syntax errors. They
	// are 0 otherwise.
	Line, Column int
	// Err is the cause.
	Err error
}

// Error formats the problem as `trigger "id": path: line L, column C: cause`,
// naming the trigger `trigger #N` when it has no id and leaving out the
// parts that do not apply.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.TriggerID != "":
		fmt.Fprintf(&b, "trigger %q: ", e.TriggerID)
	case e.Index >= 0:
		fmt.Fprintf(&b, "trigger #%d: ", e.Index)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the cause wrapped in ErrInvalid, so that errors.Is(err,
// ErrInvalid) holds and errors.Is and errors.As also reach the cause.
func (e *Error) Unwrap() error {
	if e.Err == nil {
		return ErrInvalid
	}
	return fmt.Errorf("%w: %w", ErrInvalid, e.Err)
}

// RuntimeError is an error that a trigger's expression raised while it was
// evaluated, such as reading a field of Previous on a created ticket.
// Trigger.Evaluate returns it; Trigger.Match treats it as "does not hold".
type RuntimeError struct {
	// TriggerID is the id of the trigger whose expression failed.
	TriggerID string
	// Line and Column (both from 1) locate the failing part of the
	// expression, or are 0 when unknown.
	Line, Column int
	// Err is the cause.
	Err error
}

// Error formats the problem as `trigger "id": expression: line L, column C: cause`.
func (e *RuntimeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("trigger %q: expression: line %d, column %d: %v", e.TriggerID, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("trigger %q: expression: %v", e.TriggerID, e.Err)
}

// Unwrap returns the cause.
func (e *RuntimeError) Unwrap() error { return e.Err }

// maxQuoted is the most bytes of a value that an error message quotes.
const maxQuoted = 200
