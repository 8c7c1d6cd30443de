package physical

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
)

// buildReading builds the input of a node that reads only the columns
// used of it. When that input is a filter, the filter passes on just those
// columns: the rows it keeps are copied once, and a column only its
// predicate reads (q06's l_shipdate, l_quantity) is never copied. It
// returns the operator and the columns it produces.
func (b *Builder) buildReading(p logical.Plan, used map[logical.ColumnID]bool) (exec.Operator, []logical.Column, error) {
	if j, ok := p.(*logical.Join); ok && used != nil {
		op, cols, err := b.buildJoinReading(j, used)
		if err == nil && b.Analyze {
			op = &exec.Instrumented{Inner: op} // (Build would have)
		}
		return op, cols, err
	}
	f, isFilter := p.(*logical.Filter)
	cols := p.Columns()
	if !isFilter {
		op, err := b.Build(p)
		return op, cols, err
	}
	op, kept, err := b.buildFilter(f, used)
	if err == nil && b.Analyze {
		op = &exec.Instrumented{Inner: op} // (Build would have)
	}
	return op, kept, err
}

// buildFilter builds a filter that passes on the columns used of its
// input (all of them when used is nil), its predicate's repeated
// expressions computed once by a Project below it.
func (b *Builder) buildFilter(f *logical.Filter, used map[logical.ColumnID]bool) (exec.Operator, []logical.Column, error) {
	cols := f.Columns()
	if scan, ok := f.Input.(*logical.Scan); ok {
		// rows found through an index (indexscan.go) come with all columns
		if op, ok, err := b.buildFilteredScan(f, scan); ok || err != nil {
			return op, cols, err
		}
	}
	keep, kept := allColumns(cols)
	if used != nil {
		keep, kept = keptColumns(cols, used)
	}
	cond, proj := b.hoistInFilter(f)
	var input logical.Plan = f.Input
	if proj != nil {
		input = proj // (its first columns are cols, in order)
	}
	in, err := b.Build(input)
	if err != nil {
		return nil, nil, err
	}
	pred, err := b.Compile(cond, input.Columns())
	if err != nil {
		return nil, nil, err
	}
	filter := &exec.Filter{Env: b.Env, Input: in, Pred: pred}
	if len(keep) < len(input.Columns()) {
		filter.Keep, filter.Out = keep, b.schema(kept)
	}
	return filter, kept, nil
}

// allColumns is every ordinal of cols, and cols.
func allColumns(cols []logical.Column) ([]int, []logical.Column) {
	keep := make([]int, len(cols))
	for i := range keep {
		keep[i] = i
	}
	return keep, cols
}

// keptColumns lists the ordinals of the columns used (each id once, at
// its first ordinal, as layouts resolve it) and those columns.
func keptColumns(cols []logical.Column, used map[logical.ColumnID]bool) ([]int, []logical.Column) {
	keep := []int{} // (not nil: a filter with a nil Keep passes every column)
	var kept []logical.Column
	seen := map[logical.ColumnID]bool{}
	for i, c := range cols {
		if used[c.ID] && !seen[c.ID] {
			seen[c.ID] = true
			keep = append(keep, i)
			kept = append(kept, c)
		}
	}
	return keep, kept
}

// columnsUsed is the union of the input columns the expressions read.
func columnsUsed(es ...[]logical.Expr) map[logical.ColumnID]bool {
	used := map[logical.ColumnID]bool{}
	for _, list := range es {
		for _, e := range list {
			if e == nil {
				continue
			}
			logical.AddColumnsUsed(used, e)
		}
	}
	return used
}

// aggregateColumnsUsed is what an aggregate reads of its input: its
// grouping keys and its aggregates' arguments, filters and orderings.
func aggregateColumnsUsed(n *logical.Aggregate) map[logical.ColumnID]bool {
	lists := [][]logical.Expr{n.Groups}
	for _, a := range n.Aggs {
		lists = append(lists, a.Args, []logical.Expr{a.Filter})
		for _, k := range a.OrderBy {
			lists = append(lists, []logical.Expr{k.Expr})
		}
	}
	return columnsUsed(lists...)
}
