package physical

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// table is VALUES of int8 columns a (id 1), b (id 2), c (id 3).
func table(rows ...[3]int64) (*logical.Values, [3]logical.Expr) {
	v := &logical.Values{}
	var refs [3]logical.Expr
	for i, name := range []string{"a", "b", "c"} {
		col := logical.Column{ID: logical.ColumnID(i + 1), Name: name, T: types.Int8T}
		v.Cols = append(v.Cols, col)
		refs[i] = &logical.ColRef{Col: col}
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, []logical.Expr{konst(r[0]), konst(r[1]), konst(r[2])})
	}
	return v, refs
}

func konst(v int64) logical.Expr { return &logical.Const{Value: v, T: types.Int8T} }

func arith(op exec.ArithOp, l, r logical.Expr) logical.Expr {
	k, _ := exec.ArithKernel(op, types.Int8T)
	return &logical.Call{Name: string(op), Args: []logical.Expr{l, r}, Kernel: k, T: types.Int8T, Infix: true}
}

func compare(op exec.CmpOp, l, r logical.Expr) logical.Expr {
	return &logical.Call{Name: string(op), Args: []logical.Expr{l, r}, Kernel: exec.CompareKernel(op, types.Int8T), T: types.BoolT, Infix: true}
}

func sum(arg logical.Expr, filter logical.Expr) *logical.AggCall {
	_, ret, newAcc, err := exec.Aggregates()["sum"].Resolve([]types.T{types.Int8T})
	if err != nil {
		panic(err)
	}
	return &logical.AggCall{Name: "sum", Args: []logical.Expr{arg}, Filter: filter, New: newAcc, T: ret}
}

func aggregate(in logical.Plan, aggs ...*logical.AggCall) *logical.Aggregate {
	n := &logical.Aggregate{Input: in, Aggs: aggs}
	for i, a := range aggs {
		n.Cols = append(n.Cols, logical.Column{ID: logical.ColumnID(100 + i), Name: a.Name, T: a.T})
	}
	return n
}

// run builds and runs p, returning the plan as EXPLAIN shows it and the
// result's one row.
func run(t *testing.T, p logical.Plan) (string, string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(&exec.Env{Mem: mem, BatchSize: 2}, nil)
	defer b.Release()
	op, err := b.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	explain(&plan, op, 0)
	out, err := exec.DrainAll(context.Background(), op)
	if err != nil {
		t.Fatalf("%s\n%v", plan.String(), err)
	}
	var rows []string
	for _, r := range out {
		for i := 0; i < int(r.NumRows()); i++ {
			var vals []string
			for c := 0; c < int(r.NumCols()); c++ {
				vals = append(vals, types.Format(p.Columns()[c].T, exec.DatumAt(r.Column(c), i)))
			}
			rows = append(rows, strings.Join(vals, " "))
		}
		r.Release()
	}
	return plan.String(), strings.Join(rows, "; ")
}

func explain(sb *strings.Builder, op exec.Operator, depth int) {
	fmt.Fprintf(sb, "%s%s\n", strings.Repeat("  ", depth), op.Explain())
	for _, c := range op.Children() {
		explain(sb, c, depth+1)
	}
}

var rows = [][3]int64{{1, 2, 0}, {3, 4, 1}, {5, 6, 2}, {7, 0, 3}, {-2, 9, 0}}

// TestRepeatedAggregateArgumentsComputedOnce: a product that two sums
// read, one of them inside a larger expression, is computed once in a
// Project under the aggregate, and the sums stay right.
func TestRepeatedAggregateArgumentsComputedOnce(t *testing.T) {
	v, c := table(rows...)
	ab := func() logical.Expr { return arith('*', c[0], c[1]) }
	p := aggregate(v, sum(ab(), nil), sum(arith('+', ab(), c[2]), nil), sum(c[2], nil))
	plan, got := run(t, p)
	// a*b: 2 12 30 0 -18 = 26; a*b+c: 26 + 6 = 32; c: 6
	if got != "26 32 6" {
		t.Fatalf("got %s\n%s", got, plan)
	}
	lines := strings.Split(plan, "\n")
	if !strings.Contains(lines[0], "HashAggregate") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "Project ") || !strings.Contains(lines[1], "(a * b)") {
		t.Fatalf("no Project computing (a * b) under the aggregate:\n%s", plan)
	}
	if strings.Count(lines[1], "(a * b)") != 1 {
		t.Fatalf("(a * b) computed more than once:\n%s", plan)
	}
}

// TestConditionalArgumentsNotHoisted: an expression repeated only where
// it runs on some rows (CASE branches, aggregate FILTERs) stays there, so
// that a division guarded against zero never meets the zero.
func TestConditionalArgumentsNotHoisted(t *testing.T) {
	v, c := table(rows...)
	guarded := func() logical.Expr {
		return &logical.Case{Whens: []logical.Expr{compare("<>", c[2], konst(0))}, Thens: []logical.Expr{arith('/', c[0], c[2])}, T: types.Int8T}
	}
	nonZero := func() logical.Expr { return compare("<>", c[2], konst(0)) }
	div := func() logical.Expr { return arith('/', c[0], c[2]) }
	p := aggregate(v, sum(guarded(), nil), sum(guarded(), nil), sum(div(), nonZero()), sum(arith('+', div(), konst(1)), nonZero()))
	plan, got := run(t, p)
	// 3/1 + 5/2 + 7/3 = 3 + 2 + 2 = 7; plus 1 per row kept: 10
	if got != "7 7 7 10" {
		t.Fatalf("got %s\n%s", got, plan)
	}
	// (the first WHEN runs on every row: c <> 0 may be computed once)
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "Project") && strings.Contains(line, "/") {
			t.Fatalf("a conditional expression was hoisted:\n%s", plan)
		}
	}
}

// TestFilterPassesOnColumnsRead: under an aggregate, a filter passes on
// only the columns the aggregate reads.
func TestFilterPassesOnColumnsRead(t *testing.T) {
	v, c := table(rows...)
	f := &logical.Filter{Input: v, Cond: compare(">", c[2], konst(0))}
	p := aggregate(f, sum(c[0], nil))
	plan, got := run(t, p)
	if got != "15" {
		t.Fatalf("got %s\n%s", got, plan)
	}
	var filter *exec.Filter
	var find func(op exec.Operator)
	find = func(op exec.Operator) {
		if x, ok := op.(*exec.Filter); ok {
			filter = x
		}
		for _, ch := range op.Children() {
			find(ch)
		}
	}
	b := NewBuilder(&exec.Env{Mem: memory.NewGoAllocator()}, nil)
	defer b.Release()
	op, err := b.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	find(op)
	if filter == nil || fmt.Sprint(filter.Keep) != "[0]" || filter.Schema().NumFields() != 1 {
		t.Fatalf("filter keeps %v:\n%s", filter, plan)
	}
}
