package exec

import (
	"math"
	"math/big"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// Window frames are computed for a whole sorted partition at once: first
// every position's frame as [lo, hi), then each aggregate over all frames
// in O(n) or O(n log n) (prefix sums, running sums, a monotonic deque),
// never by re-reading each frame row by row.

// peerSpans returns, per position, where its peer group starts and ends.
func peerSpans(peer []int) (start, end []int) {
	n := len(peer)
	start, end = make([]int, n), make([]int, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && peer[j] == peer[i] {
			j++
		}
		for p := i; p < j; p++ {
			start[p], end[p] = i, j
		}
		i = j
	}
	return start, end
}

// frameSpans returns the frame [lo[i], hi[i]) of every position of a sorted
// partition; peer holds the peer group ids, keys the single ORDER BY key's
// values when the frame is RANGE with an offset. Empty frames have lo == hi.
func frameSpans(fr Frame, peer []int, keys []types.Datum, desc bool) (lo, hi []int) {
	n := len(peer)
	peerStart, peerEnd := peerSpans(peer)
	lo, hi = make([]int, n), make([]int, n)
	var groupStart, groupEnd []int // by peer group id, for GROUPS offsets
	if fr.Groups {
		for i := 0; i < n; i++ {
			if i == 0 || peer[i] != peer[i-1] {
				groupStart = append(groupStart, peerStart[i])
				groupEnd = append(groupEnd, peerEnd[i])
			}
		}
	}
	var rk *rangeKeys
	if keys != nil && !fr.Rows && !fr.Groups {
		rk = newRangeKeys(keys, desc)
	}
	for i := 0; i < n; i++ {
		cur, curEnd := peerStart[i], peerEnd[i]
		if fr.Rows {
			cur, curEnd = i, i+1
		}
		l, h := 0, n
		switch fr.Start {
		case OffsetPreceding, OffsetFollowing:
			off := fr.StartOffset
			if fr.Start == OffsetPreceding {
				off = -off
			}
			switch {
			case fr.Rows:
				l = clampPos(satAdd(int64(i), off), n)
			case fr.Groups:
				g := satAdd(int64(peer[i]), off)
				switch {
				case g < 0:
					l = 0
				case g >= int64(len(groupStart)):
					l = n
				default:
					l = groupStart[g]
				}
			case rk != nil:
				l = rk.start(i, cur, off)
			}
		case CurrentRow:
			l = cur
		case UnboundedFollowing:
			l = n
		}
		switch fr.End {
		case OffsetPreceding, OffsetFollowing:
			off := fr.EndOffset
			if fr.End == OffsetPreceding {
				off = -off
			}
			switch {
			case fr.Rows:
				h = clampPos(satAdd(satAdd(int64(i), off), 1), n)
			case fr.Groups:
				g := satAdd(int64(peer[i]), off)
				switch {
				case g < 0:
					h = 0
				case g >= int64(len(groupEnd)):
					h = n
				default:
					h = groupEnd[g]
				}
			case rk != nil:
				h = rk.end(i, curEnd, off)
			}
		case CurrentRow:
			h = curEnd
		case UnboundedPreceding:
			h = 0
		}
		lo[i], hi[i] = l, max(h, l)
	}
	return lo, hi
}

// satAdd adds without wrapping: offsets may be as large as int64 allows.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

func clampPos(p int64, n int) int {
	return int(min(max(p, 0), int64(n)))
}

// rangeKeys finds RANGE offset bounds by binary search over the non-NULL
// keys of a partition, which are sorted and sit in one run (NULLs come all
// first or all last).
type rangeKeys struct {
	keys         []types.Datum
	nums         []float64
	nnLo, nnHi   int // the run of non-NULL keys
	dir          float64
	nullsPresent bool
}

func newRangeKeys(keys []types.Datum, desc bool) *rangeKeys {
	rk := &rangeKeys{keys: keys, nums: make([]float64, len(keys)), dir: 1, nnLo: -1}
	if desc {
		rk.dir = -1
	}
	for p, k := range keys {
		v, ok := numberOf(k)
		if !ok {
			rk.nullsPresent = true
			continue
		}
		rk.nums[p] = v
		if rk.nnLo < 0 {
			rk.nnLo = p
		}
		rk.nnHi = p + 1
	}
	if rk.nnLo < 0 {
		rk.nnLo, rk.nnHi = 0, 0
	}
	return rk
}

// start is the first position whose key is at or after cur+off in the
// sort direction; a row with a NULL key starts its frame at its peers.
func (rk *rangeKeys) start(i, peerStart int, off int64) int {
	if _, ok := numberOf(rk.keys[i]); !ok {
		return peerStart
	}
	limit := rk.nums[i] + rk.dir*float64(off)
	return rk.nnLo + sort.Search(rk.nnHi-rk.nnLo, func(j int) bool {
		return rk.dir*(rk.nums[rk.nnLo+j]-limit) >= 0
	})
}

// end is one past the last position whose key is at or before cur+off.
func (rk *rangeKeys) end(i, peerEnd int, off int64) int {
	if _, ok := numberOf(rk.keys[i]); !ok {
		return peerEnd
	}
	limit := rk.nums[i] + rk.dir*float64(off)
	return rk.nnLo + sort.Search(rk.nnHi-rk.nnLo, func(j int) bool {
		return rk.dir*(rk.nums[rk.nnLo+j]-limit) > 0
	})
}

// monotone reports whether both frame ends never move backwards, which
// lets a sliding window add rows at its end and drop them at its start.
func monotone(lo, hi []int) bool {
	for i := 1; i < len(lo); i++ {
		if lo[i] < lo[i-1] || hi[i] < hi[i-1] {
			return false
		}
	}
	return true
}

// fastFrameAggregate computes count, sum, avg, min or max over every frame
// of a partition. It reports false when the argument type has no fast
// routine here, and the caller takes the general path.
func fastFrameAggregate(f WindowFunc, args []arrow.Array, rows, lo, hi []int, out []types.Datum) (bool, error) {
	switch f.Name {
	case "count":
		countFrames(args, rows, lo, hi, out)
		return true, nil
	case "min", "max":
		minMaxFrames(f, args, rows, lo, hi, out)
		return true, nil
	case "bool_and", "every", "bool_or":
		b, ok := args[0].(*array.Boolean)
		if !ok || len(args) != 1 {
			return false, nil
		}
		boolFrames(f.Name == "bool_or", b, rows, lo, hi, out)
		return true, nil
	case "sum", "avg":
		if len(args) != 1 {
			return false, nil
		}
		switch a := args[0].(type) {
		case *array.Float32, *array.Float64:
			floatSumFrames(f, a, rows, lo, hi, out)
			return true, nil
		case *array.Int16, *array.Int32, *array.Int64, *array.Decimal128:
			return true, exactSumFrames(f, a, rows, lo, hi, out)
		}
	}
	return false, nil
}

// countFrames counts non-NULL arguments (or rows, for count(*)) from a
// prefix count.
func countFrames(args []arrow.Array, rows, lo, hi []int, out []types.Datum) {
	prefix := make([]int64, len(rows)+1)
	for p, r := range rows {
		prefix[p+1] = prefix[p]
		if len(args) == 0 || !args[0].IsNull(r) {
			prefix[p+1]++
		}
	}
	for i, r := range rows {
		out[r] = prefix[hi[i]] - prefix[lo[i]]
	}
}

// boolFrames computes bool_and (every) or bool_or from prefix counts of
// true and false values: NULL for a frame without either.
func boolFrames(or bool, arg *array.Boolean, rows, lo, hi []int, out []types.Datum) {
	trues, falses := make([]int32, len(rows)+1), make([]int32, len(rows)+1)
	for p, r := range rows {
		trues[p+1], falses[p+1] = trues[p], falses[p]
		switch {
		case arg.IsNull(r):
		case arg.Value(r):
			trues[p+1]++
		default:
			falses[p+1]++
		}
	}
	for i, r := range rows {
		t, f := trues[hi[i]]-trues[lo[i]], falses[hi[i]]-falses[lo[i]]
		switch {
		case t+f == 0:
			out[r] = nil
		case or:
			out[r] = t > 0
		default:
			out[r] = f == 0
		}
	}
}

// minMaxFrames keeps a deque of positions whose values are candidates for
// the frame's extreme (each better than every later one) when the frames
// slide forward, and scans each frame otherwise.
func minMaxFrames(f WindowFunc, args []arrow.Array, rows, lo, hi []int, out []types.Datum) {
	vals := make([]types.Datum, len(rows))
	for p, r := range rows {
		vals[p] = DatumAt(args[0], r)
	}
	// better reports whether a should replace b as the frame's extreme.
	better := func(a, b types.Datum) bool {
		c := CompareDatums(f.T, a, b)
		if f.Name == "min" {
			return c < 0
		}
		return c > 0
	}
	if !monotone(lo, hi) {
		for i, r := range rows {
			var best types.Datum
			for p := lo[i]; p < hi[i]; p++ {
				if vals[p] != nil && (best == nil || better(vals[p], best)) {
					best = vals[p]
				}
			}
			out[r] = best
		}
		return
	}
	deque := make([]int, 0, 16)
	next := 0 // the first position not yet offered to the deque
	for i, r := range rows {
		for ; next < hi[i]; next++ {
			if vals[next] == nil {
				continue
			}
			for len(deque) > 0 && !better(vals[deque[len(deque)-1]], vals[next]) {
				deque = deque[:len(deque)-1]
			}
			deque = append(deque, next)
		}
		for len(deque) > 0 && deque[0] < lo[i] {
			deque = deque[1:]
		}
		if len(deque) == 0 {
			out[r] = nil
		} else {
			out[r] = vals[deque[0]]
		}
	}
}

// floatSumFrames adds floats in row order from each frame's start, as
// PostgreSQL does (it has no inverse transition for floats, so rounding
// depends on the order): frames sharing their start extend one running sum.
func floatSumFrames(f WindowFunc, arr arrow.Array, rows, lo, hi []int, out []types.Datum) {
	vals := make([]float64, len(rows))
	valid := make([]bool, len(rows))
	for p, r := range rows {
		if !arr.IsNull(r) {
			valid[p] = true
			vals[p] = floatAt(arr, r)
		}
	}
	sum, count, from, to := 0.0, 0, -1, -1
	for i, r := range rows {
		if lo[i] != from || hi[i] < to {
			sum, count, from, to = 0, 0, lo[i], lo[i]
		}
		for ; to < hi[i]; to++ {
			if valid[to] {
				sum += vals[to]
				count++
			}
		}
		switch {
		case count == 0:
			out[r] = nil
		case f.Name == "avg":
			out[r] = sum / float64(count)
		default:
			out[r] = sum
		}
	}
}

func floatAt(arr arrow.Array, i int) float64 {
	if a, ok := arr.(*array.Float32); ok {
		return float64(a.Value(i))
	}
	return arr.(*array.Float64).Value(i)
}

// exactSumFrames sums integers or decimals (as unscaled integers) exactly
// from prefix sums: int64 while they fit, big.Int once one would overflow.
func exactSumFrames(f WindowFunc, arr arrow.Array, rows, lo, hi []int, out []types.Datum) error {
	n := len(rows)
	counts := make([]int64, n+1)
	small := make([]int64, n+1)
	var wide []*big.Int // prefix sums once int64 is not enough
	for p, r := range rows {
		counts[p+1], small[p+1] = counts[p], small[p]
		if wide != nil {
			wide[p+1] = wide[p]
		}
		if arr.IsNull(r) {
			continue
		}
		counts[p+1]++
		v, fits := smallValue(arr, r)
		if wide == nil && fits {
			if s, ok := addFits(small[p], v); ok {
				small[p+1] = s
				continue
			}
		}
		if wide == nil {
			wide = make([]*big.Int, n+1)
			for q := 0; q <= p; q++ {
				wide[q] = big.NewInt(small[q])
			}
		}
		wide[p+1] = new(big.Int).Add(wide[p], bigValue(arr, r))
	}
	scale := int32(0)
	if t := f.Args[0].Type(); t.Kind == types.Numeric {
		scale = t.Scale
	}
	for i, r := range rows {
		count := counts[hi[i]] - counts[lo[i]]
		if count == 0 {
			out[r] = nil
			continue
		}
		var sum *big.Int
		if wide != nil {
			sum = new(big.Int).Sub(wide[hi[i]], wide[lo[i]])
		} else if d, ok := subFits(small[hi[i]], small[lo[i]]); ok && f.Name == "sum" {
			v, err := int64Sum(f.T, d, scale)
			if err != nil {
				return err
			}
			out[r] = v
			continue
		} else {
			sum = new(big.Int).Sub(big.NewInt(small[hi[i]]), big.NewInt(small[lo[i]]))
		}
		v, err := finishExactSum(f, sum, count, scale)
		if err != nil {
			return err
		}
		out[r] = v
	}
	return nil
}

func addFits(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

func subFits(a, b int64) (int64, bool) {
	d := a - b
	if (b < 0 && d < a) || (b > 0 && d > a) {
		return 0, false
	}
	return d, true
}

// int64Sum turns a sum that fits int64 into the result type's value.
func int64Sum(t types.T, sum int64, scale int32) (types.Datum, error) {
	if t.IsInteger() {
		return sum, nil
	}
	if t.Scale == scale {
		return decimal128.FromI64(sum), nil
	}
	return types.RatToNumeric(new(big.Rat).SetFrac(big.NewInt(sum), pow10(scale)), t)
}

// finishExactSum turns an unscaled sum of count values into sum's or avg's
// result.
func finishExactSum(f WindowFunc, sum *big.Int, count int64, scale int32) (types.Datum, error) {
	den := pow10(scale)
	if f.Name == "avg" {
		den.Mul(den, big.NewInt(count))
	}
	total := new(big.Rat).SetFrac(sum, den)
	if f.T.IsInteger() {
		if !total.IsInt() || !total.Num().IsInt64() {
			return nil, types.OutOfRange(f.T)
		}
		return total.Num().Int64(), nil
	}
	return types.RatToNumeric(total, f.T)
}

func pow10(scale int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
}

// smallValue reads an integer or a decimal's unscaled value when it fits
// int64.
func smallValue(arr arrow.Array, i int) (int64, bool) {
	switch a := arr.(type) {
	case *array.Int16:
		return int64(a.Value(i)), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int64:
		return a.Value(i), true
	case *array.Decimal128:
		v := a.Value(i)
		lo, hi := v.LowBits(), v.HighBits()
		if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
			return int64(lo), true
		}
	}
	return 0, false
}

func bigValue(arr arrow.Array, i int) *big.Int {
	if a, ok := arr.(*array.Decimal128); ok {
		return a.Value(i).BigInt()
	}
	v, _ := smallValue(arr, i)
	return big.NewInt(v)
}
