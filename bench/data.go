package main

import (
	"context"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft"
)

// The table: id = i, g = i % 1000, v = (i*7) % 100003, s = 'str' || (i % 50000).
func rowValues(i int64) (id, g, v int64, s string) {
	return i, i % 1000, (i * 7) % 100003, "str" + strconv.FormatInt(i%50000, 10)
}

const chunk = 1 << 16

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "g", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// loadWeft generates the rows as Arrow batches and bulk-loads them.
func loadWeft(s *weft.Session, rows int) error {
	if rs, err := s.Exec(context.Background(), "CREATE TABLE t (id bigint, g bigint, v bigint, s text)"); err != nil {
		return err
	} else {
		for _, r := range rs {
			r.Release()
		}
	}
	batch := generate(rows)
	defer func() {
		for _, r := range batch {
			r.Release()
		}
	}()
	_, err := s.AppendArrow("t", batch)
	return err
}
