package storage

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
)

var editsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int32},
	{Name: "bal", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// editsBatch is a batch of editsSchema whose row i is row(i) (id, bal,
// note; a nil bal or note is NULL).
func editsBatch(mem memory.Allocator, n int, row func(i int) (int32, *int64, *string)) arrow.Record {
	b := array.NewRecordBuilder(mem, editsSchema)
	defer b.Release()
	for i := 0; i < n; i++ {
		id, bal, note := row(i)
		b.Field(0).(*array.Int32Builder).Append(id)
		if bal == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(*bal)
		}
		if note == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(*note)
		}
	}
	return b.NewRecord()
}

// editedRows is the row i of a batch of n rows with rows changed (new
// values by base position) and dropped.
func editedRows(n int, changed map[int]int64, dropped map[int]bool) func(i int) (int32, *int64, *string) {
	var keep []int
	for i := 0; i < n; i++ {
		if !dropped[i] {
			keep = append(keep, i)
		}
	}
	return func(i int) (int32, *int64, *string) {
		b := keep[i]
		bal, note := int64(b), fmt.Sprint("n", b)
		if v, ok := changed[b]; ok {
			bal = v
		}
		if b%9 == 0 {
			return int32(b), nil, nil
		}
		return int32(b), &bal, &note
	}
}

// TestEditsFromRecordedEdits: a batch whose write recorded how it was
// made from its base is logged as those edits, with no comparison, and
// replaying them (applyEdits) rebuilds the batch exactly, as the edits
// found by comparing do; edits of another base are not used.
func TestEditsFromRecordedEdits(t *testing.T) {
	tests := []struct {
		name    string
		changed map[int]int64
		dropped []int
		edits   func(base arrow.Record) *catalog.BatchEdits
	}{
		{"one row replaced", map[int]int64{500: -1}, nil,
			func(b arrow.Record) *catalog.BatchEdits { return catalog.ReplacedRows(b, []int{500}) }},
		{"first and last replaced", map[int]int64{0: -1, 999: -2}, nil,
			func(b arrow.Record) *catalog.BatchEdits { return catalog.ReplacedRows(b, []int{0, 999}) }},
		{"replaced with its own value", nil, nil,
			func(b arrow.Record) *catalog.BatchEdits { return catalog.ReplacedRows(b, []int{3}) }},
		{"rows dropped", nil, []int{0, 10, 11, 999},
			func(b arrow.Record) *catalog.BatchEdits { return catalog.DroppedRows(b, []int{0, 10, 11, 999}) }},
		{"replaced then dropped", map[int]int64{20: -5}, []int{21},
			func(b arrow.Record) *catalog.BatchEdits {
				// (composed as a block's two statements are: the second
				// one's row 21 is base's 21)
				return catalog.ReplacedRows(b, []int{20}).Then(catalog.DroppedRows(b, []int{21}))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			base := editsBatch(mem, 1000, editedRows(1000, nil, nil))
			defer base.Release()
			dropped := map[int]bool{}
			for _, r := range tt.dropped {
				dropped[r] = true
			}
			cur := editsBatch(mem, 1000-len(tt.dropped), editedRows(1000, tt.changed, dropped))
			defer cur.Release()
			e := tt.edits(base)
			st := &Store{}
			edited := func(r arrow.Record) *catalog.BatchEdits {
				if r == cur {
					return e
				}
				return nil
			}
			ops, take := st.editsFrom(base, cur, edited)
			if st.comparedRows != 0 {
				t.Errorf("the recorded edits were not used: %d rows compared", st.comparedRows)
			}
			checkReplay(t, mem, base, cur, ops, take)
			// the same batch from another base: compared, and still right
			other := editsBatch(mem, 1000, editedRows(1000, nil, nil))
			defer other.Release()
			ops, take = st.editsFrom(other, cur, edited)
			if st.comparedRows != 1000 {
				t.Errorf("edits of another base: %d rows compared, want 1000", st.comparedRows)
			}
			checkReplay(t, mem, other, cur, ops, take)
		})
	}
}

// checkReplay checks that the edits ops with cur's rows take rebuild cur
// from base, as the log's replay does.
func checkReplay(t *testing.T, mem memory.Allocator, base, cur arrow.Record, ops []int64, take []int) {
	t.Helper()
	rows, err := takeRows(cur, take)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Release()
	got, err := applyEdits(base, rows, ops, editsSchema, mem)
	if err != nil {
		t.Fatalf("edits %v: %v", ops, err)
	}
	defer got.Release()
	if !array.RecordEqual(got, cur) {
		t.Errorf("edits %v rebuild\n%v\nwant\n%v", ops, got, cur)
	}
}

// BenchmarkLogEditsOfOneRow: the log's edits of an 8,192-row batch with
// one row updated (the other columns the very arrays they were, as an
// UPDATE leaves them), from the edits the UPDATE recorded and by
// comparing the batch with its base (what every such batch cost before:
// a column without NULLs is compared as memory, one with NULLs row by
// row).
func BenchmarkLogEditsOfOneRow(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	for _, nulls := range []bool{false, true} {
		row := editedRows(n, nil, nil)
		changedRow := editedRows(n, map[int]int64{4000: -1}, nil)
		if !nulls {
			row, changedRow = withoutNulls(row), withoutNulls(changedRow)
		}
		base := editsBatch(mem, n, row)
		defer base.Release()
		changed := editsBatch(mem, n, changedRow)
		defer changed.Release()
		cur := array.NewRecord(editsSchema, []arrow.Array{base.Column(0), changed.Column(1), base.Column(2)}, n)
		defer cur.Release()
		e := catalog.ReplacedRows(base, []int{4000})
		for _, mode := range []string{"recorded", "compared"} {
			b.Run(fmt.Sprintf("%s/nulls=%v", mode, nulls), func(b *testing.B) {
				st := &Store{}
				edited := func(arrow.Record) *catalog.BatchEdits { return e }
				if mode == "compared" {
					edited = nil
				}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					st.editsFrom(base, cur, edited)
				}
			})
		}
	}
}

// withoutNulls is row with a value where it has a NULL.
func withoutNulls(row func(i int) (int32, *int64, *string)) func(i int) (int32, *int64, *string) {
	return func(i int) (int32, *int64, *string) {
		id, bal, note := row(i)
		if bal == nil {
			v := int64(i)
			bal = &v
		}
		if note == nil {
			v := "none"
			note = &v
		}
		return id, bal, note
	}
}
