package storage

import (
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A bulk load (COPY FROM, a large INSERT) writes its rows to segment files
// as it goes instead of holding the whole table on the heap until its
// commit's checkpoint: each finished batch is staged, written as a
// segment file that no catalog names yet, and the load keeps a batch that
// reads the file on demand in its place (lazysegment.go). The checkpoint
// of its commit names the staged files like any other segment of the
// table (Checkpoint.Table takes them as they are, without writing them
// again), which makes them visible atomically with the catalog.
//
// Until then they are nobody's: a checkpoint of another statement does
// not remove them (they are not among the segments it garbage-collects),
// a load that fails removes them (DropStaged), and after a crash they are
// segment files the catalog does not name, which open's cleanup removes
// (datadir.go: numbered above the catalog's next_segment, they wait for
// the first checkpoint after the crash, then the open after that).

// StageBatch writes rec, a batch of table oid under schema (table names
// it in errors), as segment files no catalog names yet, cut as a
// checkpoint cuts a batch (segmentRanges), and returns one batch per
// file, in row order, each reading its file on demand. The caller owns
// the returned batches; a checkpoint that stores them names the staged
// files, and DropStaged removes the files of those that were never
// stored. On error nothing stays behind.
func (st *Store) StageBatch(mem memory.Allocator, oid uint32, schema *arrow.Schema, table string, rec arrow.Record) ([]arrow.Record, error) {
	if st.readOnly {
		return nil, errReadOnly(st.dir)
	}
	var out []arrow.Record
	fail := func(err error) ([]arrow.Record, error) {
		st.DropStaged(out)
		for _, r := range out {
			r.Release()
		}
		return nil, err
	}
	for _, r := range segmentRanges(rec, st.segmentBytes) {
		part := rec
		if r[0] != 0 || r[1] != rec.NumRows() {
			part = rec.NewSlice(r[0], r[1])
		}
		b, err := st.stageOne(mem, oid, schema, table, part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			return fail(err)
		}
		out = append(out, b)
	}
	return out, nil
}

// stageOne writes one staged segment file (st.mu held only to name it).
func (st *Store) stageOne(mem memory.Allocator, oid uint32, schema *arrow.Schema, table string, rec arrow.Record) (arrow.Record, error) {
	st.mu.Lock()
	name, err := st.newSegmentName(oid)
	st.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ref, err := st.writeSegmentFile(name, rec)
	if err != nil {
		return nil, err
	}
	b := st.newSegmentBatch(mem, ref, schema, table)
	st.mu.Lock()
	st.staged[b] = ref
	st.mu.Unlock()
	return b, nil
}

// DropStaged removes the files of those of recs that StageBatch wrote and
// no checkpoint has stored since (a load that failed or was abandoned);
// the batches themselves stay the caller's to release. Batches a
// checkpoint stored are the catalog's now and left alone.
func (st *Store) DropStaged(recs []arrow.Record) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range recs {
		ref, ok := st.staged[r]
		if !ok {
			continue
		}
		delete(st.staged, r)
		os.Remove(filepath.Join(st.dir, "data", filepath.FromSlash(ref.File)))
	}
}

// StagedFiles reports how many staged segment files no checkpoint has
// stored yet (for tests: a finished load leaves none).
func (st *Store) StagedFiles() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.staged)
}

// holdsStaged reports whether parts hold a staged batch no checkpoint
// stored yet (the caller holds st.mu).
func (st *Store) holdsStaged(parts [][]arrow.Record) bool {
	if len(st.staged) == 0 {
		return false
	}
	for _, p := range parts {
		for _, r := range p {
			if _, ok := st.staged[r]; ok {
				return true
			}
		}
	}
	return false
}
