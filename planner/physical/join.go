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
	if n.Kind == logical.InnerJoin {
		// the table of the bigger side probed through an index
		innerRight := b.estimateRows(n.Left) <= b.estimateRows(n.Right)
		if op, ok, err := b.buildIndexJoin(n, innerRight); ok || err != nil {
			return op, err
		}
	}
	if (n.Kind == logical.SemiJoin || n.Kind == logical.AntiJoin) && len(n.LeftKeys) > 0 && buildSemiPays(b.estimateRows(n.Left), b.estimateRows(n.Right)) {
		return b.buildSemiOnLeft(n)
	}
	// A right join is a left join with the inputs swapped; an inner join
	// builds its hash table on the input with fewer estimated bytes (rows
	// from table statistics, see logical.EstimateCard, times row width).
	// Either way the output columns are put back in (left, right) order by
	// a projection.
	swap := n.Kind == logical.RightJoin ||
		(n.Kind == logical.InnerJoin && b.estimateBytes(n.Left) < b.estimateBytes(n.Right))
	if !swap {
		return b.buildJoinOrdered(n, n.Left, n.Right, n.LeftKeys, n.RightKeys, n.Kind)
	}
	kind := n.Kind
	if kind == logical.RightJoin {
		kind = logical.LeftJoin
	}
	op, err := b.buildJoinOrdered(n, n.Right, n.Left, n.RightKeys, n.LeftKeys, kind)
	if err != nil {
		return nil, err
	}
	if b.Analyze {
		// the projection below is what Build instruments: EXPLAIN
		// ANALYZE shows the join's own rows and what it spilled too
		op = &exec.Instrumented{Inner: op}
	}
	nl, nr := len(n.Left.Columns()), len(n.Right.Columns())
	cols := n.Columns()
	exprs := make([]exec.Expr, 0, nl+nr)
	for i := 0; i < nl; i++ {
		exprs = append(exprs, &exec.ColumnExpr{Index: nr + i, T: cols[i].T, Name: cols[i].Name})
	}
	for i := 0; i < nr; i++ {
		exprs = append(exprs, &exec.ColumnExpr{Index: i, T: cols[nl+i].T, Name: cols[nl+i].Name})
	}
	return &exec.Project{Env: b.Env, Input: op, Exprs: exprs, Out: ArrowSchema(cols)}, nil
}

func (b *Builder) buildJoinOrdered(n *logical.Join, left, right logical.Plan, lkeys, rkeys []logical.Expr, kind logical.JoinKind) (exec.Operator, error) {
	l, err := b.Build(left)
	if err != nil {
		return nil, err
	}
	r, err := b.Build(right)
	if err != nil {
		return nil, err
	}
	lcols, rcols := left.Columns(), right.Columns()
	both := append(append([]logical.Column{}, lcols...), rcols...)
	outCols := both
	ek := joinKinds[kind]
	if !ek.EmitsBuildCols() {
		outCols = lcols
	}
	var extra exec.Expr
	if n.Cond != nil {
		if extra, err = b.Compile(n.Cond, both); err != nil {
			return nil, err
		}
	}
	out := ArrowSchema(outCols)
	if len(lkeys) == 0 {
		j := &exec.NestedLoopJoin{Env: b.Env, Kind: ek, Left: l, Right: r, Cond: extra, Out: out, EstRows: b.estimateRows(n)}
		b.releasers = append(b.releasers, j)
		return j, nil
	}
	pk, err := b.compileAll(lkeys, lcols)
	if err != nil {
		return nil, err
	}
	bk, err := b.compileAll(rkeys, rcols)
	if err != nil {
		return nil, err
	}
	j := &exec.HashJoin{Env: b.Env.ForOperator("HashJoin"), Kind: ek, Probe: l, Build: r, ProbeKeys: pk, BuildKeys: bk, Extra: extra, Out: out, EstRows: b.estimateRows(n)}
	b.releasers = append(b.releasers, j)
	return j, nil
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
		Extra: extra, Out: ArrowSchema(lcols), EstRows: b.estimateRows(n)}
	b.releasers = append(b.releasers, j)
	return j, nil
}
