package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/storage"
)

// Wasm modules travel to workers by sha256 (cluster/modules.go,
// docs/cluster.md "Wasm modules"): the coordinator names the modules of
// the functions a statement calls in its fragments and sends each
// worker process the ones it lacks, once; a worker keeps them in memory
// and reads them when its data directory has no such module file,
// compiling them through its compile cache as it opens the catalog.

// errModuleNotHere: a worker has a function's module neither in the
// data directory nor from its coordinator (yet).
var errModuleNotHere = errors.New("module not on this worker")

// readModule is a stored function's module: from the data directory,
// or on a worker from what its coordinator sent.
func (db *DB) readModule(f storage.Function) ([]byte, error) {
	code, err := db.store.ReadModule(f.Module, f.Name)
	if err == nil || db.opts.ShippedModule == nil {
		return code, err
	}
	if code, ok := db.opts.ShippedModule(f.Module); ok {
		return code, nil
	}
	return nil, errModuleNotHere
}

// notLoadable is a stored function whose module did not compile or
// define. Opening the database fails with it, except on a worker: there
// the function is left undefined and the module noted, so that only the
// fragments calling it are refused, naming why (unloadableModule),
// instead of every fragment failing to open the catalog.
func (db *DB) notLoadable(f storage.Function, err error) error {
	err = fmt.Errorf("function %s: %w", f.Name, err)
	if db.opts.ShippedModule == nil {
		return err
	}
	if db.unloadable == nil {
		db.unloadable = map[string]string{}
	}
	db.unloadable[f.Module] = err.Error()
	return nil
}

// unloadableModule refuses a fragment calling a module the worker could
// not compile: the coordinator, which compiled it, runs the partition.
func (db *DB) unloadableModule(hashes []string) error {
	for _, h := range hashes {
		if why, ok := db.unloadable[h]; ok {
			return &cluster.ReplanError{Reason: fmt.Sprintf("the worker cannot load wasm module %.12s…: %s", h, why)}
		}
	}
	return nil
}

// shippedModules are the modules a worker's coordinator sent.
type shippedModules struct {
	mu   sync.Mutex
	code map[string][]byte
	// sound are module files of the data directory found to hash to
	// their names (moduleFileSound)
	sound map[string]bool
}

func (m *shippedModules) get(hash string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	code, ok := m.code[hash]
	return code, ok
}

// MissingModules lists those of hashes the worker has neither from its
// coordinator nor as a file of the data directory (cluster.ModuleHolder).
func (fr *FragmentRunner) MissingModules(hashes []string) []string {
	var out []string
	for _, h := range hashes {
		if _, ok := fr.modules.get(h); ok {
			continue
		}
		if fr.moduleFileSound(h) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// moduleFileSound reports whether the data directory holds module h
// with the bytes its name promises. A damaged file counts as missing, so
// that the coordinator sends the module (readModule prefers what was
// sent to a file that fails its check). A sound file is checked once per
// worker process: files are named by their content and never rewritten.
func (fr *FragmentRunner) moduleFileSound(h string) bool {
	fr.modules.mu.Lock()
	sound := fr.modules.sound[h]
	fr.modules.mu.Unlock()
	if sound {
		return true
	}
	code, err := os.ReadFile(filepath.Join(fr.opts.DataDir, "modules", filepath.Base(h)+".wasm"))
	if err != nil || cluster.CheckModule(h, code) != nil {
		return false
	}
	fr.modules.mu.Lock()
	if fr.modules.sound == nil {
		fr.modules.sound = map[string]bool{}
	}
	fr.modules.sound[h] = true
	fr.modules.mu.Unlock()
	return true
}

// AddModule keeps a module the coordinator sent (its hash checked) and
// makes the next fragment open the catalog again: the functions it
// holds were left undefined by an open without it.
func (fr *FragmentRunner) AddModule(hash string, code []byte) error {
	fr.modules.mu.Lock()
	if fr.modules.code == nil {
		fr.modules.code = map[string][]byte{}
	}
	fr.modules.code[hash] = code
	fr.modules.mu.Unlock()
	if fr.opts.UDF.Log != nil {
		fmt.Fprintf(fr.opts.UDF.Log, "weft worker: received module %s (%d bytes)\n", hash, len(code))
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.cur != nil {
		fr.cur.old = true
		if fr.cur.users == 0 {
			fr.cur.db.Close()
		}
		fr.cur = nil
	}
	return nil
}

// needModules refuses a fragment whose modules the worker lacks: the
// coordinator runs its partition itself.
func (fr *FragmentRunner) needModules(hashes []string) error {
	if missing := fr.MissingModules(hashes); len(missing) > 0 {
		return &cluster.ReplanError{Reason: fmt.Sprintf("the worker lacks wasm module %.12s… (it was not shipped)", missing[0])}
	}
	return nil
}

var _ cluster.ModuleHolder = (*FragmentRunner)(nil)

// shipModules sends the live workers the modules of the wasm functions
// plan p calls, and returns their hashes for the fragments. A worker
// that could not get them refuses those fragments (its partitions run
// here); why is logged.
func (s *Session) shipModules(reg *cluster.Registry, p logical.Plan) []string {
	hashes := s.db.modulesCalled(p)
	if len(hashes) == 0 {
		return nil
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if why := reg.ShipModules(ctx, hashes, s.db.moduleCode); why != "" && s.db.opts.UDF.Log != nil {
		fmt.Fprintf(s.db.opts.UDF.Log, "weft: shipping wasm modules: %s (those partitions run here)\n", why)
	}
	return hashes
}

// modulesCalled are the sha256 of the modules of the wasm functions p
// calls: every function of a called name (a worker must resolve the
// same overload the coordinator did, so it needs them all).
func (db *DB) modulesCalled(p logical.Plan) []string {
	names := map[string]bool{}
	set := map[string]bool{}
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		switch n := p.(type) {
		case *logical.TableFunc:
			if n.Call != nil && n.Call.F.Module != nil {
				set[n.Call.F.Module.Hash] = true
			}
		case *logical.Aggregate:
			for _, a := range n.Aggs {
				names[a.Name] = true
			}
		case *logical.Window:
			for _, w := range n.Funcs {
				names[w.Name] = true
			}
		}
		for _, e := range planExprs(p) {
			logical.Walk(e, func(x logical.Expr) bool {
				if c, ok := x.(*logical.Call); ok {
					names[c.Name] = true
				}
				return true
			})
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(p)
	for _, f := range db.cat.Functions() {
		if f.UDF.Module != nil && names[f.UDF.Name] {
			set[f.UDF.Module.Hash] = true
		}
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// moduleCode is a module's bytes by sha256 (cluster.ModuleSource).
func (db *DB) moduleCode(hash string) ([]byte, bool) {
	for _, f := range db.cat.Functions() {
		if m := f.UDF.Module; m != nil && m.Hash == hash {
			return m.Original, true
		}
	}
	return nil, false
}
