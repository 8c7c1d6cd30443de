package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// serveWithSecret starts a worker that checks source's secret.
func serveWithSecret(t *testing.T, runner FragmentRunner, source SecretSource) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorker(runner, WorkerOptions{Secret: source})
	go w.Serve(lis)
	t.Cleanup(w.Stop)
	return lis.Addr().String()
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), SecretFileName)
	if _, err := ReadSecret(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading a missing secret: %v, want not-exist", err)
	}
	// coordinators racing to make it all end with the same one
	secrets := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := LoadOrCreateSecret(path)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		}()
	}
	wg.Wait()
	for _, s := range secrets[1:] {
		if string(s) != string(secrets[0]) {
			t.Fatalf("racing makers got different secrets: %q and %q", s, secrets[0])
		}
	}
	if len(secrets[0]) != 2*secretBytes {
		t.Errorf("secret %q is not %d hex digits", secrets[0], 2*secretBytes)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the secret file's mode is %v, want 0600", fi.Mode().Perm())
	}
	again, err := ReadSecret(path)
	if err != nil || string(again) != string(secrets[0]) {
		t.Errorf("read back %q (%v), want %q", again, err, secrets[0])
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".cluster_secret-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	if _, err := ReadSecret(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty secret file: %v, want an error saying so", err)
	}
}

// TestWorkerChecksSecret: a coordinator with the worker's secret uses
// it; one with another secret, or none, is refused with 28000 naming
// the secret; a raw client without it cannot run a fragment, but can
// ask the health service.
func TestWorkerChecksSecret(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	scan, release := scanPlan(mem)
	fp := Fingerprint(scan)
	release()
	secret := []byte("the right secret")
	addr := serveWithSecret(t, &fakeRunner{want: fp}, func() ([]byte, error) { return secret, nil })

	for name, wrong := range map[string][]byte{"another secret": []byte("the wrong secret"), "no secret": nil} {
		reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second, Secret: wrong})
		err := reg.Add(context.Background(), addr, false)
		if stateOf(err) != sqlerr.InvalidAuthorization || !strings.Contains(fmt.Sprint(err), "cluster secret") {
			t.Errorf("%s: %v (%s), want 28000 naming the cluster secret", name, err, stateOf(err))
		}
		// kept registered (as weft serve --workers does): refused, with why
		if err := reg.Add(context.Background(), addr, true); stateOf(err) != sqlerr.InvalidAuthorization {
			t.Errorf("%s, kept: %v", name, err)
		}
		if ws := reg.Workers(); len(ws) != 1 || ws[0].State != StateRefused || !strings.Contains(ws[0].Reason, "cluster secret") {
			t.Errorf("%s: workers %+v, want one refused for its secret", name, ws)
		}
		if reg.Live() != 0 {
			t.Errorf("%s: a refused worker counts as live", name)
		}
		reg.Close()
	}

	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second, Secret: secret})
	defer reg.Close()
	if err := reg.Add(context.Background(), addr, false); err != nil {
		t.Fatalf("the right secret: %v", err)
	}
	r, releasePlan := distributed(t, reg, mem, "q")
	defer releasePlan()
	got, err := drain(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, got)
	if r.locally.Load() != 0 {
		t.Errorf("%d partitions ran here, want all on the worker", r.locally.Load())
	}

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ticket, _ := EncodeFragment(r.Fragment)
	stream, err := flight.NewClientFromConn(conn, nil).DoGet(context.Background(), &flight.Ticket{Ticket: ticket})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("DoGet without the secret: %v, want Unauthenticated", err)
	}
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without the secret: %v %v, want SERVING", resp, err)
	}
}

// TestWorkerWithoutSecretFileRefusesAll: a worker whose secret file is
// not there yet answers nobody, then everybody with the secret once the
// coordinator made it.
func TestWorkerWithoutSecretFileRefusesAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), SecretFileName)
	addr := serveWithSecret(t, &fakeRunner{}, SecretFile(path))
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second, Secret: []byte("anything")})
	defer reg.Close()
	err := reg.Add(context.Background(), addr, false)
	if stateOf(err) != sqlerr.InvalidAuthorization || !strings.Contains(fmt.Sprint(err), "no cluster secret") {
		t.Errorf("a worker without its secret file: %v, want 28000 saying it has no secret", err)
	}
	secret, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	reg2 := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second, Secret: secret})
	defer reg2.Close()
	if err := reg2.Add(context.Background(), addr, false); err != nil {
		t.Errorf("once the secret file exists: %v", err)
	}
}

// stateOf is err's SQLSTATE, "" for no error.
func stateOf(err error) string {
	if err == nil {
		return ""
	}
	return sqlerr.Code(err)
}
