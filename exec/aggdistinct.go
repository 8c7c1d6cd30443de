package exec

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// distinctAcc feeds each distinct argument tuple of a group to its inner
// accumulator once, at Finish. The distinct tuples live in a keyHashTable
// keyed by (group, arguments…), or by the arguments alone when the
// aggregation has no GROUP BY: a batch is hashed and placed column by
// column, with no Go map entry, string or datum per value.
type distinctAcc struct {
	inner    Accumulator
	argTypes []types.T
	// grouped: the table's first key is the group; without GROUP BY every
	// row is group 0 and the key is the arguments alone
	grouped bool
	// sorted: the inner aggregate must see each group's values in
	// ascending order, as PostgreSQL's sort-based DISTINCT delivers them
	// (string_agg, array_agg, a float sum whose rounding depends on it)
	sorted  bool
	keyTs   []types.T
	table   *keyHashTable // nil until the first row
	scratch hashScratch
	ids     []uint32
	ec      *EvalContext // of the first Update, for the table and Merge
}

func newDistinctAcc(inner Accumulator, a AggSpec, grouped bool) *distinctAcc {
	d := &distinctAcc{inner: inner, argTypes: exprTypes(a.Args), grouped: grouped}
	d.sorted = !orderFree[a.Name] || (a.Name != "count" && !dupFree[a.Name] && slices.ContainsFunc(d.argTypes, isFloat))
	if grouped {
		d.keyTs = append(d.keyTs, types.Int8T)
	}
	d.keyTs = append(d.keyTs, d.argTypes...)
	return d
}

func isFloat(t types.T) bool { return t.Kind == types.Float4 || t.Kind == types.Float8 }

// heldBytes is what the distinct tuples hold, as charged to the statement
// (stateBytes).
func (d *distinctAcc) heldBytes() int64 {
	if d.table == nil {
		return 0
	}
	return d.table.charged
}

func (d *distinctAcc) ensureTable(ec *EvalContext) {
	if d.table != nil {
		return
	}
	d.ec = ec
	classes := make([]keyClass, len(d.keyTs))
	for i, t := range d.keyTs {
		classes[i] = classOf(t)
	}
	d.table = newKeyHashTable(ec, classes, d.keyTs)
}

func (d *distinctAcc) Update(ec *EvalContext, groups []uint32, _ int, args []arrow.Array) error {
	if len(groups) == 0 {
		return nil
	}
	d.ensureTable(ec)
	d.insert(ec.Mem, groups, args)
	return nil
}

// insert adds the tuples (groups[i], args…[i]) the table does not hold.
func (d *distinctAcc) insert(mem memory.Allocator, groups []uint32, args []arrow.Array) {
	keys := args
	if d.grouped {
		g := groupColumn(mem, groups)
		defer g.Release()
		keys = append([]arrow.Array{g}, args...)
	}
	d.ids = d.table.groupIDs(&d.scratch, keys, d.keyTs, len(groups), true, true, d.ids)
}

// groupColumn is groups as an int8 array.
func groupColumn(mem memory.Allocator, groups []uint32) arrow.Array {
	buf, vals := allocFixed[int64](mem, len(groups))
	for i, g := range groups {
		vals[i] = int64(g)
	}
	return makeArray(arrow.PrimitiveTypes.Int64, len(groups), nil, buf, 0)
}

func (d *distinctAcc) Merge(o Accumulator, mapping []uint32, _ int) {
	other := o.(*distinctAcc)
	if other.table == nil || other.table.n == 0 {
		return
	}
	d.ensureTable(other.ec)
	keys := other.table.keyArrays(d.ec.Mem, d.keyTs)
	defer releaseAll(keys)
	n := other.table.n
	groups := make([]uint32, n)
	if d.grouped {
		for i, g := range keys[0].(*array.Int64).Int64Values() {
			groups[i] = mapping[g]
		}
		keys = keys[1:]
	}
	d.insert(d.ec.Mem, groups, keys)
}

func (d *distinctAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	if d.table != nil && d.table.n > 0 {
		if err := d.feedInner(ec, ng); err != nil {
			return nil, err
		}
	}
	return d.inner.Finish(ec, ng)
}

// feedInner hands the distinct tuples to the inner accumulator.
func (d *distinctAcc) feedInner(ec *EvalContext, ng int) error {
	keys := d.table.keyArrays(ec.Mem, d.keyTs)
	defer releaseAll(keys)
	n := d.table.n
	groups := make([]uint32, n)
	args := keys
	if d.grouped {
		for i, g := range keys[0].(*array.Int64).Int64Values() {
			groups[i] = uint32(g)
		}
		args = keys[1:]
	}
	if !d.sorted {
		return d.inner.Update(ec, groups, ng, args)
	}
	sortedArgs, sortedGroups := d.sortTuples(ec, groups, args)
	defer releaseAll(sortedArgs)
	return d.inner.Update(ec, sortedGroups, ng, sortedArgs)
}

// sortTuples orders the tuples by group, then by value ascending with
// NULLs last. Only order-sensitive aggregates take this path.
func (d *distinctAcc) sortTuples(ec *EvalContext, groups []uint32, args []arrow.Array) ([]arrow.Array, []uint32) {
	rows := make([][]types.Datum, len(groups))
	for i := range rows {
		rows[i] = make([]types.Datum, len(args))
		for j, a := range args {
			rows[i][j] = DatumAt(a, i)
		}
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		if groups[x] != groups[y] {
			if groups[x] < groups[y] {
				return -1
			}
			return 1
		}
		return compareRows(d.argTypes, rows[x], rows[y])
	})
	builders := make([]array.Builder, len(args))
	for j, t := range d.argTypes {
		builders[j] = newBuilder(ec, t)
		defer builders[j].Release()
	}
	outGroups := make([]uint32, len(order))
	for k, i := range order {
		for j, v := range rows[i] {
			AppendDatum(builders[j], v)
		}
		outGroups[k] = groups[i]
	}
	out := make([]arrow.Array, len(builders))
	for j, b := range builders {
		out[j] = b.NewArray()
	}
	return out, outGroups
}

// Release gives back the table and what the wrapped accumulator holds.
func (d *distinctAcc) Release() {
	if d.table != nil {
		d.table.release()
		d.table = nil
	}
	if r, ok := d.inner.(ReleasingAccumulator); ok {
		r.Release()
	}
}
