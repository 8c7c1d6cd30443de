package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// These tests run workers in the test process with a fake runner that
// serves a fixed table; engine/cluster_test.go runs real processes.

var testSchema = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

const (
	testParts   = 3
	testBatches = 5
	testRows    = 100
)

// partBatches are partition part's batches: values part*1e6 + row.
func partBatches(mem memory.Allocator, part int) []arrow.Record {
	return partBatchesOf(mem, part, testRows)
}

func partBatchesOf(mem memory.Allocator, part, rows int) []arrow.Record {
	var out []arrow.Record
	for b := range testBatches {
		bld := array.NewInt64Builder(mem)
		for i := range rows {
			bld.Append(int64(part*1_000_000 + b*rows + i))
		}
		col := bld.NewArray()
		bld.Release()
		out = append(out, array.NewRecord(testSchema, []arrow.Array{col}, int64(rows)))
		col.Release()
	}
	return out
}

// fakeRunner serves partBatches for any fragment whose fingerprint is
// want; stall makes it stop after that many batches until cancelled.
type fakeRunner struct {
	want    string
	rows    int  // per batch (default testRows)
	reverse bool // sends the batches last first
	stall   int
	stalled chan struct{}
	once    sync.Once
}

func (f *fakeRunner) Version() string { return "test-1" }
func (f *fakeRunner) DataDir() string { return "/nowhere" }

func (f *fakeRunner) RunFragment(ctx context.Context, frag *clusterpb.Fragment, mem memory.Allocator) (exec.Stream, *arrow.Schema, func(), error) {
	if frag.Fingerprint != f.want {
		return nil, nil, nil, &ReplanError{Reason: "fingerprint differs"}
	}
	if frag.Sql == "fail" {
		return nil, nil, nil, sqlerr.New(sqlerr.DivisionByZero, "division by zero")
	}
	rows := f.rows
	if rows == 0 {
		rows = testRows
	}
	recs := partBatchesOf(mem, int(frag.Partition), rows)
	if f.reverse {
		slices.Reverse(recs)
	}
	return &sliceStream{recs: recs, stall: f.stall, stalled: func() { f.once.Do(func() { close(f.stalled) }) }}, testSchema, func() {}, nil
}

type sliceStream struct {
	recs    []arrow.Record
	i       int
	stall   int
	stalled func()
}

func (s *sliceStream) Next(ctx context.Context) (arrow.Record, error) {
	if s.stall > 0 && s.i == s.stall {
		s.stalled()
		s.stall = 0
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.i >= len(s.recs) {
		return nil, io.EOF
	}
	r := s.recs[s.i]
	s.recs[s.i] = nil
	s.i++
	return r, nil
}

func (s *sliceStream) Close() {
	for _, r := range s.recs[s.i:] {
		if r != nil {
			r.Release()
		}
	}
	s.i = len(s.recs)
}

// serve starts a worker on a loopback port.
func serve(t *testing.T, runner FragmentRunner, version string) (*Worker, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(runner, WorkerOptions{Version: version})
	go w.Serve(lis)
	t.Cleanup(w.Stop)
	return w, lis.Addr().String()
}

// scanPlan is the coordinator's plan: a scan of the same table.
func scanPlan(mem memory.Allocator) (*exec.Scan, func()) {
	parts := make([][]arrow.Record, testParts)
	for p := range parts {
		parts[p] = partBatches(mem, p)
	}
	return &exec.Scan{Name: "t", Parts: parts, Columns: []int{0}, Out: testSchema}, func() {
		for _, ps := range parts {
			for _, r := range ps {
				r.Release()
			}
		}
	}
}

// drain reads every partition of op in turn.
func drain(t *testing.T, op exec.Operator) ([]int64, error) {
	t.Helper()
	var out []int64
	for p := range op.Partitions() {
		st, err := op.Open(context.Background(), p)
		if err != nil {
			return nil, err
		}
		for {
			rec, err := st.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				st.Close()
				return out, err
			}
			out = append(out, rec.Column(0).(*array.Int64).Int64Values()...)
			rec.Release()
		}
		st.Close()
	}
	return out, nil
}

