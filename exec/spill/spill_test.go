package spill

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func testBatch(t *testing.T, mem memory.Allocator, start, n int) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := start; i < start+n; i++ {
		if i%7 == 0 {
			b.Field(0).AppendNull()
			b.Field(1).AppendNull()
			continue
		}
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("row " + string(rune('a'+i%26)))
	}
	return b.NewRecord()
}

// TestWriteReadBack writes batches (with NULLs and text) and reads the
// same batches back, compressed or not, then leaves no file behind.
func TestWriteReadBack(t *testing.T) {
	for _, compress := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		root, err := OpenRoot(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		q := root.NewQuery()
		q.Compress = compress
		var want []arrow.Record
		for i := 0; i < 3; i++ {
			want = append(want, testBatch(t, mem, i*1000, 1000))
		}
		w, err := q.NewWriter(want[0].Schema(), mem)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range want {
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		f, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if f.Rows() != 3000 || f.Bytes() == 0 || q.Written() != f.Bytes() {
			t.Fatalf("compress=%v: rows %d, bytes %d, written %d", compress, f.Rows(), f.Bytes(), q.Written())
		}
		for pass := 0; pass < 2; pass++ { // a file can be read more than once
			r, err := f.Open(mem)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				got, err := r.Next()
				if err == io.EOF {
					if i != len(want) {
						t.Fatalf("read %d batches, want %d", i, len(want))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if !array.RecordEqual(got, want[i]) {
					t.Errorf("compress=%v batch %d differs", compress, i)
				}
				got.Release()
			}
			r.Close()
		}
		f.Remove()
		for _, b := range want {
			b.Release()
		}
		if err := q.Remove(); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(root.Dir()); len(entries) != 0 {
			t.Errorf("left in the spill directory: %v", entries)
		}
		mem.AssertSize(t, 0)
	}
}

// TestSweepAfterCrash: what a crashed process left is removed at the next
// open — a data directory's statement directories, and the temporary
// roots whose process no longer holds their lock — and nothing else.
func TestSweepAfterCrash(t *testing.T) {
	data := t.TempDir()
	stale := filepath.Join(data, "spill", "query-123-4")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "1.arrows"), []byte("x"), 0o600)
	mine := filepath.Join(data, "spill", "notes.txt")
	os.WriteFile(mine, []byte("keep"), 0o600)
	if _, err := OpenRoot(data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale statement directory survived: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file the database did not write was removed: %v", err)
	}

	base := t.TempDir()
	live, err := openTempRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead := filepath.Join(base, tempPrefix+"dead")
	os.MkdirAll(dead, 0o700)
	os.WriteFile(filepath.Join(dead, lockName), nil, 0o600)
	other := filepath.Join(base, tempPrefix+"nolock")
	os.MkdirAll(other, 0o700)
	second, err := openTempRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a dead process's spill directory survived: %v", err)
	}
	if _, err := os.Stat(live.Dir()); err != nil {
		t.Errorf("a live database's spill directory was removed: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a directory without a lock file was removed: %v", err)
	}
	second.Close()
	if _, err := os.Stat(second.Dir()); !os.IsNotExist(err) {
		t.Errorf("closing left the temporary root: %v", err)
	}
}

// TestTempRootsOpenedTogether: databases in memory opening their spill
// directories at the same moment (the test suite's processes do) never
// sweep one another's away: each directory is still there afterwards.
func TestTempRootsOpenedTogether(t *testing.T) {
	base := t.TempDir()
	for round := 0; round < 20; round++ {
		roots := make([]*Root, 16)
		errs := make([]error, len(roots))
		var wg sync.WaitGroup
		for i := range roots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				roots[i], errs[i] = openTempRoot(base)
			}()
		}
		wg.Wait()
		for i, r := range roots {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if _, err := os.Stat(r.Dir()); err != nil {
				t.Fatalf("round %d: a spill directory was swept while its database was open: %v", round, err)
			}
		}
		for _, r := range roots {
			r.Close()
		}
	}
}
