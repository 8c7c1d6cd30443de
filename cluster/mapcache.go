package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/exec/spill"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// The worker's side of a shuffle (shuffle.go): the map outputs it keeps,
// and its connections to the other workers whose map outputs its reduce
// tasks read.

// ActionRelease drops the map outputs a worker keeps for a query (the
// body is the query id): the coordinator sends it when the stage that
// reads them has finished.
const ActionRelease = "release"

// mapIdle is how long a map output nobody asked for is kept when its
// release never comes (the coordinator was lost, or the query
// cancelled).
const mapIdle = 2 * time.Minute

// mapCache holds the map outputs a worker computed, by map ticket.
type mapCache struct {
	mu      sync.Mutex
	entries map[string]*mapEntry
	// root is where outputs past budget bytes in memory go (nil: they
	// all stay in memory, mapstore.go); memBytes is what the outputs in
	// memory hold
	root           *spill.Root
	budget         int64
	memBytes       atomic.Int64
	spilledOutputs atomic.Int64 // outputs written to files (tests)
}

// mapEntry is one map partition's rows hashed into buckets.
type mapEntry struct {
	query   string
	done    chan struct{}
	out     *mapOutput
	err     error
	used    time.Time
	dropped bool
}

func mapKey(f *clusterpb.Fragment) string {
	// (a join's side and an aggregation's partial phase may have one path)
	return fmt.Sprintf("%s|%v|%t|%d|%d|%s", f.QueryId, f.Path, f.PartialAggregate, f.Partition, f.ShuffleMap.GetBuckets(), f.Fingerprint)
}

// get returns the map output of f, computing it with compute when no
// one has; a failed computation is forgotten (the next asks again). A
// computation cancelled with the request that ran it is taken over by
// a waiting one.
func (c *mapCache) get(ctx context.Context, f *clusterpb.Fragment, compute func() (*mapOutput, error)) (*mapEntry, error) {
	for {
		e, computed, err := c.getOnce(ctx, f, compute)
		if err != nil && !computed && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			continue // another request's cancellation, not this one's
		}
		return e, err
	}
}

func (c *mapCache) getOnce(ctx context.Context, f *clusterpb.Fragment, compute func() (*mapOutput, error)) (*mapEntry, bool, error) {
	key := mapKey(f)
	c.mu.Lock()
	c.expireLocked()
	e, ok := c.entries[key]
	if !ok {
		e = &mapEntry{query: f.QueryId, done: make(chan struct{}), used: time.Now()}
		c.entries[key] = e
	}
	c.mu.Unlock()
	if !ok {
		e.out, e.err = compute()
		if e.err != nil {
			c.mu.Lock()
			delete(c.entries, key)
			c.mu.Unlock()
		}
		close(e.done)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, !ok, ctx.Err()
	}
	if e.err != nil {
		return nil, !ok, e.err
	}
	c.mu.Lock()
	e.used = time.Now()
	c.mu.Unlock()
	return e, !ok, nil
}

// bucket streams bucket b of an entry (mapOutput.bucket): an entry
// dropped meanwhile is asked of another peer, or computed again.
func (c *mapCache) bucket(e *mapEntry, b int, mem memory.Allocator) (exec.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.dropped {
		return nil, &ReplanError{Reason: "the map output was released"}
	}
	return e.out.bucket(b, mem)
}

// release drops the outputs of a query.
func (c *mapCache) release(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.query == query {
			c.dropLocked(k, e)
		}
	}
}

func (c *mapCache) expireLocked() {
	for k, e := range c.entries {
		if time.Since(e.used) > mapIdle && isDone(e) {
			c.dropLocked(k, e)
		}
	}
}

func (c *mapCache) dropLocked(k string, e *mapEntry) {
	if !isDone(e) {
		return // still computing: its getter drops it when it fails, or it expires
	}
	delete(c.entries, k)
	e.dropped = true
	if e.out != nil {
		e.out.drop()
		e.out = nil
	}
}

// held is how many map outputs the cache holds (tests).
func (c *mapCache) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *mapCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		c.dropLocked(k, e)
	}
}

