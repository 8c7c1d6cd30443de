package engine

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/storage"
)

// A block that rewrote rows of a table others committed to meanwhile is
// merged batch by batch: a batch the block replaced that nobody else
// touched is swapped for the block's version as it is; only a batch both
// changed is merged row by row (by value), and a row the block took out
// that the other session changed too is a conflict (40001, first
// committer wins). So blocks changing different rows of one table commit
// without a scan of the whole table.

// batchChange is one batch a block (or a committed session) changed:
// base replaced by now (now nil: every row of base went; base nil: a
// batch added to partition part).
type batchChange struct {
	part      int
	base, now arrow.Record
}

// changesFrom pairs the batches of from that are gone in to with the new
// batches of to, partition by partition, in order.
func changesFrom(from, to *catalog.Snapshot) []batchChange {
	var out []batchChange
	for p := 0; p < max(len(from.Parts), len(to.Parts)); p++ {
		var old, cur []arrow.Record
		if p < len(from.Parts) {
			old = from.Parts[p]
		}
		if p < len(to.Parts) {
			cur = to.Parts[p]
		}
		gone, added := differingBatches(old, cur)
		out = appendPairedChanges(out, p, gone, added)
	}
	return out
}

// appendPairedChanges adds partition p's batches gone and added to out,
// paired in order (the longer list's rest paired with nil).
func appendPairedChanges(out []batchChange, p int, gone, added []arrow.Record) []batchChange {
	for k := 0; k < max(len(gone), len(added)); k++ {
		c := batchChange{part: p}
		if k < len(gone) {
			c.base = gone[k]
		}
		if k < len(added) {
			c.now = added[k]
		}
		out = append(out, c)
	}
	return out
}

// differingBatches is the batches of old that cur lacks and those of cur
// that old lacks, each in its order. A partition holds a batch once, and
// a commit replaces batches in place or appends: the batches old and cur
// share at the front and at the back (every one, in a partition nobody
// touched; all but the one replaced, after a one-row UPDATE) are skipped
// by position, and only what lies between them is compared as sets —
// not every batch of a large table, twice per COMMIT, through maps.
func differingBatches(old, cur []arrow.Record) (gone, added []arrow.Record) {
	front := 0
	for front < len(old) && front < len(cur) && old[front] == cur[front] {
		front++
	}
	back := 0
	for back < len(old)-front && back < len(cur)-front && old[len(old)-1-back] == cur[len(cur)-1-back] {
		back++
	}
	old, cur = old[front:len(old)-back], cur[front:len(cur)-back]
	return missingFrom(old, cur), missingFrom(cur, old)
}

// fewBatches is how few batches on either side make a search one by one
// cheaper than a set.
const fewBatches = 16

// missingFrom is the batches of recs that others lacks, in order.
func missingFrom(recs, others []arrow.Record) []arrow.Record {
	if len(recs) == 0 {
		return nil
	}
	var out []arrow.Record
	if min(len(recs), len(others)) <= fewBatches {
		for _, r := range recs {
			if !slices.Contains(others, r) {
				out = append(out, r)
			}
		}
		return out
	}
	in := recordSet(others)
	for _, r := range recs {
		if !in[r] {
			out = append(out, r)
		}
	}
	return out
}

func recordSet(recs []arrow.Record) map[arrow.Record]bool {
	m := make(map[arrow.Record]bool, len(recs))
	for _, r := range recs {
		m[r] = true
	}
	return m
}

