package engine

import (
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/physical"
)

// postgres_scan on workers (docs/cluster.md "postgres_scan split across
// workers"): each page range of a postgres scan in a leaf pipeline is a
// partition a worker reads from PostgreSQL itself. What PostgreSQL holds
// may change while the query runs, so the coordinator exports one
// snapshot per scan and keeps it open until the plan is released; the
// fragments name it (Fragment.pg_snapshots) and every worker, and any
// partition rerun after a worker is lost, reads under it.

// sharePostgresSnapshots exports the snapshots of the postgres scans the
// workers will read, holding them with the plan. A scan whose snapshot
// cannot be exported gets none: its workers refuse the fragment as a
// replan and the coordinator reads those ranges itself.
func (s *Session) sharePostgresSnapshots(b *physical.Builder, op exec.Operator) {
	for _, r := range remoteNodes(op) {
		scans := cluster.PostgresScans(r.Local)
		if len(scans) == 0 {
			continue
		}
		var snapshots []string
		for _, rs := range scans {
			snapshot, release, err := rs.Scan.Export(s.ctx)
			if err != nil {
				snapshots = nil
				break
			}
			b.Hold(releaseFunc(release))
			snapshots = append(snapshots, snapshot)
		}
		r.Fragment.PgSnapshots = snapshots
	}
}

// releaseFunc lets a function be held by a plan (physical.Builder.Hold).
type releaseFunc func()

func (f releaseFunc) Release() { f() }

// remoteNodes lists the Remote nodes of a plan (not looking inside them).
func remoteNodes(op exec.Operator) []*cluster.Remote {
	if in, ok := op.(*exec.Instrumented); ok {
		op = in.Inner
	}
	if r, ok := op.(*cluster.Remote); ok {
		return []*cluster.Remote{r}
	}
	var out []*cluster.Remote
	for _, c := range op.Children() {
		out = append(out, remoteNodes(c)...)
	}
	return out
}

// joinPostgresSnapshots is a worker's side: the postgres scans of the
// fragment's node read under the coordinator's snapshots. A scan without
// one cannot read the rows the coordinator's other partitions see.
func joinPostgresSnapshots(node exec.Operator, f *clusterpb.Fragment) error {
	scans := cluster.PostgresScans(node)
	if len(scans) == 0 {
		return nil
	}
	if len(scans) != len(f.PgSnapshots) {
		return &cluster.ReplanError{Reason: "the coordinator shared no snapshot for the postgres scans"}
	}
	for i, rs := range scans {
		rs.Scan.UseSnapshot(f.PgSnapshots[i])
	}
	return nil
}
