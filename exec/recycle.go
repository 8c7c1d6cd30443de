package exec

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Recycling value buffers. An operator's stream evaluates the same
// expressions batch after batch, and each arithmetic result used to be a
// fresh batch-sized Go allocation (64 kB for 8192 int8s) that the
// garbage collector then had to find: in the generated suite's CASE query
// and TPC-H q01 allocation and collection took a third of the time. A
// bufferRecycler, owned by one operator's stream, keeps the buffers of
// fixed-width results that come back (the batch was released) and hands
// them out again for the next batch.
//
// Only buffers of fixed-width values go through it (valueMem): their
// readers copy values out, whereas a string's bytes may be referenced by
// Go strings made from them. A reused buffer is zeroed, as a new one is.

// recycleKeep bounds the buffers a recycler keeps for reuse: a stream has
// a few results of one batch alive at a time.
const recycleKeep = 16

// bufferRecycler is a memory.Allocator over inner that reuses freed
// buffers of the sizes asked for before. What it keeps stays counted by
// inner (the statement holds it) until close gives it back.
type bufferRecycler struct {
	inner  memory.Allocator
	mu     sync.Mutex
	free   [][]byte // freed buffers, any size
	closed bool
}

func newBufferRecycler(inner memory.Allocator) *bufferRecycler {
	return &bufferRecycler{inner: inner}
}

func (r *bufferRecycler) Allocate(size int) []byte {
	if b := r.take(size); b != nil {
		clear(b)
		return b
	}
	return r.inner.Allocate(size)
}

// take removes a kept buffer of exactly size bytes (nil: none).
func (r *bufferRecycler) take(size int) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.free) - 1; i >= 0; i-- {
		if b := r.free[i]; len(b) == size {
			last := len(r.free) - 1
			r.free[i] = r.free[last]
			r.free[last] = nil
			r.free = r.free[:last]
			return b
		}
	}
	return nil
}

func (r *bufferRecycler) Reallocate(size int, b []byte) []byte {
	return r.inner.Reallocate(size, b)
}

func (r *bufferRecycler) Free(b []byte) {
	if len(b) == 0 {
		r.inner.Free(b)
		return
	}
	r.mu.Lock()
	if !r.closed && len(r.free) < recycleKeep {
		r.free = append(r.free, b)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.inner.Free(b)
}

// close gives every kept buffer back to inner; buffers released after it
// go straight there. Safe to call more than once.
func (r *bufferRecycler) close() {
	r.mu.Lock()
	free := r.free
	r.free, r.closed = nil, true
	r.mu.Unlock()
	for _, b := range free {
		r.inner.Free(b)
	}
}

// valueMem is the allocator for the value buffer of a fixed-width result:
// the context's recycler when it has one.
func (ec *EvalContext) valueMem() memory.Allocator {
	if ec.recycler != nil {
		return ec.recycler
	}
	return ec.Mem
}

// newRecyclingContext is an evaluation context whose fixed-width results
// reuse the buffers of earlier batches; the caller calls the returned
// function when the stream ends.
func newRecyclingContext(ec *EvalContext) (*EvalContext, func()) {
	r := newBufferRecycler(ec.Mem)
	c := *ec
	c.recycler = r
	return &c, r.close
}
