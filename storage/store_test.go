package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// The engine's tests (engine/persist_test.go, wal_test.go, damage_test.go,
// datadir_test.go) exercise storage through SQL: crashes, torn logs, a
// full disk, concurrent checkpoints. These test the interface itself.

var testSchema = arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

func int64Batch(mem memory.Allocator, vals ...int64) arrow.Record {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	col := b.NewArray()
	defer col.Release()
	return array.NewRecord(testSchema, []arrow.Array{col}, int64(len(vals)))
}

func tableDoc(oid uint32) Table {
	return Table{Schema: "public", Name: "t", OID: oid, Columns: []catalog.Column{{Name: "a", Type: types.T{Kind: types.Int8}}}}
}

// checkpointBatches stores one table (OID 100) holding recs in one partition.
func checkpointBatches(t *testing.T, st *Store, recs ...arrow.Record) {
	t.Helper()
	cp := st.BeginCheckpoint()
	defer cp.Done()
	tbl := tableDoc(100)
	refs, err := cp.Table(TableData{OID: 100, Schema: testSchema, Parts: [][]arrow.Record{recs}})
	if err != nil {
		t.Fatal(err)
	}
	tbl.Parts = refs
	if err := cp.Commit(&Catalog{NextOID: 101, Tables: []Table{tbl}}); err != nil {
		t.Fatal(err)
	}
}

// testReplayer keeps what replay gives table 100.
type testReplayer struct {
	t     *testing.T
	parts [][]arrow.Record
}

func (r *testReplayer) Append(oid uint32, recs []arrow.Record) error {
	r.t.Errorf("an append entry in a new log")
	return nil
}

func (r *testReplayer) Replace(oid uint32, parts [][]arrow.Record) error {
	if oid != 100 {
		r.t.Errorf("log entry of table %d", oid)
	}
	r.release()
	for _, p := range parts {
		for _, rec := range p {
			rec.Retain()
		}
	}
	r.parts = parts
	return nil
}

func (r *testReplayer) release() {
	for _, p := range r.parts {
		for _, rec := range p {
			rec.Release()
		}
	}
	r.parts = nil
}

// reopen opens dir and returns table 100's values: as the segments hold
// them, and after the log's replay (nil when the log changed nothing).
func reopen(t *testing.T, dir string, mem memory.Allocator) (st *Store, stored []int64, replayed []int64) {
	t.Helper()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := st.ReadCatalog()
	if err != nil || doc == nil {
		t.Fatalf("catalog: %v %v", doc, err)
	}
	parts, err := st.ReadTable(mem, 100, testSchema, "public.t", doc.Tables[0].Parts)
	if err != nil {
		t.Fatal(err)
	}
	stored = values(parts)
	release(parts)
	r := &testReplayer{t: t}
	if _, err := st.Recover(doc, mem, r); err != nil {
		t.Fatal(err)
	}
	if r.parts != nil {
		replayed = values(r.parts)
	}
	r.release()
	return st, stored, replayed
}

func values(parts [][]arrow.Record) []int64 {
	out := []int64{}
	for _, p := range parts {
		for _, r := range p {
			col := r.Column(0).(*array.Int64)
			for i := 0; i < col.Len(); i++ {
				if col.IsNull(i) {
					out = append(out, -1)
				} else {
					out = append(out, col.Value(i))
				}
			}
		}
	}
	return out
}

func release(parts [][]arrow.Record) {
	for _, p := range parts {
		for _, r := range p {
			r.Release()
		}
	}
}

// logLayout logs table 100 as holding parts.
func logLayout(t *testing.T, st *Store, parts [][]arrow.Record) {
	t.Helper()
	ok, err := st.LogTables(func() []TableData { return []TableData{{OID: 100, Schema: testSchema, Parts: parts}} })
	if !ok || err != nil {
		t.Fatalf("log: %v %v", ok, err)
	}
}

func TestCheckpointAndLogRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !isCode(err, sqlerr.ObjectInUse) {
		t.Fatalf("second open: %v, want 55006", err)
	}
	if doc, _, err := st.ReadCatalog(); doc != nil || err != nil {
		t.Fatalf("new directory: %v %v", doc, err)
	}
	a, b := int64Batch(mem, 1, 2, 3), int64Batch(mem, 4)
	checkpointBatches(t, st, a, b)
	segs := countSegments(t, dir)
	// a second checkpoint of the same batches writes no segment
	checkpointBatches(t, st, a, b)
	if got := countSegments(t, dir); got != segs {
		t.Fatalf("%d segment files after rewriting the same batches, %d before", got, segs)
	}
	c := int64Batch(mem, 7, 8)
	logLayout(t, st, [][]arrow.Record{{a, b, c}})
	if !st.LogHoldsRows() {
		t.Fatal("the log holds nothing after an entry")
	}
	st.Close()
	a.Release()
	b.Release()
	c.Release()

	st, stored, replayed := reopen(t, dir, mem)
	defer st.Close()
	if want := []int64{1, 2, 3, 4}; !equal(stored, want) {
		t.Errorf("segments hold %v, want %v", stored, want)
	}
	if want := []int64{1, 2, 3, 4, 7, 8}; !equal(replayed, want) {
		t.Errorf("after the log: %v, want %v", replayed, want)
	}
}

