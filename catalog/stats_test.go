package catalog

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// statsTable makes a table with an int8 column per generator and a
// char(4) column c holding "k" padded, rows split in batches of 1,000.
func statsTable(t *testing.T, mem memory.Allocator, rows int, gens []func(i int) (int64, bool), char func(i int) string) *Table {
	var cols []Column
	var fields []arrow.Field
	for i := range gens {
		cols = append(cols, Column{Name: fmt.Sprintf("i%d", i), Type: types.Int8T})
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("i%d", i), Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	}
	cols = append(cols, Column{Name: "c", Type: types.T{Kind: types.Char, Len: 4}})
	fields = append(fields, arrow.Field{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true})
	tab := &Table{Name: "t", Columns: cols}
	schema := arrow.NewSchema(fields, nil)
	parts := make([][]arrow.Record, 2)
	for start := 0; start < rows; start += 1000 {
		b := array.NewRecordBuilder(mem, schema)
		for i := start; i < min(rows, start+1000); i++ {
			for c, g := range gens {
				v, ok := g(i)
				if ok {
					b.Field(c).(*array.Int64Builder).Append(v)
				} else {
					b.Field(c).AppendNull()
				}
			}
			b.Field(len(gens)).(*array.StringBuilder).Append(char(i))
		}
		p := (start / 1000) % 2
		parts[p] = append(parts[p], b.NewRecord())
		b.Release()
	}
	tab.Replace(parts)
	return tab
}

func TestSampleStats(t *testing.T) {
	gens := []func(i int) (int64, bool){
		func(i int) (int64, bool) { return int64(i), true },            // unique
		func(i int) (int64, bool) { return int64(i % 25), true },       // 25 values
		func(i int) (int64, bool) { return int64(i / 4), true },        // each value 4 times, in order
		func(i int) (int64, bool) { return int64(i % 1000), i%2 == 0 }, // half NULL, 500 values
	}
	char := func(i int) string {
		if i%2 == 0 {
			return "ab"
		}
		return "ab  " // equal to "ab" as char(4)
	}
	for _, rows := range []int{10_000, 200_000} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tab := statsTable(t, mem, rows, gens, char)
			snap := tab.Snapshot()
			st := tab.Stats(snap)
			snap.Release()
			tab.Replace(nil)
			want := []ColumnStats{
				{Distinct: float64(rows)},
				{Distinct: 25},
				{Distinct: float64(rows / 4)},
				{Distinct: 500, NullFrac: 0.5},
				{Distinct: 1},
			}
			if st.Rows != int64(rows) {
				t.Errorf("rows %d, want %d", st.Rows, rows)
			}
			for c, w := range want {
				got := st.Columns[c]
				// a sample's distinct count is an estimate: within a
				// factor of 3 where the sample is not the whole table
				lo, hi := w.Distinct, w.Distinct
				if rows > statsSampleRows {
					lo, hi = w.Distinct/3, w.Distinct*3
				}
				if got.Distinct < lo || got.Distinct > hi {
					t.Errorf("column %d: distinct %.0f, want %.0f (%.0f..%.0f)", c, got.Distinct, w.Distinct, lo, hi)
				}
				if got.NullFrac < w.NullFrac-0.02 || got.NullFrac > w.NullFrac+0.02 {
					t.Errorf("column %d: null fraction %.3f, want %.3f", c, got.NullFrac, w.NullFrac)
				}
			}
		})
	}
}

// TestStatsRefresh checks that statistics are kept while the row count
// stays within statsDrift and taken again past it.
func TestStatsRefresh(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	unique := []func(i int) (int64, bool){func(i int) (int64, bool) { return int64(i), true }}
	char := func(int) string { return "x" }
	tab := statsTable(t, mem, 1000, unique, char)
	snap := tab.Snapshot()
	first := tab.Stats(snap)
	snap.Release()

	grown := statsTable(t, mem, 1100, unique, char) // 10% more rows
	snap = grown.Snapshot()
	kept := tab.Stats(snap)
	snap.Release()
	if kept.Rows != 1100 || kept.Columns[0].Distinct != first.Columns[0].Distinct {
		t.Errorf("after 10%% growth: rows %d distinct %.0f, want 1100 and the cached %.0f", kept.Rows, kept.Columns[0].Distinct, first.Columns[0].Distinct)
	}

	doubled := statsTable(t, mem, 2000, unique, char)
	snap = doubled.Snapshot()
	fresh := tab.Stats(snap)
	snap.Release()
	if fresh.Rows != 2000 || fresh.Columns[0].Distinct != 2000 {
		t.Errorf("after doubling: rows %d distinct %.0f, want 2000 and 2000", fresh.Rows, fresh.Columns[0].Distinct)
	}
	for _, x := range []*Table{tab, grown, doubled} {
		x.Replace(nil)
	}
}

func TestEstimateDistinct(t *testing.T) {
	cases := []struct {
		name             string
		n, d, f1, pop    float64
		wantLo, wantHigh float64
	}{
		{"whole population", 100, 40, 10, 100, 40, 40},
		{"no singletons: all values seen", 1000, 25, 0, 1e6, 25, 25},
		{"all singletons: unique", 1000, 1000, 1000, 1e6, 1e6, 1e6},
		{"never above the population", 1000, 1000, 1000, 5000, 5000, 5000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := estimateDistinct(c.n, c.d, c.f1, c.pop)
			if got < c.wantLo || got > c.wantHigh {
				t.Errorf("estimateDistinct(%v, %v, %v, %v) = %v, want %v..%v", c.n, c.d, c.f1, c.pop, got, c.wantLo, c.wantHigh)
			}
		})
	}
}

// BenchmarkSampleStats samples a 1.5M-row table of four int8 columns and a
// char column (TPC-H orders' size).
func BenchmarkSampleStats(b *testing.B) {
	mem := memory.NewGoAllocator()
	gens := []func(i int) (int64, bool){
		func(i int) (int64, bool) { return int64(i), true },
		func(i int) (int64, bool) { return int64(i % 25), true },
		func(i int) (int64, bool) { return int64(i / 4), true },
		func(i int) (int64, bool) { return int64(i % 1000), i%2 == 0 },
	}
	tab := statsTable(&testing.T{}, mem, 1_500_000, gens, func(i int) string { return fmt.Sprint(i % 5000) })
	snap := tab.Snapshot()
	defer snap.Release()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tab.Analyze(snap)
	}
}
