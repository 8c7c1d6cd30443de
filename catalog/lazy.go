package catalog

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// A table's batches need not be in memory: storage hands the catalog
// batches that stand for segment files and read them on first use
// (storage's lazysegment.go). Such a batch knows its schema and row count
// from the catalog; its columns come from the file, which is checked
// against its checksum the first time. Code about to read a batch's
// columns calls LoadBatch (or LoadAll) first, so that a damaged file is an
// error it can return; a batch read without that still reads correctly,
// and a damaged one then panics with the error (which the statement's
// guard turns back into it).

// Loader is a batch whose columns are read on demand.
type Loader interface {
	// Load reads the batch's columns if they are not read yet, checking
	// them (damage is an XX001 error).
	Load() error
	// Loaded reports whether the columns are read (Load would do nothing).
	Loaded() bool
}

// LoadBatch makes rec's columns readable: a no-op for a batch in memory.
func LoadBatch(rec arrow.Record) error {
	if l, ok := rec.(Loader); ok {
		return l.Load()
	}
	return nil
}

// BatchLoaded reports whether reading rec's columns costs no I/O.
func BatchLoaded(rec arrow.Record) bool {
	if l, ok := rec.(Loader); ok {
		return l.Loaded()
	}
	return true
}

// LoadAll loads every batch of parts (see LoadBatch).
func LoadAll(parts [][]arrow.Record) error {
	for _, p := range parts {
		for _, r := range p {
			if err := LoadBatch(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Load loads every batch of the snapshot, for a reader about to read all
// of it.
func (s *Snapshot) Load() error {
	if s == nil {
		return nil
	}
	return LoadAll(s.Parts)
}
