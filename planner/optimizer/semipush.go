package optimizer

import "github.com/weftdb/weft/planner/logical"

// pushDownSemiJoins moves a semi or anti join whose condition reads the
// columns of one input of an inner join below (or of the preserved side
// of a left join) down to that input: it keeps or drops each row of that
// input alone, so the rows of the join above are the same, and filtering
// before the join saves building or probing rows that would be dropped.
// TPC-H q18's o_orderkey IN (…57 orders…) filtered the join of 6M
// lineitems with their orders and customers; moved onto orders, it leaves
// 57 orders to join. It moves only into an input estimated to have no
// more rows than the join: below a join that drops rows (q21's lineitems
// of one nation's suppliers) the semi join would test more rows.
func pushDownSemiJoins(p logical.Plan) logical.Plan {
	est := logical.NewEstimator()
	return transformUp(p, func(p logical.Plan) logical.Plan {
		j, ok := p.(*logical.Join)
		if !ok || !filtersLeft(j) {
			return p
		}
		return sinkSemiJoin(est, j)
	})
}

// filtersLeft reports whether j is a semi or anti join given by its
// condition alone (a NOT IN's null-aware anti join keeps its keys apart).
func filtersLeft(j *logical.Join) bool {
	return (j.Kind == logical.SemiJoin || j.Kind == logical.AntiJoin) && len(j.LeftKeys) == 0 && j.Cond != nil &&
		!logical.HasSubquery(j.Cond) && !logical.IsVolatile(j.Cond)
}

// sinkSemiJoin moves semi as far down its left input as the columns its
// condition reads there and the estimates allow, and returns the
// rewritten plan (with the columns of semi, in the same order).
func sinkSemiJoin(est *logical.Estimator, semi *logical.Join) logical.Plan {
	in, ok := semi.Left.(*logical.Join)
	if !ok || len(in.LeftKeys) > 0 || (in.Kind != logical.InnerJoin && in.Kind != logical.LeftJoin) {
		return semi
	}
	used := leftColumnsUsed(semi)
	rows := est.Rows(in)
	n := *in
	switch {
	case subsetIDs(used, idSet(in.Left.Columns())) && est.Rows(in.Left) <= rows:
		n.Left = sinkSemiJoin(est, withLeft(semi, in.Left))
	case in.Kind == logical.InnerJoin && subsetIDs(used, idSet(in.Right.Columns())) && est.Rows(in.Right) <= rows:
		n.Right = sinkSemiJoin(est, withLeft(semi, in.Right))
	default:
		// a filter below stays below too: it is cheaper than the semi
		// join and leaves it fewer rows
		return semi
	}
	return &n
}

// leftColumnsUsed lists the columns of semi's left input its condition
// reads.
func leftColumnsUsed(semi *logical.Join) map[logical.ColumnID]bool {
	left := idSet(semi.Left.Columns())
	used := map[logical.ColumnID]bool{}
	for id := range logical.ColumnsUsed(semi.Cond) {
		if left[id] {
			used[id] = true
		}
	}
	return used
}

func withLeft(semi *logical.Join, left logical.Plan) *logical.Join {
	n := *semi
	n.Left = left
	return &n
}