func wantValues() []int64 {
	var out []int64
	for p := range testParts {
		for i := range testBatches * testRows {
			out = append(out, int64(p*1_000_000+i))
		}
	}
	return out
}

func sameValues(t *testing.T, got []int64) {
	t.Helper()
	want := wantValues()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d is %d, want %d", i, got[i], want[i])
		}
	}
}

// distributed builds the scan plan and hands it to reg's workers.
func distributed(t *testing.T, reg *Registry, mem memory.Allocator, sql string) (*Remote, func()) {
	t.Helper()
	scan, release := scanPlan(mem)
	root, why := reg.Distribute(scan, &clusterpb.Fragment{Sql: sql}, mem, func(*exec.Scan) string { return "" }, Limits{BroadcastRows: BroadcastRows})
	r, ok := root.(*Remote)
	if !ok {
		release()
		t.Fatalf("the scan was not distributed: %s", why)
	}
	return r, release
}

func TestRemoteStreamsPartitions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	scan, release := scanPlan(mem)
	fp := Fingerprint(scan)
	release()
	_, a := serve(t, &fakeRunner{want: fp}, "")
	_, b := serve(t, &fakeRunner{want: fp}, "")
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second})
	defer reg.Close()
	for _, addr := range []string{a, b} {
		if err := reg.Add(context.Background(), addr, false); err != nil {
			t.Fatal(err)
		}
	}
	r, release := distributed(t, reg, mem, "q")
	defer release()
	got, err := drain(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, got)
	if want := fmt.Sprintf("0@%s 1@%s 2@%s", a, b, a); !strings.Contains(r.Explain(), want) {
		t.Errorf("Explain %q does not place the partitions as %q", r.Explain(), want)
	}
	// a SQL error of the worker keeps its SQLSTATE
	r2, release2 := distributed(t, reg, mem, "fail")
	defer release2()
	if _, err := drain(t, r2); sqlerr.Code(err) != sqlerr.DivisionByZero {
		t.Errorf("worker's SQL error arrived as %v (%s), want 22012", err, sqlerr.Code(err))
	}
}

// TestRemoteRerunsLostPartition: a worker that goes away in the middle
// of a partition; the partition continues from another worker with no
// row twice or missing, and the coordinator leaks nothing.
func TestRemoteRerunsLostPartition(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	scan, release := scanPlan(mem)
	fp := Fingerprint(scan)
	release()
	stalled := make(chan struct{})
	dying, a := serve(t, &fakeRunner{want: fp, stall: 2, stalled: stalled}, "")
	_, b := serve(t, &fakeRunner{want: fp}, "")
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second})
	defer reg.Close()
	for _, addr := range []string{a, b} {
		if err := reg.Add(context.Background(), addr, false); err != nil {
			t.Fatal(err)
		}
	}
	r, release := distributed(t, reg, mem, "q")
	defer release()
	go func() {
		<-stalled
		dying.Stop()
	}()
	got, err := drain(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, got)
	if r.retries.Load() == 0 {
		t.Error("no partition was rerun")
	}
	// with the other worker gone too, a partition has nowhere to go
	r2, release2 := distributed(t, reg, mem, "q")
	defer release2()
	reg.Remove(b)
	if _, err := drain(t, r2); sqlerr.Code(err) != sqlerr.ConnectionFailure {
		t.Errorf("no worker left: %v (%s), want 08006", err, sqlerr.Code(err))
	}
}

// TestRemoteRunsHereWhenWorkerCannotReplan: a worker whose plan differs
// hands the partitions back to the coordinator.
func TestRemoteRunsHereWhenWorkerCannotReplan(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, a := serve(t, &fakeRunner{want: "another plan"}, "")
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second})
	defer reg.Close()
	if err := reg.Add(context.Background(), a, false); err != nil {
		t.Fatal(err)
	}
	r, release := distributed(t, reg, mem, "q")
	defer release()
	got, err := drain(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, got)
	if r.locally.Load() != testParts {
		t.Errorf("%d partitions ran here, want %d", r.locally.Load(), testParts)
	}
}

