package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Remote is a node of the coordinator's plan whose partitions run on
// workers: partition p on the p mod W-th live worker. It has the schema
// and partitions of Local, the node it stands for, which stays in the
// plan to explain it and to run a partition here when no worker can
// reproduce the plan.
//
// When a worker is lost while a partition streams, the partition is
// asked of another worker and the rows already passed on are skipped:
// the fragment is a deterministic function of immutable stored data, so
// the new stream repeats the old one's rows in the same order.
type Remote struct {
	Local    exec.Operator
	Fragment *clusterpb.Fragment // all but Partition
	Mem      memory.Allocator
	// Whole holds each partition back until all of it has arrived, and
	// a rerun starts it over: for fragments whose rows may come in
	// another order when computed again (an aggregation's groups).
	Whole bool
	// Stage numbers the Remote nodes of a plan (1, 2, …, in the order
	// distributed) for EXPLAIN.
	Stage   int
	reg     *Registry
	planned []string // the worker each partition was meant for

	mu       sync.Mutex
	ranOn    []string // where each partition's rows finally came from
	partRows []int64  // rows each partition passed on
	ended    int      // partitions that ended
	started  time.Time
	finished time.Time // when the last partition ended
	rows     atomic.Int64
	bytes    atomic.Int64
	retries  atomic.Int64
	locally  atomic.Int64
	nanos    atomic.Int64 // spent waiting for batches, over all partitions
	// what the stage's reduce tasks read from map outputs (shuffle.go),
	// as the workers report it
	shuffledRows, shuffledBytes, recomputed atomic.Int64
	// spilledReads counts the map output buckets read back from the
	// workers' spill files
	spilledReads atomic.Int64
	abandon      atomic.Bool // a partition was closed unfinished
	analyzed     bool
}

func (r *Remote) Schema() *arrow.Schema     { return r.Local.Schema() }
func (r *Remote) Partitions() int           { return r.Local.Partitions() }
func (r *Remote) Children() []exec.Operator { return []exec.Operator{r.Local} }

// Explain names the stage and the worker of each partition; after a
// run (EXPLAIN ANALYZE) it adds the rows each partition passed on and
// what the stage moved: rows, bytes, its wall time (first partition
// opened to last one ended) and the time the coordinator waited.
func (r *Remote) Explain() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	where := r.planned
	if r.analyzed {
		where = r.ranOn
	}
	parts := make([]string, len(where))
	for p, w := range where {
		parts[p] = fmt.Sprintf("%d@%s", p, w)
	}
	s := fmt.Sprintf("Remote (workers=%d, stage %d: %s to the coordinator, partitions: %s)", distinct(r.planned), r.Stage, r.exchange(), strings.Join(parts, " "))
	if r.analyzed {
		wall := r.finished.Sub(r.started)
		if r.finished.Before(r.started) {
			wall = 0
		}
		s += fmt.Sprintf(" (received rows=%d bytes=%d per partition rows=%v stage time=%.3f ms waited=%.3f ms retries=%d local=%d)", r.rows.Load(), r.bytes.Load(),
			r.partRows, float64(wall)/1e6, float64(r.nanos.Load())/1e6, r.retries.Load(), r.locally.Load())
		if len(r.Fragment.Shuffles) > 0 {
			s += fmt.Sprintf(" (shuffled rows=%d bytes=%d, map outputs computed again=%d", r.shuffledRows.Load(), r.shuffledBytes.Load(), r.recomputed.Load())
			if n := r.spilledReads.Load(); n > 0 {
				s += fmt.Sprintf(", buckets read from spill files=%d", n)
			}
			s += ")"
		}
	}
	return s
}

// exchange names how the stage's rows reach the coordinator.
func (r *Remote) exchange() string {
	if r.Whole {
		return "gather of whole partitions"
	}
	return "gather"
}

func distinct(xs []string) int {
	seen := map[string]bool{}
	for _, x := range xs {
		seen[x] = true
	}
	return len(seen)
}

