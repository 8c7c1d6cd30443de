package exec

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// The test table: i int8, d date, n numeric(15,2), s text, c char(3),
// k int8; every column may hold NULLs.
var (
	selNumT = types.T{Kind: types.Numeric, Prec: 15, Scale: 2}
	selChar = types.T{Kind: types.Char, Len: 3}
	selCols = []types.T{types.Int8T, types.DateT, selNumT, types.TextT, selChar, types.Int8T}
)

// selRow is one row of the test table; a nil field is NULL.
type selRow struct {
	i *int64
	d *int32
	n *int64 // in hundredths
	s *string
	c *string
	k *int64
}

func p[T any](v T) *T { return &v }

func selSchema() *arrow.Schema {
	names := []string{"i", "d", "n", "s", "c", "k"}
	fields := make([]arrow.Field, len(names))
	for c, name := range names {
		fields[c] = arrow.Field{Name: name, Type: selCols[c].Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func selBatch(mem memory.Allocator, rows []selRow) arrow.Record {
	bld := array.NewRecordBuilder(mem, selSchema())
	defer bld.Release()
	put := func(c int, v types.Datum) { AppendDatum(bld.Field(c), v) }
	for _, r := range rows {
		put(0, datumOf(r.i))
		put(1, datumOf(r.d))
		if r.n == nil {
			put(2, nil)
		} else {
			put(2, decimal128.FromI64(*r.n))
		}
		put(3, datumOf(r.s))
		put(4, datumOf(r.c))
		put(5, datumOf(r.k))
	}
	return bld.NewRecord()
}

func datumOf[T any](v *T) types.Datum {
	if v == nil {
		return nil
	}
	return *v
}

func col(c int) *ColumnExpr {
	return &ColumnExpr{Index: c, T: selCols[c], Name: selSchema().Field(c).Name}
}

func konst(t types.T, v types.Datum) *ConstExpr { return &ConstExpr{Value: v, T: t} }

// cmpExpr builds a comparison the way the planner compiles one.
func cmpExpr(op CmpOp, l, r Expr) Expr {
	call := &CallExpr{Name: string(op), Args: []Expr{l, r}, Kernel: CompareKernel(op, l.Type()), T: types.BoolT, Infix: true}
	if e := NewCompareExpr(op, call); e != nil {
		return e
	}
	return call
}

// arith is x op y, both of one numeric type, as the planner compiles it.
func arith(op ArithOp, x, y Expr) Expr {
	k, _ := ArithKernel(op, x.Type())
	return &CallExpr{Name: string(op), Args: []Expr{x, y}, Kernel: k, T: x.Type(), Infix: true}
}

func and(args ...Expr) Expr { return &BoolOp{And: true, Args: args} }
func or(args ...Expr) Expr  { return &BoolOp{Args: args} }
func not(arg Expr) Expr     { return &NotExpr{Arg: arg} }

// selFixture is a batch whose rows the cases below are checked against by
// hand.
var selFixture = []selRow{
	/* 0 */ {i: p[int64](1), d: p[int32](100), n: p[int64](5), s: p[string]("a"), c: p[string]("x  "), k: p[int64](10)},
	/* 1 */ {i: p[int64](2), d: p[int32](200), n: p[int64](7), s: p[string]("b"), c: p[string]("y"), k: p[int64](20)},
	/* 2 */ {i: nil, d: p[int32](300), n: nil, s: nil, c: nil, k: nil},
	/* 3 */ {i: p[int64](0), d: nil, n: p[int64](2400), s: p[string]("ab"), c: p[string]("x"), k: p[int64](0)},
	/* 4 */ {i: p[int64](4), d: p[int32](100), n: p[int64](-3), s: p[string](""), c: p[string](""), k: p[int64](4)},
	/* 5 */ {i: p[int64](5), d: p[int32](500), n: p[int64](6), s: p[string]("b"), c: p[string]("y "), k: nil},
}

func TestFilterSelectsRows(t *testing.T) {
	num := func(hundredths int64) *ConstExpr { return konst(selNumT, decimal128.FromI64(hundredths)) }
	// 0.055 (scale 3) has more digits than the column: the typed loop
	// steps aside and the kernel compares
	fine := konst(types.T{Kind: types.Numeric, Prec: 4, Scale: 3}, decimal128.FromI64(55))
	i4 := func(v int64) *ConstExpr { return konst(types.Int8T, v) }
	div := func(l, r Expr) Expr {
		k, _ := ArithKernel('/', types.Int8T)
		return &CallExpr{Name: "/", Args: []Expr{l, r}, Kernel: k, T: types.Int8T, Infix: true}
	}
	isNull := func(e Expr) Expr { return &NullTest{Arg: e} }
	cases := []struct {
		name string
		pred Expr
		want []int
	}{
		{"int = const", cmpExpr("=", col(0), i4(2)), []int{1}},
		{"int <> const skips NULL", cmpExpr("<>", col(0), i4(2)), []int{0, 3, 4, 5}},
		{"const > int flips", cmpExpr(">", i4(2), col(0)), []int{0, 3}},
		{"int >= const", cmpExpr(">=", col(0), i4(4)), []int{4, 5}},
		{"date < const", cmpExpr("<", col(1), konst(types.DateT, int32(300))), []int{0, 1, 4}},
		{"date <= const", cmpExpr("<=", col(1), konst(types.DateT, int32(300))), []int{0, 1, 2, 4}},
		{"numeric between", and(cmpExpr(">=", col(2), num(5)), cmpExpr("<=", col(2), num(7))), []int{0, 1, 5}},
		{"numeric < integer-valued const", cmpExpr("<", col(2), konst(types.T{Kind: types.Numeric, Scale: 0}, decimal128.FromI64(24))), []int{0, 1, 4, 5}},
		{"numeric > finer const", cmpExpr(">", col(2), fine), []int{1, 3, 5}},
		{"identity cast of numeric", cmpExpr("=", &CastExpr{Arg: col(2), To: selNumT}, num(2400)), []int{3}},
		{"int8 > const", cmpExpr(">", col(5), konst(types.Int8T, int64(4))), []int{0, 1}},
		{"text = const", cmpExpr("=", col(3), konst(types.TextT, "b")), []int{1, 5}},
		{"text < const", cmpExpr("<", col(3), konst(types.TextT, "ab")), []int{0, 4}},
		{"char ignores trailing blanks", cmpExpr("=", col(4), konst(selChar, "y  ")), []int{1, 5}},
		{"char <> const", cmpExpr("<>", col(4), konst(selChar, "x")), []int{1, 4, 5}},
		{"column against column", cmpExpr("<", col(0), col(5)), []int{0, 1}},
		{"comparison with NULL", cmpExpr("=", col(0), konst(types.Int8T, nil)), nil},
		{"NOT of comparison skips NULL", not(cmpExpr("=", col(0), i4(2))), []int{0, 3, 4, 5}},
		{"OR", or(cmpExpr("=", col(0), i4(1)), cmpExpr("=", col(3), konst(types.TextT, "b"))), []int{0, 1, 5}},
		{"OR with NULL arm", or(cmpExpr("=", col(0), i4(9)), cmpExpr("<", col(2), num(0))), []int{4}},
		{"NOT (NULL AND false) is true", not(and(cmpExpr("=", col(0), i4(1)), cmpExpr("=", col(1), konst(types.DateT, int32(999))))), []int{0, 1, 2, 3, 4, 5}},
		{"NOT (a OR b) keeps rows both are false", not(or(cmpExpr("<", col(0), i4(2)), cmpExpr(">", col(5), konst(types.Int8T, int64(10))))), []int{4}},
		{"NOT (a AND b) under OR", or(cmpExpr("=", col(0), i4(5)), not(and(cmpExpr(">", col(0), i4(0)), cmpExpr("<", col(0), i4(3))))), []int{3, 4, 5}},
		{"all false", cmpExpr(">", col(0), i4(100)), nil},
		{"all true but NULL", cmpExpr(">", col(0), i4(-100)), []int{0, 1, 3, 4, 5}},
		{"later conjunct sees only kept rows", and(cmpExpr("<>", col(0), i4(0)), cmpExpr(">", div(i4(100), col(0)), i4(30))), []int{0, 1}},
		{"fallback expression in AND", and(cmpExpr(">", col(1), konst(types.DateT, int32(100))), isNull(col(0))), []int{2}},
		{"fallback NOT IS NULL in OR", or(cmpExpr("=", col(0), i4(1)), not(isNull(col(1)))), []int{0, 1, 2, 4, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b := selBatch(mem, selFixture)
			defer b.Release()
			got := filterRows(t, mem, []arrow.Record{b}, c.pred)
			if !slices.Equal(got, c.want) {
				t.Fatalf("rows %v, want %v", got, c.want)
			}
		})
	}
}

// filterRows runs a Filter over batches and returns the global indexes of
// the rows it kept, read back from the column numberRows adds.
func filterRows(t *testing.T, mem memory.Allocator, batches []arrow.Record, pred Expr) []int {
	t.Helper()
	ids := numberRows(mem, batches)
	defer releaseRecords(ids)
	f := &Filter{Env: &Env{Mem: mem}, Input: &Scan{Parts: [][]arrow.Record{ids}, Columns: []int{0, 1, 2, 3, 4, 5, 6}, Out: idSchema()}, Pred: pred}
	out, err := Drain(context.Background(), f, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseRecords(out)
	var rows []int
	for _, r := range out {
		if r.NumRows() == 0 {
			t.Fatal("the filter passed on an empty batch")
		}
		id := r.Column(6).(*array.Int64)
		for j := 0; j < id.Len(); j++ {
			rows = append(rows, int(id.Value(j)))
		}
	}
	return rows
}

// numberRows appends to each batch a column 6 holding each row's index
// over all batches.
func numberRows(mem memory.Allocator, batches []arrow.Record) []arrow.Record {
	schema := idSchema()
	var out []arrow.Record
	next := int64(0)
	for _, b := range batches {
		ib := array.NewInt64Builder(mem)
		for j := 0; j < int(b.NumRows()); j++ {
			ib.Append(next)
			next++
		}
		id := ib.NewArray()
		ib.Release()
		out = append(out, array.NewRecord(schema, append(b.Columns()[:6:6], id), b.NumRows()))
		id.Release()
	}
	return out
}

// idSchema is the test table's schema and the row id column.
func idSchema() *arrow.Schema {
	fields := append(selSchema().Fields(), arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64})
	return arrow.NewSchema(fields, nil)
}

func releaseRecords(rs []arrow.Record) {
	for _, r := range rs {
		r.Release()
	}
}

// TestFilterMatchesEval: over many random batches (NULLs in some, none in
// others, empty ones, all-false and all-true ones), the filter keeps
// exactly the rows where the predicate's value, as its Eval computes it on
// the whole batch, is TRUE.
func TestFilterMatchesEval(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(7))
	var batches []arrow.Record
	for k := 0; k < 60; k++ {
		n := rng.Intn(300)
		if k%10 == 3 {
			n = 0
		}
		batches = append(batches, selBatch(mem, randomRows(rng, n, k%3 == 0)))
	}
	defer releaseRecords(batches)
	i4 := func(v int64) *ConstExpr { return konst(types.Int8T, v) }
	num := func(v int64) *ConstExpr { return konst(selNumT, decimal128.FromI64(v)) }
	preds := []Expr{
		cmpExpr("<", col(0), i4(50)),
		cmpExpr(">", col(0), i4(1000)), // false everywhere
		cmpExpr(">=", col(0), i4(0)),   // true wherever not NULL
		and(cmpExpr(">=", col(1), konst(types.DateT, int32(20))), cmpExpr("<", col(1), konst(types.DateT, int32(60))), cmpExpr("<=", col(2), num(500)), cmpExpr(">", col(5), konst(types.Int8T, int64(10)))),
		or(cmpExpr("=", col(3), konst(types.TextT, "b")), cmpExpr("=", col(4), konst(selChar, "x")), and(cmpExpr("<", col(0), col(5)), not(cmpExpr("=", col(2), num(0))))),
		not(or(cmpExpr("<", col(0), i4(30)), not(cmpExpr(">", col(1), konst(types.DateT, int32(40)))))),
		and(or(cmpExpr("<", col(0), i4(10)), cmpExpr(">", col(0), i4(90))), or(cmpExpr("<>", col(3), konst(types.TextT, "a")), &NullTest{Arg: col(5)})),
		// computed values against constants: on the whole batch, on a
		// sparse selection, with the constant first, negated, numeric,
		// and a division whose whole-batch evaluation fails
		cmpExpr("=", arith('%', col(0), i4(3)), i4(0)),
		and(cmpExpr("<", col(0), i4(10)), cmpExpr(">", arith('+', col(5), col(0)), i4(50))),
		not(cmpExpr("<=", i4(40), arith('*', col(0), i4(2)))),
		cmpExpr(">", arith('+', col(2), col(2)), num(100)),
		and(cmpExpr("<>", col(0), i4(0)), cmpExpr(">", arith('/', i4(100), col(0)), i4(5))),
	}
	for k, pred := range preds {
		t.Run(fmt.Sprintf("pred%d", k), func(t *testing.T) {
			got := filterRows(t, mem, batches, pred)
			want := trueRows(t, mem, batches, pred)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: kept %d rows, Eval says %d", pred, len(got), len(want))
			}
		})
	}
}

func randomRows(rng *rand.Rand, n int, nulls bool) []selRow {
	rows := make([]selRow, n)
	maybe := func() bool { return nulls && rng.Intn(5) == 0 }
	texts := []string{"a", "b", "ab", "", "x"}
	chars := []string{"x", "x  ", "y", ""}
	for j := range rows {
		r := &rows[j]
		if !maybe() {
			r.i = p(int64(rng.Intn(100)))
		}
		if !maybe() {
			r.d = p(int32(rng.Intn(80)))
		}
		if !maybe() {
			r.n = p(int64(rng.Intn(2000) - 500))
		}
		if !maybe() {
			r.s = p(texts[rng.Intn(len(texts))])
		}
		if !maybe() {
			r.c = p(chars[rng.Intn(len(chars))])
		}
		if !maybe() {
			r.k = p(int64(rng.Intn(100)))
		}
	}
	return rows
}

// trueRows is the reference: the global indexes of the rows where
// pred.Eval is TRUE.
func trueRows(t *testing.T, mem memory.Allocator, batches []arrow.Record, pred Expr) []int {
	t.Helper()
	ec := &EvalContext{Ctx: context.Background(), Mem: mem, Env: &Env{Mem: mem}}
	var rows []int
	base := 0
	for _, b := range batches {
		a, err := pred.Eval(ec, b)
		if err != nil {
			t.Fatal(err)
		}
		ba := a.(*array.Boolean)
		for j := 0; j < ba.Len(); j++ {
			if ba.IsValid(j) && ba.Value(j) {
				rows = append(rows, base+j)
			}
		}
		a.Release()
		base += int(b.NumRows())
	}
	return rows
}

// TestFilterKeepsColumns: a filter with Keep passes on only those columns,
// whether it keeps some rows or all of them.
func TestFilterKeepsColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := selBatch(mem, selFixture)
	defer b.Release()
	keep := []int{3, 0}
	out := arrow.NewSchema([]arrow.Field{selSchema().Field(3), selSchema().Field(0)}, nil)
	for _, c := range []struct {
		pred Expr
		want string
	}{
		{cmpExpr(">", col(0), konst(types.Int8T, int64(1))), `["b" "" "b"] [2 4 5]`},
		{or(&NullTest{Arg: col(3)}, &NullTest{Arg: col(3), Negate: true}), `["a" "b" (null) "ab" "" "b"] [1 2 (null) 0 4 5]`},
	} {
		f := &Filter{Env: &Env{Mem: mem}, Input: &Scan{Parts: [][]arrow.Record{{b}}, Columns: []int{0, 1, 2, 3, 4, 5}, Out: selSchema()}, Pred: c.pred, Keep: keep, Out: out}
		rs, err := Drain(context.Background(), f, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || !rs[0].Schema().Equal(out) {
			t.Fatalf("%s: %d batches", c.pred, len(rs))
		}
		got := fmt.Sprint(rs[0].Column(0), " ", rs[0].Column(1))
		releaseRecords(rs)
		if got != c.want {
			t.Fatalf("%s: %s, want %s", c.pred, got, c.want)
		}
	}
}

// TestSelectIntegerWidths: the typed loops read int2, int4 and int8
// columns (and timestamps) at their own width, NULLs left out.
func TestSelectIntegerWidths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, typ := range []types.T{types.Int2T, types.Int4T, types.Int8T, types.TimestampT} {
		bld := array.NewBuilder(mem, typ.Arrow())
		for _, v := range []types.Datum{int64(3), nil, int64(-1), int64(7), int64(3)} {
			AppendDatum(bld, v)
		}
		a := bld.NewArray()
		bld.Release()
		for _, c := range []struct {
			op   CmpOp
			want []int32
		}{{"=", []int32{0, 4}}, {"<>", []int32{2, 3}}, {"<", []int32{2}}, {"<=", []int32{0, 2, 4}}, {">", []int32{3}}, {">=", []int32{0, 3, 4}}} {
			got, ok := selectColumnConst(a, c.op, konst(typ, int64(3)), typ, []int32{0, 1, 2, 3, 4}, make([]int32, 0, 5))
			if !ok || !slices.Equal(got, c.want) {
				t.Fatalf("%s %s 3: %v (%v), want %v", typ, c.op, got, ok, c.want)
			}
		}
		a.Release()
	}
}

// BenchmarkSelectComputed filters an 8192-row batch by i % 3 = 0: the
// computed value compared with the constant in the typed loop.
func BenchmarkSelectComputed(b *testing.B) {
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewSource(1))
	batch := selBatch(mem, randomRows(rng, 8192, false))
	defer batch.Release()
	pred := cmpExpr("=", arith('%', col(0), konst(types.Int8T, int64(3))), konst(types.Int8T, int64(0)))
	ec := &EvalContext{Ctx: context.Background(), Mem: mem, Env: &Env{Mem: mem}}
	b.ResetTimer()
	for range b.N {
		if _, err := SelectRows(ec, batch, pred); err != nil {
			b.Fatal(err)
		}
	}
}
