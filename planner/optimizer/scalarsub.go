package optimizer

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// nullOnEmpty lists the aggregates whose value over no rows is NULL, the
// value a left join gives a row without a group: a correlated subquery of
// them can be computed for all correlation values at once. count (0 over
// no rows) is handled by COALESCE; any other aggregate keeps the subquery.
var nullOnEmpty = map[string]bool{
	"sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "every": true,
	"stddev": true, "stddev_samp": true, "stddev_pop": true,
	"variance": true, "var_samp": true, "var_pop": true,
}

// decorrelateScalars rewrites correlated scalar aggregate subqueries in
// conds (conjuncts of a filter over input) and values (expressions over
// input's rows), such as x < (SELECT 0.2 * avg(q) FROM t WHERE t.k = outer.k)
// (TPC-H q17, q20), into a left join of input with the aggregate grouped
// by the correlation keys: the subquery runs once instead of once per
// distinct outer value. It returns the new input (input's columns followed
// by one column per rewritten subquery) and conds and values, in that
// order, reading those columns; the plan is input itself when nothing was
// rewritten.
func decorrelateScalars(input logical.Plan, conds, values []logical.Expr) (logical.Plan, []logical.Expr) {
	inputIDs := idSet(input.Columns())
	exprs := append(append([]logical.Expr{}, conds...), values...)
	out := make([]logical.Expr, len(exprs))
	for i, c := range exprs {
		var others []logical.Expr
		if i < len(conds) {
			others = append(append(others, conds[:i]...), conds[i+1:]...)
		} else {
			others = conds
		}
		out[i] = logical.ReplaceTopDown(c, func(x logical.Expr) (logical.Expr, bool) {
			sub, ok := x.(*logical.Subquery)
			if !ok || sub.Kind != exec.ScalarSubquery || len(sub.Outer) == 0 {
				return nil, false
			}
			for _, oc := range sub.Outer {
				if !inputIDs[oc.ID] {
					return nil, false // correlated with a query further out
				}
			}
			joined, value, ok := groupedScalar(input, others, sub)
			if !ok {
				return nil, false
			}
			input = joined
			return value, true
		})
	}
	return input, out
}

// decorrelateProject rewrites the correlated scalar aggregate subqueries of
// a select list, as decorrelateScalars does for conditions.
func decorrelateProject(pr *logical.Project) logical.Plan {
	input, exprs := decorrelateScalars(pr.Input, nil, pr.Exprs)
	if input == pr.Input {
		return pr
	}
	return &logical.Project{Input: input, Exprs: exprs, Cols: pr.Cols}
}

// groupedScalar builds input LEFT JOIN (the subquery's aggregate grouped by
// its correlation keys), with the subquery's value computed over the joined
// row, and returns that plan and a reference to the value column.
func groupedScalar(input logical.Plan, others []logical.Expr, sub *logical.Subquery) (logical.Plan, logical.Expr, bool) {
	outer := idSet(sub.Outer)
	value, valueCol, agg, ok := scalarOverAggregate(sub.Plan, outer)
	if !ok || valueCol.T != sub.T {
		return nil, nil, false
	}
	corr, ok := splitCorrelation(agg.Input, sub.Outer)
	if !ok || len(corr.residual) > 0 || len(corr.lkeys) == 0 {
		return nil, nil, false
	}
	var groupCols []logical.Column
	var cond []logical.Expr
	for i, rk := range corr.rkeys {
		ref, ok := rk.(*logical.ColRef)
		if !ok || !sameKeyType(corr.lkeys[i].Type(), rk.Type()) {
			return nil, nil, false
		}
		// the group column keeps the inner column's id: nothing above the
		// aggregate sees the inner column itself
		groupCols = append(groupCols, ref.Col)
		cond = append(cond, eqCall(corr.lkeys[i], &logical.ColRef{Col: ref.Col}))
	}
	aggInput := decorrelate(corr.inner)
	if red := keyReducer(input, others, corr.lkeys); red != nil {
		// aggregate only the groups some outer row asks for
		var semi []logical.Expr
		for i := range corr.lkeys {
			semi = append(semi, eqCall(corr.rkeys[i], corr.lkeys[i]))
		}
		aggInput = &logical.Join{Kind: logical.SemiJoin, Left: aggInput, Right: red, Cond: logical.JoinAnd(semi)}
	}
	grouped := &logical.Aggregate{
		Input:  aggInput,
		Groups: corr.rkeys,
		Aggs:   agg.Aggs,
		Cols:   append(groupCols, agg.Cols...),
	}
	join := &logical.Join{Kind: logical.LeftJoin, Left: input, Right: grouped, Cond: logical.JoinAnd(cond)}
	cols := append([]logical.Column{}, input.Columns()...)
	exprs := make([]logical.Expr, 0, len(cols)+1)
	for _, c := range cols {
		exprs = append(exprs, &logical.ColRef{Col: c})
	}
	exprs = append(exprs, value)
	cols = append(cols, valueCol)
	return &logical.Project{Input: join, Exprs: exprs, Cols: cols}, &logical.ColRef{Col: valueCol}, true
}

