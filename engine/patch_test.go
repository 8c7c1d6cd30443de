package engine

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestUpdateByKeyPatchesItsBatch: an UPDATE of one row found through the
// primary key replaces only its batch, in which the columns it did not
// change are the very arrays they were (nothing copied, so the log's
// difference and a COMMIT's merge see them unchanged at once) and the
// changed column differs in that row alone; in a block too. The answers
// are checked against PostgreSQL's in testdata/slt/queries/update_patch.slt.
func TestUpdateByKeyPatchesItsBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db, err := Open(Options{Mem: mem, Partitions: 1, BatchSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	defer s.Close()
	mustSQL(t, s, "CREATE TABLE acc (id int PRIMARY KEY, bal int, filler text); INSERT INTO acc SELECT g, 0, repeat('x', 20) FROM generate_series(1, 10000) g")
	tbl, _, _ := db.cat.Lookup("public", "acc", nil)
	for _, sql := range []string{
		"UPDATE acc SET bal = bal + 5 WHERE id = 2050",
		"BEGIN; UPDATE acc SET bal = bal + 5 WHERE id = 2050; COMMIT",
	} {
		before := tbl.Snapshot()
		mustSQL(t, s, sql)
		after := tbl.Snapshot()
		changed := 0
		for b, old := range before.Parts[0] {
			now := after.Parts[0][b]
			if now == old {
				continue
			}
			changed++
			for _, c := range []int{0, 2} {
				if now.Column(c) != old.Column(c) {
					t.Errorf("%s: column %d of the updated batch was copied", sql, c)
				}
			}
			if diff := differingRows(old.Column(1), now.Column(1)); len(diff) != 1 || diff[0] != 2049-b*1024 {
				t.Errorf("%s: bal differs in rows %v of batch %d", sql, diff, b)
			}
		}
		if changed != 1 {
			t.Errorf("%s: %d batches replaced, want 1", sql, changed)
		}
		before.Release()
		after.Release()
	}
	if got := one(t, s, "SELECT bal, (SELECT sum(bal) FROM acc) FROM acc WHERE id = 2050"); got != "10|10" {
		t.Errorf("after the updates: %s", got)
	}
}

func differingRows(a, b arrow.Array) []int {
	x, y := a.(interface{ Value(int) int32 }), b.(interface{ Value(int) int32 })
	var out []int
	for i := 0; i < a.Len(); i++ {
		if x.Value(i) != y.Value(i) {
			out = append(out, i)
		}
	}
	return out
}

// BenchmarkPatchColumn: one value put into an 8,192-row int32 column (an
// UPDATE of pgbench's abalance), as one copy of the column with the value
// set, and as the runs around it joined with it (what patchColumn did).
func BenchmarkPatchColumn(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	bld := array.NewInt32Builder(mem)
	for i := 0; i < n; i++ {
		bld.Append(int32(i))
	}
	base := bld.NewArray()
	defer base.Release()
	bld.Append(-1)
	repl := bld.NewArray()
	defer repl.Release()
	bld.Release()
	at, from := []int{4000}, []int{0}
	b.Run("copied", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			a, ok := patchFixedWidth(mem, base, at, repl, from)
			if !ok {
				b.Fatal("an int32 column is fixed-width")
			}
			a.Release()
		}
	})
	b.Run("joined", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			a, err := patchBySlices(mem, base, at, repl, from)
			if err != nil {
				b.Fatal(err)
			}
			a.Release()
		}
	})
}
