package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/weftdb/weft/tpch"
)

// DuckDB runs in a child process (this program with -duckdb-worker), so
// that the parent's peak RSS is Weft's alone. The parent sends one request
// per line on the child's stdin and reads one reply per line.

type duckRequest struct {
	SQL       string `json:"sql"`
	TimeoutMS int64  `json:"timeout_ms"`
	WantRows  bool   `json:"want_rows"`
}

type duckReply struct {
	MS float64 `json:"ms"`
	// PeakKB is the child's own VmHWM so far. (Its rusage maxrss would not
	// do: Linux carries the parent's high-water mark across the exec.)
	PeakKB  int64       `json:"peak_kb"`
	Columns []string    `json:"columns,omitempty"`
	Rows    [][]*string `json:"rows,omitempty"`
	Err     string      `json:"err,omitempty"`
}

// duckWorker is the parent's handle on the child.
type duckWorker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	LoadMS float64
	PeakKB int64 // the child's VmHWM in its latest reply
}

// startDuckWorker starts the child, which loads the CSV files of dir.
func startDuckWorker(dir string, threads int) (*duckWorker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-duckdb-worker", "-tpch-dir", dir, "-duckdb-threads", strconv.Itoa(threads))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &duckWorker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	var ready duckReply
	if err := w.read(&ready); err != nil {
		w.stop()
		return nil, fmt.Errorf("duckdb worker: %w", err)
	}
	if ready.Err != "" {
		w.stop()
		return nil, fmt.Errorf("duckdb worker: %s", ready.Err)
	}
	w.LoadMS, w.PeakKB = ready.MS, ready.PeakKB
	return w, nil
}

func (w *duckWorker) read(r *duckReply) error {
	line, err := w.out.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, r)
}

// run has the child run sql; with wantRows the reply carries the answer.
func (w *duckWorker) run(sql string, timeout time.Duration, wantRows bool) (duckReply, error) {
	req, err := json.Marshal(duckRequest{SQL: sql, TimeoutMS: timeout.Milliseconds(), WantRows: wantRows})
	if err != nil {
		return duckReply{}, err
	}
	if _, err := w.in.Write(append(req, '\n')); err != nil {
		return duckReply{}, err
	}
	var r duckReply
	if err := w.read(&r); err != nil {
		return duckReply{}, fmt.Errorf("duckdb worker: %w", err)
	}
	w.PeakKB = max(w.PeakKB, r.PeakKB)
	return r, nil
}

// stop ends the child.
func (w *duckWorker) stop() {
	w.in.Close()
	w.cmd.Wait()
}

// runDuckWorker is the child's main loop.
func runDuckWorker(dir string, threads int) error {
	ctx := context.Background()
	enc := json.NewEncoder(os.Stdout)
	db, loadMS, err := loadDuckTPCH(ctx, dir, threads)
	if err != nil {
		return enc.Encode(duckReply{Err: err.Error()})
	}
	defer db.Close()
	if err := enc.Encode(duckReply{MS: loadMS, PeakKB: peakRSSKB()}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	for in.Scan() {
		var req duckRequest
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return err
		}
		reply := duckRun(ctx, db, req)
		reply.PeakKB = peakRSSKB()
		if err := enc.Encode(reply); err != nil {
			return err
		}
	}
	return in.Err()
}

func duckRun(ctx context.Context, db *sql.DB, req duckRequest) duckReply {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	rs, err := db.QueryContext(ctx, req.SQL)
	if err != nil {
		return duckReply{Err: err.Error()}
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return duckReply{Err: err.Error()}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var raw [][]any
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return duckReply{Err: err.Error()}
		}
		if req.WantRows {
			raw = append(raw, append([]any(nil), vals...))
		}
	}
	if err := rs.Err(); err != nil {
		return duckReply{Err: err.Error()}
	}
	r := duckReply{MS: msSince(t0), Columns: cols}
	for _, row := range raw {
		out := make([]*string, len(row))
		for i, v := range row {
			out[i] = duckText(v)
		}
		r.Rows = append(r.Rows, out)
	}
	return r
}

// duckText prints a DuckDB value as PostgreSQL's text output would.
func duckText(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case duckdb.Decimal:
		s = decimalText(x)
	case time.Time:
		s = x.Format("2006-01-02")
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

func decimalText(d duckdb.Decimal) string {
	r := new(big.Rat).SetFrac(d.Value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	return r.FloatString(int(d.Scale))
}

// primaryKey drops the PRIMARY KEY clause for DuckDB: its index only slows
// the load and TPC-H's own DuckDB schema has none.
var primaryKey = regexp.MustCompile(`,\s*PRIMARY KEY \([^)]*\)`)

func loadDuckTPCH(ctx context.Context, dir string, threads int) (*sql.DB, float64, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, 0, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	t0 := time.Now()
	stmts := []string{fmt.Sprintf("SET threads = %d", threads)}
	for _, ddl := range tpch.Schema {
		stmts = append(stmts, primaryKey.ReplaceAllString(ddl, ""))
	}
	for _, t := range tpch.TableNames {
		path := filepath.Join(dir, tpch.FileName(t))
		stmts = append(stmts, fmt.Sprintf("COPY %s FROM '%s' (DELIMITER '|', HEADER false, QUOTE '')", t, path))
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, 0, fmt.Errorf("%s: %w", s, err)
		}
	}
	return db, msSince(t0), nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
