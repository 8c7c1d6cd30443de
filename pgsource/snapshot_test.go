package pgsource

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// countRows reads every partition of scan and counts the rows.
func countRows(t *testing.T, scan *Scan, mem memory.Allocator) (int64, error) {
	t.Helper()
	out := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	var n int64
	for part := range scan.Partitions() {
		r, err := scan.Open(context.Background(), mem, out, part, 1024)
		if err != nil {
			return n, err
		}
		for {
			rec, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return n, err
			}
			n += rec.NumRows()
			rec.Release()
		}
		r.Close()
	}
	return n, nil
}

// TestSharedSnapshot: a scan joining another's exported snapshot
// (another process's, on a worker) reads the rows of that moment, split
// in ranges or not, while a scan of its own sees later rows; once the
// exporter lets go, the snapshot cannot be joined.
func TestSharedSnapshot(t *testing.T) {
	conn := pgtest.Start(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	if _, err := pg.Exec(ctx, "CREATE TABLE src AS SELECT g AS id FROM generate_series(1, 40000) g"); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	describe := func(ranges int) *Scan {
		src, err := DescribeTable(ctx, conn, "public.src", ranges)
		if err != nil {
			t.Fatal(err)
		}
		return &Scan{Src: src, Ords: []int{0}}
	}
	exporter := describe(1)
	snapshot, release, err := exporter.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, "INSERT INTO src SELECT g FROM generate_series(1, 500) g"); err != nil {
		t.Fatal(err)
	}
	for _, ranges := range []int{1, 4} {
		joined := describe(ranges)
		joined.UseSnapshot(snapshot)
		if n, err := countRows(t, joined, mem); err != nil || n != 40000 {
			t.Errorf("%d ranges under the exported snapshot: %d rows (%v), want 40000", ranges, n, err)
		}
		if n, err := countRows(t, describe(ranges), mem); err != nil || n != 40500 {
			t.Errorf("%d ranges of its own: %d rows (%v), want 40500", ranges, n, err)
		}
	}
	// the exporter's own partitions read under it too
	if n, err := countRows(t, exporter, mem); err != nil || n != 40000 {
		t.Errorf("the exporter's own read: %d rows (%v), want 40000", n, err)
	}
	release()
	release() // (once only)
	late := describe(1)
	late.UseSnapshot(snapshot)
	if _, err := countRows(t, late, mem); err == nil {
		t.Errorf("a snapshot let go of could still be joined")
	}
}
