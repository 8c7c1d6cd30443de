package exec

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// FrameBound is one end of a window frame.
type FrameBound int

const (
	UnboundedPreceding FrameBound = iota
	OffsetPreceding
	CurrentRow
	OffsetFollowing
	UnboundedFollowing
)

// FrameExclusion is what a frame leaves out around the current row.
type FrameExclusion int

const (
	ExcludeNoOthers   FrameExclusion = iota // the default: nothing
	ExcludeCurrentRow                       // the row itself
	ExcludeGroup                            // the row and its peers
	ExcludeTies                             // its peers, not the row
)

// Frame is a window frame: ROWS, GROUPS or RANGE (neither flag) between
// two bounds, less what Exclude leaves out.
type Frame struct {
	Rows, Groups           bool
	Start, End             FrameBound
	StartOffset, EndOffset int64
	Exclude                FrameExclusion
}

// DefaultFrame is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
var DefaultFrame = Frame{Start: UnboundedPreceding, End: CurrentRow}

// WindowFunc is one window function call.
type WindowFunc struct {
	Name        string
	Args        []Expr
	PartitionBy []Expr
	OrderBy     []SortKey
	Frame       Frame
	T           types.T
	NewAcc      func() Accumulator // for aggregates without a frame routine of their own
}

func (w WindowFunc) String() string {
	args := make([]string, len(w.Args))
	for i, a := range w.Args {
		args[i] = a.String()
	}
	parts := make([]string, len(w.PartitionBy))
	for i, p := range w.PartitionBy {
		parts[i] = p.String()
	}
	s := w.Name + "(" + strings.Join(args, ", ") + ") OVER ("
	if len(parts) > 0 {
		s += "PARTITION BY " + strings.Join(parts, ", ") + " "
	}
	if len(w.OrderBy) > 0 {
		s += "ORDER BY " + keysString(w.OrderBy)
	}
	return strings.TrimSpace(s) + ")"
}

// WindowFuncNames lists the window-only functions.
var WindowFuncNames = map[string]bool{
	"row_number": true, "rank": true, "dense_rank": true, "percent_rank": true, "cume_dist": true,
	"ntile": true, "lag": true, "lead": true, "first_value": true, "last_value": true, "nth_value": true,
}

// Window appends one column per window function to its (gathered) input.
type Window struct {
	Env   *Env
	Input Operator
	Funcs []WindowFunc
	Out   *arrow.Schema
	stats spillStats // what its sort spilled (windowspill.go)
}

func (w *Window) Schema() *arrow.Schema { return w.Out }
func (w *Window) Partitions() int       { return 1 }
func (w *Window) Children() []Operator  { return []Operator{w.Input} }
func (w *Window) Explain() string {
	parts := make([]string, len(w.Funcs))
	for i, f := range w.Funcs {
		parts[i] = f.String()
	}
	return "Window " + strings.Join(parts, ", ")
}

func (w *Window) Open(ctx context.Context, _ int) (Stream, error) {
	if w.Env.canSpill() && w.partitionKeys() != nil {
		return w.openByPartitions(ctx)
	}
	return materializeThen(ctx, w.Env, "Window", w.Input, w.computeAll)
}

// computeAll appends the functions' columns to all (whole partitions),
// in the first function's order.
func (w *Window) computeAll(ec *EvalContext, all arrow.Record) ([]arrow.Record, error) {
	cols := append([]arrow.Array{}, all.Columns()...)
	var order []int
	var added []arrow.Array
	defer func() { releaseAll(added) }()
	for i, f := range w.Funcs {
		vals, perm, err := w.compute(ec, all, f)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			order = perm
		}
		a := datumsArray(ec, f.T, vals)
		added = append(added, a)
		cols = append(cols, a)
	}
	rec := array.NewRecord(w.Out, cols, all.NumRows())
	defer rec.Release()
	return sliceBatches(ec, rec, order, w.Env.BatchSize)
}

// compute returns the function's value per input row, and the sort order used.
func (w *Window) compute(ec *EvalContext, all arrow.Record, f WindowFunc) ([]types.Datum, []int, error) {
	keys := make([]SortKey, 0, len(f.PartitionBy)+len(f.OrderBy))
	for _, p := range f.PartitionBy {
		keys = append(keys, SortKey{Expr: p})
	}
	keys = append(keys, f.OrderBy...)
	perm, err := sortPermutation(ec, all, keys)
	if err != nil {
		return nil, nil, err
	}
	partCols, err := evalAll(ec, all, f.PartitionBy)
	if err != nil {
		return nil, nil, err
	}
	defer releaseAll(partCols)
	orderCols, err := evalAll(ec, all, sortExprs(f.OrderBy))
	if err != nil {
		return nil, nil, err
	}
	defer releaseAll(orderCols)
	args, err := evalAll(ec, all, f.Args)
	if err != nil {
		return nil, nil, err
	}
	defer releaseAll(args)
	n := len(perm)
	out := make([]types.Datum, all.NumRows())
	sameRow := func(cols []arrow.Array, a, b int) bool {
		for _, c := range cols {
			if CompareDatums(types.T{}, DatumAt(c, a), DatumAt(c, b)) != 0 {
				return false
			}
		}
		return true
	}
	for start := 0; start < n; {
		end := start + 1
		for end < n && sameRow(partCols, perm[start], perm[end]) {
			end++
		}
		rows := perm[start:end]
		// peer group id per position
		peer := make([]int, len(rows))
		for i := 1; i < len(rows); i++ {
			peer[i] = peer[i-1]
			if !sameRow(orderCols, rows[i-1], rows[i]) {
				peer[i]++
			}
		}
		var keys []types.Datum
		if f.Frame.hasRangeOffset() && len(orderCols) > 0 {
			keys = make([]types.Datum, len(rows))
			for i, r := range rows {
				keys[i] = DatumAt(orderCols[0], r)
			}
		}
		if err := evalPartition(ec, f, rows, peer, keys, args, out); err != nil {
			return nil, nil, err
		}
		start = end
	}
	return out, perm, nil
}