// mergeBatches replays the block's changes (base to mine) on theirs. It
// returns the table's new partitions, whether the key columns of the
// rows the block added are those of the rows it took out (an UPDATE of
// other columns: no key can have become duplicated), and the edits of the
// batches it patched, from theirs' batches.
func (s *Session) mergeBatches(t *catalog.Table, base, mine, theirs *catalog.Snapshot) ([][]arrow.Record, bool, catalog.Edits, error) {
	rows := newRowKeys(t)
	// where each batch of the starting point went in theirs
	theirChange := map[arrow.Record]batchChange{}
	for _, c := range changesFrom(base, theirs) {
		if c.base != nil {
			theirChange[c.base] = c
		}
	}
	parts := make([][]arrow.Record, max(len(theirs.Parts), len(mine.Parts)))
	for p := range theirs.Parts {
		parts[p] = append([]arrow.Record(nil), theirs.Parts[p]...)
	}
	replace := map[arrow.Record]arrow.Record{} // a batch of theirs -> what it becomes (nil: gone)
	var made, extra []arrow.Record             // batches built here; rows added to no batch
	edits := catalog.Edits{}
	fail := func(err error) ([][]arrow.Record, bool, catalog.Edits, error) {
		exec.ReleaseRecords(made)
		exec.ReleaseRecords(extra)
		return nil, false, nil, err
	}
	keysKept := true
	for _, c := range changesFrom(base, mine) {
		if c.base == nil {
			c.now.Retain()
			extra = append(extra, c.now) // a new batch
			keysKept = keysKept && len(t.Keys) == 0
			continue
		}
		tc, theyChanged := theirChange[c.base]
		if !theyChanged {
			// still theirs as it was: swap it (the common case, which
			// needs no row-by-row difference unless keys may have moved)
			replace[c.base] = c.now
			if e := mine.EditsOf(c.now); c.now != nil && e != nil && e.Base == c.base {
				edits[c.now] = e
			}
			if keysKept && !keyColumnsEqual(t, c.base, c.now) {
				taken, added := rows.difference(c.base, c.now)
				keysKept = rows.sameKeys(t, taken, added)
			}
			continue
		}
		if merged, mergedEdits, ok, err := s.mergeInPlace(c.base, c.now, tc.now, mine.EditsOf(c.now), theirs.EditsOf(tc.now)); ok {
			if err == errRowsGone {
				err = mergeConflict(t)
			}
			if err != nil {
				return fail(err)
			}
			keysKept = keysKept && keyColumnsEqual(t, c.base, c.now)
			made = append(made, merged)
			replace[tc.now] = merged
			if mergedEdits != nil {
				edits[merged] = mergedEdits
			}
			continue
		}
		taken, added := rows.difference(c.base, c.now)
		keysKept = keysKept && rows.sameKeys(t, taken, added)
		if tc.now == nil {
			if len(taken) > 0 {
				return fail(mergeConflict(t)) // they took out every row of it
			}
			if c.now != nil {
				c.now.Retain()
				extra = append(extra, c.now)
			}
			continue
		}
		merged, addedRecs, err := rows.apply(s, tc.now, taken, added)
		if err != nil {
			if err == errRowsGone {
				err = mergeConflict(t)
			}
			return fail(err)
		}
		if merged != nil {
			made = append(made, merged)
		}
		extra = append(extra, addedRecs...)
		replace[tc.now] = merged
	}
	out := make([][]arrow.Record, len(parts))
	for p, recs := range parts {
		for _, r := range recs {
			now, swapped := replace[r]
			if !swapped {
				now = r
			}
			if now != nil {
				now.Retain()
				out[p] = append(out[p], now)
			}
		}
	}
	exec.ReleaseRecords(made)
	if len(extra) > 0 {
		grown, err := catalog.AppendParts(s.db.opts.Mem, &catalog.Snapshot{Parts: out}, extra, s.db.opts.BatchSize)
		for _, p := range out {
			exec.ReleaseRecords(p)
		}
		exec.ReleaseRecords(extra)
		if err != nil {
			return nil, false, nil, err
		}
		out = grown
	}
	return out, keysKept, edits, nil
}

// mergeConflict is the error of a COMMIT that took out a row another
// session changed meanwhile (made only then: most merges find none).
func mergeConflict(t *catalog.Table) error {
	return sqlerr.New(sqlerr.SerializationFailure, "could not serialize access due to concurrent update").
		WithDetail("A row of table \"" + t.Name + "\" this transaction updated or deleted was changed by another session.").
		WithHint("The transaction was rolled back; run it again.")
}

// keyColumnsEqual reports whether batches a and b hold the same values,
// row for row, in every column of t's keys (an UPDATE that changed other
// columns): then no key can have become duplicated.
func keyColumnsEqual(t *catalog.Table, a, b arrow.Record) bool {
	if len(t.Keys) == 0 {
		return true
	}
	if b == nil || a.NumRows() != b.NumRows() {
		return false
	}
	for _, k := range t.Keys {
		for _, c := range k.Columns {
			if a.Column(c) != b.Column(c) && !array.Equal(a.Column(c), b.Column(c)) {
				return false
			}
		}
	}
	return true
}

var errRowsGone = sqlerr.New(sqlerr.SerializationFailure, "rows gone")

// rowKeys compares rows by value in every column.
type rowKeys struct {
	kts []types.T
	buf []byte
}

func newRowKeys(t *catalog.Table) *rowKeys {
	all := catalog.Key{Columns: make([]int, len(t.Columns))}
	for i := range all.Columns {
		all.Columns[i] = i
	}
	return &rowKeys{kts: keyTypes(t, all)}
}

func (k *rowKeys) key(r arrow.Record, i int) string {
	k.buf = exec.EncodeKey(k.buf[:0], k.kts, r.Columns(), i)
	return string(k.buf)
}

// batchRow is one row of a batch.
type batchRow struct {
	rec arrow.Record
	row int
}

