package exec

import (
	"context"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestValuesOfLiterals: VALUES rows of literals (an INSERT's, which
// append them to the columns' builders as they are) hold exactly what
// evaluating each literal gives, for every kind of value and NULL, with
// literals beside computed values in the same column.
func TestValuesOfLiterals(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	int4 := types.T{Kind: types.Int4}
	cols := []struct {
		t    types.T
		text string // "" for NULL
	}{
		{types.T{Kind: types.Bool}, "true"},
		{types.T{Kind: types.Int2}, "-7"},
		{int4, "2147483647"},
		{types.T{Kind: types.Int8}, "-9000000000"},
		{types.T{Kind: types.Float4}, "1.5"},
		{types.T{Kind: types.Float8}, "-0.25"},
		{types.T{Kind: types.Numeric, Scale: 2}, "12.34"},
		{types.T{Kind: types.Text}, "héllo"},
		{types.T{Kind: types.Varchar}, ""},
		{types.T{Kind: types.Bytea}, `\x00ff`},
		{types.T{Kind: types.UUID}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{types.T{Kind: types.Date}, "2026-12-07"},
		{types.T{Kind: types.Time}, "01:02:03.5"},
		{types.T{Kind: types.Timestamp}, "2026-12-07 01:02:03.456789"},
		{types.T{Kind: types.TimestampTZ}, "2026-12-07 01:02:03+00"},
		{types.T{Kind: types.Interval}, "1 mon 2 days 03:04:05.6"},
		{types.ArrayOf(int4), "{1,NULL,3}"},
	}
	var fields []arrow.Field
	var literals, nulls []Expr
	for _, c := range cols {
		var d types.Datum
		if c.text != "" || c.t.Kind == types.Varchar {
			var err error
			if d, err = types.Parse(c.t, c.text); err != nil {
				t.Fatalf("%v %q: %v", c.t, c.text, err)
			}
		}
		fields = append(fields, arrow.Field{Name: "c", Type: c.t.Arrow(), Nullable: true})
		literals = append(literals, &ConstExpr{T: c.t, Value: d})
		nulls = append(nulls, &ConstExpr{T: c.t, Value: nil})
	}
	// a computed value in the first column: not a literal
	computed := append([]Expr{&NullTest{Arg: &ConstExpr{T: int4, Value: nil}}}, literals[1:]...)
	rows := [][]Expr{literals, nulls, computed, literals}
	v := &Values{Env: NewEnv(mem, 100, 1), Rows: rows, Out: arrow.NewSchema(fields, nil)}
	recs, err := Drain(context.Background(), v, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ReleaseRecords(recs)
	if len(recs) != 1 || recs[0].NumRows() != int64(len(rows)) {
		t.Fatalf("%d batches, want one of %d rows", len(recs), len(rows))
	}
	ec := newEvalContext(context.Background(), v.Env)
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	for r, row := range rows {
		for c, x := range row {
			a, err := x.Eval(ec, one)
			if err != nil {
				t.Fatal(err)
			}
			want := DatumAt(a, 0)
			a.Release()
			if got := DatumAt(recs[0].Column(c), r); !reflect.DeepEqual(got, want) {
				t.Errorf("row %d, %v: %#v, want %#v", r, cols[c].t, got, want)
			}
		}
	}
}
