package optimizer

import (
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/planner/logical"
)

// aggregateBeforeLeftJoin moves a GROUP BY that counts or sums the rows
// a LEFT JOIN matched below the join, when each group is one row of the
// join's left side (the group keys hold that side's primary key):
//
//	SELECT c_custkey, count(o_orderkey) FROM customer LEFT JOIN orders
//	  ON c_custkey = o_custkey GROUP BY c_custkey
//
// becomes customer LEFT JOIN (orders grouped by o_custkey) with the count
// made 0 where no order matched. TPC-H q13 then builds its hash table on
// 100 thousand order counts instead of 1.5 million orders and joins 150
// thousand rows instead of 1.5 million.
//
// It holds because a left row's group then holds exactly the right rows
// its key meets (none: one row of NULLs), which the aggregate below
// groups by the right key. An aggregate over that one row of NULLs must
// be what a missing group gives, NULL, or count's 0: so only count, sum,
// avg, min, max, bool_and, bool_or and every of plain right-side columns
// qualify (count(*) counts the NULL row; coalesce(x, 0) makes a value of
// it).
func aggregateBeforeLeftJoin(p logical.Plan) logical.Plan {
	return transformUp(p, func(p logical.Plan) logical.Plan {
		a, ok := p.(*logical.Aggregate)
		if !ok {
			return p
		}
		if out, ok := eagerAggregate(a); ok {
			return out
		}
		return p
	})
}

// nullIgnoringAggs are the aggregates that give NULL over rows whose
// argument is NULL, and over no rows; count gives 0 for both.
var nullIgnoringAggs = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "every": true,
}

func eagerAggregate(a *logical.Aggregate) (logical.Plan, bool) {
	j, ok := a.Input.(*logical.Join)
	if !ok || j.Kind != logical.LeftJoin || j.Cond != nil || len(j.LeftKeys) == 0 || len(a.Groups) == 0 {
		return nil, false
	}
	lset, rset := idSet(j.Left.Columns()), idSet(j.Right.Columns())
	universe := idSet(append(j.Left.Columns(), j.Right.Columns()...))
	var rightKeys []logical.Expr
	for _, k := range j.RightKeys {
		ref, ok := k.(*logical.ColRef)
		if !ok || !rset[ref.Col.ID] {
			return nil, false
		}
		rightKeys = append(rightKeys, ref)
	}
	for _, g := range a.Groups {
		if !within(g, lset, universe) {
			return nil, false
		}
	}
	if !groupsHoldKey(a.Groups, j.Left) {
		return nil, false
	}
	for _, agg := range a.Aggs {
		if !pushableAgg(agg, rset, universe) {
			return nil, false
		}
	}
	// below the join: the right side grouped by its join keys, the
	// aggregates keeping their column ids
	nGroups := len(a.Groups)
	var keyCols []logical.Column
	for _, k := range rightKeys {
		keyCols = append(keyCols, k.(*logical.ColRef).Col)
	}
	aggCols := a.Cols[nGroups:]
	below := &logical.Aggregate{Input: j.Right, Groups: rightKeys, Aggs: a.Aggs,
		Cols: append(append([]logical.Column{}, keyCols...), aggCols...)}
	join := &logical.Join{Kind: logical.LeftJoin, Left: j.Left, Right: below, LeftKeys: j.LeftKeys, RightKeys: j.RightKeys}
	// above: one row per left row already, so the group keys and the
	// aggregates' values are projected (count's NULL made 0)
	exprs := append([]logical.Expr{}, a.Groups...)
	for i, agg := range a.Aggs {
		var e logical.Expr = &logical.ColRef{Col: aggCols[i]}
		if agg.Name == "count" {
			e = &logical.Coalesce{Args: []logical.Expr{e, &logical.Const{Value: int64(0), T: agg.T}}, T: agg.T}
		}
		exprs = append(exprs, e)
	}
	return &logical.Project{Input: join, Exprs: exprs, Cols: a.Cols}, true
}

// pushableAgg reports whether agg gives over a left row's matched right
// rows, computed below the join, what it gives above it.
func pushableAgg(agg *logical.AggCall, rset, universe map[logical.ColumnID]bool) bool {
	if !nullIgnoringAggs[agg.Name] || len(agg.Args) != 1 {
		return false
	}
	if ref, ok := agg.Args[0].(*logical.ColRef); !ok || !rset[ref.Col.ID] {
		return false
	}
	if agg.Filter != nil && (!within(agg.Filter, rset, universe) || logical.HasSubquery(agg.Filter)) {
		return false
	}
	for _, k := range agg.OrderBy {
		if !within(k.Expr, rset, universe) {
			return false
		}
	}
	return true
}

// groupsHoldKey reports whether the group keys include every column of a
// key of p's table whose columns are all NOT NULL (a primary key), so
// that no two rows of p fall into one group; p is a scan of the table,
// possibly filtered.
func groupsHoldKey(groups []logical.Expr, p logical.Plan) bool {
	for {
		f, ok := p.(*logical.Filter)
		if !ok {
			break
		}
		p = f.Input
	}
	scan, ok := p.(*logical.Scan)
	if !ok {
		return false
	}
	grouped := map[int]bool{} // table column ordinals among the keys
	for _, g := range groups {
		ref, ok := g.(*logical.ColRef)
		if !ok {
			continue
		}
		for i, c := range scan.Cols {
			if c.ID == ref.Col.ID {
				grouped[scan.Ords[i]] = true
			}
		}
	}
	for _, k := range scan.Table.Keys {
		if coversNotNullKey(scan.Table, k, grouped) {
			return true
		}
	}
	return false
}

func coversNotNullKey(t *catalog.Table, k catalog.Key, grouped map[int]bool) bool {
	if k.NonUnique || len(k.Columns) == 0 {
		return false
	}
	for _, c := range k.Columns {
		if !grouped[c] || (!k.Primary && !t.Columns[c].NotNull) {
			return false
		}
	}
	return true
}
