package exec

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// randomDecimal draws unscaled values that exercise every path: zero,
// small values, values around the int64 boundary, and values near 10^38
// (the largest a numeric holds), of either sign.
func randomDecimal(rng *rand.Rand) decimal128.Num {
	var v *big.Int
	switch rng.IntN(6) {
	case 0:
		v = big.NewInt(0)
	case 1:
		v = big.NewInt(rng.Int64N(2000) - 1000)
	case 2:
		v = big.NewInt(rng.Int64())
	case 3:
		// around 2^63
		v = new(big.Int).Lsh(big.NewInt(1), 63)
		v.Add(v, big.NewInt(rng.Int64N(200)-100))
	case 4:
		// up to 10^38 - 1
		v = randomDigits(rng, 38)
	default:
		digits := rng.IntN(37) + 1
		v = randomDigits(rng, digits)
	}
	if rng.IntN(2) == 0 {
		v.Neg(v)
	}
	return decimal128.FromBigInt(v)
}

// randomDigits is a random integer of up to n decimal digits.
func randomDigits(rng *rand.Rand, n int) *big.Int {
	digits := make([]byte, n)
	for i := range digits {
		digits[i] = byte('0' + rng.IntN(10))
	}
	v, _ := new(big.Int).SetString(string(digits), 10)
	return v
}

func randomDecimals(mem memory.Allocator, rng *rand.Rand, scale int32, n int, nulls bool) arrow.Array {
	bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: scale})
	defer bld.Release()
	for i := 0; i < n; i++ {
		if nulls && rng.IntN(5) == 0 {
			bld.AppendNull()
			continue
		}
		bld.Append(randomDecimal(rng))
	}
	return bld.NewArray()
}

// arithResultType is the type the binder gives numeric op at these scales.
func arithResultType(op ArithOp, sa, sb int32) types.T {
	switch op {
	case '*':
		return types.NumericT(0, min(sa+sb, 30))
	case '/':
		return types.NumericT(0, max(types.DefaultNumericScale, sa, sb))
	}
	return types.NumericT(0, max(sa, sb))
}

func testEvalContext(mem memory.Allocator) *EvalContext {
	return &EvalContext{Ctx: context.Background(), Mem: mem, Env: NewEnv(mem, 1024, 1)}
}

// TestNumericArithMatchesExact runs the fixed-point kernel on random
// batches and checks every row against the exact big.Rat computation: the
// same values, the same NULLs, and the first row's error when one fails.
func TestNumericArithMatchesExact(t *testing.T) {
	scales := [][2]int32{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {2, 4}, {16, 16}, {16, 2}, {30, 1}, {0, 38}, {38, 0}, {5, 30}}
	for _, op := range []ArithOp{'+', '-', '*', '/', '%'} {
		for _, sc := range scales {
			t.Run(fmt.Sprintf("%c_%d_%d", op, sc[0], sc[1]), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				rng := rand.New(rand.NewPCG(uint64(op), uint64(sc[0]*100+sc[1])))
				rt := arithResultType(op, sc[0], sc[1])
				kernel := numericArith(op, rt)
				ec := testEvalContext(mem)
				for batch := 0; batch < 300; batch++ {
					// small batches: most hold no failing row
					n := 1 + rng.IntN(4)
					a := randomDecimals(mem, rng, sc[0], n, batch%3 == 0)
					b := randomDecimals(mem, rng, sc[1], n, batch%4 == 0)
					checkArithBatch(t, ec, kernel, op, rt, a, b)
					a.Release()
					b.Release()
				}
			})
		}
	}
}

