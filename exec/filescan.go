package exec

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/datafile"
)

// FileScan reads a set of files, one partition per file.
type FileScan struct {
	Env    *Env
	Source *datafile.Source
	Push   *datafile.Pushdown
	Out    *arrow.Schema
}

func (f *FileScan) Schema() *arrow.Schema { return f.Out }
func (f *FileScan) Partitions() int       { return len(f.Source.Paths) }
func (f *FileScan) Children() []Operator  { return nil }
func (f *FileScan) Explain() string {
	s := fmt.Sprintf("FileScan %s (files: %d)", f.Source.Format, len(f.Source.Paths))
	if f.Push != nil && len(f.Push.Ranges) > 0 {
		parts := make([]string, len(f.Push.Ranges))
		for i, r := range f.Push.Ranges {
			parts[i] = fmt.Sprintf("%s %s %v", f.Source.Names[r.Col], r.Op, r.Value)
		}
		s += fmt.Sprintf(" row group filter: %s; row groups skipped: %d", strings.Join(parts, " AND "), f.Push.Skipped())
	}
	return s
}

func (f *FileScan) Open(ctx context.Context, part int) (Stream, error) {
	r, err := f.Source.Open(datafile.WithZone(ctx, f.Env.TimeZone()), f.Env.Mem, part, f.Push)
	if err != nil {
		return nil, err
	}
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Next()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		if f.Env.Progress != nil {
			f.Env.Progress.Rows.Add(rec.NumRows())
		}
		return withSchemaRecord(rec, f.Out), nil
	}, close: r.Close}, nil
}

// withSchemaRecord relabels a record with the plan's schema (same types).
func withSchemaRecord(rec arrow.Record, schema *arrow.Schema) arrow.Record {
	if rec.Schema().Equal(schema) {
		return rec
	}
	defer rec.Release()
	cols := rec.Columns()
	return array.NewRecord(schema, cols, rec.NumRows())
}
