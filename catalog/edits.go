package catalog

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// A batch an UPDATE or DELETE patched is another batch (its base) with a
// few rows replaced or dropped. The snapshot that holds it keeps that fact
// as the batch's BatchEdits, so that the write-ahead log writes the change
// as edits of the base without comparing the two batches row by row, and
// a COMMIT's merge knows which rows a block changed without comparing
// them either: the cost follows the rows changed, not the batch's size.

// The steps of BatchEdits.Ops (the write-ahead log writes them as they
// are: the numbers are part of its format).
const (
	EditCopy = 0 // the base's next n rows, as they are
	EditSkip = 1 // the base's next n rows are left out
	EditTake = 2 // the batch's next n rows are its own
)

// BatchEdits says how a batch is made from Base: Ops are pairs (step, n)
// over Base's rows and the batch's, in order (the batch's own rows are
// those its EditTake steps cover).
type BatchEdits struct {
	// Base is compared by identity only: it is neither retained nor read
	// (a batch it names may have been let go; then nothing holds it to
	// be compared with).
	Base arrow.Record
	Ops  []int64
}

// Edits are the BatchEdits of some batches of a snapshot, by batch.
type Edits map[arrow.Record]*BatchEdits

// editsBuilder appends steps, joining a step to the one before it when
// they are the same.
type editsBuilder struct{ ops []int64 }

func (b *editsBuilder) add(op, n int64) {
	if n <= 0 {
		return
	}
	k := len(b.ops)
	if k >= 2 && b.ops[k-2] == op {
		b.ops[k-1] += n
		return
	}
	b.ops = append(b.ops, op, n)
}

// ReplacedRows are the edits of a batch that is base with the rows at
// (ascending) replaced in place.
func ReplacedRows(base arrow.Record, at []int) *BatchEdits {
	var b editsBuilder
	prev := 0
	for _, row := range at {
		b.add(EditCopy, int64(row-prev))
		b.add(EditTake, 1)
		b.add(EditSkip, 1)
		prev = row + 1
	}
	b.add(EditCopy, base.NumRows()-int64(prev))
	return &BatchEdits{Base: base, Ops: b.ops}
}

// DroppedRows are the edits of a batch that is base without the rows
// drop (ascending).
func DroppedRows(base arrow.Record, drop []int) *BatchEdits {
	var b editsBuilder
	prev := 0
	for _, row := range drop {
		b.add(EditCopy, int64(row-prev))
		b.add(EditSkip, 1)
		prev = row + 1
	}
	b.add(EditCopy, base.NumRows()-int64(prev))
	return &BatchEdits{Base: base, Ops: b.ops}
}

// Fits reports whether the edits make a batch of rows rows from a base of
// baseRows rows (else they are not the edits of that batch).
func (e *BatchEdits) Fits(baseRows, rows int64) bool {
	var used, made int64
	for k := 0; k+1 < len(e.Ops); k += 2 {
		n := e.Ops[k+1]
		if n <= 0 {
			return false
		}
		switch e.Ops[k] {
		case EditCopy:
			used += n
			made += n
		case EditSkip:
			used += n
		case EditTake:
			made += n
		default:
			return false
		}
	}
	return len(e.Ops)%2 == 0 && used == baseRows && made == rows
}

// Taken lists the batch's own rows (ascending).
func (e *BatchEdits) Taken() []int {
	var out []int
	pos := 0
	for k := 0; k+1 < len(e.Ops); k += 2 {
		n := int(e.Ops[k+1])
		switch e.Ops[k] {
		case EditCopy:
			pos += n
		case EditTake:
			for i := 0; i < n; i++ {
				out = append(out, pos+i)
			}
			pos += n
		}
	}
	return out
}