func checkArithBatch(t *testing.T, ec *EvalContext, kernel Kernel, op ArithOp, rt types.T, a, b arrow.Array) {
	t.Helper()
	sa, sb := decimalScale(a), decimalScale(b)
	var wantErr error
	want := make([]types.Datum, a.Len())
	for i := range want {
		if a.IsNull(i) || b.IsNull(i) {
			continue
		}
		d, err := exactNumericArith(op, a.(*array.Decimal128).Value(i), b.(*array.Decimal128).Value(i), sa, sb, rt)
		if err != nil {
			wantErr = err
			break
		}
		want[i] = d
	}
	got, err := kernel(ec, []arrow.Array{a, b}, a.Len())
	if wantErr != nil {
		var we, ge *sqlerr.Error
		if !errors.As(wantErr, &we) || !errors.As(err, &ge) || we.Code != ge.Code || we.Message != ge.Message {
			t.Fatalf("%v %c %v: got error %v, want %v", a, op, b, err, wantErr)
		}
		if got != nil {
			got.Release()
		}
		return
	}
	if err != nil {
		t.Fatalf("%v %c %v: %v", a, op, b, err)
	}
	defer got.Release()
	for i, w := range want {
		g := DatumAt(got, i)
		if (g == nil) != (w == nil) || (g != nil && g.(decimal128.Num) != w.(decimal128.Num)) {
			t.Fatalf("row %d: %s %c %s: got %v, want %v", i, types.Format(types.NumericT(0, sa), DatumAt(a, i)), op,
				types.Format(types.NumericT(0, sb), DatumAt(b, i)), fmtDec(g, rt.Scale), fmtDec(w, rt.Scale))
		}
	}
}

func fmtDec(d types.Datum, scale int32) string {
	if d == nil {
		return "NULL"
	}
	return types.FormatNumeric(d.(decimal128.Num), scale)
}

// TestNumericArithEdges checks chosen values: rounding ties of either
// sign, 10^38 - 1, division by zero on a NULL row (no error) and on a
// value (22012), and overflow (22003).
func TestNumericArithEdges(t *testing.T) {
	cases := []struct {
		op     ArithOp
		a, b   string
		sa, sb int32
		want   string // or the SQLSTATE of the error
	}{
		{'+', "1.25", "2", 2, 0, "3.25"},
		{'-', "-1.25", "0.005", 2, 3, "-1.255"},
		{'*', "0.000000000000005", "0.0000000000000001", 16, 16, "0.000000000000000000000000000001"}, // 32 digits rounded to 30: tie away from zero
		{'*', "-0.000000000000005", "0.0000000000000001", 16, 16, "-0.000000000000000000000000000001"},
		{'*', "0.000000000000004", "0.0000000000000001", 16, 16, "0.000000000000000000000000000000"},
		{'/', "2", "3", 0, 0, "0.6666666666666667"},
		{'/', "-2", "3", 0, 0, "-0.6666666666666667"},
		{'/', "1", "0", 0, 0, sqlerr.DivisionByZero},
		{'%', "1", "0.00", 0, 2, sqlerr.DivisionByZero},
		{'%', "-7.5", "2", 1, 0, "-1.5"},
		{'%', "7.5", "-2", 1, 0, "1.5"},
		{'+', "99999999999999999999999999999999999999", "1", 0, 0, sqlerr.NumericOutOfRange},
		{'-', "-99999999999999999999999999999999999999", "1", 0, 0, sqlerr.NumericOutOfRange},
		{'+', "99999999999999999999999999999999999999", "-1", 0, 0, "99999999999999999999999999999999999998"},
		{'*', "10000000000000000000", "10000000000000000000", 0, 0, sqlerr.NumericOutOfRange},
		{'*', "9999999999999999999", "9999999999999999999", 0, 0, "99999999999999999980000000000000000001"},
		{'*', "-9223372036854775808", "2", 0, 0, "-18446744073709551616"},
		{'/', "99999999999999999999999", "0.0001", 0, 4, sqlerr.NumericOutOfRange},
		{'+', "0.1", "99999999999999999999999999999999999.899", 1, 3, "99999999999999999999999999999999999.999"},
		{'+', "0.1", "99999999999999999999999999999999999.999", 1, 3, sqlerr.NumericOutOfRange},
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := testEvalContext(mem)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s%c%s", c.a, c.op, c.b), func(t *testing.T) {
			a := decimalArray(t, mem, c.a, c.sa)
			defer a.Release()
			b := decimalArray(t, mem, c.b, c.sb)
			defer b.Release()
			rt := arithResultType(c.op, c.sa, c.sb)
			got, err := numericArith(c.op, rt)(ec, []arrow.Array{a, b}, 2)
			if isSQLState(c.want) {
				var e *sqlerr.Error
				if !errors.As(err, &e) || e.Code != c.want {
					t.Fatalf("got %v, %v; want SQLSTATE %s", got, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if s := fmtDec(DatumAt(got, 0), rt.Scale); s != c.want {
				t.Fatalf("got %s, want %s", s, c.want)
			}
			if DatumAt(got, 1) != nil {
				t.Fatalf("NULL row gave %v", DatumAt(got, 1))
			}
		})
	}
}

func isSQLState(s string) bool {
	return s == sqlerr.DivisionByZero || s == sqlerr.NumericOutOfRange
}

// decimalArray is [v, NULL] at scale s.
func decimalArray(t *testing.T, mem memory.Allocator, v string, s int32) arrow.Array {
	t.Helper()
	d, err := types.ParseNumeric(types.NumericT(0, s), v)
	if err != nil {
		t.Fatal(err)
	}
	bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: s})
	defer bld.Release()
	bld.Append(d.(decimal128.Num))
	bld.AppendNull()
	return bld.NewArray()
}

