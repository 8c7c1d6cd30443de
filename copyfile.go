package weft

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pg "github.com/pganalyze/pg_query_go/v6"
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
	format, header := "text", false
	for _, n := range st.Options {
		d := n.GetDefElem()
		switch d.Defname {
		case "format":
			format = strings.ToLower(d.Arg.GetString_().GetSval())
		case "header":
			header = d.Arg == nil || d.Arg.GetBoolean().GetBoolval() || d.Arg.GetString_().GetSval() == "true" || d.Arg.GetInteger().GetIval() == 1
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY option %s is not supported for files", d.Defname)
		}
	}
	if st.IsFrom {
		return s.copyFromFile(ctx, st, format, header)
	}
	return s.copyToFile(ctx, st, format, header)
}

func (s *Session) copyFromFile(ctx context.Context, st *pg.CopyStmt, format string, header bool) (*Result, error) {
	tabs := format == "text"
	if tabs {
		format = "csv" // tab-separated text is read as CSV with a tab
	}
	paths, err := datafile.Resolve(s.db.opts.FilesDir, st.Filename)
	if err != nil {
		return nil, err
	}
	in, err := s.BeginCopyIn(st)
	if err != nil {
		return nil, err
	}
	defer in.Abort()
	src := &datafile.Source{Format: format, Paths: paths, Header: header, Comma: ','}
	if tabs {
		src.Comma = '\t'
	}
	for _, c := range in.Columns {
		src.Names, src.Types = append(src.Names, c.Name), append(src.Types, c.Type)
	}
	for i := range paths {
		r, err := src.Open(ctx, s.db.opts.Mem, i, nil)
		if err != nil {
			return nil, err
		}
		for {
			rec, err := r.Next()
			if err != nil {
				r.Close()
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
			for row := 0; row < int(rec.NumRows()); row++ {
				vals := make([]types.Datum, rec.NumCols())
				for c := range vals {
					vals[c] = exec.DatumAt(rec.Column(c), row)
				}
				if err := in.AddRow(vals); err != nil {
					rec.Release()
					r.Close()
					return nil, err
				}
			}
			rec.Release()
		}
	}
	n, err := in.Commit()
	if err != nil {
		return nil, err
	}
	return &Result{Tag: "COPY " + itoa(n)}, nil
}

func (s *Session) copyToFile(ctx context.Context, st *pg.CopyStmt, format string, header bool) (*Result, error) {
	dir := s.db.opts.FilesDir
	if dir == "" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "writing server files is not enabled (start with --files-dir DIR)")
	}
	if filepath.IsAbs(st.Filename) || strings.Contains(filepath.ToSlash(st.Filename), "..") {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "file %q must be relative to the files directory and stay inside it", st.Filename)
	}
	res, err := s.CopyOutQuery(ctx, st)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	path := filepath.Join(dir, st.Filename)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, sqlerr.New(sqlerr.UndefinedFile, "could not create %q: %v", st.Filename, err)
	}
	err = writeResult(f, res, format, header)
	if cerr := f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr // (the Parquet writer closes the file itself)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, sqlerr.Wrap(err)
	}
	return &Result{Tag: "COPY " + itoa(res.NumRows())}, nil
}

// writeResult writes a result as CSV/text, Parquet, Arrow IPC or JSON lines.
func writeResult(f *os.File, res *Result, format string, header bool) error {
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	switch format {
	case "parquet":
		w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
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
					case int64, float64, bool:
						obj[col.Name] = v
					default:
						obj[col.Name] = types.Format(col.Type, d)
					}
				}
				if err := enc.Encode(obj); err != nil {
					return err
				}
			}
		}
		return nil
	case "csv", "text":
		w := csv.NewWriter(f)
		if format == "text" {
			w.Comma = '\t'
		}
		if header {
			names := make([]string, len(res.Columns))
			for i, c := range res.Columns {
				names[i] = c.Name
			}
			w.Write(names)
		}
		for _, b := range res.Batches {
			for r := 0; r < int(b.NumRows()); r++ {
				row := make([]string, len(res.Columns))
				for c, col := range res.Columns {
					if d := exec.DatumAt(b.Column(c), r); d != nil {
						row[c] = types.Format(col.Type, d)
					}
				}
				w.Write(row)
			}
		}
		w.Flush()
		return w.Error()
	}
	return sqlerr.New(sqlerr.InvalidParameter, "COPY format \"%s\" not recognized", format)
}
