package exec

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// selInputTypes are the columns of selInput: a text key g, an int8 x, a
// numeric(12,2) d, a float8 f and a numeric(38,0) h whose sums leave
// 128 bits.
var selInputTypes = []types.T{types.TextT, types.Int8T, types.NumericT(12, 2), types.Float8T, types.NumericT(38, 0)}

func selCol(i int) Expr {
	return &ColumnExpr{Index: i, T: selInputTypes[i], Name: fmt.Sprintf("c%d", i)}
}

func aggSelSchema(ts []types.T) *arrow.Schema {
	fields := make([]arrow.Field, len(ts))
	for i, t := range ts {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: t.Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// aggSelRow is one input row; nil fields are NULL.
type aggSelRow struct {
	g    *string
	x    *int64
	d    *int64 // hundredths
	f    *float64
	h    *big.Int
	kept bool // x > 0
}

func ptr[T any](v T) *T { return &v }

// selInput makes batches of 500 rows over two partitions. x is 1..3 for
// most rows; every fourth batch has rows with x = 0 and x = -10^6, which
// the filter x > 0 drops and on which 1000 / x and x * 2^53 fail. NULLs
// are in some batches only: g in every third, x, d and f in every
// fourth. h is 9*10^37 in the batches 0, 4, 8, …, minus that in 2, 6,
// 10, … (whose rows are all kept and group alike), so that a partial sum
// leaves 128 bits and the total comes back within them.
func selInput(mem memory.Allocator) (*memSource, []aggSelRow) {
	schema := aggSelSchema(selInputTypes)
	src := &memSource{schema: schema, parts: make([][]arrow.Record, 2)}
	huge, _ := new(big.Int).SetString("90000000000000000000000000000000000000", 10)
	var rows []aggSelRow
	for b := 0; b < 24; b++ {
		rb := array.NewRecordBuilder(mem, schema)
		for r := 0; r < 500; r++ {
			i := int64(b*500 + r)
			row := aggSelRow{g: ptr(fmt.Sprintf("g%d", r%7)), x: ptr(1 + i%3), d: ptr(i*37%100000 - 20000), f: ptr(float64(i%11) / 4), h: big.NewInt(i)}
			switch b % 4 {
			case 0:
				row.h.Set(huge)
			case 2:
				row.h.Neg(huge)
			}
			switch {
			case b%4 == 1 && r%9 == 0:
				row.x = ptr(int64(0))
			case b%4 == 1 && r%9 == 1:
				row.x = ptr(int64(-1000000))
			}
			if b%3 == 0 && r%5 == 0 {
				row.g = nil
			}
			if b%4 == 3 && r%6 == 0 {
				row.x, row.d, row.f = nil, nil, nil
			}
			row.kept = row.x != nil && *row.x > 0
			appendSelRow(rb, row)
			rows = append(rows, row)
		}
		src.parts[b%2] = append(src.parts[b%2], rb.NewRecord())
		rb.Release()
	}
	return src, rows
}

func appendSelRow(rb *array.RecordBuilder, row aggSelRow) {
	vals := []types.Datum{nil, nil, nil, nil, nil}
	if row.g != nil {
		vals[0] = *row.g
	}
	if row.x != nil {
		vals[1] = *row.x
	}
	if row.d != nil {
		vals[2] = decimal128.FromI64(*row.d)
	}
	if row.f != nil {
		vals[3] = *row.f
	}
	if row.h != nil {
		vals[4] = decimal128.FromBigInt(row.h)
	}
	for c, v := range vals {
		AppendDatum(rb.Field(c), v)
	}
}

// selOracle is what the aggregation below gives for one key.
type selOracle struct {
	rows, countD, sumX, sumQ int64
	sumD                     int64 // hundredths
	sumF                     float64
	sumH                     big.Int
	minX                     *int64
}

func (o *selOracle) add(r aggSelRow) {
	o.rows++
	if r.d != nil {
		o.countD++
		o.sumD += *r.d
	}
	if r.x != nil {
		o.sumX += *r.x
		o.sumQ += 1000 / *r.x
		if o.minX == nil || *r.x < *o.minX {
			o.minX = ptr(*r.x)
		}
	}
	if r.f != nil {
		o.sumF += *r.f
	}
	o.sumH.Add(&o.sumH, r.h)
}

func (o *selOracle) row() string {
	// the sums of numeric and int8 are numerics, read as scaled integers
	// (at scale 2 for d's, 0 for the others)
	dec := func(v int64) decimal128.Num { return decimal128.FromI64(v) }
	return fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v|%v|%v|", o.rows, o.countD, dec(o.sumD), dec(2*o.sumD), dec(o.sumX), dec(o.sumQ), o.sumF, decimal128.FromBigInt(&o.sumH), *o.minX)
}

// selPlan is
//
//	SELECT g, count(*), count(d), sum(d), sum(d2), sum(x), sum(q), sum(f), sum(h), min(x)
//	FROM (SELECT g, x, d, f, h, d * 2 AS d2, 1000 / x AS q, x * 2^53 AS big FROM t WHERE x > 0) GROUP BY g
//
// (big is computed and not read: it fails on the dropped rows only).
// min has no selection path of its own: it reads the rows copied out.
func selPlan(tb testing.TB, env *Env, src Operator, pred Expr, key int) *HashAggregate {
	k := func(op ArithOp, t types.T) Kernel {
		kern, ok := ArithKernel(op, t)
		if !ok {
			tb.Fatalf("no kernel %c for %s", op, t)
		}
		return kern
	}
	nt := selInputTypes[2]
	d2 := &CallExpr{Name: "*", Args: []Expr{selCol(2), &ConstExpr{Value: decimal128.FromI64(200), T: nt}}, Kernel: k('*', types.NumericT(0, 2)), T: types.NumericT(0, 2), Infix: true}
	q := &CallExpr{Name: "/", Args: []Expr{selCol(1), &ConstExpr{Value: int64(1000), T: types.Int8T}}, Kernel: k('/', types.Int8T), T: types.Int8T, Infix: true}
	q.Args[0], q.Args[1] = q.Args[1], q.Args[0]
	bigX := &CallExpr{Name: "*", Args: []Expr{selCol(1), &ConstExpr{Value: int64(1) << 53, T: types.Int8T}}, Kernel: k('*', types.Int8T), T: types.Int8T, Infix: true}
	filter := &Filter{Env: env, Input: src, Pred: pred}
	exprs := []Expr{selCol(0), selCol(1), selCol(2), selCol(3), selCol(4), d2, q, bigX}
	outTypes := append(append([]types.T{}, selInputTypes...), d2.T, types.Int8T, types.Int8T)
	project := &Project{Env: env, Input: filter, Exprs: exprs, Out: aggSelSchema(outTypes)}
	col := func(i int) Expr { return &ColumnExpr{Index: i, T: outTypes[i]} }
	spec := func(name string, i int) AggSpec {
		a := aggSpec(tb, name, i, outTypes[i])
		a.Args = []Expr{col(i)}
		return a
	}
	aggs := []AggSpec{aggSpec(tb, "count", -1, types.T{}), spec("count", 2), spec("sum", 2), spec("sum", 5), spec("sum", 1), spec("sum", 6), spec("sum", 3), spec("sum", 4), spec("min", 1)}
	return aggPlan(env, project, []Expr{col(key)}, aggs)
}

func xAbove(v int64) Expr {
	return &CallExpr{Name: ">", Args: []Expr{selCol(1), &ConstExpr{Value: v, T: types.Int8T}}, Kernel: CompareKernel(">", types.Int8T), T: types.BoolT, Infix: true}
}

// TestAggregateThroughSelection aggregates over a filter that keeps most
// rows, so that the batches come with a selection: the groups and values
// match a row-by-row oracle over the kept rows, without a memory limit,
// under one that never spills and under one that spills; the expressions
// failing on dropped rows (1000 / 0, an int8 overflow) report nothing; no
// Arrow memory is left.
func TestAggregateThroughSelection(t *testing.T) {
	for _, limit := range []int64{0, 64 << 20, 256 << 10} {
		// g is a text key; x an integer key, which the first batch (all
		// kept, no selection) has the table look up directly by value,
		// so that later selections copy their keys out
		for _, key := range []int{0, 1} {
			t.Run(fmt.Sprintf("limit %d key %d", limit, key), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				src, rows := selInput(mem)
				defer src.release()
				want := selWant(rows, key)
				root, err := spill.OpenRoot(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				env, _, done := spillEnv(t, mem, limit, root)
				defer done()
				got := drainRows(t, selPlan(t, env, src, xAbove(0), key))
				sameRows(t, got, want)
			})
		}
	}
}

// selWant is the oracle's rows, sorted, grouped by g (key 0) or x (1).
func selWant(rows []aggSelRow, key int) []string {
	oracle := map[string]*selOracle{}
	for _, r := range rows {
		if !r.kept {
			continue
		}
		k := fmt.Sprint(*r.x)
		if key == 0 {
			k = "<nil>"
			if r.g != nil {
				k = *r.g
			}
		}
		if oracle[k] == nil {
			oracle[k] = &selOracle{}
		}
		oracle[k].add(r)
	}
	var want []string
	for k, o := range oracle {
		want = append(want, k+"|"+o.row())
	}
	slices.Sort(want)
	return want
}

// TestAggregateThroughSelectionFails: a kept row on which an argument
// fails still fails the statement (22012), through the selection path's
// retry on the kept rows.
func TestAggregateThroughSelectionFails(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, _ := selInput(mem)
	defer src.release()
	env := NewEnv(mem, 1000, 2)
	h := selPlan(t, env, src, xAbove(-1), 0)
	_, err := DrainAll(context.Background(), h)
	if code := sqlerr.Code(err); code != sqlerr.DivisionByZero {
		t.Fatalf("got %v (%s), want division by zero", err, code)
	}
}

// TestAggregateThroughSparseSelection aggregates plain columns straight
// over a filter that keeps a third of the rows (x > 2): the aggregate
// reads them through the selection whatever its density, copying only
// the keys out; with and without a key, against a row-by-row oracle.
func TestAggregateThroughSparseSelection(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed %v", keyed), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			src, rows := selInput(mem)
			defer src.release()
			type sums struct{ rows, countD, sumD, sumX int64 }
			oracle := map[string]*sums{}
			for _, r := range rows {
				if r.x == nil || *r.x <= 2 {
					continue
				}
				k := ""
				if keyed {
					k = "<nil>|"
					if r.g != nil {
						k = *r.g + "|"
					}
				}
				if oracle[k] == nil {
					oracle[k] = &sums{}
				}
				o := oracle[k]
				o.rows++
				o.sumX += *r.x
				if r.d != nil {
					o.countD++
					o.sumD += *r.d
				}
			}
			var want []string
			for k, o := range oracle {
				want = append(want, fmt.Sprintf("%s%v|%v|%v|%v|", k, o.rows, o.countD, decimal128.FromI64(o.sumD), decimal128.FromI64(o.sumX)))
			}
			slices.Sort(want)
			env := NewEnv(mem, 1000, 2)
			filter := &Filter{Env: env, Input: src, Pred: xAbove(2)}
			var keys []Expr
			if keyed {
				keys = []Expr{selCol(0)}
			}
			aggs := []AggSpec{aggSpec(t, "count", -1, types.T{}), aggSpec(t, "count", 2, selInputTypes[2]), aggSpec(t, "sum", 2, selInputTypes[2]), aggSpec(t, "sum", 1, types.Int8T)}
			h := aggPlan(env, filter, keys, aggs)
			if mode := h.aggregatesSelect(); mode != selectAny {
				t.Fatalf("plain-column aggregates read through selections in mode %d, want selectAny", mode)
			}
			sameRows(t, drainRows(t, h), want)
		})
	}
}