// TestNumericSumAvgMatchesExact feeds random batches (some with NULLs,
// some groups with no value) to sum, avg, min and max over numeric, in
// two partial accumulators merged as HashAggregate merges them, and checks
// every group against exact big-number arithmetic.
func TestNumericSumAvgMatchesExact(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scale int32
		huge  bool // values near 10^38: sums overflow 128 bits and 10^38
	}{
		{"moderate_s2", 2, false},
		{"moderate_s0", 0, false},
		{"moderate_s16", 16, false},
		{"huge_s2", 2, true},
		{"huge_s30", 30, true},
	} {
		for _, agg := range []string{"sum", "avg", "min", "max"} {
			t.Run(tc.name+"_"+agg, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				ec := testEvalContext(mem)
				rng := rand.New(rand.NewPCG(uint64(tc.scale), uint64(len(agg))))
				for trial := 0; trial < 40; trial++ {
					checkAggTrial(t, ec, rng, agg, tc.scale, tc.huge)
				}
			})
		}
	}
}

func checkAggTrial(t *testing.T, ec *EvalContext, rng *rand.Rand, agg string, scale int32, huge bool) {
	t.Helper()
	in := types.NumericT(0, scale)
	_, ret, newAcc, err := Aggregates()[agg].Resolve([]types.T{in})
	if err != nil {
		t.Fatal(err)
	}
	ng := 1 + rng.IntN(6)
	parts := []Accumulator{newAcc(), newAcc()}
	sums := make([]*big.Int, ng)
	counts := make([]int64, ng)
	best := make([]*big.Int, ng)
	for batch := 0; batch < 6; batch++ {
		n := rng.IntN(50)
		bld := array.NewDecimal128Builder(ec.Mem, &arrow.Decimal128Type{Precision: 38, Scale: scale})
		groups := make([]uint32, n)
		for i := range groups {
			g := rng.IntN(ng)
			groups[i] = uint32(g)
			if batch%2 == 1 && rng.IntN(3) == 0 {
				bld.AppendNull()
				continue
			}
			v := decimal128.FromI64(rng.Int64N(2_000_000_000_000) - 1_000_000_000_000)
			if huge {
				v = randomDecimal(rng)
			}
			bld.Append(v)
			bv := v.BigInt()
			if sums[g] == nil {
				sums[g] = new(big.Int)
				best[g] = bv
			}
			sums[g].Add(sums[g], bv)
			counts[g]++
			if c := bv.Cmp(best[g]); (agg == "min" && c < 0) || (agg == "max" && c > 0) {
				best[g] = bv
			}
		}
		arr := bld.NewArray()
		bld.Release()
		// every group exists in both partials, as the group table grows
		err := parts[batch%2].Update(ec, groups, ng, []arrow.Array{arr})
		arr.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	mapping := make([]uint32, ng)
	for g := range mapping {
		mapping[g] = uint32(g)
	}
	parts[0].Merge(parts[1], mapping, ng)
	got, gotErr := parts[0].Finish(ec, ng)
	var wantErr error
	want := make([]types.Datum, ng)
	for g := range want {
		if sums[g] == nil {
			continue
		}
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
		var r *big.Rat
		switch agg {
		case "sum":
			r = new(big.Rat).SetFrac(sums[g], den)
		case "avg":
			r = new(big.Rat).SetFrac(sums[g], den.Mul(den, big.NewInt(counts[g])))
		default:
			r = new(big.Rat).SetFrac(best[g], den)
		}
		d, err := types.RatToNumeric(r, ret)
		if err != nil {
			wantErr = err
			break
		}
		want[g] = d
	}
	if wantErr != nil {
		var we, ge *sqlerr.Error
		if !errors.As(wantErr, &we) || !errors.As(gotErr, &ge) || we.Code != ge.Code || we.Message != ge.Message {
			t.Fatalf("%s: got error %v, want %v", agg, gotErr, wantErr)
		}
		if got != nil {
			got.Release()
		}
		return
	}
	if gotErr != nil {
		t.Fatalf("%s: %v", agg, gotErr)
	}
	defer got.Release()
	for g, w := range want {
		gd := DatumAt(got, g)
		if (gd == nil) != (w == nil) || (gd != nil && gd.(decimal128.Num) != w.(decimal128.Num)) {
			t.Fatalf("%s group %d: got %s, want %s", agg, g, fmtDec(gd, ret.Scale), fmtDec(w, ret.Scale))
		}
	}
}

// TestNumericSumSpills sums values whose running sum leaves 128 bits and
// comes back: the result is exact, and a sum past 10^38 is 22003.
func TestNumericSumSpills(t *testing.T) {
	big37 := "90000000000000000000000000000000000000" // 9 * 10^37
	for _, c := range []struct {
		agg  string
		vals []string
		want string
	}{
		{"sum", []string{big37, big37, big37, "-" + big37, "-" + big37, "-" + big37, "5"}, "5"},
		{"sum", []string{big37, big37}, sqlerr.NumericOutOfRange},
		{"avg", []string{big37, big37, "-" + big37, "-" + big37, "4"}, "0.8000000000000000"},
		{"avg", []string{big37, "3"}, sqlerr.NumericOutOfRange}, // 38 digits and scale 16 leave decimal128
		{"avg", []string{"1", "2"}, "1.5000000000000000"},
		{"avg", []string{"-1", "-1", "1"}, "-0.3333333333333333"},
		{"avg", []string{"-2", "-1", "0"}, "-1.0000000000000000"},
	} {
		t.Run(c.agg+c.want, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ec := testEvalContext(mem)
			_, ret, newAcc, err := Aggregates()[c.agg].Resolve([]types.T{types.NumericT(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			acc := newAcc()
			bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 0})
			for _, v := range c.vals {
				d, err := types.ParseNumeric(types.NumericT(0, 0), v)
				if err != nil {
					t.Fatal(err)
				}
				bld.Append(d.(decimal128.Num))
			}
			arr := bld.NewArray()
			bld.Release()
			defer arr.Release()
			if err := acc.Update(ec, make([]uint32, len(c.vals)), 1, []arrow.Array{arr}); err != nil {
				t.Fatal(err)
			}
			got, err := acc.Finish(ec, 1)
			if isSQLState(c.want) {
				var e *sqlerr.Error
				if !errors.As(err, &e) || e.Code != c.want {
					t.Fatalf("got %v, want SQLSTATE %s", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if s := fmtDec(DatumAt(got, 0), ret.Scale); s != c.want {
				t.Fatalf("got %s, want %s", s, c.want)
			}
		})
	}
}

// TestNumericCastsMatchExact casts random batches with the array kernels
// and checks every row against CastDatum, the per-value reference: the
// same value, or the first failing row's error.
func TestNumericCastsMatchExact(t *testing.T) {
	type cast struct{ from, to types.T }
	var casts []cast
	for _, s := range []int32{0, 2, 16, 30} {
		from := types.NumericT(0, s)
		for _, to := range []types.T{types.NumericT(0, 0), types.NumericT(0, 2), types.NumericT(15, 2), types.NumericT(10, 5), types.NumericT(38, 38), types.NumericT(0, 20),
			types.Int2T, types.Int4T, types.Int8T, types.Float8T} {
			casts = append(casts, cast{from, to})
		}
	}
	for _, from := range []types.T{types.Int2T, types.Int4T, types.Int8T} {
		for _, to := range []types.T{types.NumericT(0, 0), types.NumericT(5, 2), types.NumericT(0, 20), types.NumericT(20, 0)} {
			casts = append(casts, cast{from, to})
		}
	}
	for _, c := range casts {
		t.Run(c.from.String()+"_to_"+c.to.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ec := testEvalContext(mem)
			rng := rand.New(rand.NewPCG(uint64(c.from.Scale), uint64(c.to.Scale)))
			for batch := 0; batch < 200; batch++ {
				a := randomCastInput(mem, rng, c.from, 1+rng.IntN(4), batch%3 == 0)
				checkCastBatch(t, ec, a, c.from, c.to)
				a.Release()
			}
		})
	}
}

func randomCastInput(mem memory.Allocator, rng *rand.Rand, t types.T, n int, nulls bool) arrow.Array {
	if t.Kind == types.Numeric {
		if rng.IntN(2) == 0 {
			// mostly values of a realistic size
			bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: t.Scale})
			defer bld.Release()
			for i := 0; i < n; i++ {
				if nulls && i == 0 {
					bld.AppendNull()
					continue
				}
				bld.Append(decimal128.FromI64(rng.Int64N(1<<(1+rng.IntN(62))) - rng.Int64N(1<<40)))
			}
			return bld.NewArray()
		}
		return randomDecimals(mem, rng, t.Scale, n, nulls)
	}
	bld := newBuilder(testEvalContext(mem), t)
	defer bld.Release()
	for i := 0; i < n; i++ {
		if nulls && i == 0 {
			bld.AppendNull()
			continue
		}
		v := rng.Int64()
		if rng.IntN(2) == 0 {
			v = rng.Int64N(200000) - 100000
		}
		AppendDatum(bld, truncateInt(v, t))
	}
	return bld.NewArray()
}

func checkCastBatch(t *testing.T, ec *EvalContext, a arrow.Array, from, to types.T) {
	t.Helper()
	var wantErr error
	want := make([]types.Datum, a.Len())
	for i := range want {
		d, err := CastDatum(DatumAt(a, i), from, to, true)
		if err != nil {
			wantErr = err
			break
		}
		want[i] = d
	}
	got, err := CastArray(ec, a, from, to, true)
	if wantErr != nil {
		var we, ge *sqlerr.Error
		if !errors.As(wantErr, &we) || !errors.As(err, &ge) || we.Code != ge.Code || we.Message != ge.Message || we.Detail != ge.Detail {
			t.Fatalf("%v: got error %v, want %v", a, err, wantErr)
		}
		if got != nil {
			got.Release()
		}
		return
	}
	if err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	defer got.Release()
	for i, w := range want {
		g := DatumAt(got, i)
		if g != w {
			t.Fatalf("row %d: %s: got %s, want %s", i, types.Format(from, DatumAt(a, i)), types.Format(to, g), types.Format(to, w))
		}
	}
}

// TestNumericCompareMatchesExact compares random decimals of equal and of
// different scales with every operator against exact rationals.
func TestNumericCompareMatchesExact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := testEvalContext(mem)
	rng := rand.New(rand.NewPCG(7, 11))
	for _, sc := range [][2]int32{{2, 2}, {0, 2}, {2, 0}, {0, 38}, {16, 3}, {30, 30}} {
		for _, op := range []CmpOp{"=", "<>", "<", "<=", ">", ">="} {
			kernel := CompareKernel(op, types.NumericT(0, max(sc[0], sc[1])))
			for batch := 0; batch < 50; batch++ {
				n := 1 + rng.IntN(20)
				a := randomDecimals(mem, rng, sc[0], n, batch%2 == 0)
				b := randomDecimals(mem, rng, sc[1], n, batch%3 == 0)
				if batch%5 == 0 {
					// equal values written at different scales
					b.Release()
					b = rescaledCopy(t, mem, a, sc[1])
				}
				got, err := kernel(ec, []arrow.Array{a, b}, n)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					var want types.Datum
					if a.IsValid(i) && b.IsValid(i) {
						x := types.NumericToRat(a.(*array.Decimal128).Value(i), sc[0])
						y := types.NumericToRat(b.(*array.Decimal128).Value(i), sc[1])
						want = op.holds(x.Cmp(y))
					}
					if g := DatumAt(got, i); g != want {
						t.Fatalf("%s %s %s (scales %v): got %v, want %v", fmtDec(DatumAt(a, i), sc[0]), op, fmtDec(DatumAt(b, i), sc[1]), sc, g, want)
					}
				}
				got.Release()
				a.Release()
				b.Release()
			}
		}
	}
}

