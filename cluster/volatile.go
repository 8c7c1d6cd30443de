package cluster

import (
	"regexp"

	"github.com/weftdb/weft/exec"
)

// Volatile functions on the workers. random() and gen_random_uuid()
// give each row a value of its own, independent of every other row and
// of any state, so a worker may compute them; but a partition computed
// again gets other values. What makes that sound:
//
//   - Nothing may see two computations of the same rows. A stage whose
//     pipeline calls one is held whole (Remote.Whole): a rerun starts the
//     partition over instead of skipping the rows already passed on, which
//     a rerun's filter might not even keep. A broadcast join's build side
//     calling one is not broadcast (each partition would build its own
//     draw of it): the join stays on the coordinator over remote stages.
//   - Before a shuffle the values are materialised: a map task computes
//     them once and the worker keeps its output (mapcache.go), so every
//     reduce task, and a reduce task rerun on another worker, reads the
//     same values. Only a map output lost with its worker is computed
//     again, with new values; a reduce task then reads each map output's
//     bucket whole before passing any of it on (never half of one draw and
//     the rest of another), and the coordinator, holding the stage whole,
//     starts over every reduce task running when the worker was lost. A
//     row's bucket depends on its keys alone, so each row is read by one
//     reduce task from one draw: the answer is that of one computation,
//     some of whose values were drawn twice and one draw kept.
//   - A shuffle's keys must not read one: a row's bucket would then depend
//     on the draw, and two draws could send it to two reduce tasks (or
//     none). A key calling one is never shuffled (volatileKeys), and a
//     query whose join or group keys read a drawn value through a column
//     computed below shuffles nothing (the engine's drawnKeys, on the
//     logical plan where columns can be followed: Limits.NoShuffle).
//
// Other volatile functions (sequences, advisory locks, notifications,
// volatile wasm functions) keep their query on the coordinator
// (engine/cluster.go).

// RowwiseVolatile reports whether the volatile function name may run on
// the workers under the rules above.
func RowwiseVolatile(name string) bool {
	return name == "random" || name == "gen_random_uuid"
}

// volatileCall finds a call of a rowwise volatile function in EXPLAIN
// text: every node shows the expressions it computes.
var volatileCall = regexp.MustCompile(`\b(random|gen_random_uuid)\(`)

// volatileUnder reports whether op or a node under it calls a rowwise
// volatile function.
func volatileUnder(op exec.Operator) bool {
	if volatileCall.MatchString(unwrap(op).Explain()) {
		return true
	}
	for _, c := range children(op) {
		if volatileUnder(c) {
			return true
		}
	}
	return false
}

// volatileKeys reports whether a key expression calls one.
func volatileKeys(keys []exec.Expr) bool {
	for _, k := range keys {
		if volatileCall.MatchString(k.String()) {
			return true
		}
	}
	return false
}
