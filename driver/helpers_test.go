package driver_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/driver"
)

// openChecked serves a database/sql pool over an in-memory database on a
// checked allocator; when the test ends it closes both and requires every
// Arrow byte to have been released.
func openChecked(t *testing.T) *sql.DB {
	t.Helper()
	return openCheckedWith(t, weft.Options{Partitions: 2})
}

// openCheckedWith is openChecked with options (small batches, say).
func openCheckedWith(t *testing.T, opts weft.Options) *sql.DB {
	t.Helper()
	db, _ := openCheckedDB(t, opts)
	return db
}

// openCheckedDB is openCheckedWith, with the database it connects to
// (for a second pool on it).
func openCheckedDB(t *testing.T, opts weft.Options) (*sql.DB, *weft.DB) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	opts.Mem = mem
	wdb, err := weft.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(driver.NewConnectorFor(wdb))
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		wdb.Close()
		mem.AssertSize(t, 0)
	})
	return db, wdb
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) sql.Result {
	t.Helper()
	res, err := db.ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

// queryInt64 reads a single integer.
func queryInt64(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