// InPlace lists the rows the edits replace, when the batch is its base
// with rows replaced where they were (same length, row for row); ok is
// false for any other edits (rows dropped or added).
func (e *BatchEdits) InPlace() (rows []int, ok bool) {
	var skipped []int
	base, pos := 0, 0
	for k := 0; k+1 < len(e.Ops); k += 2 {
		n := int(e.Ops[k+1])
		switch e.Ops[k] {
		case EditCopy:
			if base != pos {
				return nil, false // a copied row moved
			}
			base += n
			pos += n
		case EditSkip:
			for i := 0; i < n; i++ {
				skipped = append(skipped, base+i)
			}
			base += n
		case EditTake:
			for i := 0; i < n; i++ {
				rows = append(rows, pos+i)
			}
			pos += n
		}
	}
	if base != pos || len(rows) != len(skipped) {
		return nil, false
	}
	for i := range rows {
		if rows[i] != skipped[i] {
			return nil, false
		}
	}
	return rows, true
}

// Then is the edits of a batch made by next from the batch e made (whose
// edits next's are): e's base to next's batch in one step. It is nil
// when next does not fit e's batch.
func (e *BatchEdits) Then(next *BatchEdits) *BatchEdits {
	var b editsBuilder
	k := 0         // e's step being used
	var left int64 // rows of it not used yet
	if len(e.Ops) >= 2 {
		left = e.Ops[1]
	}
	// pull passes n of e's batch's rows on: kept (next copies them) or
	// left out (next skips them); e's skips met on the way stay
	pull := func(n int64, keep bool) bool {
		for n > 0 {
			if k+1 >= len(e.Ops) {
				return false
			}
			step := e.Ops[k]
			if step == EditSkip {
				b.add(EditSkip, left)
				k += 2
				if k+1 < len(e.Ops) {
					left = e.Ops[k+1]
				}
				continue
			}
			m := min(n, left)
			switch {
			case keep:
				b.add(step, m) // a base row copied or an own row taken still
			case step == EditCopy:
				b.add(EditSkip, m) // a base row left out now
			}
			n -= m
			left -= m
			if left == 0 {
				k += 2
				if k+1 < len(e.Ops) {
					left = e.Ops[k+1]
				}
			}
		}
		return true
	}
	for j := 0; j+1 < len(next.Ops); j += 2 {
		n := next.Ops[j+1]
		switch next.Ops[j] {
		case EditCopy:
			if !pull(n, true) {
				return nil
			}
		case EditSkip:
			if !pull(n, false) {
				return nil
			}
		case EditTake:
			b.add(EditTake, n)
		default:
			return nil
		}
	}
	// what is left of e can only be its skips
	for ; k+1 < len(e.Ops); k += 2 {
		if e.Ops[k] != EditSkip {
			return nil
		}
		b.add(EditSkip, left)
		if k+3 < len(e.Ops) {
			left = e.Ops[k+3]
		}
	}
	return &BatchEdits{Base: e.Base, Ops: b.ops}
}

// EditsOf is how batch rec of s was made from a batch before it, when the
// write that made s recorded it (nil otherwise).
func (s *Snapshot) EditsOf(rec arrow.Record) *BatchEdits {
	return s.edits[rec]
}

// EditsWithin is s's edits of those of its batches parts still holds
// (nil when s has none).
func (s *Snapshot) EditsWithin(parts [][]arrow.Record) Edits {
	if len(s.edits) == 0 {
		return nil
	}
	out := Edits{}
	for _, p := range parts {
		for _, r := range p {
			if e := s.edits[r]; e != nil {
				out[r] = e
			}
		}
	}
	return out
}

// NewSnapshotEdited is NewSnapshotAfter for data some batches of which
// were made by edits (edits, owned by the snapshot from now on).
func NewSnapshotEdited(prev *Snapshot, parts [][]arrow.Record, edits Edits) *Snapshot {
	s := NewSnapshot(parts)
	s.edits = edits
	deriveIndexes(prev, s)
	return s
}

// ReplaceEdited is Replace for data some batches of which were made by
// edits (owned by the new snapshot).
func (t *Table) ReplaceEdited(parts [][]arrow.Record, edits Edits) {
	s := NewSnapshot(parts)
	s.edits = edits
	t.setData(s)
}
