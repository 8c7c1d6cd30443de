package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Aggregating through a selection (see selstream.go): a HashAggregate
// over a filter that keeps most rows gets whole batches and the rows in
// play. The keys of those rows are copied out (they are few columns and
// the group table works on compact rows); the arguments are evaluated
// over the whole batch and the accumulators read the selected rows of
// them in place.

// selUpdater is an Accumulator that folds selected rows of its arguments
// without their being copied out.
type selUpdater interface {
	// updateSel folds row sel[k] of args into group groups[k].
	updateSel(ec *EvalContext, groups []uint32, sel []int32, ng int, args []arrow.Array) error
}

// updateSelected folds the rows sel of args into acc, through the rows
// copied out when acc cannot read a selection.
func updateSelected(ec *EvalContext, acc Accumulator, groups []uint32, sel []int32, ng int, args []arrow.Array) error {
	if s, ok := acc.(selUpdater); ok {
		return s.updateSel(ec, groups, sel, ng, args)
	}
	compact := make([]arrow.Array, len(args))
	defer releaseAll(compact)
	for i, a := range args {
		c, err := gatherArray(ec, a, sel)
		if err != nil {
			return err
		}
		compact[i] = c
	}
	return acc.Update(ec, groups, ng, compact)
}

// selectMode is how an aggregation takes batches that come with a
// selection.
type selectMode int

const (
	// selectNever: it copies the selected rows out
	selectNever selectMode = iota
	// selectDense: it reads through a selection of at least half the
	// batch, evaluating its arguments over all rows
	selectDense
	// selectAny: its arguments are plain columns, which cost nothing to
	// read through any selection
	selectAny
)

// aggregatesSelect tells how the aggregate's work can go through a
// selection: keys and arguments must be safe to evaluate on every row,
// and no aggregate may have a FILTER, DISTINCT or ORDER BY (their own
// row handling wants compact rows).
func (h *HashAggregate) aggregatesSelect() selectMode {
	if !allSelectionSafe(h.Keys) {
		return selectNever
	}
	plain := true
	for _, a := range h.Aggs {
		if a.Filter != nil || a.Distinct || len(a.OrderBy) > 0 || !allSelectionSafe(a.Args) {
			return selectNever
		}
		plain = plain && allPlainColumns(a.Args)
	}
	if plain {
		return selectAny
	}
	return selectDense
}

// allPlainColumns reports whether every expression of es is a plain
// column reference.
func allPlainColumns(es []Expr) bool {
	for _, e := range es {
		if _, ok := plainColumn(e); !ok {
			return false
		}
	}
	return true
}

// updateSel folds the rows sel of b (nil: all) into st. Should an
// argument fail on the whole batch, the rows are copied out and go
// through update, so that no error comes from a row the filter dropped;
// the arguments are all evaluated before any accumulator sees a row.
// mode is h.aggregatesSelect(), worked out once per stream.
func (h *HashAggregate) updateSel(ec *EvalContext, st *aggState, b arrow.Record, sel []int32, groups []uint32, mode selectMode) ([]uint32, error) {
	if sel == nil {
		return h.update(ec, st, b, groups)
	}
	if mode == selectAny || (mode == selectDense && passSelection(sel, int(b.NumRows()))) {
		args, ok, err := h.evalArgsWhole(ec, b)
		if err != nil {
			return groups, err
		}
		if ok {
			defer func() {
				for _, a := range args {
					releaseAll(a)
				}
			}()
			return h.foldSelected(ec, st, b, sel, args, groups)
		}
	}
	compact, err := compactRecord(ec, b, sel)
	if err != nil {
		return groups, err
	}
	defer compact.Release()
	return h.update(ec, st, compact, groups)
}

// evalArgsWhole evaluates every aggregate's arguments over all of b; ok
// is false when one failed.
func (h *HashAggregate) evalArgsWhole(ec *EvalContext, b arrow.Record) ([][]arrow.Array, bool, error) {
	args := make([][]arrow.Array, len(h.Aggs))
	for i, a := range h.Aggs {
		arrs, ok, err := evalWhole(ec, b, a.Args)
		if err != nil || !ok {
			for _, done := range args[:i] {
				releaseAll(done)
			}
			return nil, ok, err
		}
		args[i] = arrs
	}
	return args, true, nil
}

// foldSelected looks up the groups of the rows sel of b and folds args'
// values at those rows into them.
func (h *HashAggregate) foldSelected(ec *EvalContext, st *aggState, b arrow.Record, sel []int32, args [][]arrow.Array, groups []uint32) ([]uint32, error) {
	groups, err := h.lookupSelected(ec, st, b, sel, groups)
	if err != nil {
		return groups, err
	}
	for i := range h.Aggs {
		if err := updateSelected(ec, st.accs[i], groups, sel, st.groups.n, args[i]); err != nil {
			return groups, err
		}
	}
	return groups, nil
}

