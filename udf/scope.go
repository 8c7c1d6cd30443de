package udf

import (
	"context"
	"sync/atomic"
)

// A scope is the span in which pooled instances may be reused: one
// statement of one session. An instance keeps its linear memory between
// calls, so one handed from one session (or role) to another would show
// the second what the first left there; instances are therefore reused
// only inside the scope that made them, and EndScope discards the idle
// ones, which also gives their memory back once the statement is done.
// Calls without a scope get a fresh instance each time.

type scopeKey struct{}

// scopes hands out scope ids and remembers which are live.
type scopes struct {
	next atomic.Uint64
	live map[uint64]bool // guarded by Engine.mu
}

// NewScope starts a scope and returns a context that carries it.
func (e *Engine) NewScope(ctx context.Context) (context.Context, uint64) {
	id := e.scopes.next.Add(1)
	e.mu.Lock()
	if e.scopes.live == nil {
		e.scopes.live = map[uint64]bool{}
	}
	e.scopes.live[id] = true
	e.mu.Unlock()
	return context.WithValue(ctx, scopeKey{}, id), id
}

// EndScope closes the idle instances the scope made; instances it still
// has in use are closed when they are released.
func (e *Engine) EndScope(id uint64) {
	e.mu.Lock()
	delete(e.scopes.live, id)
	mods := make([]*Module, 0, len(e.modules))
	for _, m := range e.modules {
		mods = append(mods, m)
	}
	e.mu.Unlock()
	for _, m := range mods {
		m.closeIdle(id)
	}
}

func (e *Engine) scopeLive(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.scopes.live[id]
}

func scopeOf(ctx context.Context) uint64 {
	id, _ := ctx.Value(scopeKey{}).(uint64)
	return id
}

// IdleInstances counts the pooled instances (for tests).
func (e *Engine) IdleInstances() int {
	e.mu.Lock()
	mods := make([]*Module, 0, len(e.modules))
	for _, m := range e.modules {
		mods = append(mods, m)
	}
	e.mu.Unlock()
	n := 0
	for _, m := range mods {
		m.mu.Lock()
		for _, p := range m.pools {
			p.mu.Lock()
			n += len(p.idle)
			p.mu.Unlock()
		}
		m.mu.Unlock()
	}
	return n
}
