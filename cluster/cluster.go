// Package cluster runs parts of a query's physical plan on worker
// processes over Arrow Flight, and reruns them elsewhere when a worker
// is lost (docs/cluster.md).
//
// A worker is the same binary opened read-only on the same data
// directory. The coordinator names the work it hands out by lineage, not
// by shipping operators: a Fragment (clusterpb) carries the statement's
// SQL, the catalog generation it was planned against, the path to one
// node of the physical plan and a partition number, and a fingerprint of
// the plan. The worker plans the SQL again (the engine implements
// FragmentRunner), checks the fingerprint and streams that node's
// partition back as Arrow IPC over DoGet. Because the fragment is a
// deterministic function of stored, immutable data, a partition lost
// with its worker is rebuilt by asking another worker for the same
// fragment.
//
// The package knows exec operators and Arrow, never SQL planning: it
// does not import the engine or the planner.
package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/protobuf/proto"
)

// ProtocolVersion is the version of the fragment encoding and of the
// actions. A worker refuses a coordinator of another one.
const ProtocolVersion = 1

// FragmentRunner plans a fragment's statement on a worker and opens the
// partition the fragment names. The engine implements it; the worker's
// Flight server calls it.
type FragmentRunner interface {
	// RunFragment opens the fragment's partition. release frees what the
	// plan holds once the stream is closed. An error that means the
	// worker could not reproduce the coordinator's plan (another catalog
	// generation, another fingerprint) is a *ReplanError.
	RunFragment(ctx context.Context, f *clusterpb.Fragment, mem memory.Allocator) (st exec.Stream, schema *arrow.Schema, release func(), err error)
	// Version is the engine version the worker runs.
	Version() string
	// DataDir is the data directory the worker reads.
	DataDir() string
}

// ReplanError says a worker could not reproduce the plan a fragment
// names: the coordinator runs that partition itself.
type ReplanError struct{ Reason string }

func (e *ReplanError) Error() string { return "worker could not reproduce the plan: " + e.Reason }

// EncodeFragment renders a fragment as a DoGet ticket.
func EncodeFragment(f *clusterpb.Fragment) ([]byte, error) {
	return proto.Marshal(f)
}

// DecodeFragment parses a ticket, refusing another protocol version.
func DecodeFragment(ticket []byte) (*clusterpb.Fragment, error) {
	f := &clusterpb.Fragment{}
	if err := proto.Unmarshal(ticket, f); err != nil {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "worker could not decode the fragment: %v", err)
	}
	if f.Protocol != ProtocolVersion {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "fragment of protocol version %d, the worker speaks %d", f.Protocol, ProtocolVersion)
	}
	return f, nil
}

// PlanText is the EXPLAIN text of a plan without EXPLAIN ANALYZE's
// counters: what the coordinator and a worker compare.
func PlanText(op exec.Operator) string {
	var b strings.Builder
	var walk func(op exec.Operator, depth int)
	walk = func(op exec.Operator, depth int) {
		op = unwrap(op)
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), planLine(op))
		for _, c := range op.Children() {
			walk(c, depth+1)
		}
	}
	walk(op, 0)
	return b.String()
}

// planLine is a node's line of PlanText: its EXPLAIN line without row
// estimates, and for a scan without what depends on where its batches
// came from. A scan
// shows its segment filter only when its batches have zone maps, which
// the coordinator's batches still in memory lack and a worker's, read
// from the segment files, have; and it counts the segments it skipped.
// Neither changes the rows: the filter above the scan keeps the same.
func planLine(op exec.Operator) string {
	if rs, ok := op.(*exec.RemoteScan); ok {
		return postgresExplain(rs) // (pgscan.go)
	}
	if tf, ok := op.(*exec.TableFunction); ok {
		return tableFunctionLine(tf) // (tablefunc.go)
	}
	sc, ok := op.(*exec.Scan)
	if !ok {
		return estimate.ReplaceAllString(op.Explain(), "")
	}
	line := fmt.Sprintf("Scan %s (partitions: %d)", sc.Name, len(sc.Parts))
	for _, r := range sc.Ranges {
		line += fmt.Sprintf(" range %d %s %v", r.Col, r.Op, r.Value)
	}
	return line
}

