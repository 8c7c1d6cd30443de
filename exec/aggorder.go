package exec

import (
	"encoding/binary"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// orderedAcc serves agg(args ORDER BY keys): it keeps each group's rows
// (arguments and keys), and at Finish sorts them and feeds the arguments
// to the inner accumulator in that order. With DISTINCT, equal argument
// tuples reach it once (PostgreSQL requires the keys to be arguments then).
type orderedAcc struct {
	inner    Accumulator
	nargs    int
	argTypes []types.T
	keys     []SortKey
	distinct bool
	rows     [][][]types.Datum // per group: args then keys
	held     int64             // estimated bytes of rows (stateBytes)
}

func (o *orderedAcc) heldBytes() int64 { return o.held }

// datumBytes estimates what a value kept as a Datum holds.
func datumBytes(d types.Datum) int64 {
	if s, ok := d.(string); ok {
		return 16 + int64(len(s))
	}
	return 16
}

func newOrderedAcc(inner Accumulator, a AggSpec) *orderedAcc {
	return &orderedAcc{inner: inner, nargs: len(a.Args), argTypes: exprTypes(a.Args), keys: a.OrderBy, distinct: a.Distinct}
}

func (o *orderedAcc) Update(_ *EvalContext, groups []uint32, ng int, cols []arrow.Array) error {
	o.rows = grow[[][]types.Datum](o.rows, ng, nil)
	for i, g := range groups {
		row := make([]types.Datum, len(cols))
		o.held += 24
		for j, c := range cols {
			row[j] = DatumAt(c, i)
			o.held += datumBytes(row[j])
		}
		o.rows[g] = append(o.rows[g], row)
	}
	return nil
}

func (o *orderedAcc) Merge(other Accumulator, mapping []uint32, ng int) {
	o.rows = grow[[][]types.Datum](o.rows, ng, nil)
	o.held += other.(*orderedAcc).held
	for g, rows := range other.(*orderedAcc).rows {
		o.rows[mapping[g]] = append(o.rows[mapping[g]], rows...)
	}
}

// compare orders two rows by the keys, as ORDER BY would.
func (o *orderedAcc) compare(a, b []types.Datum) int {
	for k, key := range o.keys {
		x, y := a[o.nargs+k], b[o.nargs+k]
		var c int
		switch {
		case x == nil && y == nil:
			continue
		case x == nil || y == nil:
			// a NULL goes first exactly when NullsFirst, whatever the direction
			if (x == nil) == key.NullsFirst {
				return -1
			}
			return 1
		default:
			c = CompareDatums(key.Expr.Type(), x, y)
		}
		if key.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (o *orderedAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	o.rows = grow[[][]types.Datum](o.rows, ng, nil)
	builders := make([]array.Builder, o.nargs)
	for i, t := range o.argTypes {
		builders[i] = newBuilder(ec, t)
		defer builders[i].Release()
	}
	var groups []uint32
	for g, rows := range o.rows {
		slices.SortStableFunc(rows, o.compare)
		if o.distinct {
			rows = o.dedupe(rows)
		}
		for _, row := range rows {
			for j := 0; j < o.nargs; j++ {
				AppendDatum(builders[j], row[j])
			}
			groups = append(groups, uint32(g))
		}
		if err := ec.Ctx.Err(); err != nil {
			return nil, err
		}
	}
	args := make([]arrow.Array, o.nargs)
	for i, b := range builders {
		args[i] = b.NewArray()
	}
	defer releaseAll(args)
	if err := o.inner.Update(ec, groups, ng, args); err != nil {
		return nil, err
	}
	return o.inner.Finish(ec, ng)
}

// dedupe keeps the first row of each distinct argument tuple (NULLs
// equal each other here; a strict inner aggregate skips them).
func (o *orderedAcc) dedupe(rows [][]types.Datum) [][]types.Datum {
	seen := map[string]bool{}
	var out [][]types.Datum
	var key []byte
	for _, r := range rows {
		key = key[:0]
		for j := 0; j < o.nargs; j++ {
			if r[j] == nil {
				key = append(key, 0)
				continue
			}
			v := types.Format(o.argTypes[j], r[j])
			key = append(key, 1)
			key = binary.AppendUvarint(key, uint64(len(v)))
			key = append(key, v...)
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		out = append(out, r)
	}
	return out
}

// Release gives back what the wrapped accumulator holds.
func (o *orderedAcc) Release() {
	if r, ok := o.inner.(ReleasingAccumulator); ok {
		r.Release()
	}
}
