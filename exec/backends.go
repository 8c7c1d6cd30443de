package exec

import (
	"context"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// Backends is what a query sees of the database's other sessions:
// pg_stat_activity lists them, pg_cancel_backend and pg_terminate_backend
// signal them. The session layer implements it for the session running
// the query (whose role decides what it may signal).
type Backends interface {
	// Activity lists every session, the running one included.
	Activity() []BackendActivity
	// Signal cancels the running query of the session with that process
	// id or, with terminate, ends the session; false when there is none.
	Signal(pid int64, terminate bool) (bool, error)
	// Locks lists the locks pg_locks shows.
	Locks() []LockInfo
	// BlockingPIDs are the sessions holding a lock the session with that
	// process id waits for (pg_blocking_pids), none when it does not wait.
	BlockingPIDs(pid int64) []int32
}

// LockInfo is one row of pg_locks: a transaction's own id (LockType
// "transactionid", granted), and for a session waiting for a row lock
// the row's table (LockType "tuple", granted) and the id of the
// transaction it waits for (not granted, with WaitStart).
type LockInfo struct {
	LockType      string
	Relation      uint32 // 0: none
	TransactionID string // "": none
	PID           int32
	Mode          string
	Granted       bool
	WaitStart     time.Time
}

// BackendActivity is one row of pg_stat_activity.
type BackendActivity struct {
	PID                      int32
	Database, User, AppName  string
	ClientAddr               string // "" for a session without a client socket
	BackendStart, QueryStart time.Time
	StateChange              time.Time
	State, Query             string
	BackendType              string
	// Restricted: the viewer may not see what this session does (another
	// role's session, to a role that is not a superuser); only its
	// database, pid, role and application show
	Restricted bool
}

// signalFunctions are pg_cancel_backend(pid) and pg_terminate_backend(pid
// [, timeout]).
func signalFunctions() []*ScalarDef {
	signal := func(name string, terminate bool, maxArgs int) *ScalarDef {
		return &ScalarDef{Name: name, Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			params := []types.T{types.Int4T, types.Int8T}[:len(args)]
			if len(args) == 0 || len(args) > maxArgs || !castableAll(args, params) {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			return params, types.BoolT, signalKernel(terminate), nil
		}}
	}
	blocking := &ScalarDef{Name: "pg_blocking_pids", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 1 || !castableAll(args, []types.T{types.Int4T}) {
			return nil, types.T{}, nil, NoSuchFunction("pg_blocking_pids", args)
		}
		return []types.T{types.Int4T}, types.ArrayOf(types.Int4T), blockingPIDsKernel, nil
	}}
	return []*ScalarDef{signal("pg_cancel_backend", false, 1), signal("pg_terminate_backend", true, 2), blocking}
}

// blockingPIDsKernel is pg_blocking_pids(pid): the process ids of the
// sessions holding what pid waits for (an empty array when it waits for
// nothing or there is no such session, as PostgreSQL answers).
func blockingPIDsKernel(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	bld := newBuilder(ec, types.ArrayOf(types.Int4T))
	defer bld.Release()
	for i := 0; i < n; i++ {
		pid := DatumAt(args[0], i)
		if pid == nil {
			AppendDatum(bld, nil)
			continue
		}
		out := []types.Datum{}
		if ec.Env != nil && ec.Env.Backends != nil {
			for _, p := range ec.Env.Backends.BlockingPIDs(pid.(int64)) {
				out = append(out, int64(p))
			}
		}
		AppendDatum(bld, out)
	}
	return bld.NewArray(), nil
}

func signalKernel(terminate bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		bld := newBuilder(ec, types.BoolT)
		defer bld.Release()
		for i := 0; i < n; i++ {
			pid := DatumAt(args[0], i)
			if pid == nil || ec.Env == nil || ec.Env.Backends == nil {
				AppendDatum(bld, nil)
				continue
			}
			ok, err := ec.Env.Backends.Signal(pid.(int64), terminate)
			if err != nil {
				return nil, err
			}
			AppendDatum(bld, ok)
		}
		return bld.NewArray(), nil
	}
}

// sleepFunctions are pg_sleep(seconds) and pg_sleep_for(interval): they
// wait once per row, and end early with the statement (cancellation,
// statement_timeout), as PostgreSQL's do.
func sleepFunctions() []*ScalarDef {
	def := func(name string, param types.T, seconds func(types.Datum) float64) *ScalarDef {
		return &ScalarDef{Name: name, Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 1 || !castableAll(args, []types.T{param}) {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			return []types.T{param}, types.VoidT, sleepKernel(seconds), nil
		}}
	}
	return []*ScalarDef{
		def("pg_sleep", types.Float8T, func(d types.Datum) float64 { return d.(float64) }),
		def("pg_sleep_for", types.IntervalT, func(d types.Datum) float64 {
			iv := d.(types.IntervalValue)
			return float64(iv.Months)*30*86400 + float64(iv.Days)*86400 + float64(iv.Micros)/1e6
		}),
	}
}

func sleepKernel(seconds func(types.Datum) float64) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		bld := newBuilder(ec, types.VoidT)
		defer bld.Release()
		for i := 0; i < n; i++ {
			d := DatumAt(args[0], i)
			if d == nil {
				AppendDatum(bld, nil) // strict
				continue
			}
			if err := sleepFor(ec, seconds(d)); err != nil {
				return nil, err
			}
			AppendDatum(bld, "") // void: a value, not NULL
		}
		return bld.NewArray(), nil
	}
}

func sleepFor(ec *EvalContext, seconds float64) error {
	if !(seconds > 0) {
		return nil
	}
	d := time.Duration(math.Min(seconds, math.MaxInt64/1e9) * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	done := context.Background().Done()
	if ec.Ctx != nil {
		done = ec.Ctx.Done()
	}
	select {
	case <-t.C:
		return nil
	case <-done:
		return ec.Canceled()
	}
}
