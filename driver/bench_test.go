package driver_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/driver"
)

// BenchmarkScanRows reads a million rows of (bigint, text) through
// database/sql, and the same result through the session API, to show what
// the row-at-a-time conversion costs.
//
//	go test -run '^$' -bench ScanRows -benchtime 3x ./driver
func BenchmarkScanRows(b *testing.B) {
	const query = "SELECT g, 'row ' || g FROM generate_series(1, 1000000) g"
	wdb, err := weft.Open(weft.Options{Partitions: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer wdb.Close()
	db := sql.OpenDB(driver.NewConnectorFor(wdb))
	defer db.Close()
	b.Run("database/sql", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows, err := db.Query(query)
			if err != nil {
				b.Fatal(err)
			}
			var n, id int64
			var label string
			for rows.Next() {
				if err := rows.Scan(&id, &label); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != 1000000 {
				b.Fatalf("%d rows", n)
			}
		}
	})
	b.Run("session", func(b *testing.B) {
		s := wdb.NewSession()
		defer s.Close()
		for i := 0; i < b.N; i++ {
			res, err := s.Query(context.Background(), query)
			if err != nil {
				b.Fatal(err)
			}
			if res.NumRows() != 1000000 {
				b.Fatalf("%d rows", res.NumRows())
			}
			res.Release()
		}
	})
}
