package storage

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A table filled in memory (a COPY, a bulk INSERT) keeps its batches on
// the Go heap after a checkpoint has written them to segment files, while
// a reopened data directory reads the same rows from mappings of those
// files (lazysegment.go), which the kernel can drop and reread. Remapping
// gives the freshly loaded table the reopened one's footing: the heap
// copy is garbage once no reader holds it.

// Remap returns parts (table oid's current batches, under schema; table
// names it in errors) with every batch that is on disk as exactly one
// segment file replaced by a batch reading that file on demand, and
// makes the replacements the store's own record of the table (the batches
// the log diffs against, the catalog's batches, the segments' owners).
// ok is false, and nothing changes, unless parts are exactly what the
// stored catalog holds for the table (no change since only in the log)
// and at least one batch is replaced or already reads its file (a bulk
// load's staged batches, stage.go: the caller then still swaps the
// indexes it built for the stored ones). The caller owns the returned
// batches and must install them in place of parts while it still holds
// the table's write lock.
func (st *Store) Remap(mem memory.Allocator, oid uint32, schema *arrow.Schema, table string, parts [][]arrow.Record) (remapped [][]arrow.Record, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	d, isDurable := st.durable[oid]
	if st.readOnly || !isDurable || !sameBatches(d.parts, parts) || !sameBatches(st.catalogParts[oid], parts) {
		return nil, false
	}
	out := make([][]arrow.Record, len(parts))
	replaced, lazy := 0, 0
	for p, recs := range parts {
		for _, rec := range recs {
			out[p] = append(out[p], st.remapBatch(mem, rec, schema, table, &replaced))
			if _, ok := rec.(*segmentBatch); ok {
				lazy++
			}
		}
	}
	if replaced == 0 && lazy == 0 {
		for _, recs := range out {
			for _, r := range recs {
				r.Release()
			}
		}
		return nil, false
	}
	st.setDurable(oid, schema, out)
	st.noteCatalogParts(oid, out)
	return out, true
}

// remapBatch is rec's stand-in reading its one segment file (a new
// reference), or rec retained when it has none or several (a batch
// stored as several files would change the table's batch positions,
// which its indexes refer to).
func (st *Store) remapBatch(mem memory.Allocator, rec arrow.Record, schema *arrow.Schema, table string, replaced *int) arrow.Record {
	refs := st.segments[rec]
	if _, lazy := rec.(*segmentBatch); lazy || len(refs) != 1 {
		rec.Retain()
		return rec
	}
	b := st.newSegmentBatch(mem, refs[0], schema, table)
	delete(st.segments, rec)
	st.segments[b] = refs
	*replaced++
	return b
}