// Open starts partition part on its worker.
func (r *Remote) Open(ctx context.Context, part int) (exec.Stream, error) {
	r.mu.Lock()
	if r.started.IsZero() {
		r.started = time.Now()
	}
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	return &remoteStream{r: r, part: part, ctx: ctx, cancel: cancel, tried: map[*workerConn]bool{}}, nil
}

// noteShuffled adds what a finished partition's reduce tasks read from
// map outputs, from its DoGet's trailer.
func (r *Remote) noteShuffled(stream flight.FlightService_DoGetClient) {
	if stream == nil || len(r.Fragment.Shuffles) == 0 {
		return
	}
	addShuffleTrailer(stream, &r.shuffledRows, &r.shuffledBytes, &r.recomputed, &r.spilledReads)
}

// addShuffleTrailer adds the shuffle counts of a finished DoGet's
// trailer: what its reduce tasks, and the map tasks of nested shuffles
// it computed, read from map outputs (each DoGet adds those of the
// DoGets it made, so the coordinator's total covers every level).
func addShuffleTrailer(stream flight.FlightService_DoGetClient, rows, bytes, recomputed, spilled *atomic.Int64) {
	md := stream.Trailer()
	for key, n := range map[string]*atomic.Int64{trailerShuffledRows: rows, trailerShuffledBytes: bytes, trailerRecomputed: recomputed, trailerSpilledReads: spilled} {
		if vs := md.Get(key); len(vs) == 1 {
			if v, err := strconv.ParseInt(vs[0], 10, 64); err == nil {
				n.Add(v)
			}
		}
	}
}

// noteRan records where partition part's rows came from, and how many,
// when it ends.
func (r *Remote) noteRan(part int, where string, rows int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.analyzed = true
	r.finished = time.Now()
	if part < len(r.ranOn) {
		r.ranOn[part] = where
	}
	if r.partRows == nil {
		r.partRows = make([]int64, len(r.planned))
	}
	if part < len(r.partRows) {
		r.partRows[part] = rows
	}
	r.ended++
	if r.ended == len(r.planned) && len(r.Fragment.Shuffles) > 0 {
		// every reduce partition has read its buckets: the workers may
		// drop the stage's map outputs
		go r.reg.releaseQuery(r.Fragment.QueryId)
	}
}

// abandoned: a partition was closed before its end (the query failed,
// was cancelled, or needs no more rows), so the stage's map outputs
// are dropped now rather than when idle: their files with them. A
// partition that still reads them finds them gone and computes them
// again from their lineage.
func (r *Remote) abandoned() {
	if len(r.Fragment.Shuffles) > 0 && r.abandon.CompareAndSwap(false, true) {
		go r.reg.releaseQuery(r.Fragment.QueryId)
	}
}

// remoteStream is one partition's rows, from whichever worker serves them.
type remoteStream struct {
	r      *Remote
	part   int
	ctx    context.Context
	cancel context.CancelFunc

	delivered int64 // rows passed on
	tried     map[*workerConn]bool
	lostTo    []string // why earlier workers were given up
	cur       *attempt
	held      []arrow.Record // a Whole partition's batches so far
	complete  bool
	ended     bool // the partition's rows all came
	local     exec.Stream
	skip      int64 // rows of the current source still to skip
}

// attempt is one DoGet of the partition on one worker.
type attempt struct {
	w      *workerConn
	cancel context.CancelFunc
	stream flight.FlightService_DoGetClient
	rdr    *flight.Reader
	why    atomic.Pointer[string] // set when the worker was lost under it
	// shuffle: the fragment reads map outputs from peers; peer is set
	// when one of them was lost under it (its own worker was not)
	shuffle bool
	peer    atomic.Pointer[string]
}

// peerLost ends the attempt because a worker it read map outputs from
// was lost: it starts again, its own worker still up.
func (a *attempt) peerLost(reason string) {
	a.peer.Store(&reason)
	a.cancel()
}

// cut ends the attempt because its worker was lost.
func (a *attempt) cut(reason string) {
	a.why.Store(&reason)
	a.cancel()
}