func argAt(args []arrow.Array, k, row int) types.Datum {
	if k >= len(args) {
		return nil
	}
	return DatumAt(args[k], row)
}

func evalPartition(ec *EvalContext, f WindowFunc, rows, peer []int, keys []types.Datum, args []arrow.Array, out []types.Datum) error {
	n := len(rows)
	switch f.Name {
	case "row_number":
		for i, r := range rows {
			out[r] = int64(i + 1)
		}
		return nil
	case "rank", "dense_rank", "percent_rank", "cume_dist":
		_, peerEnd := peerSpans(peer)
		rank := 1
		for i, r := range rows {
			if i > 0 && peer[i] != peer[i-1] {
				rank = i + 1
			}
			switch f.Name {
			case "rank":
				out[r] = int64(rank)
			case "dense_rank":
				out[r] = int64(peer[i] + 1)
			case "percent_rank":
				if n == 1 {
					out[r] = 0.0
				} else {
					out[r] = float64(rank-1) / float64(n-1)
				}
			case "cume_dist":
				out[r] = float64(peerEnd[i]) / float64(n)
			}
		}
		return nil
	case "ntile":
		for i, r := range rows {
			b, ok := argAt(args, 0, r).(int64)
			if !ok || b <= 0 {
				return sqlerr.New("22014", "argument of ntile must be greater than zero")
			}
			out[r] = int64(i)*b/int64(n) + 1
		}
		return nil
	case "lag", "lead":
		for i, r := range rows {
			off := int64(1)
			if len(args) > 1 {
				o, ok := argAt(args, 1, r).(int64)
				if !ok {
					out[r] = nil
					continue
				}
				off = o
			}
			j := int64(i) - off
			if f.Name == "lead" {
				j = int64(i) + off
			}
			if j >= 0 && j < int64(n) {
				out[r] = argAt(args, 0, rows[j])
			} else {
				out[r] = argAt(args, 2, r)
			}
		}
		return nil
	}
	desc := len(f.OrderBy) > 0 && f.OrderBy[0].Desc
	lo, hi := frameSpans(f.Frame, peer, keys, desc)
	if f.Frame.Exclude != ExcludeNoOthers {
		return evalExcludingFrames(ec, f, rows, peer, lo, hi, args, out)
	}
	if frameRoutines[f.Name] {
		done, err := fastFrameAggregate(f, args, rows, lo, hi, out)
		if done || err != nil {
			return err
		}
	}
	generic := f.NewAcc != nil && !windowOnlyFrame[f.Name]
	prevLo, prevHi := -1, -1
	var prev types.Datum
	for i, r := range rows {
		var v types.Datum
		var err error
		switch {
		case generic && lo[i] == prevLo && hi[i] == prevHi:
			v = prev // the same frame as the row before (peers, whole partitions)
		case generic:
			v, err = aggregateFrame(ec, f, args, rows[lo[i]:hi[i]])
		default:
			v, err = frameValue(f, args, rows, lo[i], hi[i])
		}
		if err != nil {
			return err
		}
		out[r], prev, prevLo, prevHi = v, v, lo[i], hi[i]
	}
	return nil
}

// windowOnlyFrame are the frame functions that are no aggregates.
var windowOnlyFrame = map[string]bool{"first_value": true, "last_value": true, "nth_value": true}

// frameRoutines are the aggregates fastFrameAggregate may compute itself.
var frameRoutines = map[string]bool{"count": true, "min": true, "max": true, "sum": true, "avg": true,
	"bool_and": true, "bool_or": true, "every": true}

// aggregateFrame runs an aggregate's accumulator over the frame's rows.
func aggregateFrame(ec *EvalContext, f WindowFunc, args []arrow.Array, idx []int) (types.Datum, error) {
	cols := make([]arrow.Array, len(args))
	defer func() { releaseAll(cols) }()
	for j, a := range args {
		c, err := takeArray(ec, a, idx)
		if err != nil {
			return nil, err
		}
		cols[j] = c
	}
	acc := f.NewAcc()
	if r, ok := acc.(ReleasingAccumulator); ok {
		defer r.Release()
	}
	if err := acc.Update(ec, make([]uint32, len(idx)), 1, cols); err != nil {
		return nil, err
	}
	out, err := acc.Finish(ec, 1)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	return DatumAt(out, 0), nil
}

func frameValue(f WindowFunc, args []arrow.Array, rows []int, lo, hi int) (types.Datum, error) {
	switch f.Name {
	case "first_value":
		if lo >= hi {
			return nil, nil
		}
		return argAt(args, 0, rows[lo]), nil
	case "last_value":
		if lo >= hi {
			return nil, nil
		}
		return argAt(args, 0, rows[hi-1]), nil
	case "nth_value":
		k, _ := argAt(args, 1, rows[0]).(int64)
		if k <= 0 {
			return nil, sqlerr.New("22016", "argument of nth_value must be greater than zero")
		}
		if lo+int(k)-1 < hi {
			return argAt(args, 0, rows[lo+int(k)-1]), nil
		}
		return nil, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "window function %s is not supported", f.Name)
}

func (fr Frame) hasRangeOffset() bool {
	return !fr.Rows && !fr.Groups && (fr.Start == OffsetPreceding || fr.Start == OffsetFollowing ||
		fr.End == OffsetPreceding || fr.End == OffsetFollowing)
}

func numberOf(d types.Datum) (float64, bool) {
	switch v := d.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case int32:
		return float64(v), true
	}
	return 0, false
}
