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
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), stableExplain(op))
		for _, c := range op.Children() {
			walk(c, depth+1)
		}
	}
	walk(op, 0)
	return b.String()
}

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
// of the fragment's statement: the node at its path, or that hash
// aggregation's partial phase.
func FragmentNode(root exec.Operator, f *clusterpb.Fragment) (exec.Operator, error) {
	node, err := NodeAt(root, f.Path)
	if err != nil || !f.PartialAggregate {
		return node, err
	}
	h, ok := unwrap(node).(*exec.HashAggregate)
	if !ok {
		return nil, &ReplanError{Reason: fmt.Sprintf("the node is %T, not a hash aggregation", unwrap(node))}
	}
	return &PartialAggregate{Agg: h}, nil
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

// stableExplain is a node's EXPLAIN line as both sides of a fragment
// see it. A table scan's line says "segment filter" only where its
// batches carry zone maps: a worker's always do (read from segment
// files), a coordinator's not for rows it wrote itself, so the line is
// rebuilt from what the plan holds (its ranges), not from the batches.
func stableExplain(op exec.Operator) string {
	if rs, ok := op.(*exec.RemoteScan); ok {
		return postgresExplain(rs) // (pgscan.go)
	}
	sc, ok := op.(*exec.Scan)
	if !ok {
		return op.Explain()
	}
	s := fmt.Sprintf("Scan %s (partitions: %d)", sc.Name, len(sc.Parts))
	for i, r := range sc.Ranges {
		name := fmt.Sprint(r.Col)
		if i < len(sc.RangeNames) {
			name = sc.RangeNames[i]
		}
		s += fmt.Sprintf(" [%s %s %v]", name, r.Op, r.Value)
	}
	return s
}
