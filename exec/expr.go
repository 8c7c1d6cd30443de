package exec

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// EvalContext carries what expression evaluation needs besides the batch.
type EvalContext struct {
	Ctx context.Context
	Mem memory.Allocator
	// Outer holds the values of outer-query columns while a correlated
	// subquery runs (indexed by ParamExpr.Slot).
	Outer []types.Datum
	// Env gives access to session state (clock, settings).
	Env *Env
	// recycler, when set, reuses the buffers of fixed-width results
	// (recycle.go)
	recycler *bufferRecycler
}

// Canceled returns the context's error once the statement is cancelled,
// for loops that can run long within one batch.
func (ec *EvalContext) Canceled() error {
	if ec.Ctx == nil {
		return nil
	}
	return ec.Ctx.Err()
}

// Expr is a compiled, vectorized expression. Eval returns a new array of
// b.NumRows() values that the caller must Release.
type Expr interface {
	Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error)
	Type() types.T
	String() string
}

// ColumnExpr reads column Index of the input batch.
type ColumnExpr struct {
	Index int
	T     types.T
	Name  string
}

func (e *ColumnExpr) Eval(_ *EvalContext, b arrow.Record) (arrow.Array, error) {
	col := b.Column(e.Index)
	col.Retain()
	return col, nil
}
func (e *ColumnExpr) Type() types.T  { return e.T }
func (e *ColumnExpr) String() string { return e.Name }

// ConstExpr is a literal value.
type ConstExpr struct {
	Value types.Datum
	T     types.T
	// Reuse, when set, keeps the array built for the largest batch so far
	// and hands it (or, for a shorter batch, a slice of it) out again,
	// instead of filling a new one per batch (q06's filter compares four constants
	// per row). Whoever sets it releases it when the plan is done.
	Reuse *ConstReuse
}

// ConstReuse is a constant's array kept across batches (ConstExpr.Reuse).
type ConstReuse struct {
	mu     sync.Mutex
	arr    arrow.Array
	closed bool // released: an expression compiled for later use keeps no array
}

// Release lets go of the kept array; later evaluations keep none.
func (r *ConstReuse) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.arr != nil {
		r.arr.Release()
		r.arr = nil
	}
}

func (e *ConstExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	r := e.Reuse
	if r == nil {
		return ConstArray(ec.Mem, e.T, e.Value, n), nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ConstArray(ec.Mem, e.T, e.Value, n), nil
	}
	switch {
	case r.arr != nil && r.arr.Len() == n:
		r.arr.Retain()
		return r.arr, nil
	case r.arr != nil && r.arr.Len() > n:
		// a batch a filter shortened: the front of the kept array
		return array.NewSlice(r.arr, 0, int64(n)), nil
	}
	a := ConstArray(ec.Mem, e.T, e.Value, n)
	if r.arr != nil {
		r.arr.Release()
	}
	a.Retain()
	r.arr = a
	return a, nil
}
func (e *ConstExpr) Type() types.T { return e.T }
func (e *ConstExpr) String() string {
	if e.Value == nil {
		return "NULL"
	}
	if e.T.IsString() {
		return "'" + strings.ReplaceAll(types.Format(e.T, e.Value), "'", "''") + "'"
	}
	return types.Format(e.T, e.Value)
}

// ParamExpr reads a value bound from outside the batch: an outer-query column
// of a correlated subquery.
type ParamExpr struct {
	Slot int
	T    types.T
	Name string
}

func (e *ParamExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	if e.Slot >= len(ec.Outer) {
		return nil, sqlerr.New(sqlerr.Internal, "outer reference %s is not bound", e.Name)
	}
	return ConstArray(ec.Mem, e.T, ec.Outer[e.Slot], int(b.NumRows())), nil
}
func (e *ParamExpr) Type() types.T  { return e.T }
func (e *ParamExpr) String() string { return "outer." + e.Name }

// Kernel computes a function over argument arrays of n rows.
type Kernel func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error)

// CallExpr applies a kernel to evaluated arguments.
type CallExpr struct {
	Name   string
	Args   []Expr
	Kernel Kernel
	T      types.T
	// Infix prints the call as "a op b" in EXPLAIN.
	Infix bool
}

func (e *CallExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	args, err := evalAll(ec, b, e.Args)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	return e.Kernel(ec, args, int(b.NumRows()))
}
func (e *CallExpr) Type() types.T { return e.T }
func (e *CallExpr) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	if e.Infix && len(parts) == 2 {
		return "(" + parts[0] + " " + e.Name + " " + parts[1] + ")"
	}
	if e.Infix && len(parts) == 1 {
		return "(" + e.Name + " " + parts[0] + ")"
	}
	return e.Name + "(" + strings.Join(parts, ", ") + ")"
}

