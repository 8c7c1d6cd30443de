package logical

// EstimateRows guesses how many rows p produces. It has no statistics beyond
// table sizes: a filter keeps a tenth of its input per equality with a
// constant and half per other conjunct. Planning uses it to order joins and
// to pick hash-join build sides, where only relative sizes matter.
func EstimateRows(p Plan) float64 {
	switch n := p.(type) {
	case *Scan:
		s := n.Table.Snapshot()
		defer s.Release()
		return float64(s.NumRows())
	case *Values:
		return float64(len(n.Rows))
	case *CTEScan:
		return EstimateRows(n.Shared.Plan)
	case *Filter:
		rows := EstimateRows(n.Input)
		for _, c := range SplitAnd(n.Cond) {
			rows *= selectivity(c)
		}
		return max(rows, 1)
	case *Aggregate:
		if len(n.Groups) == 0 {
			return 1
		}
		return max(EstimateRows(n.Input)*0.5, 1)
	case *Limit:
		if n.Count >= 0 {
			return min(float64(n.Count), EstimateRows(n.Input))
		}
	case *Join:
		l, r := EstimateRows(n.Left), EstimateRows(n.Right)
		switch n.Kind {
		case SemiJoin, AntiJoin, NullAwareAntiJoin:
			return l
		}
		if n.Cond == nil && len(n.LeftKeys) == 0 {
			return l * r
		}
		return max(l, r)
	}
	var total float64
	for _, c := range p.Children() {
		total = max(total, EstimateRows(c))
	}
	return total
}

// selectivity guesses the fraction of rows a conjunct keeps.
func selectivity(e Expr) float64 {
	c, ok := e.(*Call)
	if !ok || len(c.Args) != 2 {
		return 0.5
	}
	_, lc := c.Args[0].(*Const)
	_, rc := c.Args[1].(*Const)
	if c.Name == "=" && lc != rc {
		return 0.1
	}
	return 0.5
}
