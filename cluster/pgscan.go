package cluster

import (
	"fmt"

	"github.com/weftdb/weft/exec"
)

// A postgres_scan in a leaf pipeline runs on workers like a table scan,
// one page range (ctid range) per partition. PostgreSQL's rows are not
// immutable as segment files are, so the coordinator exports a snapshot
// per scan and holds it while the query runs; the fragment names it
// (Fragment.pg_snapshots) and every worker reads its ranges under it.
// The page count each side described goes into the plan's fingerprint
// (stableExplain): a worker that sees the table at another size would
// cut other ranges, and so refuses the fragment as a replan.

// PostgresScans lists the postgres scans of a plan in plan order
// (depth first), the order of Fragment.pg_snapshots.
func PostgresScans(op exec.Operator) []*exec.RemoteScan {
	var out []*exec.RemoteScan
	var walk func(op exec.Operator)
	walk = func(op exec.Operator) {
		op = unwrap(op)
		if rs, ok := op.(*exec.RemoteScan); ok {
			out = append(out, rs)
		}
		for _, c := range op.Children() {
			walk(c)
		}
	}
	walk(op)
	return out
}

// postgresExplain is a postgres scan's line for the fingerprint: with
// the page count its ranges are cut from.
func postgresExplain(rs *exec.RemoteScan) string {
	return fmt.Sprintf("%s [pages %d]", rs.Explain(), rs.Scan.Src.Pages)
}