// rescaledCopy is a at scale s where the value fits, a's own unscaled
// value elsewhere (so that some rows compare equal across scales).
func rescaledCopy(t *testing.T, mem memory.Allocator, a arrow.Array, s int32) arrow.Array {
	t.Helper()
	bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: s})
	defer bld.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			bld.AppendNull()
			continue
		}
		v := a.(*array.Decimal128).Value(i)
		if r, ok := rescale(v, decimalScale(a), s); ok {
			v = r
		}
		bld.Append(v)
	}
	return bld.NewArray()
}

// TestNumericRoundMatchesExact runs round and trunc over random values
// and places (NULLs among both) against scaleNumeric, the big.Rat form.
func TestNumericRoundMatchesExact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := testEvalContext(mem)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, trunc := range []bool{false, true} {
		kernel := roundNumericKernel(trunc)
		for batch := 0; batch < 300; batch++ {
			n := 1 + rng.IntN(8)
			a := randomCastInput(mem, rng, types.NumericT(0, types.DefaultNumericScale), n, batch%2 == 0)
			pb := array.NewInt32Builder(mem)
			for i := 0; i < n; i++ {
				if batch%3 == 0 && i == n-1 {
					pb.AppendNull()
					continue
				}
				pb.Append(int32(rng.IntN(70) - 50))
			}
			places := pb.NewArray()
			pb.Release()
			got, err := kernel(ec, []arrow.Array{a, places}, n)
			var wantErr error
			for i := 0; i < n && wantErr == nil; i++ {
				if a.IsNull(i) || places.IsNull(i) {
					if err == nil && got.IsValid(i) {
						t.Fatalf("row %d: NULL input gave %v", i, DatumAt(got, i))
					}
					continue
				}
				want, werr := scaleNumeric([]types.Datum{DatumAt(a, i), DatumAt(places, i)}, trunc)
				if werr != nil {
					wantErr = werr
					break
				}
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if g := DatumAt(got, i); g != want {
					t.Fatalf("round/trunc(%s, %v) trunc=%v: got %s, want %s", fmtDec(DatumAt(a, i), 16), DatumAt(places, i), trunc, fmtDec(g, 16), fmtDec(want, 16))
				}
			}
			if wantErr != nil {
				var we, ge *sqlerr.Error
				if !errors.As(wantErr, &we) || !errors.As(err, &ge) || we.Code != ge.Code {
					t.Fatalf("got error %v, want %v", err, wantErr)
				}
			}
			if got != nil {
				got.Release()
			}
			a.Release()
			places.Release()
		}
	}
}

