package driver

import (
	"context"
	sqldriver "database/sql/driver"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft"
)

// ArrowConn is the Arrow side of a connection, for callers that want
// columnar batches rather than rows. Reach it through database/sql's raw
// access to a connection:
//
//	err := conn.Raw(func(c any) error {
//		rr, err := c.(driver.ArrowConn).QueryArrow(ctx, "SELECT ...", 42)
//		if err != nil {
//			return err
//		}
//		defer rr.Release()
//		for rr.Next() {
//			rec := rr.Record() // valid until the next call to Next
//			...
//		}
//		return rr.Err()
//	})
type ArrowConn interface {
	// QueryArrow runs one statement (or, without arguments, a string of
	// them, returning the last one's rows) and returns its batches. The
	// caller releases the reader.
	QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error)
	// AppendArrow adds batches to a table in one atomic step (see
	// weft.Session.AppendArrow); the caller keeps its references.
	AppendArrow(table string, recs []arrow.Record) (int64, error)
}

var _ ArrowConn = (*conn)(nil)

// QueryArrow implements ArrowConn.
func (c *conn) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	named, err := c.convertArgs(args)
	if err != nil {
		return nil, err
	}
	results, err := c.run(ctx, query, named, true)
	if err != nil {
		return nil, err
	}
	last := results[len(results)-1]
	releaseAll(results[:len(results)-1])
	return newBatchReader(ctx, last), nil
}

// AppendArrow implements ArrowConn.
func (c *conn) AppendArrow(table string, recs []arrow.Record) (int64, error) {
	if err := c.usable(); err != nil {
		return 0, err
	}
	return c.sess.AppendArrow(table, recs)
}

// convertArgs turns QueryArrow's arguments into driver values as
// database/sql would (Valuer, then the default conversions), taking Go
// slices as arrays.
func (c *conn) convertArgs(args []any) ([]sqldriver.NamedValue, error) {
	out := make([]sqldriver.NamedValue, len(args))
	for i, a := range args {
		nv := sqldriver.NamedValue{Ordinal: i + 1, Value: a}
		if err := c.CheckNamedValue(&nv); err == sqldriver.ErrSkip {
			v, err := sqldriver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return nil, err
			}
			nv.Value = v
		}
		out[i] = nv
	}
	return out, nil
}

// batchReader is an array.RecordReader over a result's batches; each
// batch is released when the next is asked for.
type batchReader struct {
	refs   atomic.Int64
	src    *batchSource
	schema *arrow.Schema
	cur    arrow.Record
	err    error
}

var _ array.RecordReader = (*batchReader)(nil)

func newBatchReader(ctx context.Context, res *weft.Result) *batchReader {
	r := &batchReader{src: newBatchSource(ctx, res), schema: resultSchema(res)}
	r.refs.Store(1)
	return r
}

// resultSchema is the schema of the result's batches, or the one its
// columns' types give when it has none.
func resultSchema(res *weft.Result) *arrow.Schema {
	if len(res.Batches) > 0 {
		return res.Batches[0].Schema()
	}
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func (r *batchReader) Retain() { r.refs.Add(1) }

func (r *batchReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.dropBatch()
		r.src.Close()
	}
}

func (r *batchReader) Schema() *arrow.Schema { return r.schema }

// Next moves to the next batch, releasing the one before.
func (r *batchReader) Next() bool {
	r.dropBatch()
	if r.err != nil {
		return false
	}
	r.cur, r.err = r.src.Next()
	return r.cur != nil
}

func (r *batchReader) dropBatch() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *batchReader) Record() arrow.Record { return r.cur }

// RecordBatch is Record under arrow-go's newer name.
func (r *batchReader) RecordBatch() arrow.Record { return r.cur }

func (r *batchReader) Err() error { return r.err }
