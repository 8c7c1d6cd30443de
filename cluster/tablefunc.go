package cluster

import (
	"fmt"

	"github.com/weftdb/weft/exec"
)

// A wasm table function over a worker pipeline runs on the workers,
// one run per partition of its input, as it runs here (mapPartitions):
// called LATERALly over a scan (FROM t, words(t.body) w: one run per
// partition, fed a row at a time) or over a relation argument
// (histogram((SELECT v FROM t)): the partition's batches pushed as they
// come). The worker plans the fragment's SQL and finds the function
// node by its path like any other; its module travels by sha256
// (modules.go), so nothing of the call needs its own field in the
// fragment.
//
// Recovery needs a partition's output to be a deterministic function of
// its input, which stored data makes deterministic already: so only a
// function declared IMMUTABLE or STABLE goes (a deterministic wasm
// instance sees a fixed clock and seeded randomness: udf/module.go). A
// volatile one stays on the coordinator, reading the pipeline below it
// from the workers; a rerun partition there would call it again and
// could yield other rows than the ones already passed on.

// tableFunctionOnWorkers reports whether t can run on the workers:
// over an input relation, and not volatile. Over constant arguments it
// has no partitions to spread (one run), and it reads no stored data.
func tableFunctionOnWorkers(t *exec.TableFunction) bool {
	return t.Input != nil && t.Call != nil && t.Call.F != nil && t.Call.F.Module != nil && !t.Call.F.Volatile
}

// tableFunctionLine is a table function's line of PlanText: its EXPLAIN
// line and its module's hash, so that a worker that bound the name to
// other code does not pass for the coordinator's plan.
func tableFunctionLine(t *exec.TableFunction) string {
	if t.Call == nil || t.Call.F == nil || t.Call.F.Module == nil {
		return t.Explain()
	}
	return fmt.Sprintf("%s module %s", t.Explain(), t.Call.F.Module.Hash)
}
