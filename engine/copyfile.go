package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// copyFile runs COPY … FROM 'file' and COPY … TO 'file' inside the files
// directory (COPY with STDIN/STDOUT belongs to the wire protocol).
func (s *Session) copyFile(ctx context.Context, st *pg.CopyStmt) (*Result, error) {
	if st.Filename == "" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY with STDIN or STDOUT needs a client connection (weft serve)")
	}
	o, err := copyfmt.ParseOptions(st, "text", "csv", "parquet", "arrow", "json")
	if err != nil {
		return nil, err
	}
	if st.IsFrom {
		if err := s.requireServerFileRole(catalog.RoleReadServerFiles, "COPY from a file"); err != nil {
			return nil, err
		}
		return s.copyFromFile(ctx, st, o)
	}
	if err := s.requireServerFileRole(catalog.RoleWriteServerFiles, "COPY to a file"); err != nil {
		return nil, err
	}
	return s.copyToFile(ctx, st, o)
}

func (s *Session) copyFromFile(ctx context.Context, st *pg.CopyStmt, o copyfmt.Options) (*Result, error) {
	paths, err := datafile.Resolve(s.db.opts.FilesDir, st.Filename)
	if err != nil {
		return nil, err
	}
	in, err := s.beginCopyIn(st)
	if err != nil {
		return nil, err
	}
	defer in.Abort()
	for _, path := range paths {
		if o.Format == "csv" || o.Format == "text" {
			err = copyDelimitedFile(ctx, in, path, o)
		} else if o.Format == "json" {
			err = copyJSONFile(ctx, in, path)
		} else {
			err = s.copyTypedFile(ctx, in, path, o.Format)
		}
		if err != nil {
			return nil, err
		}
	}
	n, err := in.Commit()
	if err != nil {
		return nil, err
	}
	return &Result{Tag: "COPY " + itoa(n)}, nil
}

// copyDelimitedFile loads a CSV or text-format file row by row,
// converting each field as COPY FROM STDIN does, so a bad value is
// reported with its file, line and column.
func copyDelimitedFile(ctx context.Context, in *CopyIn, path string, o copyfmt.Options) error {
	f, err := os.Open(path)
	if err != nil {
		return sqlerr.New(sqlerr.UndefinedFile, "could not open file %q for reading: %v", filepath.Base(path), err)
	}
	defer f.Close()
	prog := &in.s.progress
	r := copyfmt.NewReader(datafile.CountingReader(f, &prog.Bytes), o)
	name := filepath.Base(path)
	for row := 0; ; row++ {
		if row%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields, line, err := r.ReadFields()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if se, ok := err.(*sqlerr.Error); ok {
				return se.WithDetail("file " + name)
			}
			return sqlerr.New(sqlerr.IOError, "could not read file %s: %v", name, err)
		}
		if err := in.AddFields(fields, name, line); err != nil {
			return err
		}
		prog.Rows.Add(1)
	}
}

// copyJSONFile loads newline-delimited JSON objects, matching keys to
// the columns by name (a missing key is NULL) and converting values as
// text input of the column's type.
func copyJSONFile(ctx context.Context, in *CopyIn, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return sqlerr.New(sqlerr.UndefinedFile, "could not open file %q for reading: %v", filepath.Base(path), err)
	}
	defer f.Close()
	name := filepath.Base(path)
	prog := &in.s.progress
	sc := bufio.NewScanner(datafile.CountingReader(f, &prog.Bytes))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || dec.More() {
			if err == nil {
				err = errors.New("more than one value on the line")
			}
			return sqlerr.New(sqlerr.BadCopyFileFormat, "file %s, line %d: not a JSON object: %v", name, line, err)
		}
		fields := make([]*string, len(in.Columns))
		for i, c := range in.Columns {
			v, ok := obj[c.Name]
			if !ok || v == nil {
				continue
			}
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case json.Number:
				s = x.String()
			case bool:
				s = map[bool]string{true: "true", false: "false"}[x]
			default:
				raw, _ := json.Marshal(x)
				s = string(raw)
			}
			fields[i] = &s
		}
		if err := in.AddText(fields, name, line); err != nil {
			return err
		}
		prog.Rows.Add(1)
	}
	if err := sc.Err(); err != nil {
		return sqlerr.New(sqlerr.IOError, "could not read file %s: %v", name, err)
	}
	return nil
}

// copyTypedFile loads a Parquet, Arrow IPC or JSON file, converting its
// columns to the table's types.
func (s *Session) copyTypedFile(ctx context.Context, in *CopyIn, path, format string) error {
	src := &datafile.Source{Format: format, Paths: []string{path}, Comma: ','}
	for _, c := range in.Columns {
		src.Names, src.Types = append(src.Names, c.Name), append(src.Types, c.Type)
	}
	r, err := src.Open(ctx, s.db.opts.Mem, 0, &datafile.Pushdown{BytesRead: &s.progress.Bytes})
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s.progress.Rows.Add(rec.NumRows())
		for row := 0; row < int(rec.NumRows()); row++ {
			vals := make([]types.Datum, rec.NumCols())
			for c := range vals {
				vals[c] = exec.DatumAt(rec.Column(c), row)
			}
			if err := in.AddRow(vals); err != nil {
				rec.Release()
				return err
			}
		}
		rec.Release()
	}
}

