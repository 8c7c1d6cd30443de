package engine

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/physical"
)

// An UPDATE or DELETE whose rows an index finds (pgbench's, an ORM's
// save() and delete()) computes just those rows, not the batches they are
// in, and patches them into their batches: an updated batch keeps every
// column the statement did not change as the very array it was, and a
// changed column is a copy of the old one with the new values set (one
// copy of its memory for fixed-width values, else the old one's runs
// around the new values joined). The new batch's snapshot records which
// rows were replaced or dropped (catalog.BatchEdits): the log writes
// just those rows from it, and a COMMIT's merge reads from it which rows
// the block changed, neither comparing the batch with the one before.
// What is left that grows with the batch is the copy of a changed
// column (and, for a DELETE, of every column).

// patchShare is the largest share of a batch's rows the index may name
// for the statement to compute them alone (1/patchShare); with more, the
// whole batch is rewritten.
const patchShare = 8

// indexedSource is what an indexed rewrite reads: the found rows alone
// (rows: each batch's, by found's order) when they are few, else the
// whole batches holding them (rows nil).
func (s *Session) indexedSource(cur *catalog.Snapshot, found []physical.BatchRows) (*catalog.Snapshot, [][]int) {
	few := true
	for _, f := range found {
		few = few && len(f.Rows)*patchShare <= int(cur.Parts[f.Pos.Part][f.Pos.Batch].NumRows())
	}
	if !few {
		pos := make([]catalog.BatchPos, len(found))
		for i, f := range found {
			pos[i] = f.Pos
		}
		return catalog.Restrict(cur, pos), nil
	}
	parts := make([][]arrow.Record, len(cur.Parts))
	rows := make([][]int, len(found))
	for i, f := range found {
		rec, err := someRows(s.db.opts.Mem, cur.Parts[f.Pos.Part][f.Pos.Batch], f.Rows)
		if err != nil {
			// (an allocation failure: read the whole batches instead)
			for _, p := range parts {
				exec.ReleaseRecords(p)
			}
			pos := make([]catalog.BatchPos, len(found))
			for i, f := range found {
				pos[i] = f.Pos
			}
			return catalog.Restrict(cur, pos), nil
		}
		parts[f.Pos.Part] = append(parts[f.Pos.Part], rec)
		rows[i] = f.Rows
	}
	return catalog.NewSnapshot(parts), rows
}

// patchBatch applies the rewrite plan's output r for some rows of base
// (rows: their positions, r's rows in the same order) and returns the
// batch to store (nil: no row left), how it was made from base (nil when
// it is base) and how many rows it updated or deleted. An UPDATE adds
// the changed rows to *changed (for the checks that read new rows); the
// rows updated or deleted, as they were, go to affected (their row
// locks).
func (s *Session) patchBatch(schema *arrow.Schema, base arrow.Record, rows []int, r arrow.Record, mode rewriteMode, changed *[]arrow.Record, affected *changedRows) (arrow.Record, *catalog.BatchEdits, int64, error) {
	cols := r.Columns()
	flag := cols[len(cols)-1].(*array.Boolean)
	var hit []int // r's rows the flag is true for
	for i := 0; i < flag.Len(); i++ {
		if flag.IsValid(i) && flag.Value(i) {
			hit = append(hit, i)
		}
	}
	if mode == rewriteDelete {
		// the flag says which rows stay
		var drop []int
		k := 0
		for i, row := range rows {
			if k < len(hit) && hit[k] == i {
				k++
				continue
			}
			drop = append(drop, row)
		}
		if len(drop) == 0 {
			base.Retain()
			return base, nil, 0, nil
		}
		for _, row := range drop {
			affected.deleted(base, row)
		}
		kept, err := withoutRows(s, base, drop)
		if err != nil || kept == nil {
			return nil, nil, int64(len(drop)), err
		}
		return kept, catalog.DroppedRows(base, drop), int64(len(drop)), nil
	}
	if len(hit) == 0 {
		base.Retain()
		return base, nil, 0, nil
	}
	data := arrayNewRecord(schema, cols[:len(cols)-1], r.NumRows())
	defer data.Release()
	at := make([]int, len(hit))
	for k, h := range hit {
		at[k] = rows[h]
		affected.updated(base, rows[h], data, h)
	}
	patched, err := s.patchRecord(base, at, data, hit)
	if err != nil {
		return nil, nil, 0, err
	}
	newRows, err := someRows(s.db.opts.Mem, data, hit)
	if err != nil {
		patched.Release()
		return nil, nil, 0, err
	}
	*changed = append(*changed, newRows)
	return patched, catalog.ReplacedRows(base, at), int64(len(hit)), nil
}

// someRows is rows of rec (ascending or not) as a batch of their own: a
// slice of rec when they are one run of it (one row, as most often),
// else a copy.
func someRows(mem memory.Allocator, rec arrow.Record, rows []int) (arrow.Record, error) {
	run := len(rows) > 0
	for k := 1; run && k < len(rows); k++ {
		run = rows[k] == rows[k-1]+1
	}
	if !run {
		return exec.TakeRecord(mem, rec, rows)
	}
	if len(rows) == int(rec.NumRows()) {
		rec.Retain()
		return rec, nil
	}
	return rec.NewSlice(int64(rows[0]), int64(rows[len(rows)-1]+1)), nil
}

