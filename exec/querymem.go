package exec

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// QueryAllocator is the Arrow allocator of one statement: it counts what
// the statement holds through it and, once that passes the limit, cancels
// the statement, which then fails with 53200 at its next cancellation
// check. Arrow's allocator interface cannot return an error, and a panic
// is no way out: Arrow's compute kernels allocate on goroutines of their
// own, where a panic would end the process.
type QueryAllocator struct {
	inner    memory.Allocator
	limit    int64 // bytes; 0: no limit
	held     atomic.Int64
	exceeded atomic.Pointer[sqlerr.Error]
	cancel   func()
}

// NewQueryAllocator wraps inner with a limit in bytes (0: none); cancel
// stops the statement when the limit is passed.
func NewQueryAllocator(inner memory.Allocator, limit int64, cancel func()) *QueryAllocator {
	return &QueryAllocator{inner: inner, limit: limit, cancel: cancel}
}

// Exceeded is the 53200 error once the statement passed its limit.
func (a *QueryAllocator) Exceeded() error {
	if e := a.exceeded.Load(); e != nil {
		return e
	}
	return nil
}

// Held is what the statement's allocations hold now.
func (a *QueryAllocator) Held() int64 { return a.held.Load() }

func (a *QueryAllocator) Allocate(size int) []byte {
	a.reserve(size)
	return a.inner.Allocate(size)
}

func (a *QueryAllocator) Reallocate(size int, b []byte) []byte {
	grow := size - len(b)
	if grow > 0 {
		a.reserve(grow)
	} else {
		a.held.Add(int64(grow))
	}
	return a.inner.Reallocate(size, b)
}

func (a *QueryAllocator) Free(b []byte) {
	a.held.Add(-int64(len(b)))
	a.inner.Free(b)
}

// reserve counts size more bytes; the first time that passes the limit,
// the statement is cancelled.
func (a *QueryAllocator) reserve(size int) {
	held := a.held.Add(int64(size))
	if a.limit > 0 && held > a.limit && a.exceeded.CompareAndSwap(nil, QueryMemoryError(size, a.limit)) && a.cancel != nil {
		a.cancel()
	}
}

// QueryMemoryError is PostgreSQL's out of memory for one query.
func QueryMemoryError(request int, limit int64) *sqlerr.Error {
	return sqlerr.New(sqlerr.OutOfMemory, "out of memory").WithDetail(fmt.Sprintf(
		"Failed on request of size %d: the query would hold more than weft.query_memory_limit (%d bytes).", request, limit))
}