func (s *remoteStream) Next(ctx context.Context) (arrow.Record, error) {
	start := time.Now()
	defer func() { s.r.nanos.Add(int64(time.Since(start))) }()
	if !s.r.Whole {
		return s.pull(ctx)
	}
	for !s.complete {
		rec, err := s.pull(ctx)
		if errors.Is(err, io.EOF) {
			s.complete = true
			break
		}
		if err != nil {
			return nil, err
		}
		s.held = append(s.held, rec)
	}
	if len(s.held) == 0 {
		return nil, io.EOF
	}
	rec := s.held[0]
	s.held = s.held[1:]
	return rec, nil
}

// startOver drops what a Whole partition holds from an earlier source:
// the next one sends all of it again.
func (s *remoteStream) startOver() {
	if s.r.Whole {
		exec.ReleaseRecords(s.held)
		s.held, s.delivered = nil, 0
	}
}

// pull is the partition's next batch from whichever source serves it.
func (s *remoteStream) pull(ctx context.Context) (arrow.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.local != nil {
			return s.fromLocal(ctx)
		}
		if s.cur == nil {
			if err := s.start(); err != nil {
				return nil, err
			}
			continue
		}
		rec, err := s.cur.next()
		if err == nil {
			if rec = s.skipped(rec); rec == nil {
				continue
			}
			s.delivered += rec.NumRows()
			s.r.rows.Add(rec.NumRows())
			s.r.bytes.Add(recordBytes(rec))
			return rec, nil
		}
		if errors.Is(err, io.EOF) {
			s.r.noteShuffled(s.cur.stream)
			s.r.noteRan(s.part, s.cur.w.addr, s.delivered)
			s.ended = true
			return nil, io.EOF
		}
		if err := s.failed(err); err != nil {
			return nil, err
		}
	}
}

// skipped drops the rows an earlier source already passed on.
func (s *remoteStream) skipped(rec arrow.Record) arrow.Record {
	n := rec.NumRows()
	if s.skip == 0 {
		return rec
	}
	if n <= s.skip {
		s.skip -= n
		rec.Release()
		return nil
	}
	out := rec.NewSlice(s.skip, n)
	rec.Release()
	s.skip = 0
	return out
}

// start opens the partition on the next worker to try: its own (p mod
// W) first, then any other live one not tried yet.
func (s *remoteStream) start() error {
	w := s.pick()
	if w == nil {
		return s.noWorkerLeft()
	}
	s.tried[w] = true
	s.startOver()
	f := proto.Clone(s.r.Fragment).(*clusterpb.Fragment)
	f.Partition = uint32(s.part)
	// the map outputs are asked of the workers up now
	for _, sh := range f.Shuffles {
		sh.Peers = sh.Peers[:0]
		for _, lw := range s.r.reg.live() {
			sh.Peers = append(sh.Peers, lw.addr)
		}
	}
	ticket, err := EncodeFragment(f)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(s.ctx)
	a := &attempt{w: w, cancel: cancel, shuffle: len(f.Shuffles) > 0}
	w.track(a)
	w.fragments.Add(1)
	// fails at once when the connection is down: the partition goes to
	// another worker rather than wait for this one
	stream, err := w.client.DoGet(actx, &flight.Ticket{Ticket: ticket})
	a.stream = stream
	if err == nil {
		// reading the schema waits for the worker's first message
		a.rdr, err = flight.NewRecordReader(stream, ipc.WithAllocator(s.r.Mem))
	}
	s.cur, s.skip = a, s.delivered
	if err != nil {
		return s.failed(err) // (ends the attempt)
	}
	return nil
}

func (s *remoteStream) pick() *workerConn {
	live := s.r.reg.live()
	if len(live) == 0 {
		return nil
	}
	if w := s.plannedConn(live); w != nil && !s.tried[w] {
		return w // (where a cached partition is held)
	}
	if w := live[s.part%len(live)]; !s.tried[w] {
		return w
	}
	for _, w := range live {
		if !s.tried[w] {
			return w
		}
	}
	return nil
}

