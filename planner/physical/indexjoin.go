package physical

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// An inner equi-join whose one side is a table (with at most a filter on
// it) with an index on the join's key columns, and whose other side is
// small, looks the other side's rows up in that index: its cost follows
// the small side, where a hash join reads and hashes the whole table.

// indexJoinSide describes the table side of a candidate index join.
type indexJoinSide struct {
	scan   *logical.Scan
	filter *logical.Filter // on the table, or nil
}

func tableSide(p logical.Plan) (indexJoinSide, bool) {
	switch x := p.(type) {
	case *logical.Scan:
		return indexJoinSide{scan: x}, true
	case *logical.Filter:
		if s, ok := x.Input.(*logical.Scan); ok {
			return indexJoinSide{scan: s, filter: x}, true
		}
	}
	return indexJoinSide{}, false
}

// buildIndexJoin builds n as an index join with the table side inner
// (right when innerRight, else left), or reports that it does not pay.
func (b *Builder) buildIndexJoin(n *logical.Join, innerRight bool) (exec.Operator, bool, error) {
	outerPlan, innerPlan := n.Left, n.Right
	outerKeys, innerKeys := n.LeftKeys, n.RightKeys
	if !innerRight {
		outerPlan, innerPlan = n.Right, n.Left
		outerKeys, innerKeys = n.RightKeys, n.LeftKeys
	}
	side, ok := tableSide(innerPlan)
	if !ok || b.NoIndexScan || len(innerKeys) == 0 {
		return nil, false, nil
	}
	keyOrds, ok := joinKeyOrdinals(side.scan, innerKeys, outerKeys)
	if !ok {
		return nil, false, nil
	}
	def, order, ok := probeIndex(side.scan.Table.IndexDefs(), keyOrds)
	if !ok {
		return nil, false, nil
	}
	snap := b.snapshotOf(side.scan.Table)
	if b.estimateRows(outerPlan)*indexProbeCost+b.estimateRows(n)*indexCost >= float64(snap.NumRows()) {
		return nil, false, nil
	}
	ix := snap.Index(def)
	if ix == nil {
		return nil, false, nil
	}
	outer, err := b.Build(outerPlan)
	if err != nil {
		return nil, false, err
	}
	ocols := outerPlan.Columns()
	keys := make([]logical.Expr, len(order))
	kts := make([]types.T, len(order))
	innerCols := make([]int, len(order))
	for i, k := range order {
		keys[i], kts[i], innerCols[i] = outerKeys[k], outerKeys[k].Type(), keyOrds[k]
	}
	okeys, err := b.compileAll(keys, ocols)
	if err != nil {
		return nil, false, err
	}
	both := append(append([]logical.Column{}, ocols...), side.scan.Cols...)
	var op exec.Operator = &exec.IndexJoin{Env: b.Env, Outer: outer, OuterKeys: okeys, KeyTypes: kts,
		Probe: probeLen(def, keyOrds), InnerKeyCols: innerCols, IndexName: def.Name, Table: side.scan.Table.Name,
		Index: ix, Parts: snap.Parts, Columns: side.scan.Ords, Out: b.schema(both)}
	var rest []logical.Expr
	if side.filter != nil {
		rest = append(rest, side.filter.Cond)
	}
	if n.Cond != nil {
		rest = append(rest, n.Cond)
	}
	if len(rest) > 0 {
		pred, err := b.Compile(logical.JoinAnd(rest), both)
		if err != nil {
			return nil, false, err
		}
		op = &exec.Filter{Env: b.Env, Input: op, Pred: pred}
	}
	if innerRight {
		return op, true, nil
	}
	return b.swapBack(op, n, len(ocols), len(side.scan.Cols)), true, nil
}

// joinKeyOrdinals maps the table side's join keys to table column
// ordinals; every key must be a plain column that compares with its
// partner by the index encoding.
func joinKeyOrdinals(scan *logical.Scan, innerKeys, outerKeys []logical.Expr) ([]int, bool) {
	ord := map[logical.ColumnID]int{}
	for i, c := range scan.Cols {
		ord[c.ID] = scan.Ords[i]
	}
	keyOrds := make([]int, len(innerKeys))
	for i, k := range innerKeys {
		r, ok := plainColumn(k)
		if !ok {
			return nil, false
		}
		c, ok := ord[r.Col.ID]
		if !ok {
			return nil, false
		}
		ct := scan.Table.Columns[c].Type
		if !index.Comparable(ct, outerKeys[i].Type()) || !index.Comparable(outerKeys[i].Type(), ct) {
			return nil, false
		}
		keyOrds[i] = c
	}
	return keyOrds, true
}

// swapBack reorders a join's output from (table side, other side)
// columns, nt and no of them, to the join's (left, right) order, the
// table side being its left.
func (b *Builder) swapBack(op exec.Operator, n *logical.Join, no, nt int) exec.Operator {
	cols := n.Columns()
	exprs := make([]exec.Expr, 0, no+nt)
	for i := 0; i < nt; i++ {
		exprs = append(exprs, &exec.ColumnExpr{Index: no + i, T: cols[i].T, Name: cols[i].Name})
	}
	for i := 0; i < no; i++ {
		exprs = append(exprs, &exec.ColumnExpr{Index: i, T: cols[nt+i].T, Name: cols[nt+i].Name})
	}
	return &exec.Project{Env: b.Env, Input: op, Exprs: exprs, Out: b.schema(cols)}
}

// probeIndex picks the index whose leading columns are join keys (the
// most of them), and orders the key pairs: those the index probes first,
// in its column order, then the others.
func probeIndex(defs []index.Def, keyOrds []int) (index.Def, []int, bool) {
	var best index.Def
	bestLen := 0
	for _, d := range defs {
		if l := probeLen(d, keyOrds); l > bestLen {
			best, bestLen = d, l
		}
	}
	if bestLen == 0 {
		return index.Def{}, nil, false
	}
	var order []int
	used := make([]bool, len(keyOrds))
	for _, c := range best.Columns[:bestLen] {
		for k, o := range keyOrds {
			if o == c && !used[k] {
				order, used[k] = append(order, k), true
				break
			}
		}
	}
	for k := range keyOrds {
		if !used[k] {
			order = append(order, k)
		}
	}
	return best, order, true
}

// probeLen counts def's leading columns that are join key columns.
func probeLen(def index.Def, keyOrds []int) int {
	n := 0
	for _, c := range def.Columns {
		found := false
		for _, o := range keyOrds {
			found = found || o == c
		}
		if !found {
			break
		}
		n++
	}
	return n
}
