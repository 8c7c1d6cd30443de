package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A checkpoint stores the indexes a table's data has beside its segments,
// as index files (index/file.go) the catalog names with their size, entry
// count and footer checksum:
//
//	data/<oid>/<n>.index  a B+tree of one index of the table, its
//	                      locators the positions of rows in the segments
//	                      the same catalog names (partition, segment
//	                      within it, row within the segment)
//
// Opening reads none of an index file but its ends; a lookup reads the
// nodes on its path. The tables' indexes then follow the data as they do
// in memory: log replay derives them from the stored ones by the rows
// each entry changed (catalog's deriveIndexes). A file the catalog names
// that is missing or does not match its record is not used (the index is
// built from the data when first needed, and the next checkpoint writes
// it again); a damaged node met by a lookup fails that statement with
// XX001, and the index is built again from the data for later ones.
//
// A file is written again only when its tree changed or the table's
// batches moved into other segments: a checkpoint of a table nobody
// wrote keeps its index files as they are.

// IndexRef names an index file in the catalog with what a reader checks
// it against, and the index it holds.
type IndexRef struct {
	Def     index.Def `json:"def"`
	File    string    `json:"file"` // under data/
	Size    int64     `json:"size"`
	CRC     uint32    `json:"crc32c"` // of the file's footer
	Entries int64     `json:"entries"`
}

func (r IndexRef) info() index.FileInfo {
	return index.FileInfo{Size: r.Size, CRC: r.CRC, Entries: r.Entries}
}

// storedIndex is an index file the catalog names and the tree it holds
// with the same locators as the table's batches in memory (a tree read
// from it at open, or one a checkpoint wrote without moving locators).
type storedIndex struct {
	tree *index.Tree
	ref  IndexRef
}

// ReadIndexes opens the index files of a table (named table in errors)
// as the catalog names them, for the table's batches as ReadTable
// returned them. A file that is missing or does not match the catalog is
// left out (its index is built from the data instead).
func (st *Store) ReadIndexes(oid uint32, table string, refs []IndexRef) []*index.Index {
	var out []*index.Index
	for _, ref := range refs {
		f, err := index.OpenFile(filepath.Join(st.dir, "data", filepath.FromSlash(ref.File)), ref.info(), indexDamage(table))
		if err != nil {
			continue
		}
		ix := &index.Index{Def: ref.Def, Tree: f.Tree()}
		st.mu.Lock()
		st.storedIndexes[oid] = append(st.storedIndexes[oid], storedIndex{tree: ix.Tree, ref: ref})
		st.mu.Unlock()
		out = append(out, ix)
	}
	return out
}

// ReopenStoredIndexes reads the index files the last checkpoint wrote
// for table oid (named table in errors) from the files themselves, in
// place of the trees they were written from, which the store stops
// holding. A table whose load Remap has just put onto its segments then
// holds neither its rows nor its indexes on the heap: SF1 lineitem's
// key index is 350 MB. Only the trees written over the table's batches'
// own positions are recorded (Checkpoint.Indexes), so the files match
// the remapped batches, which are those segments one for one.
func (st *Store) ReopenStoredIndexes(oid uint32, table string) []*index.Index {
	st.mu.Lock()
	stored := st.storedIndexes[oid]
	delete(st.storedIndexes, oid)
	st.mu.Unlock()
	refs := make([]IndexRef, len(stored))
	for i, s := range stored {
		refs[i] = s.ref
	}
	return st.ReadIndexes(oid, table, refs)
}

// noteIndexFiles records the index files catalog doc names: open's
// cleanup keeps them, the checkpoint after it removes those it no longer
// names.
func (st *Store) noteIndexFiles(doc *Catalog) {
	st.namedIndexes = map[string]bool{}
	for _, t := range doc.Tables {
		for _, r := range t.IndexFiles {
			st.namedIndexes[r.File] = true
			st.keep[r.File] = true
		}
	}
}

// indexDamage makes the XX001 errors of a table's damaged index file.
func indexDamage(table string) func(format string, args ...any) error {
	return func(format string, args ...any) error {
		return sqlerr.New(sqlerr.DataCorrupted, "table %s: "+format, append([]any{table}, args...)...).
			WithHint("An index is built again from the table's data on its next use, and the next checkpoint stores it again.")
	}
}