func (s *remoteStream) noWorkerLeft() error {
	lost := "no worker is up"
	if len(s.lostTo) > 0 {
		lost = strings.Join(s.lostTo, "; ")
	}
	return sqlerr.New(sqlerr.ConnectionFailure, "partition %d of a distributed query has no worker left to run on: %s", s.part, lost).
		WithHint("Start a worker again or add one (CALL weft.add_worker('host:port')); weft.workers shows their state.")
}

// failed handles an error of the current attempt: a SQL error of the
// query is the query's; a worker that could not reproduce the plan
// hands the partition to the coordinator; anything else means the
// worker was lost, and the partition goes to another one.
func (s *remoteStream) failed(err error) error {
	a := s.cur
	s.endAttempt(a)
	s.cur = nil
	if s.ctx.Err() != nil && a.why.Load() == nil {
		return s.ctx.Err() // the query was cancelled or closed
	}
	if why := a.peer.Load(); why != nil && a.why.Load() == nil {
		// its worker is fine: the partition starts again, on it too
		delete(s.tried, a.w)
		s.lostTo = append(s.lostTo, *why)
		s.r.retries.Add(1)
		return nil
	}
	if detail := errorDetail(err); detail != nil && a.why.Load() == nil {
		if detail.Replannable {
			return s.runLocally()
		}
		e := sqlerr.New(detail.Sqlstate, "%s", detail.Message)
		e.Detail, e.Hint = detail.Detail, detail.Hint
		return e
	}
	reason := err.Error()
	if why := a.why.Load(); why != nil {
		reason = *why
	}
	a.w.lost(reason)
	a.w.rerun.Add(1)
	s.lostTo = append(s.lostTo, fmt.Sprintf("worker %s lost (%s)", a.w.addr, reason))
	s.r.retries.Add(1)
	return nil
}

// runLocally runs the partition in the coordinator from where the
// workers left off.
func (s *remoteStream) runLocally() error {
	st, err := s.r.Local.Open(s.ctx, s.part)
	if err != nil {
		return err
	}
	s.r.locally.Add(1)
	s.startOver()
	s.local, s.skip = st, s.delivered
	return nil
}

func (s *remoteStream) fromLocal(ctx context.Context) (arrow.Record, error) {
	for {
		rec, err := s.local.Next(ctx)
		if errors.Is(err, io.EOF) {
			s.r.noteRan(s.part, "coordinator", s.delivered)
			s.ended = true
		}
		if err != nil {
			return nil, err
		}
		if rec = s.skipped(rec); rec != nil {
			s.delivered += rec.NumRows()
			return rec, nil
		}
	}
}

func (s *remoteStream) endAttempt(a *attempt) {
	if a == nil {
		return
	}
	a.w.untrack(a)
	a.cancel()
	if a.rdr != nil {
		a.rdr.Release()
		a.rdr = nil
	}
}

func (s *remoteStream) Close() {
	if !s.ended {
		s.r.abandoned()
	}
	exec.ReleaseRecords(s.held)
	s.held = nil
	s.endAttempt(s.cur)
	s.cur = nil
	if s.local != nil {
		s.local.Close()
		s.local = nil
	}
	s.cancel()
}

// next reads the attempt's next batch (the caller owns it).
func (a *attempt) next() (arrow.Record, error) {
	if a.rdr.Next() {
		rec := a.rdr.Record()
		rec.Retain()
		return rec, nil
	}
	if err := a.rdr.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// errorDetail is the SQL error a worker sent, nil for a transport error.
func errorDetail(err error) *clusterpb.Error {
	st, ok := status.FromError(err)
	if !ok {
		var se interface{ GRPCStatus() *status.Status }
		if !errors.As(err, &se) {
			return nil
		}
		st = se.GRPCStatus()
	}
	for _, d := range st.Details() {
		if e, ok := d.(*clusterpb.Error); ok {
			return e
		}
	}
	return nil
}

// recordBytes is the size of a batch's buffers (what crossed the wire,
// near enough: IPC adds only metadata and padding).
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}
