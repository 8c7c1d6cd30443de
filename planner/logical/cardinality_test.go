package logical

import (
	"math"
	"testing"

	"github.com/weftdb/weft/sql/types"
)

func TestSelectivity(t *testing.T) {
	a := &ColRef{Col: Column{ID: 1, Name: "a", T: types.Int8T}}
	b := &ColRef{Col: Column{ID: 2, Name: "b", T: types.Int8T}}
	s := &ColRef{Col: Column{ID: 3, Name: "s", T: types.TextT}}
	unknown := &ColRef{Col: Column{ID: 9, Name: "u", T: types.Int8T}}
	card := Card{Rows: 1000, Cols: map[ColumnID]ColStat{
		1: {Distinct: 50},
		2: {Distinct: 200, NullFrac: 0.5},
		3: {Distinct: 1000},
	}}
	one := &Const{Value: int64(1), T: types.Int8T}
	op := func(name string, l, r Expr) Expr {
		return &Call{Name: name, Args: []Expr{l, r}, T: types.BoolT, Infix: true}
	}
	pat := &Const{Value: "%x%", T: types.TextT}
	cases := []struct {
		name string
		e    Expr
		want float64
	}{
		{"= constant: 1/distinct", op("=", a, one), 1.0 / 50},
		{"constant = column", op("=", one, a), 1.0 / 50},
		{"= constant over NULLs", op("=", b, one), 0.5 / 200},
		{"= constant, no statistics", op("=", unknown, one), defaultEqSel},
		{"<> constant", op("<>", a, one), 1 - 1.0/50},
		{"range", op("<", a, one), 1.0 / 3},
		{"two ranges", &Bool{And: true, Args: []Expr{op(">=", a, one), op("<", a, one)}}, 1.0 / 9},
		{"LIKE", op("~~", s, pat), defaultMatchSel},
		{"NOT LIKE", op("!~~", s, pat), 1 - defaultMatchSel},
		{"IN (two values) as OR", &Bool{Args: []Expr{op("=", a, one), op("=", a, one)}}, 1 - (1-1.0/50)*(1-1.0/50)},
		{"NOT", &Not{Arg: op("=", a, one)}, 1 - 1.0/50},
		{"IS NULL from statistics", &IsNull{Arg: b}, 0.5},
		{"IS NOT NULL", &IsNull{Arg: b, Negate: true}, 0.5},
		{"column = column: 1/max(distinct), NULLs never equal", op("=", a, b), 0.5 / 200},
		{"cast column", op("=", &Cast{Arg: a, To: types.Float8T}, one), 1.0 / 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Selectivity(c.e, card); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("Selectivity(%s) = %v, want %v", c.e, got, c.want)
			}
		})
	}
}

func TestThinDistinct(t *testing.T) {
	cases := []struct {
		name           string
		d, rows, sel   float64
		wantLo, wantHi float64
	}{
		{"few values survive any filter", 25, 150000, 0.2, 24.99, 25},
		{"a unique column thins with the rows", 1000, 1000, 0.1, 99.9, 100.1},
		{"no filter", 300, 1000, 1, 300, 300},
		{"at least one", 1000, 1000, 1e-9, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := thinDistinct(c.d, c.rows, c.sel)
			if got < c.wantLo || got > c.wantHi {
				t.Errorf("thinDistinct(%v, %v, %v) = %v, want %v..%v", c.d, c.rows, c.sel, got, c.wantLo, c.wantHi)
			}
		})
	}
}

func TestJoinCard(t *testing.T) {
	mk := func(id ColumnID, name string) Column { return Column{ID: id, Name: name, T: types.Int8T} }
	orders := Card{Rows: 1500, Cols: map[ColumnID]ColStat{1: {Distinct: 1500}, 2: {Distinct: 100}}}
	lineitem := Card{Rows: 6000, Cols: map[ColumnID]ColStat{3: {Distinct: 1500}}}
	cases := []struct {
		name string
		kind JoinKind
		want float64
	}{
		{"key to foreign key: the foreign side's rows", InnerJoin, 6000},
		{"left join keeps every left row", LeftJoin, 6000},
		{"semi join: left rows that match", SemiJoin, 1500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := &Join{Kind: c.kind, LeftKeys: []Expr{&ColRef{Col: mk(1, "o_orderkey")}}, RightKeys: []Expr{&ColRef{Col: mk(3, "l_orderkey")}}}
			got := joinCard(j, orders, lineitem)
			if math.Abs(got.Rows-c.want) > 1e-6 {
				t.Errorf("rows %v, want %v", got.Rows, c.want)
			}
		})
	}
}
