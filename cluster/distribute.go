package cluster

import (
	"fmt"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
)

// Distribute replaces the worker pipelines of a plan (a table scan and
// the filters, projections, broadcast and shuffle joins above it,
// partition by partition, and joins over aggregations and shuffle
// joins: broadcast.go) by Remote nodes that run them on the live
// workers. shippable says whether a
// scan's data is what the fragment's catalog generation holds ("" when
// it is, else why not). It returns the new root and, when nothing was
// distributed, why.
//
// frag is the statement's fragment without path, partition and
// fingerprint; root must be the plan exactly as built (the workers
// compare its text with theirs).
//
// limits bound what runs on the workers and how.
func (r *Registry) Distribute(root exec.Operator, frag *clusterpb.Fragment, mem memory.Allocator, shippable func(*exec.Scan) string, limits Limits) (exec.Operator, string) {
	live := r.live()
	if len(live) == 0 {
		return root, "no worker is up"
	}
	frag.Protocol = ProtocolVersion
	frag.Fingerprint = Fingerprint(root)
	d := &distributor{reg: r, frag: frag, mem: mem, shippable: shippable, live: live,
		limits: joinLimits{broadcastRows: limits.BroadcastRows, memory: limits.MemoryLimit, shuffleGroups: limits.ShuffleGroups, groups: limits.Groups, noShuffle: limits.NoShuffle}}
	newRoot := d.visit(root, nil)
	if d.placed == 0 {
		if d.why == "" {
			d.why = "no scan to distribute"
		}
		return root, d.why
	}
	return newRoot, ""
}

// Limits bound what a plan runs on the workers, and how.
type Limits struct {
	// BroadcastRows bounds a broadcast join's build side (BroadcastRows).
	BroadcastRows int64
	// MemoryLimit is the statement's (0: none): a join whose build
	// side's tables hold more than a quarter of it stays here, where it
	// can spill, and so does an aggregation's final phase over such
	// tables (not shuffled).
	MemoryLimit int64
	// ShuffleGroups: an aggregation expected to make at least this many
	// groups is shuffled by key across the workers (ShuffleGroups; 0:
	// every one that can be). Groups estimates an aggregation's groups
	// (nil: none is shuffled unless ShuffleGroups is 0).
	ShuffleGroups int64
	Groups        func(*exec.HashAggregate) float64
	// NoShuffle: neither joins nor aggregations shuffle (a key reads a
	// volatile function's value: volatile.go).
	NoShuffle bool
}

type distributor struct {
	reg       *Registry
	frag      *clusterpb.Fragment
	mem       memory.Allocator
	shippable func(*exec.Scan) string
	live      []*workerConn
	placed    int
	stages    int // Remote nodes made, for their stage numbers
	limits    joinLimits
	why       string
}

// visit returns op or the Remote that replaces it; it replaces op's
// children in place.
func (d *distributor) visit(op exec.Operator, path []uint32) exec.Operator {
	if _, ok := unwrap(op).(*Remote); ok {
		// a WITH query named twice: its input, shared by its references,
		// was placed through the first one
		return op
	}
	if final := d.splitAggregate(op, path); final != nil {
		return final
	}
	if p, ok := workerPipeline(op, path, joins, d.limits); ok {
		for _, sc := range p.scans {
			if why := d.shippable(sc); why != "" {
				d.why = why
				return op
			}
		}
		out := d.remote(op, path, p.shuffles)
		if r, ok := out.(*Remote); ok {
			// a query PostgreSQL runs again may send its rows in another
			// order (a parallel plan): a rerun starts the partition over
			r.Whole = r.Whole || len(PostgresScans(op)) > 0
		}
		return out
	}
	for i, c := range op.Children() {
		childPath := append(append([]uint32(nil), path...), uint32(i))
		nc := d.visit(c, childPath)
		if nc != c && !replaceChild(op, c, nc) {
			d.placed--
			d.why = fmt.Sprintf("cannot place a remote node under %T", unwrap(op))
		}
	}
	return op
}

