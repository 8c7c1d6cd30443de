package exec

import (
	"context"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestBufferRecyclerReuses: a released result's buffer comes back, zeroed,
// for the next result of its size; other sizes get new memory; the
// statement's allocator holds what the recycler keeps until close, and
// nothing after it, also for a batch released after the close.
func TestBufferRecyclerReuses(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec, done := newRecyclingContext(&EvalContext{Ctx: context.Background(), Mem: mem})

	buf, vals := allocFixed[int64](ec.valueMem(), 1000)
	for i := range vals {
		vals[i] = int64(i) + 1
	}
	first := &vals[0]
	buf.Release()
	if mem.CurrentAlloc() == 0 {
		t.Fatal("the recycler gave its buffer back instead of keeping it")
	}

	again, vals2 := allocFixed[int64](ec.valueMem(), 1000)
	if &vals2[0] != first {
		t.Error("a buffer of the same size was not reused")
	}
	for i, v := range vals2 {
		if v != 0 {
			t.Fatalf("reused buffer not zeroed: value %d is %d", i, v)
		}
	}
	other, _ := allocFixed[int64](ec.valueMem(), 10)
	other.Release()

	done()
	if got := mem.CurrentAlloc(); got != again.Len() {
		t.Errorf("after close the statement holds %d bytes, want the one live buffer's %d", got, again.Len())
	}
	again.Release() // after close: straight back to the statement
	done()          // twice is harmless
}

// TestBufferRecyclerConcurrentRelease releases a stream's results on other
// goroutines, as the consumer of a partition may, while the stream makes
// more; every value read is the one written, and no memory is left.
func TestBufferRecyclerConcurrentRelease(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec, done := newRecyclingContext(&EvalContext{Ctx: context.Background(), Mem: mem})
	kern, _ := ArithKernel('+', types.Int8T)
	results := make(chan arrow.Array, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for a := range results {
			for i, v := range a.(*array.Int64).Int64Values() {
				if v != int64(2*i)+a.(*array.Int64).Value(0) {
					t.Errorf("value %d is %d", i, v)
					break
				}
			}
			a.Release()
		}
	}()
	for k := 0; k < 200; k++ {
		b := array.NewInt64Builder(mem)
		for i := 0; i < 512; i++ {
			b.Append(int64(k + i))
		}
		in := b.NewArray()
		b.Release()
		out, err := kern(ec, []arrow.Array{in, in}, 512)
		in.Release()
		if err != nil {
			t.Fatal(err)
		}
		results <- out
	}
	close(results)
	wg.Wait()
	done()
}