func (s *Session) copyToFile(ctx context.Context, st *pg.CopyStmt, o copyfmt.Options) (*Result, error) {
	dir := s.db.opts.FilesDir
	if dir == "" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "writing server files is not enabled (start with --files-dir DIR)")
	}
	if _, err := datafile.InsideDir(dir, st.Filename); err != nil {
		return nil, err
	}
	sql, err := s.copyOutQuery(st)
	if err != nil {
		return nil, err
	}
	res, err := s.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	if err := writeInside(dir, st.Filename, func(f *os.File) error { return writeResult(f, res, o) }); err != nil {
		return nil, err
	}
	return &Result{Tag: "COPY " + itoa(res.NumRows())}, nil
}

// writeResult writes a result as CSV/text, Parquet, Arrow IPC or JSON lines.
func writeResult(f *os.File, res *Result, o copyfmt.Options) error {
	format := o.Format
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: true, Metadata: datafile.FieldMetadata(c.Type)}
	}
	schema := arrow.NewSchema(fields, nil)
	switch format {
	case "parquet":
		// Parquet has no exact interval type (its INTERVAL keeps
		// milliseconds): intervals are written as their text, marked so
		// that reading the file gives intervals back
		pqSchema := datafile.ParquetSchema(schema)
		// Snappy, as DuckDB and Spark write by default: cheap to decode
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
		w, err := pqarrow.NewFileWriter(pqSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return err
		}
		for _, b := range res.Batches {
			rec, err := datafile.ToParquetRecord(pqSchema, b, func(i int, a arrow.Array) []string {
				out := make([]string, a.Len())
				for r := range out {
					if d := exec.DatumAt(a, r); d != nil {
						out[r] = res.FormatValue(i, d)
					}
				}
				return out
			})
			if err != nil {
				return err
			}
			err = w.Write(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return w.Close()
	case "arrow":
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
		if err != nil {
			return err
		}
		for _, b := range res.Batches {
			rec := array.NewRecord(schema, b.Columns(), b.NumRows())
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return w.Close()
	case "json":
		enc := json.NewEncoder(f)
		for _, b := range res.Batches {
			for r := 0; r < int(b.NumRows()); r++ {
				obj := map[string]any{}
				for c, col := range res.Columns {
					d := exec.DatumAt(b.Column(c), r)
					switch v := d.(type) {
					case nil:
						obj[col.Name] = nil
					case int64, bool:
						if col.Type.IsInteger() || col.Type.Kind == types.Bool {
							obj[col.Name] = v
						} else {
							obj[col.Name] = res.FormatValue(c, d)
						}
					case float64:
						if math.IsInf(v, 0) || math.IsNaN(v) {
							obj[col.Name] = res.FormatValue(c, d) // not JSON numbers
						} else {
							obj[col.Name] = json.Number(res.FormatValue(c, d))
						}
					default:
						obj[col.Name] = res.FormatValue(c, d)
					}
				}
				if err := enc.Encode(obj); err != nil {
					return err
				}
			}
		}
		return nil
	case "csv", "text":
		w := bufio.NewWriterSize(f, 1<<20)
		var line bytes.Buffer
		if o.Header {
			names := make([]*string, len(res.Columns))
			for i := range res.Columns {
				names[i] = &res.Columns[i].Name
			}
			copyfmt.AppendRow(&line, names, o)
		}
		row := make([]*string, len(res.Columns))
		for _, b := range res.Batches {
			for r := 0; r < int(b.NumRows()); r++ {
				for c := range res.Columns {
					row[c] = nil
					if d := exec.DatumAt(b.Column(c), r); d != nil {
						v := res.FormatValue(c, d)
						row[c] = &v
					}
				}
				copyfmt.AppendRow(&line, row, o)
				if _, err := w.Write(line.Bytes()); err != nil {
					return err
				}
				line.Reset()
			}
		}
		if _, err := w.Write(line.Bytes()); err != nil {
			return err
		}
		return w.Flush()
	}
	return sqlerr.New(sqlerr.InvalidParameter, "COPY format \"%s\" not recognized", format)
}

// writeInside writes a file of the files directory through a new
// temporary file that is then renamed over it. Both go through an
// os.Root of the directory, so no link, planted before or during the
// write, can lead outside it; the temporary file is created exclusively
// (O_EXCL, O_NOFOLLOW) under a random name, so a link planted in its
// place makes the write fail rather than write elsewhere, and renaming
// replaces a link at the destination instead of writing through it.
func writeInside(dir, rel string, write func(*os.File) error) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return sqlerr.New(sqlerr.UndefinedFile, "files directory: %v", err)
	}
	defer root.Close()
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return sqlerr.Wrap(err)
	}
	tmp := rel + ".tmp-" + hex.EncodeToString(suffix[:])
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return sqlerr.New(sqlerr.UndefinedFile, "could not create %q: %v", rel, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr // (the Parquet writer closes the file itself)
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
		return sqlerr.Wrap(err)
	}
	return nil
}