func isDone(e *mapEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// recordsStream streams records it owns.
type recordsStream struct{ recs []arrow.Record }

func (s *recordsStream) Next(context.Context) (arrow.Record, error) {
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, nil
}

func (s *recordsStream) Close() {
	exec.ReleaseRecords(s.recs)
	s.recs = nil
}

// mapTask is the node of a map ticket: partition m of it is bucket
// (the ticket's) of partition m of side, hashed on keys.
type mapTask struct {
	side  exec.Operator
	keys  []exec.Expr
	env   *exec.Env
	frag  *clusterpb.Fragment
	cache *mapCache
	mem   memory.Allocator
}

func (t *mapTask) Schema() *arrow.Schema     { return t.side.Schema() }
func (t *mapTask) Partitions() int           { return t.side.Partitions() }
func (t *mapTask) Children() []exec.Operator { return []exec.Operator{t.side} }
func (t *mapTask) Explain() string {
	return fmt.Sprintf("Map (hash into %d buckets)", t.frag.ShuffleMap.GetBuckets())
}

func (t *mapTask) Open(ctx context.Context, part int) (exec.Stream, error) {
	buckets, b := int(t.frag.ShuffleMap.GetBuckets()), int(t.frag.ShuffleMap.GetBucket())
	if buckets <= 0 || b >= buckets {
		return nil, &ReplanError{Reason: fmt.Sprintf("map ticket asks for bucket %d of %d", b, buckets)}
	}
	if t.cache == nil {
		return localMapPartition(t.env, t.side, t.keys, buckets, b, part), nil
	}
	e, err := t.cache.get(ctx, t.frag, func() (*mapOutput, error) { return t.compute(ctx, part, buckets) })
	if err != nil {
		return nil, err
	}
	st, err := t.cache.bucket(e, b, t.mem)
	if err == nil && e.out.spilled() {
		if c := countsOf(ctx); c != nil {
			c.spilledReads.Add(1)
		}
	}
	return st, err
}

// compute reads the whole map partition and hashes it into buckets.
func (t *mapTask) compute(ctx context.Context, part, buckets int) (*mapOutput, error) {
	st, err := t.side.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ec := exec.NewEvalContext(ctx, t.env)
	out := t.cache.newOutput(t.side.Schema(), buckets, t.mem)
	fail := func(err error) (*mapOutput, error) {
		out.drop()
		return nil, err
	}
	for {
		rec, err := st.Next(ctx)
		if errors.Is(err, io.EOF) {
			if err := out.finish(); err != nil {
				return fail(err)
			}
			return out, nil
		}
		if err != nil {
			return fail(err)
		}
		split, err := splitAll(ec, t.mem, rec, t.keys, buckets)
		rec.Release()
		if err != nil {
			return fail(err)
		}
		for b, r := range split {
			if r == nil {
				continue
			}
			if err := out.add(b, r); err != nil {
				for _, rest := range split[b+1:] {
					if rest != nil {
						rest.Release()
					}
				}
				return fail(err)
			}
		}
	}
}

// peerPool is a worker's connections to the other workers.
type peerPool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	// secret is the cluster secret the peers check (nil: none asked)
	secret func() ([]byte, error)
}

func (p *peerPool) client(addr string) (flight.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return flight.NewClientFromConn(c, nil), nil
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		// a peer restarted on its address is used again within a second
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second}),
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(4 * streamWindow),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20))}
	if p.secret != nil {
		secret, err := p.secret()
		if err != nil {
			return nil, fmt.Errorf("no cluster secret for peer %s: %w", addr, err)
		}
		dial = append(dial, WithSecret(secret))
	}
	c, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return nil, err
	}
	if p.conns == nil {
		p.conns = map[string]*grpc.ClientConn{}
	}
	p.conns[addr] = c
	return flight.NewClientFromConn(c, nil), nil
}

