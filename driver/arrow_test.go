package driver_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/driver"
)

// TestArrowEscapeHatch reads batches through (*sql.Conn).Raw, reads a
// part of a result and drops the rest, and bulk-loads a record; the
// checked allocator sees every batch released.
func TestArrowEscapeHatch(t *testing.T) {
	// the loaded record's buffers live in the table until the database
	// closes, so this check runs after openChecked's cleanup
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	db := openCheckedWith(t, weft.Options{Partitions: 2, BatchSize: 100})
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE ev (id bigint, kind text)")
	mustExec(t, db, "INSERT INTO ev SELECT g, CASE WHEN g % 3 = 0 THEN 'c' ELSE 'o' END FROM generate_series(1, 1000) g")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var batches, rows, sum int64
	var fields []string
	err = conn.Raw(func(c any) error {
		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, "SELECT id, kind FROM ev WHERE kind = $1", "c")
		if err != nil {
			return err
		}
		defer rr.Release()
		for _, f := range rr.Schema().Fields() {
			fields = append(fields, f.Name+":"+f.Type.String())
		}
		for rr.Next() {
			rec := rr.Record()
			batches++
			rows += rec.NumRows()
			for _, v := range rec.Column(0).(*array.Int64).Int64Values() {
				sum += v
			}
		}
		return rr.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// multiples of 3 up to 999: 333 of them, summing to 3 * 333*334/2
	if rows != 333 || sum != 3*333*334/2 || batches == 0 {
		t.Errorf("%d rows in %d batches summing to %d", rows, batches, sum)
	}
	if got := fmtList(fields); got != "id:int64 kind:utf8" {
		t.Errorf("schema %s", got)
	}

	// read one batch of many, then drop the reader
	err = conn.Raw(func(c any) error {
		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, "SELECT * FROM ev")
		if err != nil {
			return err
		}
		defer rr.Release()
		if !rr.Next() {
			t.Error("no batch")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// a statement without rows still has a (columnless) schema
	err = conn.Raw(func(c any) error {
		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, "SELECT id FROM ev WHERE false")
		if err != nil {
			return err
		}
		defer rr.Release()
		if rr.Next() || rr.Schema().NumFields() != 1 {
			t.Errorf("empty result: schema %v", rr.Schema())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// bulk load through AppendArrow
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{2001, 2002}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "x"}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	err = conn.Raw(func(c any) error {
		n, err := c.(driver.ArrowConn).AppendArrow("ev", []arrow.Record{rec})
		if n != 2 {
			t.Errorf("appended %d rows", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := queryInt64(t, conn, "SELECT count(*) FROM ev WHERE kind = 'x'"); got != 2 {
		t.Errorf("%d loaded rows", got)
	}
}

func fmtList(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
