package engine

import (
	"bytes"
	"hash/maphash"
	"math"
	"math/bits"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Unique keys are checked when rows are written: new rows against each
// other and against the key set of the data they join. A snapshot's key
// set is built the first time a writer needs it and handed on, with the
// new keys added, to the snapshot an append makes.

// keyTypes are the column types of a key.
func keyTypes(t *catalog.Table, k catalog.Key) []types.T {
	ts := make([]types.T, len(k.Columns))
	for i, c := range k.Columns {
		ts[i] = t.Columns[c].Type
	}
	return ts
}

// keyColumns picks a key's columns out of a batch.
func keyColumns(r arrow.Record, k catalog.Key) []arrow.Array {
	cols := make([]arrow.Array, len(k.Columns))
	for i, c := range k.Columns {
		cols[i] = r.Column(c)
	}
	return cols
}

// hasNull reports whether row i has a NULL in any key column (such rows
// never conflict).
func hasNull(cols []arrow.Array, i int) bool {
	for _, c := range cols {
		if c.IsNull(i) {
			return true
		}
	}
	return false
}

// eachKey calls f with the encoded key of every row of recs whose key
// columns hold no NULL (such rows never conflict).
func eachKey(t *catalog.Table, k catalog.Key, recs []arrow.Record, f func(key string, cols []arrow.Array, i int) error) error {
	kts := keyTypes(t, k)
	var buf []byte
	for _, r := range recs {
		cols := keyColumns(r, k)
		for i := 0; i < int(r.NumRows()); i++ {
			if hasNull(cols, i) {
				continue
			}
			buf = exec.EncodeKey(buf[:0], kts, cols, i)
			if err := f(string(buf), cols, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatten lists the batches of partitions.
func flatten(parts [][]arrow.Record) []arrow.Record {
	var out []arrow.Record
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// keySetOf returns the set of k's values in snap, building it on first use.
func keySetOf(t *catalog.Table, snap *catalog.Snapshot, k catalog.Key) *catalog.KeySet {
	if ks, ok := snap.KeySet(k.Name); ok {
		return ks
	}
	keys := map[string]struct{}{}
	_ = eachKey(t, k, flatten(snap.Parts), func(key string, _ []arrow.Array, _ int) error {
		keys[key] = struct{}{}
		return nil
	})
	ks := catalog.NewKeySet(keys)
	snap.SetKeySet(k.Name, ks)
	return ks
}

// newKeys checks rows about to be added to the data in cur against it and
// against each other, returning each key's new values (to extend cur's
// sets with once the rows are in).
func newKeys(t *catalog.Table, cur *catalog.Snapshot, recs []arrow.Record, zone *time.Location) ([]map[string]struct{}, error) {
	out := make([]map[string]struct{}, len(t.Keys))
	for ki, k := range t.Keys {
		// the key's index, where its types are indexed, else its key set
		var has func(string) bool
		ix := t.KeyIndex(cur, k)
		if ix == nil {
			has = keySetOf(t, cur, k).Has
		} else {
			has = func(string) bool { return false }
			var buf []byte
			for _, r := range recs {
				for i := 0; i < int(r.NumRows()); i++ {
					buf = ix.Def.AppendKey(buf[:0], r, i)
					if ix.Tree.HasKey(string(buf)) && !hasNull(keyColumns(r, k), i) {
						return nil, duplicateKey(t, k, keyColumns(r, k), i, zone)
					}
				}
			}
		}
		if _, extend := cur.KeySet(k.Name); ix != nil && !extend {
			// nothing keeps the new values: check them against each
			// other without a string per row
			if err := checkDistinctKeys(t, k, recs, zone); err != nil {
				return nil, err
			}
			continue
		}
		added := map[string]struct{}{}
		err := eachKey(t, k, recs, func(key string, cols []arrow.Array, i int) error {
			if _, dup := added[key]; dup || has(key) {
				return duplicateKey(t, k, cols, i, zone)
			}
			added[key] = struct{}{}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out[ki] = added
	}
	return out, nil
}

// extendKeySets hands cur's key sets, plus the added values, on to next
// (the snapshot the append made).
func extendKeySets(t *catalog.Table, cur, next *catalog.Snapshot, added []map[string]struct{}) {
	for ki, k := range t.Keys {
		if ks, ok := cur.KeySet(k.Name); ok {
			next.SetKeySet(k.Name, ks.With(added[ki]))
		}
	}
}

// checkAllKeys verifies every key over whole new data (after an UPDATE, or
// when a key is added) and returns the sets it built.
func checkAllKeys(t *catalog.Table, keys []catalog.Key, parts [][]arrow.Record, zone *time.Location) (map[string]*catalog.KeySet, error) {
	sets := map[string]*catalog.KeySet{}
	recs := flatten(parts)
	for _, k := range keys {
		seen := map[string]struct{}{}
		err := eachKey(t, k, recs, func(key string, cols []arrow.Array, i int) error {
			if _, dup := seen[key]; dup {
				return duplicateKey(t, k, cols, i, zone)
			}
			seen[key] = struct{}{}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sets[k.Name] = catalog.NewKeySet(seen)
	}
	return sets, nil
}

// duplicateKey is PostgreSQL's 23505 for row i's key (its values shown
// with timestamptz in the session's zone).
func duplicateKey(t *catalog.Table, k catalog.Key, cols []arrow.Array, i int, zone *time.Location) error {
	names := make([]string, len(k.Columns))
	vals := make([]string, len(k.Columns))
	for j, c := range k.Columns {
		names[j] = t.Columns[c].Name
		vals[j] = types.FormatIn(t.Columns[c].Type, exec.DatumAt(cols[j], i), zone)
	}
	return sqlerr.New(sqlerr.UniqueViolation, "duplicate key value violates unique constraint \"%s\"", k.Name).
		WithDetail("Key (" + strings.Join(names, ", ") + ")=(" + strings.Join(vals, ", ") + ") already exists.")
}

// checkDistinctKeys fails with a unique violation when two rows of recs
// share a key (rows with a NULL in it never conflict). A set of the
// encoded keys as strings cost SF1 lineitem's COPY 1.3 GB of allocation,
// beside the table it loads; here a slot holds the high half of a key's
// hash and the row's number, and rows whose hashes agree are told apart
// by encoding the earlier row's key again.
func checkDistinctKeys(t *catalog.Table, k catalog.Key, recs []arrow.Record, zone *time.Location) error {
	starts := make([]int, len(recs)+1) // the number of each batch's first row
	for i, r := range recs {
		starts[i+1] = starts[i] + int(r.NumRows())
	}
	total := starts[len(recs)]
	if total == 0 {
		return nil
	}
	if total >= math.MaxUint32 {
		return checkDistinctKeysBySet(t, k, recs, zone)
	}
	size := 1 << bits.Len(uint(2*total))
	slots, mask := make([]uint64, size), uint64(size-1)
	kts := keyTypes(t, k)
	seed := maphash.MakeSeed()
	var buf, other []byte
	for b, r := range recs {
		cols := keyColumns(r, k)
		for i := 0; i < int(r.NumRows()); i++ {
			if hasNull(cols, i) {
				continue
			}
			buf = exec.EncodeKey(buf[:0], kts, cols, i)
			h := maphash.Bytes(seed, buf)
			frag := h &^ 0xffffffff
			for pos := h & mask; ; pos = (pos + 1) & mask {
				slot := slots[pos]
				if slot == 0 {
					slots[pos] = frag | uint64(starts[b]+i+1)
					break
				}
				if slot&^0xffffffff != frag {
					continue
				}
				ob := sort.SearchInts(starts, int(uint32(slot))) - 1
				oi := int(uint32(slot)) - 1 - starts[ob]
				other = exec.EncodeKey(other[:0], kts, keyColumns(recs[ob], k), oi)
				if bytes.Equal(buf, other) {
					return duplicateKey(t, k, cols, i, zone)
				}
			}
		}
	}
	return nil
}

// checkDistinctKeysBySet is checkDistinctKeys with a set of strings, for
// more rows than a slot can number.
func checkDistinctKeysBySet(t *catalog.Table, k catalog.Key, recs []arrow.Record, zone *time.Location) error {
	seen := map[string]struct{}{}
	return eachKey(t, k, recs, func(key string, cols []arrow.Array, i int) error {
		if _, dup := seen[key]; dup {
			return duplicateKey(t, k, cols, i, zone)
		}
		seen[key] = struct{}{}
		return nil
	})
}
