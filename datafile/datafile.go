// Package datafile reads files as relations: CSV, Parquet, Arrow IPC and
// newline-delimited JSON, with their schema inferred when they are bound
// and their batches converted to Weft's Arrow mapping of SQL types.
package datafile

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Source is a set of files of one format read as one relation; each file
// is one partition.
type Source struct {
	Format string // csv, parquet, arrow, json
	Paths  []string
	Names  []string
	Types  []types.T
	Header bool // CSV: the first line names the columns
	Comma  rune
	Null   string // CSV: the spelling of NULL (besides an empty field)
	// Typed marks CSV columns whose types were given, not inferred: each
	// field is parsed as COPY parses it, and Convert appends what the
	// plain parsers leave (with the checks and errors of a cast).
	Typed   bool
	Convert func(col int, text []byte, b array.Builder, zone *time.Location) error
}

// CSVOptions are read_csv's options; the zero value means a header line,
// commas and empty fields as NULL.
type CSVOptions struct {
	NoHeader  bool
	Delimiter rune
	Null      string
}

// Schema is the Arrow schema batches come out in.
func (s *Source) Schema() *arrow.Schema {
	fields := make([]arrow.Field, len(s.Names))
	for i := range s.Names {
		fields[i] = arrow.Field{Name: s.Names[i], Type: s.Types[i].Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// Resolve expands a path or glob inside dir; nothing outside it may be read.
func Resolve(dir, pattern string) ([]string, error) {
	if dir == "" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "reading server files is not enabled (start with --files-dir DIR)")
	}
	if filepath.IsAbs(pattern) || strings.Contains(filepath.ToSlash(pattern), "..") {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "file %q must be relative to the files directory and stay inside it", pattern)
	}
	matches, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "bad file pattern %q: %v", pattern, err)
	}
	if len(matches) == 0 {
		return nil, sqlerr.New(sqlerr.UndefinedFile, "could not open file %q: no such file", pattern)
	}
	sort.Strings(matches)
	// read each through its real path, once it is known to be inside
	real := make([]string, len(matches))
	for i, m := range matches {
		rel, err := filepath.Rel(dir, m)
		if err != nil {
			return nil, outside(pattern)
		}
		if real[i], err = InsideDir(dir, rel); err != nil {
			return nil, err
		}
	}
	return real, nil
}

// Infer opens the first file and decides the relation's columns.
func Infer(format string, paths []string, csvOpts CSVOptions) (*Source, error) {
	s := &Source{Format: format, Paths: paths, Header: !csvOpts.NoHeader, Comma: ',', Null: csvOpts.Null}
	if csvOpts.Delimiter != 0 {
		s.Comma = csvOpts.Delimiter
	}
	var err error
	switch format {
	case "csv":
		err = s.inferCSV()
	case "parquet":
		err = s.inferArrowSchema(func() (*arrow.Schema, func(), error) {
			r, err := file.OpenParquetFile(paths[0], false)
			if err != nil {
				return nil, nil, err
			}
			fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
			if err != nil {
				r.Close()
				return nil, nil, err
			}
			sch, err := fr.Schema()
			return sch, func() { r.Close() }, err
		})
	case "arrow":
		err = s.inferArrowSchema(func() (*arrow.Schema, func(), error) {
			f, err := os.Open(paths[0])
			if err != nil {
				return nil, nil, err
			}
			r, err := ipc.NewFileReader(f)
			if err != nil {
				f.Close()
				return nil, nil, err
			}
			return r.Schema(), func() { r.Close(); f.Close() }, nil
		})
	case "json":
		err = s.inferJSON()
	default:
		return nil, sqlerr.New(sqlerr.InvalidParameter, "unknown file format %q", format)
	}
	if err != nil {
		return nil, bad(paths[0], err)
	}
	return s, nil
}

func bad(path string, err error) error {
	if se, ok := err.(*sqlerr.Error); ok {
		return se
	}
	return sqlerr.New(sqlerr.BadCopyFileFormat, "file %s: %v", filepath.Base(path), err)
}

