package udf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func loadFixture(t *testing.T, e *Engine, name string) *Module {
	t.Helper()
	code, err := os.ReadFile("../testdata/udf/wasm/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Load(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func int64Array(mem memory.Allocator, vals []int64, valid []bool) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

func define(t *testing.T, f *Function) *Call {
	t.Helper()
	if f.AnyArgs == nil {
		f.AnyArgs = make([]bool, len(f.Args))
	}
	def, err := Define(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Bind(context.Background(), f.Args, make([]bool, len(f.Args)), make([]types.Datum, len(f.Args)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInstrumentKeepsModulesValid(t *testing.T) {
	for _, name := range []string{"plain.wasm", "batch_min.wasm"} {
		code, _ := os.ReadFile("../testdata/udf/wasm/" + name)
		out, err := instrument(code)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) <= len(code) {
			t.Fatalf("%s: instrumented module is not larger", name)
		}
	}
	if _, err := instrument([]byte("hello")); !errors.Is(err, errNotWasm) {
		t.Fatalf("want errNotWasm, got %v", err)
	}
}

func TestPlainFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e := newEngine(t, Config{})
	m := loadFixture(t, e, "plain.wasm")
	c := define(t, &Function{Name: "add", Module: m, Export: "add", Args: []types.T{types.Int8T, types.Int8T}, Result: types.Int8T})
	a := int64Array(mem, []int64{1, 2, 3}, []bool{true, false, true})
	b := int64Array(mem, []int64{10, 20, 30}, nil)
	defer a.Release()
	defer b.Release()
	out, err := c.Invoke(context.Background(), mem, []arrow.Array{a, b}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	got := out.(*array.Int64)
	if got.Value(0) != 11 || !got.IsNull(1) || got.Value(2) != 33 {
		t.Fatalf("add = %v", out)
	}
}

func TestPlainSignatureMismatch(t *testing.T) {
	e := newEngine(t, Config{})
	m := loadFixture(t, e, "plain.wasm")
	_, err := Define(&Function{Name: "add", Module: m, Export: "add", Args: []types.T{types.Int4T, types.Int4T}, AnyArgs: []bool{false, false}, Result: types.Int4T})
	if sqlerr.Code(err) != sqlerr.InvalidFunctionDefinition {
		t.Fatalf("want 42P13, got %v", err)
	}
	_, err = Define(&Function{Name: "nope", Module: m, Export: "nope", Args: nil, Result: types.Int4T})
	if sqlerr.Code(err) != sqlerr.UndefinedFunction {
		t.Fatalf("want 42883, got %v", err)
	}
}

func TestHostileGuests(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e := newEngine(t, Config{MaxMemory: 8 << 20})
	m := loadFixture(t, e, "plain.wasm")
	one := int64Array(mem, []int64{1}, nil)
	defer one.Release()
	tests := []struct {
		export string
		code   string
	}{
		{"trap", sqlerr.ExternalRoutine},
		{"hog", sqlerr.OutOfMemory},
		{"spin", sqlerr.QueryCanceled},
	}
	// Collections keep running while guests spin: a guest that never came
	// back to Go would block their stop-the-world and freeze the process.
	gcDone := make(chan struct{})
	defer close(gcDone)
	go func() {
		for {
			select {
			case <-gcDone:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for _, tt := range tests {
		c := define(t, &Function{Name: tt.export, Module: m, Export: tt.export, Args: []types.T{types.Int8T}, Result: types.Int8T})
		// only spin needs stopping; the others get time to instantiate a
		// fresh instance each (instances are not reused outside a scope)
		timeout := time.Minute
		if tt.export == "spin" {
			timeout = 100 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		start := time.Now()
		_, err := c.Invoke(ctx, mem, []arrow.Array{one}, 1)
		cancel()
		if sqlerr.Code(err) != tt.code {
			t.Errorf("%s: want %s, got %v", tt.export, tt.code, err)
		}
		if tt.export == "spin" && time.Since(start) > 2*time.Second {
			t.Errorf("spin was not stopped promptly: %s", time.Since(start))
		}
	}
	// the module still works after all of that
	c := define(t, &Function{Name: "add", Module: m, Export: "add", Args: []types.T{types.Int8T, types.Int8T}, Result: types.Int8T})
	out, err := c.Invoke(context.Background(), mem, []arrow.Array{one, one}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if out.(*array.Int64).Value(0) != 2 {
		t.Fatalf("add after failures = %v", out)
	}
	out.Release()
}

func TestBatchFunctions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e := newEngine(t, Config{})
	m := loadFixture(t, e, "batch_min.wasm")
	if len(m.Manifest) != 3 {
		t.Fatalf("manifest: %+v", m.Manifest)
	}
	c := define(t, &Function{Name: "add_one", Module: m, Export: "add_one", Args: []types.T{types.Int8T}, Result: types.Int8T})
	a := int64Array(mem, []int64{1, 2, 3, 4}, []bool{true, true, false, true})
	defer a.Release()
	out, err := c.Invoke(context.Background(), mem, []arrow.Array{a}, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*array.Int64)
	if got.Value(0) != 2 || got.Value(1) != 3 || !got.IsNull(2) || got.Value(3) != 5 {
		t.Fatalf("add_one = %v", out)
	}
	out.Release()
	// a slice with a non-zero offset is normalised
	s := array.NewSlice(a, 1, 4)
	defer s.Release()
	out, err = c.Invoke(context.Background(), mem, []arrow.Array{s}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*array.Int64); got.Value(0) != 3 || !got.IsNull(1) || got.Value(2) != 5 {
		t.Fatalf("add_one over slice = %v", out)
	}
	out.Release()

	fail := define(t, &Function{Name: "fail", Module: m, Export: "fail", Args: []types.T{types.Int8T}, Result: types.Int8T})
	if _, err := fail.Invoke(context.Background(), mem, []arrow.Array{a}, 4); sqlerr.Code(err) != "22023" {
		t.Fatalf("fail: want the guest's 22023, got %v", err)
	}
	wild := define(t, &Function{Name: "wild", Module: m, Export: "wild", Args: []types.T{types.Int8T}, Result: types.Int8T})
	if _, err := wild.Invoke(context.Background(), mem, []arrow.Array{a}, 4); sqlerr.Code(err) != sqlerr.ExternalRoutine {
		t.Fatalf("wild: want 38000, got %v", err)
	}
}

// TestGuestOutputIsCapped lets a guest print 4 MiB: the query succeeds and
// the log receives at most the cap, tagged with the function's name.
func TestGuestOutputIsCapped(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var log strings.Builder
	e := newEngine(t, Config{Log: &log})
	m := loadFixture(t, e, "chatty.wasm")
	c := define(t, &Function{Name: "chatty", Module: m, Export: "chatty", Args: []types.T{types.Int8T}, Result: types.Int8T})
	one := int64Array(mem, []int64{7}, nil)
	defer one.Release()
	out, err := c.Invoke(context.Background(), mem, []arrow.Array{one}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.(*array.Int64).Value(0) != 7 {
		t.Fatalf("chatty = %v", out)
	}
	if log.Len() > guestOutputCap+4096 || log.Len() < guestOutputCap {
		t.Fatalf("log got %d bytes, want about %d", log.Len(), guestOutputCap)
	}
	if !strings.Contains(log.String(), "[wasm chatty]") || !strings.Contains(log.String(), "output truncated") {
		t.Fatalf("log lacks the tag or the truncation notice")
	}
}

// TestModulePathLinks: a link in the module directory that leads out of
// it is refused, one that stays inside is followed.
func TestModulePathLinks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "modules")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("../testdata/udf/wasm/plain.wasm")
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string][]byte{filepath.Join(dir, "plain.wasm"): code, filepath.Join(base, "outside.wasm"): code} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{filepath.Join(base, "outside.wasm"), "out.wasm"}, {"plain.wasm", "in.wasm"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t, Config{ModuleDir: dir})
	for _, c := range []struct{ path, code string }{
		{"plain.wasm", ""}, {"in.wasm", ""}, {"out.wasm", sqlerr.InsufficientPrivilege}, {"../outside.wasm", sqlerr.InsufficientPrivilege},
	} {
		_, err := e.ResolveModule([]byte(c.path), false)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.code != "" && (err == nil || sqlerr.Code(err) != c.code):
			t.Errorf("%s: want %s, got %v", c.path, c.code, err)
		}
	}
}
