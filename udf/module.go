package udf

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/weftdb/weft/sql/sqlerr"
)

// ABIVersion is the batch ABI version this host implements.
const ABIVersion = 1

// Module is one loaded wasm module, identified by the sha256 of the bytes
// the user supplied.
type Module struct {
	Hash     string
	Size     int
	Original []byte
	// Manifest lists the batch functions the module declares (empty for a
	// module of plain functions only).
	Manifest []ManifestEntry
	// Exports maps export names to their core signatures.
	Exports map[string]api.FunctionDefinition

	code   []byte // instrumented
	engine *Engine

	mu       sync.Mutex
	compiled map[uint32]wazero.CompiledModule
	pools    map[poolKey]*pool
}

// poolKey separates instances by memory cap and by whether the guest may
// read the real clock and randomness (volatile functions only).
type poolKey struct {
	pages    uint32
	volatile bool
}

// compiledFor compiles the module for a runtime (memory limit), once.
func (m *Module) compiledFor(ctx context.Context, limit uint64) (wazero.Runtime, wazero.CompiledModule, uint32, error) {
	r, pages, err := m.engine.runtime(limit)
	if err != nil {
		return nil, nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cm, ok := m.compiled[pages]; ok {
		return r, cm, pages, nil
	}
	cm, err := r.CompileModule(ctx, m.code)
	if err != nil {
		return nil, nil, 0, sqlerr.New(sqlerr.InvalidParameter, "invalid wasm module: %v", err)
	}
	m.compiled[pages] = cm
	return r, cm, pages, nil
}

// inspect compiles the module, records its exports and reads its manifest.
func (m *Module) inspect(ctx context.Context) error {
	_, cm, _, err := m.compiledFor(ctx, m.engine.cfg.MaxMemory)
	if err != nil {
		return err
	}
	m.Exports = cm.ExportedFunctions()
	if _, ok := m.Exports["weft_manifest"]; !ok {
		return nil
	}
	inst, err := m.newInstance(ctx, m.engine.cfg.MaxMemory, "manifest", false)
	if err != nil {
		return err
	}
	defer inst.close()
	if f := inst.mod.ExportedFunction("weft_abi_version"); f != nil {
		res, err := f.Call(ctx)
		if err != nil {
			return sqlerr.New(sqlerr.ExternalRoutine, "weft_abi_version failed: %v", err)
		}
		if v := uint32(res[0]); v != ABIVersion {
			return sqlerr.New(sqlerr.FeatureNotSupported, "module speaks Weft UDF ABI version %d; this server implements version %d", v, ABIVersion)
		}
	} else {
		return sqlerr.New(sqlerr.InvalidParameter, "module exports weft_manifest but not weft_abi_version")
	}
	text, err := inst.callForText(ctx, "weft_manifest")
	if err != nil {
		return err
	}
	entries, err := parseManifest(text)
	if err != nil {
		return sqlerr.New(sqlerr.InvalidParameter, "invalid module manifest: %v", err)
	}
	needs := map[string]bool{}
	for _, e := range entries {
		needs["weft_alloc"] = true
		switch e.Kind {
		case "aggregate":
			for _, x := range []string{"weft_agg_create", "weft_agg_update", "weft_agg_state", "weft_agg_merge", "weft_agg_finish"} {
				needs[x] = true
			}
		case "table":
			for _, x := range []string{"weft_table_create", "weft_table_push", "weft_table_pull"} {
				needs[x] = true
			}
		default:
			needs["weft_call"] = true
		}
	}
	for need := range needs {
		if _, ok := m.Exports[need]; !ok {
			return sqlerr.New(sqlerr.InvalidParameter, "module declares functions that need the export %s, which it lacks", need)
		}
	}
	m.Manifest = entries
	return nil
}

// Entry finds a manifest entry by function name.
func (m *Module) Entry(name string) (int, *ManifestEntry) {
	for i := range m.Manifest {
		if m.Manifest[i].Name == name {
			return i, &m.Manifest[i]
		}
	}
	return -1, nil
}

// instance is one instantiation of a module.
type instance struct {
	mod       api.Module
	stop      api.MutableGlobal
	log       *logWriter
	fns       map[string]api.Function
	arena     uint32
	arenaSize uint32
	pages     uint32
	scope     uint64 // the scope that made it (see scope.go)
}

func (m *Module) newInstance(ctx context.Context, limit uint64, tag string, volatile bool) (*instance, error) {
	r, cm, pages, err := m.compiledFor(ctx, limit)
	if err != nil {
		return nil, err
	}
	lw := &logWriter{w: m.engine.cfg.Log, tag: tag}
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().WithStdout(lw).WithStderr(lw)
	if volatile {
		// Deterministic functions see wazero's fixed clock and seeded
		// randomness; volatile ones get the real ones.
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
	}
	mod, err := r.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return nil, classifyInstantiate(err, tag)
	}
	inst := &instance{mod: mod, log: lw, fns: map[string]api.Function{}, pages: pages}
	g, ok := mod.ExportedGlobal(StopGlobal).(api.MutableGlobal)
	if !ok {
		mod.Close(ctx)
		return nil, sqlerr.New(sqlerr.Internal, "instrumented module lacks its stop global")
	}
	inst.stop = g
	if f := mod.ExportedFunction("_initialize"); f != nil {
		if _, err := f.Call(ctx); err != nil {
			mod.Close(ctx)
			return nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm module initialisation failed: %v", err)
		}
	}
	return inst, nil
}