// estimate matches a planner's row estimate in an EXPLAIN line. The
// coordinator and a worker may estimate differently (statistics kept in
// memory against those read from disk); a plan of the same shape
// computes the same rows whatever it expected, and a shape the
// estimates changed still differs.
var estimate = regexp.MustCompile(` \(est\. rows=[0-9]+\)`)

// Fingerprint is the hash of a plan's text.
func Fingerprint(op exec.Operator) string {
	sum := sha256.Sum256([]byte(PlanText(op)))
	return hex.EncodeToString(sum[:])
}

// unwrap looks through EXPLAIN ANALYZE's counting wrappers.
func unwrap(op exec.Operator) exec.Operator {
	for {
		in, ok := op.(*exec.Instrumented)
		if !ok {
			return op
		}
		op = in.Inner
	}
}

// FragmentNode is the operator a fragment runs in root, a worker's plan
// of the fragment's statement: the node at its path (with its shuffle
// joins reading their buckets from the worker's peers, and its
// broadcast joins made deterministic), or that hash aggregation's
// partial phase, or for a map ticket one bucket of the side at path.
func FragmentNode(ctx context.Context, root exec.Operator, f *clusterpb.Fragment, mem memory.Allocator) (exec.Operator, error) {
	node, err := NodeAt(root, f.Path)
	if err != nil {
		return nil, err
	}
	w := workerOf(ctx)
	if f.ShuffleMap != nil {
		return mapNode(w, root, node, f, mem)
	}
	if len(f.Shuffles) > 0 {
		read := localShuffles
		if w != nil {
			read = peerShuffles(w, f, mem)
		}
		if node, err = planShuffles(node, f.Path, f.Shuffles, read); err != nil {
			return nil, err
		}
	}
	if hasJoin(node) {
		OrderBuilds(node) // as the coordinator did (broadcast.go)
	}
	if !f.PartialAggregate {
		return node, nil
	}
	if _, ok := node.(*ShuffledAggregate); ok {
		return nil, &ReplanError{Reason: "a shuffled aggregation has no partial phase of its own to run"}
	}
	h, ok := unwrap(node).(*exec.HashAggregate)
	if !ok {
		return nil, &ReplanError{Reason: fmt.Sprintf("the node is %T, not a hash aggregation", unwrap(node))}
	}
	partial, ok := NewPartialAggregate(h)
	if !ok {
		return nil, &ReplanError{Reason: "the aggregation cannot be split"}
	}
	return partial, nil
}

// mapNode is a map ticket's node: side is a shuffle join's child.
func mapNode(w *Worker, root, side exec.Operator, f *clusterpb.Fragment, mem memory.Allocator) (exec.Operator, error) {
	if f.PartialAggregate {
		return aggregateMapNode(w, side, f, mem)
	}
	if len(f.Path) == 0 {
		return nil, &ReplanError{Reason: "a map ticket names no join side"}
	}
	parent, err := NodeAt(root, f.Path[:len(f.Path)-1])
	if err != nil {
		return nil, err
	}
	j, ok := unwrap(parent).(*exec.HashJoin)
	if !ok {
		return nil, &ReplanError{Reason: fmt.Sprintf("a map ticket's parent is %T, not a hash join", unwrap(parent))}
	}
	if len(f.Shuffles) > 0 {
		// the side holds shuffles of its own (nested): its partitions
		// read their buckets from the peers
		read := localShuffles
		if w != nil {
			read = peerShuffles(w, f, mem)
		}
		if side, err = planShuffles(side, f.Path, f.Shuffles, read); err != nil {
			return nil, err
		}
	}
	if hasJoin(side) {
		OrderBuilds(side)
	}
	t := &mapTask{side: side, keys: sideKeys(j, int(f.Path[len(f.Path)-1])), env: j.Env, frag: f, mem: mem}
	if w != nil {
		t.cache = &w.cache
	}
	return t, nil
}

// NodeAt follows path (child indexes from the root) to a node of a plan.
func NodeAt(root exec.Operator, path []uint32) (exec.Operator, error) {
	op := root
	for depth, i := range path {
		kids := op.Children()
		if int(i) >= len(kids) {
			return nil, &ReplanError{Reason: fmt.Sprintf("the plan has no child %d at depth %d", i, depth)}
		}
		op = kids[i]
	}
	return op, nil
}