// scalarOverAggregate matches a subquery plan that computes one value from
// an aggregate without GROUP BY or HAVING: projections over an Aggregate.
// It returns the value as an expression over the aggregate's columns (a
// count wrapped in COALESCE(count, 0), so that a missing group gives what
// the aggregate gives over no rows), the subquery's output column, and the
// aggregate.
func scalarOverAggregate(p logical.Plan, outer map[logical.ColumnID]bool) (logical.Expr, logical.Column, *logical.Aggregate, bool) {
	var none logical.Column
	top, ok := p.(*logical.Project)
	if !ok || len(top.Exprs) != 1 {
		return nil, none, nil, false
	}
	value, valueCol := top.Exprs[0], top.Cols[0]
	cur := top.Input
	for {
		pr, ok := cur.(*logical.Project)
		if !ok {
			break
		}
		defs := map[logical.ColumnID]logical.Expr{}
		for i, c := range pr.Cols {
			defs[c.ID] = pr.Exprs[i]
		}
		value = substitute(value, defs)
		cur = pr.Input
	}
	agg, ok := cur.(*logical.Aggregate)
	if !ok || len(agg.Groups) > 0 || len(agg.Aggs) == 0 || !movableValue(value, outer) {
		return nil, none, nil, false
	}
	counts := map[logical.ColumnID]logical.Expr{}
	for i, a := range agg.Aggs {
		if aggHasOuter(a, outer) {
			return nil, none, nil, false
		}
		switch {
		case a.Name == "count":
			col := agg.Cols[i]
			counts[col.ID] = &logical.Coalesce{Args: []logical.Expr{&logical.ColRef{Col: col}, &logical.Const{Value: int64(0), T: col.T}}, T: col.T}
		case !nullOnEmpty[a.Name]:
			return nil, none, nil, false
		}
	}
	aggIDs := idSet(agg.Cols)
	for id := range logical.ColumnsUsed(value) {
		if !aggIDs[id] {
			return nil, none, nil, false
		}
	}
	return substitute(value, counts), valueCol, agg, true
}

// movableValue reports whether the subquery's value expression can be
// computed above the join instead: no outer reference, subquery or
// volatile call.
func movableValue(e logical.Expr, outer map[logical.ColumnID]bool) bool {
	return !hasOuter(e, outer) && !logical.HasSubquery(e) && !logical.IsVolatile(e)
}

func aggHasOuter(a *logical.AggCall, outer map[logical.ColumnID]bool) bool {
	es := append([]logical.Expr{}, a.Args...)
	for _, k := range a.OrderBy {
		es = append(es, k.Expr)
	}
	if a.Filter != nil {
		es = append(es, a.Filter)
	}
	for _, e := range es {
		if hasOuter(e, outer) {
			return true
		}
	}
	return false
}

// sameKeyType reports whether a hash join can match keys of these types
// as the subquery's = did (the binder casts mixed types to one).
func sameKeyType(a, b types.T) bool {
	return a == b
}

// keyReducer returns a plan whose rows include every combination of the
// outer keys' columns that input's rows (under the conditions others)
// have, and fewer than the whole table: a semi join with it lets the
// grouped aggregate skip groups no outer row reads (TPC-H q17 needs the
// average quantity of 0.1% of the parts). It is the part of input's inner
// joins that holds the keys, with the conditions on it alone; nil when
// there is none, or when it would be a whole table.
func keyReducer(input logical.Plan, others []logical.Expr, lkeys []logical.Expr) logical.Plan {
	keyCols := map[logical.ColumnID]bool{}
	for _, k := range lkeys {
		for id := range logical.ColumnsUsed(k) {
			keyCols[id] = true
		}
	}
	var leaves []logical.Plan
	innerLeaves(input, &leaves)
	for _, leaf := range leaves {
		cols := idSet(leaf.Columns())
		if !subsetIDs(keyCols, cols) {
			continue
		}
		if !plainRelation(leaf) || joinCount(leaf) > 1 {
			return nil // computing it again could cost more than it saves
		}
		var conds []logical.Expr
		for _, c := range others {
			used := logical.ColumnsUsed(c)
			if len(used) > 0 && subsetIDs(used, cols) && !logical.HasSubquery(c) && !logical.IsVolatile(c) {
				conds = append(conds, c)
			}
		}
		if _, bare := leaf.(*logical.Scan); bare && len(conds) == 0 {
			return nil
		}
		return wrap(leaf, conds)
	}
	return nil
}

func innerLeaves(p logical.Plan, out *[]logical.Plan) {
	if j, ok := p.(*logical.Join); ok && j.Kind == logical.InnerJoin {
		innerLeaves(j.Left, out)
		innerLeaves(j.Right, out)
		return
	}
	*out = append(*out, p)
}

// plainRelation reports whether p is built of scans, filters, projections
// and joins only, without subqueries or volatile calls: computing it a
// second time costs a scan and gives the same rows.
func plainRelation(p logical.Plan) bool {
	switch p.(type) {
	case *logical.Scan, *logical.Filter, *logical.Project, *logical.Join:
	default:
		return false
	}
	for _, e := range planExprs(p) {
		if logical.HasSubquery(e) || logical.IsVolatile(e) {
			return false
		}
	}
	for _, c := range p.Children() {
		if !plainRelation(c) {
			return false
		}
	}
	return true
}

func joinCount(p logical.Plan) int {
	n := 0
	if _, ok := p.(*logical.Join); ok {
		n++
	}
	for _, c := range p.Children() {
		n += joinCount(c)
	}
	return n
}
