package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Worker states as weft.workers shows them.
const (
	StateUp      = "up"      // answered its last health check in time
	StateDown    = "down"    // unreachable or silent past the timeout; retried
	StateRefused = "refused" // answered, but speaks another version; retried
)

// RegistryOptions configures the coordinator's view of its workers.
type RegistryOptions struct {
	// Version is the coordinator's engine version: a worker must match.
	Version string
	// DataDir is the coordinator's data directory (a worker reading
	// another one is refused).
	DataDir string
	// Timeout is how long a worker may stay silent (health checks,
	// keepalive pings) before it is taken for lost: its running
	// partitions are rerun elsewhere. Default 5s.
	Timeout time.Duration
	// Secret is the cluster secret sent on every call (secret.go); nil
	// sends none, for workers that check none (tests in one process).
	Secret []byte
}

// streamWindow is how many bytes of one partition may be on their way
// to the coordinator before it reads them.
const streamWindow = 1 << 20

// Registry is the coordinator's list of workers and their health. A
// background loop checks each one every Timeout/4; a worker that comes
// back is used again.
type Registry struct {
	opts RegistryOptions

	mu      sync.Mutex
	workers []*workerConn // in the order added
	stop    chan struct{}
	done    chan struct{}
	// place chooses where partitions run (cache.go), nil: part mod workers
	place atomic.Pointer[PlaceFunc]
	// shipped are the modules each worker process has (modules.go)
	shipped shippedModules
}

// workerConn is one worker: its connection and what the coordinator
// knows of it.
type workerConn struct {
	reg    *Registry
	addr   string
	conn   *grpc.ClientConn
	client flight.Client
	health healthpb.HealthClient

	mu        sync.Mutex
	state     string
	reason    string
	lastBeat  time.Time
	pid       int64
	attempts  map[*attempt]bool // streams running on it, cut when it is lost
	fragments atomic.Int64
	// rerun counts partitions that were streaming from it when it was
	// lost, and so ran again elsewhere
	rerun atomic.Int64
}

// NewRegistry starts a registry with no workers.
func NewRegistry(opts RegistryOptions) *Registry {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	r := &Registry{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	go r.watch()
	return r
}

// Close stops the health checks and closes every connection.
func (r *Registry) Close() {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		w.conn.Close()
	}
	r.workers = nil
}

// Add registers a worker and greets it. The worker stays registered
// even when the greeting fails (it is retried), unless keepOnError is
// false: then a failed greeting removes it again and is returned.
func (r *Registry) Add(ctx context.Context, addr string, keepOnError bool) error {
	r.mu.Lock()
	for _, w := range r.workers {
		if w.addr == addr {
			r.mu.Unlock()
			return sqlerr.New(sqlerr.DuplicateObject, "worker %s is already registered", addr)
		}
	}
	r.mu.Unlock()
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		// grpc-go pings no more often than every 10s: health checks
		// (watch) find a silent worker sooner; keepalives are the backstop
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: r.opts.Timeout, PermitWithoutStream: true}),
		// a restarted worker is found again within the timeout, not after
		// grpc's default backoff of up to two minutes
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2,
			MaxDelay: r.opts.Timeout / 4}, MinConnectTimeout: r.opts.Timeout}),
		// fixed flow-control windows: a worker runs ahead of the query by
		// at most this much (grpc's dynamic window grows to 16 MiB a stream)
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(4 * streamWindow),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20))}
	if r.opts.Secret != nil {
		dial = append(dial, WithSecret(r.opts.Secret))
	}
	conn, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return sqlerr.New(sqlerr.SQLClientUnableToEstablishConnection, "worker address %q: %v", addr, err)
	}
	w := &workerConn{reg: r, addr: addr, conn: conn, client: flight.NewClientFromConn(conn, nil), health: healthpb.NewHealthClient(conn),
		state: StateDown, reason: "not greeted yet", attempts: map[*attempt]bool{}}
	err = r.greet(ctx, w)
	if err != nil && !keepOnError {
		conn.Close()
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, other := range r.workers {
		if other.addr == addr { // added meanwhile by another session
			conn.Close()
			return sqlerr.New(sqlerr.DuplicateObject, "worker %s is already registered", addr)
		}
	}
	r.workers = append(r.workers, w)
	return err
}

