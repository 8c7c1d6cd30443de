package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// AdvisoryKey names an advisory lock: one bigint, or a pair of integers
// (a separate key space, as in PostgreSQL).
type AdvisoryKey struct {
	Pair bool
	Key  int64
}

// AdvisoryLocks is what a query sees of the database's advisory locks,
// on behalf of the session running it.
type AdvisoryLocks interface {
	// Lock takes the lock (shared or exclusive; for the transaction or
	// for the session). With wait it blocks until the lock is free or ctx
	// ends; without, it reports whether it got the lock.
	Lock(ctx context.Context, key AdvisoryKey, shared, xact, wait bool) (bool, error)
	// Unlock gives back one session-level hold; false when there is none.
	Unlock(key AdvisoryKey, shared bool) bool
	// UnlockAll gives back every session-level hold of the session.
	UnlockAll()
}

// advisoryFunctions are pg_advisory_lock and its family: the (try_)
// (xact_) lock (_shared) forms, the unlocks, and pg_advisory_unlock_all.
func advisoryFunctions() []*ScalarDef {
	var defs []*ScalarDef
	for _, try := range []bool{false, true} {
		for _, xact := range []bool{false, true} {
			for _, shared := range []bool{false, true} {
				name := "pg_"
				if try {
					name += "try_"
				}
				name += "advisory_"
				if xact {
					name += "xact_"
				}
				name += "lock"
				if shared {
					name += "_shared"
				}
				defs = append(defs, advisoryDef(name, advisoryLockKernel(shared, xact, try), try))
			}
		}
	}
	defs = append(defs,
		advisoryDef("pg_advisory_unlock", advisoryUnlockKernel(false), true),
		advisoryDef("pg_advisory_unlock_shared", advisoryUnlockKernel(true), true),
		&ScalarDef{Name: "pg_advisory_unlock_all", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction("pg_advisory_unlock_all", args)
			}
			return nil, types.VoidT, advisoryUnlockAllKernel, nil
		}})
	return defs
}

// advisoryDef takes a bigint key or two integer keys; the result is
// boolean (try and unlock forms) or void.
func advisoryDef(name string, k Kernel, boolResult bool) *ScalarDef {
	ret := types.VoidT
	if boolResult {
		ret = types.BoolT
	}
	return &ScalarDef{Name: name, Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		switch {
		case len(args) == 1 && castableAll(args, []types.T{types.Int8T}):
			return []types.T{types.Int8T}, ret, k, nil
		case len(args) == 2 && castableAll(args, []types.T{types.Int4T, types.Int4T}):
			return []types.T{types.Int4T, types.Int4T}, ret, k, nil
		}
		return nil, types.T{}, nil, NoSuchFunction(name, args)
	}}
}

// advisoryKeyAt reads row i's key; ok is false when an argument is NULL.
func advisoryKeyAt(args []arrow.Array, i int) (AdvisoryKey, bool) {
	a := DatumAt(args[0], i)
	if a == nil {
		return AdvisoryKey{}, false
	}
	if len(args) == 1 {
		return AdvisoryKey{Key: a.(int64)}, true
	}
	b := DatumAt(args[1], i)
	if b == nil {
		return AdvisoryKey{}, false
	}
	return AdvisoryKey{Pair: true, Key: a.(int64)<<32 | int64(uint32(b.(int64)))}, true
}

func advisoryManager(ec *EvalContext) (AdvisoryLocks, error) {
	if ec.Env == nil || ec.Env.Advisory == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "advisory locks need a session")
	}
	return ec.Env.Advisory, nil
}

func advisoryLockKernel(shared, xact, try bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		m, err := advisoryManager(ec)
		if err != nil {
			return nil, err
		}
		ret := types.VoidT
		if try {
			ret = types.BoolT
		}
		bld := newBuilder(ec, ret)
		defer bld.Release()
		for i := 0; i < n; i++ {
			key, ok := advisoryKeyAt(args, i)
			if !ok {
				AppendDatum(bld, nil) // strict: a NULL key takes no lock
				continue
			}
			got, err := m.Lock(ec.Ctx, key, shared, xact, !try)
			if err != nil {
				return nil, err
			}
			if try {
				AppendDatum(bld, got)
			} else {
				AppendDatum(bld, "")
			}
		}
		return bld.NewArray(), nil
	}
}

func advisoryUnlockKernel(shared bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		m, err := advisoryManager(ec)
		if err != nil {
			return nil, err
		}
		bld := newBuilder(ec, types.BoolT)
		defer bld.Release()
		for i := 0; i < n; i++ {
			key, ok := advisoryKeyAt(args, i)
			if !ok {
				AppendDatum(bld, nil)
				continue
			}
			AppendDatum(bld, m.Unlock(key, shared))
		}
		return bld.NewArray(), nil
	}
}

func advisoryUnlockAllKernel(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	m, err := advisoryManager(ec)
	if err != nil {
		return nil, err
	}
	m.UnlockAll()
	bld := newBuilder(ec, types.VoidT)
	defer bld.Release()
	for i := 0; i < n; i++ {
		AppendDatum(bld, "")
	}
	return bld.NewArray(), nil
}
