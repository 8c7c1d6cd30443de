package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// benchSegments compares the candidate formats for table segments: the
// bench table written as one file per 64Ki-row batch, then read back
// whole into memory the way a data directory is opened.
func benchSegments(ctx context.Context, rows int) error {
	dir, err := os.MkdirTemp("", "weft-segments-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	batches := generate(rows)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	formats := []struct {
		name  string
		write func(path string, rec arrow.Record) error
		read  func(path string) (int64, error)
	}{
		{"arrow ipc", ipcWriter(), readIPC},
		{"arrow ipc lz4", ipcWriter(ipc.WithLZ4()), readIPC},
		{"arrow ipc zstd", ipcWriter(ipc.WithZstd()), readIPC},
		{"parquet", parquetWriter(compress.Codecs.Uncompressed), readParquet(ctx)},
		{"parquet snappy", parquetWriter(compress.Codecs.Snappy), readParquet(ctx)},
		{"parquet zstd", parquetWriter(compress.Codecs.Zstd), readParquet(ctx)},
	}
	fmt.Printf("\nsegment formats: %d rows in %d files\n\n", rows, len(batches))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "format\tMB\twrite ms\tread all ms\t")
	for i, f := range formats {
		sub := filepath.Join(dir, fmt.Sprint(i))
		os.MkdirAll(sub, 0o755)
		t0 := time.Now()
		for j, b := range batches {
			if err := f.write(filepath.Join(sub, fmt.Sprint(j)), b); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
		writeTime := time.Since(t0)
		t0 = time.Now()
		var n int64
		for j := range batches {
			got, err := f.read(filepath.Join(sub, fmt.Sprint(j)))
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			n += got
		}
		readTime := time.Since(t0)
		if n != int64(rows) {
			return fmt.Errorf("%s: read %d rows, wrote %d", f.name, n, rows)
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.0f\t\n", f.name, mb(dirSize(sub)), ms(writeTime), ms(readTime))
	}
	return w.Flush()
}

// generate makes the bench table's rows as Arrow batches of chunk rows.
func generate(rows int) []arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	var out []arrow.Record
	for start := int64(0); start < int64(rows); start += chunk {
		for i := start; i < min(start+chunk, int64(rows)); i++ {
			id, g, v, s := rowValues(i)
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.Int64Builder).Append(g)
			b.Field(2).(*array.Int64Builder).Append(v)
			b.Field(3).(*array.StringBuilder).Append(s)
		}
		out = append(out, b.NewRecord())
	}
	return out
}

func ipcWriter(opts ...ipc.Option) func(string, arrow.Record) error {
	return func(path string, rec arrow.Record) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w, err := ipc.NewFileWriter(f, append(opts, ipc.WithSchema(rec.Schema()))...)
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			return err
		}
		return w.Close()
	}
}

func readIPC(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	rec, err := r.Record(0)
	if err != nil {
		return 0, err
	}
	return rec.NumRows(), nil
}

func parquetWriter(codec compress.Compression) func(string, arrow.Record) error {
	return func(path string, rec arrow.Record) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithCompression(codec)), pqarrow.DefaultWriterProps())
		if err != nil {
			f.Close()
			return err
		}
		if err := w.Write(rec); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
}

func readParquet(ctx context.Context) func(string) (int64, error) {
	return func(path string) (int64, error) {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0, err
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: chunk}, memory.DefaultAllocator)
		if err != nil {
			return 0, err
		}
		tbl, err := fr.ReadTable(ctx)
		if err != nil {
			return 0, err
		}
		defer tbl.Release()
		return tbl.NumRows(), nil
	}
}