// difference is what changed from batch a to batch b (b may be nil):
// the rows of a that b lacks and the rows of b that a lacks, by value.
func (k *rowKeys) difference(a, b arrow.Record) (taken, added []batchRow) {
	count := map[string]int{}
	for i := 0; i < int(a.NumRows()); i++ {
		count[k.key(a, i)]++
	}
	if b != nil {
		for i := 0; i < int(b.NumRows()); i++ {
			key := k.key(b, i)
			if count[key] > 0 {
				count[key]--
				continue
			}
			added = append(added, batchRow{b, i})
		}
	}
	for i := int(a.NumRows()) - 1; i >= 0; i-- {
		key := k.key(a, i)
		if count[key] > 0 {
			count[key]--
			taken = append(taken, batchRow{a, i})
		}
	}
	return taken, added
}

// sameKeys reports whether every row added carries the key values of a
// row taken (an UPDATE of other columns; a DELETE adds none), for every
// key of t: then no key can have become duplicated.
func (k *rowKeys) sameKeys(t *catalog.Table, taken, added []batchRow) bool {
	if len(t.Keys) == 0 || len(added) == 0 {
		return true
	}
	for _, key := range t.Keys {
		kts := keyTypes(t, key)
		count := map[string]int{}
		enc := func(r batchRow) string {
			cols := make([]arrow.Array, len(key.Columns))
			for i, c := range key.Columns {
				cols[i] = r.rec.Column(c)
			}
			return string(exec.EncodeKey(nil, kts, cols, r.row))
		}
		for _, r := range taken {
			count[enc(r)]++
		}
		for _, r := range added {
			if count[enc(r)] == 0 {
				return false
			}
			count[enc(r)]--
		}
	}
	return true
}

// apply takes the rows taken (by value) out of batch into (nil when none
// is left) and returns the rows added as batches of their own;
// errRowsGone when a row to take out is not there.
func (k *rowKeys) apply(s *Session, into arrow.Record, taken, added []batchRow) (arrow.Record, []arrow.Record, error) {
	want := map[string]int{}
	for _, r := range taken {
		want[k.key(r.rec, r.row)]++
	}
	var drop []int
	for i := 0; i < int(into.NumRows()) && len(want) > 0; i++ {
		key := k.key(into, i)
		if want[key] > 0 {
			if want[key]--; want[key] == 0 {
				delete(want, key)
			}
			drop = append(drop, i)
		}
	}
	if len(want) > 0 {
		return nil, nil, errRowsGone
	}
	kept := into
	if len(drop) > 0 {
		var err error
		if kept, err = withoutRows(s, into, drop); err != nil {
			return nil, nil, err
		}
	} else {
		into.Retain()
	}
	var recs []arrow.Record
	for _, r := range added {
		rec, err := exec.TakeRecord(s.db.opts.Mem, r.rec, []int{r.row})
		if err != nil {
			if kept != nil {
				kept.Release()
			}
			exec.ReleaseRecords(recs)
			return nil, nil, err
		}
		recs = append(recs, rec)
	}
	return kept, recs, nil
}

// mergeInPlace merges two rewrites of batch base that both kept its rows
// in place (UPDATEs: the same length, row for row) position by position:
// the rows the block changed go into the other session's version, unless
// it changed one of them too (a conflict, first committer wins). ok is
// false when the rewrites are not both in place (merge by value then).
// mineEdits and theirsEdits are how each was made, where known: the rows
// each changed are then read from them rather than found by comparing.
// mergedEdits are how merged was made from theirs (nil when it is
// theirs).
func (s *Session) mergeInPlace(base, mine, theirs arrow.Record, mineEdits, theirsEdits *catalog.BatchEdits) (merged arrow.Record, mergedEdits *catalog.BatchEdits, ok bool, err error) {
	n := base.NumRows()
	if mine == nil || theirs == nil || mine.NumRows() != n || theirs.NumRows() != n {
		return nil, nil, false, nil
	}
	ours := inPlaceChanges(base, mine, mineEdits)
	if len(ours) == 0 {
		theirs.Retain()
		return theirs, nil, true, nil
	}
	changedByThem := inPlaceChanges(base, theirs, theirsEdits)
	for i, j := 0, 0; i < len(ours) && j < len(changedByThem); {
		switch {
		case ours[i] == changedByThem[j]:
			return nil, nil, true, errRowsGone
		case ours[i] < changedByThem[j]:
			i++
		default:
			j++
		}
	}
	merged, err = s.patchRecord(theirs, ours, mine, ours)
	if err != nil {
		return nil, nil, true, err
	}
	return merged, catalog.ReplacedRows(theirs, ours), true, nil
}

// inPlaceChanges lists the rows (ascending) where batch now, as long as
// base, was changed from it: from its edits when they are base's and
// replace rows in place, else by comparing the two (rows that were
// rewritten with the values they had then do not count).
func inPlaceChanges(base, now arrow.Record, e *catalog.BatchEdits) []int {
	if e != nil && e.Base == base && e.Fits(base.NumRows(), now.NumRows()) {
		if rows, ok := e.InPlace(); ok {
			return rows
		}
	}
	return storage.ChangedRows(base, now)
}
