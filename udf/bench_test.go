package udf

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tetratelabs/wazero"
	"github.com/weftdb/weft/sql/types"
)

const loopN = 1 << 20

// benchLoop runs loops.wasm's sum over 1M int64 in a given way and reports
// ns per element.
func benchLoop(b *testing.B, code []byte, closeOnDone bool) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(closeOnDone))
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, code)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 8*loopN)
	for i := 0; i < loopN; i++ {
		binary.LittleEndian.PutUint64(buf[8*i:], uint64(i))
	}
	mod.Memory().Write(0, buf)
	sum := mod.ExportedFunction("sum")
	callCtx, cancel := context.WithCancel(ctx) // a cancellable context, as queries have
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sum.Call(callCtx, loopN); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/loopN, "ns/elem")
}

func loopsModule(b *testing.B) []byte {
	code, err := os.ReadFile("../testdata/udf/wasm/loops.wasm")
	if err != nil {
		b.Fatal(err)
	}
	return code
}

// BenchmarkLoopUninterruptible is the guest loop with no way to stop it.
func BenchmarkLoopUninterruptible(b *testing.B) { benchLoop(b, loopsModule(b), false) }

// BenchmarkLoopCloseOnContextDone is wazero's own interruption.
func BenchmarkLoopCloseOnContextDone(b *testing.B) { benchLoop(b, loopsModule(b), true) }

// BenchmarkLoopWeftStopCheck is Weft's instrumented loop (instrument.go).
func BenchmarkLoopWeftStopCheck(b *testing.B) {
	inst, err := instrument(loopsModule(b))
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, inst, false)
}

// BenchmarkPlainCallPerRow is a per-row plain add(i64, i64) through the
// whole host path (arrays in, array out), with interruption in force.
func BenchmarkPlainCallPerRow(b *testing.B) {
	e, err := NewEngine(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	code, _ := os.ReadFile("../testdata/udf/wasm/plain.wasm")
	m, err := e.Load(context.Background(), code)
	if err != nil {
		b.Fatal(err)
	}
	f, err := Define(&Function{Name: "add", Module: m, Export: "add", Args: []types.T{types.Int8T, types.Int8T}, AnyArgs: []bool{false, false}, Result: types.Int8T})
	if err != nil {
		b.Fatal(err)
	}
	c, _ := f.Bind(context.Background(), f.Args, []bool{false, false}, []types.Datum{nil, nil})
	const n = 8192
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(i)
	}
	a := int64Array(memory.DefaultAllocator, vals, nil)
	defer a.Release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := c.Invoke(ctx, memory.DefaultAllocator, []arrow.Array{a, a}, n)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

// BenchmarkBatchCall is add_one_c (C, batch ABI) over 8192-row batches.
func BenchmarkBatchCall(b *testing.B) {
	e, err := NewEngine(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	code, _ := os.ReadFile("../testdata/udf/wasm/c_strings.wasm")
	m, err := e.Load(context.Background(), code)
	if err != nil {
		b.Fatal(err)
	}
	f, err := Define(&Function{Name: "add_one_c", Module: m, Export: "add_one_c", Args: []types.T{types.Int8T}, AnyArgs: []bool{false}, Result: types.Int8T})
	if err != nil {
		b.Fatal(err)
	}
	c, _ := f.Bind(context.Background(), f.Args, []bool{false}, []types.Datum{nil})
	const n = 8192
	vals := make([]int64, n)
	a := int64Array(memory.DefaultAllocator, vals, nil)
	defer a.Release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := c.Invoke(ctx, memory.DefaultAllocator, []arrow.Array{a}, n)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

// BenchmarkLoadCachedModule is the time to load (compile or fetch from the
// on-disk cache) a module in a fresh engine, as after a restart.
func BenchmarkLoadCachedModule(b *testing.B) {
	dir := b.TempDir()
	code, _ := os.ReadFile("../testdata/udf/wasm/c_strings.wasm")
	warm, _ := NewEngine(Config{CacheDir: dir})
	if _, err := warm.Load(context.Background(), code); err != nil {
		b.Fatal(err)
	}
	warm.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, _ := NewEngine(Config{CacheDir: dir})
		if _, err := e.Load(context.Background(), code); err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// BenchmarkLoadUncachedModule compiles from scratch every time.
func BenchmarkLoadUncachedModule(b *testing.B) {
	code, _ := os.ReadFile("../testdata/udf/wasm/c_strings.wasm")
	for i := 0; i < b.N; i++ {
		e, _ := NewEngine(Config{CacheDir: b.TempDir()})
		if _, err := e.Load(context.Background(), code); err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// startAll loads every fixture module (about 20 functions in manifests and
// exports) in a fresh engine and runs one call: a process start.
func startAll(b *testing.B, cacheDir string) {
	paths, _ := filepath.Glob("../testdata/udf/wasm/*.wasm")
	e, err := NewEngine(Config{CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var first *Module
	for _, p := range paths {
		code, _ := os.ReadFile(p)
		m, err := e.Load(context.Background(), code)
		if err != nil {
			b.Fatal(err)
		}
		if filepath.Base(p) == "plain.wasm" {
			first = m
		}
	}
	f, _ := Define(&Function{Name: "add", Module: first, Export: "add", Args: []types.T{types.Int8T, types.Int8T}, AnyArgs: []bool{false, false}, Result: types.Int8T})
	c, _ := f.Bind(context.Background(), f.Args, []bool{false, false}, []types.Datum{nil, nil})
	a := int64Array(memory.DefaultAllocator, []int64{1}, nil)
	defer a.Release()
	out, err := c.Invoke(context.Background(), memory.DefaultAllocator, []arrow.Array{a, a}, 1)
	if err != nil {
		b.Fatal(err)
	}
	out.Release()
}

// BenchmarkStartWarmCache is a restart: every module is in the on-disk cache.
func BenchmarkStartWarmCache(b *testing.B) {
	dir := b.TempDir()
	startAll(b, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		startAll(b, dir)
	}
}

// BenchmarkStartColdCache compiles everything.
func BenchmarkStartColdCache(b *testing.B) {
	for i := 0; i < b.N; i++ {
		startAll(b, b.TempDir())
	}
}
