package datafile

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/sql/sqlerr"
)

// typedBatchRows is how many rows a batch of a typed CSV read holds.
const typedBatchRows = 8192

type zoneKey struct{}

// WithZone gives reads under ctx the session's time zone, in which typed
// CSV columns read timestamps without an offset of their own.
func WithZone(ctx context.Context, zone *time.Location) context.Context {
	return context.WithValue(ctx, zoneKey{}, zone)
}

func zoneOf(ctx context.Context) *time.Location {
	zone, _ := ctx.Value(zoneKey{}).(*time.Location)
	return zone
}

// openTypedCSV reads a CSV file whose column types were given (Typed):
// fields are parsed straight into the column builders as COPY parses them,
// and what the plain parsers leave goes through s.Convert; an empty field
// is NULL, as in an inferred read.
func (s *Source) openTypedCSV(ctx context.Context, mem memory.Allocator, path string, pd *Pushdown) (Reader, error) {
	if s.Comma <= 0 || s.Comma >= 0x80 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "read_csv with columns needs a one-byte delimiter")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, bad(path, err)
	}
	name := filepath.Base(path)
	zone := zoneOf(ctx)
	r := copyfmt.NewReader(counted(f, pd), copyfmt.Options{Format: "csv", Header: s.Header, Delimiter: byte(s.Comma), Null: s.Null})
	schema := s.Schema()
	builders := make([]array.Builder, len(s.Types))
	fast := make([]copyfmt.FieldAppender, len(s.Types))
	for i, t := range s.Types {
		builders[i] = array.NewBuilder(mem, schema.Field(i).Type)
		fast[i] = copyfmt.NewFieldAppender(t, builders[i])
	}
	release := func() {
		for _, b := range builders {
			b.Release()
		}
		f.Close()
	}
	row := func(fields []copyfmt.Field, line int) error {
		if len(fields) != len(builders) {
			return sqlerr.New(sqlerr.BadCopyFileFormat, "file %s, line %d: %d fields, expected %d", name, line, len(fields), len(builders))
		}
		for k, fl := range fields {
			switch {
			case fl.Null || len(fl.Value) == 0:
				builders[k].AppendNull()
			case fast[k] != nil && fast[k](fl.Value):
			default:
				if err := s.Convert(k, fl.Value, builders[k], zone); err != nil {
					return sqlerr.Wrap(err).WithDetail(fmt.Sprintf("file %s, line %d, column %s: %q", name, line, s.Names[k], fl.Value))
				}
			}
		}
		return nil
	}
	next := func() (arrow.Record, error) {
		n := 0
		for ; n < typedBatchRows; n++ {
			fields, line, err := r.ReadFields()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, bad(path, err)
			}
			if err := row(fields, line); err != nil {
				return nil, err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, io.EOF
		}
		cols := make([]arrow.Array, len(builders))
		for i, b := range builders {
			cols[i] = b.NewArray()
		}
		rec := array.NewRecord(schema, cols, int64(n))
		for _, c := range cols {
			c.Release()
		}
		return rec, nil
	}
	return &recordReader{next: next, close: release}, nil
}
