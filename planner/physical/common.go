package physical

import (
	"fmt"
	"strings"

	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// Common subexpressions of an aggregate's inputs are computed once per
// batch: TPC-H q01 sums l_extendedprice * (1 - l_discount) and, inside
// another sum, the same product times (1 + l_tax). A Project below the
// aggregate computes each repeated expression as a column of its own, and
// the aggregate reads that column.
//
// Only an expression evaluated on every row anyway is moved: one that
// appears (once at least) outside CASE branches, later COALESCE
// arguments and later AND/OR arguments, which run on some rows only and
// must not fail on the others; its other appearances, wherever they are,
// then read the column. Volatile calls and subqueries stay where they
// are. A filter's predicate gets the same treatment (q22 tests
// substring(c_phone, 1, 2) against seven constants).

// hoisted is a repeated expression and the column that now holds it.
type hoisted struct {
	expr logical.Expr
	col  logical.Column
}

// hoistCommon rewrites the aggregate n so that its repeated expressions
// are read from a Project over its input; n itself when it has none.
func (b *Builder) hoistCommon(n *logical.Aggregate) *logical.Aggregate {
	var found []hoisted
	next := logical.ColumnID(-1) // ids below the binder's, which start at 1
	agg := n
	for {
		e := mostRepeated(aggregateExprs(agg, true))
		if e == nil {
			break
		}
		col := logical.Column{ID: next, Name: b.displayName(e, n.Input.Columns()), T: e.Type()}
		next--
		found = append(found, hoisted{expr: e, col: col})
		agg = replaceInAggregate(agg, keyOf(e), &logical.ColRef{Col: col})
	}
	if len(found) == 0 {
		return n
	}
	// the Project passes on the input columns the aggregate still reads
	// and adds the hoisted ones
	used := columnsUsed(aggregateExprs(agg, false)...)
	proj := &logical.Project{Input: n.Input}
	for _, c := range n.Input.Columns() {
		if used[c.ID] {
			used[c.ID] = false // once
			proj.Exprs = append(proj.Exprs, &logical.ColRef{Col: c})
			proj.Cols = append(proj.Cols, c)
		}
	}
	for _, h := range found {
		proj.Exprs = append(proj.Exprs, h.expr)
		proj.Cols = append(proj.Cols, h.col)
	}
	out := *agg
	out.Input = proj
	return &out
}

// aggregateExprs lists the expressions an aggregate evaluates. With
// unconditional set, those are the arguments of aggregates without a
// FILTER (the ones that run on every row); else all of them: grouping
// keys, arguments, FILTERs and orderings.
func aggregateExprs(n *logical.Aggregate, unconditional bool) [][]logical.Expr {
	var lists [][]logical.Expr
	if !unconditional {
		lists = append(lists, n.Groups)
	}
	for _, a := range n.Aggs {
		if unconditional && a.Filter != nil {
			continue
		}
		lists = append(lists, a.Args)
		if unconditional {
			continue
		}
		lists = append(lists, []logical.Expr{a.Filter})
		for _, k := range a.OrderBy {
			lists = append(lists, []logical.Expr{k.Expr})
		}
	}
	return lists
}

// mostRepeated is the largest call that appears at least twice among the
// expressions, once at least in an unconditional part (nil when none
// does): computed for every row anyway, it may as well be computed once.
func mostRepeated(lists [][]logical.Expr) logical.Expr {
	count := map[string]int{}
	everyRow := map[string]logical.Expr{}
	for _, list := range lists {
		for _, e := range list {
			logical.Walk(e, func(x logical.Expr) bool {
				if hoistable(x) {
					count[keyOf(x)]++
				}
				return true
			})
			walkUnconditional(e, func(x logical.Expr) {
				if k := keyOf(x); everyRow[k] == nil && hoistable(x) {
					everyRow[k] = x
				}
			})
		}
	}
	var best logical.Expr
	bestSize := 0
	for k, x := range everyRow {
		if count[k] < 2 {
			continue
		}
		// the longest key is the largest expression; ties go to the
		// smaller key so that the choice never depends on map order
		if size := len(k); size > bestSize || size == bestSize && k < keyOf(best) {
			best, bestSize = x, size
		}
	}
	return best
}

// walkUnconditional calls f on e and the parts of it that are evaluated
// on every row e is.
func walkUnconditional(e logical.Expr, f func(logical.Expr)) {
	if e == nil {
		return
	}
	f(e)
	switch x := e.(type) {
	case *logical.Case:
		if len(x.Whens) > 0 {
			walkUnconditional(x.Whens[0], f)
		}
	case *logical.Coalesce:
		walkUnconditional(x.Args[0], f)
	case *logical.Bool:
		walkUnconditional(x.Args[0], f)
	case *logical.Call:
		for _, a := range x.Args {
			walkUnconditional(a, f)
		}
	case *logical.Cast:
		walkUnconditional(x.Arg, f)
	case *logical.Not:
		walkUnconditional(x.Arg, f)
	case *logical.IsNull:
		walkUnconditional(x.Arg, f)
	}
}

// hoistable reports whether e is a call worth computing once: no volatile
// call or subquery inside, and a key that identifies it.
func hoistable(e logical.Expr) bool {
	if _, isCall := e.(*logical.Call); !isCall {
		return false
	}
	return !logical.IsVolatile(e) && !logical.HasSubquery(e) && keyOf(e) != ""
}

// keyOf identifies an expression by its structure, types included (two
// calls that print alike may take operands of other types); "" for an
// expression it cannot tell apart from others.
func keyOf(e logical.Expr) string {
	var sb strings.Builder
	if !writeKey(&sb, e) {
		return ""
	}
	return sb.String()
}

func writeKey(sb *strings.Builder, e logical.Expr) bool {
	switch x := e.(type) {
	case *logical.ColRef:
		fmt.Fprintf(sb, "c%d", x.Col.ID)
	case *logical.OuterRef:
		fmt.Fprintf(sb, "o%d", x.Col.ID)
	case *logical.Const:
		fmt.Fprintf(sb, "k%s:%q", typeKey(x.T), x.String())
	case *logical.Param:
		fmt.Fprintf(sb, "p%d:%s", x.N, typeKey(x.T))
	case *logical.Cast:
		fmt.Fprintf(sb, "cast%s:%t(", typeKey(x.To), x.Explicit)
		if !writeKey(sb, x.Arg) {
			return false
		}
		sb.WriteString(")")
	case *logical.Call:
		fmt.Fprintf(sb, "f%q:%s(", x.Name, typeKey(x.T))
		for i, a := range x.Args {
			if i > 0 {
				sb.WriteString(",")
			}
			if !writeKey(sb, a) {
				return false
			}
		}
		sb.WriteString(")")
	default:
		return false
	}
	return true
}

// typeKey spells out every field of a type that can change a value.
func typeKey(t types.T) string {
	return fmt.Sprintf("%d.%d.%d.%d.%d.%d.%t.%d.%p", t.Kind, t.Prec, t.Scale, t.Len, t.PG, t.Elem, t.Natural, t.MinScale, t.Enum)
}

// replaceInAggregate replaces each call with key k in the aggregates'
// arguments, FILTERs and orderings by with.
func replaceInAggregate(n *logical.Aggregate, k string, with logical.Expr) *logical.Aggregate {
	replace := func(e logical.Expr) logical.Expr {
		if e == nil {
			return nil
		}
		return logical.ReplaceTopDown(e, func(x logical.Expr) (logical.Expr, bool) {
			if _, isCall := x.(*logical.Call); isCall && keyOf(x) == k {
				return with, true
			}
			return nil, false
		})
	}
	replaceAll := func(es []logical.Expr) []logical.Expr {
		out := make([]logical.Expr, len(es))
		for i, e := range es {
			out[i] = replace(e)
		}
		return out
	}
	out := *n // (grouping keys stay: the plan above matches them)
	out.Aggs = make([]*logical.AggCall, len(n.Aggs))
	for i, a := range n.Aggs {
		c := *a
		c.Args = replaceAll(a.Args)
		c.Filter = replace(a.Filter)
		c.OrderBy = make([]logical.SortKey, len(a.OrderBy))
		for j, k := range a.OrderBy {
			k.Expr = replace(k.Expr)
			c.OrderBy[j] = k
		}
		out.Aggs[i] = &c
	}
	return &out
}

// displayName is how EXPLAIN shows e: as its compiled form prints, with
// column names and no ids.
func (b *Builder) displayName(e logical.Expr, cols []logical.Column) string {
	x, err := b.Compile(e, cols)
	if err != nil {
		return e.String()
	}
	return x.String()
}

// hoistInFilter returns the filter's predicate with its repeated
// expressions read from columns of a Project over its input, and that
// Project, which passes on the input's columns first, in their order
// (nil when nothing repeats).
func (b *Builder) hoistInFilter(f *logical.Filter) (logical.Expr, *logical.Project) {
	cond := f.Cond
	var found []hoisted
	next := logical.ColumnID(-1)
	for {
		e := mostRepeated([][]logical.Expr{{cond}})
		if e == nil {
			break
		}
		col := logical.Column{ID: next, Name: b.displayName(e, f.Input.Columns()), T: e.Type()}
		next--
		found = append(found, hoisted{expr: e, col: col})
		k := keyOf(e)
		cond = logical.ReplaceTopDown(cond, func(x logical.Expr) (logical.Expr, bool) {
			if _, isCall := x.(*logical.Call); isCall && keyOf(x) == k {
				return &logical.ColRef{Col: col}, true
			}
			return nil, false
		})
	}
	if len(found) == 0 {
		return f.Cond, nil
	}
	proj := &logical.Project{Input: f.Input}
	for _, c := range f.Input.Columns() {
		proj.Exprs = append(proj.Exprs, &logical.ColRef{Col: c})
		proj.Cols = append(proj.Cols, c)
	}
	for _, h := range found {
		proj.Exprs = append(proj.Exprs, h.expr)
		proj.Cols = append(proj.Cols, h.col)
	}
	return cond, proj
}
