package exec

import (
	"context"
	"fmt"
	"io"
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

// spillInputTypes are the columns of spillInput: id, a wide int key g,
// a skewed int key k, a text key s and a numeric value v.
var spillInputTypes = []types.T{types.Int8T, types.Int8T, types.Int8T, types.TextT, types.NumericT(12, 2)}

func spillInputSchema() *arrow.Schema {
	names := []string{"id", "g", "k", "s", "v"}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: spillInputTypes[i].Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func spillCol(i int) Expr {
	return &ColumnExpr{Index: i, T: spillInputTypes[i], Name: spillInputSchema().Field(i).Name}
}

// spillInput makes n batches of rows rows over parts partitions, with
// id offset by first: g takes about mod distinct values in a scrambled
// order; k is 7 for a twentieth of the rows (skew) and otherwise one of
// mod/4 values, NULL now and then in every third batch; s is a text key
// of about mod/3 values, NULL now and then in other batches; v is
// numeric, NULL for some rows.
func spillInput(mem memory.Allocator, parts, n, rows, first, mod int) *memSource {
	schema := spillInputSchema()
	src := &memSource{schema: schema, parts: make([][]arrow.Record, parts)}
	for b := 0; b < n; b++ {
		rb := array.NewRecordBuilder(mem, schema)
		for r := 0; r < rows; r++ {
			id := int64(first + b*rows + r)
			scrambled := (id * 7919) % int64(mod)
			rb.Field(0).(*array.Int64Builder).Append(id)
			rb.Field(1).(*array.Int64Builder).Append(scrambled)
			switch {
			case b%3 == 1 && r%7 == 0:
				rb.Field(2).AppendNull()
			case id%20 == 0:
				rb.Field(2).(*array.Int64Builder).Append(7)
			default:
				rb.Field(2).(*array.Int64Builder).Append(scrambled / 4)
			}
			if b%3 == 2 && r%11 == 0 {
				rb.Field(3).AppendNull()
			} else {
				rb.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("key %d", scrambled/3))
			}
			if r%13 == 0 {
				rb.Field(4).AppendNull()
			} else {
				rb.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(scrambled*17 - 9000))
			}
		}
		src.parts[b%parts] = append(src.parts[b%parts], rb.NewRecord())
		rb.Release()
	}
	return src
}

// spillEnv is an environment with a statement limit of limit bytes
// (none when 0) spilling under root; done checks that no file is left
// and removes the statement's directory.
func spillEnv(t *testing.T, mem memory.Allocator, limit int64, root *spill.Root) (env *Env, qa *QueryAllocator, done func()) {
	t.Helper()
	env = NewEnv(mem, 1000, 2)
	if limit == 0 {
		return env, nil, func() {}
	}
	qa = NewQueryAllocator(mem, QueryLimit{Bytes: limit, Setting: "weft.memory_limit"}, nil, nil)
	q := root.NewQuery()
	env.Mem, env.Memory, env.Spill = qa, qa, q
	return env, qa, func() {
		assertNoFiles(t, root.Dir())
		if err := q.Remove(); err != nil {
			t.Fatal(err)
		}
	}
}

// drainRows reads op's partitions batch by batch and returns its rows as
// text, sorted (the operators on trial promise no order).
func drainRows(t *testing.T, op Operator) []string {
	t.Helper()
	var rows []string
	eachBatch(t, op, func(b arrow.Record) {
		for r := 0; r < int(b.NumRows()); r++ {
			row := ""
			for c := 0; c < int(b.NumCols()); c++ {
				row += fmt.Sprintf("%v|", DatumAt(b.Column(c), r))
			}
			rows = append(rows, row)
		}
	})
	slices.Sort(rows)
	return rows
}

// eachBatch reads op's partitions one after the other and gives each
// batch to use, releasing it after.
func eachBatch(t *testing.T, op Operator, use func(arrow.Record)) {
	t.Helper()
	ctx := context.Background()
	for p := 0; p < op.Partitions(); p++ {
		st, err := op.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := st.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				st.Close()
				t.Fatal(err)
			}
			use(b)
			b.Release()
		}
		st.Close()
	}
}

