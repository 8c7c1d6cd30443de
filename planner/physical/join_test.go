package physical

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// valuesWithIDs is VALUES of int8 columns x, y, z with ids base+1..base+3.
func valuesWithIDs(base int, rows ...[3]int64) (*logical.Values, [3]logical.Expr) {
	v := &logical.Values{}
	var refs [3]logical.Expr
	for i, name := range []string{"x", "y", "z"} {
		col := logical.Column{ID: logical.ColumnID(base + i + 1), Name: name, T: types.Int8T}
		v.Cols = append(v.Cols, col)
		refs[i] = &logical.ColRef{Col: col}
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, []logical.Expr{konst(r[0]), konst(r[1]), konst(r[2])})
	}
	return v, refs
}

// hashJoins lists the hash joins of op's tree.
func hashJoins(op exec.Operator) []*exec.HashJoin {
	var out []*exec.HashJoin
	if j, ok := op.(*exec.HashJoin); ok {
		out = append(out, j)
	}
	for _, c := range op.Children() {
		out = append(out, hashJoins(c)...)
	}
	return out
}

// TestJoinsPassOnOnlyColumnsReadAbove: in a chain of joins under an
// aggregate, each join emits only the columns something above it reads
// (a key the join used up is dropped), and the answer stays right, for
// an inner and a left join chain.
func TestJoinsPassOnOnlyColumnsReadAbove(t *testing.T) {
	for _, kind := range []logical.JoinKind{logical.InnerJoin, logical.LeftJoin} {
		t1, c1 := valuesWithIDs(0, [3]int64{1, 10, 100}, [3]int64{2, 20, 200}, [3]int64{3, 30, 300}, [3]int64{4, 40, 400})
		t2, c2 := valuesWithIDs(10, [3]int64{1, 7, 0}, [3]int64{2, 8, 0}, [3]int64{3, 9, 0})
		t3, c3 := valuesWithIDs(20, [3]int64{7, 0, 1}, [3]int64{8, 0, 2}, [3]int64{9, 0, 4})
		j1 := &logical.Join{Kind: kind, Left: t1, Right: t2, LeftKeys: []logical.Expr{c1[0]}, RightKeys: []logical.Expr{c2[0]}}
		j2 := &logical.Join{Kind: kind, Left: j1, Right: t3, LeftKeys: []logical.Expr{c2[1]}, RightKeys: []logical.Expr{c3[0]}}
		p := aggregate(j2, sum(c1[2], nil), sum(c3[2], nil))
		plan, got := run(t, p)
		want := "600 7" // the inner join drops x=4's row
		if kind == logical.LeftJoin {
			want = "1000 7"
		}
		if got != want {
			t.Fatalf("%v: got %s, want %s\n%s", kind, got, want, plan)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		b := NewBuilder(&exec.Env{Mem: mem, BatchSize: 2}, nil)
		op, err := b.Build(p)
		if err != nil {
			t.Fatal(err)
		}
		joins := hashJoins(op)
		if len(joins) != 2 {
			t.Fatalf("%v: %d hash joins, want 2\n%s", kind, len(joins), plan)
		}
		for _, j := range joins {
			// the lower join: z of t1 and y of t2 (the upper join's key);
			// the upper one: z of t1 and z of t3
			if n := j.Out.NumFields(); n != 2 || len(j.Keep) != 2 {
				t.Errorf("%v: %s emits %d columns (keep %v), want 2\n%s", kind, j.Explain(), n, j.Keep, plan)
			}
		}
		b.Release()
		mem.AssertSize(t, 0)
	}
}
