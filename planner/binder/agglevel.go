package binder

import (
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
)

// aggNested is the aggErr of the scope of an aggregate's arguments when
// aggregates are allowed where the call stands: one of the same level
// inside it would be nested.
const aggNested = "\x00nested"

// aggResult is where an aggregate's value column was made: the query
// level computing it and the call's position, for the nesting error.
type aggResult struct {
	level int
	loc   int32
}

// aggNotAllowed is the error for an aggregate (at loc) of a level whose
// clause sc does not allow them.
func aggNotAllowed(sc *scope, loc int32) error {
	if sc.aggErr == aggNested {
		return sqlerr.New(sqlerr.GroupingError, "aggregate function calls cannot be nested").At(loc)
	}
	clause := sc.aggErr
	if clause == "" {
		clause = "this context"
	}
	return sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed in %s", clause).At(loc)
}

// aggHome finds the scope whose query computes call, as PostgreSQL decides
// it: the innermost level among the columns and the aggregates its
// arguments, FILTER and ORDER BY read, its own level when they read none.
// An aggregate of that same level in its arguments is nested.
func (b *Binder) aggHome(call *logical.AggCall, s *scope, loc int32) (*scope, error) {
	cur := b.curLevel()
	levels := b.columnLevels(s)
	home := -1
	inner := aggResult{level: -1}
	visit := func(id logical.ColumnID) {
		if l, ok := levels[id]; ok {
			// a FROM item's column, even when a derived table's
			// aggregate made it
			home = max(home, l)
			return
		}
		if r, ok := b.aggResults[id]; ok {
			if r.level > inner.level {
				inner = r
			}
			home = max(home, r.level)
			return
		}
		home = max(home, cur)
	}
	for _, e := range aggCallExprs(call) {
		logical.Walk(e, func(x logical.Expr) bool {
			switch x := x.(type) {
			case *logical.ColRef:
				visit(x.Col.ID)
			case *logical.OuterRef:
				visit(x.Col.ID)
			case *logical.Subquery:
				for _, c := range x.Outer {
					visit(c.ID)
				}
			}
			return true
		})
	}
	if home < 0 {
		home = cur
	}
	if inner.level == home {
		return nil, sqlerr.New(sqlerr.GroupingError, "aggregate function calls cannot be nested").At(inner.loc)
	}
	for sc := s; sc != nil; sc = sc.parent {
		if sc.level != home {
			continue
		}
		if sc.agg == nil {
			return nil, aggNotAllowed(sc, loc)
		}
		return sc, nil
	}
	return nil, aggNotAllowed(&scope{}, loc)
}

// aggCallExprs are the expressions an aggregate call reads.
func aggCallExprs(call *logical.AggCall) []logical.Expr {
	out := append([]logical.Expr{}, call.Args...)
	if call.Filter != nil {
		out = append(out, call.Filter)
	}
	for _, k := range call.OrderBy {
		out = append(out, k.Expr)
	}
	return out
}

// columnLevels maps the columns visible from s to their query levels.
func (b *Binder) columnLevels(s *scope) map[logical.ColumnID]int {
	out := map[logical.ColumnID]int{}
	for sc := s; sc != nil; sc = sc.parent {
		for _, it := range sc.items {
			if _, seen := out[it.col.ID]; !seen {
				out[it.col.ID] = sc.level
			}
		}
	}
	return out
}

// localizeOuterRefs makes call's references to columns of level home,
// where it is computed, plain column references.
func localizeOuterRefs(call *logical.AggCall, levels map[logical.ColumnID]int, home int) {
	local := func(e logical.Expr) logical.Expr {
		return logical.ReplaceTopDown(e, func(x logical.Expr) (logical.Expr, bool) {
			if o, ok := x.(*logical.OuterRef); ok && levels[o.Col.ID] == home {
				if _, known := levels[o.Col.ID]; known {
					return &logical.ColRef{Col: o.Col}, true
				}
			}
			return nil, false
		})
	}
	for i := range call.Args {
		call.Args[i] = local(call.Args[i])
	}
	if call.Filter != nil {
		call.Filter = local(call.Filter)
	}
	for i := range call.OrderBy {
		call.OrderBy[i].Expr = local(call.OrderBy[i].Expr)
	}
}

// outerMarks notes how many outer references each level has so far.
func (b *Binder) outerMarks() []int {
	marks := make([]int, len(b.levels))
	for i, lv := range b.levels {
		marks[i] = len(lv.outer)
	}
	return marks
}

// takeBackOuter forgets the outer references levels deeper than home
// noted since marks: they were an aggregate's arguments, computed at home,
// and those levels read its value instead.
func (b *Binder) takeBackOuter(marks []int, home int) {
	for l := home + 1; l < len(b.levels) && l < len(marks); l++ {
		lv := b.levels[l]
		for _, c := range lv.outer[marks[l]:] {
			delete(lv.seen, c.ID)
			delete(lv.at, c.ID)
		}
		lv.outer = lv.outer[:marks[l]]
	}
}
