package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// runWorker is `weft worker`: it serves plan fragments over Arrow Flight
// to a coordinator (weft serve --workers) whose data directory it reads.
func runWorker(args []string) int {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:5500", "address to serve Arrow Flight on")
	dataDir := fs.String("data", "weft-data", "the coordinator's data directory (read only)")
	udfCache := fs.String("udf-cache", defaultUDFCache(), "directory for compiled wasm code")
	filesDir := fs.String("files-dir", "", "directory read_csv & co. may read (default: none)")
	claimVersion := fs.String("claim-version", "", "report this version instead of the engine's (for testing a mismatched worker)")
	_ = fs.Parse(args)
	logger := log.New(os.Stderr, "weft worker: ", log.LstdFlags)
	runner, err := engine.NewFragmentRunner(engine.Options{DataDir: *dataDir, FilesDir: *filesDir,
		UDF: udf.Config{CacheDir: *udfCache, Log: os.Stderr}})
	if err != nil {
		logger.Println(sqlerr.Format(err))
		return 1
	}
	defer runner.Close()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Println(err)
		return 1
	}
	w := cluster.NewWorker(runner, cluster.WorkerOptions{Version: *claimVersion})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		w.Stop()
	}()
	// the test harness and scripts wait for this line
	fmt.Fprintf(os.Stderr, "weft worker: listening on %s (Arrow Flight), data %s\n", lis.Addr(), *dataDir)
	if err := w.Serve(lis); err != nil && ctx.Err() == nil {
		logger.Println(err)
		return 1
	}
	return 0
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
