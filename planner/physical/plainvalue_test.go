package physical

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// TestPlainValueAsEvaluated: the constants and parameters whose value a
// key lookup takes without evaluating them give what evaluating gives;
// the others (out of their type's range, other kinds) are evaluated.
func TestPlainValueAsEvaluated(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	params := []types.Datum{int64(42), nil, true, int64(1) << 40}
	b := NewBuilder(&exec.Env{Mem: mem}, params)
	defer b.Release()
	cases := []struct {
		e     logical.Expr
		plain bool
	}{
		{&logical.Const{Value: int64(-7), T: types.Int4T}, true},
		{&logical.Const{Value: int64(1) << 40, T: types.Int8T}, true},
		{&logical.Const{Value: int64(40000), T: types.Int2T}, false}, // (wraps when evaluated)
		{&logical.Const{Value: int64(1) << 33, T: types.Int4T}, false},
		{&logical.Const{Value: nil, T: types.TextT}, true},
		{&logical.Const{Value: false, T: types.BoolT}, true},
		{&logical.Const{Value: "x", T: types.TextT}, false},
		{&logical.Const{Value: 1.5, T: types.Float8T}, false},
		{&logical.Param{N: 1, T: types.Int4T}, true},
		{&logical.Param{N: 2, T: types.Int8T}, true},
		{&logical.Param{N: 3, T: types.BoolT}, true},
		{&logical.Param{N: 4, T: types.Int4T}, false},
		{&logical.Param{N: 9, T: types.Int4T}, false}, // (no such parameter: evaluating says so)
	}
	for _, c := range cases {
		_, plain := b.plainValue(c.e)
		if plain != c.plain {
			t.Errorf("%s: taken plain %v, want %v", c.e, plain, c.plain)
		}
		got, gotErr := b.evalRowFree(context.Background(), c.e)
		if !plain {
			continue
		}
		// evaluated the long way round
		x, err := b.compile(c.e, layout{})
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := evalCompiled(context.Background(), b, x)
		if fmt.Sprint(got, gotErr) != fmt.Sprint(want, wantErr) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("%s: %v (%T, %v), evaluated %v (%T, %v)", c.e, got, got, gotErr, want, want, wantErr)
		}
	}
}
