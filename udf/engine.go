// Package udf runs WebAssembly user-defined functions with wazero: it loads
// and instruments modules, keeps them content-addressed, compiles them ahead
// of time (with an on-disk cache), pools instances, and calls plain
// (per-row, core types) and batch (Arrow layout in linear memory) functions.
// The ABI is specified in docs/udf-abi.md.
package udf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Config configures an Engine.
type Config struct {
	// ModuleDir is the only directory module paths may name; "" allows only
	// inline (bytea) modules.
	ModuleDir string
	// CacheDir keeps compiled code across restarts; "" keeps it in memory.
	CacheDir string
	// MaxMemory caps each instance's linear memory (bytes); 0 means 256 MiB.
	MaxMemory uint64
	// Log receives guest stdout/stderr (size-capped, tagged); nil discards.
	Log io.Writer
}

const (
	pageSize         = 65536
	defaultMaxMemory = 256 << 20
	// guestOutputCap bounds what one instance may print to the log.
	guestOutputCap = 64 << 10
)

// Engine owns the wazero runtimes and the loaded modules of one database.
type Engine struct {
	cfg   Config
	cache wazero.CompilationCache

	mu       sync.Mutex
	runtimes map[uint32]wazero.Runtime // by memory limit in pages
	modules  map[string]*Module        // by sha256 of the original bytes
	scopes   scopes
}

// NewEngine creates an engine.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = defaultMaxMemory
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	return &Engine{cfg: cfg, cache: cache, runtimes: map[uint32]wazero.Runtime{}, modules: map[string]*Module{}}, nil
}

// Close frees every runtime, module and instance.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx := context.Background()
	for _, m := range e.modules {
		m.closePools()
	}
	for _, r := range e.runtimes {
		r.Close(ctx)
	}
	e.runtimes = map[uint32]wazero.Runtime{}
	return e.cache.Close(ctx)
}

// runtime returns the runtime whose instances are capped at limit bytes.
// Runtimes share the compilation cache, so a module compiles once per limit
// at most and never again after a restart.
func (e *Engine) runtime(limit uint64) (wazero.Runtime, uint32, error) {
	pages := uint32((limit + pageSize - 1) / pageSize)
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.runtimes[pages]; ok {
		return r, pages, nil
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(pages).
		WithCompilationCache(e.cache).
		WithCloseOnContextDone(false) // see instrument.go: our own cheaper stop check
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		r.Close(ctx)
		return nil, 0, err
	}
	// AssemblyScript guests import env.abort; calling it fails the query.
	_, err := r.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, msg, file, line, col uint32) {
		panic(fmt.Errorf("abort() called by the guest at line %d, column %d", line, col))
	}).Export("abort").
		Instantiate(ctx)
	if err != nil {
		r.Close(ctx)
		return nil, 0, err
	}
	e.runtimes[pages] = r
	return r, pages, nil
}

// ResolveModule reads a module given as SQL text: inline bytes (from a
// bytea literal) or a path inside the module directory.
func (e *Engine) ResolveModule(src []byte, isBytes bool) ([]byte, error) {
	if isBytes {
		return src, nil
	}
	path := string(src)
	if e.cfg.ModuleDir == "" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "no UDF module directory is configured: pass the module inline as bytea ('\\x0061736d…')")
	}
	if filepath.IsAbs(path) || strings.Contains(filepath.ToSlash(path), "..") {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "module path %q must be relative to the UDF directory and stay inside it", path)
	}
	// read through an os.Root of the directory: a link inside it that
	// leads out (module.wasm -> /etc/shadow) is refused, not followed
	root, err := os.OpenRoot(e.cfg.ModuleDir)
	if err != nil {
		return nil, sqlerr.New(sqlerr.UndefinedFile, "UDF module directory: %v", err)
	}
	defer root.Close()
	b, err := root.ReadFile(filepath.Clean(path))
	if err != nil {
		if strings.Contains(err.Error(), "escapes from parent") {
			return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "module path %q must be relative to the UDF directory and stay inside it", path)
		}
		return nil, sqlerr.New(sqlerr.UndefinedFile, "could not read module %q: %v", path, err)
	}
	return b, nil
}

// Load registers a module (once per content hash), instrumenting it,
// compiling it and reading its manifest.
func (e *Engine) Load(ctx context.Context, code []byte) (*Module, error) {
	sum := sha256.Sum256(code)
	hash := hex.EncodeToString(sum[:])
	e.mu.Lock()
	if m, ok := e.modules[hash]; ok {
		e.mu.Unlock()
		return m, nil
	}
	e.mu.Unlock()
	inst, err := instrument(code)
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "invalid wasm module: %v", err)
	}
	m := &Module{Hash: hash, Size: len(code), Original: code, code: inst, engine: e,
		compiled: map[uint32]wazero.CompiledModule{}, pools: map[poolKey]*pool{}}
	if err := m.inspect(ctx); err != nil {
		m.closePools()
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.modules[hash]; ok {
		m.closePools()
		return prev, nil
	}
	e.modules[hash] = m
	return m, nil
}

// Modules lists the loaded modules.
func (e *Engine) Modules() []*Module {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Module, 0, len(e.modules))
	for _, m := range e.modules {
		out = append(out, m)
	}
	return out
}

// logWriter tags and caps one instance's guest output.
type logWriter struct {
	mu      sync.Mutex
	w       io.Writer
	tag     string
	written int
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.w == nil || l.written >= guestOutputCap {
		return n, nil
	}
	room := guestOutputCap - l.written
	if len(p) > room {
		p = p[:room]
	}
	l.written += len(p)
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			fmt.Fprintf(l.w, "[wasm %s] %s", l.tag, line)
		}
	}
	if l.written >= guestOutputCap {
		fmt.Fprintf(l.w, "\n[wasm %s] output truncated at %d bytes\n", l.tag, guestOutputCap)
	}
	return n, nil
}
