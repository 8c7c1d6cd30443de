package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Passing a selection upward. A filter that keeps most of a batch used to
// copy the kept rows of every column out before the operator above saw
// them (TPC-H q01 keeps 98.6% of lineitem and spent a third of its time
// copying). A Filter's stream, and a Project's above one, can instead
// hand on the whole batch with the list of rows in play; an aggregation
// reads its arguments through that list and never copies them.
// Operators that do not ask get compact batches from Next as before.

// selectionStream is a Stream that can also hand on its batches with
// their rows in play as a selection.
type selectionStream interface {
	Stream
	// nextSelected returns the next batch (the caller releases it) and the
	// ascending rows of it in play, nil for all of them; the selection is
	// the stream's memory, valid until its next call.
	nextSelected(ctx context.Context) (arrow.Record, []int32, error)
}

// selFuncStream is a funcStream that also answers nextSelected.
type selFuncStream struct {
	funcStream
	nextSel func(ctx context.Context) (arrow.Record, []int32, error)
}

func (s *selFuncStream) nextSelected(ctx context.Context) (arrow.Record, []int32, error) {
	return s.nextSel(ctx)
}

// nextSelectedFrom reads the next batch of in with its selection when in
// can give one, else a compact batch (selection nil).
func nextSelectedFrom(ctx context.Context, in Stream) (arrow.Record, []int32, error) {
	if s, ok := in.(selectionStream); ok {
		return s.nextSelected(ctx)
	}
	b, err := in.Next(ctx)
	return b, nil, err
}

// passSelection reports whether an operator that evaluates expressions
// should do so over the whole batch of n rows for the selection kept
// rather than copy the kept rows out: when they are at least half of it.
func passSelection(kept []int32, n int) bool {
	return len(kept) < n && len(kept)*2 >= n
}

// selectionSafe reports whether e may be evaluated on the rows a filter
// dropped too: it reads only columns, constants and parameters through
// casts and built-in operators, which have no side effects. Such an
// evaluation that fails is retried on the kept rows alone (see
// evalSelected), so an error from a dropped row is never reported.
func selectionSafe(e Expr) bool {
	switch x := e.(type) {
	case *ColumnExpr, *ParamExpr, *ConstExpr:
		return true
	case *CastExpr:
		return selectionSafe(x.Arg)
	case *CallExpr:
		if !x.Infix {
			return false
		}
		for _, a := range x.Args {
			if !selectionSafe(a) {
				return false
			}
		}
		return true
	}
	return false
}

// allSelectionSafe reports whether every expression of es is selectionSafe.
func allSelectionSafe(es []Expr) bool {
	for _, e := range es {
		if !selectionSafe(e) {
			return false
		}
	}
	return true
}

// evalWhole evaluates es over the whole of b, for a caller that reads
// only the rows of a selection of it. ok is false when one failed (not
// for a cancellation): the caller then evaluates them on the selected
// rows alone, where only PostgreSQL's errors can arise.
func evalWhole(ec *EvalContext, b arrow.Record, es []Expr) (arrs []arrow.Array, ok bool, err error) {
	arrs, err = evalAll(ec, b, es)
	if err == nil {
		return arrs, true, nil
	}
	if cerr := ec.Canceled(); cerr != nil {
		return nil, false, cerr
	}
	return nil, false, nil
}

// compactRecord copies the rows sel of every column of b out (a new
// reference); sel nil is b itself.
func compactRecord(ec *EvalContext, b arrow.Record, sel []int32) (arrow.Record, error) {
	if sel == nil {
		b.Retain()
		return b, nil
	}
	return gatherRecord(ec, b, sel, allColumns(b), b.Schema())
}