func classifyInstantiate(err error, tag string) error {
	msg := err.Error()
	if strings.Contains(msg, "memory") && (strings.Contains(msg, "limit") || strings.Contains(msg, "max")) {
		return sqlerr.New(sqlerr.OutOfMemory, "wasm function %s: module needs more memory than its limit: %v", tag, err)
	}
	return sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: cannot instantiate module: %v", tag, err)
}

func (i *instance) close() { i.mod.Close(context.Background()) }

func (i *instance) fn(name string) api.Function {
	f, ok := i.fns[name]
	if !ok {
		f = i.mod.ExportedFunction(name)
		i.fns[name] = f
	}
	return f
}

// callForText calls an export returning (ptr << 32 | len) and copies the text.
func (i *instance) callForText(ctx context.Context, name string, args ...uint64) (string, error) {
	f := i.fn(name)
	if f == nil {
		return "", sqlerr.New(sqlerr.InvalidParameter, "module does not export %s", name)
	}
	res, err := f.Call(ctx, args...)
	if err != nil {
		return "", sqlerr.New(sqlerr.ExternalRoutine, "%s trapped: %v", name, err)
	}
	if len(res) != 1 {
		return "", sqlerr.New(sqlerr.InvalidParameter, "%s must return one i64 (pointer << 32 | length)", name)
	}
	ptr, n := uint32(res[0]>>32), uint32(res[0])
	b, ok := i.mod.Memory().Read(ptr, n)
	if !ok {
		return "", sqlerr.New(sqlerr.ExternalRoutine, "%s returned an out-of-range buffer (%d bytes at %d)", name, n, ptr)
	}
	return string(b), nil
}

// pool keeps idle instances of one module at one memory limit.
type pool struct {
	mu   sync.Mutex
	idle []*instance
}

const maxIdlePerPool = 8

// acquire returns an instance armed to stop when ctx ends; release must be
// called with whether the instance is still healthy.
func (m *Module) acquire(ctx context.Context, limit uint64, tag string, volatile bool) (*instance, func(healthy bool), error) {
	_, _, pages, err := m.compiledFor(ctx, limit)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	key := poolKey{pages, volatile}
	p := m.pools[key]
	if p == nil {
		p = &pool{}
		m.pools[key] = p
	}
	m.mu.Unlock()
	scope := scopeOf(ctx)
	p.mu.Lock()
	var inst *instance
	for i := len(p.idle) - 1; i >= 0 && scope != 0; i-- {
		if p.idle[i].scope == scope {
			inst = p.idle[i]
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	if inst == nil {
		if inst, err = m.newInstance(ctx, limit, tag, volatile); err != nil {
			return nil, nil, err
		}
		inst.scope = scope
	}
	inst.log.tag = tag
	stopArm := context.AfterFunc(ctx, func() { inst.stop.Set(1) })
	release := func(healthy bool) {
		if !stopArm() || !healthy || inst.stop.Get() != 0 || scope == 0 {
			inst.close()
			return
		}
		p.mu.Lock()
		// checked under the pool's lock: EndScope marks the scope dead
		// before it sweeps the pools
		if len(p.idle) < maxIdlePerPool && m.engine.scopeLive(scope) {
			p.idle = append(p.idle, inst)
			inst = nil
		}
		p.mu.Unlock()
		if inst != nil {
			inst.close()
		}
	}
	return inst, release, nil
}

// closeIdle closes the idle instances a scope made.
func (m *Module) closeIdle(scope uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.pools {
		p.mu.Lock()
		kept := p.idle[:0]
		for _, inst := range p.idle {
			if inst.scope == scope {
				inst.close()
			} else {
				kept = append(kept, inst)
			}
		}
		p.idle = kept
		p.mu.Unlock()
	}
}

func (m *Module) closePools() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.pools {
		p.mu.Lock()
		for _, inst := range p.idle {
			inst.close()
		}
		p.idle = nil
		p.mu.Unlock()
	}
}

// trapError turns a failed guest call into a SQL error naming the function:
// a stop requested by the host is a cancellation, a guest that hit its
// memory cap is out of memory, anything else is a trap with wazero's wasm
// stack trace as detail.
func trapError(ctx context.Context, inst *instance, fn string, err error) error {
	if inst.stop.Get() != 0 {
		if ctx.Err() == context.DeadlineExceeded {
			return sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to statement timeout")
		}
		return sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to user request")
	}
	msg := err.Error()
	head, stack, _ := strings.Cut(msg, "\n")
	// wazero does not report a refused memory.grow; a guest that traps with
	// its memory at three quarters of the cap or more is taken to have run
	// out of it (it got -1 from memory.grow and aborted).
	if inst.mod.Memory() != nil && uint64(inst.mod.Memory().Size())*4 >= uint64(inst.pages)*pageSize*3 {
		return sqlerr.New(sqlerr.OutOfMemory, "wasm function %s ran out of memory (limit %d MiB): %s", fn, uint64(inst.pages)*pageSize>>20, head).WithDetail(strings.TrimSpace(stack))
	}
	return sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s trapped: %s", fn, head).WithDetail(strings.TrimSpace(stack))
}

func fmtTypes(ts []api.ValueType) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = api.ValueTypeName(t)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

var _ = fmt.Sprintf
