package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The actions a worker answers (DoAction).
const (
	// ActionHello exchanges Hello messages: protocol and engine version.
	ActionHello = "hello"
)

// Worker serves fragments over Arrow Flight.
type Worker struct {
	flight.BaseFlightServer
	runner FragmentRunner
	mem    memory.Allocator
	// version is what the worker reports in hello (the runner's, unless
	// a test makes it claim another)
	version string
	grpc    *grpc.Server
	health  *health.Server
	served  atomic.Int64
	// cache keeps the map outputs of shuffles; peers are the
	// connections to the workers whose map outputs reduce tasks read
	cache mapCache
	peers peerPool
}

// WorkerOptions configures a worker.
type WorkerOptions struct {
	// Mem allocates the batches the worker sends (default Go's allocator).
	Mem memory.Allocator
	// Version, when set, is the version the worker claims instead of
	// the runner's (tests of a mismatched worker).
	Version string
	// Secret, when set, is the cluster secret every call but health
	// checks must carry (secret.go); weft worker always sets it. Nil
	// answers anyone: only for tests within one process.
	Secret SecretSource
	// Spill is where map outputs go past MapMemory bytes held in memory
	// (default DefaultMapMemory; negative: never spill). Nil keeps them
	// all in memory. The caller opens it (sweeping what killed workers
	// left) and closes it after Stop.
	Spill     *spill.Root
	MapMemory int64
}

// NewWorker returns a worker serving runner's fragments.
func NewWorker(runner FragmentRunner, opts WorkerOptions) *Worker {
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Version == "" {
		opts.Version = runner.Version()
	}
	w := &Worker{runner: runner, mem: opts.Mem, version: opts.Version, health: health.NewServer(), cache: mapCache{entries: map[string]*mapEntry{}}}
	w.cache.root, w.cache.budget = opts.Spill, opts.MapMemory
	switch {
	case opts.MapMemory == 0:
		w.cache.budget = DefaultMapMemory
	case opts.MapMemory < 0:
		w.cache.root = nil
	}
	var auth []grpc.ServerOption
	if opts.Secret != nil {
		check := &secretCheck{source: opts.Secret}
		auth = append(auth, grpc.ChainUnaryInterceptor(check.unary), grpc.ChainStreamInterceptor(check.stream))
		// shuffles read map outputs from the other workers, which check
		// the same secret
		w.peers.secret = check.secret
	}
	w.grpc = grpc.NewServer(append(auth,
		// the coordinator pings to find a stopped worker; allow it
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 100 * time.Millisecond, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Second, Timeout: 5 * time.Second}),
		grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20),
	)...)
	flight.RegisterFlightServiceServer(w.grpc, w)
	healthpb.RegisterHealthServer(w.grpc, w.health)
	w.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return w
}

// Serve serves on lis until Stop.
func (w *Worker) Serve(lis net.Listener) error {
	return w.grpc.Serve(lis)
}

// Stop ends serving, cutting running streams.
func (w *Worker) Stop() {
	w.health.Shutdown()
	w.grpc.Stop()
	w.peers.close()
	w.cache.close()
}

// DoGet runs the fragment the ticket names and streams its batches.
func (w *Worker) DoGet(tkt *flight.Ticket, fs flight.FlightService_DoGetServer) error {
	f, err := DecodeFragment(tkt.GetTicket())
	if err != nil {
		return statusOf(err)
	}
	ctx := context.WithValue(fs.Context(), workerKey{}, w)
	counts := &shuffleCounts{}
	ctx = context.WithValue(ctx, countsKey{}, counts)
	st, schema, release, err := w.runner.RunFragment(ctx, f, w.mem)
	if err != nil {
		return statusOf(err)
	}
	defer func() {
		if len(f.Shuffles) > 0 || f.ShuffleMap != nil {
			fs.SetTrailer(metadata.Pairs(trailerShuffledRows, strconv.FormatInt(counts.rows.Load(), 10),
				trailerShuffledBytes, strconv.FormatInt(counts.bytes.Load(), 10), trailerRecomputed, strconv.FormatInt(counts.recomputed.Load(), 10),
				trailerSpilledReads, strconv.FormatInt(counts.spilledReads.Load(), 10)))
		}
	}()
	defer release()
	defer st.Close()
	w.served.Add(1)
	wr := flight.NewRecordWriter(fs, ipc.WithSchema(schema), ipc.WithAllocator(w.mem))
	defer wr.Close()
	for {
		rec, err := st.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return statusOf(err)
		}
		err = wr.Write(rec)
		rec.Release()
		if err != nil {
			return err // the coordinator went away
		}
	}
}

// DoAction answers control actions.
func (w *Worker) DoAction(a *flight.Action, fs flight.FlightService_DoActionServer) error {
	switch a.GetType() {
	case ActionHello:
		var hi clusterpb.Hello
		if err := proto.Unmarshal(a.GetBody(), &hi); err != nil {
			return statusOf(sqlerr.New(sqlerr.ProtocolViolation, "hello does not decode: %v", err))
		}
		body, err := proto.Marshal(&clusterpb.Hello{Protocol: ProtocolVersion, Version: w.version, Pid: int64(os.Getpid()), DataDir: w.runner.DataDir()})
		if err != nil {
			return err
		}
		return fs.Send(&flight.Result{Body: body})
	case ActionCacheList, ActionUncache:
		return w.cacheAction(a, fs)
	case ActionModulesMissing, ActionModule:
		return w.moduleAction(a, fs)
	case ActionRelease:
		w.cache.release(string(a.GetBody()))
		return fs.Send(&flight.Result{})
	}
	return status.Errorf(codes.Unimplemented, "unknown action %q", a.GetType())
}

// statusOf turns an error into a gRPC status carrying its SQLSTATE.
func statusOf(err error) error {
	if _, ok := status.FromError(err); ok && !isSQL(err) {
		return err
	}
	var re *ReplanError
	detail := &clusterpb.Error{}
	code := codes.Unknown
	if errors.As(err, &re) {
		detail.Sqlstate, detail.Message, detail.Replannable = sqlerr.FeatureNotSupported, re.Error(), true
		code = codes.FailedPrecondition
	} else {
		se := sqlerr.Wrap(err)
		detail.Sqlstate, detail.Message, detail.Detail, detail.Hint = se.Code, se.Message, se.Detail, se.Hint
		if errors.Is(err, context.Canceled) {
			code = codes.Canceled
		}
	}
	st, derr := status.New(code, detail.Message).WithDetails(detail)
	if derr != nil {
		return status.Error(code, detail.Message)
	}
	return st.Err()
}

func isSQL(err error) bool {
	var se *sqlerr.Error
	var re *ReplanError
	return errors.As(err, &se) || errors.As(err, &re)
}

// Served is how many fragments the worker has run.
func (w *Worker) Served() int64 { return w.served.Load() }
