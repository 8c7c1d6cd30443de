package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/protobuf/proto"
)

// Wasm modules travel by content hash (docs/cluster.md "Wasm modules").
// A fragment names the sha256 of the modules its statement's functions
// live in (Fragment.modules). Before the coordinator sends fragments it
// asks each live worker which of them it lacks ("modules_missing") and
// sends each missing module once ("module"); the worker checks the bytes
// against the hash, keeps them and compiles them through its compile
// cache when it opens the catalog. What a worker process has is
// remembered per process (address and pid), so a module crosses once
// per worker process. A worker still without a module (it could not be
// sent, or the worker restarted meanwhile) refuses the fragment as a
// replan: the coordinator runs that partition itself.

// The module actions a worker answers (DoAction).
const (
	// ActionModulesMissing: body ModuleList (the hashes a fragment
	// needs), answer ModuleList (those the worker lacks).
	ActionModulesMissing = "modules_missing"
	// ActionModule: body Module; the worker keeps it once it checks.
	ActionModule = "module"
)

// ModuleHolder is a FragmentRunner that takes modules from its
// coordinator: its worker answers the module actions from it.
type ModuleHolder interface {
	// MissingModules lists those of hashes the worker has nowhere.
	MissingModules(hashes []string) []string
	// AddModule keeps code, which hashes to sha256 (checked already).
	AddModule(sha256 string, code []byte) error
}

// CheckModule reports whether code is what sha256 names.
func CheckModule(hash string, code []byte) error {
	sum := sha256.Sum256(code)
	if got := hex.EncodeToString(sum[:]); got != strings.ToLower(hash) {
		return sqlerr.New(sqlerr.DataCorrupted, "module sent as %.12s… hashes to %.12s…: refused", hash, got)
	}
	return nil
}

// moduleAction answers the module actions on a worker.
func (w *Worker) moduleAction(a *flight.Action, fs flight.FlightService_DoActionServer) error {
	holder, ok := w.runner.(ModuleHolder)
	if !ok {
		return statusOf(sqlerr.New(sqlerr.FeatureNotSupported, "this worker takes no modules"))
	}
	var answer proto.Message
	switch a.GetType() {
	case ActionModulesMissing:
		var want clusterpb.ModuleList
		if err := proto.Unmarshal(a.GetBody(), &want); err != nil {
			return statusOf(sqlerr.New(sqlerr.ProtocolViolation, "modules_missing does not decode: %v", err))
		}
		answer = &clusterpb.ModuleList{Sha256: holder.MissingModules(want.Sha256)}
	case ActionModule:
		var m clusterpb.Module
		if err := proto.Unmarshal(a.GetBody(), &m); err != nil {
			return statusOf(sqlerr.New(sqlerr.ProtocolViolation, "module does not decode: %v", err))
		}
		if err := CheckModule(m.Sha256, m.Code); err != nil {
			return statusOf(err)
		}
		if err := holder.AddModule(strings.ToLower(m.Sha256), m.Code); err != nil {
			return statusOf(err)
		}
		answer = &clusterpb.ModuleList{Sha256: []string{m.Sha256}}
	}
	body, err := proto.Marshal(answer)
	if err != nil {
		return err
	}
	return fs.Send(&flight.Result{Body: body})
}

// shippedModules remembers which modules each worker process has.
type shippedModules struct {
	mu  sync.Mutex
	has map[string]map[string]bool // by "address pid"
}

func (s *shippedModules) known(proc string, hashes []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		if !s.has[proc][h] {
			return false
		}
	}
	return true
}

func (s *shippedModules) note(proc string, hashes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.has == nil {
		s.has = map[string]map[string]bool{}
	}
	if s.has[proc] == nil {
		s.has[proc] = map[string]bool{}
	}
	for _, h := range hashes {
		s.has[proc][h] = true
	}
}

// ModuleSource gives the bytes of a module by its sha256.
type ModuleSource func(sha256 string) ([]byte, bool)

// ShipModules makes sure every live worker has the modules hashes
// names, sending those it lacks. It returns why a worker could not get
// them ("" when all could): such a worker refuses the fragments that
// need them, and the coordinator runs those partitions itself.
func (r *Registry) ShipModules(ctx context.Context, hashes []string, source ModuleSource) string {
	if len(hashes) == 0 {
		return ""
	}
	hashes = append([]string(nil), hashes...)
	sort.Strings(hashes)
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for _, w := range r.live() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.shipTo(ctx, w, hashes, source); err != nil {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("worker %s: %v", w.addr, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(problems)
	return strings.Join(problems, "; ")
}

// shipTo sends one worker the modules it lacks.
func (r *Registry) shipTo(ctx context.Context, w *workerConn, hashes []string, source ModuleSource) error {
	w.mu.Lock()
	proc := fmt.Sprintf("%s %d", w.addr, w.pid)
	w.mu.Unlock()
	if r.shipped.known(proc, hashes) {
		return nil
	}
	var missing clusterpb.ModuleList
	if err := r.action(ctx, w, ActionModulesMissing, &clusterpb.ModuleList{Sha256: hashes}, &missing); err != nil {
		return fmt.Errorf("asking which modules it lacks: %w", err)
	}
	for _, h := range missing.Sha256 {
		code, ok := source(h)
		if !ok {
			return fmt.Errorf("module %.12s… is not on the coordinator either", h)
		}
		if err := r.action(ctx, w, ActionModule, &clusterpb.Module{Sha256: h, Code: code}, &clusterpb.ModuleList{}); err != nil {
			return fmt.Errorf("sending module %.12s…: %w", h, err)
		}
	}
	r.shipped.note(proc, hashes)
	return nil
}