// Remove forgets a worker; partitions running on it are rerun elsewhere.
func (r *Registry) Remove(addr string) error {
	r.mu.Lock()
	var found *workerConn
	for i, w := range r.workers {
		if w.addr == addr {
			found = w
			r.workers = append(r.workers[:i:i], r.workers[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	if found == nil {
		return sqlerr.New(sqlerr.UndefinedObject, "worker %s is not registered", addr)
	}
	found.lost("removed")
	found.conn.Close()
	return nil
}

// greet exchanges hello with a worker and sets its state from the answer.
func (r *Registry) greet(ctx context.Context, w *workerConn) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	body, err := proto.Marshal(&clusterpb.Hello{Protocol: ProtocolVersion, Version: r.opts.Version, DataDir: r.opts.DataDir})
	if err != nil {
		return err
	}
	stream, err := w.client.DoAction(ctx, &flight.Action{Type: ActionHello, Body: body})
	var res *flight.Result
	if err == nil {
		res, err = stream.Recv()
	}
	if refused := refusedSecret(w.addr, err); refused != nil {
		w.setState(StateRefused, "the worker refused the cluster secret: "+status.Convert(err).Message())
		return refused
	}
	if err != nil {
		w.setState(StateDown, fmt.Sprintf("no answer: %v", err))
		return sqlerr.New(sqlerr.SQLClientUnableToEstablishConnection, "could not reach worker %s: %v", w.addr, err)
	}
	var hi clusterpb.Hello
	if err := proto.Unmarshal(res.GetBody(), &hi); err != nil {
		w.setState(StateRefused, "its hello does not decode")
		return sqlerr.New(sqlerr.ProtocolViolation, "worker %s answered hello with something else: %v", w.addr, err)
	}
	if hi.Protocol != ProtocolVersion || hi.Version != r.opts.Version {
		reason := fmt.Sprintf("worker runs version %s (protocol %d), the coordinator %s (protocol %d)", hi.Version, hi.Protocol, r.opts.Version, ProtocolVersion)
		w.setState(StateRefused, reason)
		return sqlerr.New(sqlerr.ProtocolViolation, "worker %s refused: %s", w.addr, reason)
	}
	w.mu.Lock()
	w.state, w.reason, w.lastBeat, w.pid = StateUp, "", time.Now(), hi.Pid
	w.mu.Unlock()
	return nil
}

// watch checks every worker's health until Close.
func (r *Registry) watch() {
	defer close(r.done)
	tick := time.NewTicker(r.opts.Timeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		var wg sync.WaitGroup
		for _, w := range r.list() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.check(w)
			}()
		}
		wg.Wait()
	}
}

// check asks one worker's health service; a worker silent past the
// timeout is lost, one that answers again is greeted again. A healthy
// one is greeted too: the connection may have been made again to a new
// process on the same address (restarted, perhaps another version),
// which the health service cannot tell.
func (r *Registry) check(w *workerConn) {
	state := w.currentState()
	if state != StateUp {
		r.greet(context.Background(), w)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout/2)
	defer cancel()
	resp, err := w.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
		w.mu.Lock()
		w.lastBeat = time.Now()
		w.mu.Unlock()
		// (streams from an old process failed with its connection)
		r.greet(ctx, w)
		return
	}
	w.mu.Lock()
	silent := time.Since(w.lastBeat)
	w.mu.Unlock()
	if silent > r.opts.Timeout {
		w.lost(fmt.Sprintf("no health answer for %v: %v", silent.Round(time.Millisecond), err))
	}
}

func (r *Registry) list() []*workerConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*workerConn(nil), r.workers...)
}

// live lists the workers that are up, in the order added.
func (r *Registry) live() []*workerConn {
	var out []*workerConn
	for _, w := range r.list() {
		if w.currentState() == StateUp {
			out = append(out, w)
		}
	}
	return out
}

// Live is the number of workers that are up.
func (r *Registry) Live() int { return len(r.live()) }

// WorkerInfo is one row of weft.workers.
type WorkerInfo struct {
	Address   string
	State     string
	Reason    string
	LastBeat  time.Time
	Fragments int64
	// PartitionsLost counts partitions rerun elsewhere because this
	// worker was lost while they streamed.
	PartitionsLost int64
	PID            int64
}

// Workers lists the registered workers.
func (r *Registry) Workers() []WorkerInfo {
	var out []WorkerInfo
	for _, w := range r.list() {
		w.mu.Lock()
		out = append(out, WorkerInfo{Address: w.addr, State: w.state, Reason: w.reason, LastBeat: w.lastBeat, Fragments: w.fragments.Load(), PartitionsLost: w.rerun.Load(), PID: w.pid})
		w.mu.Unlock()
	}
	return out
}

// cutAll cuts the streams running on the worker, leaving its state.
func (w *workerConn) cutAll(reason string) {
	w.mu.Lock()
	cut := make([]*attempt, 0, len(w.attempts))
	for a := range w.attempts {
		cut = append(cut, a)
	}
	w.mu.Unlock()
	for _, a := range cut {
		a.cut(reason)
	}
}

func (w *workerConn) currentState() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

func (w *workerConn) setState(state, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state, w.reason = state, reason
}

// lost marks the worker down and cuts the streams running on it: their
// partitions go to other workers.
func (w *workerConn) lost(reason string) {
	w.setState(StateDown, reason)
	w.cutAll(reason)
	if w.reg != nil {
		w.reg.cutShuffles(w.addr, reason)
	}
}

// cutShuffles restarts the shuffle stages' partitions running on the
// other workers: their reduce tasks may be reading map outputs from the
// lost worker (one that stopped answering would stall them), and their
// new attempts name only the live workers as peers. Their workers are
// not lost: the partitions start again on them.
func (r *Registry) cutShuffles(lostAddr, reason string) {
	for _, w := range r.list() {
		if w.addr == lostAddr {
			continue
		}
		w.mu.Lock()
		var cut []*attempt
		for a := range w.attempts {
			if a.shuffle {
				cut = append(cut, a)
			}
		}
		w.mu.Unlock()
		for _, a := range cut {
			a.peerLost("peer " + lostAddr + " lost (" + reason + ")")
		}
	}
}

func (w *workerConn) track(a *attempt) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts[a] = true
}

func (w *workerConn) untrack(a *attempt) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.attempts, a)
}

// releaseQuery tells every live worker to drop the map outputs it keeps
// for a query's stage (ActionRelease); a worker that misses it drops
// them once idle (mapIdle).
func (r *Registry) releaseQuery(id string) {
	for _, w := range r.live() {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
		stream, err := w.client.DoAction(ctx, &flight.Action{Type: ActionRelease, Body: []byte(id)})
		if err == nil {
			stream.Recv()
		}
		cancel()
	}
}