func (p *peerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// shuffleCounts is what a fragment's reduce tasks read from map
// outputs, sent back to the coordinator in the DoGet's trailer.
type shuffleCounts struct {
	rows, bytes atomic.Int64
	// recomputed counts map outputs no peer could serve, computed
	// again here from their lineage
	recomputed atomic.Int64
	// spilledReads counts buckets read back from spill files
	spilledReads atomic.Int64
}

// Trailer keys of a DoGet that read shuffled rows.
const (
	trailerShuffledRows  = "weft-shuffled-rows"
	trailerShuffledBytes = "weft-shuffled-bytes"
	trailerRecomputed    = "weft-map-recomputed"
	trailerSpilledReads  = "weft-map-spilled-reads"
)

type countsKey struct{}

func countsOf(ctx context.Context) *shuffleCounts {
	c, _ := ctx.Value(countsKey{}).(*shuffleCounts)
	return c
}

// workerKey carries the serving Worker in a fragment's context, for
// the map outputs it keeps and its peers.
type workerKey struct{}

func workerOf(ctx context.Context) *Worker {
	w, _ := ctx.Value(workerKey{}).(*Worker)
	return w
}

// peerShuffles is a reduce task's reading of a shuffle's buckets on a
// worker: bucket b of map partition m is asked of the shuffle's peers,
// m mod P first, then the others; when none answers it is computed
// here from its lineage. A peer lost in the middle of a map output is
// replaced by the next, skipping the rows already read (the output is
// deterministic).
func peerShuffles(w *Worker, f *clusterpb.Fragment, mem memory.Allocator) bucketReader {
	return func(in shuffleSides, sh *clusterpb.Shuffle) func(ctx context.Context, side, bucket int) (exec.Stream, error) {
		return func(ctx context.Context, side, bucket int) (exec.Stream, error) {
			return &peerBucketStream{w: w, f: f, sh: sh, side: side, bucket: bucket, mem: mem, env: in.env,
				local: in.sides[side], keys: in.keys[side], parts: in.sides[side].Partitions(), aggregate: in.aggregate,
				whole: volatileUnder(in.sides[side])}, nil
		}
	}
}

type peerBucketStream struct {
	w          *Worker
	f          *clusterpb.Fragment
	sh         *clusterpb.Shuffle
	side       int
	bucket     int
	mem        memory.Allocator
	env        *exec.Env
	local      exec.Operator
	keys       []exec.Expr
	parts      int
	m          int // the map partition being read
	tried      int // peers tried for it
	delivered  int64
	skip       int64
	cur        *peerRead
	localTried bool
	lastErr    error
	aggregate  bool // the shuffle is an aggregation's (shuffleSides)
	// whole: each map output's bucket is read whole before any of it is
	// passed on: the side computes volatile values, which a map output
	// computed again would not repeat (volatile.go)
	whole bool
}

// peerRead is one DoGet of a map output, or its computation here.
type peerRead struct {
	cancel context.CancelFunc
	stream flight.FlightService_DoGetClient
	rdr    *flight.Reader
	local  exec.Stream
	read   *recordsStream // a bucket read whole from a peer
}

func (r *peerRead) next(ctx context.Context) (arrow.Record, error) {
	if r.local != nil {
		return r.local.Next(ctx)
	}
	if r.read != nil {
		return r.read.Next(ctx)
	}
	if r.rdr.Next() {
		rec := r.rdr.Record()
		rec.Retain()
		return rec, nil
	}
	if err := r.rdr.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// readWhole reads the rest of the DoGet into memory.
func (r *peerRead) readWhole() error {
	var recs []arrow.Record
	for r.rdr.Next() {
		rec := r.rdr.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.rdr.Err(); err != nil {
		exec.ReleaseRecords(recs)
		return err
	}
	r.read = &recordsStream{recs: recs}
	return nil
}

// noteNested adds what a finished DoGet's map task read from the map
// outputs of the shuffles under it (its trailer: rows, bytes, recomputed
// outputs and buckets read from spill files) to what the fragment
// reports: EXPLAIN ANALYZE's totals cover every level of a nested stage.
func (r *peerRead) noteNested(ctx context.Context) {
	if c := countsOf(ctx); c != nil && r.stream != nil {
		addShuffleTrailer(r.stream, &c.rows, &c.bytes, &c.recomputed, &c.spilledReads)
	}
}

func (r *peerRead) close() {
	if r.local != nil {
		r.local.Close()
	}
	if r.read != nil {
		r.read.Close()
	}
	if r.rdr != nil {
		r.rdr.Release()
	}
	if r.cancel != nil {
		r.cancel()
	}
}

func (s *peerBucketStream) Next(ctx context.Context) (arrow.Record, error) {
	for {
		if s.m >= s.parts {
			return nil, io.EOF
		}
		if s.cur == nil {
			if err := s.open(ctx); err != nil {
				return nil, err
			}
			continue
		}
		rec, err := s.cur.next(ctx)
		if err == nil {
			if rec = skipRows(rec, &s.skip); rec == nil {
				continue
			}
			s.delivered += rec.NumRows()
			if c := countsOf(ctx); c != nil && s.cur.local == nil {
				c.rows.Add(rec.NumRows())
				c.bytes.Add(recordBytes(rec))
			}
			return rec, nil
		}
		if errors.Is(err, io.EOF) {
			s.cur.noteNested(ctx)
		}
		s.cur.close()
		s.cur = nil
		if errors.Is(err, io.EOF) {
			s.m, s.tried, s.delivered, s.localTried = s.m+1, 0, 0, false
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if detail := errorDetail(err); detail != nil && !detail.Replannable {
			return nil, err // the query's own error
		}
		s.lastErr = err // a peer lost: the next one, or here
	}
}

// open starts map partition s.m on the next peer to try, or here.
func (s *peerBucketStream) open(ctx context.Context) error {
	peers := s.sh.Peers
	s.skip = s.delivered
	for s.tried < len(peers) {
		addr := peers[(s.m+s.tried)%len(peers)]
		s.tried++
		client, err := s.w.peers.client(addr)
		if err != nil {
			s.lastErr = err
			continue
		}
		ticket, err := EncodeFragment(s.mapTicket())
		if err != nil {
			return err
		}
		rctx, cancel := context.WithCancel(ctx)
		stream, err := client.DoGet(rctx, &flight.Ticket{Ticket: ticket})
		var rdr *flight.Reader
		if err == nil {
			rdr, err = flight.NewRecordReader(stream, ipc.WithAllocator(s.mem))
		}
		if err != nil {
			cancel()
			s.lastErr = err
			if detail := errorDetail(err); detail != nil && !detail.Replannable {
				return err
			}
			continue
		}
		read := &peerRead{cancel: cancel, stream: stream, rdr: rdr}
		if s.whole {
			if err := read.readWhole(); err != nil {
				read.close()
				s.lastErr = err
				if detail := errorDetail(err); detail != nil && !detail.Replannable {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue // a peer lost: nothing of its draw was passed on
			}
		}
		s.cur = read
		return nil
	}
	if s.localTried {
		return fmt.Errorf("map partition %d of a shuffle could not be read: %v", s.m, s.lastErr)
	}
	s.localTried = true
	if c := countsOf(ctx); c != nil {
		c.recomputed.Add(1)
	}
	s.cur = &peerRead{local: localMapPartition(s.env, s.local, s.keys, int(s.sh.Buckets), s.bucket, s.m)}
	return nil
}

// mapTicket names bucket s.bucket of map partition s.m (mapTicket in
// shuffle.go).
func (s *peerBucketStream) mapTicket() *clusterpb.Fragment {
	return mapTicket(s.f, s.sh, s.side, s.m, s.bucket, s.aggregate)
}

func (s *peerBucketStream) Close() {
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
}

// skipRows drops the first *skip rows of rec (nil when all of them).
func skipRows(rec arrow.Record, skip *int64) arrow.Record {
	n := rec.NumRows()
	if *skip == 0 {
		return rec
	}
	if n <= *skip {
		*skip -= n
		rec.Release()
		return nil
	}
	out := rec.NewSlice(*skip, n)
	rec.Release()
	*skip = 0
	return out
}