func sameRows(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

// aggOrdered is an aggregate with an ORDER BY inside the call.
func aggOrdered(tb testing.TB, name string, col int, t types.T, by Expr) AggSpec {
	a := aggSpec(tb, name, col, t)
	a.OrderBy = []SortKey{{Expr: by}}
	return a
}

// stringAgg is string_agg(s, ',' ORDER BY id).
func stringAgg(tb testing.TB) AggSpec {
	_, ret, newAcc, err := Aggregates()["string_agg"].Resolve([]types.T{types.TextT, types.TextT})
	if err != nil {
		tb.Fatal(err)
	}
	args := []Expr{spillCol(3), &ConstExpr{Value: ",", T: types.TextT}}
	return AggSpec{Name: "string_agg", Args: args, New: newAcc, T: ret, OrderBy: []SortKey{{Expr: spillCol(0)}}}
}

func aggDistinct(tb testing.TB, name string, col int, t types.T) AggSpec {
	a := aggSpec(tb, name, col, t)
	a.Distinct = true
	return a
}

func aggPlan(env *Env, src Operator, keys []Expr, aggs []AggSpec) *HashAggregate {
	var fields []arrow.Field
	for i, k := range keys {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("k%d", i), Type: k.Type().Arrow(), Nullable: true})
	}
	for i, a := range aggs {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("a%d", i), Type: a.T.Arrow(), Nullable: true})
	}
	return &HashAggregate{Env: env, Input: src, Keys: keys, Aggs: aggs, Out: arrow.NewSchema(fields, nil)}
}

// TestHashAggregateSpills aggregates 120,000 rows (several MB) under a
// 512 kB statement limit, from one input partition and from three: the
// aggregation spills, never passes the limit, leaves no file, and gives
// exactly the groups and values it gives without a limit.
func TestHashAggregateSpills(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []Expr
		aggs func(testing.TB) []AggSpec
	}{
		{"int key", []Expr{spillCol(1)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggSpec(tb, "count", -1, types.T{}), aggSpec(tb, "sum", 4, spillInputTypes[4]), aggSpec(tb, "min", 3, types.TextT), aggSpec(tb, "max", 0, types.Int8T)}
		}},
		{"skewed key with NULLs", []Expr{spillCol(2)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggSpec(tb, "count", 4, spillInputTypes[4]), aggSpec(tb, "avg", 4, spillInputTypes[4])}
		}},
		{"text key with NULLs", []Expr{spillCol(3)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggSpec(tb, "min", 0, types.Int8T), aggSpec(tb, "sum", 0, types.Int8T)}
		}},
		{"int key, string_agg ordered", []Expr{spillCol(1)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{stringAgg(tb), aggSpec(tb, "sum", 0, types.Int8T)}
		}},
		{"two keys, array_agg ordered", []Expr{spillCol(3), spillCol(2)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggOrdered(tb, "array_agg", 0, types.Int8T, spillCol(0)), aggSpec(tb, "max", 4, spillInputTypes[4])}
		}},
		{"count distinct", []Expr{spillCol(2)}, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggDistinct(tb, "count", 1, types.Int8T), aggDistinct(tb, "sum", 1, types.Int8T)}
		}},
		{"count distinct text, no key", nil, func(tb testing.TB) []AggSpec {
			return []AggSpec{aggDistinct(tb, "count", 3, types.TextT), aggDistinct(tb, "max", 3, types.TextT)}
		}},
		{"distinct rows", []Expr{spillCol(1), spillCol(3)}, func(testing.TB) []AggSpec { return nil }},
	} {
		for _, parts := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d partitions", tc.name, parts), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				src := spillInput(mem, parts, 200, 1000, 0, 60013)
				defer src.release()
				root, err := spill.OpenRoot(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				run := func(limit int64) ([]string, *HashAggregate, *QueryAllocator) {
					env, qa, done := spillEnv(t, mem, limit, root)
					defer done()
					h := aggPlan(env, src, tc.keys, tc.aggs(t))
					return drainRows(t, h), h, qa
				}
				want, plain, _ := run(0)
				got, spilled, qa := run(1 << 20)
				if plain.SpilledBytes() != 0 {
					t.Errorf("the unlimited aggregation spilled %d bytes", plain.SpilledBytes())
				}
				if spilled.SpilledBytes() == 0 {
					t.Errorf("the aggregation under 1 MB did not spill")
				}
				if err := qa.Exceeded(); err != nil {
					t.Errorf("the spilling aggregation passed its limit: %v: %s", err, err.(*sqlerr.Error).Detail)
				}
				if qa.Held() != 0 {
					t.Errorf("the statement still holds %d bytes", qa.Held())
				}
				if len(want) < 1000 && len(tc.keys) > 0 {
					t.Fatalf("only %d groups", len(want))
				}
				sameRows(t, got, want)
			})
		}
	}
}
