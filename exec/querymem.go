package exec

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// MemoryBudget is what all statements of a database may hold together
// (Options.MemoryLimit, weft serve --memory-limit): every statement's
// QueryAllocator counts into it as well as into its own limit.
type MemoryBudget struct {
	limit int64 // bytes; 0: no limit
	held  atomic.Int64
}

// NewMemoryBudget is a database-wide budget of limit bytes (0: none).
func NewMemoryBudget(limit int64) *MemoryBudget { return &MemoryBudget{limit: max(limit, 0)} }

// Limit is the budget in bytes (0: none).
func (b *MemoryBudget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Held is what the database's running statements hold now.
func (b *MemoryBudget) Held() int64 {
	if b == nil {
		return 0
	}
	return b.held.Load()
}

// QueryLimit is a statement's own limit and the setting it comes from,
// which its 53200 names.
type QueryLimit struct {
	Bytes   int64 // 0: none but the database's
	Setting string
}

// QueryAllocator is the Arrow allocator of one statement: it counts what
// the statement holds through it (and into the database's budget) and,
// once either passes its limit, cancels the statement, which then fails
// with 53200 at its next cancellation check. Arrow's allocator interface
// cannot return an error, and a panic is no way out: Arrow's compute
// kernels allocate on goroutines of their own, where a panic would end
// the process.
type QueryAllocator struct {
	inner    memory.Allocator
	limit    QueryLimit
	budget   *MemoryBudget // nil: no database-wide budget
	held     atomic.Int64
	detached atomic.Bool // the statement ended: no longer in the budget
	exceeded atomic.Pointer[sqlerr.Error]
	cancel   func()

	mu       sync.Mutex
	accounts []*MemoryAccount
	spillers atomic.Int64 // accounts of operators that can spill
}

// NewQueryAllocator wraps inner with the statement's limit and the
// database's budget (nil: none); cancel stops the statement when either
// is passed.
func NewQueryAllocator(inner memory.Allocator, limit QueryLimit, budget *MemoryBudget, cancel func()) *QueryAllocator {
	return &QueryAllocator{inner: inner, limit: limit, budget: budget, cancel: cancel}
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

// Limit is the most the statement may hold: its own limit or the
// database's, whichever is smaller (0: no limit).
func (a *QueryAllocator) Limit() int64 {
	l, b := a.limit.Bytes, a.budget.Limit()
	switch {
	case l == 0:
		return b
	case b == 0:
		return l
	}
	return min(l, b)
}

func (a *QueryAllocator) Allocate(size int) []byte {
	a.reserve(size)
	return a.inner.Allocate(size)
}

func (a *QueryAllocator) Reallocate(size int, b []byte) []byte {
	grow := size - len(b)
	if grow > 0 {
		a.reserve(grow)
	} else {
		a.unreserve(-grow)
	}
	return a.inner.Reallocate(size, b)
}

func (a *QueryAllocator) Free(b []byte) {
	a.unreserve(len(b))
	a.inner.Free(b)
}

func (a *QueryAllocator) unreserve(size int) {
	a.held.Add(-int64(size))
	if a.inBudget() {
		a.budget.held.Add(-int64(size))
	}
}

func (a *QueryAllocator) inBudget() bool { return a.budget != nil && !a.detached.Load() }

// Detach takes what the statement still holds out of the database's
// budget when the statement ends: its result rows, now the client's, and
// rows it stored in tables, now the table's. The budget bounds what
// running statements hold. Call it once none of the statement's
// goroutines run.
func (a *QueryAllocator) Detach() {
	if a.budget != nil && a.detached.CompareAndSwap(false, true) {
		a.budget.held.Add(-a.held.Load())
	}
}

// reserve counts size more bytes; the first time that passes the
// statement's limit or the database's, the statement is cancelled.
func (a *QueryAllocator) reserve(size int) {
	held := a.held.Add(int64(size))
	var total int64
	if a.inBudget() {
		total = a.budget.held.Add(int64(size))
	}
	if a.exceeded.Load() != nil {
		return // already failing: no second error
	}
	var err *sqlerr.Error
	switch {
	case a.limit.Bytes > 0 && held > a.limit.Bytes:
		err = QueryMemoryError(size, a.mainHolder(held-int64(size)), a.limit.Setting, a.limit.Bytes)
	case a.inBudget() && a.budget.limit > 0 && total > a.budget.limit:
		err = QueryMemoryError(size, a.mainHolder(held-int64(size)), "the server's --memory-limit", a.budget.limit)
	}
	if err != nil && a.exceeded.CompareAndSwap(nil, err) && a.cancel != nil {
		a.cancel()
	}
}

// QueryMemoryError is PostgreSQL's out of memory for one query; operator
// names what held the most ("" when nothing says).
func QueryMemoryError(request int, operator, setting string, limit int64) *sqlerr.Error {
	in := ""
	if operator != "" {
		in = " in " + operator
	}
	return sqlerr.New(sqlerr.OutOfMemory, "out of memory").WithDetail(fmt.Sprintf(
		"Failed on request of size %d%s: the query would hold more than %s (%d bytes).", request, in, setting, limit))
}

// MemoryAccount is the part of a statement's memory one operator holds:
// the allocator counts every byte anyway; accounts say whose they are,
// for the 53200 message and for the operator's decision to spill.
type MemoryAccount struct {
	name    string
	held    atomic.Int64
	owner   *QueryAllocator
	spiller bool
}

// Account opens an account for the operator name.
func (a *QueryAllocator) Account(name string) *MemoryAccount {
	acct := &MemoryAccount{name: name, owner: a}
	a.mu.Lock()
	a.accounts = append(a.accounts, acct)
	a.mu.Unlock()
	return acct
}

// Close ends the account when its operator's stream closes: an operator
// opened many times in one statement (a correlated subquery's sort)
// leaves no accounts behind, nor shrinks the spilling operators' shares.
func (m *MemoryAccount) Close() {
	if m == nil || m.owner == nil {
		return
	}
	a := m.owner
	m.owner = nil
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, acct := range a.accounts {
		if acct == m {
			a.accounts = append(a.accounts[:i], a.accounts[i+1:]...)
			break
		}
	}
	if m.spiller {
		a.spillers.Add(-1)
	}
}

// mainHolder names the operator holding at least half of what the
// statement held before the failed request, "" when none does (then no
// one operator is to blame, or the one to blame keeps no account).
func (a *QueryAllocator) mainHolder(held int64) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, acct := range a.accounts {
		if h := acct.held.Load(); h > 0 && 2*h >= held {
			return acct.name
		}
	}
	return ""
}

// Add counts n more bytes (negative: fewer) held by the account's
// operator; nil accounts count nothing.
func (m *MemoryAccount) Add(n int64) {
	if m != nil {
		m.held.Add(n)
	}
}

// Held is what the account's operator holds now.
func (m *MemoryAccount) Held() int64 {
	if m == nil {
		return 0
	}
	return m.held.Load()
}

// Charge counts n bytes of Go memory an operator holds outside Arrow
// buffers (a hash table's slots) against the statement's limits and its
// account, as an allocation through env would be; negative n gives them
// back. Passing a limit cancels the statement (53200) as allocating does.
func (e *Env) Charge(n int64) {
	if e == nil || n == 0 {
		return
	}
	var q *QueryAllocator
	switch m := e.Mem.(type) {
	case *attributedAllocator:
		m.acct.Add(n)
		q, _ = m.inner.(*QueryAllocator)
	case *QueryAllocator:
		q = m
	}
	switch {
	case q == nil:
	case n > 0:
		q.reserve(int(n))
	default:
		q.unreserve(int(-n))
	}
}

// ForOperator is env for one operator that keeps no account itself
// (hash aggregation, hash joins): what it allocates through env counts
// in an account named name, so that a 53200 can name it.
func (e *Env) ForOperator(name string) *Env {
	if e == nil || e.Memory == nil {
		return e
	}
	c := *e
	c.Mem = &attributedAllocator{inner: e.Mem, acct: e.Memory.Account(name)}
	return &c
}

// attributedAllocator counts what goes through it in one account.
// Buffers are freed through the allocator that made them, so the
// account follows the operator's batches wherever they are released.
type attributedAllocator struct {
	inner memory.Allocator
	acct  *MemoryAccount
}

func (a *attributedAllocator) Allocate(size int) []byte {
	a.acct.Add(int64(size))
	return a.inner.Allocate(size)
}

func (a *attributedAllocator) Reallocate(size int, b []byte) []byte {
	a.acct.Add(int64(size - len(b)))
	return a.inner.Reallocate(size, b)
}

func (a *attributedAllocator) Free(b []byte) {
	a.acct.Add(-int64(len(b)))
	a.inner.Free(b)
}