// TestSumThroughSelectionOverflow folds int8 and numeric values near
// their limits through selections into two groups, across two batches
// (NULLs in one only): a sum that passes 64 bits (int8) or 128 bits
// (numeric) carries on exactly, and the rows left out of the selection,
// which would change every sum, count for nothing.
func TestSumThroughSelectionOverflow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem}
	const maxI = int64(1<<63 - 1)
	maxD := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1))
	type batch struct {
		vals   []int64 // the int8 values; the numeric ones are vals[i] * 2^64 + 1
		nulls  []bool  // valid flags (nil: none NULL)
		sel    []int32
		groups []uint32 // one per selected row
	}
	batches := []batch{
		{vals: []int64{maxI, 7, maxI, -5, maxI}, sel: []int32{0, 2, 4}, groups: []uint32{0, 0, 1}},
		{vals: []int64{maxI, 1, -maxI, 3}, nulls: []bool{true, false, true, true}, sel: []int32{0, 1, 3}, groups: []uint32{0, 1, 1}},
	}
	wantInt := []*big.Int{big.NewInt(0), big.NewInt(0)}
	wantDec := []*big.Int{big.NewInt(0), big.NewInt(0)}
	numeric := func(v int64) *big.Int {
		x := new(big.Int).Lsh(big.NewInt(v), 64)
		return x.Add(x, big.NewInt(1))
	}
	intAcc := &intSumAcc{ret: types.NumericT(0, 0)}
	decAcc := &decimalSumAcc{ret: types.NumericT(0, 0)}
	for _, b := range batches {
		ib := array.NewInt64Builder(mem)
		db := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 0})
		for i, v := range b.vals {
			if b.nulls != nil && !b.nulls[i] {
				ib.AppendNull()
				db.AppendNull()
				continue
			}
			ib.Append(v)
			d := numeric(v)
			if d.Cmp(maxD) > 0 {
				d = maxD
			}
			db.Append(decimal128.FromBigInt(d))
		}
		ints, decs := ib.NewArray(), db.NewArray()
		ib.Release()
		db.Release()
		for k, r := range b.sel {
			if b.nulls != nil && !b.nulls[r] {
				continue
			}
			wantInt[b.groups[k]].Add(wantInt[b.groups[k]], big.NewInt(b.vals[r]))
			wantDec[b.groups[k]].Add(wantDec[b.groups[k]], decs.(*array.Decimal128).Value(int(r)).BigInt())
		}
		if err := intAcc.updateSel(ec, b.groups, b.sel, 2, []arrow.Array{ints}); err != nil {
			t.Fatal(err)
		}
		if err := decAcc.updateSel(ec, b.groups, b.sel, 2, []arrow.Array{decs}); err != nil {
			t.Fatal(err)
		}
		ints.Release()
		decs.Release()
	}
	if intAcc.big == nil || decAcc.overflow == nil {
		t.Fatal("no sum left its fixed width: the test misses the overflow path")
	}
	for g := 0; g < 2; g++ {
		if got := intAcc.total(g); got.Cmp(wantInt[g]) != 0 {
			t.Errorf("int8 group %d: sum %s, want %s", g, got, wantInt[g])
		}
		// the exact numeric sum: the 128-bit part and what overflowed
		got := decAcc.sums[g].BigInt()
		if o, ok := decAcc.overflow[uint32(g)]; ok {
			got.Add(got, o)
		}
		if got.Cmp(wantDec[g]) != 0 {
			t.Errorf("numeric group %d: sum %s, want %s", g, got, wantDec[g])
		}
	}
}
