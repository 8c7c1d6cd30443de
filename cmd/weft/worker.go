package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec/spill"
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
	cacheMemory := fs.String("cache-memory", "", cacheMemoryUsage)
	secretFile := fs.String("cluster-secret-file", "", clusterSecretUsage)
	spillDir := fs.String("spill-dir", "", "directory under which the worker makes its own directory for map outputs past --shuffle-memory (default: the system's temporary directory); what killed workers left there is removed at start")
	shuffleMemory := fs.String("shuffle-memory", "", "memory the shuffles' map outputs may hold on this worker before further ones are written to --spill-dir, e.g. 512MB (default 256MB; 0: never write them)")
	_ = fs.Parse(args)
	if *secretFile == "" {
		*secretFile = cluster.DefaultSecretFile(*dataDir)
	}
	logger := log.New(os.Stderr, "weft worker: ", log.LstdFlags)
	cacheLimit, err := engine.ParseMemoryLimit(*cacheMemory)
	if err != nil {
		logger.Println("--cache-memory: " + sqlerr.Format(err))
		return 2
	}
	mapMemory, err := engine.ParseMemoryLimit(*shuffleMemory)
	if err != nil {
		logger.Println("--shuffle-memory: " + sqlerr.Format(err))
		return 2
	}
	spillRoot, err := spill.OpenTempRoot(*spillDir)
	if err != nil {
		logger.Println(err)
		return 1
	}
	defer spillRoot.Close()
	runner, err := engine.NewFragmentRunner(engine.Options{DataDir: *dataDir, FilesDir: *filesDir,
		UDF: udf.Config{CacheDir: *udfCache, Log: os.Stderr}, CacheMemory: cacheLimit})
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
	w := cluster.NewWorker(runner, cluster.WorkerOptions{Version: *claimVersion, Secret: cluster.SecretFile(*secretFile),
		Spill: spillRoot, MapMemory: mapMemory})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		w.Stop()
	}()
	// the test harness and scripts wait for this line
	fmt.Fprintf(os.Stderr, "weft worker: listening on %s (Arrow Flight), data %s\n", lis.Addr(), *dataDir)
	if _, err := cluster.ReadSecret(*secretFile); err != nil {
		logger.Printf("%v: calls are refused until the file exists (weft serve makes it on first use)", err)
	}
	if err := w.Serve(lis); err != nil && ctx.Err() == nil {
		logger.Println(err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "weft worker: stopped after %d fragments\n", w.Served())
	return 0
}

// clusterSecretUsage describes --cluster-secret-file of serve and worker.
const clusterSecretUsage = "file holding the secret the coordinator sends its workers on every call (default: " +
	cluster.SecretFileName + " in the data directory, which the coordinator makes on first use)"

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

// sltCluster is the worker processes `weft slt --workers N` runs a file
// with, and the temporary data directory they read.
type sltCluster struct {
	dir   string
	procs []*exec.Cmd
	addrs []string
	// fragments counts what the workers said they ran, once stopped
	fragments atomic.Int64
	outputs   sync.WaitGroup
}

// startSLTCluster starts n workers of this binary on loopback ports.
func startSLTCluster(n int) (*sltCluster, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "weft-slt-cluster-")
	if err != nil {
		return nil, err
	}
	c := &sltCluster{dir: dir}
	for range n {
		cmd := exec.Command(self, "worker", "--listen", "127.0.0.1:0", "--data", dir, "--udf-cache", "")
		stderr, err := cmd.StderrPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, cmd)
		addr, err := c.listenedOn(stderr)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.addrs = append(c.addrs, addr)
	}
	return c, nil
}

// listenedOn reads a starting worker's stderr up to the line that says
// where it listens; the rest is passed on, but for the count of
// fragments it ran, which it says when it stops.
func (c *sltCluster) listenedOn(stderr io.Reader) (string, error) {
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "weft worker: listening on "); ok {
			c.outputs.Add(1)
			go c.follow(sc)
			return strings.Fields(rest)[0], nil
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
	return "", fmt.Errorf("worker ended before it listened: %v", sc.Err())
}

func (c *sltCluster) follow(sc *bufio.Scanner) {
	defer c.outputs.Done()
	for sc.Scan() {
		var n int64
		if _, err := fmt.Sscanf(sc.Text(), "weft worker: stopped after %d fragments", &n); err == nil {
			c.fragments.Add(n)
			continue
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
}

// stop ends the workers (SIGTERM: each says what it ran) and removes
// the directory.
func (c *sltCluster) stop() {
	for _, p := range c.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		done := make(chan struct{})
		go func() {
			p.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	c.outputs.Wait()
	os.RemoveAll(c.dir)
}
