package exec

import (
	"context"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
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

// Frame is a window frame: ROWS or RANGE between two bounds.
type Frame struct {
	Rows                   bool
	Start, End             FrameBound
	StartOffset, EndOffset int64
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
	return materializeThen(ctx, w.Env, w.Input, func(ec *EvalContext, all arrow.Record) ([]arrow.Record, error) {
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
			res := &lazyResult{vals: vals}
			a := res.build(ec, f.T)
			added = append(added, a)
			cols = append(cols, a)
		}
		rec := array.NewRecord(w.Out, cols, all.NumRows())
		defer rec.Release()
		return sliceBatches(ec, rec, order, w.Env.BatchSize)
	})
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
				last := i
				for last+1 < n && peer[last+1] == peer[i] {
					last++
				}
				out[r] = float64(last+1) / float64(n)
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
	generic := f.NewAcc != nil && !frameRoutines[f.Name]
	prevLo, prevHi := -1, -1
	var prev types.Datum
	for i, r := range rows {
		lo, hi := frameBounds(f.Frame, i, peer, n, len(f.OrderBy) > 0)
		if keys != nil {
			lo, hi = rangeOffsetBounds(f.Frame, i, keys, f.OrderBy[0].Desc, lo, hi)
		}
		var v types.Datum
		var err error
		switch {
		case generic && lo == prevLo && hi == prevHi:
			v = prev // the same frame as the row before (peers, whole partitions)
		case generic:
			v, err = aggregateFrame(ec, f, args, rows[lo:hi])
		default:
			v, err = frameValue(f, args, rows, lo, hi)
		}
		if err != nil {
			return err
		}
		out[r], prev, prevLo, prevHi = v, v, lo, hi
	}
	return nil
}

// frameRoutines are the aggregates frameValue computes itself.
var frameRoutines = map[string]bool{"count": true, "min": true, "max": true, "sum": true, "avg": true}

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

// frameBounds returns the frame of position i as [lo, hi).
func frameBounds(fr Frame, i int, peer []int, n int, ordered bool) (int, int) {
	lo, hi := 0, n
	peerStart, peerEnd := i, i+1
	if !fr.Rows {
		if !ordered {
			peerStart, peerEnd = 0, n
		} else {
			for peerStart > 0 && peer[peerStart-1] == peer[i] {
				peerStart--
			}
			for peerEnd < n && peer[peerEnd] == peer[i] {
				peerEnd++
			}
		}
	}
	switch fr.Start {
	case UnboundedPreceding:
		lo = 0
	case OffsetPreceding:
		lo = i - int(fr.StartOffset)
	case CurrentRow:
		lo = peerStart
	case OffsetFollowing:
		lo = i + int(fr.StartOffset)
	case UnboundedFollowing:
		lo = n
	}
	switch fr.End {
	case UnboundedFollowing:
		hi = n
	case OffsetFollowing:
		hi = i + int(fr.EndOffset) + 1
	case CurrentRow:
		hi = peerEnd
	case OffsetPreceding:
		hi = i - int(fr.EndOffset) + 1
	case UnboundedPreceding:
		hi = 0
	}
	return max(lo, 0), min(hi, n)
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
	case "count":
		c := int64(0)
		for p := lo; p < hi; p++ {
			if len(args) == 0 || argAt(args, 0, rows[p]) != nil {
				c++
			}
		}
		return c, nil
	case "min", "max":
		var best types.Datum
		for p := lo; p < hi; p++ {
			v := argAt(args, 0, rows[p])
			if v == nil {
				continue
			}
			c := 0
			if best != nil {
				c = CompareDatums(f.T, v, best)
			}
			if best == nil || (f.Name == "min" && c < 0) || (f.Name == "max" && c > 0) {
				best = v
			}
		}
		return best, nil
	case "sum", "avg":
		return sumFrame(f, args, rows, lo, hi)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "window function %s is not supported", f.Name)
}

func sumFrame(f WindowFunc, args []arrow.Array, rows []int, lo, hi int) (types.Datum, error) {
	argT := f.Args[0].Type()
	total := new(big.Rat)
	var fsum float64
	count := 0
	for p := lo; p < hi; p++ {
		v := argAt(args, 0, rows[p])
		switch x := v.(type) {
		case nil:
			continue
		case int64:
			total.Add(total, new(big.Rat).SetInt64(x))
		case float64:
			fsum += x
		case decimal128.Num:
			total.Add(total, types.NumericToRat(x, argT.Scale))
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s over %s in a window is not supported", f.Name, argT)
		}
		count++
	}
	if count == 0 {
		return nil, nil
	}
	if f.T.IsFloat() {
		if f.Name == "avg" {
			return fsum / float64(count), nil
		}
		return fsum, nil
	}
	if f.Name == "avg" {
		total.Quo(total, new(big.Rat).SetInt64(int64(count)))
	}
	if f.T.IsInteger() {
		if !total.IsInt() || !total.Num().IsInt64() {
			return nil, types.OutOfRange(f.T)
		}
		return total.Num().Int64(), nil
	}
	return types.RatToNumeric(total, f.T)
}

func (fr Frame) hasRangeOffset() bool {
	return !fr.Rows && (fr.Start == OffsetPreceding || fr.Start == OffsetFollowing ||
		fr.End == OffsetPreceding || fr.End == OffsetFollowing)
}

// rangeOffsetBounds narrows a RANGE frame whose ends are `n PRECEDING` or
// `n FOLLOWING`: they are values of the single ORDER BY key, not row
// counts. Rows with a NULL key frame just their NULL peers.
func rangeOffsetBounds(fr Frame, i int, keys []types.Datum, desc bool, lo, hi int) (int, int) {
	cur, ok := numberOf(keys[i])
	if !ok {
		lo, hi = i, i+1
		for lo > 0 && keys[lo-1] == nil {
			lo--
		}
		for hi < len(keys) && keys[hi] == nil {
			hi++
		}
		return lo, hi
	}
	// dir turns "preceding" into "smaller" for ascending order.
	dir := 1.0
	if desc {
		dir = -1
	}
	inFromStart := func(p int, limit float64) bool {
		v, ok := numberOf(keys[p])
		return ok && dir*(v-limit) >= 0
	}
	inToEnd := func(p int, limit float64) bool {
		v, ok := numberOf(keys[p])
		return ok && dir*(v-limit) <= 0
	}
	switch fr.Start {
	case OffsetPreceding, OffsetFollowing:
		off := float64(fr.StartOffset)
		if fr.Start == OffsetPreceding {
			off = -off
		}
		limit := cur + dir*off
		lo = 0
		for lo < len(keys) && !inFromStart(lo, limit) {
			lo++
		}
	}
	switch fr.End {
	case OffsetPreceding, OffsetFollowing:
		off := float64(fr.EndOffset)
		if fr.End == OffsetPreceding {
			off = -off
		}
		limit := cur + dir*off
		hi = len(keys)
		for hi > 0 && !inToEnd(hi-1, limit) {
			hi--
		}
	}
	return lo, hi
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
