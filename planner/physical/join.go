package physical

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
)

var joinKinds = map[logical.JoinKind]exec.JoinKind{
	logical.InnerJoin:         exec.InnerJoin,
	logical.LeftJoin:          exec.LeftJoin,
	logical.FullJoin:          exec.FullJoin,
	logical.SemiJoin:          exec.SemiJoin,
	logical.AntiJoin:          exec.AntiJoin,
	logical.NullAwareAntiJoin: exec.NullAwareAntiJoin,
}

func (b *Builder) buildJoin(n *logical.Join) (exec.Operator, error) {
	op, _, err := b.buildJoinReading(n, nil)
	return op, err
}

// buildJoinReading builds join n passing on only the columns in used
// (all when used is nil) where it can, and returns the columns it
// produces. Its inputs are built the same way for what it passes on plus
// its keys and condition, so a chain of joins carries each column only as
// far up as something reads it (TPC-H q05's l_orderkey and o_orderkey
// stop at their join instead of being gathered at every join above).
func (b *Builder) buildJoinReading(n *logical.Join, used map[logical.ColumnID]bool) (exec.Operator, []logical.Column, error) {
	all := n.Columns()
	if n.Kind == logical.InnerJoin {
		// the table of the bigger side probed through an index
		innerRight := b.estimateRows(n.Left) <= b.estimateRows(n.Right)
		if op, ok, err := b.buildIndexJoin(n, innerRight); ok || err != nil {
			return op, all, err
		}
	}
	if (n.Kind == logical.SemiJoin || n.Kind == logical.AntiJoin) && len(n.LeftKeys) > 0 && buildSemiPays(b.estimateRows(n.Left), b.estimateRows(n.Right)) {
		op, err := b.buildSemiOnLeft(n)
		return op, all, err
	}
	// A right join is a left join with the inputs swapped; an inner join
	// builds its hash table on the input with fewer estimated bytes (rows
	// from table statistics, see logical.EstimateCard, times row width).
	// Either way the output columns are put back in (left, right) order by
	// a projection.
	swap := n.Kind == logical.RightJoin ||
		(n.Kind == logical.InnerJoin && b.estimateBytes(n.Left) < b.estimateBytes(n.Right))
	if !swap {
		return b.buildJoinOrdered(n, n.Left, n.Right, n.LeftKeys, n.RightKeys, n.Kind, used)
	}
	kind := n.Kind
	if kind == logical.RightJoin {
		kind = logical.LeftJoin
	}
	op, cols, err := b.buildJoinOrdered(n, n.Right, n.Left, n.RightKeys, n.LeftKeys, kind, used)
	if err != nil {
		return nil, nil, err
	}
	if b.Analyze {
		// the projection below is what Build instruments: EXPLAIN
		// ANALYZE shows the join's own rows and what it spilled too
		op = &exec.Instrumented{Inner: op}
	}
	exprs, outCols := unswapColumns(n, all, cols)
	return &exec.Project{Env: b.Env, Input: op, Exprs: exprs, Out: b.schema(outCols)}, outCols, nil
}

// unswapColumns puts the columns of a join built with its inputs swapped
// (cols: right's, then left's, maybe only some) back in n's order.
func unswapColumns(n *logical.Join, all, cols []logical.Column) ([]exec.Expr, []logical.Column) {
	nl, nr := len(n.Left.Columns()), len(n.Right.Columns())
	if len(cols) == nl+nr {
		// every column: by position, as they came
		exprs := make([]exec.Expr, 0, nl+nr)
		for i := 0; i < nl; i++ {
			exprs = append(exprs, &exec.ColumnExpr{Index: nr + i, T: all[i].T, Name: all[i].Name})
		}
		for i := 0; i < nr; i++ {
			exprs = append(exprs, &exec.ColumnExpr{Index: i, T: all[nl+i].T, Name: all[nl+i].Name})
		}
		return exprs, all
	}
	at := layoutOf(cols)
	var exprs []exec.Expr
	var out []logical.Column
	seen := map[logical.ColumnID]bool{}
	for _, c := range all {
		if i, ok := at[c.ID]; ok && !seen[c.ID] {
			seen[c.ID] = true
			exprs = append(exprs, &exec.ColumnExpr{Index: i, T: c.T, Name: c.Name})
			out = append(out, c)
		}
	}
	return exprs, out
}

// joinInputNeeds is what a join passing on used (nil: everything) needs
// of its inputs: that, its keys' and its condition's columns.
func joinInputNeeds(used map[logical.ColumnID]bool, lkeys, rkeys []logical.Expr, cond logical.Expr) map[logical.ColumnID]bool {
	if used == nil {
		return nil
	}
	need := columnsUsed(lkeys, rkeys, []logical.Expr{cond})
	for id := range used {
		need[id] = true
	}
	return need
}

