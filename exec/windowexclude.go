package exec

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// Frames with EXCLUDE are no longer one span of the sorted partition but up
// to three (before the excluded rows, the current row kept by EXCLUDE TIES,
// after them), so the prefix sums and sliding deques of frames without one
// do not apply: each frame's rows are aggregated afresh, in partition
// order, as PostgreSQL restarts its aggregates for such frames (the same
// order of float additions, hence the same rounding).

// framePieces returns the positions of the frame [lo, hi) of position i
// less what fr excludes; peerStart and peerEnd bound i's peer group.
func framePieces(fr Frame, i, lo, hi, peerStart, peerEnd int, buf []int) []int {
	buf = buf[:0]
	xlo, xhi := i, i+1 // the excluded span
	switch fr.Exclude {
	case ExcludeNoOthers:
		xlo, xhi = hi, hi
	case ExcludeGroup, ExcludeTies:
		xlo, xhi = peerStart, peerEnd
	}
	for p := lo; p < min(hi, xlo); p++ {
		buf = append(buf, p)
	}
	if fr.Exclude == ExcludeTies && i >= lo && i < hi {
		buf = append(buf, i)
	}
	for p := max(lo, xhi); p < hi; p++ {
		buf = append(buf, p)
	}
	return buf
}

// evalExcludingFrames computes an aggregate or first_value, last_value or
// nth_value over every position's frame less its exclusion.
func evalExcludingFrames(ec *EvalContext, f WindowFunc, rows, peer, lo, hi []int, args []arrow.Array, out []types.Datum) error {
	peerStart, peerEnd := peerSpans(peer)
	generic := f.NewAcc != nil && !windowOnlyFrame[f.Name]
	var pos, prevPos, idx []int
	var prev types.Datum
	for i, r := range rows {
		pos = framePieces(f.Frame, i, lo[i], hi[i], peerStart[i], peerEnd[i], pos)
		if i > 0 && slices.Equal(pos, prevPos) {
			out[r] = prev // peers of EXCLUDE GROUP share their frame
			continue
		}
		var v types.Datum
		var err error
		if generic {
			idx = idx[:0]
			for _, p := range pos {
				idx = append(idx, rows[p])
			}
			v, err = aggregateFrame(ec, f, args, idx)
		} else {
			v, err = pieceValue(f, args, rows, pos)
		}
		if err != nil {
			return err
		}
		out[r], prev = v, v
		prevPos = append(prevPos[:0], pos...)
	}
	return nil
}

// pieceValue is first_value, last_value or nth_value over the frame's
// positions pos.
func pieceValue(f WindowFunc, args []arrow.Array, rows, pos []int) (types.Datum, error) {
	k := 1
	switch f.Name {
	case "last_value":
		k = len(pos)
	case "nth_value":
		n, _ := argAt(args, 1, rows[0]).(int64)
		if n <= 0 {
			return frameValue(f, args, rows, 0, 0) // its error
		}
		k = int(min(n, int64(len(pos)+1)))
	}
	if k < 1 || k > len(pos) {
		return nil, nil
	}
	return argAt(args, 0, rows[pos[k-1]]), nil
}