func (s *Source) inferArrowSchema(open func() (*arrow.Schema, func(), error)) error {
	sch, closeFn, err := open()
	if err != nil {
		return err
	}
	defer closeFn()
	for _, f := range sch.Fields() {
		t, ok := markedType(f)
		if !ok {
			t, ok = types.FromArrow(f.Type)
		}
		if !ok {
			t = types.TextT // shown as text
		}
		s.Names, s.Types = append(s.Names, strings.ToLower(f.Name)), append(s.Types, t)
	}
	return nil
}

const sampleRows = 1000

func (s *Source) inferCSV() error {
	f, err := os.Open(s.Paths[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	r.Comma = s.Comma
	first, err := r.Read()
	if err != nil {
		return fmt.Errorf("no first line: %v", err)
	}
	kinds := make([]int, len(first)) // 0 int, 1 float, 2 bool, 3 date, 4 timestamp, 5 text
	for i, h := range first {
		if s.Header {
			s.Names = append(s.Names, strings.ToLower(strings.TrimSpace(h)))
		} else {
			s.Names = append(s.Names, fmt.Sprintf("column%d", i))
		}
		kinds[i] = -1
	}
	sample := func(rec []string) {
		for i := 0; i < len(rec) && i < len(kinds); i++ {
			if rec[i] == "" || rec[i] == s.Null {
				continue
			}
			kinds[i] = max(kinds[i], kindOf(rec[i], max(kinds[i], 0)))
		}
	}
	if !s.Header {
		sample(first)
	}
	for n := 0; n < sampleRows; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sample(rec)
	}
	for _, k := range kinds {
		s.Types = append(s.Types, []types.T{types.Int8T, types.Float8T, types.BoolT, types.DateT, types.TimestampT, types.TextT}[max(k, 5*boolToInt(k < 0))])
	}
	return nil
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kindOf finds the narrowest kind, at or above from, that parses v.
func kindOf(v string, from int) int {
	v = strings.TrimSpace(v)
	if from <= 0 {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return 0
		}
	}
	if from <= 1 {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return 1
		}
	}
	if from <= 2 && from != 1 {
		if l := strings.ToLower(v); l == "true" || l == "false" {
			return 2
		}
	}
	if from <= 3 && from != 1 && from != 2 {
		if _, err := time.Parse("2006-01-02", v); err == nil {
			return 3
		}
	}
	if from <= 4 && from != 1 && from != 2 {
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", time.RFC3339} {
			if _, err := time.Parse(layout, v); err == nil {
				return 4
			}
		}
	}
	return 5
}

func (s *Source) inferJSON() error {
	f, err := os.Open(s.Paths[0])
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	kinds := map[string]int{}
	var order []string
	for n := 0; n < sampleRows && sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return sqlerr.New(sqlerr.BadCopyFileFormat, "file %s, line %d: not a JSON object: %v", filepath.Base(s.Paths[0]), n+1, err)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, seen := kinds[k]; !seen {
				kinds[k] = -1
				order = append(order, k)
			}
			var k2 int
			switch v := obj[k].(type) {
			case nil:
				continue
			case float64:
				if v == float64(int64(v)) {
					k2 = 0
				} else {
					k2 = 1
				}
			case bool:
				k2 = 2
			default:
				k2 = 5
			}
			if kinds[k] >= 0 && kinds[k] != k2 && !(kinds[k] <= 1 && k2 <= 1) {
				k2 = 5
			}
			kinds[k] = max(kinds[k], k2)
		}
	}
	for _, k := range order {
		s.Names = append(s.Names, k)
		s.Types = append(s.Types, []types.T{types.Int8T, types.Float8T, types.BoolT, types.DateT, types.TimestampT, types.TextT}[max(kinds[k], 5*boolToInt(kinds[k] < 0))])
	}
	return nil
}

// Reader yields one file's batches in the source's schema.
type Reader interface {
	Next() (arrow.Record, error) // io.EOF at the end
	Close()
}

