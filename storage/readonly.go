package storage

import (
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A worker process of a cluster (package cluster) reads the data
// directory another process holds open: OpenReadOnly takes no lock,
// recovers nothing, replays no log and writes nothing. It sees the
// catalog as last checkpointed (its generation, Generation) and the
// segment files that catalog names, which are never changed, only
// removed once a later catalog no longer names them: a reader that finds
// one missing is behind and opens again.

// OpenReadOnly opens dir for reading only. Its catalog must exist.
func OpenReadOnly(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "catalog.json")); err != nil {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "data directory %s has no catalog to read: %v", dir, err)
	}
	st := newStore(dir, defaultSegmentBytes)
	st.readOnly = true
	return st, nil
}

// ReadGeneration reads the generation of dir's catalog.json without
// opening the directory (a worker checks whether it is behind).
func ReadGeneration(dir string) (uint64, error) {
	sc, _, err := readCatalog(dir)
	if err != nil {
		return 0, err
	}
	if sc == nil {
		return 0, sqlerr.New(sqlerr.UndefinedObject, "data directory %s has no catalog", dir)
	}
	return sc.WALGeneration, nil
}

// errReadOnly is what a write to a read-only store fails with.
func errReadOnly(dir string) error {
	return sqlerr.New(sqlerr.ReadOnlyTransaction, "data directory %s is open read-only (a cluster worker)", dir)
}

// Generation is the generation of the catalog the store last read or
// wrote: each checkpoint makes the next one.
func (st *Store) Generation() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.gen
}

// StoredAt reports whether parts (table oid's batches per partition)
// are exactly the batches the catalog of the returned generation names
// for that table, each in its segment files: then a reader of that
// catalog (a worker) reads the same rows in the same order. Batches
// changed since, held only by the log, or of a table the catalog does
// not have (a temporary one), are not.
func (st *Store) StoredAt(oid uint32, parts [][]arrow.Record) (uint64, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	stored, ok := st.catalogParts[oid]
	return st.gen, ok && sameBatches(stored, parts)
}

func sameBatches(stored, parts [][]arrow.Record) bool {
	if len(stored) != len(parts) {
		return false
	}
	for p := range parts {
		if len(stored[p]) != len(parts[p]) {
			return false
		}
		for i := range parts[p] {
			if stored[p][i] != parts[p][i] {
				return false
			}
		}
	}
	return true
}

// noteCatalogParts records the batches the catalog names for a table
// (the caller holds st.mu). Only their identity is kept, to compare.
func (st *Store) noteCatalogParts(oid uint32, parts [][]arrow.Record) {
	if st.catalogParts == nil {
		st.catalogParts = map[uint32][][]arrow.Record{}
	}
	cp := make([][]arrow.Record, len(parts))
	for p := range parts {
		cp[p] = append([]arrow.Record(nil), parts[p]...)
	}
	st.catalogParts[oid] = cp
}

// recoverReadOnly ends a read-only open: the generation is the
// catalog's, and nothing is removed or replayed.
func (st *Store) recoverReadOnly(doc *Catalog) {
	st.gen = doc.WALGeneration
}