// Indexes stores the indexes of a table's data, which Table stored first
// (same t): each index's locators are moved to the positions of its rows
// in the segments Table named. An index file that holds the very tree
// over the same positions is kept rather than written again. An index
// found damaged while it is written is left out (it is built from the
// data when next needed).
func (cp *Checkpoint) Indexes(t TableData, ixs []*index.Index) ([]IndexRef, error) {
	if cp.st.readOnly {
		return nil, errReadOnly(cp.st.dir)
	}
	move, same := cp.segmentPositions(t.Parts)
	var out []IndexRef
	for _, ix := range ixs {
		if ref, ok := cp.st.storedIndex(t.OID, ix); ok && same {
			cp.stored[t.OID] = append(cp.stored[t.OID], storedIndex{tree: ix.Tree, ref: ref})
			out = append(out, ref)
			continue
		}
		ref, err := cp.writeIndex(t.OID, ix, move)
		if errors.Is(err, errIndexDamaged) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if same {
			cp.stored[t.OID] = append(cp.stored[t.OID], storedIndex{tree: ix.Tree, ref: ref})
		}
		out = append(out, ref)
	}
	return out, nil
}

// storedIndex finds the index file holding ix's very entries.
func (st *Store) storedIndex(oid uint32, ix *index.Index) (IndexRef, bool) {
	for _, s := range st.storedIndexes[oid] {
		if s.ref.Def.Equal(ix.Def) && s.tree.SameEntries(ix.Tree) {
			return s.ref, true
		}
	}
	return IndexRef{}, false
}

var errIndexDamaged = errors.New("index damaged")

// segmentPositions maps a locator in parts (as the table holds them) to
// the same row in the segments the checkpoint named for them: a batch
// cut into several segments spreads over several positions. same reports
// that every batch is one segment (positions do not change).
func (cp *Checkpoint) segmentPositions(parts [][]arrow.Record) (move func(index.Loc) index.Loc, same bool) {
	// starts[p][b] is the first segment of batch b of partition p, ends
	// the rows each of its segments ends at (nil for a batch of one)
	type batchSegs struct {
		first int
		ends  []int
	}
	segs := make([][]batchSegs, len(parts))
	same = true
	for p, recs := range parts {
		next := 0
		for _, rec := range recs {
			refs := cp.referenced[rec]
			bs := batchSegs{first: next}
			if len(refs) > 1 {
				same = false
				end := 0
				for _, r := range refs {
					end += int(r.Rows)
					bs.ends = append(bs.ends, end)
				}
			}
			segs[p] = append(segs[p], bs)
			next += max(len(refs), 1)
		}
		if next != len(recs) {
			same = false
		}
	}
	return func(l index.Loc) index.Loc {
		bs := segs[l.Part()][l.Batch()]
		row, seg := l.Row(), bs.first
		start := 0
		for _, end := range bs.ends {
			if row < end {
				break
			}
			start = end
			seg++
		}
		return index.MakeLoc(l.Part(), seg, row-start)
	}, same
}

// writeIndex writes ix as a new index file of table oid.
func (cp *Checkpoint) writeIndex(oid uint32, ix *index.Index, move func(index.Loc) index.Loc) (ref IndexRef, err error) {
	st := cp.st
	st.nextSeg++
	name := filepath.Join(fmt.Sprint(oid), fmt.Sprintf("%d.index", st.nextSeg))
	path := filepath.Join(st.dir, "data", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return IndexRef{}, sqlerr.New(sqlerr.DiskFull, "could not write index: %v", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return IndexRef{}, sqlerr.New(sqlerr.DiskFull, "could not write index: %v", err)
	}
	info, err := writeIndexTree(st.quota.writer(f), ix, move)
	if errors.Is(err, errIndexDamaged) {
		f.Close()
		os.Remove(tmp)
		return IndexRef{}, err
	}
	if err = finishTemp(f, tmp, path, err); err != nil {
		return IndexRef{}, sqlerr.New(sqlerr.DiskFull, "could not write index: %v", err)
	}
	cp.dirs[fmt.Sprint(oid)] = true
	return IndexRef{Def: ix.Def, File: filepath.ToSlash(name), Size: info.Size, CRC: info.CRC, Entries: info.Entries}, nil
}

// writeIndexTree writes the tree of ix, turning the damage of a file it
// reads nodes from into errIndexDamaged.
func writeIndexTree(w interface{ Write([]byte) (int, error) }, ix *index.Index, move func(index.Loc) index.Loc) (info index.FileInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*sqlerr.Error); ok && e.Code == sqlerr.DataCorrupted {
				err = errIndexDamaged
				return
			}
			panic(r)
		}
	}()
	return index.WriteFile(w, ix.Tree, move)
}

// commitIndexes makes the index files the committed catalog names the
// store's: those of the catalog before it that it no longer names are
// removed.
func (cp *Checkpoint) commitIndexes(doc *Catalog) {
	st := cp.st
	named := map[string]bool{}
	for _, t := range doc.Tables {
		for _, r := range t.IndexFiles {
			named[r.File] = true
		}
	}
	st.storedIndexes = cp.stored
	for file := range st.namedIndexes {
		if !named[file] {
			os.Remove(filepath.Join(st.dir, "data", filepath.FromSlash(file)))
		}
	}
	st.namedIndexes = named
}