// Open reads file i.
func (s *Source) Open(ctx context.Context, mem memory.Allocator, i int, pd *Pushdown) (Reader, error) {
	cols := pd.columns(len(s.Names))
	if s.Format == "parquet" {
		if pd != nil && pd.BytesRead != nil {
			if fi, err := os.Stat(s.Paths[i]); err == nil {
				pd.BytesRead.Add(fi.Size())
			}
		}
		return s.openParquet(ctx, mem, s.Paths[i], cols, pd, nil)
	}
	r, err := s.openAll(ctx, mem, i, pd)
	if err != nil {
		return nil, err
	}
	return project(r, s.Schema(), cols), nil
}

// openAll reads every column of file i.
func (s *Source) openAll(ctx context.Context, mem memory.Allocator, i int, pd *Pushdown) (Reader, error) {
	path := s.Paths[i]
	schema := s.Schema()
	switch s.Format {
	case "csv":
		if s.Typed {
			return s.openTypedCSV(ctx, mem, path, pd)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, bad(path, err)
		}
		r := arrowcsv.NewReader(counted(f, pd), schema, arrowcsv.WithHeader(s.Header), arrowcsv.WithChunk(8192),
			arrowcsv.WithNullReader(true, "", s.Null), arrowcsv.WithAllocator(mem), arrowcsv.WithComma(s.Comma))
		return &recordReader{next: func() (arrow.Record, error) {
			if !r.Next() {
				if err := r.Err(); err != nil && err != io.EOF {
					return nil, sqlerr.New(sqlerr.InvalidText, "file %s: %v", filepath.Base(path), err)
				}
				return nil, io.EOF
			}
			rec := r.Record()
			rec.Retain()
			return rec, nil
		}, close: func() { r.Release(); f.Close() }}, nil
	case "arrow":
		f, err := os.Open(path)
		if err != nil {
			return nil, bad(path, err)
		}
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			f.Close()
			return nil, bad(path, err)
		}
		n := 0
		return s.converting(ctx, mem, path, func() (arrow.Record, error) {
			if n >= r.NumRecords() {
				return nil, io.EOF
			}
			rec, err := r.Record(n)
			n++
			if err != nil {
				return nil, bad(path, err)
			}
			rec.Retain()
			return rec, nil
		}, func() { r.Close(); f.Close() }), nil
	case "json":
		f, err := os.Open(path)
		if err != nil {
			return nil, bad(path, err)
		}
		jr := array.NewJSONReader(counted(f, pd), schema, array.WithAllocator(mem), array.WithChunk(8192))
		return &recordReader{next: func() (arrow.Record, error) {
			if !jr.Next() {
				if err := jr.Err(); err != nil && err != io.EOF {
					return nil, sqlerr.New(sqlerr.BadCopyFileFormat, "file %s: %v", filepath.Base(path), err)
				}
				return nil, io.EOF
			}
			rec := jr.Record()
			rec.Retain()
			return rec, nil
		}, close: func() { jr.Release(); f.Close() }}, nil
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "unknown file format %q", s.Format)
}