func TestWorkerRefusesBadInput(t *testing.T) {
	_, addr := serve(t, &fakeRunner{}, "")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := flight.NewClientFromConn(conn, nil)
	wrongProtocol, _ := EncodeFragment(&clusterpb.Fragment{Protocol: ProtocolVersion + 1})
	for name, ticket := range map[string][]byte{"garbage": []byte("\xff\xff\xff not a fragment"), "other protocol": wrongProtocol} {
		stream, err := client.DoGet(context.Background(), &flight.Ticket{Ticket: ticket})
		if err == nil {
			_, err = stream.Recv()
		}
		d := errorDetail(err)
		if d == nil || d.Sqlstate != sqlerr.ProtocolViolation {
			t.Errorf("%s ticket: %v, want a 08P01 error", name, err)
		}
	}
	reg := NewRegistry(RegistryOptions{Version: "test-2", Timeout: time.Second})
	defer reg.Close()
	if err := reg.Add(context.Background(), addr, false); sqlerr.Code(err) != sqlerr.ProtocolViolation {
		t.Errorf("a worker of another version: %v, want 08P01", err)
	}
	if err := reg.Add(context.Background(), "127.0.0.1:1", false); sqlerr.Code(err) != sqlerr.SQLClientUnableToEstablishConnection {
		t.Errorf("an address nobody answers: %v, want 08001", err)
	}
	if n := len(reg.Workers()); n != 0 {
		t.Errorf("%d refused workers stayed registered", n)
	}
}

// BenchmarkFlightThroughput streams partitions of int64 batches from a
// worker over loopback Flight: MB/s is the exchange's raw throughput
// (make bench-cluster).
func BenchmarkFlightThroughput(b *testing.B) {
	mem := memory.NewGoAllocator()
	scan, release := scanPlan(mem)
	defer release()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	const rows = 8192
	w := NewWorker(&fakeRunner{want: Fingerprint(scan), rows: rows}, WorkerOptions{})
	go w.Serve(lis)
	defer w.Stop()
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: 5 * time.Second})
	defer reg.Close()
	if err := reg.Add(context.Background(), lis.Addr().String(), false); err != nil {
		b.Fatal(err)
	}
	root, why := reg.Distribute(scan, &clusterpb.Fragment{Sql: "q"}, mem, func(*exec.Scan) string { return "" }, Limits{BroadcastRows: BroadcastRows})
	r, ok := root.(*Remote)
	if !ok {
		b.Fatal(why)
	}
	b.SetBytes(testParts * testBatches * rows * 8)
	for b.Loop() {
		for p := range testParts {
			st, err := r.Open(context.Background(), p)
			if err != nil {
				b.Fatal(err)
			}
			for {
				rec, err := st.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
			st.Close()
		}
	}
}

// TestWholeRemoteStartsOver: a Whole partition whose worker is lost
// after sending part of it is taken again whole from another worker that
// sends its rows in another order: no row twice or missing.
func TestWholeRemoteStartsOver(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	scan, release := scanPlan(mem)
	fp := Fingerprint(scan)
	release()
	stalled := make(chan struct{})
	dying, a := serve(t, &fakeRunner{want: fp, stall: 2, stalled: stalled}, "")
	_, b := serve(t, &fakeRunner{want: fp, reverse: true}, "")
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second})
	defer reg.Close()
	for _, addr := range []string{a, b} {
		if err := reg.Add(context.Background(), addr, false); err != nil {
			t.Fatal(err)
		}
	}
	r, release := distributed(t, reg, mem, "q")
	defer release()
	r.Whole = true
	go func() {
		<-stalled
		for r.rows.Load() < 2*testRows { // the first two batches have come
			time.Sleep(time.Millisecond)
		}
		dying.Stop()
	}()
	got, err := drain(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if r.retries.Load() == 0 {
		t.Error("no partition was rerun")
	}
	slices.Sort(got)
	sameValues(t, got)
}
