package catalog

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/sql/types"
)

func int64Batch(mem memory.Allocator, from, n int) arrow.Record {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Append(int64(from + i))
	}
	a := b.NewArray()
	defer a.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return array.NewRecord(schema, []arrow.Array{a}, int64(n))
}

// TestWritesDeriveIndexes checks that installing new data derives the
// indexes the old data had built (without a rebuild) and that they find
// the new rows.
func TestWritesDeriveIndexes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := New(mem, 2)
	tbl, err := c.CreateTable("public", "t", []Column{{Name: "id", Type: types.T{Kind: types.Int8}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	tbl.Keys = []Key{{Name: "t_pkey", Columns: []int{0}, Primary: true}}
	def := tbl.IndexDefs()[0]
	tbl.Lock()
	tbl.Replace([][]arrow.Record{{int64Batch(mem, 0, 100)}, {int64Batch(mem, 100, 100)}})
	first := tbl.Current().Index(def)
	// an append: one more batch
	added := int64Batch(mem, 200, 10)
	parts, err := AppendParts(mem, tbl.Current(), []arrow.Record{added}, 64)
	added.Release() // (the parts hold their own reference)
	if err != nil {
		t.Fatal(err)
	}
	tbl.Replace(parts)
	tbl.Unlock()
	next := tbl.Current()
	if !next.hasIndex("t_pkey") {
		t.Fatal("the append did not derive the index")
	}
	ix := next.Index(def)
	if ix.Tree.Len() != 210 || first.Tree.Len() != 200 {
		t.Fatalf("entries: new %d, old %d", ix.Tree.Len(), first.Tree.Len())
	}
	key, _ := index.AppendDatum(nil, def.Types[0], int64(205))
	e, ok := ix.Tree.Seek(string(key)).Next()
	if !ok || e.Key != string(key) {
		t.Fatal("row 205 is not in the derived index")
	}
	if r := next.Parts[e.Loc.Part()][e.Loc.Batch()].Column(0).(*array.Int64).Value(e.Loc.Row()); r != 205 {
		t.Fatalf("the locator of 205 finds %d", r)
	}
	c.Close()
}

// BenchmarkIndexBuild measures building a primary key's index from a
// table's batches, as the first query after open does.
func BenchmarkIndexBuild(b *testing.B) {
	for _, rows := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			parts := make([][]arrow.Record, 2)
			for from := 0; from < rows; from += 8192 {
				p := (from / 8192) % 2
				parts[p] = append(parts[p], int64Batch(mem, from, min(8192, rows-from)))
			}
			snap := NewSnapshot(parts)
			defer snap.Release()
			def := index.Def{Name: "pk", Columns: []int{0}, Types: []types.T{{Kind: types.Int8}}, Unique: true}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if ix, ok := index.BuildFrom(def, snap.Parts); !ok || ix.Tree.Len() != rows {
					b.Fatal("build failed")
				}
			}
		})
	}
}

// TestReplaceSameRowsKeepsOrDropsIndexes: the same rows installed again
// (read back from their segments) keep the built indexes when asked,
// derive nothing when not, and the old batches go with the old snapshot.
func TestReplaceSameRowsKeepsOrDropsIndexes(t *testing.T) {
	for _, keep := range []bool{true, false} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		c := New(mem, 2)
		tbl, err := c.CreateTable("public", "t", []Column{{Name: "id", Type: types.T{Kind: types.Int8}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		tbl.Keys = []Key{{Name: "t_pkey", Columns: []int{0}, Primary: true}}
		def := tbl.IndexDefs()[0]
		tbl.Lock()
		tbl.Replace([][]arrow.Record{{int64Batch(mem, 0, 100)}, {int64Batch(mem, 100, 100)}})
		built := tbl.Current().Index(def)
		same := [][]arrow.Record{{int64Batch(mem, 0, 100)}, {int64Batch(mem, 100, 100)}}
		tbl.ReplaceSameRows(same, keep)
		tbl.Unlock()
		cur := tbl.Current()
		if cur.hasIndex("t_pkey") != keep {
			t.Errorf("keep %v: index carried over: %v", keep, cur.hasIndex("t_pkey"))
		}
		if keep && cur.Index(def) != built {
			t.Errorf("the carried index is not the one built")
		}
		if ix := cur.Index(def); ix.Tree.Len() != 200 {
			t.Errorf("keep %v: index of %d entries, want 200", keep, ix.Tree.Len())
		}
		c.Close()
		mem.AssertSize(t, 0)
	}
}
