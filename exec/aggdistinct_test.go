package exec

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// distinctOracle is what count(DISTINCT v), sum(DISTINCT v),
// count(DISTINCT s), array_agg(DISTINCT s) give for one group: the
// distinct non-NULL v, and the distinct s with NULL as a value.
type distinctOracle struct {
	vs    map[int64]bool
	ss    map[string]bool
	nullS bool
}

func (o *distinctOracle) row() []string {
	sum := "<nil>"
	if len(o.vs) > 0 {
		var n int64
		for v := range o.vs {
			n += v
		}
		sum = fmt.Sprint(n)
	}
	ss := slices.Sorted(func(yield func(string) bool) {
		for s := range o.ss {
			if !yield(s) {
				return
			}
		}
	})
	if o.nullS {
		ss = append(ss, "<nil>")
	}
	return []string{fmt.Sprint(len(o.vs)), sum, fmt.Sprint(len(o.ss)), "[" + strings.Join(ss, " ") + "]"}
}

// TestDistinctAggregates runs DISTINCT aggregates with and without GROUP
// BY over several partitions of batches (NULL keys and values in some
// batches only, far more rows than a batch) and checks each group against
// sets kept row by row. array_agg must see the values sorted.
func TestDistinctAggregates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grouped bool
		parts   int
	}{
		{"no GROUP BY, 1 partition", false, 1},
		{"no GROUP BY, 3 partitions", false, 3},
		{"GROUP BY, 1 partition", true, 1},
		{"GROUP BY, 3 partitions", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env := NewEnv(mem, 100, tc.parts)
			schema := arrow.NewSchema([]arrow.Field{
				{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
				{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			}, nil)
			src := &memSource{schema: schema, parts: make([][]arrow.Record, tc.parts)}
			defer src.release()
			oracle := map[string]*distinctOracle{}
			rng := rand.New(rand.NewSource(3))
			for b := 0; b < 40; b++ {
				bld := array.NewRecordBuilder(mem, schema)
				for i := 0; i < 1+rng.Intn(400); i++ {
					k := types.Datum("all")
					if tc.grouped {
						k = maybeNull(rng, b%3 == 0, fmt.Sprintf("k%d", rng.Intn(20)))
					}
					v := maybeNull(rng, b%2 == 0, int64(rng.Intn(300)-100))
					s := maybeNull(rng, b%4 == 1, fmt.Sprintf("s%03d", rng.Intn(150)))
					for c, d := range []types.Datum{k, v, s} {
						AppendDatum(bld.Field(c), d)
					}
					key := fmt.Sprint(k)
					o := oracle[key]
					if o == nil {
						o = &distinctOracle{vs: map[int64]bool{}, ss: map[string]bool{}}
						oracle[key] = o
					}
					if v != nil {
						o.vs[v.(int64)] = true
					}
					if s != nil {
						o.ss[s.(string)] = true
					} else {
						o.nullS = true
					}
				}
				src.parts[b%tc.parts] = append(src.parts[b%tc.parts], bld.NewRecord())
				bld.Release()
			}
			aggs := []AggSpec{
				aggSpec(t, "count", 1, types.Int8T),
				aggSpec(t, "sum", 1, types.Int8T),
				aggSpec(t, "count", 2, types.TextT),
				aggSpec(t, "array_agg", 2, types.TextT),
			}
			var keys []Expr
			var outFields []arrow.Field
			if tc.grouped {
				keys = []Expr{&ColumnExpr{Index: 0, T: types.TextT}}
				outFields = append(outFields, arrow.Field{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true})
			}
			for i := range aggs {
				aggs[i].Distinct = true
				outFields = append(outFields, arrow.Field{Name: fmt.Sprintf("a%d", i), Type: aggs[i].T.Arrow(), Nullable: true})
			}
			plan := &HashAggregate{Env: env, Input: src, Keys: keys, Aggs: aggs, Out: arrow.NewSchema(outFields, nil)}
			batches, err := Drain(context.Background(), plan, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer ReleaseRecords(batches)
			got := map[string][]string{}
			for _, b := range batches {
				for i := 0; i < int(b.NumRows()); i++ {
					key, first := "all", 0
					if tc.grouped {
						key, first = fmt.Sprint(DatumAt(b.Column(0), i)), 1
					}
					if _, dup := got[key]; dup {
						t.Fatalf("group %q twice", key)
					}
					var row []string
					for c := first; c < int(b.NumCols()); c++ {
						d := DatumAt(b.Column(c), i)
						if d == nil || aggs[c-first].Name == "array_agg" {
							row = append(row, fmt.Sprint(d))
							continue
						}
						row = append(row, types.Format(aggs[c-first].T, d))
					}
					got[key] = row
				}
			}
			if len(got) != len(oracle) {
				t.Fatalf("%d groups, want %d", len(got), len(oracle))
			}
			for key, o := range oracle {
				if want := o.row(); !slices.Equal(got[key], want) {
					t.Errorf("group %q: got %v, want %v", key, got[key], want)
				}
			}
		})
	}
}
