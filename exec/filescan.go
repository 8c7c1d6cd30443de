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

// FileScan reads a set of files, one partition per file, or per run of
// row groups of its Parquet files (Pieces, datafile/split.go).
type FileScan struct {
	Env    *Env
	Source *datafile.Source
	Push   *datafile.Pushdown
	Out    *arrow.Schema
	// Pieces, when set, are the partitions: runs of row groups
	Pieces []datafile.Piece
}

// DefaultFileSplitRows is the fewest rows a partition of a Parquet
// file's row groups gets (weft.file_split_rows): below it a file is one
// partition.
const DefaultFileSplitRows = 1 << 20

// NewFileScan reads source, its Parquet files' row groups split across
// env's partitions in runs of at least env.FileSplitRows rows where
// there are fewer files than partitions.
func NewFileScan(env *Env, source *datafile.Source, push *datafile.Pushdown, out *arrow.Schema) *FileScan {
	f := &FileScan{Env: env, Source: source, Push: push, Out: out}
	if env != nil {
		f.Pieces = source.SplitRowGroups(env.Parallelism, env.FileSplitRows)
	}
	return f
}

func (f *FileScan) Schema() *arrow.Schema { return f.Out }
func (f *FileScan) Children() []Operator  { return nil }
func (f *FileScan) Partitions() int {
	if f.Pieces != nil {
		return len(f.Pieces)
	}
	return len(f.Source.Paths)
}

func (f *FileScan) Explain() string {
	s := fmt.Sprintf("FileScan %s (files: %d)", f.Source.Format, len(f.Source.Paths))
	if f.Pieces != nil {
		runs := make([]string, len(f.Pieces))
		for i, p := range f.Pieces {
			runs[i] = fmt.Sprintf("%d:%d-%d", p.File, p.First, p.Last-1)
		}
		s += fmt.Sprintf(" (split by row group into %d partitions, file:row groups %s)", len(f.Pieces), strings.Join(runs, " "))
	}
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
	ctx = datafile.WithZone(ctx, f.Env.TimeZone())
	var r datafile.Reader
	var err error
	if f.Pieces != nil {
		r, err = f.Source.OpenPiece(ctx, f.Env.Mem, f.Pieces[part], f.Push)
	} else {
		r, err = f.Source.Open(ctx, f.Env.Mem, part, f.Push)
	}
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