// patchColumn is base with repl's row from[k] put at position at[k] (at
// ascending), or base itself (a new reference) when those are the values
// it holds there.
func (s *Session) patchColumn(base arrow.Array, at []int, repl arrow.Array, from []int) (arrow.Array, error) {
	same := true
	for k, row := range at {
		if !array.SliceEqual(base, int64(row), int64(row+1), repl, int64(from[k]), int64(from[k]+1)) {
			same = false
			break
		}
	}
	if same {
		base.Retain()
		return base, nil
	}
	if patched, ok := patchFixedWidth(s.db.opts.Mem, base, at, repl, from); ok {
		return patched, nil
	}
	return patchBySlices(s.db.opts.Mem, base, at, repl, from)
}

// patchBySlices is patchColumn for any column: base's runs of rows around
// the new values and those, joined.
func patchBySlices(mem memory.Allocator, base arrow.Array, at []int, repl arrow.Array, from []int) (arrow.Array, error) {
	pieces := make([]arrow.Array, 0, 2*len(at)+1)
	defer func() {
		for _, p := range pieces {
			p.Release()
		}
	}()
	prev := 0
	for k, row := range at {
		if row > prev {
			pieces = append(pieces, array.NewSlice(base, int64(prev), int64(row)))
		}
		pieces = append(pieces, array.NewSlice(repl, int64(from[k]), int64(from[k]+1)))
		prev = row + 1
	}
	if prev < base.Len() {
		pieces = append(pieces, array.NewSlice(base, int64(prev), int64(base.Len())))
	}
	return array.Concatenate(pieces, mem)
}

// patchFixedWidth is patchColumn for a column of whole-byte fixed-width
// values (integers, floats, dates, timestamps, decimals): one copy of
// base's values and validity, then the new values set in place, instead
// of joining slices. ok is false for any other column.
func patchFixedWidth(mem memory.Allocator, base arrow.Array, at []int, repl arrow.Array, from []int) (arrow.Array, bool) {
	width, ok := byteWidth(base)
	if !ok || !arrow.TypeEqual(base.DataType(), repl.DataType()) {
		return nil, false
	}
	if w, ok := byteWidth(repl); !ok || w != width {
		return nil, false
	}
	n := base.Len()
	bd, rd := base.Data(), repl.Data()
	values := memory.NewResizableBuffer(mem)
	defer values.Release()
	values.Resize(n * width)
	copy(values.Bytes(), bd.Buffers()[1].Bytes()[bd.Offset()*width:(bd.Offset()+n)*width])
	src := rd.Buffers()[1].Bytes()
	for k, row := range at {
		i := rd.Offset() + from[k]
		copy(values.Bytes()[row*width:(row+1)*width], src[i*width:(i+1)*width])
	}
	nulls := base.NullN()
	var validity *memory.Buffer
	if nulls > 0 || repl.NullN() > 0 {
		validity = memory.NewResizableBuffer(mem)
		defer validity.Release()
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := validity.Bytes()
		if nulls > 0 {
			bitutil.CopyBitmap(bd.Buffers()[0].Bytes(), bd.Offset(), n, bits, 0)
		} else {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
		for k, row := range at {
			valid := repl.IsValid(from[k])
			if valid != base.IsValid(row) {
				if valid {
					nulls--
				} else {
					nulls++
				}
			}
			bitutil.SetBitTo(bits, row, valid)
		}
	}
	data := array.NewData(base.DataType(), n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), true
}

// byteWidth is the width of a's values when they are fixed-width and
// stored as whole bytes in one values buffer (after the validity one).
func byteWidth(a arrow.Array) (int, bool) {
	fw, ok := a.DataType().(arrow.FixedWidthDataType)
	if !ok || a.DataType().ID() == arrow.BOOL || a.DataType().ID() == arrow.DICTIONARY || a.DataType().ID() == arrow.EXTENSION {
		return 0, false
	}
	d := a.Data()
	if fw.BitWidth() <= 0 || fw.BitWidth()%8 != 0 || len(d.Buffers()) != 2 || len(d.Children()) != 0 || d.Buffers()[1] == nil {
		return 0, false
	}
	return fw.BitWidth() / 8, true
}

// patchRecord is base with from's row from[k] put at position at[k], column
// by column (patchColumn).
func (s *Session) patchRecord(base arrow.Record, at []int, from arrow.Record, fromRows []int) (arrow.Record, error) {
	out := make([]arrow.Array, base.NumCols())
	defer func() {
		for _, a := range out {
			if a != nil {
				a.Release()
			}
		}
	}()
	for c := range out {
		col, err := s.patchColumn(base.Column(c), at, from.Column(c), fromRows)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", base.Schema().Field(c).Name, err)
		}
		out[c] = col
	}
	return array.NewRecord(base.Schema(), out, base.NumRows()), nil
}