// splitAggregate runs the partial phase of a hash aggregation over a
// leaf pipeline on the workers (partialagg.go); nil when it cannot.
func (d *distributor) splitAggregate(op exec.Operator, path []uint32) exec.Operator {
	h, ok := unwrap(op).(*exec.HashAggregate)
	if !ok {
		return nil
	}
	p, ok := workerPipeline(h.Input, append(append([]uint32(nil), path...), 0), joins, d.limits)
	if !ok {
		return nil
	}
	for _, sc := range p.scans {
		if d.shippable(sc) != "" {
			return nil // the pipeline below says why
		}
	}
	partial, ok := NewPartialAggregate(h)
	if !ok {
		return nil
	}
	if d.shufflesAggregate(h, p) {
		if out := d.shuffledAggregate(op, h, path, p); out != nil {
			return out
		}
	}
	remote, ok := d.remote(partial, path, p.shuffles).(*Remote)
	if !ok {
		return nil
	}
	remote.Fragment.PartialAggregate = true
	remote.Whole = true // (a spilling aggregation may emit its groups in another order)
	final, ok := finalAggregate(h, remote)
	if !ok {
		d.placed--
		return nil
	}
	return final
}

func (d *distributor) remote(op exec.Operator, path []uint32, shuffles []shuffleAt) exec.Operator {
	frag := cloneFragment(d.frag, path)
	if len(shuffles) > 0 {
		// the stage's own id: its map outputs are released when it ends
		frag.QueryId = fmt.Sprintf("%s/%d", frag.QueryId, d.stages+1)
		peers := make([]string, len(d.live))
		for i, w := range d.live {
			peers[i] = w.addr
		}
		for _, sh := range shuffles {
			frag.Shuffles = append(frag.Shuffles, &clusterpb.Shuffle{Path: sh.path, Buckets: uint32(sh.buckets), Peers: peers, Broadcast: sh.broadcast})
		}
		// the coordinator's copy, for a partition no worker can run,
		// computes its buckets here
		local, err := planShuffles(op, path, frag.Shuffles, localShuffles)
		if err != nil {
			d.why = "a shuffle join: " + err.Error()
			return op
		}
		op = local
	}
	// (after the shuffles: a shuffled aggregation has its buckets'
	// partitions)
	planned := make([]string, op.Partitions())
	for p := range planned {
		planned[p] = d.placeFor(op, p)
	}
	d.placed++
	d.stages++
	if hasJoin(op) {
		OrderBuilds(op)
	}
	// a stage computing volatile values is rerun from its start (volatile.go)
	return &Remote{Local: op, Fragment: frag, Mem: d.mem, reg: d.reg, planned: planned, Stage: d.stages,
		ranOn: append([]string(nil), planned...), Whole: volatileUnder(op)}
}

// replaceChild puts nc where parent holds old: in an exported field of
// operator type or an element of an exported operator slice. Operators
// keep their inputs in such fields (Input, Left, Probe, Inputs, …); one
// that does not is left alone and reported.
func replaceChild(parent, old, nc exec.Operator) bool {
	if sh, ok := unwrap(parent).(*exec.SharedScan); ok {
		// a WITH query's scan: its input is computed once on the
		// coordinator and shared by every reference, so a stage under it
		// runs once too (its draws of random() seen alike by all)
		if sh.Source.Input != old {
			return false
		}
		sh.Source.Input = nc
		return true
	}
	v := reflect.ValueOf(unwrap(parent))
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	v = v.Elem()
	opType := reflect.TypeFor[exec.Operator]()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		switch {
		case f.Type() == opType && !f.IsNil() && f.Interface().(exec.Operator) == old:
			f.Set(reflect.ValueOf(nc))
			return true
		case f.Kind() == reflect.Slice && f.Type().Elem() == opType:
			for j := 0; j < f.Len(); j++ {
				if e := f.Index(j); !e.IsNil() && e.Interface().(exec.Operator) == old {
					e.Set(reflect.ValueOf(nc))
					return true
				}
			}
		}
	}
	return false
}

func cloneFragment(f *clusterpb.Fragment, path []uint32) *clusterpb.Fragment {
	c := &clusterpb.Fragment{Protocol: f.Protocol, QueryId: f.QueryId, Sql: f.Sql, Generation: f.Generation,
		Path: append([]uint32(nil), path...), Fingerprint: f.Fingerprint, StatementTimeUnixMicros: f.StatementTimeUnixMicros,
		BatchSize: f.BatchSize, Parallelism: f.Parallelism, User: f.User, Settings: map[string]string{}, Params: f.Params,
		CachedTables: f.CachedTables, Modules: f.Modules, Stats: f.Stats}
	for k, v := range f.Settings {
		c.Settings[k] = v
	}
	return c
}
