package cluster

import (
	"testing"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// TestShuffleKeys: which group keys a shuffled aggregation may hash (the
// types whose equal values hash alike everywhere), and which keys call a
// volatile function (never shuffled: a row's bucket would depend on the
// draw).
func TestShuffleKeys(t *testing.T) {
	col := func(ty types.T) exec.Expr { return &exec.ColumnExpr{Index: 0, T: ty, Name: "k"} }
	call := func(name string) exec.Expr { return &exec.CallExpr{Name: name, T: types.Float8T} }
	for _, tc := range []struct {
		name               string
		keys               []exec.Expr
		hashable, volatile bool
	}{
		{"int4", []exec.Expr{col(types.Int4T)}, true, false},
		{"int8 and text", []exec.Expr{col(types.Int8T), col(types.TextT)}, true, false},
		{"numeric", []exec.Expr{col(types.NumericT(12, 2))}, true, false},
		{"float8", []exec.Expr{col(types.Float8T)}, true, false},
		{"char", []exec.Expr{col(types.T{Kind: types.Char})}, true, false},
		{"interval", []exec.Expr{col(types.IntervalT)}, false, false},
		{"text and interval", []exec.Expr{col(types.TextT), col(types.IntervalT)}, false, false},
		{"no keys", nil, false, false},
		{"random()", []exec.Expr{call("random")}, true, true},
		{"gen_random_uuid()", []exec.Expr{col(types.Int4T), call("gen_random_uuid")}, true, true},
		{"my_random()", []exec.Expr{call("my_random")}, true, false},
	} {
		if got := hashableKeys(tc.keys); got != tc.hashable {
			t.Errorf("%s: hashable %v, want %v", tc.name, got, tc.hashable)
		}
		if got := volatileKeys(tc.keys); got != tc.volatile {
			t.Errorf("%s: volatile %v, want %v", tc.name, got, tc.volatile)
		}
	}
}