// TestLayoutEdits: an update of one row, deletions, an append into the
// last batch and a new partition are logged as small differences and
// replay into exactly the batches the table had, entry after entry (each
// naming batches the one before wrote).
func TestLayoutEdits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, _ := Open(dir, Options{})
	st.ReadCatalog()
	seq := func(from, n int64) arrow.Record {
		v := make([]int64, n)
		for i := range v {
			v[i] = from + int64(i)
		}
		return int64Batch(mem, v...)
	}
	a, b := seq(0, 1000), seq(1000, 1000)
	checkpointBatches(t, st, a, b)
	var all []arrow.Record // every batch made, released at the end
	defer func() {
		for _, r := range all {
			r.Release()
		}
	}()
	all = append(all, a, b)
	edit := func(base arrow.Record, f func(v []int64) []int64) arrow.Record {
		v := append([]int64(nil), base.Column(0).(*array.Int64).Int64Values()...)
		r := int64Batch(mem, f(v)...)
		all = append(all, r)
		return r
	}
	sizes := []int64{}
	logged := func(parts [][]arrow.Record) {
		before := st.wal.size
		logLayout(t, st, parts)
		sizes = append(sizes, st.wal.size-before)
	}
	// UPDATE of row 500 of b
	b2 := edit(b, func(v []int64) []int64 { v[500] = -5; return v })
	logged([][]arrow.Record{{a, b2}})
	// DELETE of rows 10-19 of a, and of b2's first row
	a2 := edit(a, func(v []int64) []int64 { return append(v[:10], v[20:]...) })
	b3 := edit(b2, func(v []int64) []int64 { return v[1:] })
	logged([][]arrow.Record{{a2, b3}})
	// an append into the last batch and a new partition
	b4 := edit(b3, func(v []int64) []int64 { return append(v, 5000, 5001) })
	c := seq(9000, 3)
	all = append(all, c)
	logged([][]arrow.Record{{a2, b4}, {c}})
	want := values([][]arrow.Record{{a2, b4}, {c}})
	for i, n := range sizes[:2] {
		if n > 2000 {
			t.Errorf("entry %d for a change of a few rows of 1000-row batches took %d bytes", i, n)
		}
	}
	st.Close()
	st, _, replayed := reopen(t, dir, mem)
	defer st.Close()
	if !equal(replayed, want) {
		t.Errorf("replayed %d values, want %d; first differences: %v", len(replayed), len(want), firstDiff(replayed, want))
	}
}

func firstDiff(a, b []int64) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at %d: %d vs %d", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d", len(a), len(b))
}

func TestDamagedModuleIsAnError(t *testing.T) {
	dir := t.TempDir()
	st, _ := Open(dir, Options{})
	defer st.Close()
	st.ReadCatalog()
	code := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(code)
	hash := hex.EncodeToString(sum[:])
	cp := st.BeginCheckpoint()
	if err := cp.WriteModule(hash, code); err != nil {
		t.Fatal(err)
	}
	cp.Done()
	if got, err := st.ReadModule(hash, "f"); err != nil || string(got) != string(code) {
		t.Fatalf("read module: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "modules", hash+".wasm"), []byte("other"), 0o644)
	if _, err := st.ReadModule(hash, "f"); !isCode(err, sqlerr.DataCorrupted) {
		t.Fatalf("damaged module: %v, want XX001", err)
	}
	if _, err := st.ReadModule("00"+hash[2:], "f"); !isCode(err, sqlerr.DataCorrupted) {
		t.Fatalf("missing module: %v, want XX001", err)
	}
}

func countSegments(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func isCode(err error, code string) bool {
	var se *sqlerr.Error
	return errors.As(err, &se) && se.Code == code
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReadOnlyOpen: a second reader of a locked directory sees the
// catalog's generation and batches, writes nothing, and StoredAt tells
// batches the catalog names from ones changed since.
func TestReadOnlyOpen(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.ReadCatalog(); err != nil {
		t.Fatal(err)
	}
	rec := int64Batch(mem, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	defer rec.Release()
	checkpointBatches(t, st, rec)
	gen, ok := st.StoredAt(100, [][]arrow.Record{{rec}})
	if !ok || gen != st.Generation() {
		t.Fatalf("StoredAt after checkpoint = %d, %v; want %d, true", gen, ok, st.Generation())
	}
	other := int64Batch(mem, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	defer other.Release()
	if _, ok := st.StoredAt(100, [][]arrow.Record{{other}}); ok {
		t.Fatal("StoredAt accepted a batch the catalog does not name")
	}
	if _, ok := st.StoredAt(100, [][]arrow.Record{{rec}, {}}); ok {
		t.Fatal("StoredAt accepted another partitioning")
	}
	if _, ok := st.StoredAt(101, [][]arrow.Record{{rec}}); ok {
		t.Fatal("StoredAt accepted a table the catalog does not have")
	}

	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	doc, _, err := ro.ReadCatalog()
	if err != nil || doc == nil {
		t.Fatalf("read-only ReadCatalog: %v, %v", doc, err)
	}
	parts, err := ro.ReadTable(mem, 100, testSchema, "t", doc.Tables[0].Parts)
	if err != nil {
		t.Fatal(err)
	}
	defer parts[0][0].Release()
	if parts[0][0].NumRows() != 10 {
		t.Fatalf("read %d rows, want 10", parts[0][0].NumRows())
	}
	if _, err := ro.Recover(doc, mem, nil); err != nil {
		t.Fatal(err)
	}
	if ro.Generation() != st.Generation() {
		t.Fatalf("read-only generation %d, writer's %d", ro.Generation(), st.Generation())
	}
	if g, err := ReadGeneration(dir); err != nil || g != st.Generation() {
		t.Fatalf("ReadGeneration = %d, %v", g, err)
	}
	cp := ro.BeginCheckpoint()
	_, err = cp.Table(TableData{OID: 100, Schema: testSchema, Parts: parts})
	cp.Done()
	if sqlerr.Code(err) != sqlerr.ReadOnlyTransaction {
		t.Fatalf("a read-only store wrote a checkpoint: %v", err)
	}
	if _, err := OpenReadOnly(t.TempDir()); err == nil {
		t.Fatal("OpenReadOnly of an empty directory succeeded")
	}
}
