package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// notifyFunctions is pg_notify(channel, payload), NOTIFY as a function;
// the session sends it (Env.Notify).
func notifyFunctions() []*ScalarDef {
	return []*ScalarDef{{Name: "pg_notify", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 2 || !castableAll(args, []types.T{types.TextT, types.TextT}) {
			return nil, types.T{}, nil, NoSuchFunction("pg_notify", args)
		}
		return []types.T{types.TextT, types.TextT}, types.VoidT, notifyKernel, nil
	}}}
}

// notifyKernel is pg_notify(channel, payload): NOTIFY as a function. A
// NULL channel is an error and a NULL payload an empty one, as in
// PostgreSQL.
func notifyKernel(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	if ec.Env == nil || ec.Env.Notify == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "pg_notify needs a session")
	}
	bld := newBuilder(ec, types.VoidT)
	defer bld.Release()
	for i := 0; i < n; i++ {
		ch, _ := DatumAt(args[0], i).(string)
		payload, _ := DatumAt(args[1], i).(string)
		if err := ec.Env.Notify(ch, payload); err != nil {
			return nil, err
		}
		AppendDatum(bld, "")
	}
	return bld.NewArray(), nil
}
