package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/storage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestClusterWorkerSecret (real worker processes): a worker holding
// another cluster secret is refused, as a worker named at start (state
// refused, the reason naming the secret) and by CALL weft.add_worker
// (28000), and the coordinator answers every query itself; a worker
// reading the coordinator's secret runs the fragments; a Flight client
// without the secret cannot run a fragment that the same client runs
// with it.
func TestClusterWorkerSecret(t *testing.T) {
	want := postgresAnswers(t)
	dir := t.TempDir()
	otherSecret := filepath.Join(t.TempDir(), "other_secret")
	if err := os.WriteFile(otherSecret, []byte("not the coordinator's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := startWorker(t, dir, "--cluster-secret-file", otherSecret)
	// started before the coordinator made its secret: reads it when asked
	good := startWorker(t, dir)

	s := openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: time.Second,
		Workers: []string{wrong.addr}})
	if _, err := os.Stat(filepath.Join(dir, cluster.SecretFileName)); err != nil {
		t.Fatalf("the coordinator made no secret in its data directory: %v", err)
	}
	state := rows(t, s, "SELECT state, reason LIKE '%cluster secret%' FROM weft.workers")
	sameRows(t, "worker with another secret, named at start", state, []string{"refused|t"})
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	checkAnswers(t, s, "no worker accepts the secret", want)
	if got := fragmentsRun(t, s); got != "0" {
		t.Errorf("a refused worker ran %s fragments", got)
	}
	if plan := explainText(t, s, clusterQueries[2]); !strings.Contains(plan, "Not distributed: no worker is up") {
		t.Errorf("with the only worker refused the query should stay here:\n%s", plan)
	}

	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", wrong.addr))
	_, err := s.Exec(context.Background(), fmt.Sprintf("CALL weft.add_worker('%s')", wrong.addr))
	if stateOf(err) != sqlerr.InvalidAuthorization || !strings.Contains(fmt.Sprint(err), "cluster secret") {
		t.Errorf("add_worker of a worker with another secret: %v (%s), want 28000 naming the cluster secret", err, stateOf(err))
	}

	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", good.addr))
	waitWorkersUp(t, s, good)
	checkAnswers(t, s, "a worker with the coordinator's secret", want)
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+clusterQueries[2]), "\n")
	if !strings.Contains(plan, "local=0") || !strings.Contains(plan, good.addr) {
		t.Errorf("the worker with the secret should run every partition:\n%s", plan)
	}

	secret, err := cluster.ReadSecret(filepath.Join(dir, cluster.SecretFileName))
	if err != nil {
		t.Fatal(err)
	}
	rawFlightNeedsSecret(t, s, dir, good.addr, secret)
}

// rawFlightNeedsSecret asks a worker for a fragment reading every row of
// t as the superuser, as an intruder would: without the secret nothing
// but the health service answers; with it, the same ticket streams rows.
func rawFlightNeedsSecret(t *testing.T, s *engine.Session, dir, addr string, secret []byte) {
	t.Helper()
	const query = "SELECT a, b FROM t WHERE a % 97 = 3"
	wantRows := len(rows(t, s, query))
	mustExec(t, s, "CHECKPOINT")
	gen, err := storage.ReadGeneration(dir)
	if err != nil {
		t.Fatal(err)
	}
	frag := &clusterpb.Fragment{Protocol: cluster.ProtocolVersion, Sql: query, Generation: gen, User: "weft", BatchSize: 1024}

	anonymous, anonymousConn := flightClient(t, addr)
	insider, _ := flightClient(t, addr, cluster.WithSecret(secret))
	// the worker names its plan when the fingerprint is wrong: the
	// insider learns the right one from it
	_, err = fetchPartition(insider, frag)
	st := status.Convert(err)
	_, planText, ok := strings.Cut(st.Message(), "):\n")
	if !ok {
		t.Fatalf("a fragment with a wrong fingerprint: %v, want the worker's plan", err)
	}
	sum := sha256.Sum256([]byte(planText))
	frag.Fingerprint = hex.EncodeToString(sum[:])

	got := 0
	for p := range 4 {
		frag.Partition = uint32(p)
		n, err := fetchPartition(anonymous, frag)
		if status.Code(err) != codes.Unauthenticated || n != 0 {
			t.Errorf("DoGet of partition %d without the secret: %d rows, %v; want Unauthenticated", p, n, err)
		}
		n, err = fetchPartition(insider, frag)
		if err != nil {
			t.Fatalf("DoGet of partition %d with the secret: %v", p, err)
		}
		got += n
	}
	if got != wantRows {
		t.Errorf("with the secret the fragment streamed %d rows, want %d", got, wantRows)
	}
	stream, err := anonymous.DoAction(context.Background(), &flight.Action{Type: cluster.ActionHello})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("hello without the secret: %v, want Unauthenticated", err)
	}
	resp, err := healthpb.NewHealthClient(anonymousConn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without the secret: %v %v, want SERVING (it says nothing more)", resp, err)
	}
}

// flightClient connects to a worker with opts.
func flightClient(t *testing.T, addr string, opts ...grpc.DialOption) (flight.Client, *grpc.ClientConn) {
	t.Helper()
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return flight.NewClientFromConn(conn, nil), conn
}

// fetchPartition runs a fragment and counts its rows.
func fetchPartition(c flight.Client, f *clusterpb.Fragment) (int, error) {
	ticket, err := cluster.EncodeFragment(f)
	if err != nil {
		return 0, err
	}
	stream, err := c.DoGet(context.Background(), &flight.Ticket{Ticket: ticket})
	if err != nil {
		return 0, err
	}
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	n := 0
	for rdr.Next() {
		n += int(rdr.Record().NumRows())
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return n, err
	}
	return n, nil
}
