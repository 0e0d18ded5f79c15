package trigger

import (
	"errors"
	"fmt"
)

// The expression budget. Every expression that loads has been shown, when
// it was loaded, to stay within MaxExpressionSteps and MaxExpressionMemory
// when it is evaluated on any ticket (and previous ticket) of at most
// BudgetTicketSize bytes encoded; see the package documentation.
const (
	// BudgetTicketSize is the largest encoded ticket, in bytes, for which
	// the load-time bound holds: the engine's default packet limit. Every
	// string of such a ticket is at most this long, and its lists hold at
	// most as many elements as fit in it.
	BudgetTicketSize = 256 << 10

	// MaxExpressionSteps is the most work an expression may do: one step
	// per operation (an operator, a member access, a call), eight per run
	// of a closure body, one per 16 bytes that an operation reads or
	// writes, one per 4 bytes that it allocates, and one per byte that it
	// processes rune by rune (upper, lower, split, replace). A step
	// measures about 5 ns of CPU, so that MaxExpressionSteps is under
	// 10 ms of one core. Through the allocation steps, it also keeps an
	// expression's allocations to about 4 MiB, within
	// MaxExpressionMemory.
	MaxExpressionSteps = 1_000_000

	// MaxExpressionMemory is the most memory, in bytes, that one evaluation
	// of an expression may allocate in total (strings, lists and ranges
	// it builds, counted as if none were ever freed).
	MaxExpressionMemory = 16 << 20

	// bytesPerStep is the number of bytes read or written that count as one
	// step.
	bytesPerStep = 16

	// bytesPerAllocStep is the number of bytes allocated that count as one
	// step: allocating, zeroing and collecting memory is slower than
	// reading it.
	bytesPerAllocStep = 4

	// vmMemoryBudget is the run-time limit given to expr's VM: the number
	// of elements the lists, maps and ranges it builds may hold in total.
	// At 16 bytes an element it is MaxExpressionMemory.
	vmMemoryBudget = MaxExpressionMemory / 16

	// vmBudgetMessage is the message of the error expr's VM raises when
	// vmMemoryBudget is exceeded.
	vmBudgetMessage = "memory budget exceeded"
)

// ErrBudget is matched (with errors.Is) by the errors of an expression that
// exceeds its budget: the load error of an expression whose cost bound is
// over MaxExpressionSteps or MaxExpressionMemory, or that the library
// cannot bound, and the *RuntimeError of an evaluation that exceeded the
// run-time memory budget (which can happen only on a ticket larger than
// BudgetTicketSize). Such an evaluation fails that trigger only.
var ErrBudget = errors.New("trigger: expression budget exceeded")

// budgetError is a cost problem; it matches ErrBudget.
type budgetError struct{ msg string }

func (e *budgetError) Error() string { return e.msg }

// Is reports whether target is ErrBudget.
func (e *budgetError) Is(target error) bool { return target == ErrBudget }

// runtimeBudgetError is the cause of a RuntimeError for an evaluation that
// exceeded the VM's memory budget.
var runtimeBudgetError error = &budgetError{msg: fmt.Sprintf(
	"the expression built more than %d list, map or range elements (%s)", vmMemoryBudget, ErrBudget)}
