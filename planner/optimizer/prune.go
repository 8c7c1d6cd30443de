package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
)

// pruneColumns drops table columns and projection outputs nobody reads.
func pruneColumns(p logical.Plan) logical.Plan {
	need := idSet(p.Columns())
	return prune(p, need, true)
}

func addUses(need map[logical.ColumnID]bool, es ...logical.Expr) {
	for _, e := range es {
		if e == nil {
			continue
		}
		// (with the outer columns of its subqueries)
		logical.AddColumnsUsed(need, e)
	}
}

func prune(p logical.Plan, need map[logical.ColumnID]bool, root bool) logical.Plan {
	switch n := p.(type) {
	case *logical.Scan:
		cols, ords := keepNeeded(n.Cols, n.Ords, need)
		return &logical.Scan{Table: n.Table, Cols: cols, Ords: ords, Ranges: n.Ranges}
	case *logical.FileScan:
		cols, ords := keepNeeded(n.Cols, n.Ords, need)
		return &logical.FileScan{Source: n.Source, Cols: cols, Ords: ords, Ranges: n.Ranges}
	case *logical.RemoteScan:
		cols, ords := keepNeeded(n.Cols, n.Ords, need)
		return &logical.RemoteScan{Source: n.Source, Cols: cols, Ords: ords, Filters: n.Filters}
	case *logical.Project:
		exprs, cols := n.Exprs, n.Cols
		if !root {
			exprs, cols = nil, nil
			for i, c := range n.Cols {
				// a volatile expression runs even when nothing reads
				// its value (nextval advances), as in PostgreSQL
				if need[c.ID] || logical.IsVolatile(n.Exprs[i]) {
					exprs = append(exprs, n.Exprs[i])
					cols = append(cols, c)
				}
			}
		}
		child := map[logical.ColumnID]bool{}
		addUses(child, exprs...)
		return &logical.Project{Input: prune(n.Input, child, false), Exprs: exprs, Cols: cols}
	}
	// Everything else keeps its columns; its children must supply what this
	// node reads plus what is needed from them above.
	child := map[logical.ColumnID]bool{}
	for id := range need {
		child[id] = true
	}
	addUses(child, planExprs(p)...)
	switch p.(type) {
	case *logical.SetOp, *logical.RecursiveCTE, *logical.Distinct, *logical.TableFunc, *logical.Apply:
		// these read all their input columns
		for _, c := range p.Children() {
			for _, col := range c.Columns() {
				child[col.ID] = true
			}
		}
	}
	kids := p.Children()
	if len(kids) == 0 {
		return p
	}
	nk := make([]logical.Plan, len(kids))
	for i, k := range kids {
		nk[i] = prune(k, child, false)
	}
	out := p.WithChildren(nk)
	if f, ok := out.(*logical.Filter); ok && !root {
		return dropUnread(f, need)
	}
	return out
}

// dropUnread puts a Project over a filter whose output holds columns
// only its own condition reads (q13's o_comment), so that what is above
// it — a join copying every input column into its output — does not
// carry them; the filter then copies only the columns kept.
func dropUnread(f *logical.Filter, need map[logical.ColumnID]bool) logical.Plan {
	cols := f.Columns()
	var keep []logical.Column
	for _, c := range cols {
		if need[c.ID] {
			keep = append(keep, c)
		}
	}
	if len(keep) == len(cols) || len(keep) == 0 {
		return f
	}
	proj := &logical.Project{Input: f, Cols: keep}
	for _, c := range keep {
		proj.Exprs = append(proj.Exprs, &logical.ColRef{Col: c})
	}
	return proj
}

// keepNeeded keeps a scan's columns that are needed, with their source
// ordinals (an empty, non-nil list when none is: nil means every column
// to a file scan).
func keepNeeded(cols []logical.Column, ords []int, need map[logical.ColumnID]bool) ([]logical.Column, []int) {
	var keptCols []logical.Column
	keptOrds := []int{}
	for i, c := range cols {
		if need[c.ID] {
			keptCols = append(keptCols, c)
			keptOrds = append(keptOrds, ords[i])
		}
	}
	return keptCols, keptOrds
}
