// Command weft is the Weft SQL engine's shell and tools:
//
//	weft                 interactive SQL prompt on the embedded database
//	weft -c "SQL"        run statements and print their results
//	weft slt [-v] FILE…  run sqllogictest files
//	weft serve           serve the database over the PostgreSQL protocol
//	weft check --data D  verify a data directory offline (changes nothing)
//	weft worker --listen H:P --data D  run plan fragments for a coordinator
//	                     (weft serve --workers H:P,…) reading the same D
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/storage"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgwire"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sqllogictest"
	"github.com/weftdb/weft/udf"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "slt" {
		os.Exit(runSLT(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(runServe(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(runWorker(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(runCheck(os.Args[2:], os.Stdout, os.Stderr))
	}
	command := flag.String("c", "", "run the given SQL and exit")
	csvOut := flag.Bool("csv", false, "print results as CSV")
	jsonOut := flag.Bool("json", false, "print results as JSON")
	dataDir := flag.String("data", "weft-data", "data directory (\":memory:\" keeps nothing)")
	superuser := flag.String("superuser", "weft", "name of the bootstrap superuser of a new database")
	filesDir := flag.String("files-dir", ".", "directory read_csv, read_parquet, read_arrow and read_json may read")
	partitions := flag.Int("partitions", 0, "partitions per table (default: number of CPUs)")
	udfDir := flag.String("udf-dir", "", "directory wasm module paths are resolved in (default: inline modules only)")
	udfCache := flag.String("udf-cache", defaultUDFCache(), "directory for compiled wasm code (\"\" keeps it in memory)")
	memoryLimit := flag.String("memory-limit", "", memoryLimitUsage)
	flag.Parse()
	if url := flag.Arg(0); strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		os.Exit(runRemote(url, *command, *csvOut))
	}
	if !knownArgs(flag.Args(), os.Stderr) {
		flag.Usage()
		os.Exit(2)
	}
	limit, err := engine.ParseMemoryLimit(*memoryLimit)
	if err != nil {
		fmt.Fprintln(os.Stderr, sqlerr.Format(err))
		os.Exit(2)
	}
	db, err := engine.Open(engine.Options{Partitions: *partitions, DataDir: *dataDir, FilesDir: *filesDir, BootstrapRole: *superuser,
		MemoryLimit: limit, UDF: udf.Config{ModuleDir: *udfDir, CacheDir: *udfCache, Log: os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, sqlerr.Format(err))
		os.Exit(1)
	}
	defer db.Close()
	sess := db.NewSession()
	format := "aligned"
	if *csvOut {
		format = "csv"
	}
	if *jsonOut {
		format = "json"
	}
	if *command != "" {
		if format != "aligned" {
			// results alone on stdout, for scripts
			sh := &shell{sess: sess, out: os.Stdout, console: os.Stderr, format: format}
			if !sh.exec(*command) {
				os.Exit(1)
			}
			return
		}
		if !runSQL(sess, *command, os.Stdout) {
			os.Exit(1)
		}
		return
	}
	sh := &shell{sess: sess, out: os.Stdout, console: os.Stdout, format: format, tty: isTerminal(os.Stdout)}
	sh.run(newLineReader(os.Stdin, os.Stdout))
}

func runSLT(args []string) int {
	fs := flag.NewFlagSet("slt", flag.ExitOnError)
	verbose := fs.Bool("v", false, "print each failure with its SQL, expected and actual results")
	partitions := fs.Int("partitions", 0, "partitions per table")
	batch := fs.Int("batch", 0, "rows per batch")
	sqlite := fs.Bool("sqlite", false, "SQLite compatibility: NULLs sort first (for SQLite's corpus)")
	udfDir := fs.String("udf-dir", "", "directory wasm module paths are resolved in")
	workers := fs.Int("workers", 0, "run each file on a database in a temporary data directory with this many worker processes (weft worker) scanning for it")
	setup := fs.String("setup", "", "statements each session runs first (e.g. \"SET weft.shuffle_groups = 0\" to shuffle every aggregation on the workers)")
	_ = fs.Parse(args)
	var cluster *sltCluster
	r := &sqllogictest.Runner{
		Open: func() (*weft.DB, error) {
			opts := weft.Options{Partitions: *partitions, BatchSize: *batch, UDF: udf.Config{ModuleDir: *udfDir}}
			if *workers > 0 {
				var err error
				if cluster, err = startSLTCluster(*workers); err != nil {
					return nil, err
				}
				opts.DataDir, opts.Workers = cluster.dir, cluster.addrs
			}
			return weft.Open(opts)
		},
		Verbose: *verbose,
		Out:     os.Stdout,
		Timeout: time.Minute,
	}
	if *sqlite {
		r.Setup = "SET weft.null_order = 'smallest'"
	}
	if *setup != "" && r.Setup != "" {
		r.Setup += "; " + *setup
	} else if *setup != "" {
		r.Setup = *setup
	}
	var total sqllogictest.Result
	failedFiles := 0
	for _, path := range fs.Args() {
		start := time.Now()
		res, err := r.RunFile(path)
		onWorkers := ""
		if cluster != nil {
			cluster.stop()
			onWorkers = fmt.Sprintf(", %d fragments on workers", cluster.fragments.Load())
			cluster = nil
		}
		if err != nil {
			fmt.Printf("%s: %v\n", path, err)
			failedFiles++
		}
		fmt.Printf("%s: %d passed, %d failed, %d skipped (%.1fs%s)\n", path, res.Passed, res.Failed, res.Skipped, time.Since(start).Seconds(), onWorkers)
		total.Passed += res.Passed
		total.Failed += res.Failed
		total.Skipped += res.Skipped
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", total.Passed, total.Failed, total.Skipped)
	if total.Failed > 0 || failedFiles > 0 {
		return 1
	}
	return 0
}

// runCheck verifies a data directory without changing it: 0 when it is
// sound, 1 when something is damaged, 2 when it could not be checked.
func runCheck(args []string, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(errOut)
	dataDir := fs.String("data", "weft-data", "data directory to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "weft check: unexpected argument %q (use --data DIR)\n", fs.Arg(0))
		return 2
	}
	problems, err := storage.CheckDataDir(*dataDir, out)
	if err != nil {
		fmt.Fprintln(errOut, sqlerr.Format(err))
		return 2
	}
	if problems > 0 {
		return 1
	}
	return 0
}

// runSQL executes statements and prints results; it reports success.
func runSQL(sess *engine.Session, sql string, out io.Writer) bool {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := sess.Exec(ctx, sql)
	for _, r := range results {
		printResult(out, r)
		r.Release()
	}
	if err != nil {
		fmt.Fprintln(out, sqlerr.Format(err))
		return false
	}
	return true
}

// runRemote runs the shell (or -c) against a server.
func runRemote(url, command string, csvOut bool) int {
	conn, err := pgconn.Connect(context.Background(), url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close(context.Background())
	sh := &shell{sess: &remote{conn: conn}, out: os.Stdout, console: os.Stdout, format: "aligned", tty: isTerminal(os.Stdout)}
	if csvOut {
		sh.format = "csv"
	}
	if command != "" {
		if !sh.exec(command) {
			return 1
		}
		return 0
	}
	sh.run(newLineReader(os.Stdin, os.Stdout))
	return 0
}

const cacheMemoryUsage = "the most memory cached tables (CALL weft.cache) may hold in this process, e.g. 2GB (default and 0: no limit); a partition that does not fit is read from disk each time"

const memoryLimitUsage = "memory all statements together may hold, e.g. 4GB (default: 80% of the machine's; 0: no limit); past their share, sorts spill to disk"

// goMemoryLimit is the Go runtime's soft memory limit for a server whose
// statements may hold limit bytes (--memory-limit; 0 when not given, -1
// for none): that plus a quarter, at least 64 MiB more. The margin is for
// what the budget does not count (the catalog, tables written since the
// open, indexes, sessions' buffers, the garbage collector's own slack);
// near the limit the collector runs more often, so memory statements
// released comes back sooner instead of the heap doubling first. Stored
// segments read on demand are mapped files, not Go heap, and do not count.
// 0 leaves the runtime alone: --memory-limit 0, or GOMEMLIMIT set in the
// environment (the operator's choice wins).
//
// Without --memory-limit the statements' budget is the engine's default
// (def, 80% of the machine's memory) and the runtime's limit an eighth
// more (90% of the machine's): the heap is bounded, so that the
// collector may run less often (goGCPercent).
func goMemoryLimit(limit, def int64, env string) int64 {
	switch {
	case env != "" || limit < 0:
		return 0
	case limit == 0:
		return max(def+def/8, 0)
	}
	return limit + max(limit/4, 64<<20)
}

// serverGCPercent is the collector's target (GOGC) of a server whose heap
// a soft memory limit bounds: the heap may grow to five times what is
// live between collections instead of twice. A statement of pgbench's
// allocates some 20-50 kB, the collection it leads to scans every table
// block and index node that is live, and at GOGC's default of 100 that
// was a fifth of TPC-B's CPU (400: server CPU per transaction 700 -> 590
// us, peak memory 260 -> 360 MB at scale 10). Near the limit the runtime
// collects as often as it must, whatever this says.
const serverGCPercent = 400

// goGCPercent is the collector's target for a server (0: leave the
// runtime's): serverGCPercent when a soft memory limit is in effect
// (softLimit, or GOMEMLIMIT in the environment) and GOGC does not say.
func goGCPercent(softLimit int64, memLimitEnv, gcEnv string) int {
	if gcEnv != "" || softLimit <= 0 && memLimitEnv == "" {
		return 0
	}
	return serverGCPercent
}

// runServe serves the embedded database over the PostgreSQL protocol.
func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:5433", "address to listen on")
	partitions := fs.Int("partitions", 0, "partitions per table")
	udfDir := fs.String("udf-dir", "", "directory wasm module paths are resolved in")
	udfCache := fs.String("udf-cache", defaultUDFCache(), "directory for compiled wasm code")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (default: a self-signed one, created in the config directory)")
	tlsKey := fs.String("tls-key", "", "TLS private key")
	noTLS := fs.Bool("no-tls", false, "answer SSLRequest with N: plain text only")
	dataDir := fs.String("data", "weft-data", "data directory (\":memory:\" keeps nothing)")
	superuser := fs.String("superuser", "weft", "name of the bootstrap superuser of a new database")
	filesDir := fs.String("files-dir", "", "directory read_csv & co. may read (default: none)")
	auth := fs.String("auth", "", "authentication: trust, password or scram-sha-256 (default: trust on loopback, scram-sha-256 otherwise)")
	maxConns := fs.Int("max-connections", pgwire.DefaultMaxConnections, "sessions served at once; one more gets 53300 (PostgreSQL's max_connections)")
	authTimeout := fs.Duration("authentication-timeout", pgwire.DefaultAuthTimeout, "time a client has to start up and authenticate before it is disconnected")
	pprofAddr := fs.String("pprof", "", "serve Go's runtime profiles (net/http/pprof) on this address, for diagnosing the server")
	pprofContention := fs.Bool("pprof-contention", false, "with -pprof: also record where goroutines wait for locks and channels (/debug/pprof/mutex and /block), at some cost per wait")
	memoryLimit := fs.String("memory-limit", "", memoryLimitUsage)
	workers := fs.String("workers", "", "worker processes (weft worker) reading the same data directory, host:port,… (default: none, all work runs here)")
	workerTimeout := fs.Duration("worker-timeout", 5*time.Second, "how long a worker may stay silent before its partitions are rerun on another")
	cacheMemory := fs.String("cache-memory", "", cacheMemoryUsage)
	secretFile := fs.String("cluster-secret-file", "", clusterSecretUsage)
	_ = fs.Parse(args)
	if *pprofAddr != "" {
		if *pprofContention {
			recordContention()
		}
		go servePprof(*pprofAddr)
	}
	limit, err := engine.ParseMemoryLimit(*memoryLimit)
	if err != nil {
		fmt.Fprintln(os.Stderr, sqlerr.Format(err))
		return 2
	}
	cacheLimit, err := engine.ParseMemoryLimit(*cacheMemory)
	if err != nil {
		fmt.Fprintln(os.Stderr, "--cache-memory: "+sqlerr.Format(err))
		return 2
	}
	if *auth == "" {
		*auth = pgwire.AuthSCRAM
		if ip := net.ParseIP(hostOf(*listen)); (ip != nil && ip.IsLoopback()) || hostOf(*listen) == "localhost" {
			*auth = pgwire.AuthTrust
		}
	}
	logger := log.New(os.Stderr, "weft: ", log.LstdFlags)
	soft := goMemoryLimit(limit, engine.DefaultMemoryLimit(), os.Getenv("GOMEMLIMIT"))
	if soft > 0 {
		debug.SetMemoryLimit(soft)
	}
	if pct := goGCPercent(soft, os.Getenv("GOMEMLIMIT"), os.Getenv("GOGC")); pct > 0 {
		debug.SetGCPercent(pct)
	}
	db, err := engine.Open(engine.Options{Partitions: *partitions, DataDir: *dataDir, FilesDir: *filesDir, BootstrapRole: *superuser,
		MemoryLimit: limit, UDF: udf.Config{ModuleDir: *udfDir, CacheDir: *udfCache, Log: os.Stderr},
		Workers: splitList(*workers), WorkerTimeout: *workerTimeout, CacheMemory: cacheLimit,
		ClusterSecretFile: *secretFile})
	if err != nil {
		logger.Println(sqlerr.Format(err))
		return 1
	}
	defer db.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := pgwire.Config{Log: logger, Auth: *auth, MaxConnections: *maxConns, AuthTimeout: *authTimeout}
	if !*noTLS {
		cert, key := *tlsCert, *tlsKey
		if cert == "" && key == "" {
			dir, err := os.UserConfigDir()
			if err != nil {
				logger.Printf("no config directory for a TLS certificate (%v): use --tls-cert/--tls-key or --no-tls", err)
				return 1
			}
			cert, key = filepath.Join(dir, "weft", "server.crt"), filepath.Join(dir, "weft", "server.key")
		}
		if cfg.TLS, err = pgwire.LoadOrCreateTLS(cert, key); err != nil {
			logger.Printf("TLS: %v", err)
			return 1
		}
	}
	srv := pgwire.New(db, cfg)
	logger.Printf("listening on %s (PostgreSQL protocol; try: psql -h %s -p %s)", *listen, hostOf(*listen), portOf(*listen))
	if err := srv.ListenAndServe(ctx, *listen); err != nil {
		logger.Println(err)
		return 1
	}
	return 0
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// defaultUDFCache is where compiled wasm code survives restarts.
func defaultUDFCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "weft", "wasm")
}

// knownArgs refuses arguments left after the flags (a misspelt
// subcommand such as `weft sever`), which must not open the shell on the
// default data directory.
func knownArgs(args []string, stderr io.Writer) bool {
	if len(args) == 0 {
		return true
	}
	fmt.Fprintf(stderr, "weft: unknown command %q (commands: serve, slt, check; or a postgres:// URL to connect to)\n", args[0])
	return false
}

// recordContention makes the runtime sample lock contention and blocking
// for the mutex and block profiles, which are empty unless asked for.
func recordContention() {
	runtime.SetMutexProfileFraction(10)                     // one contention event in 10
	runtime.SetBlockProfileRate(int(time.Microsecond * 10)) // waits of 10µs and more, and a sample of shorter ones
}

// servePprof serves net/http/pprof's handlers on addr.
func servePprof(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, "weft: pprof:", err)
	}
}
