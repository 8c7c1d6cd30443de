package catalog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// editStep is one change of a batch: rows replaced in place, or dropped.
type editStep struct {
	replace, drop []int
}

// modelBatch is a batch's rows as labels: a base row is its position in
// the first batch, a row an edit made is negative (unique).
type modelBatch []int

// apply makes the model of the batch a step makes from m, and the step's
// edits of rec (the batch m models).
func (m modelBatch) apply(rec arrow.Record, s editStep, fresh *int) (modelBatch, *BatchEdits) {
	if s.drop != nil {
		out := modelBatch{}
		for i, v := range m {
			if !slices.Contains(s.drop, i) {
				out = append(out, v)
			}
		}
		return out, DroppedRows(rec, s.drop)
	}
	out := slices.Clone(m)
	for _, i := range s.replace {
		*fresh--
		out[i] = *fresh
	}
	return out, ReplacedRows(rec, s.replace)
}

// rebuild makes a batch's model from the base's (base) and its own rows'
// labels (own, those of the rows e takes) by following e, as the log's
// replay does.
func rebuild(t *testing.T, base modelBatch, e *BatchEdits, own modelBatch) modelBatch {
	t.Helper()
	var out modelBatch
	b := 0
	for k := 0; k < len(e.Ops); k += 2 {
		n := int(e.Ops[k+1])
		switch e.Ops[k] {
		case EditCopy:
			out = append(out, base[b:b+n]...)
			b += n
		case EditSkip:
			b += n
		case EditTake:
			if len(own) < n {
				t.Fatalf("edits %v take more rows than the batch's own %v", e.Ops, own)
			}
			out = append(out, own[:n]...)
			own = own[n:]
		}
	}
	return out
}

// TestBatchEditsCompose: edits of edits (several UPDATEs and DELETEs of a
// batch in one transaction) composed with Then rebuild the last batch
// from the first and its own rows, exactly, as the log replays them;
// InPlace and Fits agree with the model.
func TestBatchEditsCompose(t *testing.T) {
	tests := []struct {
		name  string
		rows  int
		steps []editStep
	}{
		{"one update", 8, []editStep{{replace: []int{3}}}},
		{"same row twice", 8, []editStep{{replace: []int{3}}, {replace: []int{3}}}},
		{"two rows, then one again", 8, []editStep{{replace: []int{0, 7}}, {replace: []int{5}}, {replace: []int{0}}}},
		{"update then delete it", 8, []editStep{{replace: []int{2}}, {drop: []int{2}}}},
		{"delete then update the next", 8, []editStep{{drop: []int{2}}, {replace: []int{2}}}},
		{"delete first and last", 5, []editStep{{drop: []int{0, 4}}, {replace: []int{0, 2}}, {drop: []int{1}}}},
		{"delete everything one by one", 3, []editStep{{drop: []int{1}}, {drop: []int{0}}, {drop: []int{0}}}},
		{"one row batch", 1, []editStep{{replace: []int{0}}, {replace: []int{0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkComposed(t, tt.rows, tt.steps) })
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		rows := 1 + rng.IntN(40)
		var steps []editStep
		n := rows
		for s := 0; s < 1+rng.IntN(6) && n > 0; s++ {
			pick := pickRows(rng, n)
			if rng.IntN(3) == 0 {
				steps = append(steps, editStep{drop: pick})
				n -= len(pick)
			} else {
				steps = append(steps, editStep{replace: pick})
			}
		}
		t.Run(fmt.Sprintf("random %d", i), func(t *testing.T) { checkComposed(t, rows, steps) })
	}
}

// pickRows is a few of n rows, ascending.
func pickRows(rng *rand.Rand, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if rng.IntN(4) == 0 {
			out = append(out, i)
		}
	}
	if out == nil {
		out = []int{rng.IntN(n)}
	}
	return out
}

func checkComposed(t *testing.T, rows int, steps []editStep) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	first := int64Batch(mem, 0, rows)
	defer first.Release()
	base := make(modelBatch, rows)
	for i := range base {
		base[i] = i
	}
	cur, rec := base, first
	var total *BatchEdits
	replacedOnly := true
	fresh := 0
	for _, s := range steps {
		next, e := cur.apply(rec, s, &fresh)
		if !e.Fits(int64(len(cur)), int64(len(next))) {
			t.Fatalf("step %+v: edits %v do not fit %d rows to %d", s, e.Ops, len(cur), len(next))
		}
		if total == nil {
			total = e
		} else if total = total.Then(e); total == nil {
			t.Fatalf("step %+v: edits do not compose", s)
		}
		replacedOnly = replacedOnly && s.drop == nil
		// (the next step's batch: only its length matters to the edits)
		made := int64Batch(mem, 0, len(next))
		if rec != first {
			rec.Release()
		}
		cur, rec = next, made
	}
	if rec != first {
		defer rec.Release()
	}
	if total.Base != first || !total.Fits(int64(rows), int64(len(cur))) {
		t.Fatalf("composed edits %v do not make %d rows of the first batch's %d", total.Ops, len(cur), rows)
	}
	var own modelBatch
	for _, i := range total.Taken() {
		own = append(own, cur[i])
	}
	for _, v := range own {
		if v >= 0 {
			t.Errorf("composed edits %v take row %d, which is the base's", total.Ops, v)
		}
	}
	if got := rebuild(t, base, total, own); !slices.Equal(got, cur) {
		t.Errorf("composed edits %v rebuild %v, want %v", total.Ops, got, cur)
	}
	inPlace, ok := total.InPlace()
	if ok != replacedOnly {
		t.Errorf("InPlace ok = %v for edits %v (replacements only: %v)", ok, total.Ops, replacedOnly)
	}
	if ok && !slices.Equal(inPlace, total.Taken()) {
		t.Errorf("InPlace rows %v, own rows %v", inPlace, total.Taken())
	}
}