// openParquet reads the columns cols of a Parquet file, skipping the row
// groups whose statistics rule out pd's ranges; only, when not nil, are
// the row groups to read (a Piece's).
func (s *Source) openParquet(ctx context.Context, mem memory.Allocator, path string, cols []int, pd *Pushdown, only []int) (Reader, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, bad(path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, mem)
	if err != nil {
		pf.Close()
		return nil, bad(path, err)
	}
	groups := only // nil: all
	if pd != nil && len(pd.Ranges) > 0 {
		var skipped int
		groups, skipped = keepRowGroups(pf, fr.Manifest, pd.Ranges, only)
		pd.skipped.Add(int64(skipped))
	}
	if groups != nil && len(groups) == 0 {
		pf.Close()
		return &recordReader{next: func() (arrow.Record, error) { return nil, io.EOF }, close: func() {}}, nil
	}
	// read the leaves of the wanted columns (all of them when one is not a
	// plain leaf), then keep the wanted columns
	leaves, picked, fields := []int{}, []int{}, fr.Manifest.Fields
	for _, c := range cols {
		if c >= len(fields) || !fields[c].IsLeaf() {
			leaves = nil
			break
		}
		leaves = append(leaves, fields[c].ColIndex)
	}
	if leaves != nil && len(leaves) == 0 {
		// no column wanted: read one for the row count (or all, if the
		// first is not a plain leaf)
		leaves = nil
		if len(fields) > 0 && fields[0].IsLeaf() {
			leaves = []int{fields[0].ColIndex}
		}
	}
	if leaves == nil {
		picked = cols
	} else {
		// the reader returns the chosen leaves in file order
		order := append([]int(nil), cols...)
		sort.Ints(order)
		order = slices.Compact(order)
		for _, c := range cols {
			picked = append(picked, slices.Index(order, c))
		}
		if len(cols) == 0 {
			picked = nil
		}
		sort.Ints(leaves)
		leaves = slices.Compact(leaves)
	}
	rr, err := fr.GetRecordReader(ctx, leaves, groups)
	if err != nil {
		pf.Close()
		return nil, bad(path, err)
	}
	full := s.Schema()
	outFields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		outFields[i] = full.Field(c)
	}
	conv := &Source{Format: s.Format, Paths: s.Paths}
	for _, c := range cols {
		conv.Names = append(conv.Names, s.Names[c])
		conv.Types = append(conv.Types, s.Types[c])
	}
	return conv.converting(ctx, mem, path, func() (arrow.Record, error) {
		if !rr.Next() {
			if err := rr.Err(); err != nil && err != io.EOF {
				return nil, bad(path, err)
			}
			return nil, io.EOF
		}
		rec := rr.Record()
		return pick(rec, picked), nil
	}, func() { rr.Release(); pf.Close() }), nil
}

// pick returns a new reference to rec holding only the columns idx, in
// that order (a zero-column record of the same length for none).
func pick(rec arrow.Record, idx []int) arrow.Record {
	cols := make([]arrow.Array, len(idx))
	fields := make([]arrow.Field, len(idx))
	for i, c := range idx {
		cols[i] = rec.Column(c)
		fields[i] = rec.Schema().Field(c)
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// project keeps the columns cols of what r reads.
func project(r Reader, full *arrow.Schema, cols []int) Reader {
	if len(cols) == full.NumFields() {
		identity := true
		for i, c := range cols {
			identity = identity && i == c
		}
		if identity {
			return r
		}
	}
	return &recordReader{next: func() (arrow.Record, error) {
		rec, err := r.Next()
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		return pick(rec, cols), nil
	}, close: r.Close}
}

// converting casts each batch's columns to the source's SQL types.
func (s *Source) converting(ctx context.Context, mem memory.Allocator, path string, next func() (arrow.Record, error), closeFn func()) Reader {
	schema := s.Schema()
	return &recordReader{next: func() (arrow.Record, error) {
		rec, err := next()
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		cols := make([]arrow.Array, rec.NumCols())
		defer func() {
			for _, c := range cols {
				if c != nil {
					c.Release()
				}
			}
		}()
		for i := range cols {
			want := schema.Field(i).Type
			if arrow.TypeEqual(rec.Column(i).DataType(), want) {
				cols[i] = rec.Column(i)
				cols[i].Retain()
				continue
			}
			if str, ok := rec.Column(i).(*array.String); ok && want.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
				c, err := parseIntervals(mem, str, filepath.Base(path), s.Names[i])
				if err != nil {
					return nil, err
				}
				cols[i] = c
				continue
			}
			opts := compute.SafeCastOptions(want)
			opts.AllowTimeTruncate = true // nanosecond timestamps keep microseconds
			c, err := compute.CastArray(compute.WithAllocator(ctx, mem), rec.Column(i), opts)
			if err != nil {
				return nil, sqlerr.New(sqlerr.CannotCoerce, "file %s, column %s: %v", filepath.Base(path), s.Names[i], err)
			}
			cols[i] = c
		}
		return array.NewRecord(schema, cols, rec.NumRows()), nil
	}, close: closeFn}
}

type recordReader struct {
	next  func() (arrow.Record, error)
	close func()
}

func (r *recordReader) Next() (arrow.Record, error) { return r.next() }
func (r *recordReader) Close()                      { r.close() }