// lookupSelected returns the groups of the rows sel of b (making those
// new), through keys over the whole batch when they are plain columns,
// else through the selected rows' keys copied out.
func (h *HashAggregate) lookupSelected(ec *EvalContext, st *aggState, b arrow.Record, sel []int32, groups []uint32) ([]uint32, error) {
	// hashing every row's key pays only when most rows are selected
	if whole, ok := plainColumns(b, h.Keys); ok && passSelection(sel, int(b.NumRows())) {
		if out, ok := st.groups.lookupSelected(whole, int(b.NumRows()), sel, groups); ok {
			return out, nil
		}
	}
	keys, err := h.selectedKeys(ec, b, sel)
	if err != nil {
		return groups, err
	}
	defer releaseAll(keys)
	return st.groups.lookup(keys, len(sel), groups), nil
}

// plainColumns returns the columns of b that es name, when each is a
// plain column reference (no reference is taken).
func plainColumns(b arrow.Record, es []Expr) ([]arrow.Array, bool) {
	cols := make([]arrow.Array, len(es))
	for i, e := range es {
		c, ok := plainColumn(e)
		if !ok {
			return nil, false
		}
		cols[i] = b.Column(c)
	}
	return cols, true
}

// selectedKeys evaluates the keys for the rows sel of b, copied out.
func (h *HashAggregate) selectedKeys(ec *EvalContext, b arrow.Record, sel []int32) ([]arrow.Array, error) {
	keys := make([]arrow.Array, 0, len(h.Keys))
	for _, k := range h.Keys {
		a, at, err := evalOnSelection(ec, b, k, sel)
		if err != nil {
			releaseAll(keys)
			return nil, err
		}
		if at == nil { // evaluated on the rows copied out already
			keys = append(keys, a)
			continue
		}
		c, err := gatherArray(ec, a, sel)
		a.Release()
		if err != nil {
			releaseAll(keys)
			return nil, err
		}
		keys = append(keys, c)
	}
	return keys, nil
}

// ---- the accumulators that read a selection ----

func (a *countAcc) updateSel(_ *EvalContext, groups []uint32, sel []int32, ng int, args []arrow.Array) error {
	a.counts = grow(a.counts, ng, 0)
	if len(args) == 0 || args[0].NullN() == 0 {
		for _, g := range groups {
			a.counts[g]++
		}
		return nil
	}
	for k, g := range groups {
		if args[0].IsValid(int(sel[k])) {
			a.counts[g]++
		}
	}
	return nil
}

func (a *decimalSumAcc) updateSel(_ *EvalContext, groups []uint32, sel []int32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	arr := args[0]
	vals := decimalValues(arr)
	if arr.NullN() == 0 {
		for k, g := range groups {
			v := vals[sel[k]]
			r, ok := addDecimalChecked(a.sums[g], v)
			if !ok {
				r = a.spill(g, a.sums[g], v)
			}
			a.sums[g] = r
			a.count[g]++
		}
		return nil
	}
	for k, g := range groups {
		if i := int(sel[k]); arr.IsValid(i) {
			a.add(g, vals[i])
			a.count[g]++
		}
	}
	return nil
}

func (a *floatSumAcc) updateSel(_ *EvalContext, groups []uint32, sel []int32, ng int, args []arrow.Array) error {
	a.sums = grow(a.sums, ng, 0)
	a.count = grow(a.count, ng, 0)
	switch src := args[0].(type) {
	case *array.Float64:
		sumFloatsSel(a, groups, sel, src.Float64Values(), src)
	case *array.Float32:
		sumFloatsSel(a, groups, sel, src.Float32Values(), src)
	}
	return nil
}

func sumFloatsSel[T float32 | float64](a *floatSumAcc, groups []uint32, sel []int32, vals []T, arr arrow.Array) {
	hasNulls := arr.NullN() > 0
	for k, g := range groups {
		i := int(sel[k])
		if !hasNulls || arr.IsValid(i) {
			a.sums[g] += float64(vals[i])
			a.count[g]++
		}
	}
}

func (a *intSumAcc) updateSel(ec *EvalContext, groups []uint32, sel []int32, ng int, args []arrow.Array) error {
	src, ok := args[0].(*array.Int64)
	if !ok { // int2 and int4 sums are rarer: through copied rows
		c, err := gatherArray(ec, args[0], sel)
		if err != nil {
			return err
		}
		defer c.Release()
		return a.Update(ec, groups, ng, []arrow.Array{c})
	}
	a.growTo(ng)
	vals := src.Int64Values()
	hasNulls := src.NullN() > 0
	if !hasNulls && a.big == nil {
		// Update's fast path: add, going to a.add only on overflow
		for k, g := range groups {
			s, v := a.sums[g], vals[sel[k]]
			r := s + v
			if addOverflows(s, v, r) {
				a.add(g, v)
				continue
			}
			a.sums[g] = r
			a.count[g]++
			a.seen[g] = true
		}
		return nil
	}
	for k, g := range groups {
		i := int(sel[k])
		if !hasNulls || src.IsValid(i) {
			a.add(g, vals[i])
		}
	}
	return nil
}
