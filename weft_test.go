package weft_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft"
)

// openFilled opens a durable database whose table t holds 1..n in
// column a, written by several statements, with b NULL in some batches
// and not others.
func openFilled(t *testing.T, mem memory.Allocator, dir string) *weft.DB {
	t.Helper()
	db, err := weft.Open(weft.Options{DataDir: dir, Mem: mem, Partitions: 3, BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s := db.NewSession()
	defer s.Close()
	for _, sql := range []string{
		"CREATE TABLE t (a bigint, b text)",
		"INSERT INTO t SELECT g, NULL FROM generate_series(1, 4000) g",
		"INSERT INTO t SELECT g, 'x' || g FROM generate_series(4001, 9000) g",
		"INSERT INTO t VALUES (9001, NULL), (9002, 'y')",
	} {
		res, err := s.Exec(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		for _, r := range res {
			r.Release()
		}
	}
	return db
}

// readAll sums column a over the stream's batches and counts NULLs in b.
func readAll(t *testing.T, res *weft.Result) (sum, nulls, batches int64) {
	t.Helper()
	for {
		b, err := res.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return
		}
		batches++
		a := b.Column(0).(*array.Int64)
		for i := 0; i < a.Len(); i++ {
			sum += a.Value(i)
		}
		nulls += int64(b.Column(1).NullN())
		b.Release()
	}
}

func TestQueryStreamReadsEveryRowOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openFilled(t, mem, t.TempDir())
	defer db.Close()
	s := db.NewSession()
	defer s.Close()
	res, err := s.QueryStream(context.Background(), "SELECT a, b FROM t WHERE a % 2 = 1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Tag != "SELECT 0" || len(res.Columns) != 2 || res.Columns[0].Name != "a" {
		t.Fatalf("before reading: tag %q, columns %v", res.Tag, res.Columns)
	}
	sum, nulls, batches := readAll(t, res)
	// odd numbers up to 9001: 4501 of them, summing to 4501²; b is NULL
	// for the odd ones of 1..4000 (2000) and 9001
	if sum != 4501*4501 || nulls != 2001 || batches < 2 {
		t.Errorf("sum %d, NULLs %d in %d batches; want %d, 2001, several", sum, nulls, batches, 4501*4501)
	}
	if res.Tag != "SELECT 4501" {
		t.Errorf("tag after reading: %q", res.Tag)
	}
	res.Release()
}

// TestStreamLeftOpen: a stream released half-read stops; one left open
// while the session runs another statement is read into memory first,
// and its holder still gets every row.
func TestStreamLeftOpen(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openFilled(t, mem, t.TempDir())
	defer db.Close()
	s := db.NewSession()
	defer s.Close()
	ctx := context.Background()

	half, err := s.QueryStream(ctx, "SELECT a, b FROM t")
	if err != nil {
		t.Fatal(err)
	}
	b, err := half.Next(ctx)
	if err != nil || b == nil {
		t.Fatalf("first batch: %v", err)
	}
	b.Release()
	half.Release()

	open, err := s.QueryStream(ctx, "SELECT a, b FROM t")
	if err != nil {
		t.Fatal(err)
	}
	first, err := open.Next(ctx)
	if err != nil || first == nil {
		t.Fatalf("first batch: %v", err)
	}
	other, err := s.Query(ctx, "SELECT count(*) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if n := other.Batches[0].Column(0).(*array.Int64).Value(0); n != 9002 {
		t.Errorf("count while a stream is open: %d", n)
	}
	other.Release()
	sum, _, _ := readAll(t, open)
	sum += sumOf(first)
	first.Release()
	if want := int64(9002 * 9003 / 2); sum != want {
		t.Errorf("the stream left open gave a sum of %d, want %d", sum, want)
	}
	open.Release()
}

func sumOf(b arrow.Record) int64 {
	var n int64
	for _, v := range b.Column(0).(*array.Int64).Int64Values() {
		n += v
	}
	return n
}