func evalAll(ec *EvalContext, b arrow.Record, exprs []Expr) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(exprs))
	for _, x := range exprs {
		a, err := x.Eval(ec, b)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

// BoolOp is AND or OR with SQL's three-valued logic.
type BoolOp struct {
	And  bool
	Args []Expr
}

func (e *BoolOp) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	// state per row: 0 false, 1 true, 2 null
	state := make([]uint8, n)
	init := uint8(0)
	if e.And {
		init = 1
	}
	for i := range state {
		state[i] = init
	}
	undecided := n
	for k, arg := range e.Args {
		if undecided == 0 {
			break // every row is already false (AND) or true (OR)
		}
		// an IN list of a million values is a million arguments
		if k%64 == 63 {
			if err := ec.Canceled(); err != nil {
				return nil, err
			}
		}
		if k > 0 && undecided*10 < n {
			// nearly all rows are decided: evaluating the rest on them alone
			// is cheaper than on the whole batch (a selective first
			// conjunct before costly ones)
			if err := e.evalUndecided(ec, b, arg, state); err != nil {
				return nil, err
			}
			undecided = countUndecided(state, e.And)
			continue
		}
		a, err := arg.Eval(ec, b)
		if err != nil && k > 0 && (ec.Ctx == nil || ec.Ctx.Err() == nil) {
			// an argument that fails on some row is evaluated again on the
			// rows the earlier arguments left undecided, so that
			// x <> 0 AND y / x > 1 fails only where x is 0 and the first
			// test did not already decide the row, as in PostgreSQL
			if err = e.evalUndecided(ec, b, arg, state); err != nil {
				return nil, err
			}
			undecided = countUndecided(state, e.And)
			continue
		}
		if err != nil {
			return nil, err
		}
		ba := a.(*array.Boolean)
		undecided = 0
		for i := 0; i < n; i++ {
			state[i] = combine3(e.And, state[i], boolState(ba, i))
			if state[i] != decided(e.And) {
				undecided++
			}
		}
		a.Release()
	}
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	bld.Reserve(n)
	for _, s := range state {
		if s == 2 {
			bld.AppendNull()
		} else {
			bld.UnsafeAppend(s == 1)
		}
	}
	return bld.NewArray(), nil
}

// evalUndecided evaluates arg on the rows whose state the earlier
// arguments have not decided (for AND, the rows not yet false).
func (e *BoolOp) evalUndecided(ec *EvalContext, b arrow.Record, arg Expr, state []uint8) error {
	var rows []int
	for i, st := range state {
		if st != decided(e.And) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	a, err := evalRows(ec, b, rows, arg)
	if err != nil {
		return err
	}
	defer a.Release()
	ba := a.(*array.Boolean)
	for k, i := range rows {
		state[i] = combine3(e.And, state[i], boolState(ba, k))
	}
	return nil
}

func countUndecided(state []uint8, and bool) int {
	n := 0
	for _, st := range state {
		if st != decided(and) {
			n++
		}
	}
	return n
}

// boolState is row i of a boolean array as 0 false, 1 true, 2 NULL.
func boolState(ba *array.Boolean, i int) uint8 {
	switch {
	case ba.IsNull(i):
		return 2
	case ba.Value(i):
		return 1
	}
	return 0
}

// decided is the state no further argument changes: false for AND, true
// for OR.
func decided(and bool) uint8 {
	if and {
		return 0
	}
	return 1
}

func combine3(and bool, a, b uint8) uint8 {
	if and {
		if a == 0 || b == 0 {
			return 0
		}
		if a == 2 || b == 2 {
			return 2
		}
		return 1
	}
	if a == 1 || b == 1 {
		return 1
	}
	if a == 2 || b == 2 {
		return 2
	}
	return 0
}

func (e *BoolOp) Type() types.T { return types.BoolT }
func (e *BoolOp) String() string {
	op := " OR "
	if e.And {
		op = " AND "
	}
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, op) + ")"
}

// NotExpr negates a boolean (NULL stays NULL).
type NotExpr struct{ Arg Expr }

func (e *NotExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	a, err := e.Arg.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	ba := a.(*array.Boolean)
	n := ba.Len()
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		if ba.IsNull(i) {
			bld.AppendNull()
		} else {
			bld.UnsafeAppend(!ba.Value(i))
		}
	}
	return bld.NewArray(), nil
}
func (e *NotExpr) Type() types.T  { return types.BoolT }
func (e *NotExpr) String() string { return "(NOT " + e.Arg.String() + ")" }

// NullTest is IS [NOT] NULL, and IS [NOT] TRUE/FALSE when Truth is set.
type NullTest struct {
	Arg    Expr
	Negate bool
	// Truth, when non-nil, makes this IS TRUE (*Truth) / IS FALSE (!*Truth).
	Truth *bool
}

func (e *NullTest) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	a, err := e.Arg.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	n := a.Len()
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		var r bool
		if e.Truth != nil {
			r = a.IsValid(i) && a.(*array.Boolean).Value(i) == *e.Truth
		} else {
			r = a.IsNull(i)
		}
		bld.UnsafeAppend(r != e.Negate)
	}
	return bld.NewArray(), nil
}
func (e *NullTest) Type() types.T { return types.BoolT }
func (e *NullTest) String() string {
	what := "NULL"
	if e.Truth != nil {
		what = strings.ToUpper(fmt.Sprint(*e.Truth))
	}
	if e.Negate {
		return "(" + e.Arg.String() + " IS NOT " + what + ")"
	}
	return "(" + e.Arg.String() + " IS " + what + ")"
}
