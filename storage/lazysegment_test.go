package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
)

// mapped reports whether the process maps path.
func mapped(t *testing.T, path string) bool {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	return strings.Contains(string(maps), path)
}

// TestMappedColumnsOutliveTheirBatch: a stored batch is read on first use
// from its mapped file; a column taken from it stays readable after the
// batch is released and its file removed, and the mapping goes with the
// last reference to it.
func TestMappedColumnsOutliveTheirBatch(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.ReadCatalog()
	rec := int64Batch(mem, 5, 7, 11)
	checkpointBatches(t, st, rec)
	rec.Release()
	st.Close()

	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := st.ReadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Tables[0].Parts[0][0]
	path := filepath.Join(dir, "data", filepath.FromSlash(ref.File))
	parts, err := st.ReadTable(mem, 100, testSchema, "public.t", doc.Tables[0].Parts)
	if err != nil {
		t.Fatal(err)
	}
	b := parts[0][0]
	if catalog.BatchLoaded(b) || mapped(t, path) || st.SegmentReads() != 0 {
		t.Fatal("the segment was read before its first use")
	}
	if err := catalog.LoadBatch(b); err != nil {
		t.Fatal(err)
	}
	if !mapped(t, path) || st.SegmentReads() != 1 {
		t.Fatal("loading did not map the segment")
	}
	col := b.Column(0).(*array.Int64)
	col.Retain()
	release(parts)
	st.Close() // (drops the store's references)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := col.Int64Values(); len(got) != 3 || got[0] != 5 || got[1] != 7 || got[2] != 11 {
		t.Errorf("column holds %v after its batch went, want [5 7 11]", got)
	}
	if !mapped(t, path) {
		t.Error("unmapped while a column still points into it")
	}
	col.Release()
	if mapped(t, path) {
		t.Error("still mapped after the last column went")
	}
	mem.AssertSize(t, 0)
}

// TestZonesRuleOut checks the zone map test against ranges of each kind.
func TestZonesRuleOut(t *testing.T) {
	ints := []Zone{{Nulls: 1, Int: &[2]int64{10, 20}}}
	allNull := []Zone{{Nulls: 4}}
	floats := []Zone{{Float: &[2]float64{-1.5, 2.5}}}
	texts := []Zone{{Text: &[2]string{"b", "d"}}}
	for _, c := range []struct {
		zones []Zone
		r     datafile.Range
		out   bool
	}{
		{ints, datafile.Range{Op: "=", Value: int64(9)}, true},
		{ints, datafile.Range{Op: "=", Value: int64(10)}, false},
		{ints, datafile.Range{Op: "<", Value: int64(10)}, true},
		{ints, datafile.Range{Op: "<=", Value: int64(10)}, false},
		{ints, datafile.Range{Op: ">", Value: int64(20)}, true},
		{ints, datafile.Range{Op: ">=", Value: int64(20)}, false},
		{ints, datafile.Range{Op: ">", Value: int32(25)}, true}, // a date
		{ints, datafile.Range{Op: ">", Value: "x"}, false},      // not comparable: kept
		{allNull, datafile.Range{Op: "=", Value: int64(1)}, true},
		{floats, datafile.Range{Op: ">", Value: 2.5}, true},
		{floats, datafile.Range{Op: "<", Value: -1.0}, false},
		{texts, datafile.Range{Op: "<", Value: "b"}, true},
		{texts, datafile.Range{Op: ">", Value: "cz"}, false},
		{texts, datafile.Range{Op: ">", Value: "d"}, true},
		{ints, datafile.Range{Col: 3, Op: "=", Value: int64(0)}, false}, // no such column
	} {
		if got := ZonesRuleOut(c.zones, 4, []datafile.Range{c.r}); got != c.out {
			t.Errorf("%+v over %+v: ruled out %v, want %v", c.r, c.zones[0], got, c.out)
		}
	}
}
