package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// streamConfig measures a large result read over the wire: a weft server
// binary serves a data directory, a pgx client reads the query's rows to
// the end, and the server's memory is sampled from /proc meanwhile.
type streamConfig struct {
	weftBin string // the server to measure
	dataDir string // a data directory holding the table
	query   string
}

// streamFigures are what one read of the result measured.
type streamFigures struct {
	firstRow, total time.Duration
	rows            int64
	idleRSS, peak   int64 // bytes: before the query, and the most while it ran
}

func runStream(cfg streamConfig) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	srv := exec.Command(cfg.weftBin, "serve", "--data", cfg.dataDir, "--listen", addr, "--no-tls")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	f, err := readOverWire(addr, srv.Process.Pid, cfg.query)
	if err != nil {
		return err
	}
	fmt.Printf("server %s\nquery  %s\nrows %d, first row after %s, all rows after %s\nserver RSS idle %d MiB, peak while streaming %d MiB (%d MiB above idle)\n",
		cfg.weftBin, cfg.query, f.rows, f.firstRow.Round(time.Millisecond), f.total.Round(time.Millisecond),
		f.idleRSS>>20, f.peak>>20, (f.peak-f.idleRSS)>>20)
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// readOverWire connects (waiting for the server to listen), then reads
// every row of query, sampling the server's resident set every 10 ms.
func readOverWire(addr string, pid int, query string) (streamFigures, error) {
	ctx := context.Background()
	var conn *pgx.Conn
	var err error
	for i := 0; i < 600; i++ {
		if conn, err = pgx.Connect(ctx, "postgres://weft@"+addr+"/weft?sslmode=disable"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return streamFigures{}, err
	}
	defer conn.Close(ctx)
	var f streamFigures
	f.idleRSS = procFieldKB(strconv.Itoa(pid), "VmRSS:") << 10
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var most int64
		for {
			most = max(most, procFieldKB(strconv.Itoa(pid), "VmRSS:")<<10)
			select {
			case <-stop:
				peak <- most
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	rows, err := conn.Query(ctx, query, pgx.QueryExecModeSimpleProtocol)
	if err == nil {
		for rows.Next() {
			if f.rows == 0 {
				f.firstRow = time.Since(start)
			}
			f.rows++
		}
		rows.Close()
		err = rows.Err()
	}
	f.total = time.Since(start)
	close(stop)
	f.peak = <-peak
	return f, err
}
