package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/weftdb/weft"
)

// benchLoad writes the bench table to CSV and Parquet, then times loading
// those files into a durable Weft data directory and into a DuckDB
// database file, reports the size on disk, and times reopening each and
// running Q1 for the first time.
func benchLoad(ctx context.Context, rows int) error {
	dir, err := os.MkdirTemp("", "weft-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeFiles(ctx, dir, rows); err != nil {
		return err
	}
	csvSize, parquetSize := fileSize(filepath.Join(dir, "bench.csv")), fileSize(filepath.Join(dir, "bench.parquet"))
	fmt.Printf("\nload: %d rows; bench.csv %.0f MB, bench.parquet %.0f MB; wall-clock seconds\n\n", rows, mb(csvSize), mb(parquetSize))

	loads := []struct{ name, weft, duck string }{
		{"COPY FROM csv", "COPY t FROM 'bench.csv' (FORMAT csv, HEADER true)", "COPY t FROM '%s/bench.csv' (FORMAT csv, HEADER true)"},
		{"CREATE TABLE AS read_csv", "CREATE TABLE t AS SELECT * FROM read_csv('bench.csv')", "CREATE TABLE t AS SELECT * FROM read_csv('%s/bench.csv')"},
		{"CREATE TABLE AS read_parquet", "CREATE TABLE t AS SELECT * FROM read_parquet('bench.parquet')", "CREATE TABLE t AS SELECT * FROM read_parquet('%s/bench.parquet')"},
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "load\tweft s\tweft Mrows/s\tweft MB/s\tduckdb s\tduckdb Mrows/s\tduckdb MB/s\t")
	for i, l := range loads {
		size := csvSize
		if i == 2 {
			size = parquetSize
		}
		wt, err := timeWeftLoad(ctx, dir, l.weft, i == 0)
		if err != nil {
			return fmt.Errorf("weft %s: %w", l.name, err)
		}
		dt, err := timeDuckLoad(ctx, dir, fmt.Sprintf(l.duck, dir), i == 0)
		if err != nil {
			return fmt.Errorf("duckdb %s: %w", l.name, err)
		}
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\t%.0f\t%.2f\t%.2f\t%.0f\t\n", l.name,
			wt.Seconds(), float64(rows)/wt.Seconds()/1e6, mb(size)/wt.Seconds(),
			dt.Seconds(), float64(rows)/dt.Seconds()/1e6, mb(size)/dt.Seconds())
	}
	w.Flush()
	return restartAndScan(ctx, dir)
}

// writeFiles generates the table in memory and writes it with COPY TO.
func writeFiles(ctx context.Context, dir string, rows int) error {
	db, err := weft.Open(weft.Options{FilesDir: dir})
	if err != nil {
		return err
	}
	defer db.Close()
	s := db.NewSession()
	if err := loadWeft(s, rows); err != nil {
		return err
	}
	for _, q := range []string{
		"COPY t TO 'bench.csv' (FORMAT csv, HEADER true)",
		"COPY t TO 'bench.parquet' (FORMAT parquet)",
	} {
		if err := execAll(ctx, s, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func execAll(ctx context.Context, s *weft.Session, q string) error {
	rs, err := s.Exec(ctx, q)
	for _, r := range rs {
		r.Release()
	}
	return err
}

// timeWeftLoad runs one load into a fresh data directory.
func timeWeftLoad(ctx context.Context, dir, q string, create bool) (time.Duration, error) {
	data := filepath.Join(dir, "weft-data")
	os.RemoveAll(data)
	db, err := weft.Open(weft.Options{DataDir: data, FilesDir: dir})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	s := db.NewSession()
	if create {
		if err := execAll(ctx, s, "CREATE TABLE t (id bigint, g bigint, v bigint, s text)"); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	if err := execAll(ctx, s, q); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func openDuckFile(path string) (*sql.DB, error) {
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// timeDuckLoad runs one load into a fresh DuckDB database file
// (checkpointed, so the data is on disk like Weft's).
func timeDuckLoad(ctx context.Context, dir, q string, create bool) (time.Duration, error) {
	path := filepath.Join(dir, "duck.db")
	os.Remove(path)
	os.Remove(path + ".wal")
	db, err := openDuckFile(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if create {
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (id BIGINT, g BIGINT, v BIGINT, s VARCHAR)"); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// restartAndScan reports each engine's size on disk after the last load
// (read_parquet), the time to open it again and the first Q1 after that.
func restartAndScan(ctx context.Context, dir string) error {
	weftSize := dirSize(filepath.Join(dir, "weft-data"))
	t0 := time.Now()
	db, err := weft.Open(weft.Options{DataDir: filepath.Join(dir, "weft-data")})
	if err != nil {
		return err
	}
	weftOpen := time.Since(t0)
	t0 = time.Now()
	res, err := db.NewSession().Query(ctx, queries[0])
	if err != nil {
		db.Close()
		return err
	}
	res.Release()
	weftQ1 := time.Since(t0)
	db.Close()

	duckSize := fileSize(filepath.Join(dir, "duck.db")) + fileSize(filepath.Join(dir, "duck.db.wal"))
	t0 = time.Now()
	duck, err := openDuckFile(filepath.Join(dir, "duck.db"))
	if err != nil {
		return err
	}
	defer duck.Close()
	if err := duck.PingContext(ctx); err != nil {
		return err
	}
	duckOpen := time.Since(t0)
	t0 = time.Now()
	if err := drain(ctx, duck, queries[0]); err != nil {
		return err
	}
	duckQ1 := time.Since(t0)

	fmt.Printf("\nafter a restart (file system cache warm)\n\n")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "engine\ton disk MB\topen ms\tfirst Q1 ms\t")
	fmt.Fprintf(w, "weft\t%.0f\t%.1f\t%.1f\t\n", mb(weftSize), ms(weftOpen), ms(weftQ1))
	fmt.Fprintf(w, "duckdb\t%.0f\t%.1f\t%.1f\t\n", mb(duckSize), ms(duckOpen), ms(duckQ1))
	return w.Flush()
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