func (b *Builder) buildJoinOrdered(n *logical.Join, left, right logical.Plan, lkeys, rkeys []logical.Expr, kind logical.JoinKind, used map[logical.ColumnID]bool) (exec.Operator, []logical.Column, error) {
	need := joinInputNeeds(used, lkeys, rkeys, n.Cond)
	l, lcols, err := b.buildInput(left, need)
	if err != nil {
		return nil, nil, err
	}
	r, rcols, err := b.buildInput(right, need)
	if err != nil {
		return nil, nil, err
	}
	both := append(append([]logical.Column{}, lcols...), rcols...)
	outCols := both
	ek := joinKinds[kind]
	if !ek.EmitsBuildCols() {
		outCols = lcols
	}
	var extra exec.Expr
	if n.Cond != nil {
		if extra, err = b.Compile(n.Cond, both); err != nil {
			return nil, nil, err
		}
	}
	if len(lkeys) == 0 {
		j := &exec.NestedLoopJoin{Env: b.Env, Kind: ek, Left: l, Right: r, Cond: extra, Out: b.schema(outCols), EstRows: b.estimateRows(n)}
		b.releasers = append(b.releasers, j)
		return j, outCols, nil
	}
	pk, err := b.compileAll(lkeys, lcols)
	if err != nil {
		return nil, nil, err
	}
	bk, err := b.compileAll(rkeys, rcols)
	if err != nil {
		return nil, nil, err
	}
	j := &exec.HashJoin{Env: b.Env.ForOperator("HashJoin"), Kind: ek, Probe: l, Build: r, ProbeKeys: pk, BuildKeys: bk, Extra: extra, EstRows: b.estimateRows(n)}
	if used != nil && (ek == exec.InnerJoin || ek == exec.LeftJoin) {
		keep, kept := keptColumns(both, used)
		if len(kept) == 0 {
			// (a record of no columns would lose its row count: count(*))
			keep, kept = []int{0}, both[:1]
		}
		if len(keep) < len(both) {
			j.Keep, outCols = keep, kept
		}
	}
	j.Out = b.schema(outCols)
	b.releasers = append(b.releasers, j)
	return j, outCols, nil
}

// buildInput builds a join's input: only the columns in need when that is
// set and the input can narrow them (a join, a filter), else all of it.
func (b *Builder) buildInput(p logical.Plan, need map[logical.ColumnID]bool) (exec.Operator, []logical.Column, error) {
	if need == nil {
		op, err := b.Build(p)
		return op, p.Columns(), err
	}
	return b.buildReading(p, need)
}

// estimateRows is p's estimated row count, remembered for the statement so
// that a deep join tree is estimated once, not once per join.
func (b *Builder) estimateRows(p logical.Plan) float64 {
	if b.estimates == nil {
		b.estimates = logical.NewEstimator()
	}
	return b.estimates.Rows(p)
}

// estimateBytes is the estimated size of p's output.
func (b *Builder) estimateBytes(p logical.Plan) float64 {
	return b.estimateRows(p) * logical.RowWidth(p.Columns())
}

// buildSemiPays says a semi join should build its hash table on the rows
// it returns (left) and probe with the other side: when the left side is
// many times smaller, building it costs far less than building the right
// side (TPC-H q04: 57 thousand orders against 3.8 million line items).
func buildSemiPays(left, right float64) bool {
	return left > 0 && left*8 < right
}

// buildSemiOnLeft builds a semi join as an exec.BuildSemiJoin (an anti
// join as an exec.BuildAntiJoin): the left input is the build side, the
// right one probes it, and each left row that met a right row (met none)
// comes out once.
func (b *Builder) buildSemiOnLeft(n *logical.Join) (exec.Operator, error) {
	kind := exec.BuildSemiJoin
	if n.Kind == logical.AntiJoin {
		kind = exec.BuildAntiJoin
	}
	l, err := b.Build(n.Left)
	if err != nil {
		return nil, err
	}
	r, err := b.Build(n.Right)
	if err != nil {
		return nil, err
	}
	lcols, rcols := n.Left.Columns(), n.Right.Columns()
	var extra exec.Expr
	if n.Cond != nil {
		// a HashJoin's residual reads the probe's columns, then the build's
		if extra, err = b.Compile(n.Cond, append(append([]logical.Column{}, rcols...), lcols...)); err != nil {
			return nil, err
		}
	}
	pk, err := b.compileAll(n.RightKeys, rcols)
	if err != nil {
		return nil, err
	}
	bk, err := b.compileAll(n.LeftKeys, lcols)
	if err != nil {
		return nil, err
	}
	j := &exec.HashJoin{Env: b.Env.ForOperator("HashJoin"), Kind: kind, Probe: r, Build: l, ProbeKeys: pk, BuildKeys: bk,
		Extra: extra, Out: b.schema(lcols), EstRows: b.estimateRows(n)}
	b.releasers = append(b.releasers, j)
	return j, nil
}
