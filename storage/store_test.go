package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	tbl.Parts = [][]SegmentRef{nil}
	for _, rec := range recs {
		refs, err := cp.Segments(100, rec)
		if err != nil {
			t.Fatal(err)
		}
		tbl.Parts[0] = append(tbl.Parts[0], refs...)
	}
	if err := cp.Commit(&Catalog{NextOID: 101, Tables: []Table{tbl}}); err != nil {
		t.Fatal(err)
	}
}

// reopen opens dir and reads back table 100's batches and the log's.
func reopen(t *testing.T, dir string, mem memory.Allocator) (st *Store, stored []int64, logged []int64) {
	t.Helper()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := st.ReadCatalog()
	if err != nil || doc == nil {
		t.Fatalf("catalog: %v %v", doc, err)
	}
	for _, refs := range doc.Tables[0].Parts {
		for i := range refs {
			rec, err := st.ReadSegment(mem, &refs[i], testSchema, "public.t")
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, rec.Column(0).(*array.Int64).Int64Values()...)
			rec.Release()
		}
	}
	_, err = st.Recover(doc, mem, func(oid uint32, recs []arrow.Record) error {
		if oid != 100 {
			t.Errorf("log entry of table %d", oid)
		}
		for _, r := range recs {
			logged = append(logged, r.Column(0).(*array.Int64).Int64Values()...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, stored, logged
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
	installed := false
	if ok, err := st.LogAppend(100, []arrow.Record{c}, c.NumRows(), func() { installed = true }); !ok || err != nil || !installed {
		t.Fatalf("log append: %v %v installed=%v", ok, err, installed)
	}
	if !st.LogHoldsRows() {
		t.Fatal("the log holds no rows after an append")
	}
	st.Close()
	a.Release()
	b.Release()
	c.Release()

	st, stored, logged := reopen(t, dir, mem)
	defer st.Close()
	if want := []int64{1, 2, 3, 4}; !equal(stored, want) {
		t.Errorf("segments hold %v, want %v", stored, want)
	}
	if want := []int64{7, 8}; !equal(logged, want) {
		t.Errorf("log holds %v, want %v", logged, want)
	}
}

func TestTornLogTailIsCut(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, _ := Open(dir, Options{})
	st.ReadCatalog()
	checkpointBatches(t, st)
	for _, v := range []int64{5, 6} {
		rec := int64Batch(mem, v)
		st.LogAppend(100, []arrow.Record{rec}, 1, func() {})
		rec.Release()
	}
	st.Close()
	path := filepath.Join(dir, "wal.log")
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	st, _, logged := reopen(t, dir, mem)
	st.Close()
	if want := []int64{5}; !equal(logged, want) {
		t.Errorf("after a torn last entry the log holds %v, want %v", logged, want)
	}
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
