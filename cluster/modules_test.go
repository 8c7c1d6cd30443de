package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/sql/sqlerr"
)

// moduleRunner is a fake runner that keeps the modules it is sent.
type moduleRunner struct {
	fakeRunner
	mu    sync.Mutex
	has   map[string][]byte
	added int
}

func (m *moduleRunner) MissingModules(hashes []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, h := range hashes {
		if m.has[h] == nil {
			out = append(out, h)
		}
	}
	return out
}

func (m *moduleRunner) AddModule(hash string, code []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.has[hash] = code
	m.added++
	return nil
}

func hashOf(code []byte) string {
	sum := sha256.Sum256(code)
	return hex.EncodeToString(sum[:])
}

// TestShipModules: a module a worker lacks is sent once per worker
// process, checked against its hash; a hash nobody has and bytes that
// do not match their hash are clear errors.
func TestShipModules(t *testing.T) {
	runner := &moduleRunner{has: map[string][]byte{}}
	_, addr := serve(t, runner, "test-1")
	reg := NewRegistry(RegistryOptions{Version: "test-1", Timeout: time.Second})
	defer reg.Close()
	if err := reg.Add(context.Background(), addr, false); err != nil {
		t.Fatal(err)
	}
	code := []byte("\x00asm pretend module")
	hash := hashOf(code)
	source := func(h string) ([]byte, bool) {
		if h == hash {
			return code, true
		}
		return nil, false
	}
	for range 3 {
		if why := reg.ShipModules(context.Background(), []string{hash}, source); why != "" {
			t.Fatalf("shipping: %s", why)
		}
	}
	runner.mu.Lock()
	added, kept := runner.added, runner.has[hash]
	runner.mu.Unlock()
	if added != 1 || string(kept) != string(code) {
		t.Fatalf("the module was added %d times (want once) with %q", added, kept)
	}

	unknown := hashOf([]byte("nobody has this"))
	if why := reg.ShipModules(context.Background(), []string{unknown}, source); !strings.Contains(why, "not on the coordinator") || !strings.Contains(why, addr) {
		t.Errorf("a hash nobody has: %q, want the worker and the missing module named", why)
	}

	// bytes that are not what the hash says are refused by the worker
	w := reg.live()[0]
	err := reg.action(context.Background(), w, ActionModule, &clusterpb.Module{Sha256: unknown, Code: code}, &clusterpb.ModuleList{})
	if d := errorDetail(err); d == nil || d.Sqlstate != sqlerr.DataCorrupted {
		t.Errorf("a module that does not match its hash: %v, want XX001", err)
	}
	if len(runner.MissingModules([]string{unknown})) != 1 {
		t.Errorf("the worker kept a module that failed its check")
	}
	// an undecodable body is a protocol violation
	stream, err := w.client.DoAction(context.Background(), &flight.Action{Type: ActionModule, Body: []byte{0xff, 0xff}})
	if err == nil {
		_, err = stream.Recv()
	}
	if d := errorDetail(err); d == nil || d.Sqlstate != sqlerr.ProtocolViolation {
		t.Errorf("an undecodable module action: %v, want 08P01", err)
	}
}