// TestNumericCaseCoalesce evaluates CASE and COALESCE with numeric results
// on random batches and checks each row against the value its branch
// gives, NULLs included, with no memory left behind.
func TestNumericCaseCoalesce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := testEvalContext(mem)
	rng := rand.New(rand.NewPCG(9, 9))
	nt := types.NumericT(0, 2)
	a := &ColumnExpr{Index: 0, T: nt, Name: "a"}
	b := &ColumnExpr{Index: 1, T: nt, Name: "b"}
	positive := &CallExpr{Name: ">", Args: []Expr{a, &ConstExpr{T: nt, Value: decimal128.Num{}}}, Kernel: CompareKernel(">", nt), T: types.BoolT}
	caseExpr := &CaseExpr{Whens: []Expr{positive}, Thens: []Expr{a}, Else: b, T: nt}
	coalesce := &CoalesceExpr{Args: []Expr{a, b}, T: nt}
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: nt.Arrow(), Nullable: true}, {Name: "b", Type: nt.Arrow(), Nullable: true}}, nil)
	for batch := 0; batch < 50; batch++ {
		n := rng.IntN(30)
		cols := []arrow.Array{randomDecimals(mem, rng, 2, n, true), randomDecimals(mem, rng, 2, n, batch%2 == 0)}
		rec := array.NewRecord(schema, cols, int64(n))
		cols[0].Release()
		cols[1].Release()
		for _, e := range []Expr{caseExpr, coalesce} {
			got, err := e.Eval(ec, rec)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				x, y := DatumAt(rec.Column(0), i), DatumAt(rec.Column(1), i)
				want := y
				if _, isCase := e.(*CaseExpr); isCase && x != nil && x.(decimal128.Num).Sign() > 0 {
					want = x
				} else if !isCase && x != nil {
					want = x
				}
				if g := DatumAt(got, i); g != want {
					t.Fatalf("%s row %d (a=%v b=%v): got %v, want %v", e, i, x, y, g, want)
				}
			}
			got.Release()
		}
		rec.Release()
	}
}
