package exec

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

var sortTestTypes = []types.T{types.Int8T, types.Int8T, types.TextT, types.Float8T, types.NumericT(12, 2), types.T{Kind: types.Char, Len: 4}}

func sortTestSchema() *arrow.Schema {
	names := []string{"id", "k", "s", "f", "d", "c"}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: sortTestTypes[i].Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// sortTestBatches makes n batches of rows rows: id counts up, the keys
// repeat in a scrambled order, every third batch has NULLs in k and s,
// and f holds NaN and infinities now and then.
func sortTestBatches(mem memory.Allocator, n, rows int) []arrow.Record {
	schema := sortTestSchema()
	var out []arrow.Record
	for b := 0; b < n; b++ {
		rb := array.NewRecordBuilder(mem, schema)
		for r := 0; r < rows; r++ {
			id := int64(b*rows + r)
			scrambled := (id * 7919) % 1009
			rb.Field(0).(*array.Int64Builder).Append(id)
			if b%3 == 1 && r%5 == 0 {
				rb.Field(1).AppendNull()
				rb.Field(2).AppendNull()
			} else {
				rb.Field(1).(*array.Int64Builder).Append(scrambled - 500)
				rb.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("key %d", scrambled%97))
			}
			f := float64(scrambled) / 7
			switch scrambled % 101 {
			case 0:
				f = math.NaN()
			case 1:
				f = math.Inf(-1)
			}
			rb.Field(3).(*array.Float64Builder).Append(f)
			rb.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(scrambled*13 - 4000))
			rb.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("%c%s", 'a'+scrambled%5, "  "[:scrambled%3]))
		}
		out = append(out, rb.NewRecord())
		rb.Release()
	}
	return out
}

func sortCol(i int) Expr {
	return &ColumnExpr{Index: i, T: sortTestTypes[i], Name: sortTestSchema().Field(i).Name}
}

// runSort sorts input with or without a statement memory limit and
// returns the rows as text, with what it spilled.
func runSort(t *testing.T, mem memory.Allocator, input []arrow.Record, keys []SortKey, limit int64, root *spill.Root) ([]string, *Sort, *QueryAllocator) {
	t.Helper()
	env := NewEnv(mem, 1000, 1)
	var qa *QueryAllocator
	var q *spill.Query
	if limit > 0 {
		qa = NewQueryAllocator(mem, QueryLimit{Bytes: limit, Setting: "weft.memory_limit"}, nil, nil)
		q = root.NewQuery()
		env.Mem, env.Memory, env.Spill = qa, qa, q
	}
	s := &Sort{Env: env, Input: &Scan{Name: "t", Parts: [][]arrow.Record{input}, Columns: []int{0, 1, 2, 3, 4, 5}, Out: sortTestSchema()}, Keys: keys}
	// Read batch by batch: the rows are many times the limit, and only
	// the sort is on trial here.
	ctx := context.Background()
	st, err := s.Open(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for {
		b, err := st.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < int(b.NumRows()); r++ {
			row := ""
			for c := 0; c < int(b.NumCols()); c++ {
				row += fmt.Sprintf("%v|", DatumAt(b.Column(c), r))
			}
			rows = append(rows, row)
		}
		b.Release()
	}
	st.Close()
	if q != nil {
		assertNoFiles(t, root.Dir())
		if err := q.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	return rows, s, qa
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("spill file left behind: %s", path)
		}
		return nil
	})
}

// TestExternalSortMatchesInMemory sorts 60,000 rows (about 2.5 MB) under
// a 300 kB statement limit: the sort spills dozens of runs, merges them
// in more than one pass, never passes the limit, leaves no file, and
// yields exactly the rows the in-memory sort yields.
func TestExternalSortMatchesInMemory(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []SortKey
	}{
		{"int", []SortKey{{Expr: sortCol(1)}}},
		{"int desc nulls last", []SortKey{{Expr: sortCol(1), Desc: true}}},
		{"int nulls first", []SortKey{{Expr: sortCol(1), NullsFirst: true}}},
		{"text nulls first, then int desc", []SortKey{{Expr: sortCol(2), NullsFirst: true}, {Expr: sortCol(1), Desc: true, NullsFirst: true}}},
		{"text desc", []SortKey{{Expr: sortCol(2), Desc: true}}},
		{"float with NaN", []SortKey{{Expr: sortCol(3)}, {Expr: sortCol(0), Desc: true}}},
		{"numeric desc", []SortKey{{Expr: sortCol(4), Desc: true}}},
		{"char ignores trailing blanks", []SortKey{{Expr: sortCol(5)}, {Expr: sortCol(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			input := sortTestBatches(mem, 60, 1000)
			defer ReleaseRecords(input)
			root, err := spill.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			want, plain, _ := runSort(t, mem, input, tc.keys, 0, root)
			fits, roomy, _ := runSort(t, mem, input, tc.keys, 1<<30, root)
			if roomy.SpilledBytes() != 0 || fmt.Sprint(fits) != fmt.Sprint(want) {
				t.Errorf("under a limit it fits in, the sort spilled %d bytes or answered differently", roomy.SpilledBytes())
			}
			got, spilled, qa := runSort(t, mem, input, tc.keys, 300<<10, root)
			if plain.SpilledBytes() != 0 {
				t.Errorf("the unlimited sort spilled %d bytes", plain.SpilledBytes())
			}
			if spilled.SpilledBytes() == 0 || spilled.stats.files.Load() <= mergeFanIn {
				t.Errorf("spilled %d bytes in %d files; want more than %d runs", spilled.SpilledBytes(), spilled.stats.files.Load(), mergeFanIn)
			}
			if err := qa.Exceeded(); err != nil {
				t.Errorf("the spilling sort passed its limit: %v", err)
			}
			if qa.Held() != 0 {
				t.Errorf("the statement still holds %d bytes", qa.Held())
			}
			if len(got) != len(want) || len(want) != 60000 {
				t.Fatalf("got %d rows, want %d (of 60000)", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d: got %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

// TestSpillShare: spilling operators split the statement's limit, give
// their part back when they close, and spill early while the database's
// statements together hold more than three quarters of its budget.
func TestSpillShare(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	root, err := spill.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	budget := NewMemoryBudget(8 << 20)
	qa := NewQueryAllocator(mem, QueryLimit{Bytes: 4 << 20, Setting: "weft.memory_limit"}, budget, nil)
	env := NewEnv(qa, 1024, 1)
	env.Memory, env.Spill = qa, root.NewQuery()
	if got := env.spillShare(); got != 1<<20 {
		t.Errorf("one spiller's share: %d", got)
	}
	a, b := env.spillAccount("Sort"), env.spillAccount("Window")
	if got := env.spillShare(); got != (4<<20)/6 {
		t.Errorf("two spillers' share: %d", got)
	}
	a.Close()
	b.Close()
	if got := env.spillShare(); got != 1<<20 {
		t.Errorf("after both closed: %d", got)
	}
	if env.shouldSpill(100 << 10) {
		t.Error("spills 100 kB with room to spare")
	}
	// another statement holds 7 MB of the database's 8
	other := NewQueryAllocator(mem, QueryLimit{}, budget, nil)
	buf := other.Allocate(7 << 20)
	if !env.shouldSpill(100 << 10) {
		t.Error("does not spill under the database's memory pressure")
	}
	other.Free(buf)
	if budget.Held() != 0 {
		t.Errorf("budget holds %d after every free", budget.Held())
	}
}
